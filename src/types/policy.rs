//! IAM policy documents compared by meaning: keys sorted, lists as sets, and a
//! one-element list the same as its element. Pure.

use serde_json::Value;

/// A document's text: the string it is, or, known only after apply, its
/// template (the `${...}` in it sit inside JSON strings, so it parses).
pub fn text(v: &Value) -> &str {
    v.as_str().or_else(|| super::reference::unknown(v)).unwrap_or_default()
}

/// What a document's Allow statements grant too widely, one phrase each:
/// `statement 1 allows every action` (`*`, or a service's `s3:*` is not
/// counted), `statement 2 allows iam:PassRole on every resource`. Deny
/// statements narrow, never widen.
pub fn wildcards(doc: &str) -> Vec<String> {
    let Ok(v) = serde_json::from_str::<Value>(doc) else { return Vec::new() };
    let statements = match v.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(one) => vec![one.clone()],
        None => Vec::new(),
    };
    let list = |s: &Value, k: &str| -> Vec<String> {
        match s.get(k) {
            Some(Value::Array(a)) => {
                a.iter().filter_map(Value::as_str).map(str::to_string).collect()
            }
            Some(Value::String(x)) => vec![x.clone()],
            _ => Vec::new(),
        }
    };
    let mut out = Vec::new();
    for (i, s) in statements.iter().enumerate() {
        if s.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        let n = i + 1;
        let actions = list(s, "Action");
        if actions.iter().any(|a| a == "*") || s.get("NotAction").is_some() {
            out.push(format!("statement {n} allows every action"));
        }
        if list(s, "Resource").iter().any(|r| r == "*") || s.get("NotResource").is_some() {
            let what = match actions.as_slice() {
                [one] if one != "*" => one.clone(),
                [] | [_] => "it".to_string(),
                many => format!("{} actions", many.len()),
            };
            out.push(format!("statement {n} allows {what} on every resource"));
        }
    }
    out
}

/// Who a trust policy lets assume the role: each principal it allows (a
/// service, an account, a federated provider), `*` for anyone.
pub fn principals(doc: &str) -> Vec<String> {
    let Ok(v) = serde_json::from_str::<Value>(doc) else { return Vec::new() };
    let statements = match v.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(one) => vec![one.clone()],
        None => Vec::new(),
    };
    let mut out = Vec::new();
    for s in statements.iter().filter(|s| s.get("Effect").and_then(Value::as_str) == Some("Allow"))
    {
        match s.get("Principal") {
            Some(Value::String(p)) => out.push(p.clone()),
            Some(Value::Object(m)) => {
                for v in m.values() {
                    match v {
                        Value::String(p) => out.push(p.clone()),
                        Value::Array(a) => {
                            out.extend(a.iter().filter_map(Value::as_str).map(str::to_string))
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The canonical text of a policy document, or `None` when it is not JSON.
pub fn normalize(doc: &str) -> Option<String> {
    let v: Value = serde_json::from_str(doc).ok()?;
    Some(canonical(&v).to_string())
}

fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            // Keys sorted, whatever order the map keeps.
            let mut pairs: Vec<(String, Value)> = m
                .iter()
                .map(|(k, v)| match k.as_str() {
                    "Principal" | "NotPrincipal" => (k.clone(), principal(v)),
                    _ => (k.clone(), canonical(v)),
                })
                .collect();
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(pairs.into_iter().collect())
        }
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(canonical).collect();
            items.sort_by_key(Value::to_string);
            items.dedup();
            if items.len() == 1 { items.pop().expect("one item") } else { Value::Array(items) }
        }
        other => other.clone(),
    }
}

/// A principal in canonical form. AWS stores an account given by its id
/// (`"123456789012"`) as the account's root ARN
/// (`arn:aws:iam::123456789012:root`), and both mean the account (IAM User
/// Guide, "AWS JSON policy elements: Principal"): the root ARN of any
/// partition is written as the bare id, so the two compare equal.
fn principal(v: &Value) -> Value {
    let Value::Object(m) = v else {
        return canonical(v);
    };
    let account = |s: &Value| match s.as_str().and_then(root_account) {
        Some(id) => Value::String(id.to_string()),
        None => s.clone(),
    };
    let m: serde_json::Map<String, Value> = m
        .iter()
        .map(|(k, v)| match (k.as_str(), v) {
            ("AWS", Value::Array(items)) => {
                (k.clone(), Value::Array(items.iter().map(account).collect()))
            }
            ("AWS", one) => (k.clone(), account(one)),
            _ => (k.clone(), v.clone()),
        })
        .collect();
    canonical(&Value::Object(m))
}

/// The account of `arn:PARTITION:iam::ACCOUNT:root`.
fn root_account(arn: &str) -> Option<&str> {
    let rest = arn.strip_prefix("arn:")?;
    let (_partition, rest) = rest.split_once(":iam::")?;
    let id = rest.strip_suffix(":root")?;
    (id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())).then_some(id)
}

/// The trust policy that lets one AWS service assume a role.
pub fn assume_role(service: &str) -> String {
    // EKS Pod Identity also tags the session with the pod's attributes.
    let action = if service == "pods.eks.amazonaws.com" {
        serde_json::json!(["sts:AssumeRole", "sts:TagSession"])
    } else {
        serde_json::json!("sts:AssumeRole")
    };
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": action}]
    })
    .to_string()
}

