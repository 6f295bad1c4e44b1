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
            .on_removal(Removal::Keep)
            .doc("The trust policy, a JSON document, when no shorthand fits."),
        Attr::new("managed_policy_arns", Kind::Set(&Kind::String))
            .doc("Managed policies attached to it.").default(Default::EmptyList),
        Attr::new("inline_policies", Kind::Map(&Kind::String))
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

/// IAM that grants more: a managed policy attached, an inline policy added
/// or changed, who may assume the role changed (in an update).
fn risks(before: Option<&Attrs>, after: Option<&Attrs>, updated: bool) -> Vec<String> {
    let added = |k: &str| -> Vec<String> {
        let get = |m: Option<&Attrs>| m.and_then(|m| m.get(k)).cloned().unwrap_or(Value::Null);
        match (get(before), get(after)) {
            (Value::Array(o), Value::Array(n)) => {
                n.iter().filter(|x| !o.contains(x)).map(|x| x.to_string()).collect()
            }
            (Value::Object(o), Value::Object(n)) => {
                n.iter().filter(|(k, v)| o.get(*k) != Some(*v)).map(|(k, _)| k.clone()).collect()
            }
            (o, n) if o != n && !n.is_null() => vec![k.to_string()],
            _ => Vec::new(),
        }
    };
    let mut out: Vec<String> = added("managed_policy_arns")
        .into_iter()
        .map(|p| format!("managed policy attached: {p}"))
        .collect();
    out.extend(
        added("inline_policies")
            .into_iter()
            .map(|p| format!("inline policy `{p}` adds or changes statements")),
    );
    if updated && !added("assume_role_policy").is_empty() {
        out.push("who may assume the role changes".to_string());
    }
    out
}
