//! What the ELBv2 types share: tags, generated names, and listener actions in the
//! stack file's words.

use std::collections::HashMap;

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, FixedResponseActionConfig, ForwardActionConfig, RedirectActionConfig,
    RedirectActionStatusCodeEnum, Tag, TargetGroupStickinessConfig, TargetGroupTuple,
};
use serde_json::{Map, Value, json};

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

use super::{Aws, Result, api};
use crate::types::attrs::tags_value;
use crate::types::stack_id::{ADDRESS_TAG, ENV_TAG, STACK_TAG};
use crate::types::{Attrs, AttrsExt};

/// Describes resources by ARN, twenty a call. One missing ARN fails a whole call
/// (`TargetGroupNotFound`, ...), so that batch is asked again one ARN at a time,
/// and what is missing is left out.
pub async fn describe_by_arns<T, E, F, Fut>(
    ids: &[String],
    operation: &'static str,
    call: F,
) -> Result<Vec<T>>
where
    F: Fn(Vec<String>) -> Fut,
    Fut: std::future::Future<Output = std::result::Result<Vec<T>, SdkError<E, HttpResponse>>>,
    E: aws_sdk_elasticloadbalancingv2::error::ProvideErrorMetadata
        + std::error::Error
        + Send
        + Sync
        + 'static,
{
    let mut out = Vec::new();
    for chunk in ids.chunks(20) {
        match call(chunk.to_vec()).await.map_err(api(operation)) {
            Ok(found) => out.extend(found),
            Err(e) if e.is_not_found() => {
                for arn in chunk {
                    match call(vec![arn.clone()]).await.map_err(api(operation)) {
                        Ok(found) => out.extend(found),
                        Err(e) if e.is_not_found() => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

/// ELBv2 tags as pairs for a create call.
pub use crate::types::load_balancer::arn_suffix;

pub fn tag_list(attrs: &Attrs) -> Vec<Tag> {
    attrs.tags().into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

/// The tags of many resources, twenty ARNs a call.
pub async fn read_tags(aws: &Aws, arns: &[String]) -> Result<HashMap<String, Value>> {
    let mut out = HashMap::new();
    for chunk in arns.chunks(20) {
        let r = send!(
            aws.elbv2.describe_tags().set_resource_arns(Some(chunk.to_vec())),
            "DescribeTags"
        )?;
        for d in r.tag_descriptions() {
            let value = tags_value(
                d.tags()
                    .iter()
                    .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())),
            );
            out.insert(d.resource_arn().unwrap_or_default().to_string(), value);
        }
    }
    Ok(out)
}

/// What was described, each with its ARN (`arn_of`) and its tags (`{}`
/// when it has none): the one read-with-tags of every ELBv2 type, one
/// DescribeTags for twenty.
pub async fn with_tags<T>(
    aws: &Aws,
    found: Vec<T>,
    arn_of: impl Fn(&T) -> Option<&str>,
) -> Result<Vec<(String, T, Value)>> {
    let arns: Vec<String> = found.iter().filter_map(|x| arn_of(x).map(str::to_string)).collect();
    let tags = read_tags(aws, &arns).await?;
    Ok(found
        .into_iter()
        .map(|x| {
            let arn = arn_of(&x).unwrap_or_default().to_string();
            let t = tags.get(&arn).cloned().unwrap_or_else(|| json!({}));
            (arn, x, t)
        })
        .collect())
}

/// What was described, as `attrs_of` reads each, with its tags, by ARN.
pub async fn read_with_tags<T>(
    aws: &Aws,
    found: Vec<T>,
    arn_of: impl Fn(&T) -> Option<&str>,
    attrs_of: impl Fn(&T) -> Attrs,
) -> Result<HashMap<String, Attrs>> {
    let read = with_tags(aws, found, arn_of).await?;
    Ok(read
        .into_iter()
        .map(|(arn, x, tags)| {
            let mut attrs = attrs_of(&x);
            attrs.insert("tags".into(), tags);
            (arn, attrs)
        })
        .collect())
}

/// A name for a load balancer or target group the stack did not name: its stack
/// and handle, and a random suffix so that a replacement can exist beside the
/// object it replaces. At most 32 characters.
pub fn generated_name(attrs: &Attrs) -> String {
    let tags: HashMap<String, String> = attrs.tags().into_iter().collect();
    let stack = match (tags.get(STACK_TAG), tags.get(ENV_TAG)) {
        (Some(s), Some(e)) => format!("{s}-{e}"),
        (Some(s), None) => s.clone(),
        _ => "infra".to_string(),
    };
    let handle =
        tags.get(ADDRESS_TAG).and_then(|a| a.split_once('.')).map(|(_, n)| n).unwrap_or("x");
    let clean: String = format!("{stack}-{handle}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(25)
        .collect();
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..6];
    format!("{}-{suffix}", clean.trim_matches('-'))
}

/// Settles the generated name of an unnamed load balancer or target group.
pub fn name_if_unnamed(attrs: &mut Attrs) {
    if !attrs.contains_key("name") {
        attrs.insert("name".into(), Value::String(generated_name(attrs)));
    }
}

/// The default action of a listener (or a rule's action) from `forward`,
/// `redirect` or `fixed_response`.
pub fn action(attrs: &Attrs) -> Action {
    // What is no longer set (`null`) is as if unset: the action is whole.
    let set = |k: &str| attrs.get(k).filter(|v| !v.is_null());
    if let Some(forward) = set("forward").and_then(Value::as_array) {
        let tuples = forward
            .iter()
            .map(|t| {
                TargetGroupTuple::builder()
                    .set_target_group_arn(
                        t.get("target_group_arn").and_then(Value::as_str).map(str::to_string),
                    )
                    .set_weight(t.get("weight").and_then(Value::as_i64).map(|w| w as i32))
                    .build()
            })
            .collect();
        let mut config = ForwardActionConfig::builder().set_target_groups(Some(tuples));
        // Stickiness no longer set is turned off.
        if attrs.get("stickiness").is_some_and(Value::is_null) {
            config = config.target_group_stickiness_config(
                TargetGroupStickinessConfig::builder().enabled(false).build(),
            );
        }
        if let Some(st) = set("stickiness") {
            config = config.target_group_stickiness_config(
                TargetGroupStickinessConfig::builder()
                    .set_enabled(st.get("enabled").and_then(Value::as_bool))
                    .set_duration_seconds(
                        st.get("duration_seconds").and_then(Value::as_i64).map(|d| d as i32),
                    )
                    .build(),
            );
        }
        return Action::builder()
            .r#type(ActionTypeEnum::Forward)
            .forward_config(config.build())
            .build();
    }
    let get = |o: &Value, k: &str| o.get(k).and_then(Value::as_str).map(str::to_string);
    if let Some(r) = set("redirect") {
        let config = RedirectActionConfig::builder()
            .set_protocol(get(r, "protocol"))
            .set_port(get(r, "port"))
            .set_host(get(r, "host"))
            .set_path(get(r, "path"))
            .set_query(get(r, "query"))
            .set_status_code(
                get(r, "status_code").map(|s| RedirectActionStatusCodeEnum::from(s.as_str())),
            )
            .build();
        return Action::builder().r#type(ActionTypeEnum::Redirect).redirect_config(config).build();
    }
    let f = set("fixed_response").cloned().unwrap_or_else(|| json!({"status_code": "404"}));
    let config = FixedResponseActionConfig::builder()
        .set_status_code(get(&f, "status_code"))
        .set_content_type(get(&f, "content_type"))
        .set_message_body(get(&f, "message_body"))
        .build();
    Action::builder().r#type(ActionTypeEnum::FixedResponse).fixed_response_config(config).build()
}

/// An action in the stack file's words, merged into `out`: `forward` (with
/// `stickiness`), `redirect` or `fixed_response`.
pub fn action_value(action: &Action, out: &mut Map<String, Value>) {
    if let Some(f) = action.forward_config() {
        let forward: Vec<Value> = f
            .target_groups()
            .iter()
            .map(|t| json!({"target_group_arn": t.target_group_arn(), "weight": t.weight().unwrap_or(1)}))
            .collect();
        out.insert("forward".into(), Value::Array(forward));
        if let Some(st) = f.target_group_stickiness_config() {
            let mut s = Map::new();
            s.insert("enabled".into(), json!(st.enabled().unwrap_or(false)));
            if let Some(d) = st.duration_seconds() {
                s.insert("duration_seconds".into(), json!(d));
            }
            out.insert("stickiness".into(), Value::Object(s));
        }
    } else if let Some(arn) = action.target_group_arn() {
        out.insert("forward".into(), json!([{"target_group_arn": arn, "weight": 1}]));
    } else if let Some(r) = action.redirect_config() {
        out.insert(
            "redirect".into(),
            json!({
                "protocol": r.protocol(), "port": r.port(), "host": r.host(), "path": r.path(),
                "query": r.query(), "status_code": r.status_code().map(|s| s.as_str()),
            }),
        );
    } else if let Some(f) = action.fixed_response_config() {
        let mut m = Map::new();
        m.insert("status_code".into(), json!(f.status_code()));
        if let Some(c) = f.content_type() {
            m.insert("content_type".into(), json!(c));
        }
        if let Some(b) = f.message_body().filter(|b| !b.is_empty()) {
            m.insert("message_body".into(), json!(b));
        }
        out.insert("fixed_response".into(), Value::Object(m));
    }
}
