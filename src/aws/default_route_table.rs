//! The provider of `default_route_table`: the VPC's main route table,
//! adopted at create (tagged as the stack's, its routes then made what the
//! stack lists, as a route table's are); at delete its tags are taken off and
//! the table and its routes left as they are.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_ec2::types::Filter;

use super::route_table::{RouteTable, describe, sync_routes};
use super::tags;
use super::{Aws, Result, ec2_tags};
use crate::provider::{Made, OpContext, Provider};
use crate::types::{Attrs, AttrsExt};

pub struct DefaultRouteTable(pub Arc<Aws>);

/// The id of a VPC's main route table.
async fn main_of(aws: &Aws, vpc: &str) -> Result<Option<String>> {
    let filters = vec![
        Filter::builder().name("vpc-id").values(vpc).build(),
        Filter::builder().name("association.main").values("true").build(),
    ];
    Ok(describe(aws, filters).await?.into_keys().next())
}

#[async_trait]
impl Provider for DefaultRouteTable {
    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let mut found = RouteTable(self.0.clone()).read(ids).await?;
        // Its subnets are every one no other table holds: not the stack's.
        found.values_mut().for_each(|a| {
            a.remove("subnet_ids");
        });
        Ok(found)
    }

    /// Adopts and tags the VPC's main table; its routes (the local route
    /// only, or what was added) are read back, and `update` makes them the
    /// stack's.
    async fn create(&self, _ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let aws = &*self.0;
        let found = main_of(aws, attrs.str("vpc_id")?).await?;
        let id = ec2_tags::adopt(aws, found, "main route table", attrs).await?;
        Ok(Made { id, holds: None, found: false })
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> Result<()> {
        sync_routes(&self.0, id, before, after).await?;
        tags::sync(&tags::Ec2, &self.0, id, before, after).await
    }

    /// The VPC's main table: there is only ever the one.
    async fn find(&self, attrs: &Attrs) -> Result<Vec<String>> {
        Ok(main_of(&self.0, attrs.str("vpc_id")?).await?.into_iter().collect())
    }

    /// Never deleted (AWS deletes it with its VPC): its tags are taken off,
    /// its routes left as the stack made them.
    async fn delete(&self, _ctx: &OpContext, id: &str, before: &Attrs) -> Result<()> {
        ec2_tags::release(&self.0, id, before).await
    }

    async fn settled(&self, id: &str, _asked: &Attrs) -> Result<Option<Attrs>> {
        ec2_tags::arn(&self.0, "route-table", id).await.map(Some)
    }
}
