//! The lints: what AWS accepts and the field notes warn about (a warning,
//! an error under `--strict`), each with a name a resource's `accept:` may
//! give, with a reason, to silence it there (docs/stack-format.md, "Lints").

use std::fmt;

/// One lint, by what it warns about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lint {
    /// A launch template without `http_tokens: required`.
    ImdsTokens,
    /// A launch template's hop limit below 2.
    ImdsHopLimit,
    /// A security group (or rule) opening anything but TCP 80 and 443 to
    /// the internet.
    OpenIngress,
    /// A bucket whose public access block is off.
    PublicBucket,
    /// A cluster endpoint public to the internet.
    PublicEndpoint,
    /// `public_access_cidrs` on a private endpoint.
    PrivateEndpointCidrs,
    /// A cluster without `upgrade_policy`.
    UpgradePolicy,
    /// A log group without `retention_days`.
    LogRetention,
    /// A cluster logging to a log group the stack does not manage.
    EksLogGroup,
    /// A Pod Identity association on a cluster with no agent add-on.
    PodIdentityAgent,
    /// A public NAT gateway in a subnet with no route to an internet gateway.
    NatWithoutRoute,
    /// Nodes in subnets with no route out and no endpoints.
    NodesWithoutRouteOut,
    /// An endpoint's private DNS in a VPC with DNS attributes off.
    EndpointPrivateDns,
    /// A load balancer forwarding to pods no rule lets it reach.
    UnreachablePods,
    /// An internet-facing load balancer in subnets with no route to the
    /// internet gateway.
    LbWithoutRoute,
}

impl Lint {
    pub const ALL: [Lint; 15] = [
        Lint::ImdsTokens,
        Lint::ImdsHopLimit,
        Lint::OpenIngress,
        Lint::PublicBucket,
        Lint::PublicEndpoint,
        Lint::PrivateEndpointCidrs,
        Lint::UpgradePolicy,
        Lint::LogRetention,
        Lint::EksLogGroup,
        Lint::PodIdentityAgent,
        Lint::NatWithoutRoute,
        Lint::NodesWithoutRouteOut,
        Lint::EndpointPrivateDns,
        Lint::UnreachablePods,
        Lint::LbWithoutRoute,
    ];

    /// The name `accept:` gives it.
    pub fn name(self) -> &'static str {
        match self {
            Lint::ImdsTokens => "imds-tokens",
            Lint::ImdsHopLimit => "imds-hop-limit",
            Lint::OpenIngress => "open-ingress",
            Lint::PublicBucket => "public-bucket",
            Lint::PublicEndpoint => "public-endpoint",
            Lint::PrivateEndpointCidrs => "private-endpoint-cidrs",
            Lint::UpgradePolicy => "upgrade-policy",
            Lint::LogRetention => "log-retention",
            Lint::EksLogGroup => "eks-log-group",
            Lint::PodIdentityAgent => "pod-identity-agent",
            Lint::NatWithoutRoute => "nat-without-route",
            Lint::NodesWithoutRouteOut => "nodes-without-route-out",
            Lint::EndpointPrivateDns => "endpoint-private-dns",
            Lint::UnreachablePods => "unreachable-pods",
            Lint::LbWithoutRoute => "lb-without-route",
        }
    }

    pub fn parse(name: &str) -> Option<Lint> {
        Lint::ALL.into_iter().find(|l| l.name() == name)
    }

    /// Every name, for messages.
    pub fn names() -> impl Iterator<Item = &'static str> {
        Lint::ALL.into_iter().map(Lint::name)
    }
}

impl fmt::Display for Lint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lint_reads_back_from_its_name() {
        for l in Lint::ALL {
            assert_eq!(Lint::parse(l.name()), Some(l));
        }
        assert_eq!(Lint::parse("imds"), None);
    }
}
