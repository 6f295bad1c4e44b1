//! What a plan costs a month: the resources with a fixed hourly price (an EKS
//! control plane, node group instances, load balancers, NAT gateways, public
//! IPv4 addresses, interface endpoints), priced from a bundled, dated table of
//! on-demand prices (`prices.json`), before and after the plan. What AWS bills
//! by use (log ingestion, data processed, storage) is named, never guessed.
//! An instance type or a region the table lacks is said so. Pure: the table is
//! compiled in, and "now" is the table's date, so a plan prices the same
//! wherever and whenever it is made.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::types::Address;
use crate::types::reference;

/// The bundled price table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    /// When the prices were read: the plan prices "as of" this day.
    pub date: NaiveDate,
    pub source: String,
    pub currency: String,
    pub hours_per_month: f64,
    /// The day each Kubernetes minor version leaves EKS standard support.
    pub eks_standard_support_ends: BTreeMap<String, NaiveDate>,
    pub regions: BTreeMap<String, RegionPrices>,
    /// What a type is billed by use for, by type.
    pub billed_by_use: BTreeMap<String, String>,
}

/// One region's hourly prices.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionPrices {
    pub eks_cluster_standard: f64,
    pub eks_cluster_extended: f64,
    pub application_load_balancer: f64,
    pub nat_gateway: f64,
    pub public_ipv4_address: f64,
    pub interface_endpoint_per_zone: f64,
    /// Linux on-demand, by instance type.
    pub instances: BTreeMap<String, f64>,
}

static TABLE: OnceLock<Table> = OnceLock::new();

/// The table compiled into the binary (its shape is checked by a test).
pub fn table() -> &'static Table {
    TABLE.get_or_init(|| {
        serde_json::from_str(include_str!("prices.json")).expect("prices.json has its shape")
    })
}

/// What a plan costs a month, before and after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    pub currency: String,
    pub region: String,
    /// The table's date and source.
    pub prices_date: String,
    pub source: String,
    pub hours_per_month: f64,
    /// Whether the table has prices for the region; when not, nothing is priced.
    pub region_priced: bool,
    pub before: f64,
    pub after: f64,
    /// Each resource with an hourly price on either side, by address.
    pub resources: Vec<Line>,
    /// What is billed by use, by what and where: named, not priced.
    pub billed_by_use: Vec<ByUse>,
    /// What could not be priced, and why (an instance type the table lacks).
    pub unknown: Vec<String>,
    /// Only some resources are counted: a targeted plan's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub targeted: bool,
}

/// One resource's monthly price before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub address: String,
    pub before: f64,
    pub after: f64,
    /// How the after side (or, for a delete, the before side) is priced:
    /// `3 × m6i.large at $0.124/h`.
    pub priced_as: String,
}

/// Something billed by use, and the resources it applies to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ByUse {
    pub what: String,
    pub addresses: Vec<String>,
}

impl Cost {
    pub fn delta(&self) -> f64 {
        self.after - self.before
    }

    /// Only these resources (a targeted plan): their lines, what they are
    /// billed by use for, and their totals.
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.resources.retain(|l| keep(&l.address));
        for u in &mut self.billed_by_use {
            u.addresses.retain(|a| keep(a));
        }
        self.billed_by_use.retain(|u| !u.addresses.is_empty());
        self.unknown
            .retain(|u| u.split_once(':').is_some_and(|(a, _)| keep(a)));
        self.before = cents(self.resources.iter().map(|l| l.before).sum());
        self.after = cents(self.resources.iter().map(|l| l.after).sum());
        self.targeted = true;
    }
}

/// Collects each resource's two sides while a plan is made, then prices them.
#[derive(Debug, Default)]
pub struct Ledger {
    lines: Vec<Line>,
    by_use: BTreeMap<String, Vec<String>>,
    unknown: Vec<String>,
    region: String,
}

impl Ledger {
    pub fn new(region: &str) -> Ledger {
        Ledger {
            region: region.to_string(),
            ..Ledger::default()
        }
    }

