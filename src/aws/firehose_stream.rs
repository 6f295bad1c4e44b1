//! `firehose_stream`: a Kinesis Data Firehose delivery stream to S3 (direct put),
//! the log pipeline of the field notes. Updated in place through UpdateDestination
//! with the stream's current version id; waits until ACTIVE.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use std::time::Duration;

use aws_sdk_firehose::types::{
    BufferingHints, CloudWatchLoggingOptions, CompressionFormat, DeliveryStreamStatus,
    DeliveryStreamType, ExtendedS3DestinationConfiguration, ExtendedS3DestinationUpdate, Tag,
};
use serde_json::{Map, Value, json};

use super::tags;
use super::wait::{self, Poll};
use super::{Aws, Result};
use crate::provider::{GoneOk, Made, OpContext, Provider};
use crate::types::attrs::{into_map, tags_value};
use crate::types::{Attrs, AttrsExt, Operation};

fn opt(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

fn buffering(s3: &Value) -> BufferingHints {
    let b = s3.get("buffering").cloned().unwrap_or_else(|| json!({}));
    BufferingHints::builder()
        .set_size_in_mbs(b["size_mb"].as_i64().map(|v| v as i32))
        .set_interval_in_seconds(b["interval_seconds"].as_i64().map(|v| v as i32))
        .build()
}

fn logging(s3: &Value) -> Option<CloudWatchLoggingOptions> {
    s3.get("cloudwatch_logging").map(|l| {
        CloudWatchLoggingOptions::builder()
            .set_enabled(l["enabled"].as_bool())
            .set_log_group_name(opt(l, "log_group"))
            .set_log_stream_name(opt(l, "log_stream"))
            .build()
    })
}

pub struct FirehoseStream(pub Arc<Aws>);

#[async_trait]
impl Provider for FirehoseStream {
    fn waits(&self) -> bool {
        true
    }

    /// DescribeDeliveryStream for each, without its tags.
    async fn exist(&self, ids: &[String]) -> Result<std::collections::HashSet<String>> {
        let mut out = std::collections::HashSet::new();
        for name in ids {
            if describe(&self.0, name).await?.is_some() {
                out.insert(name.clone());
            }
        }
        Ok(out)
    }

    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let aws = &*self.0;
        let mut out = HashMap::new();
        for name in ids {
            let Some(d) = describe(aws, name).await? else {
                continue;
            };
            let tag_list = send!(
                aws.firehose.list_tags_for_delivery_stream().delivery_stream_name(name),
                "ListTagsForDeliveryStream"
            )?;
            let mut attrs = attrs_of(&d);
            attrs.insert(
                "tags".into(),
                tags_value(
                    tag_list.tags().iter().map(|t| (t.key(), t.value().unwrap_or_default())),
                ),
            );
            out.insert(name.clone(), attrs);
        }
        Ok(out)
    }

    async fn create(&self, ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let aws = &*self.0;
        let name = attrs.str("name")?.to_string();
        let s3 = attrs.get("s3").cloned().unwrap_or_else(|| json!({}));
        let config = ExtendedS3DestinationConfiguration::builder()
            .role_arn(attrs.str("role_arn")?)
            .set_bucket_arn(opt(&s3, "bucket_arn"))
            .set_prefix(opt(&s3, "prefix"))
            .set_error_output_prefix(opt(&s3, "error_output_prefix"))
            .buffering_hints(buffering(&s3))
            .set_compression_format(
                opt(&s3, "compression").map(|c| CompressionFormat::from(c.as_str())),
            )
            .set_cloud_watch_logging_options(logging(&s3))
            .build()?;
        let tag_list = attrs
            .tags()
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let request = aws
            .firehose
            .create_delivery_stream()
            .delivery_stream_name(&name)
            .delivery_stream_type(DeliveryStreamType::DirectPut)
            .extended_s3_destination_configuration(config)
            .set_tags(Some(tag_list));
        super::while_iam_propagates(ctx, || {
            let request = request.clone();
            async move { Ok(send!(request, "CreateDeliveryStream")?) }
        })
        .await?;
        // Made with what was asked and its tags; the wait's last look says
        // the rest (its ARN, version and destination ids, AWS's defaults).
        Ok(Made::holding(name, attrs.clone()))
    }

    async fn wait(&self, ctx: &OpContext, id: &str, operation: Operation) -> Result<Option<Attrs>> {
        let aws = &*self.0;
        let deleting = operation.phase() == Operation::Delete;
        let t = ctx.timeout(operation, Duration::from_secs(10 * 60));
        wait::until(ctx, operation.waiting(), t, || async {
            match send!(
                aws.firehose.describe_delivery_stream().delivery_stream_name(id),
                "DescribeDeliveryStream"
            ) {
                Ok(d) => {
                    let description = d.delivery_stream_description();
                    let status = description.map(|d| d.delivery_stream_status().clone());
                    Ok(match (deleting, status) {
                        (true, Some(s)) => Poll::Pending(s.as_str().to_string()),
                        (_, Some(DeliveryStreamStatus::Active)) => {
                            Poll::Seen(description.map(attrs_of).unwrap_or_default())
                        }
                        (
                            _,
                            Some(
                                s @ (DeliveryStreamStatus::CreatingFailed
                                | DeliveryStreamStatus::DeletingFailed),
                            ),
                        ) => Poll::Failed(s.as_str().to_string()),
                        (_, Some(s)) => Poll::Pending(s.as_str().to_string()),
                        (_, None) => Poll::Pending("unknown".into()),
                    })
                }
                Err(e) if e.is_not_found() && deleting => Ok(Poll::Done),
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> Result<()> {
        let aws = &*self.0;
        let changed = ["role_arn", "s3"]
            .iter()
            .any(|k| after.get(*k).is_some_and(|v| before.get(*k) != Some(v)));
        if changed {
            let s3 = after.get("s3").cloned().unwrap_or_else(|| json!({}));
            // The version id and destination id as they are now (UpdateDestination checks them).
            let d = send!(
                aws.firehose.describe_delivery_stream().delivery_stream_name(id),
                "DescribeDeliveryStream"
            )?;
            let d = d
                .delivery_stream_description()
                .ok_or_else(|| anyhow::anyhow!("{id} has no description"))?;
            let destination = d
                .destinations()
                .first()
                .map(|x| x.destination_id().to_string())
                .unwrap_or_default();
            let update = ExtendedS3DestinationUpdate::builder()
                .role_arn(after.str("role_arn")?)
                .set_bucket_arn(opt(&s3, "bucket_arn"))
                .prefix(opt(&s3, "prefix").unwrap_or_default())
                .error_output_prefix(opt(&s3, "error_output_prefix").unwrap_or_default())
                .buffering_hints(buffering(&s3))
                .set_compression_format(
                    opt(&s3, "compression").map(|c| CompressionFormat::from(c.as_str())),
                )
                .set_cloud_watch_logging_options(logging(&s3))
                .build();
            send!(
                aws.firehose
                    .update_destination()
                    .delivery_stream_name(id)
                    .current_delivery_stream_version_id(d.version_id())
                    .destination_id(destination)
                    .extended_s3_destination_update(update),
                "UpdateDestination"
            )?;
        }
        tags::sync(&tags::Firehose, aws, id, before, after).await?;
        Ok(())
    }

    async fn find(&self, attrs: &Attrs) -> Result<Vec<String>> {
        super::find_by_id(self, attrs.str("name")?).await
    }

    async fn delete(&self, _ctx: &OpContext, id: &str, _before: &Attrs) -> Result<()> {
        let aws = &*self.0;
        send!(
            aws.firehose.delete_delivery_stream().delivery_stream_name(id),
            "DeleteDeliveryStream"
        )
        .or_gone()?;
        Ok(())
    }
}

/// The stream of this name, if there is one.
async fn describe(
    aws: &Aws,
    name: &str,
) -> Result<Option<aws_sdk_firehose::types::DeliveryStreamDescription>> {
    Ok(send!(
        aws.firehose.describe_delivery_stream().delivery_stream_name(name),
        "DescribeDeliveryStream"
    )
    .or_gone()?
    .and_then(|d| d.delivery_stream_description().cloned()))
}

/// A stream as `read` gives it, but for its tags (a call of their own).
fn attrs_of(d: &aws_sdk_firehose::types::DeliveryStreamDescription) -> Attrs {
    let mut attrs = into_map(json!({
        "id": d.delivery_stream_name(),
        "name": d.delivery_stream_name(),
        "arn": d.delivery_stream_arn(),
        "status": d.delivery_stream_status().as_str(),
        "version_id": d.version_id(),
    }));
    let dest = d.destinations().first();
    if let Some(x) = dest.and_then(|x| x.extended_s3_destination_description()) {
        attrs.insert("role_arn".into(), json!(x.role_arn()));
        let mut s3 = Map::new();
        s3.insert("bucket_arn".into(), json!(x.bucket_arn()));
        if let Some(p) = x.prefix().filter(|p| !p.is_empty()) {
            s3.insert("prefix".into(), json!(p));
        }
        if let Some(p) = x.error_output_prefix().filter(|p| !p.is_empty()) {
            s3.insert("error_output_prefix".into(), json!(p));
        }
        let b = x.buffering_hints();
        s3.insert(
            "buffering".into(),
            json!({
                "size_mb": b.and_then(|b| b.size_in_mbs()).unwrap_or(5),
                "interval_seconds": b.and_then(|b| b.interval_in_seconds()).unwrap_or(300),
            }),
        );
        s3.insert("compression".into(), json!(x.compression_format().as_str()));
        if let Some(l) = x.cloud_watch_logging_options().filter(|l| l.log_group_name().is_some()) {
            s3.insert(
                "cloudwatch_logging".into(),
                json!({"enabled": l.enabled().unwrap_or(false), "log_group": l.log_group_name(), "log_stream": l.log_stream_name()}),
            );
        }
        attrs.insert("s3".into(), Value::Object(s3));
    }
    attrs.insert("destination_id".into(), json!(dest.map(|x| x.destination_id())));
    attrs
}
