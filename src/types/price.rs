//! What a type's hourly price is made from: one region's rates from the
//! bundled price table (`cost` reads it), the day it prices as of, and how a
//! rate reads. Each type that has a fixed hourly price says how it is priced
//! (`TypeSchema::price`); `cost` sums the plan.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Deserialize;

use super::Attrs;

/// One region's hourly prices.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionPrices {
    pub eks_cluster_standard: f64,
    pub eks_cluster_extended: f64,
    pub application_load_balancer: f64,
    pub nat_gateway: f64,
    pub public_ipv4_address: f64,
    pub interface_endpoint_per_zone: f64,
    /// Linux on-demand, by instance type.
    pub instances: BTreeMap<String, f64>,
}

/// What a resource is priced from.
pub struct PriceBook<'a> {
    pub rates: &'a RegionPrices,
    /// The day the table's prices were read: "now" for pricing.
    pub date: NaiveDate,
    /// The day each Kubernetes minor version leaves EKS standard support.
    pub standard_support: &'a BTreeMap<String, NaiveDate>,
}

/// What a resource costs an hour, and how that is priced (`2 × m5.large at
/// $0.096/h`); or why it cannot be priced.
pub type Price = fn(&Attrs, &PriceBook) -> Result<(f64, String), String>;

impl PriceBook<'_> {
    /// When a version leaves standard support: from the table, or, for a
    /// version newer than the table knows, not yet (`None`); older than it
    /// knows, long ago.
    pub fn standard_support_ends(&self, version: &str) -> Option<NaiveDate> {
        if let Some(end) = self.standard_support.get(version) {
            return Some(*end);
        }
        let minor = |v: &str| v.split('.').nth(1).and_then(|m| m.parse::<u32>().ok());
        let asked = minor(version)?;
        let oldest = self
            .standard_support
            .iter()
            .filter_map(|(v, d)| Some((minor(v)?, *d)))
            .min_by_key(|(m, _)| *m)?;
        (asked < oldest.0).then_some(oldest.1)
    }
}

/// An hourly price with at least two decimals: `$0.10/h`, `$0.0243/h`.
pub fn rate(price: f64) -> String {
    let text = price.to_string();
    let decimals = text.split_once('.').map_or(0, |(_, d)| d.len());
    match decimals {
        0 | 1 => format!("${price:.2}/h"),
        _ => format!("${text}/h"),
    }
}
