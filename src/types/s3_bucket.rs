//! `s3_bucket`: a bucket with safe defaults (public access blocked, encryption on).

use serde_json::Value;

use super::schema::{Attr, Default, Finding, Kind, NameDefault, Removal, TypeSchema};

const LIFECYCLE_RULE: Kind = Kind::Object(&[
    Attr::new("id", Kind::String).required(),
    Attr::new("prefix", Kind::String).default(Default::Str("")),
    Attr::new("enabled", Kind::Bool).default(Default::Bool(true)),
    Attr::new("expiration_days", Kind::Int { min: 1, max: 36_500 }),
    Attr::new("noncurrent_expiration_days", Kind::Int { min: 1, max: 36_500 }),
    Attr::new(
        "transitions",
        Kind::List(&Kind::Object(&[
            Attr::new("days", Kind::Int { min: 0, max: 36_500 }).required(),
            Attr::new(
                "storage_class",
                Kind::Enum(&[
                    "STANDARD_IA",
                    "ONEZONE_IA",
                    "INTELLIGENT_TIERING",
                    "GLACIER",
                    "GLACIER_IR",
                    "DEEP_ARCHIVE",
                ]),
            )
            .required(),
        ])),
    ),
]);

const CORS_RULE: Kind = Kind::Object(&[
    Attr::new("allowed_methods", Kind::Set(&Kind::Enum(&["GET", "PUT", "POST", "DELETE", "HEAD"])))
        .required(),
    Attr::new("allowed_origins", Kind::Set(&Kind::String)).required(),
    Attr::new("allowed_headers", Kind::Set(&Kind::String)),
    Attr::new("expose_headers", Kind::Set(&Kind::String)),
    Attr::new("max_age_seconds", Kind::Int { min: 0, max: 86_400 }),
]);

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "s3_bucket",
    doc: "An S3 bucket with safe defaults: public access blocked, encryption on, object ownership enforced.",
    attrs: &[
        Attr::new("name", Kind::String)
            .doc("The bucket's globally unique name; <stack>-<name> when unset.").force_new(),
        Attr::new("versioning", Kind::Bool)
            .doc("Whether objects keep their earlier versions.").default(Default::Bool(false)),
        Attr::new("encryption", Kind::Enum(&["AES256", "aws:kms"]))
            .doc("Default encryption: AES256 (SSE-S3) or aws:kms.").default(Default::Str("AES256")),
        // With `encryption: aws:kms`: the key (left out, the AWS managed key).
        Attr::new("kms_key_id", Kind::String)
            .on_removal(Removal::Delete)
            .doc("The KMS key, with encryption aws:kms."),
        Attr::new("lifecycle_rules", Kind::List(&LIFECYCLE_RULE))
            .on_removal(Removal::Delete)
            .doc("Lifecycle rules: expiry and transitions by prefix."),
        Attr::new("cors_rules", Kind::List(&CORS_RULE))
            .on_removal(Removal::Delete)
            .doc("CORS rules for browsers."),
        // JSON, compared by meaning.
        Attr::new("policy", Kind::String)
            .document()
            .on_removal(Removal::Delete)
            .doc("The bucket policy, a JSON document; compared by meaning."),
        // ACLs off: the bucket owner owns every object (AWS's default since 2023).
        Attr::new(
            "object_ownership",
            Kind::Enum(&[
                "BucketOwnerEnforced",
                "BucketOwnerPreferred",
                "ObjectWriter",
            ]),
        )
            .doc("Object ownership; BucketOwnerEnforced turns ACLs off.")
        .default(Default::Str("BucketOwnerEnforced")),
        Attr::new("public_access_block", Kind::Bool)
            .doc("Whether all four public access blocks are on.").default(Default::Bool(true)),
        Attr::new("force_destroy", Kind::Bool)
            .doc("Whether destroy deletes the objects first (kept in state only; without it a bucket that holds objects is left in place).")
            .default(Default::Bool(false))
            .local(),
    ],
    exports: &["id", "name", "arn"],
    name_attr: Some(("name", NameDefault::StackAndName("--"))),
    lint: Some(lint),
    canonical: Some(canonical),
    id_format: "its bucket name",
    ..TypeSchema::BASE
};

pub fn lint(attrs: &serde_json::Map<String, serde_json::Value>) -> Vec<Finding> {
    if attrs.get("public_access_block") == Some(&serde_json::Value::Bool(false)) {
        vec![Finding {
            lint: Some(crate::types::lint::Lint::PublicBucket),
            pointer: "/public_access_block".into(),
            message: "the bucket's public access block is off".into(),
            hint: Some(
                "keep public_access_block: true unless the bucket must serve the public".into(),
            ),
        }]
    } else {
        Vec::new()
    }
}

/// The policy in canonical form (compared by meaning).
pub fn canonical(attrs: &mut serde_json::Map<String, Value>) {
    if let Some(Value::String(p)) = attrs.get_mut("policy")
        && let Some(n) = super::policy::normalize(p)
    {
        *p = n;
    }
}
