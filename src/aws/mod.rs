//! The AWS providers: one file per resource type, each implementing
//! `provider::Provider` through the official SDK with the standard credential
//! chain; `registry.rs` builds the `Registry` of them; `monitor.rs` reads
//! alarms and target health for rollouts. `AWS_ENDPOINT_URL` points every
//! client at another endpoint (a local emulator).

/// An SDK call sent, its error an `ApiError` that names the operation:
/// `send!(builder, "Op")` is `send!(builder, "Op")`,
/// the one way a provider calls AWS.
macro_rules! send {
    ($call:expr, $op:literal) => {
        $call.send().await.map_err($crate::aws::api($op))
    };
}

/// Every page of a paginated call, as `send!` sends one.
macro_rules! pages {
    ($call:expr, $op:literal) => {
        $call
            .into_paginator()
            .send()
            .collect::<std::result::Result<Vec<_>, _>>()
            .await
            .map_err($crate::aws::api($op))
    };
}

/// Every item of every page of a paginated call, as `send!` sends one.
macro_rules! items {
    ($call:expr, $op:literal) => {
        $call
            .into_paginator()
            .items()
            .send()
            .collect::<std::result::Result<Vec<_>, _>>()
            .await
            .map_err($crate::aws::api($op))
    };
}

pub mod registry;

pub mod clock;
mod ec2_tags;
mod elbv2;
mod lookups;
mod monitor;
pub mod pace;
pub mod retry;
pub mod tags;
mod wait;

mod cloudwatch_alarm;
mod cloudwatch_log_group;
mod default_network_acl;
mod default_route_table;
mod default_security_group;
mod ecr_repository;
mod eks_access_entry;
mod eks_access_policy_association;
mod eks_addon;
mod eks_cluster;
mod eks_nodegroup;
mod eks_pod_identity_association;
mod elastic_ip;
mod firehose_stream;
mod iam_instance_profile;
mod iam_oidc_provider;
mod iam_policy;
mod iam_role;
mod instance;
mod internet_gateway;
mod kms_alias;
mod kms_key;
mod launch_template;
mod listener;
mod listener_rule;
mod load_balancer;
mod nat_gateway;
mod network_acl;
mod route_table;
mod s3_bucket;
mod security_group;
mod security_group_rule;
mod subnet;
mod target_group;
mod target_group_attachment;
mod vpc;
mod vpc_dhcp_options;
mod vpc_endpoint;

use std::sync::Arc;

use aws_config::BehaviorVersion;
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

use crate::observe::Observer;
use crate::provider::{ApiError, Provider, Registry};
use crate::types::Attrs;

pub use registry::registry;

/// Every resource type's provider, one line each: its module (`NAME.rs`,
/// named as its type, declared below with the others) and what makes its
/// provider over the clients. Adding a type is its file, its `mod` and its
/// line here.
macro_rules! providers {
    ($($name:ident => $make:path),* $(,)?) => {
        /// Every type's provider, registered by its type's schema.
        fn providers(registry: Registry, aws: &Arc<Aws>) -> Registry {
            registry$(.with(&crate::types::$name::SCHEMA, Arc::new($make(aws.clone()))))*
        }
    };
}

providers! {
    vpc => vpc::Vpc,
    subnet => subnet::Subnet,
    internet_gateway => internet_gateway::InternetGateway,
    elastic_ip => elastic_ip::ElasticIp,
    nat_gateway => nat_gateway::NatGateway,
    route_table => route_table::RouteTable,
    default_route_table => default_route_table::DefaultRouteTable,
    network_acl => network_acl::NetworkAcl,
    default_network_acl => default_network_acl::DefaultNetworkAcl,
    vpc_endpoint => vpc_endpoint::VpcEndpoint,
    vpc_dhcp_options => vpc_dhcp_options::VpcDhcpOptions,
    security_group => security_group::SecurityGroup,
    security_group_rule => security_group_rule::SecurityGroupRule,
    default_security_group => default_security_group::DefaultSecurityGroup,
    s3_bucket => s3_bucket::S3Bucket::new,
    ecr_repository => ecr_repository::EcrRepository,
    target_group => target_group::TargetGroup,
    target_group_attachment => target_group_attachment::TargetGroupAttachment,
    load_balancer => load_balancer::LoadBalancer,
    listener => listener::Listener,
    listener_rule => listener_rule::ListenerRule,
    iam_role => iam_role::IamRole,
    iam_oidc_provider => iam_oidc_provider::IamOidcProvider,
    iam_instance_profile => iam_instance_profile::IamInstanceProfile,
    instance => instance::Instance,
    iam_policy => iam_policy::IamPolicy,
    kms_key => kms_key::KmsKey,
    kms_alias => kms_alias::KmsAlias,
    eks_cluster => eks_cluster::EksCluster,
    launch_template => launch_template::LaunchTemplate,
    eks_nodegroup => eks_nodegroup::EksNodegroup,
    eks_addon => eks_addon::EksAddon,
    eks_access_entry => eks_access_entry::EksAccessEntry,
    eks_access_policy_association => eks_access_policy_association::EksAccessPolicyAssociation,
    eks_pod_identity_association => eks_pod_identity_association::EksPodIdentityAssociation,
    firehose_stream => firehose_stream::FirehoseStream,
    cloudwatch_log_group => cloudwatch_log_group::CloudwatchLogGroup,
    cloudwatch_alarm => cloudwatch_alarm::CloudwatchAlarm,
}

