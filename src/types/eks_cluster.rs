//! `eks_cluster`: an EKS control plane. Created and updated asynchronously by
//! AWS: every change waits until the cluster is ACTIVE again.

use serde_json::{Map, Value, json};

use super::price::{PriceBook, rate};
use super::schema::{Attr, Default, Finding, Kind, NameDefault, Removal, TypeSchema};
use super::{AttrsExt, reference};

pub const LOG_TYPES: &[&str] = &["api", "audit", "authenticator", "controllerManager", "scheduler"];

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "eks_cluster",
    doc: "An EKS control plane. Created and changed asynchronously by AWS: every change waits until the cluster is ACTIVE again.",
    attrs: &[
        Attr::new("name", Kind::String)
            .doc("The cluster name; <stack>-<name> when unset.").force_new(),
        Attr::new("version", Kind::String)
            .doc("The Kubernetes version, such as \"1.31\"; one minor at a time, upward only.").required(),
        Attr::new("role_arn", Kind::String)
            .doc("The cluster's IAM role (trusting eks.amazonaws.com).").required().force_new(),
        Attr::new("subnet_ids", Kind::Set(&Kind::String))
            .doc("Subnets in at least two zones for its network interfaces.")
            .required()
            .force_new(),
        Attr::new("security_group_ids", Kind::Set(&Kind::String))
            .on_removal(Removal::Delete)
            .doc("Extra security groups for its network interfaces.").force_new(),
        // Private by default: the safe value.
        Attr::new("endpoint_public_access", Kind::Bool)
            .doc("Whether the API server is reachable from the internet.").default(Default::Bool(false)),
        Attr::new("endpoint_private_access", Kind::Bool)
            .doc("Whether the API server is reachable from inside the VPC.").default(Default::Bool(true)),
        Attr::new("public_access_cidrs", Kind::Set(&Kind::Cidr))
            .on_removal(Removal::Reset(r#"["0.0.0.0/0"]"#))
            .doc("Where the public endpoint may be reached from."),
        Attr::new("logging", Kind::Set(&Kind::Enum(LOG_TYPES)))
            .doc("Control-plane log types sent to CloudWatch Logs (declare the log group with a retention).").default(Default::EmptyList),
        // Who may reach the cluster: access entries (API), the aws-auth
        // ConfigMap, or both. Left out, a new cluster gets API_AND_CONFIG_MAP
        // with its creator as admin, and it is not managed afterwards.
        Attr::new(
            "access_config",
            Kind::Object(&[
                Attr::new("authentication_mode", Kind::Enum(AUTHENTICATION_MODES)).required(),
                Attr::new("bootstrap_cluster_creator_admin_permissions", Kind::Bool)
                    .default(Default::Bool(true)),
            ]),
        )
            .on_removal(Removal::Keep)
            .doc("How principals authenticate: authentication_mode, and whether the creator is made admin.")
        .kept_if_unreported(),
        // What happens when the version leaves standard support: STANDARD
        // upgrades the cluster, EXTENDED keeps it at six times the hourly
        // price. Left out, AWS's API default (EXTENDED) applies, it is not
        // managed, and a lint says so.
        // Create-time only, and never reported by DescribeCluster: kept as
        // asked; AWS's default (true) where nothing was asked (an import).
        Attr::new("bootstrap_self_managed_addons", Kind::Bool)
            .doc("Whether EKS installs the self-managed vpc-cni, kube-proxy and coredns at creation; false leaves them to the managed eks_addons. Set at creation only: a change replaces the cluster.")
            .default(Default::Bool(true))
            .force_new()
            .kept_if_unreported(),
        // Envelope encryption of Kubernetes secrets with a KMS key: set at
        // creation or added later (AssociateEncryptionConfig), never removed
        // nor moved to another key (the plan fails: `encryption_problem`).
        Attr::new(
            "encryption_config",
            Kind::Object(&[
                Attr::new("provider", Kind::Object(&[Attr::new("key_arn", Kind::String).required()]))
                    .required(),
                Attr::new("resources", Kind::Set(&Kind::Enum(&["secrets"])))
                    .default(Default::Json(r#"["secrets"]"#)),
            ]),
        )
            .on_removal(Removal::Delete)
            .doc("Envelope encryption of Kubernetes secrets: provider.key_arn, a symmetric KMS key's ARN, and resources [secrets]. Added at creation or later; AWS can neither remove it nor change its key.")
            .kept_if_unreported(),
        Attr::new("upgrade_policy", Kind::Enum(&["STANDARD", "EXTENDED"]))
            .on_removal(Removal::Keep)
            .doc("STANDARD, or EXTENDED support (a higher hourly price after standard support ends).").kept_if_unreported(),
    ],
    exports: &[
        "id",
        "name",
        "arn",
        "endpoint",
        "certificate_authority",
        "oidc_issuer",
        "cluster_security_group_id",
        "status",
    ],
    name_attr: Some(("name", NameDefault::StackAndName("--"))),
    check: Some(check),
    lint: Some(lint),
    canonical: Some(canonical),
    plan_check: Some(|before, after| {
        version_step_problem(
            before.opt_str("version").unwrap_or_default(),
            after.opt_str("version").unwrap_or_default(),
        )
        .or_else(|| access_problem(before, after))
        .or_else(|| encryption_problem(before, after))
    }),
    price: Some(price),
    id_format: "its cluster name",
    ..TypeSchema::BASE
};

pub fn check(attrs: &Map<String, Value>) -> Vec<Finding> {
    let mut out = Vec::new();
    let version = attrs.get("version").and_then(Value::as_str).unwrap_or("");
    if reference::is_known(&json!(version)) && minor(version).is_none() {
        out.push(Finding {
            lint: None,
            pointer: "/version".into(),
            message: format!("`{version}` is not a Kubernetes version"),
            hint: Some(
                "write MAJOR.MINOR, for example \"1.31\" (quoted, so YAML keeps it a string)"
                    .into(),
            ),
        });
    }
    if attrs.opt_bool("endpoint_public_access") != Some(true)
        && attrs.opt_bool("endpoint_private_access") != Some(true)
    {
        out.push(Finding {
            lint: None,
            pointer: "/endpoint_public_access".into(),
            message: "the cluster endpoint would be reachable from nowhere".into(),
            hint: Some("enable endpoint_private_access or endpoint_public_access".into()),
        });
    }
    out
}

pub fn lint(attrs: &Map<String, Value>) -> Vec<Finding> {
    let mut out = Vec::new();
    if !attrs.contains_key("upgrade_policy") {
        out.push(Finding {
            lint: Some(crate::types::lint::Lint::UpgradePolicy),
            pointer: "/upgrade_policy".into(),
            message: "upgrade_policy is left out: a cluster made through the API is on EXTENDED support, and once its version leaves standard support (14 months after release) the control plane costs $0.60 an hour instead of $0.10, about $4,400 a year more per cluster".into(),
            hint: Some(
                "set upgrade_policy: STANDARD (AWS upgrades the cluster at the end of standard support), or EXTENDED to choose the cost"
                    .into(),
            ),
        });
    }
    if attrs.opt_bool("endpoint_public_access") != Some(true)
        && attrs.contains_key("public_access_cidrs")
    {
        out.push(Finding {
            lint: Some(crate::types::lint::Lint::PrivateEndpointCidrs),
            pointer: "/public_access_cidrs".into(),
            message: "public_access_cidrs is set but the endpoint is private (endpoint_public_access is false): AWS keeps no CIDRs for a private endpoint, so these do nothing".into(),
            hint: Some(
                "set endpoint_public_access: true to open the endpoint to these CIDRs, or drop public_access_cidrs"
                    .into(),
            ),
        });
    }
    // Judged by the address space the CIDRs cover together.
    let cidrs: Vec<&str> = match attrs.get("public_access_cidrs").and_then(Value::as_array) {
        Some(c) => c.iter().filter_map(Value::as_str).collect(),
        None => vec!["0.0.0.0/0"],
    };
    let open = attrs.opt_bool("endpoint_public_access") == Some(true)
        && super::exposure::open_to_internet(cidrs.iter().copied());
    if open {
        out.push(Finding {
            lint: Some(crate::types::lint::Lint::PublicEndpoint),
            pointer: "/endpoint_public_access".into(),
            message: format!(
                "the cluster endpoint is public to the internet ({}: {} public addresses)",
                cidrs.join(", "),
                super::exposure::public_addresses(cidrs.iter().copied())
            ),
            hint: Some(
                "limit public_access_cidrs to your offices and CI, or use the private endpoint"
                    .into(),
            ),
        });
    }
    out
}

/// A public endpoint without CIDRs is open to all, as AWS reads it back. A
/// private one has no CIDRs: AWS keeps none that mean anything (its read
/// leaves them out, and UpdateClusterConfig with them answers that the
/// cluster is already so), so neither side of a plan holds them.
pub fn canonical(attrs: &mut Map<String, Value>) {
    if !attrs.contains_key("bootstrap_self_managed_addons") {
        attrs.insert("bootstrap_self_managed_addons".into(), json!(true));
    }
    match attrs.opt_bool("endpoint_public_access") {
        Some(true) if !attrs.contains_key("public_access_cidrs") => {
            attrs.insert("public_access_cidrs".into(), json!(["0.0.0.0/0"]));
        }
        Some(false) => {
            attrs.remove("public_access_cidrs");
        }
        _ => {}
    }
}

/// The authentication modes, in the only order AWS moves a cluster through
/// them.
pub const AUTHENTICATION_MODES: &[&str] = &["CONFIG_MAP", "API_AND_CONFIG_MAP", "API"];

/// An access change AWS cannot make: a mode back towards CONFIG_MAP, or the
/// creator's admin flag after creation.
pub fn access_problem(before: &Map<String, Value>, after: &Map<String, Value>) -> Option<String> {
    let (was, now) = (before.get("access_config")?, after.get("access_config")?);
    let rank = |v: &Value| {
        let mode = v.get("authentication_mode")?.as_str()?;
        Some((mode.to_string(), AUTHENTICATION_MODES.iter().position(|m| *m == mode)?))
    };
    if let (Some((from, f)), Some((to, t))) = (rank(was), rank(now))
        && t < f
    {
        return Some(format!(
            "EKS cannot move authentication_mode from {from} back to {to}: modes only go CONFIG_MAP -> API_AND_CONFIG_MAP -> API"
        ));
    }
    let flag = "bootstrap_cluster_creator_admin_permissions";
    match (was.get(flag), now.get(flag)) {
        (Some(a), Some(b)) if a != b => Some(format!(
            "EKS sets {flag} only when the cluster is created; give access with an eks_access_entry instead"
        )),
        _ => None,
    }
}

/// An encryption change AWS cannot make: EKS secrets encryption is
/// add-only (EKS User Guide, "Encrypt Kubernetes secrets with KMS on existing
/// clusters": it cannot be disabled, nor its key changed).
pub fn encryption_problem(
    before: &Map<String, Value>,
    after: &Map<String, Value>,
) -> Option<String> {
    let key = |m: &Map<String, Value>| {
        m.get("encryption_config")?.get("provider")?.get("key_arn").cloned()
    };
    match (key(before), key(after)) {
        (Some(_), None) => Some(
            "EKS cannot remove encryption_config: secrets encryption, once on, stays on (the rule: encryption is add-only); keep encryption_config as it is, or make a new cluster".into(),
        ),
        (Some(was), Some(now)) if was != now && reference::is_known(&now) => Some(format!(
            "EKS cannot change the key of encryption_config (the rule: encryption is add-only, its key fixed): it is {}; keep that key, or make a new cluster",
            was.as_str().unwrap_or_default()
        )),
        _ => None,
    }
}

/// `1.31` → (1, 31).
pub fn minor(version: &str) -> Option<(u32, u32)> {
    let (a, b) = version.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// A version change AWS can make in one step: the next minor.
pub fn version_step_problem(from: &str, to: &str) -> Option<String> {
    let (Some(f), Some(t)) = (minor(from), minor(to)) else {
        return None;
    };
    if t < f {
        Some(format!("EKS cannot downgrade a cluster from {from} to {to}"))
    } else if t.0 != f.0 || t.1 > f.1 + 1 {
        Some(format!(
            "EKS upgrades one minor version at a time: {from} can go to {}.{} next, not {to}",
            f.0,
            f.1 + 1
        ))
    } else {
        None
    }
}

/// The control plane, by the hour: standard support, or extended support
/// once its version has left standard support (unless `upgrade_policy:
/// STANDARD`: unset, AWS keeps a cluster on extended support).
fn price(attrs: &Map<String, Value>, book: &PriceBook) -> Result<(f64, String), String> {
    let r = book.rates;
    let version = attrs.get("version").and_then(Value::as_str).unwrap_or("");
    let extended_allowed = attrs.get("upgrade_policy").and_then(Value::as_str) != Some("STANDARD");
    Ok(match book.standard_support_ends(version) {
        Some(end) if extended_allowed && end <= book.date => (
            r.eks_cluster_extended,
            format!(
                "EKS control plane on extended support ({version} left standard support on {end}) at {}",
                rate(r.eks_cluster_extended)
            ),
        ),
        Some(end) if extended_allowed => (
            r.eks_cluster_standard,
            format!(
                "EKS control plane, standard support until {end} (then {} on extended support) at {}",
                rate(r.eks_cluster_extended),
                rate(r.eks_cluster_standard)
            ),
        ),
        _ => (
            r.eks_cluster_standard,
            format!("EKS control plane, standard support at {}", rate(r.eks_cluster_standard)),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreported_upgrade_policy_is_what_was_asked_and_a_reported_one_is_read() {
        let asked =
            json!({"upgrade_policy": "STANDARD", "access_config": {"authentication_mode": "API"}});
        let asked = asked.as_object().unwrap();
        // An emulator's answer without them: what was asked stands.
        let mut read = Map::new();
        SCHEMA.keep_local(&mut read, asked);
        assert_eq!(read.get("upgrade_policy"), Some(&json!("STANDARD")));
        assert_eq!(read["access_config"]["authentication_mode"], "API");
        // AWS's answer: what it says, even when it differs (drift).
        let mut read = json!({"upgrade_policy": "EXTENDED"}).as_object().unwrap().clone();
        SCHEMA.keep_local(&mut read, asked);
        assert_eq!(read.get("upgrade_policy"), Some(&json!("EXTENDED")));
    }

    #[test]
    fn leaving_the_upgrade_policy_out_is_a_lint_naming_the_cost() {
        let attrs = json!({"version": "1.31"}).as_object().unwrap().clone();
        let found = lint(&attrs);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].pointer, "/upgrade_policy");
        assert!(found[0].message.contains("$0.60 an hour instead of $0.10"));
        let set = json!({"version": "1.31", "upgrade_policy": "EXTENDED"});
        assert!(lint(set.as_object().unwrap()).is_empty());
    }

    #[test]
    fn versions_move_one_minor_at_a_time() {
        assert_eq!(version_step_problem("1.30", "1.31"), None);
        assert_eq!(version_step_problem("1.31", "1.31"), None);
        assert!(
            version_step_problem("1.29", "1.31")
                .unwrap()
                .contains("1.29 can go to 1.30 next, not 1.31")
        );
        assert!(version_step_problem("1.31", "1.30").unwrap().contains("cannot downgrade"));
    }
}