    /// One resource: what it is before the plan (`None`: it does not exist)
    /// and after (`None`: it will not).
    pub fn add(
        &mut self,
        address: &Address,
        before: Option<&Map<String, Value>>,
        after: Option<&Map<String, Value>>,
    ) {
        let t = table();
        if let Some(what) = t.billed_by_use.get(&address.ty)
            && by_use_applies(&address.ty, after.or(before))
        {
            self.by_use
                .entry(what.clone())
                .or_default()
                .push(address.to_string());
        }
        let Some(prices) = t.regions.get(&self.region) else {
            return;
        };
        let side = |attrs: Option<&Map<String, Value>>| match attrs {
            None => Ok(None),
            Some(a) => hourly(&address.ty, a, prices, t).map(Some),
        };
        match (side(before), side(after)) {
            (Ok(b), Ok(a)) => {
                let (b_cost, a_cost) = (
                    b.as_ref().map_or(0.0, |h| h.0),
                    a.as_ref().map_or(0.0, |h| h.0),
                );
                let priced_as = a.or(b).map(|h| h.1).unwrap_or_default();
                if b_cost > 0.0 || a_cost > 0.0 {
                    self.lines.push(Line {
                        address: address.to_string(),
                        before: b_cost * t.hours_per_month,
                        after: a_cost * t.hours_per_month,
                        priced_as,
                    });
                }
            }
            (Err(why), _) | (_, Err(why)) => self.unknown.push(format!("{address}: {why}")),
        }
    }

    pub fn finish(mut self) -> Cost {
        let t = table();
        self.lines.sort_by(|a, b| a.address.cmp(&b.address));
        let before = cents(self.lines.iter().map(|l| l.before).sum());
        let after = cents(self.lines.iter().map(|l| l.after).sum());
        for l in &mut self.lines {
            l.before = cents(l.before);
            l.after = cents(l.after);
        }
        Cost {
            currency: t.currency.clone(),
            region_priced: t.regions.contains_key(&self.region),
            region: self.region,
            prices_date: t.date.to_string(),
            source: t.source.clone(),
            hours_per_month: t.hours_per_month,
            before,
            after,
            resources: self.lines,
            billed_by_use: self
                .by_use
                .into_iter()
                .map(|(what, addresses)| ByUse { what, addresses })
                .collect(),
            unknown: self.unknown,
            targeted: false,
        }
    }
}

/// Whether a type's use-billed item applies to this resource (a Gateway
/// endpoint is free; an Interface one processes data).
fn by_use_applies(ty: &str, attrs: Option<&Map<String, Value>>) -> bool {
    match ty {
        "vpc_endpoint" => {
            attrs
                .and_then(|a| a.get("vpc_endpoint_type"))
                .and_then(Value::as_str)
                == Some("Interface")
        }
        _ => true,
    }
}

