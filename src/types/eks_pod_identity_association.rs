//! `eks_pod_identity_association`: EKS Pod Identity, the other way for pods to
//! take an IAM role: one service account of one namespace gets one role, with
//! no OIDC provider and no annotation. The cluster runs the
//! `eks-pod-identity-agent` add-on; the role trusts `pods.eks.amazonaws.com`
//! (`assume_role_service: pods.eks.amazonaws.com`, which also needs
//! `sts:TagSession`: infra's shorthand grants it). The role changes in place.

use super::schema::{Attr, Kind, TypeSchema};

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "eks_pod_identity_association",
    attrs: &[
        Attr::new("cluster_name", Kind::String)
            .required()
            .force_new(),
        Attr::new("namespace", Kind::String).required().force_new(),
        Attr::new("service_account", Kind::String)
            .required()
            .force_new(),
        Attr::new("role_arn", Kind::String).required(),
    ],
    exports: &["id", "arn", "association_id"],
    ..TypeSchema::BASE
};
