//! `instance`: an EC2 instance, as the EC2 side of a migration runs: its AMI,
//! type, subnet, security groups, instance profile, user data, root volume
//! and tags; IMDSv2 required with hop limit 2 by default, with the lints of a
//! launch template. A new type stops and starts it; a new AMI, subnet, user
//! data or root volume replaces it.

use serde_json::{Map, Value};

use super::price::{PriceBook, rate};
use super::schema::{Attr, Default, Kind, Removal, TypeSchema};

const ROOT: Kind = Kind::Object(&[
    Attr::new("volume_size", Kind::Int { min: 1, max: 16_384 }),
    Attr::new("volume_type", Kind::Enum(&["gp2", "gp3", "io1", "io2", "st1", "sc1"]))
        .default(Default::Str("gp3")),
    Attr::new("encrypted", Kind::Bool).default(Default::Bool(true)),
    Attr::new("delete_on_termination", Kind::Bool).default(Default::Bool(true)),
]);

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "instance",
    doc: "An EC2 instance (the EC2 side of a cut-over): AMI, type, subnet, security groups, instance profile, user data, root volume; IMDSv2 with hop limit 2 by default.",
    attrs: &[
        Attr::new("ami", Kind::String)
            .doc("The image it boots, such as ${data.ami.app.id} (replace).")
            .required()
            .force_new(),
        Attr::new("instance_type", Kind::String)
            .doc("Its type, such as m6i.large; a change stops the instance, changes it and starts it again.")
            .required(),
        Attr::new("subnet_id", Kind::String)
            .doc("The subnet it runs in (replace).")
            .required()
            .force_new(),
        Attr::new("vpc_security_group_ids", Kind::Set(&Kind::String))
            .on_removal(Removal::Keep)
            .doc("Its security groups (in place); the VPC's default group when unset."),
        Attr::new("iam_instance_profile", Kind::String)
            .on_removal(Removal::Delete)
            .doc("The name of the iam_instance_profile whose role it takes (in place; removed, disassociated)."),
        Attr::new("metadata_options", super::launch_template::METADATA)
            .doc("Instance metadata: http_tokens (required), http_put_response_hop_limit (2), http_endpoint (enabled); in place.")
            .default(Default::Json("{}")),
        Attr::new("user_data", Kind::String)
            .on_removal(Removal::Delete)
            .doc("What it runs at first boot, as text (sent base64-encoded); replace, as a new boot is what reads it. Plans show it as lines, a change as the lines it changes; a secret in it comes from a sensitive variable, which seals it.")
            .force_new()
            .kept_if_unreported(),
        Attr::new("root_block_device", ROOT)
            .on_removal(Removal::Keep)
            .doc("Its root volume: volume_size (GiB; the AMI's when unset), volume_type (gp3), encrypted (true), delete_on_termination (true); replace.")
            .force_new()
            .kept_if_unreported(),
        Attr::new("associate_public_ip_address", Kind::Bool)
            .on_removal(Removal::Keep)
            .doc("Whether it gets a public IPv4 address (the subnet's setting when unset; replace).")
            .force_new()
            .kept_if_unreported(),
    ],
    exports: &["id", "arn", "private_ip", "public_ip", "availability_zone"],
    lint: Some(super::launch_template::lint),
    price: Some(price),
    id_format: "its i-… id",
    ..TypeSchema::BASE
};

fn price(attrs: &Map<String, Value>, book: &PriceBook) -> Result<(f64, String), String> {
    let ty = attrs.get("instance_type").and_then(Value::as_str).unwrap_or_default();
    if !super::reference::is_known(&Value::String(ty.to_string())) {
        return Err("its instance type is known only after apply: not priced".into());
    }
    let price = book
        .rates
        .instances
        .get(ty)
        .ok_or_else(|| format!("the price table has no {ty} instances: not priced"))?;
    Ok((*price, format!("{ty} at {}", rate(*price))))
}
