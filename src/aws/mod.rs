//! The edge to AWS: one file per resource type, all through the official SDK with
//! the standard credential chain. `AWS_ENDPOINT_URL` points every client at
//! another endpoint (a local emulator).

pub mod registry;

mod ec2_tags;
pub mod ecr_repository;
pub mod eks_cluster;
pub mod eks_nodegroup;
mod elbv2;
pub mod firehose_stream;
pub mod iam_role;
pub mod launch_template;
pub mod listener;
pub mod listener_rule;
pub mod load_balancer;
pub mod pace;
pub mod retry;
pub mod s3_bucket;
pub mod security_group;
pub mod subnet;
pub mod target_group;
pub mod vpc;
pub mod wait;

use std::collections::HashMap;

use aws_config::BehaviorVersion;
use aws_sdk_ec2::error::ProvideErrorMetadata;
use serde_json::{Map, Value};

pub type Attrs = Map<String, Value>;
pub type Result<T> = std::result::Result<T, anyhow::Error>;

/// One type's operations. `read` takes many ids at once, so that a refresh costs
/// as few calls as the API allows; it leaves out what no longer exists.
#[allow(async_fn_in_trait)] // Used only within this crate, on concrete types.
pub trait Provider {
    async fn read(aws: &Aws, ids: &[String]) -> Result<HashMap<String, Attrs>>;
    /// Creates the resource with as little as the API needs and returns its id;
    /// `update` then brings the rest of the attributes in line.
    async fn create(aws: &Aws, attrs: &Attrs) -> Result<String>;
    async fn update(aws: &Aws, id: &str, before: &Attrs, after: &Attrs) -> Result<()>;
    async fn delete(aws: &Aws, id: &str, before: &Attrs) -> Result<()>;
    /// Looks for what a create given `attrs` made, by its `infra:stack` and
    /// `infra:address` tags or by its name: the id, or `None` when there is none.
    /// An apply killed during a create resolves its intent with this.
    async fn find(aws: &Aws, attrs: &Attrs) -> Result<Option<String>>;
    /// Fills in, before the intent to create is written, what the create would
    /// otherwise choose at random (a generated name), so that `find` can find it.
    fn prepare(_attrs: &mut Attrs) {}
    /// Whether `wait` has anything to wait for: apply then marks the operation
    /// pending in state while it waits.
    const WAITS: bool = false;
    /// Waits until AWS has finished what it accepted (EKS works asynchronously).
    /// `attrs` carries the resource's `timeouts`.
    async fn wait(_aws: &Aws, _id: &str, _phase: wait::Phase, _attrs: &Attrs) -> Result<()> {
        Ok(())
    }
    /// Brings the deferred attributes (security group rules) in line.
    async fn update_deferred(_aws: &Aws, _id: &str, _after: &Attrs) -> Result<()> {
        Ok(())
    }
    /// Removes the deferred attributes before the resource is deleted.
    async fn delete_deferred(_aws: &Aws, _id: &str) -> Result<()> {
        Ok(())
    }
}

/// SDK clients for one region.
pub struct Aws {
    pub region: String,
    pub ec2: aws_sdk_ec2::Client,
    pub s3: aws_sdk_s3::Client,
    pub ecr: aws_sdk_ecr::Client,
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub iam: aws_sdk_iam::Client,
    pub eks: aws_sdk_eks::Client,
    pub firehose: aws_sdk_firehose::Client,
}

impl Aws {
    pub async fn connect(region: &str) -> Aws {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_string()))
            .retry_config(retry::config())
            .load()
            .await;
        // A custom endpoint (an emulator on loopback) cannot serve virtual-hosted
        // bucket names.
        let custom_endpoint = std::env::var_os("AWS_ENDPOINT_URL").is_some()
            || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        // Each service gets its own pace (src/aws/pace.rs) around the SDK's client.
        let http = pace::https_client();
        let paced = |service: &'static str| {
            pace::Paced::new(
                http.clone(),
                pace::Limiter::new(service, pace::max_rate(service)),
            )
        };
        macro_rules! client {
            ($sdk:ident) => {
                $sdk::Client::from_conf(
                    $sdk::config::Builder::from(&config)
                        .interceptor(retry::RetryCounter)
                        .http_client(paced(stringify!($sdk)))
                        .build(),
                )
            };
        }
        let s3 = aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(custom_endpoint)
            .interceptor(retry::RetryCounter)
            .http_client(paced("aws_sdk_s3"))
            .build();
        Aws {
            region: region.to_string(),
            ec2: client!(aws_sdk_ec2),
            s3: aws_sdk_s3::Client::from_conf(s3),
            ecr: client!(aws_sdk_ecr),
            elbv2: client!(aws_sdk_elasticloadbalancingv2),
            cloudwatch: client!(aws_sdk_cloudwatch),
            iam: client!(aws_sdk_iam),
            eks: client!(aws_sdk_eks),
            firehose: client!(aws_sdk_firehose),
        }
    }
}

