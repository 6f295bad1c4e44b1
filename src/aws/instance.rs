//! The provider of `instance`: launched with RunInstances (its tags on the
//! instance and its volumes, a client token so a retry never makes two),
//! waited for until running; a new type stops it, changes it and starts it
//! again; groups, instance profile and metadata options change in place;
//! terminated and waited for at delete. A terminated instance reads as gone.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    AttributeValue, BlockDeviceMapping, EbsBlockDevice, Filter, HttpTokensState,
    IamInstanceProfileSpecification, Instance as Ec2Instance, InstanceMetadataEndpointState,
    InstanceMetadataOptionsRequest, InstanceNetworkInterfaceSpecification, InstanceStateName,
    InstanceType, ResourceType, VolumeType,
};
use base64::Engine;
use serde_json::{Value, json};

use super::tags;
use super::wait::{self, Poll};
use super::{Aws, Result, ec2_tags};
use crate::provider::{GoneOk, Made, OpContext, Provider};
use crate::types::attrs::{differs, differs_set, into_map};
use crate::types::{Attrs, AttrsExt, Operation};

pub struct Instance(pub Arc<Aws>);

#[async_trait]
impl Provider for Instance {
    fn waits(&self) -> bool {
        true
    }

    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let found = ec2_tags::read_by_id(ids, "instance-id", |f| describe(&self.0, f)).await?;
        Ok(ec2_tags::live(found, gone))
    }

    async fn create(&self, ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let aws = &*self.0;
        let subnet = attrs.str("subnet_id")?.to_string();
        let groups = attrs.opt_strings("vpc_security_group_ids");
        let public = attrs.opt_bool("associate_public_ip_address");
        let mut request = aws
            .ec2
            .run_instances()
            .image_id(attrs.str("ami")?)
            .instance_type(InstanceType::from(attrs.str("instance_type")?))
            .min_count(1)
            .max_count(1)
            .set_iam_instance_profile(
                attrs
                    .opt_str("iam_instance_profile")
                    .map(|name| IamInstanceProfileSpecification::builder().name(name).build()),
            )
            .metadata_options(metadata(attrs))
            .set_user_data(
                attrs
                    .opt_str("user_data")
                    .map(|u| base64::engine::general_purpose::STANDARD.encode(u)),
            )
            .set_client_token(ctx.token.clone())
            .tag_specifications(ec2_tags::spec(ResourceType::Instance, attrs))
            .tag_specifications(ec2_tags::spec(ResourceType::Volume, attrs));
        // A public address is asked on the network interface, which then
        // holds the subnet and the groups.
        request = match public {
            Some(public) => request.network_interfaces(
                InstanceNetworkInterfaceSpecification::builder()
                    .device_index(0)
                    .subnet_id(&subnet)
                    .set_groups(groups)
                    .associate_public_ip_address(public)
                    .build(),
            ),
            None => request.subnet_id(&subnet).set_security_group_ids(groups),
        };
        if let Some(root) = attrs.get("root_block_device") {
            request =
                request.block_device_mappings(root_mapping(aws, attrs.str("ami")?, root).await?);
        }
        let out = super::while_iam_propagates(ctx, || {
            let request = request.clone();
            async move { Ok(send!(request, "RunInstances")?) }
        })
        .await?;
        let id = out.instances().first().and_then(|i| i.instance_id()).unwrap_or_default();
        Ok(id.to_string().into())
    }

    /// Until running after a create or an update; until terminated after a
    /// delete. The last look is a whole read.
    async fn wait(&self, ctx: &OpContext, id: &str, operation: Operation) -> Result<Option<Attrs>> {
        let delete = operation.phase() == Operation::Delete;
        let doing = match operation.phase() {
            Operation::Create => "creating",
            Operation::Delete => "deleting",
            _ => "updating",
        };
        let timeout =
            ctx.timeout(operation, Duration::from_secs(if delete { 20 } else { 10 } * 60));
        until_state(&self.0, ctx, doing, timeout, id, delete).await
    }

    async fn update(&self, ctx: &OpContext, id: &str, before: &Attrs, after: &Attrs) -> Result<()> {
        let aws = &*self.0;
        if differs(before, after, "instance_type") {
            // A type changes only while the instance is stopped.
            send!(aws.ec2.stop_instances().instance_ids(id), "StopInstances")?;
            let stopped = ctx.timeout(Operation::Update, Duration::from_secs(10 * 60));
            wait::until(ctx, "stopping", stopped, || async {
                Ok(match state_of(aws, id).await? {
                    Some(InstanceStateName::Stopped) => Poll::Done,
                    Some(s) => Poll::Pending(s.as_str().to_string()),
                    None => Poll::Failed("the instance is gone".into()),
                })
            })
            .await?;
            send!(
                aws.ec2.modify_instance_attribute().instance_id(id).instance_type(
                    AttributeValue::builder().value(after.str("instance_type")?).build()
                ),
                "ModifyInstanceAttribute"
            )?;
            send!(aws.ec2.start_instances().instance_ids(id), "StartInstances")?;
        }
        if differs_set(before, after, "vpc_security_group_ids")
            && let Some(groups) = after.opt_strings("vpc_security_group_ids")
        {
            send!(
                aws.ec2.modify_instance_attribute().instance_id(id).set_groups(Some(groups)),
                "ModifyInstanceAttribute"
            )?;
        }
        if differs(before, after, "metadata_options") {
            let m = metadata(after);
            send!(
                aws.ec2
                    .modify_instance_metadata_options()
                    .instance_id(id)
                    .set_http_tokens(m.http_tokens().cloned())
                    .set_http_put_response_hop_limit(m.http_put_response_hop_limit())
                    .set_http_endpoint(m.http_endpoint().cloned()),
                "ModifyInstanceMetadataOptions"
            )?;
        }
        if differs(before, after, "iam_instance_profile") {
            profile(aws, id, after.opt_str("iam_instance_profile")).await?;
        }
        tags::sync(&tags::Ec2, aws, id, before, after).await
    }

    async fn find(&self, attrs: &Attrs) -> Result<Vec<String>> {
        let found = describe(&self.0, ec2_tags::owner_filters(attrs)?).await?;
        Ok(found.into_iter().filter(|(_, (s, _))| !gone(s)).map(|(id, _)| id).collect())
    }

    async fn delete(&self, _ctx: &OpContext, id: &str, _before: &Attrs) -> Result<()> {
        send!(self.0.ec2.terminate_instances().instance_ids(id), "TerminateInstances").or_gone()?;
        Ok(())
    }
}

