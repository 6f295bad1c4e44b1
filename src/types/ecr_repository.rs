//! `ecr_repository`: a container image repository, scanned on push by default.

use serde_json::{Map, Value, json};

use super::policy;
use super::schema::{Attr, Default, Finding, Kind, NameDefault, Removal, TypeSchema};

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "ecr_repository",
    doc: "An ECR container image repository, scanned on push by default.",
    attrs: &[
        Attr::new("name", Kind::String)
            .doc("The repository name; <stack>-<name> when unset.")
            .force_new(),
        Attr::new("image_tag_mutability", Kind::Enum(&["MUTABLE", "IMMUTABLE"]))
            .doc("MUTABLE, or IMMUTABLE so a tag cannot be pushed twice.")
            .default(Default::Str("MUTABLE")),
        Attr::new("scan_on_push", Kind::Bool)
            .doc("Whether images are scanned for vulnerabilities when pushed.")
            .default(Default::Bool(true)),
        // Shorthand for a lifecycle policy that expires all but the newest N images.
        Attr::new("keep_last_images", Kind::Int { min: 1, max: 100_000 })
            .on_removal(Removal::Delete)
            .doc("Shorthand for a lifecycle policy that expires all but the newest N images."),
        Attr::new("lifecycle_policy", Kind::String)
            .document()
            .on_removal(Removal::Delete)
            .doc("The lifecycle policy, a JSON document."),
        Attr::new("repository_policy", Kind::String)
            .document()
            .on_removal(Removal::Delete)
            .doc("The repository policy, a JSON document; compared by meaning."),
        Attr::new("encryption", Kind::Enum(&["AES256", "KMS"]))
            .doc("AES256 or KMS.")
            .default(Default::Str("AES256"))
            .force_new(),
        Attr::new("kms_key", Kind::String)
            .on_removal(Removal::Keep)
            .doc("The KMS key, with encryption KMS.")
            .force_new(),
        Attr::new("force_destroy", Kind::Bool)
            .doc("Whether destroy deletes the images first (kept in state only).")
            .default(Default::Bool(false))
            .local(),
    ],
    exports: &["id", "name", "arn", "url"],
    name_attr: Some(("name", NameDefault::StackAndName("."))),
    check: Some(check),
    canonical: Some(canonical),
    id_format: "its repository name",
    ..TypeSchema::BASE
};

pub fn check(attrs: &Map<String, Value>) -> Vec<Finding> {
    if attrs.contains_key("keep_last_images") && attrs.contains_key("lifecycle_policy") {
        return vec![Finding {
            lint: None,
            pointer: "/keep_last_images".into(),
            message: "`keep_last_images` and `lifecycle_policy` both set the lifecycle policy"
                .into(),
            hint: Some("keep one of them".into()),
        }];
    }
    Vec::new()
}

/// The lifecycle policy from its shorthand, and both policies in canonical form
/// (for comparing; AWS is sent the expanded text, see `expand`).
pub fn canonical(attrs: &mut Map<String, Value>) {
    expand(attrs);
    for key in ["lifecycle_policy", "repository_policy"] {
        if let Some(Value::String(p)) = attrs.get_mut(key)
            && let Some(n) = policy::normalize(p)
        {
            *p = n;
        }
    }
}

/// The lifecycle policy from its `keep_last_images` shorthand.
pub fn expand(attrs: &mut Map<String, Value>) {
    // The shorthand no longer set (`null`): the policy it made is removed,
    // unless the stack sets one of its own.
    if attrs.get("keep_last_images").is_some_and(Value::is_null) {
        attrs.remove("keep_last_images");
        attrs.entry("lifecycle_policy").or_insert(Value::Null);
    }
    if let Some(n) = attrs.remove("keep_last_images").and_then(|n| n.as_i64()) {
        let policy = json!({"rules": [{
            "rulePriority": 1,
            "description": format!("keep the last {n} images"),
            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": n},
            "action": {"type": "expire"},
        }]});
        attrs.insert("lifecycle_policy".into(), Value::String(policy.to_string()));
    }
}