pub type Result<T> = std::result::Result<T, anyhow::Error>;

/// Settles, before a create's intent is written, the name of a resource that
/// asks for one made from its `name_prefix`: the prefix, the time and a
/// random part (Terraform makes such names alike), so that every create
/// makes a new one and `find` finds it again.
pub fn name_from_prefix(attrs: &mut Attrs) {
    use crate::types::schema::NAME_PREFIX;
    let Some(prefix) = attrs.get(NAME_PREFIX).and_then(serde_json::Value::as_str) else {
        return;
    };
    if attrs.contains_key("name") {
        return;
    }
    let random = uuid::Uuid::new_v4().simple().to_string();
    let name = format!("{prefix}{}{}", chrono::Utc::now().format("%Y%m%d%H%M%S"), &random[..8]);
    attrs.insert("name".into(), serde_json::Value::String(name));
}

/// Both sides of an update in the type's canonical form (`canonical`), as
/// the plan compared them.
pub fn canonical_pair(canonical: fn(&mut Attrs), before: &Attrs, after: &Attrs) -> (Attrs, Attrs) {
    let (mut b, mut a) = (before.clone(), after.clone());
    canonical(&mut b);
    canonical(&mut a);
    (b, a)
}

/// The ids of what a call described: each item's `id`, those that have one
/// (a `find`'s candidates, what an `exist` found).
pub fn ids_of<'a, T: 'a, C: FromIterator<String>>(
    items: impl IntoIterator<Item = &'a T>,
    id: impl Fn(&'a T) -> Option<&'a str>,
) -> C {
    items.into_iter().filter_map(id).map(str::to_string).collect()
}

/// SDK clients for one region.
pub struct Aws {
    pub region: String,
    pub acm: aws_sdk_acm::Client,
    pub autoscaling: aws_sdk_autoscaling::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub s3: aws_sdk_s3::Client,
    pub ecr: aws_sdk_ecr::Client,
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub iam: aws_sdk_iam::Client,
    pub kms: aws_sdk_kms::Client,
    pub eks: aws_sdk_eks::Client,
    pub firehose: aws_sdk_firehose::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub sts: aws_sdk_sts::Client,
    /// AWS's time, from the `Date` of every answer of these clients.
    pub clock: clock::ServerClock,
    /// The account these credentials act in, once asked (`account`).
    account: tokio::sync::OnceCell<String>,
}

impl Aws {
    /// Clients for `region`; every retry is reported to `observer`.
    pub async fn connect(region: &str, observer: Arc<dyn Observer>) -> Aws {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_string()))
            .retry_config(retry::config())
            .timeout_config(retry::timeouts())
            .load()
            .await;
        // A custom endpoint (an emulator on loopback) cannot serve virtual-hosted
        // bucket names.
        let custom_endpoint = std::env::var_os("AWS_ENDPOINT_URL").is_some()
            || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        // Each service gets its own pace (src/aws/pace.rs) around the SDK's client.
        let http = pace::https_client();
        let paced = |service: &'static str| {
            pace::Paced::new(http.clone(), pace::Limiter::new(service, pace::max_rate(service)))
        };
        let retries = retry::RetryReporter::new(observer);
        let clock = clock::ServerClock::default();
        macro_rules! client {
            ($sdk:ident) => {
                $sdk::Client::from_conf(
                    $sdk::config::Builder::from(&config)
                        .interceptor(retries.clone())
                        .interceptor(clock.clone())
                        .http_client(paced(stringify!($sdk)))
                        .build(),
                )
            };
        }
        let s3 = aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(custom_endpoint)
            .interceptor(retries.clone())
            .interceptor(clock.clone())
            .http_client(paced("aws_sdk_s3"))
            .build();
        Aws {
            region: region.to_string(),
            acm: client!(aws_sdk_acm),
            autoscaling: client!(aws_sdk_autoscaling),
            ec2: client!(aws_sdk_ec2),
            s3: aws_sdk_s3::Client::from_conf(s3),
            ecr: client!(aws_sdk_ecr),
            elbv2: client!(aws_sdk_elasticloadbalancingv2),
            cloudwatch: client!(aws_sdk_cloudwatch),
            logs: client!(aws_sdk_cloudwatchlogs),
            iam: client!(aws_sdk_iam),
            kms: client!(aws_sdk_kms),
            eks: client!(aws_sdk_eks),
            firehose: client!(aws_sdk_firehose),
            ssm: client!(aws_sdk_ssm),
            sts: client!(aws_sdk_sts),
            clock,
            account: tokio::sync::OnceCell::new(),
        }
    }

    /// The AWS account these credentials act in (STS GetCallerIdentity),
    /// asked once: providers build ARNs from it without another call.
    pub async fn account(&self) -> Result<String> {
        self.account
            .get_or_try_init(|| async {
                let me = send!(self.sts.get_caller_identity(), "GetCallerIdentity")?;
                me.account()
                    .map(str::to_string)
                    .ok_or_else(|| anyhow::anyhow!("GetCallerIdentity named no account"))
            })
            .await
            .cloned()
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

/// `find` for a type whose id is known before it exists (its name): the id,
/// if a resource with it exists.
pub async fn find_by_id(provider: &dyn Provider, id: &str) -> Result<Vec<String>> {
    if id.is_empty() {
        anyhow::bail!("no name to look it up by");
    }
    let found = provider.read(&[id.to_string()]).await?;
    Ok(found.into_keys().filter(|k| k == id).collect())
}

/// How long a create that names a role made moments earlier is tried again
/// while IAM propagates it (AWS's advice: seconds, at most a minute or two).
const IAM_PROPAGATION: std::time::Duration = std::time::Duration::from_secs(120);

/// Whether an error says a role cannot be assumed (yet): EKS's "Role with arn
/// ... could not be assumed", Firehose's "unable to assume role".
fn role_not_assumable(e: &anyhow::Error) -> bool {
    crate::provider::api_error(e).is_some_and(|a| {
        let message = a.message.as_deref().unwrap_or("").to_lowercase();
        a.code().starts_with("Invalid")
            && ((message.contains("role") && message.contains("assume"))
                || message.contains("instance profile"))
    })
}

/// Runs a create that names a role, again with backoff for up to
/// `IAM_PROPAGATION` while AWS answers that the role cannot be assumed: a role
/// made in the same apply takes a while to be usable everywhere.
pub async fn while_iam_propagates<T, F, Fut>(
    ctx: &crate::provider::OpContext,
    mut call: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let started = tokio::time::Instant::now();
    let mut delay = std::time::Duration::from_secs(2);
    loop {
        match call().await {
            Err(e) if role_not_assumable(&e) && started.elapsed() < IAM_PROPAGATION => {
                ctx.observer.event(&crate::observe::Event::Waiting {
                    address: &ctx.address,
                    doing: "creating",
                    status: "its role cannot be assumed yet; IAM is propagating it",
                    elapsed: started.elapsed(),
                });
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(std::time::Duration::from_secs(15));
            }
            other => {
                ctx.observer.event(&crate::observe::Event::WaitOver { address: &ctx.address });
                return other;
            }
        }
    }
}

/// An SDK error as an `ApiError`, for `map_err(api("Operation"))`: the
/// operation, AWS's error code and message, the HTTP status.
pub fn api<E>(operation: &'static str) -> impl FnOnce(SdkError<E, HttpResponse>) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    move |e| ApiError {
        operation: operation.to_string(),
        code: e.code().map(str::to_string),
        message: e.message().map(str::to_string),
        status: e.raw_response().map(|r| r.status().as_u16()),
        detail: aws_smithy_types::error::display::DisplayErrorContext(&e).to_string(),
    }
}