/// The trust policy that lets one Kubernetes service account take a role
/// through the cluster's IAM OIDC provider (IRSA): the web identity must come
/// from that provider, for that service account (`sub`), for STS (`aud`). The
/// condition keys are the provider's issuer, its ARN after `oidc-provider/`;
/// an ARN not known yet (a reference) leaves the document unknown until apply.
pub fn assume_role_with_web_identity(provider_arn: &str, namespace: &str, name: &str) -> String {
    let issuer =
        provider_arn.split_once(":oidc-provider/").map_or(provider_arn, |(_, issuer)| issuer);
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                format!("{issuer}:sub"): format!("system:serviceaccount:{namespace}:{name}"),
                format!("{issuer}:aud"): "sts.amazonaws.com",
            }}
        }]
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_account_trust_names_the_issuer_the_account_and_sts() {
        let arn =
            "arn:aws:iam::123456789012:oidc-provider/oidc.eks.ap-northeast-1.amazonaws.com/id/ABC";
        let doc: serde_json::Value = serde_json::from_str(&assume_role_with_web_identity(
            arn,
            "kube-system",
            "aws-load-balancer-controller",
        ))
        .unwrap();
        let st = &doc["Statement"][0];
        assert_eq!(st["Principal"]["Federated"], arn);
        assert_eq!(st["Action"], "sts:AssumeRoleWithWebIdentity");
        let eq = &st["Condition"]["StringEquals"];
        assert_eq!(
            eq["oidc.eks.ap-northeast-1.amazonaws.com/id/ABC:sub"],
            "system:serviceaccount:kube-system:aws-load-balancer-controller"
        );
        assert_eq!(eq["oidc.eks.ap-northeast-1.amazonaws.com/id/ABC:aud"], "sts.amazonaws.com");
    }

    #[test]
    fn an_account_id_principal_is_the_accounts_root_arn() {
        let given = r#"{"Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::b/*", "Principal": {"AWS": "123456789012"}}]}"#;
        let stored = r#"{"Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::b/*", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}}]}"#;
        assert_eq!(normalize(given), normalize(stored));
        let two = given.replace(
            "\"123456789012\"",
            "[\"123456789012\", \"arn:aws-cn:iam::210987654321:root\"]",
        );
        let two_stored = stored.replace(
            "\"arn:aws:iam::123456789012:root\"",
            "[\"210987654321\", \"arn:aws:iam::123456789012:root\"]",
        );
        assert_eq!(normalize(&two), normalize(&two_stored));
        // Another account, a user, or the id outside a principal differ.
        let other = stored.replace("123456789012:root", "123456789099:root");
        assert_ne!(normalize(given), normalize(&other));
        let user = stored.replace(":root", ":user/ops");
        assert_ne!(normalize(given), normalize(&user));
        let resource = given.replace("arn:aws:s3:::b/*", "arn:aws:iam::123456789012:root");
        assert!(normalize(&resource).unwrap().contains("arn:aws:iam::123456789012:root"));
    }

    #[test]
    fn whitespace_order_and_single_lists_do_not_matter() {
        let a = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Action": ["s3:PutObject", "s3:GetObject"], "Resource": ["arn:aws:s3:::b/*"]}]}"#;
        let b = r#"{"Statement":{"Resource":"arn:aws:s3:::b/*","Action":["s3:GetObject","s3:PutObject"],"Effect":"Allow"},"Version":"2012-10-17"}"#;
        assert_eq!(normalize(a), normalize(b));
        let c = b.replace("s3:GetObject", "s3:DeleteObject");
        assert_ne!(normalize(a), normalize(&c));
        assert_eq!(normalize("not json"), None);
    }
}
