//! Where the AWS providers are registered: one line per resource type.

use std::sync::Arc;

use super::{
    Aws, cloudwatch_alarm, cloudwatch_log_group, ecr_repository, eks_access_entry,
    eks_access_policy_association, eks_addon, eks_cluster, eks_nodegroup,
    eks_pod_identity_association, elastic_ip, firehose_stream, iam_oidc_provider, iam_role,
    internet_gateway, launch_template, listener, listener_rule, load_balancer, lookups, monitor,
    nat_gateway, route_table, s3_bucket, security_group, subnet, target_group, vpc, vpc_endpoint,
};
use crate::provider::Registry;

/// The providers of every type, the finders of every kind of lookup, and the
/// rollout monitor, over one set of clients.
pub fn registry(aws: Aws) -> Registry {
    let aws = Arc::new(aws);
    let a = || aws.clone();
    Registry::new(Arc::new(monitor::CloudWatch(a())))
        .with_catalog(Arc::new(eks_addon::AddonCatalog(a())))
        .with_finder("vpc", Arc::new(lookups::FindVpc(a())))
        .with_finder("subnet", Arc::new(lookups::FindSubnets(a())))
        .with_finder("subnets", Arc::new(lookups::FindSubnets(a())))
        .with_finder("security_group", Arc::new(lookups::FindSecurityGroup(a())))
        .with_finder("load_balancer", Arc::new(lookups::FindLoadBalancer(a())))
        .with_finder("listener", Arc::new(lookups::FindListener(a())))
        .with_finder("target_group", Arc::new(lookups::FindTargetGroup(a())))
        .with_finder("iam_role", Arc::new(lookups::FindIamRole(a())))
        .with_finder("acm_certificate", Arc::new(lookups::FindCertificate(a())))
        .with("vpc", Arc::new(vpc::Vpc(a())))
        .with("subnet", Arc::new(subnet::Subnet(a())))
        .with(
            "internet_gateway",
            Arc::new(internet_gateway::InternetGateway(a())),
        )
        .with("elastic_ip", Arc::new(elastic_ip::ElasticIp(a())))
        .with("nat_gateway", Arc::new(nat_gateway::NatGateway(a())))
        .with("route_table", Arc::new(route_table::RouteTable(a())))
        .with("vpc_endpoint", Arc::new(vpc_endpoint::VpcEndpoint(a())))
        .with(
            "security_group",
            Arc::new(security_group::SecurityGroup(a())),
        )
        .with("s3_bucket", Arc::new(s3_bucket::S3Bucket::new(a())))
        .with(
            "ecr_repository",
            Arc::new(ecr_repository::EcrRepository(a())),
        )
        .with("target_group", Arc::new(target_group::TargetGroup(a())))
        .with("load_balancer", Arc::new(load_balancer::LoadBalancer(a())))
        .with("listener", Arc::new(listener::Listener(a())))
        .with("listener_rule", Arc::new(listener_rule::ListenerRule(a())))
        .with("iam_role", Arc::new(iam_role::IamRole(a())))
        .with(
            "iam_oidc_provider",
            Arc::new(iam_oidc_provider::IamOidcProvider(a())),
        )
        .with("eks_cluster", Arc::new(eks_cluster::EksCluster(a())))
        .with(
            "launch_template",
            Arc::new(launch_template::LaunchTemplate(a())),
        )
        .with("eks_nodegroup", Arc::new(eks_nodegroup::EksNodegroup(a())))
        .with("eks_addon", Arc::new(eks_addon::EksAddon(a())))
        .with(
            "eks_access_entry",
            Arc::new(eks_access_entry::EksAccessEntry(a())),
        )
        .with(
            "eks_access_policy_association",
            Arc::new(eks_access_policy_association::EksAccessPolicyAssociation(
                a(),
            )),
        )
        .with(
            "eks_pod_identity_association",
            Arc::new(eks_pod_identity_association::EksPodIdentityAssociation(a())),
        )
        .with(
            "firehose_stream",
            Arc::new(firehose_stream::FirehoseStream(a())),
        )
        .with(
            "cloudwatch_log_group",
            Arc::new(cloudwatch_log_group::CloudwatchLogGroup(a())),
        )
        .with(
            "cloudwatch_alarm",
            Arc::new(cloudwatch_alarm::CloudwatchAlarm(a())),
        )
}

#[cfg(test)]
mod tests {
    /// Every type the stack file knows has a provider, and no provider lacks a type.
    #[tokio::test]
    async fn every_type_has_a_provider() {
        let aws =
            super::Aws::connect("us-east-1", std::sync::Arc::new(crate::observe::Silent)).await;
        let registry = super::registry(aws);
        let mut provided: Vec<&str> = registry.types().collect();
        let mut described: Vec<&str> = crate::types::SCHEMAS.iter().map(|s| s.name).collect();
        provided.sort_unstable();
        described.sort_unstable();
        assert_eq!(provided, described);
        let mut finders: Vec<&str> = registry.finder_kinds().collect();
        let mut kinds: Vec<&str> = crate::types::lookup::LOOKUPS
            .iter()
            .map(|l| l.name)
            .collect();
        finders.sort_unstable();
        kinds.sort_unstable();
        assert_eq!(finders, kinds);
    }
}
