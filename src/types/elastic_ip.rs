//! `elastic_ip`: an Elastic IP address in the VPC domain, kept for a public NAT
//! gateway (or anything else that needs a fixed public address). Only its tags
//! change in place.

use super::Attrs;
use super::price::{PriceBook, rate};
use super::schema::TypeSchema;

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "elastic_ip",
    doc: "An Elastic IP address in the VPC domain, kept for a public NAT gateway or anything else that needs a fixed public address.",
    attrs: &[],
    // `id` is the allocation id (`eipalloc-…`), what a NAT gateway takes.
    exports: &["id", "public_ip"],
    price: Some(price),
    id_format: "its eipalloc-… allocation id",
    ..TypeSchema::BASE
};

/// A public IPv4 address by the hour.
fn price(_: &Attrs, book: &PriceBook) -> Result<(f64, String), String> {
    let r = book.rates.public_ipv4_address;
    Ok((r, format!("public IPv4 address at {}", rate(r))))
}
