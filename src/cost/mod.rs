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
use crate::types::price::{PriceBook, RegionPrices};

/// The bundled price table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    /// When the prices were read: the plan prices "as of" this day.
    pub date: NaiveDate,
    pub source: String,
    /// How the rates the pages do not list were made from those they do
    /// (for people reading the table; plans print `source`).
    pub derived: String,
    pub currency: String,
    pub hours_per_month: f64,
    /// The day each Kubernetes minor version leaves EKS standard support.
    pub eks_standard_support_ends: BTreeMap<String, NaiveDate>,
    pub regions: BTreeMap<String, RegionPrices>,
    /// What a type is billed by use for, by type.
    pub billed_by_use: BTreeMap<String, String>,
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

    /// Whether every price it needed was in the table: its totals are the
    /// stack's (else they read `unknown`: `total`).
    pub fn fully_priced(&self) -> bool {
        self.region_priced && self.unknown.is_empty()
    }

    /// Only these resources (a targeted plan): their lines, what they are
    /// billed by use for, and their totals.
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.resources.retain(|l| keep(&l.address));
        for u in &mut self.billed_by_use {
            u.addresses.retain(|a| keep(a));
        }
        self.billed_by_use.retain(|u| !u.addresses.is_empty());
        self.unknown.retain(|u| u.split_once(':').is_some_and(|(a, _)| keep(a)));
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
        Ledger { region: region.to_string(), ..Ledger::default() }
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
        let schema = crate::types::schema(&address.ty);
        let applies =
            schema.and_then(|s| s.billed_by_use_if).is_none_or(|f| after.or(before).is_some_and(f));
        if let Some(what) = t.billed_by_use.get(&address.ty)
            && applies
        {
            self.by_use.entry(what.clone()).or_default().push(address.to_string());
        }
        let Some(rates) = t.regions.get(&self.region) else {
            return;
        };
        let book =
            PriceBook { rates, date: t.date, standard_support: &t.eks_standard_support_ends };
        let price = schema.and_then(|s| s.price);
        let side = |attrs: Option<&Map<String, Value>>| match (attrs, price) {
            (Some(a), Some(price)) => price(a, &book).map(Some),
            _ => Ok(None),
        };
        match (side(before), side(after)) {
            (Ok(b), Ok(a)) => {
                let (b_cost, a_cost) =
                    (b.as_ref().map_or(0.0, |h| h.0), a.as_ref().map_or(0.0, |h| h.0));
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

/// The total before and after (`$A ARROW $B (+$D)`), or `unknown` with why
/// when a price is missing: a region the table lacks, or a resource it
/// cannot price (what is priced is then said as a floor), never `$0.00`.
pub fn total(cost: &Cost, arrow: &str) -> String {
    let amounts = || {
        format!("{} {arrow} {} ({})", money(cost.before), money(cost.after), signed(cost.delta()))
    };
    match (cost.region_priced, cost.unknown.len()) {
        (false, _) => format!("unknown (the price table has no prices for {})", cost.region),
        (true, 0) => amounts(),
        (true, n) => format!(
            "unknown ({n} resource{} not priced; what is priced: {})",
            if n == 1 { "" } else { "s" },
            amounts()
        ),
    }
}

fn cents(amount: f64) -> f64 {
    (amount * 100.0).round() / 100.0
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
        out.push(format!("  the price table has no prices for {}: not priced", cost.region));
    }
    let width = cost.resources.iter().map(|l| l.address.len()).max().unwrap_or(0);
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
        out.push(format!("  {:width$}  {amount:room$}  {}", l.address, l.priced_as));
    }
    out.push(format!(
        "  total{}: {}",
        if cost.targeted { " of the targeted resources" } else { "" },
        total(cost, "->")
    ));
    for u in &cost.billed_by_use {
        out.push(format!("  not priced, billed by use: {}: {}", u.what, u.addresses.join(", ")));
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
        // Where users run: each of these is priced (eu-west-1 among them).
        for region in ["us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-west-2"] {
            assert!(t.regions.contains_key(region), "{region}");
        }
        for (region, p) in &t.regions {
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
            for family in ["t3", "m5", "m6i", "m7i", "m6g", "c5", "c6i", "c7i", "r5", "r6i"] {
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
        assert!(dates.windows(2).all(|w| w[0] < w[1]), "newer versions end later");
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
        ledger.add(&Address::new("nat_gateway", "a"), Some(&attrs(json!({}))), None);
        let odd = attrs(json!({"instance_types": ["z9.mega"], "scaling": {"desired": 1}}));
        ledger.add(&Address::new("eks_nodegroup", "odd"), None, Some(&odd));
        ledger.add(&Address::new("s3_bucket", "logs"), None, Some(&attrs(json!({}))));
        let cost = ledger.finish();
        let line = |a: &str| cost.resources.iter().find(|l| l.address == a).unwrap();
        let ng = line("eks_nodegroup.general");
        assert_eq!(money(ng.before), "$271.56");
        assert_eq!(money(ng.after), "$543.12");
        assert_eq!(ng.priced_as, "6 × m6i.large at $0.124/h");
        let c = line("eks_cluster.main");
        assert_eq!((money(c.before), money(c.after)), ("$73.00".into(), "$438.00".into()));
        assert!(
            c.priced_as.contains("extended support (1.30 left standard support on 2025-07-23)")
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
        let text = text_lines(&cost).join("\n");
        assert!(
            text.contains("total: unknown (the price table has no prices for eu-west-3)"),
            "{text}"
        );
        assert!(!text.contains("$0.00"), "never $0.00 for what is not priced: {text}");
        // A type the table lacks: the total is unknown, what is priced a floor.
        let mut ledger = Ledger::new("us-east-1");
        let odd = attrs(json!({"instance_types": ["z9.huge"], "scaling": {"desired": 1}}));
        ledger.add(&Address::new("eks_nodegroup", "odd"), None, Some(&odd));
        let text = text_lines(&ledger.finish()).join("\n");
        assert!(
            text.contains("total: unknown (1 resource not priced; what is priced: $0.00 -> $0.00"),
            "{text}"
        );
    }

    #[test]
    fn support_dates_of_versions_the_table_does_not_list() {
        let t = table();
        let book = PriceBook {
            rates: &t.regions["us-east-1"],
            date: t.date,
            standard_support: &t.eks_standard_support_ends,
        };
        assert_eq!(book.standard_support_ends("1.99"), None);
        assert_eq!(
            book.standard_support_ends("1.20"),
            t.eks_standard_support_ends.values().min().copied()
        );
        assert_eq!(money(1234567.891), "$1,234,567.89");
        assert_eq!(signed(-73.0), "-$73.00");
        assert_eq!(signed(0.0), "$0.00");
    }
}