/// What a resource costs an hour, and how that is priced; or why it cannot be.
fn hourly(
    ty: &str,
    attrs: &Map<String, Value>,
    prices: &RegionPrices,
    t: &Table,
) -> Result<(f64, String), String> {
    match ty {
        "eks_cluster" => {
            let version = attrs.get("version").and_then(Value::as_str).unwrap_or("");
            // Unset, AWS keeps a cluster on extended support.
            let extended_allowed =
                attrs.get("upgrade_policy").and_then(Value::as_str) != Some("STANDARD");
            let ends = standard_support_ends(t, version);
            match ends {
                Some(end) if extended_allowed && end <= t.date => Ok((
                    prices.eks_cluster_extended,
                    format!(
                        "EKS control plane on extended support ({version} left standard support on {end}) at {}",
                        rate(prices.eks_cluster_extended)
                    ),
                )),
                Some(end) if extended_allowed => Ok((
                    prices.eks_cluster_standard,
                    format!(
                        "EKS control plane, standard support until {end} (then {} on extended support) at {}",
                        rate(prices.eks_cluster_extended),
                        rate(prices.eks_cluster_standard)
                    ),
                )),
                _ => Ok((
                    prices.eks_cluster_standard,
                    format!(
                        "EKS control plane, standard support at {}",
                        rate(prices.eks_cluster_standard)
                    ),
                )),
            }
        }
        "eks_nodegroup" => {
            let desired = attrs
                .get("scaling")
                .and_then(|s| s.get("desired"))
                .and_then(Value::as_i64)
                .ok_or("its desired size is known only after apply: not priced")?;
            let types: Vec<&str> = attrs
                .get("instance_types")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let Some(first) = types.first() else {
                return Err("its instance type comes from its launch template: not priced".into());
            };
            if !reference::is_known(&Value::String(first.to_string())) {
                return Err("its instance type is known only after apply: not priced".into());
            }
            let price = prices
                .instances
                .get(*first)
                .ok_or_else(|| format!("the price table has no {first} instances: not priced"))?;
            let more = match types.len() {
                1 => String::new(),
                n => format!(" (the first of {n} types)"),
            };
            Ok((
                desired as f64 * price,
                format!("{desired} × {first} at {}{more}", rate(*price)),
            ))
        }
        "load_balancer" => {
            let public = attrs.get("scheme").and_then(Value::as_str) != Some("internal");
            let zones = attrs
                .get("subnets")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            match public {
                true => Ok((
                    prices.application_load_balancer + zones as f64 * prices.public_ipv4_address,
                    format!(
                        "application load balancer at {} + {zones} public IPv4 addresses at {}",
                        rate(prices.application_load_balancer),
                        rate(prices.public_ipv4_address)
                    ),
                )),
                false => Ok((
                    prices.application_load_balancer,
                    format!(
                        "application load balancer at {}",
                        rate(prices.application_load_balancer)
                    ),
                )),
            }
        }
        "nat_gateway" => Ok((
            prices.nat_gateway,
            format!("NAT gateway at {}", rate(prices.nat_gateway)),
        )),
        "elastic_ip" => Ok((
            prices.public_ipv4_address,
            format!(
                "public IPv4 address at {}",
                rate(prices.public_ipv4_address)
            ),
        )),
        "vpc_endpoint"
            if attrs.get("vpc_endpoint_type").and_then(Value::as_str) == Some("Interface") =>
        {
            let zones = attrs
                .get("subnet_ids")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            Ok((
                zones as f64 * prices.interface_endpoint_per_zone,
                format!(
                    "interface endpoint in {zones} zones at {} each",
                    rate(prices.interface_endpoint_per_zone)
                ),
            ))
        }
        _ => Ok((0.0, String::new())),
    }
}

/// When a version leaves standard support: from the table, or, for a version
/// newer than the table knows, not yet (`None`); older than it knows, long ago.
fn standard_support_ends(t: &Table, version: &str) -> Option<NaiveDate> {
    if let Some(end) = t.eks_standard_support_ends.get(version) {
        return Some(*end);
    }
    let minor = |v: &str| v.split('.').nth(1).and_then(|m| m.parse::<u32>().ok());
    let asked = minor(version)?;
    let known: Vec<(u32, NaiveDate)> = t
        .eks_standard_support_ends
        .iter()
        .filter_map(|(v, d)| Some((minor(v)?, *d)))
        .collect();
    let oldest = known.iter().min_by_key(|(m, _)| *m)?;
    (asked < oldest.0).then_some(oldest.1)
}

fn cents(amount: f64) -> f64 {
    (amount * 100.0).round() / 100.0
}

/// An hourly price with at least two decimals: `$0.10/h`, `$0.0243/h`.
fn rate(price: f64) -> String {
    let text = price.to_string();
    let decimals = text.split_once('.').map_or(0, |(_, d)| d.len());
    match decimals {
        0 | 1 => format!("${price:.2}/h"),
        _ => format!("${text}/h"),
    }
}

