//! The registry over one set of clients: the rollout monitor, the add-on
//! catalog, a finder for each kind of lookup (by its schema), and every
//! type's provider (`aws::providers`, one line per type).

use std::sync::Arc;

use super::{Aws, eks_addon, lookups, monitor};
use crate::provider::Registry;
use crate::types::lookup;

/// The providers of every type, the finders of every kind of lookup, and the
/// rollout monitor, over one set of clients.
pub fn registry(aws: Aws) -> Registry {
    let aws = Arc::new(aws);
    let a = || aws.clone();
    let registry = Registry::new(Arc::new(monitor::CloudWatch(a())))
        .with_catalog(Arc::new(eks_addon::AddonCatalog(a())))
        .with_finder(&lookup::VPC, Arc::new(lookups::FindVpc(a())))
        .with_finder(&lookup::SUBNET, Arc::new(lookups::FindSubnets(a())))
        .with_finder(&lookup::SUBNETS, Arc::new(lookups::FindSubnets(a())))
        .with_finder(&lookup::SECURITY_GROUP, Arc::new(lookups::FindSecurityGroup(a())))
        .with_finder(&lookup::LOAD_BALANCER, Arc::new(lookups::FindLoadBalancer(a())))
        .with_finder(&lookup::LISTENER, Arc::new(lookups::FindListener(a())))
        .with_finder(&lookup::TARGET_GROUP, Arc::new(lookups::FindTargetGroup(a())))
        .with_finder(&lookup::IAM_ROLE, Arc::new(lookups::FindIamRole(a())))
        .with_finder(&lookup::ACM_CERTIFICATE, Arc::new(lookups::FindCertificate(a())))
        .with_finder(&lookup::SSM_PARAMETER, Arc::new(lookups::FindParameter(a())))
        .with_finder(&lookup::EKS_ADDON_VERSION, Arc::new(lookups::FindAddonVersion(a())))
        .with_finder(&lookup::MANAGED_PREFIX_LIST, Arc::new(lookups::FindPrefixList(a())))
        .with_finder(&lookup::VPC_ENDPOINT_SERVICE, Arc::new(lookups::FindEndpointService(a())))
        .with_finder(&lookup::AMI, Arc::new(lookups::FindAmi(a())))
        .with_finder(&lookup::AUTOSCALING_GROUP, Arc::new(lookups::FindAutoscalingGroup(a())));
    super::providers(registry, &aws)
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
        let mut kinds: Vec<&str> = crate::types::lookup::LOOKUPS.iter().map(|l| l.name).collect();
        finders.sort_unstable();
        kinds.sort_unstable();
        assert_eq!(finders, kinds);
    }
}
