//! `eks_access_entry`: lets one IAM principal (a role or user) into an EKS
//! cluster through the EKS API, with no aws-auth ConfigMap. The cluster's
//! `access_config.authentication_mode` must be `API` or `API_AND_CONFIG_MAP`
//! (src/stack/eks.rs). What the principal may do comes from Kubernetes RBAC
//! bound to its `kubernetes_groups`, or from an
//! `eks_access_policy_association`. Groups and username change in place; the
//! principal and the type replace the entry.

use serde_json::{Map, Value};

use super::reference;
use super::schema::{Attr, Default, Finding, Kind, Removal, TypeSchema};

/// The entry types AWS knows; only STANDARD takes groups and access policies.
pub const ENTRY_TYPES: &[&str] = &[
    "STANDARD",
    "EC2_LINUX",
    "EC2_WINDOWS",
    "FARGATE_LINUX",
    "EC2",
    "HYBRID_LINUX",
    "HYPERPOD_LINUX",
];

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "eks_access_entry",
    doc: "Lets one IAM principal into an EKS cluster through the EKS API (authentication mode API or API_AND_CONFIG_MAP), with no aws-auth ConfigMap.",
    attrs: &[
        Attr::new("cluster_name", Kind::String).doc("The cluster.").required().force_new(),
        Attr::new("principal_arn", Kind::String)
            .doc("The IAM role or user let in.")
            .required()
            .force_new(),
        Attr::new("type", Kind::Enum(ENTRY_TYPES))
            .doc("The entry type: STANDARD, or EC2_LINUX and the like for nodes.")
            .default(Default::Str("STANDARD"))
            .force_new(),
        Attr::new("kubernetes_groups", Kind::Set(&Kind::String))
            .doc("Kubernetes groups the principal is in, for RBAC.")
            .default(Default::EmptyList),
        // Left out, AWS picks one from the principal and it is not managed.
        Attr::new("username", Kind::String)
            .on_removal(Removal::Keep)
            .doc("Its Kubernetes user name."),
    ],
    exports: &["id", "arn"],
    check: Some(check),
    id_format: "CLUSTER:PRINCIPAL_ARN",
    ..TypeSchema::BASE
};

/// What EKS does not accept at the start of a custom username (EKS User
/// Guide, "Set a custom username for EKS access entries").
pub const RESERVED_USERNAME_PREFIXES: &[&str] = &["system:", "eks:", "aws:", "amazon:", "iam:"];

/// Whether an ARN names an IAM role or user (`arn:aws:iam::123456789012:role/x`).
pub fn is_principal(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && (parts[5].starts_with("role/") || parts[5].starts_with("user/"))
}

pub fn check(attrs: &Map<String, Value>) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(arn) = attrs.get("principal_arn")
        && reference::is_known(arn)
        && !arn.as_str().is_some_and(is_principal)
    {
        out.push(Finding {
            lint: None,
            pointer: "/principal_arn".into(),
            message: format!(
                "`{}` is not the ARN of an IAM role or user",
                arn.as_str().unwrap_or_default()
            ),
            hint: Some(
                "use a role's ARN, for example ${iam_role.sre.arn}; an assumed-role (sts) ARN is not accepted"
                    .into(),
            ),
        });
    }
    let ty = attrs.get("type").and_then(Value::as_str).unwrap_or("STANDARD");
    let grouped =
        attrs.get("kubernetes_groups").and_then(Value::as_array).is_some_and(|g| !g.is_empty());
    if ty != "STANDARD" && grouped {
        out.push(Finding {
            lint: None,
            pointer: "/kubernetes_groups".into(),
            message: format!("an access entry of type {ty} takes no kubernetes_groups"),
            hint: Some(
                "EKS gives node and Fargate entries their groups itself; use type: STANDARD for people and CI"
                    .into(),
            ),
        });
    }
    if let Some(name) = attrs.get("username").and_then(Value::as_str)
        && let Some(prefix) = RESERVED_USERNAME_PREFIXES.iter().find(|p| name.starts_with(**p))
    {
        out.push(Finding {
            lint: None,
            pointer: "/username".into(),
            message: format!("EKS refuses a username that starts with {prefix}"),
            hint: Some(
                "leave username out (EKS derives one from the principal), or end a role's with {{SessionName}}"
                    .into(),
            ),
        });
    }
    if ty != "STANDARD"
        && let Some(arn) = attrs.get("principal_arn").and_then(Value::as_str)
        && is_principal(arn)
        && !arn.split(':').nth(5).is_some_and(|r| r.starts_with("role/"))
    {
        out.push(Finding {
            lint: None,
            pointer: "/principal_arn".into(),
            message: format!("an access entry of type {ty} takes an IAM role, not a user"),
            hint: Some("use the node role's ARN".into()),
        });
    }
    out
}
