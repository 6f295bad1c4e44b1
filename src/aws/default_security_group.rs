//! The provider of `default_security_group`: the VPC's default group,
//! adopted at create (tagged as the stack's, its rules then made what the
//! stack lists, as a security group's are); at delete its tags are taken
//! off and the group and its rules left as they are.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_ec2::types::Filter;

use super::security_group::{SecurityGroup, matching};
use super::tags;
use super::{Aws, Result, ec2_tags};
use crate::provider::{Made, OpContext, Provider};
use crate::types::{Attrs, AttrsExt};

pub struct DefaultSecurityGroup(pub Arc<Aws>);

impl DefaultSecurityGroup {
    fn group(&self) -> SecurityGroup {
        SecurityGroup(self.0.clone())
    }
}

/// The id of a VPC's default group.
async fn default_of(aws: &Aws, vpc: &str) -> Result<Option<String>> {
    let filters = vec![
        Filter::builder().name("vpc-id").values(vpc).build(),
        Filter::builder().name("group-name").values("default").build(),
    ];
    Ok(matching(aws, filters).await?.into_keys().next())
}

#[async_trait]
impl Provider for DefaultSecurityGroup {
    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        self.group().read(ids).await
    }

    /// Adopts the VPC's default group and tags it. Its rules are not known
    /// here (AWS's own, naming the group): the rules' own step reads them
    /// once and makes them what the stack lists.
    async fn create(&self, _ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let aws = &*self.0;
        let found = default_of(aws, attrs.str("vpc_id")?).await?;
        let id = ec2_tags::adopt(aws, found, "default security group", attrs).await?;
        let mut holds = attrs.clone();
        holds.remove("ingress");
        holds.remove("egress");
        holds.insert("id".into(), serde_json::Value::String(id.clone()));
        Ok(Made::holding(&id, holds))
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> Result<()> {
        tags::sync(&tags::Ec2, &self.0, id, before, after).await
    }

    async fn update_deferred(
        &self,
        ctx: &OpContext,
        id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> Result<()> {
        self.group().update_deferred(ctx, id, before, after).await
    }

    /// The VPC's default group: there is only ever the one.
    async fn find(&self, attrs: &Attrs) -> Result<Vec<String>> {
        Ok(default_of(&self.0, attrs.str("vpc_id")?).await?.into_iter().collect())
    }

    /// Never deleted (AWS deletes it with its VPC): its tags are taken off,
    /// its rules left as the stack made them.
    async fn delete(&self, _ctx: &OpContext, id: &str, before: &Attrs) -> Result<()> {
        ec2_tags::release(&self.0, id, before).await
    }

    async fn settled(&self, id: &str, _asked: &Attrs) -> Result<Option<Attrs>> {
        ec2_tags::arn(&self.0, "security-group", id).await.map(Some)
    }

    async fn exist(&self, ids: &[String]) -> Result<std::collections::HashSet<String>> {
        self.group().exist(ids).await
    }
}
