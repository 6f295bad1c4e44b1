//! `eks_addon`: an EKS managed add-on (vpc-cni, kube-proxy, coredns,
//! eks-pod-identity-agent, aws-ebs-csi-driver, ...). Version, configuration and
//! service account role change in place (UpdateAddon); an add-on whose pods run
//! on nodes (coredns) is made after the cluster's node groups
//! (src/stack/eks.rs), or it stays DEGRADED with nowhere to run.

use serde_json::{Map, Value};

use super::schema::{Attr, Default, Finding, Kind, TypeSchema};

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
            .doc("Its version; checked at plan time against what the cluster's Kubernetes version supports."),
        // What to do with fields changed on the cluster by hand.
        Attr::new(
            "resolve_conflicts",
            Kind::Enum(&["OVERWRITE", "NONE", "PRESERVE"]),
        )
            .doc("What to do with fields changed outside EKS: OVERWRITE, NONE or PRESERVE.")
        .default(Default::Str("OVERWRITE"))
        .no_diff(),
        // JSON, compared by meaning.
        Attr::new("configuration_values", Kind::String)
            .doc("Its configuration, a JSON document."),
        Attr::new("service_account_role_arn", Kind::String)
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
            .doc("Pod Identity roles for its service accounts."),
    ],
    exports: &["id", "arn", "version"],
    check: Some(check),
    canonical: Some(canonical),
    ..TypeSchema::BASE
};

pub fn check(attrs: &Map<String, Value>) -> Vec<Finding> {
    match attrs.get("configuration_values").and_then(Value::as_str) {
        Some(text) if !text.contains("${") && serde_json::from_str::<Value>(text).is_err() => {
            vec![Finding {
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
