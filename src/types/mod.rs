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
pub mod health;
pub mod lookup;
pub mod operation;
pub mod policy;
pub mod price;
pub mod reference;
pub mod schema;
pub mod stack_id;
pub mod state;

pub use address::Address;
pub use attrs::{AttrError, Attrs, AttrsExt};
pub use operation::{Operation, Timeouts};
pub use schema::TypeSchema;
pub use stack_id::StackId;

/// Every resource type, one line each: its module (`NAME.rs`, whose `SCHEMA`
/// describes it), in the order `SCHEMAS` lists them (the stack file's JSON
/// Schema's order). Adding a type is its file and its line here.
macro_rules! resource_types {
    ($($name:ident),* $(,)?) => {
        $(pub mod $name;)*

        /// Every resource type's schema.
        pub static SCHEMAS: &[&TypeSchema] = &[$(&$name::SCHEMA),*];
    };
}

resource_types! {
    vpc,
    subnet,
    internet_gateway,
    elastic_ip,
    nat_gateway,
    route_table,
    vpc_endpoint,
    security_group,
    s3_bucket,
    ecr_repository,
    target_group,
    load_balancer,
    listener,
    listener_rule,
    iam_role,
    iam_oidc_provider,
    eks_cluster,
    launch_template,
    eks_nodegroup,
    eks_addon,
    eks_access_entry,
    eks_access_policy_association,
    eks_pod_identity_association,
    firehose_stream,
    cloudwatch_alarm,
    cloudwatch_log_group,
}

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
