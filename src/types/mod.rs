//! The pure description of every resource type: its schema (attributes, kinds,
//! defaults), its checks and lints, its canonical form, what it exports; and the
//! vocabulary every layer shares (`Address`, `Attrs`, references, `Operation`).
//!
//! No SDK type, no `async`, no client: the core (`stack`, `graph`, `plan`,
//! `render`, step building) depends on this and never on `src/aws`, and each
//! provider in `src/aws` depends on it for what it reads and writes.

pub mod address;
pub mod attrs;
pub mod exposure;
pub mod expr;
pub mod health;
pub mod lint;
pub mod lookup;
pub mod operation;
pub mod policy;
pub mod price;
pub mod reference;
pub mod schema;
pub mod stack_id;
pub mod state;

pub use address::{Address, InstanceKey, ModulePath, ModuleStep};
pub use attrs::{AttrError, Attrs, AttrsExt};
pub use operation::{Operation, Timeouts};
pub use schema::TypeSchema;
pub use stack_id::StackId;

pub mod cloudwatch_alarm;
pub mod cloudwatch_log_group;
pub mod default_network_acl;
pub mod default_route_table;
pub mod default_security_group;
pub mod ecr_repository;
pub mod eks_access_entry;
pub mod eks_access_policy_association;
pub mod eks_addon;
pub mod eks_cluster;
pub mod eks_nodegroup;
pub mod eks_pod_identity_association;
pub mod elastic_ip;
pub mod firehose_stream;
pub mod iam_instance_profile;
pub mod iam_oidc_provider;
pub mod iam_policy;
pub mod iam_role;
pub mod instance;
pub mod internet_gateway;
pub mod kms_alias;
pub mod kms_key;
pub mod launch_template;
pub mod listener;
pub mod listener_rule;
pub mod load_balancer;
pub mod nat_gateway;
pub mod network_acl;
pub mod route_table;
pub mod s3_bucket;
pub mod security_group;
pub mod security_group_rule;
pub mod subnet;
pub mod target_group;
pub mod target_group_attachment;
pub mod vpc;
pub mod vpc_dhcp_options;
pub mod vpc_endpoint;

/// Every resource type, one line each, in the order the stack file's JSON
/// Schema lists them. Adding a type is its file, its `pub mod` above and its
/// line here.
pub static SCHEMAS: &[&TypeSchema] = &[
    &vpc::SCHEMA,
    &subnet::SCHEMA,
    &internet_gateway::SCHEMA,
    &elastic_ip::SCHEMA,
    &nat_gateway::SCHEMA,
    &route_table::SCHEMA,
    &default_route_table::SCHEMA,
    &network_acl::SCHEMA,
    &default_network_acl::SCHEMA,
    &vpc_endpoint::SCHEMA,
    &vpc_dhcp_options::SCHEMA,
    &security_group::SCHEMA,
    &security_group_rule::SCHEMA,
    &default_security_group::SCHEMA,
    &s3_bucket::SCHEMA,
    &ecr_repository::SCHEMA,
    &target_group::SCHEMA,
    &target_group_attachment::SCHEMA,
    &load_balancer::SCHEMA,
    &listener::SCHEMA,
    &listener_rule::SCHEMA,
    &iam_role::SCHEMA,
    &iam_oidc_provider::SCHEMA,
    &iam_instance_profile::SCHEMA,
    &instance::SCHEMA,
    &iam_policy::SCHEMA,
    &kms_key::SCHEMA,
    &kms_alias::SCHEMA,
    &eks_cluster::SCHEMA,
    &launch_template::SCHEMA,
    &eks_nodegroup::SCHEMA,
    &eks_addon::SCHEMA,
    &eks_access_entry::SCHEMA,
    &eks_access_policy_association::SCHEMA,
    &eks_pod_identity_association::SCHEMA,
    &firehose_stream::SCHEMA,
    &cloudwatch_alarm::SCHEMA,
    &cloudwatch_log_group::SCHEMA,
];

/// The schema of a type, by its name in the stack file.
pub fn schema(ty: &str) -> Option<&'static TypeSchema> {
    SCHEMAS.iter().copied().find(|s| s.name == ty)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every optional attribute with no default says what removing it from
    /// the stack file does (`schema::Removal`), and one whose name the stack
    /// makes up (it is always set) says nothing.
    #[test]
    fn every_optional_attribute_says_what_its_removal_means() {
        let mut silent = Vec::new();
        for s in SCHEMAS {
            for a in s.attrs {
                let named = s.name_attr.is_some_and(|(n, _)| n == a.name);
                if a.optional_without_default() && !named && a.removal.is_none() {
                    silent.push(format!("{}.{}", s.name, a.name));
                }
            }
        }
        assert!(silent.is_empty(), "no removal said: {silent:?}");
    }
}
