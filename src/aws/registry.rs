//! Where resource types are registered: one line each in `SCHEMAS` and in
//! `with_provider!`.

use super::{
    ecr_repository, eks_cluster, eks_nodegroup, firehose_stream, iam_role, launch_template,
    listener, listener_rule, load_balancer, s3_bucket, security_group, subnet, target_group, vpc,
};
use crate::stack::schema::TypeSchema;

pub static SCHEMAS: &[&TypeSchema] = &[
    &vpc::SCHEMA,
    &subnet::SCHEMA,
    &security_group::SCHEMA,
    &s3_bucket::SCHEMA,
    &ecr_repository::SCHEMA,
    &target_group::SCHEMA,
    &load_balancer::SCHEMA,
    &listener::SCHEMA,
    &listener_rule::SCHEMA,
    &iam_role::SCHEMA,
    &eks_cluster::SCHEMA,
    &launch_template::SCHEMA,
    &eks_nodegroup::SCHEMA,
    &firehose_stream::SCHEMA,
];

pub fn schema(ty: &str) -> Option<&'static TypeSchema> {
    SCHEMAS.iter().copied().find(|s| s.name == ty)
}

/// Runs `$body` with `$p` bound to the provider of type `$ty`.
macro_rules! with_provider {
    ($ty:expr, $p:ident => $body:expr) => {
        match $ty {
            "vpc" => {
                type $p = $crate::aws::vpc::Vpc;
                $body
            }
            "subnet" => {
                type $p = $crate::aws::subnet::Subnet;
                $body
            }
            "security_group" => {
                type $p = $crate::aws::security_group::SecurityGroup;
                $body
            }
            "s3_bucket" => {
                type $p = $crate::aws::s3_bucket::S3Bucket;
                $body
            }
            "ecr_repository" => {
                type $p = $crate::aws::ecr_repository::EcrRepository;
                $body
            }
            "target_group" => {
                type $p = $crate::aws::target_group::TargetGroup;
                $body
            }
            "load_balancer" => {
                type $p = $crate::aws::load_balancer::LoadBalancer;
                $body
            }
            "listener" => {
                type $p = $crate::aws::listener::Listener;
                $body
            }
            "listener_rule" => {
                type $p = $crate::aws::listener_rule::ListenerRule;
                $body
            }
            "iam_role" => {
                type $p = $crate::aws::iam_role::IamRole;
                $body
            }
            "eks_cluster" => {
                type $p = $crate::aws::eks_cluster::EksCluster;
                $body
            }
            "launch_template" => {
                type $p = $crate::aws::launch_template::LaunchTemplate;
                $body
            }
            "eks_nodegroup" => {
                type $p = $crate::aws::eks_nodegroup::EksNodegroup;
                $body
            }
            "firehose_stream" => {
                type $p = $crate::aws::firehose_stream::FirehoseStream;
                $body
            }
            other => Err(anyhow::anyhow!("no provider for resource type `{other}`")),
        }
    };
}
pub(crate) use with_provider;

/// Whether a type's provider waits for what AWS accepted (`Provider::WAITS`).
pub fn waits(ty: &str) -> bool {
    with_provider!(ty, P => anyhow::Ok(<P as crate::aws::Provider>::WAITS)).unwrap_or(false)
}