/// Terminated or on its way: not there to use.
fn gone(state: &InstanceStateName) -> bool {
    matches!(state, InstanceStateName::Terminated | InstanceStateName::ShuttingDown)
}

/// Polls an instance until it runs (or, `delete`, until it is terminated).
async fn until_state(
    aws: &Aws,
    ctx: &OpContext,
    doing: &str,
    timeout: Duration,
    id: &str,
    delete: bool,
) -> Result<Option<Attrs>> {
    wait::until(ctx, doing, timeout, || async {
        let found =
            ec2_tags::read_by_id(&[id.to_string()], "instance-id", |f| describe(aws, f)).await?;
        let Some((state, attrs)) = found.get(id) else {
            return Ok(if delete {
                Poll::Done
            } else {
                Poll::Failed("the instance is gone".into())
            });
        };
        Ok(match (state, delete) {
            (InstanceStateName::Running, false) => Poll::Seen(attrs.clone()),
            (InstanceStateName::Terminated, true) => Poll::Done,
            (InstanceStateName::Terminated | InstanceStateName::ShuttingDown, false) => {
                Poll::Failed(format!(
                    "the instance was {}: {}",
                    state.as_str(),
                    attrs.opt_str("state_reason").unwrap_or("no reason given")
                ))
            }
            (s, _) => Poll::Pending(s.as_str().to_string()),
        })
    })
    .await
}

/// An instance's state, if it exists.
async fn state_of(aws: &Aws, id: &str) -> Result<Option<InstanceStateName>> {
    let found =
        ec2_tags::read_by_id(&[id.to_string()], "instance-id", |f| describe(aws, f)).await?;
    Ok(found.get(id).map(|(s, _)| s.clone()))
}

/// The metadata options as EC2 takes them.
fn metadata(attrs: &Attrs) -> InstanceMetadataOptionsRequest {
    let m = attrs.get("metadata_options").cloned().unwrap_or(Value::Null);
    InstanceMetadataOptionsRequest::builder()
        .set_http_tokens(m.opt_str("http_tokens").map(HttpTokensState::from))
        .set_http_put_response_hop_limit(
            m.get("http_put_response_hop_limit").and_then(Value::as_i64).map(|h| h as i32),
        )
        .set_http_endpoint(m.opt_str("http_endpoint").map(InstanceMetadataEndpointState::from))
        .build()
}

