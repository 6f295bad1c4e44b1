//! Where resource types are registered: one line each in `SCHEMAS` and in
//! `with_provider!`.

use super::{ecr_repository, s3_bucket, security_group, subnet, vpc};
use crate::stack::schema::TypeSchema;

pub static SCHEMAS: &[&TypeSchema] = &[
    &vpc::SCHEMA,
    &subnet::SCHEMA,
    &security_group::SCHEMA,
    &s3_bucket::SCHEMA,
    &ecr_repository::SCHEMA,
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
            other => Err(anyhow::anyhow!("no provider for resource type `{other}`")),
        }
    };
}
pub(crate) use with_provider;
