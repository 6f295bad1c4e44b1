//! `ecr_repository`: a container image repository, scanned on push by default.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;

use super::tags;
use super::{Aws, Result};
use crate::provider::{GoneOk, Made, OpContext, Provider};
use crate::types::attrs::{differs, into_map, tags_value};
use crate::types::ecr_repository as ty;
use crate::types::{Attrs, AttrsExt};
use aws_sdk_ecr::types::{
    EncryptionConfiguration, EncryptionType, ImageScanningConfiguration, ImageTagMutability, Tag,
};
use serde_json::{Value, json};

pub struct EcrRepository(pub Arc<Aws>);

#[async_trait]
impl Provider for EcrRepository {
    /// By name, a hundred a call. A missing name fails its whole call: then one
    /// paginated listing of every repository instead. Then each one's tags and
    /// policies.
    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let aws = &*self.0;
        let repos = describe(aws, ids).await?;
        let read = super::each(repos, |r| async move {
            let name = r.repository_name().unwrap_or_default().to_string();
            let arn = r.repository_arn().unwrap_or_default();
            let tag_list =
                send!(aws.ecr.list_tags_for_resource().resource_arn(arn), "ListTagsForResource")?;
            let tags = tags_value(tag_list.tags().iter().map(|t| (t.key(), t.value())));
            let mut attrs = Value::Object(described(&r, tags));
            if let Some(p) =
                send!(aws.ecr.get_lifecycle_policy().repository_name(&name), "GetLifecyclePolicy")
                    .or_gone()?
            {
                attrs["lifecycle_policy"] = json!(p.lifecycle_policy_text());
            }
            if let Some(p) =
                send!(aws.ecr.get_repository_policy().repository_name(&name), "GetRepositoryPolicy")
                    .or_gone()?
            {
                attrs["repository_policy"] = json!(p.policy_text());
            }
            let mut attrs = into_map(attrs);
            ty::canonical(&mut attrs);
            Ok((name, attrs))
        })
        .await?;
        Ok(read.into_iter().collect())
    }

    async fn create(&self, _ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let aws = &*self.0;
        let tag_list = attrs
            .tags()
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let out = send!(
            aws.ecr
                .create_repository()
                .repository_name(attrs.str("name")?)
                .image_tag_mutability(ImageTagMutability::from(attrs.str("image_tag_mutability")?))
                .image_scanning_configuration(
                    ImageScanningConfiguration::builder()
                        .scan_on_push(attrs.bool("scan_on_push")?)
                        .build(),
                )
                .set_tags(Some(tag_list))
                .encryption_configuration(
                    EncryptionConfiguration::builder()
                        .encryption_type(EncryptionType::from(attrs.str("encryption")?))
                        .set_kms_key(
                            attrs.get("kms_key").and_then(Value::as_str).map(str::to_string),
                        )
                        .build()?,
                ),
            "CreateRepository"
        )?;
        // The answer describes the new repository; its tags are what was
        // sent, and it has no policies yet.
        let Some(r) = out.repository() else {
            return Ok(String::new().into());
        };
        let mut holds = described(r, json!(attrs.string_map("tags")));
        ty::canonical(&mut holds);
        Ok(Made::holding(r.repository_name().unwrap_or_default(), holds))
    }

    /// DescribeRepositories by lists of names, without tags or policies.
    async fn exist(&self, ids: &[String]) -> Result<std::collections::HashSet<String>> {
        Ok(super::ids_of(&describe(&self.0, ids).await?, |r| r.repository_name()))
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> Result<()> {
        let aws = &*self.0;
        if differs(before, after, "image_tag_mutability") {
            send!(
                aws.ecr.put_image_tag_mutability().repository_name(id).image_tag_mutability(
                    ImageTagMutability::from(after.str("image_tag_mutability")?)
                ),
                "PutImageTagMutability"
            )?;
        }
        if differs(before, after, "scan_on_push") {
            send!(
                aws.ecr
                    .put_image_scanning_configuration()
                    .repository_name(id)
                    .image_scanning_configuration(
                        ImageScanningConfiguration::builder()
                            .scan_on_push(after.bool("scan_on_push")?)
                            .build(),
                    ),
                "PutImageScanningConfiguration"
            )?;
        }
        let (b, a) = super::canonical_pair(ty::canonical, before, after);
        let mut raw = after.clone();
        ty::expand(&mut raw);
        // A policy no longer set (`null`) is deleted; gone already is fine.
        if differs(&b, &a, "lifecycle_policy") {
            match raw.opt_str("lifecycle_policy") {
                Some(text) => {
                    send!(
                        aws.ecr
                            .put_lifecycle_policy()
                            .repository_name(id)
                            .lifecycle_policy_text(text),
                        "PutLifecyclePolicy"
                    )?;
                }
                None => {
                    send!(
                        aws.ecr.delete_lifecycle_policy().repository_name(id),
                        "DeleteLifecyclePolicy"
                    )
                    .or_gone()?;
                }
            }
        }
        if differs(&b, &a, "repository_policy") {
            match raw.opt_str("repository_policy") {
                Some(text) => {
                    send!(
                        aws.ecr.set_repository_policy().repository_name(id).policy_text(text),
                        "SetRepositoryPolicy"
                    )?;
                }
                None => {
                    send!(
                        aws.ecr.delete_repository_policy().repository_name(id),
                        "DeleteRepositoryPolicy"
                    )
                    .or_gone()?;
                }
            }
        }
        tags::sync(&tags::Ecr, aws, before.str("arn")?, before, after).await?;
        Ok(())
    }

    async fn find(&self, attrs: &Attrs) -> Result<Vec<String>> {
        super::find_by_id(self, attrs.str("name")?).await
    }

    async fn delete(&self, _ctx: &OpContext, id: &str, before: &Attrs) -> Result<()> {
        let aws = &*self.0;
        let force = before.opt_bool("force_destroy") == Some(true);
        match send!(
            aws.ecr.delete_repository().repository_name(id).force(force),
            "DeleteRepository"
        )
        .or_gone()
        {
            Ok(_) => Ok(()),
            Err(e) if e.code() == "RepositoryNotEmptyException" => Err(anyhow::anyhow!(
                "repository {id} still holds images; it was left in place \
                 (set `force_destroy: true` on it to delete its images with it)"
            )),
            Err(e) => Err(e.into()),
        }
    }
}

