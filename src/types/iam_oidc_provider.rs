//! `iam_oidc_provider`: the IAM OpenID Connect provider that lets pods of an EKS
//! cluster take IAM roles (IRSA): its `url` is the cluster's issuer
//! (`${eks_cluster.main.oidc_issuer}`). No thumbprint is needed: IAM fetches
//! it (and trusts EKS's issuers by their certificate authority) when none is
//! given. Client ids and tags change in place.

use serde_json::{Map, Value};

use super::schema::{Attr, Default, Kind, Removal, TypeSchema};

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "iam_oidc_provider",
    doc: "The IAM OpenID Connect provider that lets an EKS cluster's pods take IAM roles (IRSA): its url is the cluster's issuer.",
    attrs: &[
        Attr::new("url", Kind::String)
            .doc("The issuer URL: an EKS cluster's oidc_issuer.")
            .required()
            .force_new(),
        Attr::new("client_ids", Kind::Set(&Kind::String))
            .doc("The audiences it accepts (sts.amazonaws.com for IRSA).")
            .default(Default::Json(r#"["sts.amazonaws.com"]"#)),
        // Left out, IAM fetches it and it is not managed.
        Attr::new("thumbprints", Kind::Set(&Kind::String))
            .on_removal(Removal::Keep)
            .doc("Server certificate thumbprints; IAM fetches them when unset."),
    ],
    // `id` and `arn` are the ARN; `issuer` is the URL without `https://`, as
    // a trust policy's condition keys name it.
    exports: &["id", "arn", "issuer"],
    canonical: Some(canonical),
    id_format: "its ARN (arn:aws:iam::ACCOUNT:oidc-provider/ISSUER)",
    ..TypeSchema::BASE
};

/// IAM answers the URL without its scheme.
pub fn canonical(attrs: &mut Map<String, Value>) {
    if let Some(Value::String(url)) = attrs.get_mut("url")
        && let Some(rest) = url.strip_prefix("https://")
    {
        *url = rest.trim_end_matches('/').to_string();
    }
}
