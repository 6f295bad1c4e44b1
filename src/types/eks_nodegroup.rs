//! `eks_nodegroup`: a managed node group. Scaling, labels and taints change in
//! place (UpdateNodegroupConfig), the launch template version too
//! (UpdateNodegroupVersion); instance types force a replacement.

use serde_json::{Map, Value};

use super::schema::{Attr, Default, Finding, Kind, NameDefault, TypeSchema};

const SCALING: Kind = Kind::Object(&[
    Attr::new("min", Kind::Int { min: 0, max: 1000 }).required(),
    Attr::new("max", Kind::Int { min: 1, max: 1000 }).required(),
    Attr::new("desired", Kind::Int { min: 0, max: 1000 }).required(),
]);

const TAINT: Kind = Kind::Object(&[
    Attr::new("key", Kind::String).required(),
    Attr::new("value", Kind::String),
    Attr::new(
        "effect",
        Kind::Enum(&["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"]),
    )
    .required(),
]);

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "eks_nodegroup",
    attrs: &[
        Attr::new("cluster_name", Kind::String)
            .required()
            .force_new(),
        Attr::new("name", Kind::String).force_new(),
        Attr::new("node_role_arn", Kind::String)
            .required()
            .force_new(),
        Attr::new("subnet_ids", Kind::Set(&Kind::String))
            .required()
            .force_new(),
        Attr::new("instance_types", Kind::Set(&Kind::String)).force_new(),
        Attr::new("scaling", SCALING).required(),
        Attr::new(
            "launch_template",
            Kind::Object(&[
                Attr::new("id", Kind::String).required().force_new(),
                Attr::new("version", Kind::String).required(),
            ]),
        ),
        Attr::new("labels", Kind::Map(&Kind::String)).default(Default::Json("{}")),
        Attr::new("taints", Kind::Set(&TAINT)).default(Default::EmptyList),
        Attr::new("capacity_type", Kind::Enum(&["ON_DEMAND", "SPOT"]))
            .default(Default::Str("ON_DEMAND"))
            .force_new(),
        Attr::new(
            "update_config",
            Kind::Object(
                &[Attr::new("max_unavailable", Kind::Int { min: 1, max: 100 }).required()],
            ),
        ),
    ],
    exports: &["id", "name", "arn", "status"],
    name_attr: Some(("name", NameDefault::StackAndName)),
    check: Some(check),
    ..TypeSchema::BASE
};

pub fn check(attrs: &Map<String, Value>) -> Vec<Finding> {
    let s = &attrs["scaling"];
    let (min, max, desired) = (s["min"].as_i64(), s["max"].as_i64(), s["desired"].as_i64());
    match (min, max, desired) {
        (Some(min), Some(max), Some(desired)) if !(min <= desired && desired <= max) => {
            vec![Finding {
                pointer: "/scaling".into(),
                message: format!(
                    "scaling needs min ≤ desired ≤ max; found min {min}, desired {desired}, max {max}"
                ),
                hint: None,
            }]
        }
        _ => Vec::new(),
    }
}
