//! `load_balancer`: an Application Load Balancer. Waits until it is active.

use serde_json::Value;

use super::Attrs;
use super::price::{PriceBook, rate};
use super::schema::{Attr, Default, Kind, Removal, TypeSchema};

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "load_balancer",
    doc: "An Application Load Balancer in two or more subnets of different zones. Apply waits until it is active.",
    attrs: &[
        // Left out, a unique name is made at creation.
        Attr::new("name", Kind::String)
            .on_removal(Removal::Keep)
            .doc("Its name (32 characters at most); <stack>-<name> when unset.").force_new(),
        Attr::new("subnets", Kind::Set(&Kind::String))
            .doc("Its subnets, in at least two zones; for internet-facing, subnets routed to an internet gateway.").required(),
        Attr::new("security_groups", Kind::Set(&Kind::String))
            .on_removal(Removal::Keep)
            .doc("Its security groups."),
        Attr::new("scheme", Kind::Enum(&["internet-facing", "internal"]))
            .doc("internet-facing (needs an internet gateway in its VPC) or internal.")
            .default(Default::Str("internet-facing"))
            .force_new(),
        Attr::new("idle_timeout_seconds", Kind::Int { min: 1, max: 4000 })
            .doc("How long an idle connection is kept open.")
            .default(Default::Int(60)),
    ],
    exports: &["id", "arn", "arn_suffix", "dns_name", "zone_id", "name"],
    price: Some(price),
    id_format: "its ARN",
    ..TypeSchema::BASE
};

/// The part of a load balancer's or target group's ARN that CloudWatch names
/// it by (its `LoadBalancer` and `TargetGroup` dimensions): `app/NAME/ID` and
/// `targetgroup/NAME/ID`.
pub fn arn_suffix(arn: &str) -> String {
    match (arn.split_once(":loadbalancer/"), arn.split_once(":targetgroup/")) {
        (Some((_, rest)), _) => rest.to_string(),
        (_, Some((_, rest))) => format!("targetgroup/{rest}"),
        _ => arn.to_string(),
    }
}

/// The `arn_suffix` of the load balancer a listener or listener rule belongs
/// to, read from the listener's or rule's own ARN (`…:listener/app/NAME/ID/…`).
pub fn suffix_of_owner(arn: &str) -> Option<String> {
    let rest = arn.split_once(":listener/").or_else(|| arn.split_once(":listener-rule/"))?.1;
    let parts: Vec<&str> = rest.splitn(4, '/').collect();
    (parts.len() >= 3).then(|| parts[..3].join("/"))
}

/// The load balancer by the hour, and, internet-facing, a public IPv4
/// address in each of its subnets' zones.
fn price(attrs: &Attrs, book: &PriceBook) -> Result<(f64, String), String> {
    let r = book.rates;
    let public = attrs.get("scheme").and_then(Value::as_str) != Some("internal");
    let zones = attrs.get("subnets").and_then(Value::as_array).map_or(0, Vec::len);
    Ok(match public {
        true => (
            r.application_load_balancer + zones as f64 * r.public_ipv4_address,
            format!(
                "application load balancer at {} + {zones} public IPv4 addresses at {}",
                rate(r.application_load_balancer),
                rate(r.public_ipv4_address)
            ),
        ),
        false => (
            r.application_load_balancer,
            format!("application load balancer at {}", rate(r.application_load_balancer)),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloudwatch_names_load_balancers_and_target_groups_by_arn_suffix() {
        let arn = "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012";
        assert_eq!(
            arn_suffix(&format!("{arn}:loadbalancer/app/web/50dc6c495c0c9188")),
            "app/web/50dc6c495c0c9188"
        );
        assert_eq!(
            arn_suffix(&format!("{arn}:targetgroup/eks/73e2d6bc24d8a067")),
            "targetgroup/eks/73e2d6bc24d8a067"
        );
        assert_eq!(
            suffix_of_owner(&format!("{arn}:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2"))
                .as_deref(),
            Some("app/web/50dc6c495c0c9188")
        );
        assert_eq!(
            suffix_of_owner(&format!(
                "{arn}:listener-rule/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"
            ))
            .as_deref(),
            Some("app/web/50dc6c495c0c9188")
        );
    }
}