/// Repositories by name, a hundred a call. A missing name fails its whole
/// call: then one paginated listing of every repository instead.
async fn describe(aws: &Aws, ids: &[String]) -> Result<Vec<aws_sdk_ecr::types::Repository>> {
    let mut repos = Vec::new();
    for chunk in ids.chunks(100) {
        match send!(
            aws.ecr.describe_repositories().set_repository_names(Some(chunk.to_vec())),
            "DescribeRepositories"
        )
        .or_gone()?
        {
            Some(page) => repos.extend(page.repositories().iter().cloned()),
            None => return list_all(aws, ids).await,
        }
    }
    Ok(repos)
}

/// A repository as `read` gives it without its policies, with these tags.
fn described(r: &aws_sdk_ecr::types::Repository, tags: Value) -> Attrs {
    let name = r.repository_name().unwrap_or_default();
    let mut attrs = json!({
        "id": name,
        "name": name,
        "arn": r.repository_arn(),
        "url": r.repository_uri(),
        "image_tag_mutability": r.image_tag_mutability().map(|m| m.as_str()),
        "scan_on_push": r.image_scanning_configuration().is_some_and(|c| c.scan_on_push()),
        "tags": tags,
        "encryption": r.encryption_configuration().map_or("AES256", |e| e.encryption_type().as_str()),
    });
    if let Some(k) = r.encryption_configuration().and_then(|e| e.kms_key()) {
        attrs["kms_key"] = json!(k);
    }
    into_map(attrs)
}

/// Every repository with one of these names, from a paginated listing of all.
async fn list_all(aws: &Aws, ids: &[String]) -> Result<Vec<aws_sdk_ecr::types::Repository>> {
    let wanted: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
    let mut repos = Vec::new();
    let mut token = None;
    loop {
        let page = send!(
            aws.ecr.describe_repositories().set_next_token(token).max_results(1000),
            "DescribeRepositories"
        )?;
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
