//! `vpc_endpoint`: a way from a VPC to an AWS service that does not cross the
//! internet. A Gateway endpoint (S3, DynamoDB) adds routes to the route tables
//! it is given; an Interface endpoint (ECR, STS, CloudWatch Logs, ...) puts a
//! network interface in each of its subnets, behind its security groups, and
//! with private DNS answers the service's usual name from inside the VPC.
//! Route tables, subnets, security groups and private DNS change in place
//! (ModifyVpcEndpoint).

use serde_json::{Map, Value};

use super::price::{PriceBook, rate};
use super::schema::{Attr, Default, Finding, Kind, Removal, TypeSchema};

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "vpc_endpoint",
    doc: "A way from a VPC to an AWS service that does not cross the internet: Gateway (S3, DynamoDB: routes) or Interface (ECR, STS, Logs: network interfaces in subnets).",
    attrs: &[
        Attr::new("vpc_id", Kind::String)
            .doc("The VPC it serves.").required().force_new(),
        // `com.amazonaws.REGION.s3`, `com.amazonaws.REGION.ecr.dkr`, ...
        Attr::new("service_name", Kind::String)
            .doc("The service, such as com.amazonaws.ap-northeast-1.s3.")
            .required()
            .force_new(),
        Attr::new("vpc_endpoint_type", Kind::Enum(&["Gateway", "Interface"]))
            .doc("Gateway (S3, DynamoDB) or Interface (most other services).")
            .default(Default::Str("Gateway"))
            .force_new(),
        // Gateway only.
        Attr::new("route_table_ids", Kind::Set(&Kind::String))
            .on_removal(Removal::Delete)
            .doc("For a Gateway endpoint: the route tables it adds its routes to."),
        // Interface only.
        Attr::new("subnet_ids", Kind::Set(&Kind::String))
            .on_removal(Removal::Delete)
            .doc("For an Interface endpoint: one subnet per zone for its network interfaces."),
        Attr::new("security_group_ids", Kind::Set(&Kind::String))
            .on_removal(Removal::Delete)
            .doc("For an Interface endpoint: the groups of its network interfaces."),
        // Interface only; AWS's default is true.
        Attr::new("private_dns_enabled", Kind::Bool)
            .on_removal(Removal::Keep)
            .doc("For an Interface endpoint: whether the service's usual name resolves to it inside the VPC (needs both VPC DNS settings on)."),
        // Interface only; AWS's default record type is ipv4.
        Attr::new(
            "dns_options",
            Kind::Object(&[
                Attr::new("dns_record_ip_type", Kind::Enum(&["ipv4", "dualstack", "ipv6", "service-defined"])),
                Attr::new("private_dns_only_for_inbound_resolver_endpoint", Kind::Bool),
            ]),
        )
            .on_removal(Removal::Keep)
            .doc("For an Interface endpoint: dns_record_ip_type (ipv4, dualstack, ipv6, service-defined) and private_dns_only_for_inbound_resolver_endpoint; in place.")
            .kept_if_unreported(),
        // AWS gives every endpoint a policy: full access unless one is set.
        Attr::new("policy", Kind::String)
            .document()
            .on_removal(Removal::Reset(FULL_ACCESS))
            .doc("The endpoint policy, a JSON document compared by meaning: what may be reached through it. Left out, not managed; removed from the stack, AWS's full-access policy is put back."),
    ],
    exports: &["id", "arn"],
    check: Some(check),
    canonical: Some(canonical),
    price: Some(price),
    billed_by_use_if: Some(interface),
    id_format: "its vpce-… id",
    ..TypeSchema::BASE
};

/// The policy AWS gives an endpoint none was given for (and what
/// ResetPolicy puts back): anyone, any action, any resource of the
/// service. As the attribute's JSON value.
pub const FULL_ACCESS: &str = r#""{\"Statement\":[{\"Action\":\"*\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Resource\":\"*\"}],\"Version\":\"2008-10-17\"}""#;

/// Whether it is an Interface endpoint: one in each of its subnets' zones,
/// billed by the hour and for the data it processes (a Gateway endpoint is
/// free).
fn interface(attrs: &Map<String, Value>) -> bool {
    attrs.get("vpc_endpoint_type").and_then(Value::as_str) == Some("Interface")
}

/// What belongs to the other kind of endpoint is refused.
pub fn check(attrs: &Map<String, Value>) -> Vec<Finding> {
    let (own, other, kind) = if interface(attrs) {
        ("an Interface", &["route_table_ids"][..], "route tables are for Gateway endpoints")
    } else {
        (
            "a Gateway",
            &["subnet_ids", "security_group_ids", "private_dns_enabled", "dns_options"][..],
            "subnets, security groups and private DNS are for Interface endpoints",
        )
    };
    let mut out: Vec<Finding> = other
        .iter()
        .filter(|k| attrs.contains_key(**k))
        .map(|k| Finding {
            lint: None,
            pointer: format!("/{k}"),
            message: format!("{own} endpoint takes no `{k}`"),
            hint: Some(format!("{kind}; set vpc_endpoint_type or remove `{k}`")),
        })
        .collect();
    // A document with references is checked once they are known.
    if let Some(doc) = attrs.get("policy")
        && super::reference::is_known(doc)
        && doc.as_str().and_then(super::policy::normalize).is_none()
    {
        out.push(Finding {
            lint: None,
            pointer: "/policy".into(),
            message: "this policy document is not valid JSON".into(),
            hint: Some(
                "write the policy as a JSON string; a YAML block scalar (|) keeps it readable"
                    .into(),
            ),
        });
    }
    out
}

/// Private DNS is on unless said otherwise on an Interface endpoint, and means
/// nothing on a Gateway one.
pub fn canonical(attrs: &mut Map<String, Value>) {
    if let Some(Value::String(doc)) = attrs.get_mut("policy")
        && let Some(n) = super::policy::normalize(doc)
    {
        *doc = n;
    }
    if interface(attrs) {
        attrs.entry("private_dns_enabled").or_insert(Value::Bool(true));
    } else {
        attrs.remove("private_dns_enabled");
    }
}

/// An Interface endpoint by the hour in each of its zones.
fn price(attrs: &Map<String, Value>, book: &PriceBook) -> Result<(f64, String), String> {
    if !interface(attrs) {
        return Ok((0.0, String::new()));
    }
    let r = book.rates.interface_endpoint_per_zone;
    let zones = attrs.get("subnet_ids").and_then(Value::as_array).map_or(0, Vec::len);
    Ok((zones as f64 * r, format!("interface endpoint in {zones} zones at {} each", rate(r))))
}
