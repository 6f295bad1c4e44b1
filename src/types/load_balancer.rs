//! `load_balancer`: an Application Load Balancer. Waits until it is active.

use super::schema::{Attr, Default, Kind, TypeSchema};

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "load_balancer",
    attrs: &[
        // Left out, a unique name is made at creation.
        Attr::new("name", Kind::String).force_new(),
        Attr::new("subnets", Kind::Set(&Kind::String)).required(),
        Attr::new("security_groups", Kind::Set(&Kind::String)),
        Attr::new("scheme", Kind::Enum(&["internet-facing", "internal"]))
            .default(Default::Str("internet-facing"))
            .force_new(),
        Attr::new("idle_timeout_seconds", Kind::Int { min: 1, max: 4000 })
            .default(Default::Int(60)),
    ],
    exports: &["id", "arn", "arn_suffix", "dns_name", "zone_id", "name"],
    ..TypeSchema::BASE
};
