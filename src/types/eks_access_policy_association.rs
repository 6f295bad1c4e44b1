//! `eks_access_policy_association`: grants an access entry's principal one of
//! the EKS access policies (AmazonEKSClusterAdminPolicy, AmazonEKSAdminPolicy,
//! AmazonEKSEditPolicy, AmazonEKSViewPolicy, ...) over the whole cluster or
//! over some namespaces. The scope changes in place (AssociateAccessPolicy
//! again); the principal, cluster or policy replace it. Its id is
//! `CLUSTER#PRINCIPAL_ARN#POLICY_ARN`.

use serde_json::{Map, Value};

use super::reference;
use super::schema::{Attr, Default, Finding, Kind, TypeSchema};

pub const POLICY_PREFIX: &str = ":eks::aws:cluster-access-policy/";

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "eks_access_policy_association",
    doc: "Grants an access entry's principal one EKS access policy (AmazonEKSClusterAdminPolicy, AmazonEKSViewPolicy, ...) over the cluster or some namespaces.",
    attrs: &[
        Attr::new("cluster_name", Kind::String)
            .doc("The cluster.")
            .required()
            .force_new(),
        Attr::new("principal_arn", Kind::String)
            .doc("The access entry's principal.")
            .required()
            .force_new(),
        Attr::new("policy_arn", Kind::String)
            .doc("The EKS access policy, such as arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy.").required().force_new(),
        Attr::new(
            "access_scope",
            Kind::Object(&[
                Attr::new("type", Kind::Enum(&["cluster", "namespace"])).required(),
                Attr::new("namespaces", Kind::Set(&Kind::String)).default(Default::EmptyList),
            ]),
        )
            .doc("Over the whole cluster or some namespaces.")
        .required(),
    ],
    exports: &["id"],
    taggable: false,
    check: Some(check),
    id_format: "CLUSTER#PRINCIPAL_ARN#POLICY_ARN",
    ..TypeSchema::BASE
};

pub fn check(attrs: &Map<String, Value>) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(arn) = attrs.get("policy_arn")
        && reference::is_known(arn)
        && !arn.as_str().is_some_and(|a| a.starts_with("arn:aws") && a.contains(POLICY_PREFIX))
    {
        out.push(Finding {
            lint: None,
            pointer: "/policy_arn".into(),
            message: format!(
                "`{}` is not an EKS access policy",
                arn.as_str().unwrap_or_default()
            ),
            hint: Some(
                "EKS access policies are AWS's, for example arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy (an IAM policy ARN does not work here)"
                    .into(),
            ),
        });
    }
    let scope = attrs.get("access_scope");
    let ty = scope.and_then(|s| s.get("type")).and_then(Value::as_str).unwrap_or("");
    let namespaces =
        scope.and_then(|s| s.get("namespaces")).and_then(Value::as_array).map_or(0, Vec::len);
    if ty == "namespace" && namespaces == 0 {
        out.push(Finding {
            lint: None,
            pointer: "/access_scope/namespaces".into(),
            message: "a namespace scope needs at least one namespace".into(),
            hint: Some("list them: namespaces: [game] (or use type: cluster)".into()),
        });
    }
    if ty == "cluster" && namespaces > 0 {
        out.push(Finding {
            lint: None,
            pointer: "/access_scope/namespaces".into(),
            message: "a cluster scope takes no namespaces".into(),
            hint: Some("use type: namespace to limit the policy to these namespaces".into()),
        });
    }
    out
}