/// The plan's cost as lines of text (`infra plan`): each priced resource, its
/// before and after where they differ, the total, what is billed by use, what
/// could not be priced, and where the prices come from.
pub fn text_lines(cost: &Cost) -> Vec<String> {
    let mut out = vec![format!(
        "Monthly cost, on-demand ({}, {} prices of {}):",
        cost.currency, cost.region, cost.prices_date
    )];
    if !cost.region_priced {
        out.push(format!(
            "  the price table has no prices for {}: not priced",
            cost.region
        ));
    }
    let width = cost
        .resources
        .iter()
        .map(|l| l.address.len())
        .max()
        .unwrap_or(0);
    let amounts: Vec<String> = cost
        .resources
        .iter()
        .map(|l| match l.before == l.after {
            true => money(l.after),
            false => format!(
                "{} -> {} ({})",
                money(l.before),
                money(l.after),
                signed(l.after - l.before)
            ),
        })
        .collect();
    let room = amounts.iter().map(|a| a.chars().count()).max().unwrap_or(0);
    for (l, amount) in cost.resources.iter().zip(&amounts) {
        out.push(format!(
            "  {:width$}  {amount:room$}  {}",
            l.address, l.priced_as
        ));
    }
    out.push(format!(
        "  total{}: {} -> {} ({})",
        if cost.targeted {
            " of the targeted resources"
        } else {
            ""
        },
        money(cost.before),
        money(cost.after),
        signed(cost.delta())
    ));
    for u in &cost.billed_by_use {
        out.push(format!(
            "  not priced, billed by use: {}: {}",
            u.what,
            u.addresses.join(", ")
        ));
    }
    for why in &cost.unknown {
        out.push(format!("  not priced: {why}"));
    }
    out.push(format!("  prices: {}", cost.source));
    out
}

/// `$1,234.56`.
pub fn money(amount: f64) -> String {
    let cents = (amount.abs() * 100.0).round() as u64;
    let (whole, frac) = (cents / 100, cents % 100);
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if amount < 0.0 && cents > 0 { "-" } else { "" };
    format!("{sign}${grouped}.{frac:02}")
}

