//! `kms_key`: a customer-managed KMS key, its key policy compared by meaning.
//! AWS never deletes a key at once: deleting one schedules its deletion after
//! a waiting period (7 to 30 days), and the plan says when it goes.

use serde_json::{Map, Value};

use super::schema::{Attr, Default, Finding, Kind, Removal, TypeSchema};
use super::{AttrsExt, policy, reference};

pub const KEY_SPECS: &[&str] = &[
    "SYMMETRIC_DEFAULT",
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_SECG_P256K1",
    "HMAC_224",
    "HMAC_256",
    "HMAC_384",
    "HMAC_512",
];

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "kms_key",
    doc: "A customer-managed KMS key with its key policy (compared by meaning) and rotation. Deleting one schedules its deletion after a waiting period of 7 to 30 days.",
    attrs: &[
        Attr::new("description", Kind::String)
            .doc("What the key is for (up to 8,192 characters).")
            .default(Default::Str("")),
        Attr::new("policy", Kind::String)
            .document()
            .on_removal(Removal::Keep)
            .doc("The key policy, a JSON document; AWS's default policy (the account's root may use the key) when unset. Removing it leaves the policy in force as it is: a key always has one."),
        Attr::new("enable_key_rotation", Kind::Bool)
            .doc("Whether KMS rotates the key material (symmetric keys only).")
            .default(Default::Bool(false)),
        Attr::new("rotation_period_in_days", Kind::Int { min: 90, max: 2560 })
            .on_removal(Removal::Keep)
            .doc("Days between automatic rotations, 90 to 2560 (AWS's default 365), with enable_key_rotation.")
            .kept_if_unreported(),
        Attr::new("deletion_window_in_days", Kind::Int { min: 7, max: 30 })
            .doc("Days KMS waits, after a destroy or replacement, before the key is deleted: 7 to 30. Until then the deletion can be cancelled.")
            .default(Default::Int(30))
            .local(),
        Attr::new("is_enabled", Kind::Bool)
            .doc("Whether the key may be used (DisableKey when false).")
            .default(Default::Bool(true)),
        Attr::new("key_usage", Kind::Enum(&["ENCRYPT_DECRYPT", "SIGN_VERIFY", "GENERATE_VERIFY_MAC"]))
            .doc("What the key does: ENCRYPT_DECRYPT (default), SIGN_VERIFY or GENERATE_VERIFY_MAC (replace).")
            .default(Default::Str("ENCRYPT_DECRYPT"))
            .force_new(),
        Attr::new("key_spec", Kind::Enum(KEY_SPECS))
            .doc("The kind of key: SYMMETRIC_DEFAULT (AES-256, default), RSA_*, ECC_* or HMAC_* (replace).")
            .default(Default::Str("SYMMETRIC_DEFAULT"))
            .force_new(),
        Attr::new("multi_region", Kind::Bool)
            .doc("Whether the key is a multi-Region primary key; off unless set (replace).")
            .default(Default::Bool(false))
            .force_new(),
    ],
    exports: &["id", "key_id", "arn"],
    check: Some(check),
    canonical: Some(canonical),
    deletion: Some(deletion),
    id_format: "its key id (a UUID)",
    ..TypeSchema::BASE
};

