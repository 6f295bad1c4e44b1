//! `eks_addon`: an EKS managed add-on (vpc-cni, kube-proxy, coredns,
//! eks-pod-identity-agent, aws-ebs-csi-driver, ...). Version, configuration and
//! service account role change in place (UpdateAddon); an add-on whose pods run
//! on nodes (coredns) is made after the cluster's node groups
//! (src/stack/eks.rs), or it stays DEGRADED with nowhere to run.

use serde_json::{Map, Value};

use super::schema::{Attr, Default, Finding, Kind, Removal, TypeSchema};

/// Add-ons whose pods need nodes to become active.
pub const NEEDS_NODES: &[&str] = &[
    "coredns",
    "aws-ebs-csi-driver",
    "aws-efs-csi-driver",
    "aws-mountpoint-s3-csi-driver",
    "snapshot-controller",
    "adot",
    "amazon-cloudwatch-observability",
    "metrics-server",
];

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "eks_addon",
    doc: "An EKS managed add-on (vpc-cni, kube-proxy, coredns, eks-pod-identity-agent, aws-ebs-csi-driver, ...). Version, configuration and role change in place.",
    attrs: &[
        Attr::new("cluster_name", Kind::String)
            .doc("The cluster it is installed on.")
            .required()
            .force_new(),
        Attr::new("name", Kind::String)
            .doc("The add-on, such as vpc-cni or coredns.").required().force_new(),
        // Left out, AWS installs its default version and it is not managed.
        Attr::new("version", Kind::String)
            .on_removal(Removal::Keep)
            .doc("Its version; checked at plan time against what the cluster's Kubernetes version supports."),
        // What to do with fields of the add-on's Kubernetes objects that
        // differ from EKS's defaults (a self-managed add-on already running,
        // settings changed with kubectl). Terraform's names; never diffed.
        Attr::new(
            "resolve_conflicts_on_create",
            Kind::Enum(&["NONE", "OVERWRITE"]),
        )
            .doc("On create, with a self-managed add-on already running: NONE (the default) changes nothing of it, and the create fails on a conflict; OVERWRITE resets its fields to EKS's defaults (custom networking, prefix delegation and the like are lost).")
        .no_diff(),
        Attr::new(
            "resolve_conflicts_on_update",
            Kind::Enum(&["PRESERVE", "OVERWRITE", "NONE"]),
        )
            .doc("On update, for fields changed on the cluster: PRESERVE (the default) keeps them; OVERWRITE puts EKS's defaults back; NONE changes nothing and fails the update on a conflict.")
        .no_diff(),
        // Terraform's deprecated single setting: both of the above at once.
        Attr::new(
            "resolve_conflicts",
            Kind::Enum(&["OVERWRITE", "NONE", "PRESERVE"]),
        )
            .doc("Both resolve_conflicts_on_create and resolve_conflicts_on_update at once, where they are not given (Terraform's older name).")
        .no_diff(),
        // JSON, compared by meaning.
        Attr::new("configuration_values", Kind::String)
            .document()
            .on_removal(Removal::Delete)
            .doc("Its configuration, a JSON document."),
        Attr::new("service_account_role_arn", Kind::String)
            .on_removal(Removal::Delete)
            .doc("The IAM role its service account takes (IRSA)."),
        // EKS Pod Identity for the add-on's own service accounts (the
        // cluster needs the eks-pod-identity-agent add-on); AWS makes and
        // deletes these associations with the add-on. Left out, not managed.
        Attr::new(
            "pod_identity_associations",
            Kind::Set(&Kind::Object(&[
                Attr::new("service_account", Kind::String).required(),
                Attr::new("role_arn", Kind::String).required(),
            ])),
        )
            .on_removal(Removal::Delete)
            .doc("Pod Identity roles for its service accounts."),
        // Terraform's `preserve`: DeleteAddon --preserve.
        Attr::new("preserve", Kind::Bool)
            .doc("Whether removing the add-on keeps its Kubernetes objects running on the cluster, unmanaged (kept in state only).")
            .default(Default::Bool(false))
            .local(),
    ],
    exports: &["id", "arn", "version"],
    check: Some(check),
    canonical: Some(canonical),
    id_format: "CLUSTER:ADDON",
    ..TypeSchema::BASE
};

pub fn check(attrs: &Map<String, Value>) -> Vec<Finding> {
    match attrs.get("configuration_values").and_then(Value::as_str) {
        Some(text) if !text.contains("${") && serde_json::from_str::<Value>(text).is_err() => {
            vec![Finding {
                lint: None,
                pointer: "/configuration_values".into(),
                message: "configuration_values is not valid JSON".into(),
                hint: Some(
                    "write it as a JSON string; a YAML block scalar (|) keeps it readable".into(),
                ),
            }]
        }
        _ => Vec::new(),
    }
}

/// Configuration values with their keys sorted and no whitespace.
pub fn canonical(attrs: &mut Map<String, Value>) {
    if let Some(Value::String(text)) = attrs.get_mut("configuration_values")
        && let Ok(v) = serde_json::from_str::<Value>(text)
    {
        *text = super::attrs::sorted(&v).to_string();
    }
}

/// How a create resolves conflicts: what the stack says, else NONE (what runs
/// already is never reset unasked).
pub fn conflicts_on_create(attrs: &Map<String, Value>) -> &str {
    attrs
        .get("resolve_conflicts_on_create")
        .or_else(|| attrs.get("resolve_conflicts"))
        .and_then(Value::as_str)
        .unwrap_or("NONE")
}

/// How an update resolves conflicts: what the stack says, else PRESERVE
/// (what was changed on the cluster stays).
pub fn conflicts_on_update(attrs: &Map<String, Value>) -> &str {
    attrs
        .get("resolve_conflicts_on_update")
        .or_else(|| attrs.get("resolve_conflicts"))
        .and_then(Value::as_str)
        .unwrap_or("PRESERVE")
}
