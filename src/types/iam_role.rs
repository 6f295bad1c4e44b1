//! `iam_role`: a role with its trust policy, managed policies and inline policies.
//! Policy documents are compared by meaning (src/stack/policy.rs).

use serde_json::{Map, Value};

use super::schema::{Attr, Default, Finding, Kind, NameDefault, Removal, TypeSchema};
use super::{Attrs, policy, reference};

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "iam_role",
    doc: "An IAM role with its trust policy, managed policies and inline policies. Policy documents are compared by meaning.",
    attrs: &[
        Attr::new("name", Kind::String)
            .doc("The role name; <stack>-<name> when unset.").force_new(),
        // Shorthand for a trust policy that lets one service assume the role.
        Attr::new("assume_role_service", Kind::String)
            .on_removal(Removal::Keep)
            .doc("Shorthand trust policy: the AWS service that may take the role (eks.amazonaws.com, ec2.amazonaws.com, pods.eks.amazonaws.com, ...)."),
        // Shorthand for a trust policy that lets one Kubernetes service account
        // take the role through the cluster's OIDC provider (IRSA).
        Attr::new(
            "assume_role_service_account",
            Kind::Object(&[
                Attr::new("namespace", Kind::String).required(),
                Attr::new("name", Kind::String).required(),
                // `${iam_oidc_provider.NAME.arn}`.
                Attr::new("oidc_provider", Kind::String).required(),
            ]),
        )
            .on_removal(Removal::Keep)
            .doc("Shorthand trust policy for IRSA: the namespace and service account allowed, through the cluster's OIDC provider."),
        Attr::new("assume_role_policy", Kind::String)
            .document()
            .on_removal(Removal::Keep)
            .doc("The trust policy, a JSON document, when no shorthand fits."),
        Attr::new("managed_policy_arns", Kind::Set(&Kind::String))
            .doc("Managed policies attached to it.").default(Default::EmptyList),
        Attr::new("inline_policies", Kind::Map(&Kind::String))
            .document()
            .doc("Inline policies by name, each a JSON document.").default(Default::Json("{}")),
        Attr::new("description", Kind::String)
            .doc("What the role is for (up to 1,000 characters).").default(Default::Str("")),
        Attr::new("path", Kind::String)
            .doc("The role's path, such as /service/ (starts and ends with /); / unless set. AWS cannot change it: a new path replaces the role.")
            .default(Default::Str("/")).force_new(),
        Attr::new("max_session_duration", Kind::Int { min: 3600, max: 43200 })
            .doc("How long a session of the role may last, in seconds: 3600 (one hour, AWS's default) to 43200 (12 hours).")
            .default(Default::Int(3600)),
        Attr::new("permissions_boundary", Kind::String)
            .on_removal(Removal::Delete)
            .doc("The ARN of a managed policy (AWS's or the account's own) that bounds what the role may do, whatever its policies allow."),
    ],
    exports: &["id", "name", "arn"],
    name_attr: Some(("name", NameDefault::StackAndName("--"))),
    check: Some(check),
    canonical: Some(canonical),
    risks: Some(risks),
    id_format: "its role name",
    ..TypeSchema::BASE
};

/// The ways to give the trust policy: exactly one.
const TRUST: &[&str] =
    &["assume_role_service", "assume_role_service_account", "assume_role_policy"];

/// A role's path as IAM takes it: `/`, or `/` then names each ending in
/// `/`, printable ASCII, at most 512 characters (IAM API reference,
/// CreateRole `Path`).
pub fn path_ok(path: &str) -> bool {
    path.len() <= 512
        && path.starts_with('/')
        && path.ends_with('/')
        && path.chars().all(|c| ('\u{21}'..='\u{7e}').contains(&c))
        && !path.contains("//")
}

pub fn check(attrs: &Map<String, Value>) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(path) = attrs.get("path").and_then(Value::as_str)
        && !path.contains("${")
        && !path_ok(path)
    {
        out.push(Finding {
            lint: None,
            pointer: "/path".into(),
            message: format!("`{path}` is not an IAM path"),
            hint: Some(
                "a path starts and ends with /, for example /service/ (IAM refuses others)".into(),
            ),
        });
    }
    if let Some(d) = attrs.get("description").and_then(Value::as_str)
        && d.chars().count() > 1000
    {
        out.push(Finding {
            lint: None,
            pointer: "/description".into(),
            message: "a role's description is at most 1,000 characters".into(),
            hint: None,
        });
    }
    let given = TRUST.iter().filter(|k| attrs.contains_key(**k)).count();
    if given != 1 {
        out.push(Finding {
            lint: None,
            pointer: String::new(),
            message: "needs exactly one of `assume_role_service`, `assume_role_service_account` and `assume_role_policy`".into(),
            hint: Some("for example assume_role_service: eks.amazonaws.com".into()),
        });
    }
    let mut docs: Vec<(String, &Value)> = Vec::new();
    if let Some(p) = attrs.get("assume_role_policy") {
        docs.push(("/assume_role_policy".into(), p));
    }
    if let Some(Value::Object(m)) = attrs.get("inline_policies") {
        docs.extend(m.iter().map(|(k, v)| (format!("/inline_policies/{k}"), v)));
    }
    for (pointer, doc) in docs {
        // A document with references is checked once they are known.
        if reference::is_known(doc) && doc.as_str().and_then(policy::normalize).is_none() {
            out.push(Finding {
                lint: None,
                pointer,
                message: "this policy document is not valid JSON".into(),
                hint: Some(
                    "write the policy as a JSON string; a YAML block scalar (|) keeps it readable"
                        .into(),
                ),
            });
        }
    }
    out
}

