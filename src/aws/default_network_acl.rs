//! The provider of `default_network_acl`: the VPC's default ACL, adopted at
//! create (tagged as the stack's, its rules then made what the stack lists,
//! as a network ACL's are); at delete its tags are taken off and the ACL and
//! its rules left as they are.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;

use super::network_acl::{NetworkAcl, default_of, sync_rules};
use super::tags;
use super::{Aws, Result, ec2_tags};
use crate::provider::{Made, OpContext, Provider};
use crate::types::{Attrs, AttrsExt};

pub struct DefaultNetworkAcl(pub Arc<Aws>);

#[async_trait]
impl Provider for DefaultNetworkAcl {
    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let mut found = NetworkAcl(self.0.clone()).read(ids).await?;
        // Its subnets are every one no other ACL holds: not the stack's.
        found.values_mut().for_each(|a| {
            a.remove("subnet_ids");
        });
        Ok(found)
    }

    /// Adopts and tags the VPC's default ACL; its rules (AWS's allow-all, or
    /// what was there) are read back, and `update` makes them the stack's.
    async fn create(&self, _ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let aws = &*self.0;
        let found = default_of(aws, attrs.str("vpc_id")?).await?;
        let id = ec2_tags::adopt(aws, found, "default network ACL", attrs).await?;
        Ok(Made { id, holds: None, found: false })
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> Result<()> {
        sync_rules(&self.0, id, before, after).await?;
        tags::sync(&tags::Ec2, &self.0, id, before, after).await
    }

    /// The VPC's default ACL: there is only ever the one.
    async fn find(&self, attrs: &Attrs) -> Result<Vec<String>> {
        Ok(default_of(&self.0, attrs.str("vpc_id")?).await?.into_iter().collect())
    }

    /// Never deleted (AWS deletes it with its VPC): its tags are taken off,
    /// its rules left as the stack made them.
    async fn delete(&self, _ctx: &OpContext, id: &str, before: &Attrs) -> Result<()> {
        ec2_tags::release(&self.0, id, before).await
    }

    async fn settled(&self, id: &str, _asked: &Attrs) -> Result<Option<Attrs>> {
        ec2_tags::arn(&self.0, "network-acl", id).await.map(Some)
    }
}