pub fn check(attrs: &Map<String, Value>) -> Vec<Finding> {
    let mut out = Vec::new();
    let finding = |pointer: &str, message: String, hint: Option<&str>| Finding {
        lint: None,
        pointer: pointer.into(),
        message,
        hint: hint.map(str::to_string),
    };
    if attrs.opt_str("description").is_some_and(|d| d.chars().count() > 8192) {
        out.push(finding(
            "/description",
            "a key's description is at most 8,192 characters".into(),
            None,
        ));
    }
    if let Some(doc) = attrs.get("policy")
        && reference::is_known(doc)
    {
        match doc.as_str().and_then(policy::normalize) {
            None => out.push(finding(
                "/policy",
                "this key policy is not valid JSON".into(),
                Some(
                    "write the policy as a JSON string; a YAML block scalar (|) keeps it readable",
                ),
            )),
            // KMS CreateKey: a key policy is at most 32 KB.
            Some(_) if doc.as_str().is_some_and(|d| d.len() > 32 * 1024) => {
                out.push(finding("/policy", "a key policy is at most 32 KB".into(), None))
            }
            Some(_) => {}
        }
    }
    let spec = attrs.opt_str("key_spec").unwrap_or("SYMMETRIC_DEFAULT");
    let usage = attrs.opt_str("key_usage").unwrap_or("ENCRYPT_DECRYPT");
    // KMS rotates only symmetric encryption keys (KMS Developer Guide,
    // "Rotating AWS KMS keys").
    if attrs.opt_bool("enable_key_rotation") == Some(true) && spec != "SYMMETRIC_DEFAULT" {
        out.push(finding(
            "/enable_key_rotation",
            format!("KMS rotates only symmetric encryption keys, not {spec} keys"),
            Some("leave enable_key_rotation out, or use key_spec SYMMETRIC_DEFAULT"),
        ));
    }
    if attrs.contains_key("rotation_period_in_days")
        && attrs.opt_bool("enable_key_rotation") != Some(true)
    {
        out.push(finding(
            "/rotation_period_in_days",
            "a rotation period needs enable_key_rotation: true".into(),
            None,
        ));
    }
    // Which usages each spec takes (KMS CreateKey, KeyUsage).
    let fits = match spec {
        "SYMMETRIC_DEFAULT" => usage == "ENCRYPT_DECRYPT",
        s if s.starts_with("HMAC") => usage == "GENERATE_VERIFY_MAC",
        s if s.starts_with("RSA") => usage != "GENERATE_VERIFY_MAC",
        _ => usage == "SIGN_VERIFY",
    };
    if !fits {
        out.push(finding(
            "/key_usage",
            format!("a {spec} key cannot be used for {usage}"),
            Some("SYMMETRIC_DEFAULT keys encrypt, HMAC keys make MACs, ECC keys sign, RSA keys encrypt or sign"),
        ));
    }
    out
}

/// The policy in canonical form.
pub fn canonical(attrs: &mut Map<String, Value>) {
    if let Some(Value::String(s)) = attrs.get_mut("policy")
        && let Some(n) = policy::normalize(s)
    {
        *s = n;
    }
}

/// What deleting a key means: KMS schedules it, and it goes after the window.
fn deletion(before: &Map<String, Value>) -> String {
    let days = before.get("deletion_window_in_days").and_then(Value::as_i64).unwrap_or(30);
    format!(
        "KMS schedules its deletion: the key goes {days} days after it is deleted here, and what it encrypted can no longer be read; until then `aws kms cancel-key-deletion` keeps it"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn rotation_and_usage_follow_the_key_spec() {
        let ok = map(json!({"enable_key_rotation": true, "key_spec": "SYMMETRIC_DEFAULT"}));
        assert!(check(&ok).is_empty());
        let rsa = map(
            json!({"enable_key_rotation": true, "key_spec": "RSA_2048", "key_usage": "SIGN_VERIFY"}),
        );
        assert_eq!(check(&rsa).len(), 1);
        let hmac = map(json!({"key_spec": "HMAC_256", "key_usage": "ENCRYPT_DECRYPT"}));
        assert_eq!(check(&hmac)[0].pointer, "/key_usage");
        let period = map(json!({"rotation_period_in_days": 180}));
        assert_eq!(check(&period)[0].pointer, "/rotation_period_in_days");
    }

    #[test]
    fn deletion_names_the_window() {
        assert!(deletion(&map(json!({"deletion_window_in_days": 7}))).contains("7 days"));
        assert!(deletion(&Map::new()).contains("30 days"));
    }
}