/// The root volume's mapping, on the device the AMI boots from.
async fn root_mapping(aws: &Aws, ami: &str, root: &Value) -> Result<BlockDeviceMapping> {
    let image = send!(aws.ec2.describe_images().image_ids(ami), "DescribeImages")?;
    let device = image
        .images()
        .first()
        .and_then(|i| i.root_device_name())
        .unwrap_or("/dev/xvda")
        .to_string();
    Ok(BlockDeviceMapping::builder()
        .device_name(device)
        .ebs(
            EbsBlockDevice::builder()
                .set_volume_size(root.get("volume_size").and_then(Value::as_i64).map(|s| s as i32))
                .set_volume_type(root.opt_str("volume_type").map(VolumeType::from))
                .set_encrypted(root.opt_bool("encrypted"))
                .set_delete_on_termination(root.opt_bool("delete_on_termination"))
                .build(),
        )
        .build())
}

/// Puts the instance profile of this name on the instance (replacing the
/// one it has), or takes its profile off (`None`).
async fn profile(aws: &Aws, id: &str, name: Option<&str>) -> Result<()> {
    let by_instance = Filter::builder().name("instance-id").values(id).build();
    let held = send!(
        aws.ec2.describe_iam_instance_profile_associations().filters(by_instance),
        "DescribeIamInstanceProfileAssociations"
    )?;
    let current = held
        .iam_instance_profile_associations()
        .iter()
        .find(|a| a.state().is_some_and(|s| s.as_str() == "associated"))
        .and_then(|a| a.association_id())
        .map(str::to_string);
    let spec = |n: &str| IamInstanceProfileSpecification::builder().name(n).build();
    match (current, name) {
        (Some(association), Some(n)) => {
            send!(
                aws.ec2
                    .replace_iam_instance_profile_association()
                    .association_id(association)
                    .iam_instance_profile(spec(n)),
                "ReplaceIamInstanceProfileAssociation"
            )?;
        }
        (None, Some(n)) => {
            send!(
                aws.ec2
                    .associate_iam_instance_profile()
                    .instance_id(id)
                    .iam_instance_profile(spec(n)),
                "AssociateIamInstanceProfile"
            )?;
        }
        (Some(association), None) => {
            send!(
                aws.ec2.disassociate_iam_instance_profile().association_id(association),
                "DisassociateIamInstanceProfile"
            )?;
        }
        (None, None) => {}
    }
    Ok(())
}

/// What the filters match, by id, with each one's state.
async fn describe(
    aws: &Aws,
    filters: Vec<Filter>,
) -> Result<HashMap<String, (InstanceStateName, Attrs)>> {
    let reservations: Vec<aws_sdk_ec2::types::Reservation> =
        items!(aws.ec2.describe_instances().set_filters(Some(filters)), "DescribeInstances")?;
    Ok(reservations
        .iter()
        .flat_map(|r| {
            let owner = r.owner_id().unwrap_or_default().to_string();
            r.instances().iter().filter_map(move |i| attrs_of(aws, &owner, i))
        })
        .collect())
}

fn attrs_of(
    aws: &Aws,
    owner: &str,
    i: &Ec2Instance,
) -> Option<(String, (InstanceStateName, Attrs))> {
    let id = i.instance_id()?.to_string();
    let state = i.state().and_then(|s| s.name()).cloned().unwrap_or(InstanceStateName::Pending);
    let m = i.metadata_options();
    // The profile's name: the last part of its ARN (`instance-profile/PATH/NAME`).
    let profile =
        i.iam_instance_profile().and_then(|p| p.arn()).and_then(|arn| arn.rsplit('/').next());
    let mut groups: Vec<&str> = i.security_groups().iter().filter_map(|g| g.group_id()).collect();
    groups.sort_unstable();
    let mut attrs = into_map(json!({
        "id": id,
        "arn": format!("arn:aws:ec2:{}:{owner}:instance/{id}", aws.region),
        "ami": i.image_id(),
        "instance_type": i.instance_type().map(|t| t.as_str()),
        "subnet_id": i.subnet_id(),
        "vpc_security_group_ids": groups,
        "iam_instance_profile": profile,
        "metadata_options": m.map(|m| json!({
            "http_tokens": m.http_tokens().map_or("required", |t| t.as_str()),
            "http_put_response_hop_limit": m.http_put_response_hop_limit().unwrap_or(1),
            "http_endpoint": m.http_endpoint().map_or("enabled", |e| e.as_str()),
        })),
        "private_ip": i.private_ip_address(),
        "public_ip": i.public_ip_address(),
        "availability_zone": i.placement().and_then(|p| p.availability_zone()),
        "state_reason": i.state_reason().and_then(|r| r.message()),
        "tags": ec2_tags::value(i.tags()),
    }));
    attrs.retain(|_, v| !v.is_null());
    Some((id, (state, attrs)))
}
