//! `ecr_repository`: a container image repository, scanned on push by default.

use std::collections::HashMap;

use aws_sdk_ecr::types::{ImageScanningConfiguration, ImageTagMutability, Tag};
use serde_json::json;

use super::vpc::into_map;
use super::{
    Attrs, Aws, Provider, Result, aws_error, b, code, differs, s, tag_changes, tags, tags_value,
};
use crate::stack::schema::{Attr, Default, Kind, NameDefault, TypeSchema};

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
        Attr::new("force_destroy", Kind::Bool)
            .default(Default::Bool(false))
            .local(),
    ],
    exports: &["id", "name", "arn", "url"],
    name_attr: Some(("name", NameDefault::StackAndName)),
    ..TypeSchema::BASE
};

pub struct EcrRepository;

impl Provider for EcrRepository {
    /// One paginated DescribeRepositories for all of them (asking by name fails
    /// whole when one is missing), then the tags of each.
    async fn read(aws: &Aws, ids: &[String]) -> Result<HashMap<String, Attrs>> {
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
                    .filter(|r| {
                        r.repository_name()
                            .is_some_and(|n| ids.iter().any(|i| i == n))
                    })
                    .cloned(),
            );
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        let mut out = HashMap::new();
        for r in repos {
            let name = r.repository_name().unwrap_or_default().to_string();
            let arn = r.repository_arn().unwrap_or_default();
            let tag_list = aws
                .ecr
                .list_tags_for_resource()
                .resource_arn(arn)
                .send()
                .await
                .map_err(|e| aws_error("ListTagsForResource", e))?;
            let attrs = json!({
                "id": name,
                "name": name,
                "arn": arn,
                "url": r.repository_uri(),
                "image_tag_mutability": r.image_tag_mutability().map(|m| m.as_str()),
                "scan_on_push": r.image_scanning_configuration().is_some_and(|c| c.scan_on_push()),
                "tags": tags_value(tag_list.tags().iter().map(|t| (t.key(), t.value()))),
            });
            out.insert(name, into_map(attrs));
        }
        Ok(out)
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
