//! `eks_pod_identity_association`: EKS Pod Identity, the other way for pods to
//! take an IAM role: one service account of one namespace gets one role, with
//! no OIDC provider and no annotation. The cluster runs the
//! `eks-pod-identity-agent` add-on; the role trusts `pods.eks.amazonaws.com`
//! (`assume_role_service: pods.eks.amazonaws.com`, which also needs
//! `sts:TagSession`: infra's shorthand grants it). The role changes in place.

use super::schema::{Attr, Kind, TypeSchema};

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "eks_pod_identity_association",
    doc: "EKS Pod Identity: one service account of one namespace takes one IAM role, with no OIDC provider (the cluster runs the eks-pod-identity-agent add-on).",
    attrs: &[
        Attr::new("cluster_name", Kind::String).doc("The cluster.").required().force_new(),
        Attr::new("namespace", Kind::String)
            .doc("The namespace of the service account.")
            .required()
            .force_new(),
        Attr::new("service_account", Kind::String)
            .doc("The service account whose pods take the role.")
            .required()
            .force_new(),
        Attr::new("role_arn", Kind::String)
            .doc("The role (trusting pods.eks.amazonaws.com).")
            .required(),
    ],
    exports: &["id", "arn", "association_id"],
    id_format: "CLUSTER:ASSOCIATION_ID (its a-… id)",
    ..TypeSchema::BASE
};
