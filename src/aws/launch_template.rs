//! `launch_template`: a launch template for EKS nodes, IMDSv2 with hop limit 2 by
//! default. A change makes a new version and makes it the default.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;

use super::tags;
use super::{Aws, Result, ec2_tags};
use crate::provider::{GoneOk, Made, OpContext, Provider};
use crate::types::attrs::{into_map, tags_value};
use crate::types::{Attrs, AttrsExt};
use aws_sdk_ec2::types::{
    InstanceType, LaunchTemplateBlockDeviceMappingRequest, LaunchTemplateEbsBlockDeviceRequest,
    LaunchTemplateHttpTokensState, LaunchTemplateInstanceMetadataEndpointState,
    LaunchTemplateInstanceMetadataOptionsRequest, LaunchTemplateTagSpecificationRequest,
    RequestLaunchTemplateData, ResourceType, ResponseLaunchTemplateData, Tag, VolumeType,
};
use serde_json::{Map, Value, json};

/// The template data the stack asks for.
fn data(attrs: &Attrs) -> RequestLaunchTemplateData {
    let m = attrs.get("metadata_options").cloned().unwrap_or_else(|| json!({}));
    let metadata = LaunchTemplateInstanceMetadataOptionsRequest::builder()
        .set_http_tokens(m["http_tokens"].as_str().map(LaunchTemplateHttpTokensState::from))
        .set_http_put_response_hop_limit(
            m["http_put_response_hop_limit"].as_i64().map(|h| h as i32),
        )
        .set_http_endpoint(
            m["http_endpoint"].as_str().map(LaunchTemplateInstanceMetadataEndpointState::from),
        )
        .build();
    let devices = attrs.get("block_devices").and_then(Value::as_array).map(|list| {
        list.iter()
            .map(|d| {
                LaunchTemplateBlockDeviceMappingRequest::builder()
                    .set_device_name(d["device_name"].as_str().map(str::to_string))
                    .ebs(
                        LaunchTemplateEbsBlockDeviceRequest::builder()
                            .set_volume_size(d["volume_size"].as_i64().map(|v| v as i32))
                            .set_volume_type(d["volume_type"].as_str().map(VolumeType::from))
                            .set_encrypted(d["encrypted"].as_bool())
                            .set_delete_on_termination(d["delete_on_termination"].as_bool())
                            .build(),
                    )
                    .build()
            })
            .collect()
    });
    let instance_tags = attrs.get("instance_tags").and_then(Value::as_object).map(|t| {
        vec![
            LaunchTemplateTagSpecificationRequest::builder()
                .resource_type(ResourceType::Instance)
                .set_tags(Some(
                    t.iter()
                        .map(|(k, v)| {
                            Tag::builder().key(k).value(v.as_str().unwrap_or_default()).build()
                        })
                        .collect(),
                ))
                .build(),
        ]
    });
    RequestLaunchTemplateData::builder()
        .metadata_options(metadata)
        .set_instance_type(
            attrs.get("instance_type").and_then(Value::as_str).map(InstanceType::from),
        )
        .set_user_data(
            attrs.get("user_data").and_then(Value::as_str).map(aws_smithy_types::base64::encode),
        )
        .set_block_device_mappings(devices)
        .set_tag_specifications(instance_tags)
        .set_security_group_ids(attrs.opt_strings("security_group_ids"))
        .build()
}

