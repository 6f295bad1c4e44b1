//! `security_group`: a VPC security group and its rules. The rules are a deferred
//! part, applied in a step of their own and diffed one by one: a rule change never
//! replaces the group, and two groups may reference each other.

use serde_json::{Map, Value};

use super::Attrs;
use super::schema::{Attr, Default, Finding, Kind, NameDefault, Removal, TypeSchema};

pub const RULE: Kind = Kind::Object(&[
    Attr::new("protocol", Kind::Enum(&["tcp", "udp", "icmp", "all"])).required(),
    Attr::new("ports", Kind::Ports),
    Attr::new("cidr", Kind::Cidr),
    Attr::new("ipv6_cidr", Kind::String),
    Attr::new("prefix_list_id", Kind::String),
    Attr::new("source_security_group", Kind::String),
    Attr::new("description", Kind::String),
]);

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "security_group",
    doc: "A VPC security group and its rules. Rules are applied in a step of their own and diffed one by one: a rule change never replaces the group, and two groups may reference each other.",
    attrs: &[
        Attr::new("vpc_id", Kind::String).doc("The VPC it belongs to.").required().force_new(),
        Attr::new("name", Kind::String)
            .doc("Its group name; <stack>-<name> when unset.")
            .force_new(),
        // Terraform's name_prefix: a unique name that begins so, made at
        // create, so that a replacement can stand beside what it replaces.
        // AWS knows only the name: the prefix is kept as asked.
        Attr::new("name_prefix", Kind::String)
            .on_removal(Removal::Keep)
            .doc("Instead of name: a unique name beginning with this is made at creation (Terraform's name_prefix), so a replacement can stand beside the group it replaces.")
            .force_new()
            .kept_if_unreported(),
        Attr::new("description", Kind::String)
            .doc("Its description (AWS cannot change it in place).")
            .force_new()
            .default(Default::Str("Managed by infra")),
        // No ingress unless listed.
        Attr::new("ingress", Kind::Set(&RULE))
            .doc("Rules in: each a protocol, ports and one source (cidr or source_security_group).")
            .deferred()
            .default(Default::EmptyList),
        // AWS's own default: all traffic out.
        Attr::new("egress", Kind::Set(&RULE))
            .doc("Rules out; AWS's own (all traffic to anywhere) when unset, none when [].")
            .deferred()
            .default(Default::Json(r#"[{"protocol": "all", "cidr": "0.0.0.0/0"}]"#)),
    ],
    exports: &["id", "arn", "name"],
    name_attr: Some(("name", NameDefault::StackAndName("--"))),
    check: Some(check),
    lint: Some(lint),
    risks: Some(risks),
    id_format: "its sg-… id",
    ..TypeSchema::BASE
};

pub fn check(attrs: &Map<String, Value>) -> Vec<Finding> {
    let mut out = Vec::new();
    for dir in ["ingress", "egress"] {
        let Some(rules) = attrs.get(dir).and_then(Value::as_array) else {
            continue;
        };
        for (i, rule) in rules.iter().enumerate() {
            out.extend(rule_check(rule, &format!("/{dir}/{i}"), &format!("{dir} rule {}", i + 1)));
        }
    }
    out
}

/// Where a rule's traffic comes from (or goes to): exactly one of these.
pub const SOURCES: &[&str] = &["cidr", "ipv6_cidr", "prefix_list_id", "source_security_group"];

/// The checks of one rule (`rule`, at `at`, called `what` in messages): one
/// source, and ports exactly where the protocol has them. A
/// `security_group_rule` is checked the same way.
pub fn rule_check(rule: &Value, at: &str, what: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let protocol = rule.get("protocol").and_then(Value::as_str).unwrap_or("");
    let sources = SOURCES.iter().filter(|k| rule.get(**k).is_some()).count();
    if sources != 1 {
        out.push(Finding {
            lint: None,
            pointer: at.to_string(),
            message: format!(
                "{what} needs exactly one of `cidr`, `ipv6_cidr`, `prefix_list_id` and `source_security_group`"
            ),
            hint: Some("write one rule per source".into()),
        });
    }
    if let Some(v6) = rule.get("ipv6_cidr").and_then(Value::as_str)
        && !v6.contains("${")
        && v6.parse::<ipnet::Ipv6Net>().is_err()
    {
        out.push(Finding {
            lint: None,
            pointer: format!("{at}/ipv6_cidr"),
            message: format!("`{v6}` is not an IPv6 CIDR block"),
            hint: Some("for example ::/0, or 2600:1f18:abcd::/56".into()),
        });
    }
    match (protocol, rule.get("ports")) {
        ("tcp" | "udp", None) => out.push(Finding {
            lint: None,
            pointer: format!("{at}/protocol"),
            message: format!("a {protocol} rule needs `ports`"),
            hint: Some("for example ports: \"443\" or ports: \"1024-65535\"".into()),
        }),
        ("all", Some(_)) => out.push(Finding {
            lint: None,
            pointer: format!("{at}/ports"),
            message: "`ports` cannot be set with protocol `all`".into(),
            hint: Some("protocol all covers every port; remove `ports`".into()),
        }),
        _ => {}
    }
    out
}

/// Open to the internet on anything but HTTP and HTTPS: judged by the
/// address space the rules admitting each port cover together
/// (`types::exposure`), so two halves of the internet are the internet.
pub fn lint(attrs: &Map<String, Value>) -> Vec<Finding> {
    let rules = attrs.get("ingress").and_then(Value::as_array).cloned().unwrap_or_default();
    exposure_findings(&rules, "/ingress")
}

/// The ports of `rules` the internet reaches, other than 80 and 443, each
/// located at the first rule (under `at`) that opens it.
pub fn exposure_findings(rules: &[Value], at: &str) -> Vec<Finding> {
    super::exposure::openings(rules)
        .into_iter()
        .filter(|o| !o.web_only())
        .map(|o| {
            // Located at the first rule that opens it.
            let first = rules
                .iter()
                .position(|r| {
                    let source = r.get("cidr").or_else(|| r.get("ipv6_cidr"));
                    source.and_then(Value::as_str) == o.sources.first().map(String::as_str)
                })
                .unwrap_or(0);
            Finding {
                lint: Some(crate::types::lint::Lint::OpenIngress),
                pointer: format!("{at}/{first}"),
                message: format!(
                    "ingress open to the internet on {} (not 80 or 443): from {}",
                    o.on(),
                    o.said()
                ),
                hint: Some(
                    "narrow the CIDRs, or reach the port through the load balancer or a bastion"
                        .into(),
                ),
            }
        })
        .collect()
}

/// Ingress newly open to the internet, judged by the address space the
/// rules cover together, port by port (`exposure`): what the internet
/// reaches after and did not before.
fn risks(before: Option<&Attrs>, after: Option<&Attrs>, _updated: bool) -> Vec<String> {
    let rules = |m: Option<&Attrs>| {
        m.and_then(|m| m.get("ingress")).and_then(|v| v.as_array().cloned()).unwrap_or_default()
    };
    newly_open(&rules(before), &rules(after))
}

/// What the internet reaches through `after` and did not through `before`,
/// port by port, one line each.
pub fn newly_open(before: &[Value], after: &[Value]) -> Vec<String> {
    let was = super::exposure::openings(before);
    super::exposure::openings(after)
        .into_iter()
        .filter(|o| {
            !was.iter().any(|w| w.protocol == o.protocol && w.from <= o.from && o.to <= w.to)
        })
        .map(|o| format!("ingress opened to the internet on {}", o.on()))
        .collect()
}