/// `+$271.56`, `-$73.00`, `$0.00`.
pub fn signed(amount: f64) -> String {
    match money(amount) {
        m if m.starts_with('-') || m == "$0.00" => m,
        m => format!("+{m}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attrs(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn the_table_has_its_shape() {
        let t = table();
        assert_eq!(t.currency, "USD");
        assert_eq!(t.hours_per_month, 730.0);
        assert!(!t.source.is_empty());
        for region in ["us-east-1", "ap-northeast-1"] {
            let p = &t.regions[region];
            for price in [
                p.eks_cluster_standard,
                p.eks_cluster_extended,
                p.application_load_balancer,
                p.nat_gateway,
                p.public_ipv4_address,
                p.interface_endpoint_per_zone,
            ] {
                assert!(price > 0.0 && price < 10.0, "{region}: {price}");
            }
            assert!(p.eks_cluster_extended > p.eks_cluster_standard);
            // The common general-purpose, compute and memory families.
            for family in [
                "t3", "m5", "m6i", "m7i", "m6g", "c5", "c6i", "c7i", "r5", "r6i",
            ] {
                for size in ["large", "xlarge"] {
                    let ty = format!("{family}.{size}");
                    let price = p.instances.get(&ty).copied();
                    assert!(price.is_some_and(|x| x > 0.0 && x < 5.0), "{region} {ty}");
                }
            }
            for (ty, price) in &p.instances {
                // A size up costs twice as much, within a family.
                let bigger = ty.replace(".large", ".xlarge");
                if let (true, Some(b)) = (ty.ends_with(".large"), p.instances.get(&bigger)) {
                    assert!((b / price - 2.0).abs() < 0.01, "{region} {ty}");
                }
            }
            // Every region prices the same instance types.
            assert_eq!(
                p.instances.keys().collect::<Vec<_>>(),
                t.regions["us-east-1"].instances.keys().collect::<Vec<_>>()
            );
        }
        let dates: Vec<&NaiveDate> = t.eks_standard_support_ends.values().collect();
        assert!(
            dates.windows(2).all(|w| w[0] < w[1]),
            "newer versions end later"
        );
    }

    #[test]
    fn prices_node_groups_clusters_and_the_network() {
        let mut ledger = Ledger::new("ap-northeast-1");
        let ng = Address::new("eks_nodegroup", "general");
        let three = attrs(json!({"instance_types": ["m6i.large"], "scaling": {"desired": 3}}));
        let six = attrs(json!({"instance_types": ["m6i.large"], "scaling": {"desired": 6}}));
        ledger.add(&ng, Some(&three), Some(&six));
        let cluster = Address::new("eks_cluster", "main");
        let standard = attrs(json!({"version": "1.30", "upgrade_policy": "STANDARD"}));
        let extended = attrs(json!({"version": "1.30", "upgrade_policy": "EXTENDED"}));
        ledger.add(&cluster, Some(&standard), Some(&extended));
        let lb = attrs(json!({"subnets": ["subnet-a", "subnet-c"]}));
        ledger.add(&Address::new("load_balancer", "web"), None, Some(&lb));
        ledger.add(
            &Address::new("nat_gateway", "a"),
            Some(&attrs(json!({}))),
            None,
        );
        let odd = attrs(json!({"instance_types": ["z9.mega"], "scaling": {"desired": 1}}));
        ledger.add(&Address::new("eks_nodegroup", "odd"), None, Some(&odd));
        ledger.add(
            &Address::new("s3_bucket", "logs"),
            None,
            Some(&attrs(json!({}))),
        );
        let cost = ledger.finish();
        let line = |a: &str| cost.resources.iter().find(|l| l.address == a).unwrap();
        let ng = line("eks_nodegroup.general");
        assert_eq!(money(ng.before), "$271.56");
        assert_eq!(money(ng.after), "$543.12");
        assert_eq!(ng.priced_as, "6 × m6i.large at $0.124/h");
        let c = line("eks_cluster.main");
        assert_eq!(
            (money(c.before), money(c.after)),
            ("$73.00".into(), "$438.00".into())
        );
        assert!(
            c.priced_as
                .contains("extended support (1.30 left standard support on 2025-07-23)")
        );
        assert_eq!(money(line("load_balancer.web").after), "$25.04");
        assert_eq!(money(line("nat_gateway.a").before), "$45.26");
        assert_eq!(line("nat_gateway.a").after, 0.0);
        assert_eq!(
            cost.unknown,
            ["eks_nodegroup.odd: the price table has no z9.mega instances: not priced"]
        );
        assert_eq!(cost.billed_by_use.len(), 3, "{:?}", cost.billed_by_use);
        assert_eq!(money(cost.before), "$389.82");
        assert_eq!(signed(cost.delta()), "+$616.34");
    }

    #[test]
    fn a_region_without_prices_is_named_not_guessed() {
        let mut ledger = Ledger::new("eu-west-3");
        let ng = attrs(json!({"instance_types": ["m6i.large"], "scaling": {"desired": 3}}));
        ledger.add(&Address::new("eks_nodegroup", "general"), None, Some(&ng));
        let cost = ledger.finish();
        assert!(!cost.region_priced);
        assert!(cost.resources.is_empty());
    }

    #[test]
    fn support_dates_of_versions_the_table_does_not_list() {
        let t = table();
        assert_eq!(standard_support_ends(t, "1.99"), None);
        assert_eq!(
            standard_support_ends(t, "1.20"),
            t.eks_standard_support_ends.values().min().copied()
        );
        assert_eq!(money(1234567.891), "$1,234,567.89");
        assert_eq!(signed(-73.0), "-$73.00");
        assert_eq!(signed(0.0), "$0.00");
    }
}
