//! `network_acl`: a VPC network ACL, its numbered rules in and out, and the
//! subnets associated with it. Rules are compared as a set and change one by
//! one (a rule number given another rule is replaced in place, never
//! deleted first). A subnet is in one ACL at a time: one moved here is taken
//! over (ReplaceNetworkAclAssociation) without a moment in none, and one let
//! go goes back to the VPC's default ACL.
//! `default_network_acl` (the VPC's own, adopted) shares its rules.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::schema::{Attr, Default, Finding, Kind, TypeSchema, parse_ports};

/// The protocols a rule names (EC2 takes their numbers: 6, 17, 1, 58, -1).
pub const PROTOCOLS: &[&str] = &["tcp", "udp", "icmp", "icmpv6", "all"];

/// The highest rule number a stack may use: 32767 is AWS's own catch-all
/// deny (Amazon VPC User Guide, "Network ACL rules").
pub const MAX_RULE: i64 = 32766;

pub const RULE: Kind = Kind::Object(&[
    Attr::new("rule_no", Kind::Int { min: 1, max: MAX_RULE }).required(),
    Attr::new("action", Kind::Enum(&["allow", "deny"])).required(),
    Attr::new("protocol", Kind::Enum(PROTOCOLS)).required(),
    Attr::new("ports", Kind::Ports),
    Attr::new("cidr", Kind::Cidr),
    Attr::new("ipv6_cidr", Kind::String),
    Attr::new("icmp_type", Kind::Int { min: -1, max: 255 }),
    Attr::new("icmp_code", Kind::Int { min: -1, max: 255 }),
]);

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "network_acl",
    doc: "A VPC network ACL: numbered rules in and out (evaluated lowest first; AWS's catch-all deny after them) and the subnets it guards. Rules change in place; a subnet moves to it without a gap.",
    attrs: &[
        Attr::new("vpc_id", Kind::String).doc("The VPC it belongs to.").required().force_new(),
        Attr::new("ingress", Kind::Set(&RULE))
            .doc("Rules in: each rule_no (1..32766), action (allow or deny), protocol (tcp, udp, icmp, icmpv6, all), ports (tcp and udp), one of cidr and ipv6_cidr, icmp_type and icmp_code (icmp). None: all denied.")
            .default(Default::EmptyList),
        Attr::new("egress", Kind::Set(&RULE))
            .doc("Rules out, as ingress. None: all denied. An ACL is stateless: replies need rules too (ephemeral ports 1024-65535).")
            .default(Default::EmptyList),
        Attr::new("subnet_ids", Kind::Set(&Kind::String))
            .doc("The subnets it guards (a subnet is in one ACL at a time; one let go goes back to the VPC's default ACL).")
            .default(Default::EmptyList),
    ],
    exports: &["id", "arn"],
    check: Some(check),
    canonical: Some(canonical),
    exclusive: &["subnet_ids"],
    id_format: "its acl-… id",
    ..TypeSchema::BASE
};

/// Each rule as EC2 takes it (CreateNetworkAclEntry): ports for tcp and
/// udp only and then required, one of `cidr` and `ipv6_cidr`, ICMP fields for
/// ICMP only; no two rules in one direction share a number.
pub fn check(attrs: &Map<String, Value>) -> Vec<Finding> {
    let mut out = Vec::new();
    for dir in ["ingress", "egress"] {
        let Some(rules) = attrs.get(dir).and_then(Value::as_array) else { continue };
        let mut numbers: BTreeMap<i64, usize> = BTreeMap::new();
        for (i, rule) in rules.iter().enumerate() {
            let pointer = format!("/{dir}/{i}");
            let mut say = |message: String, hint: &str| {
                out.push(Finding {
                    lint: None,
                    pointer: pointer.clone(),
                    message,
                    hint: (!hint.is_empty()).then(|| hint.to_string()),
                })
            };
            let protocol = rule.get("protocol").and_then(Value::as_str).unwrap_or("all");
            let has = |k: &str| rule.get(k).is_some_and(|v| !v.is_null());
            match (protocol, rule.get("ports").and_then(Value::as_str)) {
                ("tcp" | "udp", None) => say(
                    format!("{dir} rule {} ({protocol}) needs `ports`", i + 1),
                    "for example ports: \"443\", or \"1024-65535\" for replies",
                ),
                ("tcp" | "udp", Some(p)) => {
                    if let Err(e) = parse_ports(p) {
                        say(format!("{dir} rule {}: {e}", i + 1), "");
                    }
                }
                (_, Some(_)) => say(
                    format!("{dir} rule {}: a {protocol} rule has no ports", i + 1),
                    "ports are for tcp and udp",
                ),
                _ => {}
            }
            if !protocol.starts_with("icmp") && (has("icmp_type") || has("icmp_code")) {
                say(
                    format!("{dir} rule {}: icmp_type and icmp_code are for icmp rules", i + 1),
                    "",
                );
            }
            if has("cidr") == has("ipv6_cidr") {
                say(
                    format!("{dir} rule {} needs exactly one of `cidr` and `ipv6_cidr`", i + 1),
                    "for example cidr: 10.0.0.0/16, or ipv6_cidr: ::/0",
                );
            }
            if let Some(v6) = rule.get("ipv6_cidr").and_then(Value::as_str)
                && !v6.contains("${")
                && v6.parse::<ipnet::Ipv6Net>().is_err()
            {
                say(
                    format!("`{v6}` is not an IPv6 CIDR block"),
                    "for example ::/0 or 2600:1f18::/56",
                );
            }
            if let Some(n) = rule.get("rule_no").and_then(Value::as_i64) {
                if let Some(first) = numbers.get(&n) {
                    say(
                        format!("{dir} rules {} and {} share number {n}", first + 1, i + 1),
                        "AWS takes one rule per number in each direction (NetworkAclEntryAlreadyExists)",
                    );
                } else {
                    numbers.insert(n, i);
                }
            }
        }
    }
    out
}

/// An ICMP rule without a type or code is for all of them (-1), as EC2
/// reads it back.
pub fn canonical(attrs: &mut Map<String, Value>) {
    for dir in ["ingress", "egress"] {
        let Some(Value::Array(rules)) = attrs.get_mut(dir) else { continue };
        for rule in rules.iter_mut().filter_map(Value::as_object_mut) {
            if rule.get("protocol").and_then(Value::as_str).is_some_and(|p| p.starts_with("icmp")) {
                for k in ["icmp_type", "icmp_code"] {
                    rule.entry(k).or_insert(Value::from(-1));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rules_are_checked_as_ec2_takes_them() {
        let attrs = json!({"ingress": [
            {"rule_no": 100, "action": "allow", "protocol": "tcp", "ports": "443", "cidr": "0.0.0.0/0"},
            {"rule_no": 100, "action": "allow", "protocol": "tcp", "cidr": "0.0.0.0/0"},
            {"rule_no": 110, "action": "deny", "protocol": "all", "ports": "22", "cidr": "10.0.0.0/8", "ipv6_cidr": "::/0"},
        ]});
        let found: Vec<String> =
            check(attrs.as_object().unwrap()).into_iter().map(|f| f.message).collect();
        assert!(found.iter().any(|m| m.contains("needs `ports`")), "{found:?}");
        assert!(found.iter().any(|m| m.contains("share number 100")), "{found:?}");
        assert!(found.iter().any(|m| m.contains("has no ports")), "{found:?}");
        assert!(found.iter().any(|m| m.contains("exactly one of `cidr`")), "{found:?}");
        assert_eq!(found.len(), 4, "{found:?}");
    }
}
