//! `ecr_repository`: a container image repository, scanned on push by default.

use std::collections::HashMap;

use aws_sdk_ecr::types::{
    EncryptionConfiguration, EncryptionType, ImageScanningConfiguration, ImageTagMutability, Tag,
};
use serde_json::{Map, Value, json};

use super::vpc::into_map;
use super::{
    Attrs, Aws, Provider, Result, aws_error, b, code, differs, s, tag_changes, tags, tags_value,
};
use crate::stack::policy;
use crate::stack::schema::{Attr, Default, Finding, Kind, NameDefault, TypeSchema};

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "ecr_repository",
    attrs: &[
        Attr::new("name", Kind::String).force_new(),
        Attr::new(
            "image_tag_mutability",
            Kind::Enum(&["MUTABLE", "IMMUTABLE"]),
        )
        .default(Default::Str("MUTABLE")),
        Attr::new("scan_on_push", Kind::Bool).default(Default::Bool(true)),
        // Shorthand for a lifecycle policy that expires all but the newest N images.
        Attr::new(
            "keep_last_images",
            Kind::Int {
                min: 1,
                max: 100_000,
            },
        ),
        Attr::new("lifecycle_policy", Kind::String),
        Attr::new("repository_policy", Kind::String),
        Attr::new("encryption", Kind::Enum(&["AES256", "KMS"]))
            .default(Default::Str("AES256"))
            .force_new(),
        Attr::new("kms_key", Kind::String).force_new(),
        Attr::new("force_destroy", Kind::Bool)
            .default(Default::Bool(false))
            .local(),
    ],
    exports: &["id", "name", "arn", "url"],
    name_attr: Some(("name", NameDefault::StackAndName)),
    check: Some(check),
    canonical: Some(canonical),
    ..TypeSchema::BASE
};

