//! `kms_alias`: a friendly name (`alias/...`) for a KMS key, moved from one
//! key to another in place.

use serde_json::{Map, Value};

use super::AttrsExt;
use super::schema::{Attr, Finding, Kind, NameDefault, TypeSchema};

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "kms_alias",
    doc: "A name (alias/...) for a KMS key; moved to another key in place.",
    attrs: &[
        Attr::new("name", Kind::String)
            .doc("The alias, alias/ then letters, digits, /, _ and - (not alias/aws/, which AWS keeps for its own keys; replace).")
            .required()
            .force_new(),
        Attr::new("target_key_id", Kind::String)
            .doc("The key it names: its id or ARN, such as ${kms_key.secrets.arn}.")
            .required(),
    ],
    exports: &["id", "arn", "target_key_arn"],
    taggable: false,
    name_attr: Some(("name", NameDefault::Required)),
    check: Some(check),
    canonical: Some(canonical),
    id_format: "its name, alias/…",
    ..TypeSchema::BASE
};

/// An alias name as KMS takes it (KMS CreateAlias, `AliasName`): `alias/`,
/// then 1 to 250 of `a-zA-Z0-9/_-`, never `alias/aws/`.
pub fn check(attrs: &Map<String, Value>) -> Vec<Finding> {
    let Some(name) = attrs.opt_str("name").filter(|n| !n.contains("${")) else {
        return Vec::new();
    };
    let rest = name.strip_prefix("alias/");
    let problem = match rest {
        None => Some(format!("`{name}` does not start with alias/")),
        Some(r) if r.starts_with("aws/") => {
            Some(format!("`{name}`: alias/aws/ is kept for AWS's own keys"))
        }
        Some(r) if r.is_empty() || name.len() > 256 => {
            Some(format!("`{name}` is not 7 to 256 characters"))
        }
        Some(r) if !r.chars().all(|c| c.is_ascii_alphanumeric() || "/_-".contains(c)) => {
            Some(format!("`{name}` holds characters KMS refuses"))
        }
        _ => None,
    };
    problem
        .map(|message| Finding {
            lint: None,
            pointer: "/name".into(),
            message,
            hint: Some("for example alias/platform-secrets".into()),
        })
        .into_iter()
        .collect()
}

/// The target as the key id KMS reports, whether the stack gave the id or
/// the key's ARN (`arn:aws:kms:REGION:ACCOUNT:key/ID`).
pub fn canonical(attrs: &mut Map<String, Value>) {
    if let Some(Value::String(target)) = attrs.get_mut("target_key_id")
        && target.starts_with("arn:")
        && let Some((_, id)) = target.rsplit_once(":key/")
    {
        *target = id.to_string();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_follow_kms_rules() {
        let check_name = |n: &str| check(json!({"name": n}).as_object().unwrap()).len();
        assert_eq!(check_name("alias/platform-secrets"), 0);
        assert_eq!(check_name("platform"), 1);
        assert_eq!(check_name("alias/aws/ebs"), 1);
        assert_eq!(check_name("alias/with space"), 1);
    }

    #[test]
    fn a_key_arn_is_its_id() {
        let mut m = json!({"target_key_id": "arn:aws:kms:eu-west-1:123456789012:key/abcd-1234"})
            .as_object()
            .cloned()
            .unwrap();
        canonical(&mut m);
        assert_eq!(m["target_key_id"], "abcd-1234");
    }
}