/// Template data in the stack file's words.
fn data_value(d: &ResponseLaunchTemplateData, out: &mut Map<String, Value>) {
    if let Some(m) = d.metadata_options() {
        out.insert(
            "metadata_options".into(),
            json!({
                "http_tokens": m.http_tokens().map(|t| t.as_str()).unwrap_or("optional"),
                "http_put_response_hop_limit": m.http_put_response_hop_limit().unwrap_or(1),
                "http_endpoint": m.http_endpoint().map(|e| e.as_str()).unwrap_or("enabled"),
            }),
        );
    }
    if let Some(t) = d.instance_type() {
        out.insert("instance_type".into(), json!(t.as_str()));
    }
    if !d.security_group_ids().is_empty() {
        out.insert("security_group_ids".into(), json!(d.security_group_ids()));
    }
    if let Some(u) = d.user_data() {
        let plain =
            aws_smithy_types::base64::decode(u).ok().and_then(|b| String::from_utf8(b).ok());
        out.insert("user_data".into(), json!(plain.unwrap_or_else(|| u.to_string())));
    }
    if !d.block_device_mappings().is_empty() {
        let devices: Vec<Value> = d
            .block_device_mappings()
            .iter()
            .map(|b| {
                let e = b.ebs();
                json!({
                    "device_name": b.device_name(),
                    "volume_size": e.and_then(|e| e.volume_size()),
                    "volume_type": e.and_then(|e| e.volume_type()).map(|v| v.as_str()),
                    "encrypted": e.and_then(|e| e.encrypted()).unwrap_or(false),
                    "delete_on_termination": e.and_then(|e| e.delete_on_termination()).unwrap_or(false),
                })
            })
            .collect();
        out.insert("block_devices".into(), Value::Array(devices));
    }
    if let Some(spec) =
        d.tag_specifications().iter().find(|t| t.resource_type() == Some(&ResourceType::Instance))
    {
        out.insert(
            "instance_tags".into(),
            tags_value(
                spec.tags()
                    .iter()
                    .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())),
            ),
        );
    }
}

pub struct LaunchTemplate(pub Arc<Aws>);

#[async_trait]
impl Provider for LaunchTemplate {
    /// A name made from `name_prefix`, settled before the intent.
    fn prepare(&self, attrs: &mut Attrs) {
        super::name_from_prefix(attrs);
    }

