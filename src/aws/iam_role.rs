//! `iam_role`: a role with its trust policy, managed policies and inline policies.
//! Policy documents are compared by meaning (src/stack/policy.rs).

use std::collections::{BTreeMap, HashMap};

use aws_sdk_iam::types::Tag;
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value, json};

use super::vpc::into_map;
use super::{Attrs, Aws, Provider, Result, aws_error, code, s, tag_changes, tags, tags_value};
use crate::stack::policy;
use crate::stack::reference;
use crate::stack::schema::{Attr, Default, Finding, Kind, NameDefault, TypeSchema};

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "iam_role",
    attrs: &[
        Attr::new("name", Kind::String).force_new(),
        // Shorthand for a trust policy that lets one service assume the role.
        Attr::new("assume_role_service", Kind::String),
        Attr::new("assume_role_policy", Kind::String),
        Attr::new("managed_policy_arns", Kind::Set(&Kind::String)).default(Default::EmptyList),
        Attr::new("inline_policies", Kind::Map(&Kind::String)).default(Default::Json("{}")),
    ],
    exports: &["id", "name", "arn"],
    name_attr: Some(("name", NameDefault::StackAndName)),
    check: Some(check),
    canonical: Some(canonical),
    ..TypeSchema::BASE
};

fn check(attrs: &Map<String, Value>) -> Vec<Finding> {
    let mut out = Vec::new();
    let given = ["assume_role_service", "assume_role_policy"]
        .iter()
        .filter(|k| attrs.contains_key(**k))
        .count();
    if given != 1 {
        out.push(Finding {
            pointer: String::new(),
            message: "needs exactly one of `assume_role_service` and `assume_role_policy`".into(),
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
        attrs.insert(
            "assume_role_policy".into(),
            Value::String(policy::assume_role(&service)),
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

fn decode(doc: &str) -> String {
    percent_decode_str(doc).decode_utf8_lossy().into_owned()
}

pub struct IamRole;

impl Provider for IamRole {
    async fn read(aws: &Aws, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let mut out = HashMap::new();
        for name in ids {
            let role = match aws.iam.get_role().role_name(name).send().await {
                Ok(r) => r,
                Err(e) if code(&e) == "NoSuchEntity" => continue,
                Err(e) => return Err(aws_error("GetRole", e)),
            };
            let Some(role) = role.role() else { continue };
            let attached = aws
                .iam
                .list_attached_role_policies()
                .role_name(name)
                .send()
                .await
                .map_err(|e| aws_error("ListAttachedRolePolicies", e))?;
            let inline_names = aws
                .iam
                .list_role_policies()
                .role_name(name)
                .send()
                .await
                .map_err(|e| aws_error("ListRolePolicies", e))?;
            let mut inline = BTreeMap::new();
            for p in inline_names.policy_names() {
                let doc = aws
                    .iam
                    .get_role_policy()
                    .role_name(name)
                    .policy_name(p)
                    .send()
                    .await
                    .map_err(|e| aws_error("GetRolePolicy", e))?;
                inline.insert(p.clone(), decode(doc.policy_document()));
            }
            let tag_list = aws
                .iam
                .list_role_tags()
                .role_name(name)
                .send()
                .await
                .map_err(|e| aws_error("ListRoleTags", e))?;
            let mut attrs = into_map(json!({
                "id": role.role_name(),
                "name": role.role_name(),
                "arn": role.arn(),
                "assume_role_policy": role.assume_role_policy_document().map(decode),
                "managed_policy_arns": attached.attached_policies().iter().filter_map(|p| p.policy_arn()).collect::<Vec<_>>(),
                "inline_policies": inline,
                "tags": tags_value(tag_list.tags().iter().map(|t| (t.key(), t.value()))),
            }));
            canonical(&mut attrs);
            out.insert(name.clone(), attrs);
        }
        Ok(out)
    }

    async fn create(aws: &Aws, attrs: &Attrs) -> Result<String> {
        let mut a = attrs.clone();
        canonical(&mut a);
        let tag_list = tags(&a)
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let out = aws
            .iam
            .create_role()
            .role_name(s(&a, "name"))
            .assume_role_policy_document(s(&a, "assume_role_policy"))
            .set_tags(Some(tag_list))
            .send()
            .await
            .map_err(|e| aws_error("CreateRole", e))?;
        Ok(out
            .role()
            .map(|r| r.role_name().to_string())
            .unwrap_or_default())
    }

    async fn update(aws: &Aws, id: &str, before: &Attrs, after: &Attrs) -> Result<()> {
        let (mut b, mut a) = (before.clone(), after.clone());
        canonical(&mut b);
        canonical(&mut a);
        if b.get("assume_role_policy") != a.get("assume_role_policy") {
            aws.iam
                .update_assume_role_policy()
                .role_name(id)
                .policy_document(s(&a, "assume_role_policy"))
                .send()
                .await
                .map_err(|e| aws_error("UpdateAssumeRolePolicy", e))?;
        }
        let list = |m: &Attrs| -> Vec<String> {
            m.get("managed_policy_arns")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        let (have, want) = (list(&b), list(&a));
        for arn in want.iter().filter(|p| !have.contains(p)) {
            aws.iam
                .attach_role_policy()
                .role_name(id)
                .policy_arn(arn)
                .send()
                .await
                .map_err(|e| aws_error("AttachRolePolicy", e))?;
        }
        for arn in have.iter().filter(|p| !want.contains(p)) {
            detach(aws, id, arn).await?;
        }
        let docs = |m: &Attrs| {
            m.get("inline_policies")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        let (have, want) = (docs(&b), docs(&a));
        for (name, doc) in want.iter().filter(|(k, v)| have.get(*k) != Some(*v)) {
            aws.iam
                .put_role_policy()
                .role_name(id)
                .policy_name(name)
                .policy_document(doc.as_str().unwrap_or("{}"))
                .send()
                .await
                .map_err(|e| aws_error("PutRolePolicy", e))?;
        }
        for name in have.keys().filter(|k| !want.contains_key(*k)) {
            delete_inline(aws, id, name).await?;
        }
        let (set, remove) = tag_changes(&b, &a);
        if !set.is_empty() {
            let tag_list = set
                .into_iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect::<std::result::Result<Vec<_>, _>>()?;
            aws.iam
                .tag_role()
                .role_name(id)
                .set_tags(Some(tag_list))
                .send()
                .await
                .map_err(|e| aws_error("TagRole", e))?;
        }
        if !remove.is_empty() {
            aws.iam
                .untag_role()
                .role_name(id)
                .set_tag_keys(Some(remove))
                .send()
                .await
                .map_err(|e| aws_error("UntagRole", e))?;
        }
        Ok(())
    }

    /// Detaches managed policies and deletes inline ones, then the role.
    async fn find(aws: &Aws, attrs: &Attrs) -> Result<Option<String>> {
        super::find_by_id::<Self>(aws, s(attrs, "name")).await
    }

    async fn delete(aws: &Aws, id: &str, _before: &Attrs) -> Result<()> {
        let attached = match aws
            .iam
            .list_attached_role_policies()
            .role_name(id)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) if code(&e) == "NoSuchEntity" => return Ok(()),
            Err(e) => return Err(aws_error("ListAttachedRolePolicies", e)),
        };
        for p in attached
            .attached_policies()
            .iter()
            .filter_map(|p| p.policy_arn())
        {
            detach(aws, id, p).await?;
        }
        let inline = aws
            .iam
            .list_role_policies()
            .role_name(id)
            .send()
            .await
            .map_err(|e| aws_error("ListRolePolicies", e))?;
        for name in inline.policy_names() {
            delete_inline(aws, id, name).await?;
        }
        match aws.iam.delete_role().role_name(id).send().await {
            Ok(_) => Ok(()),
            Err(e) if code(&e) == "NoSuchEntity" => Ok(()),
            Err(e) => Err(aws_error("DeleteRole", e)),
        }
    }
}

async fn detach(aws: &Aws, role: &str, arn: &str) -> Result<()> {
    aws.iam
        .detach_role_policy()
        .role_name(role)
        .policy_arn(arn)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| aws_error("DetachRolePolicy", e))
}

async fn delete_inline(aws: &Aws, role: &str, name: &str) -> Result<()> {
    aws.iam
        .delete_role_policy()
        .role_name(role)
        .policy_name(name)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| aws_error("DeleteRolePolicy", e))
}