/// The most values one EC2 filter takes: reads by id go in lists this long.
pub const EC2_FILTER_VALUES: usize = 200;

/// How many per-resource reads of one type run at once (each service's pace,
/// src/aws/pace.rs, still bounds the rate).
pub const CONCURRENT_READS: usize = 8;

/// One read per item, `CONCURRENT_READS` at a time; the first error fails all.
pub async fn each<T, R, F, Fut>(items: Vec<T>, read: F) -> Result<Vec<R>>
where
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = Result<R>>,
{
    use futures::{StreamExt, stream};
    stream::iter(items)
        .map(read)
        .buffer_unordered(CONCURRENT_READS)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

/// `find` for a type whose id is known before it exists (its name): whether a
/// resource with that id exists.
pub async fn find_by_id<P: Provider>(aws: &Aws, id: &str) -> Result<Option<String>> {
    if id.is_empty() {
        anyhow::bail!("no name to look it up by");
    }
    let found = P::read(aws, &[id.to_string()]).await?;
    Ok(found.contains_key(id).then(|| id.to_string()))
}

/// An SDK error as one line: the operation, AWS's error code and message.
pub fn aws_error<E>(operation: &str, e: E) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match (e.code(), e.message()) {
        (Some(code), Some(msg)) => anyhow::anyhow!("{operation}: {code}: {msg}"),
        (Some(code), None) => anyhow::anyhow!("{operation}: {code}"),
        _ => anyhow::anyhow!(
            "{operation}: {}",
            aws_smithy_types::error::display::DisplayErrorContext(&e)
        ),
    }
}

/// The error code of an SDK error, if AWS sent one.
pub fn code<E: ProvideErrorMetadata>(e: &E) -> &str {
    e.code().unwrap_or("")
}

/// An endpoint that does not implement the operation at all (an emulator's plain
/// 404 page, with no AWS error code): callers fall back where they can.
pub fn unimplemented<E: ProvideErrorMetadata>(
    e: &aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> bool {
    e.code().is_none() && e.raw_response().is_some_and(|r| r.status().as_u16() == 404)
}

/// A string attribute, or "".
pub fn s<'a>(attrs: &'a Attrs, key: &str) -> &'a str {
    attrs.get(key).and_then(Value::as_str).unwrap_or("")
}

pub fn b(attrs: &Attrs, key: &str) -> bool {
    attrs.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// Whether an attribute differs between two attribute sets.
pub fn differs(before: &Attrs, after: &Attrs, key: &str) -> bool {
    after.contains_key(key) && before.get(key) != after.get(key)
}

/// The tags of an attribute set as pairs.
pub fn tags(attrs: &Attrs) -> Vec<(String, String)> {
    string_map(attrs, "tags").into_iter().collect()
}

/// A map-of-strings attribute (tags, labels); empty when unset.
pub fn string_map(attrs: &Attrs, key: &str) -> std::collections::BTreeMap<String, String> {
    attrs
        .get(key)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// A list-of-strings value (subnet ids, security groups, path patterns).
pub fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    v.and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    })
}

/// Tags to set and tag keys to remove to go from `before` to `after`.
pub fn tag_changes(before: &Attrs, after: &Attrs) -> (Vec<(String, String)>, Vec<String>) {
    let old: HashMap<String, String> = tags(before).into_iter().collect();
    let new = tags(after);
    let set = new
        .iter()
        .filter(|(k, v)| old.get(k) != Some(v))
        .cloned()
        .collect();
    let remove = old
        .keys()
        .filter(|k| !new.iter().any(|(n, _)| n == *k))
        .cloned()
        .collect();
    (set, remove)
}

/// Tags as an attribute value.
pub fn tags_value<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect(),
    )
}