    /// DescribeLaunchTemplates by ids, without their versions.
    async fn exist(&self, ids: &[String]) -> Result<std::collections::HashSet<String>> {
        Ok(super::ids_of(&describe(&self.0, ids).await?, |t| t.launch_template_id()))
    }

    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let aws = &*self.0;
        let templates = describe(aws, ids).await?;
        let mut out = HashMap::new();
        for t in templates {
            let id = t.launch_template_id().unwrap_or_default().to_string();
            let default_version = t.default_version_number().unwrap_or(1);
            let mut attrs = versions(&t);
            attrs.insert("tags".into(), ec2_tags::value(t.tags()));
            let versions = send!(
                aws.ec2
                    .describe_launch_template_versions()
                    .launch_template_id(&id)
                    .versions(default_version.to_string()),
                "DescribeLaunchTemplateVersions"
            )?;
            let version = versions.launch_template_versions().first();
            if let Some(d) = version.and_then(|v| v.launch_template_data()) {
                data_value(d, &mut attrs);
            }
            if let Some(text) = version.and_then(|v| v.version_description()) {
                attrs.insert("description".into(), json!(text));
            }
            out.insert(id, attrs);
        }
        Ok(out)
    }

    async fn create(&self, ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let aws = &*self.0;
        let out = send!(
            aws.ec2
                .create_launch_template()
                .launch_template_name(attrs.str("name")?)
                .launch_template_data(data(attrs))
                .set_version_description(attrs.opt_str("description").map(str::to_string))
                // The create's idempotency token: sent again after a lost
                // answer, AWS returns the template it made.
                .set_client_token(ctx.token.clone())
                .tag_specifications(ec2_tags::spec(ResourceType::LaunchTemplate, attrs)),
            "CreateLaunchTemplate"
        )?;
        let t = out
            .launch_template()
            .ok_or_else(|| anyhow::anyhow!("CreateLaunchTemplate answered no template"))?;
        // Made with what was asked (its data, its tags) as version 1, the
        // default: the answer says its id and version numbers.
        Made::answered(attrs, versions(t))
    }

    /// Its version numbers, which a change moves (a new version, made the
    /// default): one DescribeLaunchTemplates, without the version's data.
    /// Not seen yet (AWS's eventual consistency): read back.
    async fn settled(&self, id: &str, _asked: &Attrs) -> Result<Option<Attrs>> {
        let found = describe(&self.0, &[id.to_string()]).await?;
        Ok(found.first().map(versions))
    }

    /// A change of the template data is a new version, made the default. (The
    /// whole data is sent: a version made from a source version does not inherit
    /// its data everywhere.)
    async fn update(
        &self,
        _ctx: &OpContext,
        id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> Result<()> {
        let aws = &*self.0;
        let keys = [
            "metadata_options",
            "instance_type",
            "user_data",
            "block_devices",
            "instance_tags",
            "security_group_ids",
            "description",
        ];
        if keys.iter().any(|k| after.get(*k).is_some_and(|v| before.get(*k) != Some(v))) {
            let v = send!(
                aws.ec2
                    .create_launch_template_version()
                    .launch_template_id(id)
                    .launch_template_data(data(after))
                    .set_version_description(after.opt_str("description").map(str::to_string)),
                "CreateLaunchTemplateVersion"
            )?;
            let number = v.launch_template_version().and_then(|v| v.version_number()).unwrap_or(1);
            send!(
                aws.ec2
                    .modify_launch_template()
                    .launch_template_id(id)
                    .default_version(number.to_string()),
                "ModifyLaunchTemplate"
            )?;
        }
        tags::sync(&tags::Ec2, aws, id, before, after).await
    }

    async fn find(&self, attrs: &Attrs) -> Result<Vec<String>> {
        let aws = &*self.0;
        let found = send!(
            aws.ec2.describe_launch_templates().launch_template_names(attrs.str("name")?),
            "DescribeLaunchTemplates"
        )
        .or_gone()?;
        Ok(super::ids_of(found.iter().flat_map(|o| o.launch_templates()), |t| {
            t.launch_template_id()
        }))
    }

    async fn delete(&self, _ctx: &OpContext, id: &str, _before: &Attrs) -> Result<()> {
        let aws = &*self.0;
        match send!(aws.ec2.delete_launch_template().launch_template_id(id), "DeleteLaunchTemplate")
        {
            Ok(_) => Ok(()),
            Err(e) if e.code().starts_with("InvalidLaunchTemplateId") => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// What DescribeLaunchTemplates (or CreateLaunchTemplate) says of a template:
/// its id, name and version numbers.
fn versions(t: &aws_sdk_ec2::types::LaunchTemplate) -> Attrs {
    into_map(json!({
        "id": t.launch_template_id(),
        "name": t.launch_template_name(),
        "latest_version": t.latest_version_number().map(|v| v.to_string()),
        "default_version": t.default_version_number().unwrap_or(1).to_string(),
    }))
}

/// Launch templates by id; one missing id fails the whole call, so then one by one.
async fn describe(aws: &Aws, ids: &[String]) -> Result<Vec<aws_sdk_ec2::types::LaunchTemplate>> {
    let mut templates = Vec::new();
    match send!(
        aws.ec2.describe_launch_templates().set_launch_template_ids(Some(ids.to_vec())),
        "DescribeLaunchTemplates"
    ) {
        Ok(r) => templates.extend(r.launch_templates().iter().cloned()),
        // One missing id fails the whole call: ask one by one.
        Err(e) if e.code().starts_with("InvalidLaunchTemplateId") => {
            for id in ids {
                match send!(
                    aws.ec2.describe_launch_templates().launch_template_ids(id),
                    "DescribeLaunchTemplates"
                ) {
                    Ok(r) => templates.extend(r.launch_templates().iter().cloned()),
                    Err(e) if e.code().starts_with("InvalidLaunchTemplateId") => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Err(e) => return Err(e.into()),
    }
    Ok(templates)
}
