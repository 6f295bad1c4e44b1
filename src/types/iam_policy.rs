//! `iam_policy`: a customer-managed IAM policy. Its document is compared by
//! meaning; a change makes a new default version, the oldest others pruned
//! so that AWS's limit of five versions is never reached.

use serde_json::{Map, Value};

use super::schema::{Attr, Default, Finding, Kind, NameDefault, Removal, TypeSchema};
use super::{AttrsExt, policy, reference};

/// The most versions IAM keeps of one managed policy (IAM quotas).
pub const MAX_VERSIONS: usize = 5;

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "iam_policy",
    doc: "A customer-managed IAM policy (attach it with an iam_role's managed_policy_arns). A change to its document makes a new default version; older versions are pruned to AWS's limit of five.",
    attrs: &[
        Attr::new("name", Kind::String)
            .doc("The policy name; <stack>-<name> when unset (replace).")
            .force_new(),
        // AWS knows only the name: the prefix is kept as asked.
        Attr::new("name_prefix", Kind::String)
            .on_removal(Removal::Keep)
            .doc("Instead of name: a unique name beginning with this is made at creation (Terraform's name_prefix).")
            .force_new()
            .kept_if_unreported(),
        Attr::new("path", Kind::String)
            .doc("The policy's path, such as /platform/ (starts and ends with /); / unless set (replace).")
            .default(Default::Str("/"))
            .force_new(),
        // IAM has no call that changes a policy's description.
        Attr::new("description", Kind::String)
            .doc("What the policy is for, up to 1,000 characters; IAM cannot change it, so a change replaces the policy.")
            .default(Default::Str(""))
            .force_new(),
        Attr::new("policy", Kind::String)
            .document()
            .doc("The policy document, a JSON string compared by meaning; a change makes a new default version.")
            .required(),
    ],
    exports: &["id", "arn", "name", "policy_id", "default_version_id", "attachment_count"],
    name_attr: Some(("name", NameDefault::StackAndName("--"))),
    check: Some(check),
    canonical: Some(canonical),
    changes_on_update: &["default_version_id"],
    risks: Some(risks),
    id_format: "its ARN",
    ..TypeSchema::BASE
};

/// An IAM path as IAM takes it (a policy's, an instance profile's).
pub fn check_path(attrs: &Map<String, Value>) -> Vec<Finding> {
    match attrs.opt_str("path") {
        Some(path) if !path.contains("${") && !super::iam_role::path_ok(path) => vec![Finding {
            lint: None,
            pointer: "/path".into(),
            message: format!("`{path}` is not an IAM path"),
            hint: Some("a path starts and ends with /, for example /platform/".into()),
        }],
        _ => Vec::new(),
    }
}

pub fn check(attrs: &Map<String, Value>) -> Vec<Finding> {
    let mut out = check_path(attrs);
    if attrs.opt_str("description").is_some_and(|d| d.chars().count() > 1000) {
        out.push(Finding {
            lint: None,
            pointer: "/description".into(),
            message: "a policy's description is at most 1,000 characters".into(),
            hint: None,
        });
    }
    if let Some(doc) = attrs.get("policy")
        && reference::is_known(doc)
    {
        let text = doc.as_str().unwrap_or_default();
        if policy::normalize(text).is_none() {
            out.push(Finding {
                lint: None,
                pointer: "/policy".into(),
                message: "this policy document is not valid JSON".into(),
                hint: Some(
                    "write the policy as a JSON string; a YAML block scalar (|) keeps it readable"
                        .into(),
                ),
            });
        } else if text.chars().filter(|c| !c.is_whitespace()).count() > 6144 {
            // IAM quotas: a managed policy is at most 6,144 characters,
            // white space not counted.
            out.push(Finding {
                lint: None,
                pointer: "/policy".into(),
                message: "a managed policy is at most 6,144 characters (white space not counted)"
                    .into(),
                hint: Some("split it into two policies".into()),
            });
        }
    }
    out
}

/// The document in canonical form.
pub fn canonical(attrs: &mut Map<String, Value>) {
    if let Some(Value::String(s)) = attrs.get_mut("policy")
        && let Some(n) = policy::normalize(s)
    {
        *s = n;
    }
}

/// A changed document changes what every role it is attached to may do;
/// a statement that allows every action or every resource is said, made or
/// changed. An unchanged document says nothing.
fn risks(
    before: Option<&Map<String, Value>>,
    after: Option<&Map<String, Value>>,
    updated: bool,
) -> Vec<String> {
    let doc = |m: Option<&Map<String, Value>>| m.and_then(|m| m.get("policy")).cloned();
    let (was, now) = (doc(before), doc(after));
    if now.is_none() || was == now {
        return Vec::new();
    }
    let mut out = Vec::new();
    if updated {
        out.push("its document changes what every role it is attached to may do".to_string());
    }
    out.extend(policy::wildcards(now.as_ref().map(policy::text).unwrap_or_default()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_wide_grant_is_said_and_a_narrow_or_unchanged_one_is_not() {
        let narrow = json!({"policy": r#"{"Statement":{"Effect":"Allow","Action":"logs:GetLogEvents","Resource":"arn:aws:logs:*:*:log-group:app"}}"#});
        let wide = json!({"policy": r#"{"Statement":{"Effect":"Allow","Action":"iam:PassRole","Resource":"*"}}"#});
        let (n, w) = (narrow.as_object().unwrap(), wide.as_object().unwrap());
        assert!(risks(None, Some(n), false).is_empty());
        assert_eq!(
            risks(None, Some(w), false),
            vec!["statement 1 allows iam:PassRole on every resource"]
        );
        assert!(risks(Some(n), Some(n), true).is_empty());
        assert_eq!(risks(Some(n), Some(w), true).len(), 2);
    }
}