fn check(attrs: &Map<String, Value>) -> Vec<Finding> {
    if attrs.contains_key("keep_last_images") && attrs.contains_key("lifecycle_policy") {
        return vec![Finding {
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
fn expand(attrs: &mut Map<String, Value>) {
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

pub struct EcrRepository;

impl Provider for EcrRepository {
    /// By name, a hundred a call. A missing name fails its whole call: then one
    /// paginated listing of every repository instead. Then each one's tags and
    /// policies.
    async fn read(aws: &Aws, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let mut repos = Vec::new();
        for chunk in ids.chunks(100) {
            match aws
                .ecr
                .describe_repositories()
                .set_repository_names(Some(chunk.to_vec()))
                .send()
                .await
            {
                Ok(page) => repos.extend(page.repositories().iter().cloned()),
                Err(e) if code(&e) == "RepositoryNotFoundException" => {
                    repos = list_all(aws, ids).await?;
                    break;
                }
                Err(e) => return Err(aws_error("DescribeRepositories", e)),
            }
        }
        let read = super::each(repos, |r| async move {
            let name = r.repository_name().unwrap_or_default().to_string();
            let arn = r.repository_arn().unwrap_or_default();
            let tag_list = aws
                .ecr
                .list_tags_for_resource()
                .resource_arn(arn)
                .send()
                .await
                .map_err(|e| aws_error("ListTagsForResource", e))?;
            let mut attrs = json!({
                "id": name,
                "name": name,
                "arn": arn,
                "url": r.repository_uri(),
                "image_tag_mutability": r.image_tag_mutability().map(|m| m.as_str()),
                "scan_on_push": r.image_scanning_configuration().is_some_and(|c| c.scan_on_push()),
                "tags": tags_value(tag_list.tags().iter().map(|t| (t.key(), t.value()))),
                "encryption": r.encryption_configuration().map_or("AES256", |e| e.encryption_type().as_str()),
            });
            if let Some(k) = r.encryption_configuration().and_then(|e| e.kms_key()) {
                attrs["kms_key"] = json!(k);
            }
            match aws
                .ecr
                .get_lifecycle_policy()
                .repository_name(&name)
                .send()
                .await
            {
                Ok(p) => attrs["lifecycle_policy"] = json!(p.lifecycle_policy_text()),
                Err(e) if code(&e) == "LifecyclePolicyNotFoundException" => {}
                Err(e) => return Err(aws_error("GetLifecyclePolicy", e)),
            }
            match aws
                .ecr
                .get_repository_policy()
                .repository_name(&name)
                .send()
                .await
            {
                Ok(p) => attrs["repository_policy"] = json!(p.policy_text()),
                Err(e) if code(&e) == "RepositoryPolicyNotFoundException" => {}
                Err(e) => return Err(aws_error("GetRepositoryPolicy", e)),
            }
            let mut attrs = into_map(attrs);
            canonical(&mut attrs);
            Ok((name, attrs))
        })
        .await?;
        Ok(read.into_iter().collect())
    }

    async fn create(aws: &Aws, attrs: &Attrs) -> Result<String> {
        let tag_list = tags(attrs)
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let out = aws
            .ecr
            .create_repository()
            .repository_name(s(attrs, "name"))
            .image_tag_mutability(ImageTagMutability::from(s(attrs, "image_tag_mutability")))
            .image_scanning_configuration(
                ImageScanningConfiguration::builder()
                    .scan_on_push(b(attrs, "scan_on_push"))
                    .build(),
            )
            .set_tags(Some(tag_list))
            .encryption_configuration(
                EncryptionConfiguration::builder()
                    .encryption_type(EncryptionType::from(s(attrs, "encryption")))
                    .set_kms_key(
                        attrs
                            .get("kms_key")
                            .and_then(Value::as_str)
                            .map(str::to_string),
                    )
                    .build()?,
            )
            .send()
            .await
            .map_err(|e| aws_error("CreateRepository", e))?;
        Ok(out
            .repository()
            .and_then(|r| r.repository_name())
            .unwrap_or_default()
            .to_string())
    }

    async fn update(aws: &Aws, id: &str, before: &Attrs, after: &Attrs) -> Result<()> {
        if differs(before, after, "image_tag_mutability") {
            aws.ecr
                .put_image_tag_mutability()
                .repository_name(id)
                .image_tag_mutability(ImageTagMutability::from(s(after, "image_tag_mutability")))
                .send()
                .await
                .map_err(|e| aws_error("PutImageTagMutability", e))?;
        }
        if differs(before, after, "scan_on_push") {
            aws.ecr
                .put_image_scanning_configuration()
                .repository_name(id)
                .image_scanning_configuration(
                    ImageScanningConfiguration::builder()
                        .scan_on_push(b(after, "scan_on_push"))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| aws_error("PutImageScanningConfiguration", e))?;
        }
        let (mut b, mut a) = (before.clone(), after.clone());
        canonical(&mut b);
        canonical(&mut a);
        let mut raw = after.clone();
        expand(&mut raw);
        if differs(&b, &a, "lifecycle_policy") {
            aws.ecr
                .put_lifecycle_policy()
                .repository_name(id)
                .lifecycle_policy_text(s(&raw, "lifecycle_policy"))
                .send()
                .await
                .map_err(|e| aws_error("PutLifecyclePolicy", e))?;
        }
        if differs(&b, &a, "repository_policy") {
            aws.ecr
                .set_repository_policy()
                .repository_name(id)
                .policy_text(s(&raw, "repository_policy"))
                .send()
                .await
                .map_err(|e| aws_error("SetRepositoryPolicy", e))?;
        }
        let (set, remove) = tag_changes(before, after);
        let arn = s(before, "arn");
        if !set.is_empty() {
            let tag_list = set
                .into_iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect::<std::result::Result<Vec<_>, _>>()?;
            aws.ecr
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(tag_list))
                .send()
                .await
                .map_err(|e| aws_error("TagResource", e))?;
        }
        if !remove.is_empty() {
            aws.ecr
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(remove))
                .send()
                .await
                .map_err(|e| aws_error("UntagResource", e))?;
        }
        Ok(())
    }

    async fn find(aws: &Aws, attrs: &Attrs) -> Result<Option<String>> {
        super::find_by_id::<Self>(aws, s(attrs, "name")).await
    }

    async fn delete(aws: &Aws, id: &str, before: &Attrs) -> Result<()> {
        let force = b(before, "force_destroy");
        match aws
            .ecr
            .delete_repository()
            .repository_name(id)
            .force(force)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if code(&e) == "RepositoryNotFoundException" => Ok(()),
            Err(e) if code(&e) == "RepositoryNotEmptyException" => Err(anyhow::anyhow!(
                "repository {id} still holds images; it was left in place \
                 (set `force_destroy: true` on it to delete its images with it)"
            )),
            Err(e) => Err(aws_error("DeleteRepository", e)),
        }
    }
}

/// Every repository with one of these names, from a paginated listing of all.
async fn list_all(aws: &Aws, ids: &[String]) -> Result<Vec<aws_sdk_ecr::types::Repository>> {
    let wanted: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
    let mut repos = Vec::new();
    let mut token = None;
    loop {
        let page = aws
            .ecr
            .describe_repositories()
            .set_next_token(token)
            .max_results(1000)
            .send()
            .await
            .map_err(|e| aws_error("DescribeRepositories", e))?;
        repos.extend(
            page.repositories()
                .iter()
                .filter(|r| r.repository_name().is_some_and(|n| wanted.contains(n)))
                .cloned(),
        );
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(repos);
        }
    }
}