/// The trust policy from its shorthand, and every document in canonical form.
pub fn canonical(attrs: &mut Map<String, Value>) {
    if let Some(Value::String(service)) = attrs.remove("assume_role_service") {
        attrs.insert("assume_role_policy".into(), Value::String(policy::assume_role(&service)));
    }
    if let Some(Value::Object(account)) = attrs.remove("assume_role_service_account") {
        let field = |k: &str| account.get(k).and_then(Value::as_str).unwrap_or_default();
        attrs.insert(
            "assume_role_policy".into(),
            Value::String(policy::assume_role_with_web_identity(
                field("oidc_provider"),
                field("namespace"),
                field("name"),
            )),
        );
    }
    let norm = |v: &mut Value| {
        if let Value::String(s) = v
            && let Some(n) = policy::normalize(s)
        {
            *s = n;
        }
    };
    if let Some(v) = attrs.get_mut("assume_role_policy") {
        norm(v);
    }
    if let Some(Value::Object(m)) = attrs.get_mut("inline_policies") {
        m.values_mut().for_each(norm);
    }
}

/// IAM that grants more, each line a real grant: a managed policy attached
/// (named), an inline policy that adds or changes statements (a create's
/// empty map is none), a statement allowing every action or every resource,
/// and who may assume the role widened (a principal added, or anyone).
fn risks(before: Option<&Attrs>, after: Option<&Attrs>, updated: bool) -> Vec<String> {
    let Some(after) = after else { return Vec::new() };
    let arns = |m: Option<&Attrs>| -> Vec<String> {
        m.and_then(|m| m.get("managed_policy_arns"))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default()
    };
    let had = arns(before);
    let attached: Vec<String> =
        arns(Some(after)).into_iter().filter(|a| !had.contains(a)).collect();
    let mut out = Vec::new();
    match attached.as_slice() {
        [] => {}
        [one] => out.push(format!("managed policy attached: {one}")),
        many => out.push(format!("managed policies attached: {}", many.join(", "))),
    }
    let docs = |m: Option<&Attrs>| {
        m.and_then(|m| m.get("inline_policies"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    let was = docs(before);
    for (name, doc) in docs(Some(after)) {
        if was.get(&name) == Some(&doc) {
            continue;
        }
        let wide = policy::wildcards(policy::text(&doc));
        let wide = wide.iter().map(|w| format!("; {w}")).collect::<String>();
        out.push(format!("inline policy `{name}` adds or changes statements{wide}"));
    }
    let trust = |m: Option<&Attrs>| {
        m.and_then(|m| m.get("assume_role_policy"))
            .map(|d| policy::principals(policy::text(d)))
            .unwrap_or_default()
    };
    let (was, now) = (trust(before), trust(Some(after)));
    let added: Vec<&String> = now.iter().filter(|p| !was.contains(p)).collect();
    if now.iter().any(|p| p == "*") && !was.iter().any(|p| p == "*") {
        out.push("anyone may assume the role (Principal \"*\")".to_string());
    } else if updated && !added.is_empty() {
        let who: Vec<&str> = added.iter().map(|s| s.as_str()).collect();
        out.push(format!("who may assume the role widens: {}", who.join(", ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attrs(v: Value) -> Attrs {
        let mut m = v.as_object().cloned().unwrap();
        canonical(&mut m);
        m
    }

    #[test]
    fn a_role_made_with_nothing_attached_needs_no_attention() {
        let role = attrs(json!({
            "assume_role_service": "ec2.amazonaws.com",
            "managed_policy_arns": [],
            "inline_policies": {},
        }));
        assert_eq!(risks(None, Some(&role), false), Vec::<String>::new());
    }

    #[test]
    fn each_grant_is_named_and_an_unchanged_one_is_not() {
        let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#;
        let before = attrs(json!({
            "assume_role_service": "ec2.amazonaws.com",
            "managed_policy_arns": ["arn:aws:iam::aws:policy/A"],
            "inline_policies": {"read": doc},
        }));
        let mut after = before.clone();
        after.insert(
            "managed_policy_arns".into(),
            json!(["arn:aws:iam::aws:policy/A", "arn:aws:iam::aws:policy/B"]),
        );
        assert_eq!(
            risks(Some(&before), Some(&after), true),
            vec!["managed policy attached: arn:aws:iam::aws:policy/B"]
        );
        assert_eq!(risks(Some(&before), Some(&before), true), Vec::<String>::new());
        let made = risks(None, Some(&before), false);
        assert_eq!(
            made,
            vec![
                "managed policy attached: arn:aws:iam::aws:policy/A",
                "inline policy `read` adds or changes statements"
            ]
        );
    }

    #[test]
    fn a_wildcard_grant_and_a_wider_trust_are_said_and_narrow_ones_are_not() {
        let star = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
        let role = attrs(
            json!({"assume_role_service": "ec2.amazonaws.com", "inline_policies": {"all": star}}),
        );
        let said = risks(None, Some(&role), false);
        assert!(said.iter().any(|s| s.contains("allows every action")), "{said:?}");
        assert!(said.iter().any(|s| s.contains("on every resource")), "{said:?}");
        let anyone = attrs(
            json!({"assume_role_policy": r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#}),
        );
        assert!(
            risks(None, Some(&anyone), false).iter().any(|s| s.starts_with("anyone may assume"))
        );
        let ec2 = attrs(json!({"assume_role_service": "ec2.amazonaws.com"}));
        let eks = attrs(json!({"assume_role_service": "eks.amazonaws.com"}));
        assert_eq!(
            risks(Some(&ec2), Some(&eks), true),
            vec!["who may assume the role widens: eks.amazonaws.com"]
        );
        assert_eq!(risks(Some(&ec2), Some(&ec2), true), Vec::<String>::new());
    }
}
