//! Endpoints and rules as baselines write them, against moto: a VPC with an
//! Amazon IPv6 block and a subnet's /64 cut from it, security group rules
//! from IPv6 ranges and a managed prefix list (found by a lookup), egress to
//! `::/0`, an interface endpoint found by its service with its DNS options;
//! each read back, re-planned to no changes, drift seen; and what AWS would
//! refuse refused at validate.

use crate::support::{Moto, Proxy, Workdir, runtime};

fn stack(ingress_v6: &str) -> String {
    format!(
        r#"stack: v6
region: ap-northeast-1
data:
  managed_prefix_list.s3: {{ name: com.amazonaws.ap-northeast-1.s3 }}
  vpc_endpoint_service.sts: {{ service: sts, service_type: Interface }}
resources:
  vpc.main:
    cidr_block: 10.8.0.0/16
    assign_generated_ipv6_cidr_block: true
    enable_dns_hostnames: true
  subnet.a:
    vpc_id: ${{vpc.main.id}}
    cidr_block: 10.8.1.0/24
    availability_zone: ap-northeast-1a
    ipv6_cidr_block: ${{cidrsubnet(vpc.main.ipv6_cidr_block, 8, 1)}}
    assign_ipv6_address_on_creation: true
  security_group.app:
    vpc_id: ${{vpc.main.id}}
    ingress:
      - {{ protocol: tcp, ports: "443", ipv6_cidr: "{ingress_v6}", description: v6 clients }}
    egress:
      - {{ protocol: all, ipv6_cidr: "::/0" }}
      - {{ protocol: tcp, ports: "443", prefix_list_id: "${{data.managed_prefix_list.s3.id}}" }}
  vpc_endpoint.sts:
    vpc_id: ${{vpc.main.id}}
    service_name: ${{data.vpc_endpoint_service.sts.service_name}}
    vpc_endpoint_type: Interface
    subnet_ids: ["${{subnet.a.id}}"]
    security_group_ids: ["${{security_group.app.id}}"]
    dns_options: {{ dns_record_ip_type: dualstack }}
"#
    )
}

#[test]
fn ipv6_blocks_rules_prefix_lists_and_endpoint_dns_apply_and_drift() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let rt = runtime();
    let ec2 = moto.ec2();
    let w = Workdir::new(&proxy.url, &stack("2600:1f18:abcd::/56"));
    w.apply_ok();
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/v6.json")).unwrap()).unwrap();
    let id = |a: &str| state["resources"][a]["id"].as_str().unwrap().to_string();

    let vpc = rt.block_on(ec2.describe_vpcs().vpc_ids(id("vpc.main")).send()).unwrap();
    let block =
        vpc.vpcs()[0].ipv6_cidr_block_association_set()[0].ipv6_cidr_block().unwrap().to_string();
    assert!(block.ends_with("/56"), "{block}");
    let subnet = rt.block_on(ec2.describe_subnets().subnet_ids(id("subnet.a")).send()).unwrap();
    let subnet = &subnet.subnets()[0];
    let v6 = subnet.ipv6_cidr_block_association_set()[0].ipv6_cidr_block().unwrap();
    assert!(v6.ends_with("/64"), "{v6}");
    let net: ipnet::Ipv6Net = block.parse().unwrap();
    assert!(net.contains(&v6.parse::<ipnet::Ipv6Net>().unwrap()), "{v6} in {block}");
    assert_eq!(subnet.assign_ipv6_address_on_creation(), Some(true));
    assert_eq!(subnet.ipv6_cidr_block_association_set().len(), 1, "associated once");

    let group =
        rt.block_on(ec2.describe_security_groups().group_ids(id("security_group.app")).send());
    let group = group.unwrap();
    let group = &group.security_groups()[0];
    assert_eq!(group.ip_permissions()[0].ipv6_ranges()[0].cidr_ipv6(), Some("2600:1f18:abcd::/56"));
    let egress = group.ip_permissions_egress();
    assert!(egress.iter().any(|p| p.ipv6_ranges().iter().any(|r| r.cidr_ipv6() == Some("::/0"))));
    let s3 = rt
        .block_on(ec2.describe_managed_prefix_lists().send())
        .unwrap()
        .prefix_lists()
        .iter()
        .find(|l| l.prefix_list_name() == Some("com.amazonaws.ap-northeast-1.s3"))
        .and_then(|l| l.prefix_list_id().map(str::to_string))
        .unwrap();
    assert!(
        egress.iter().any(|p| p.prefix_list_ids().iter().any(|l| l.prefix_list_id() == Some(&s3))),
        "{egress:?}"
    );
    // The endpoint was asked for its service's name and its DNS options.
    let endpoint =
        rt.block_on(ec2.describe_vpc_endpoints().vpc_endpoint_ids(id("vpc_endpoint.sts")).send());
    assert_eq!(
        endpoint.unwrap().vpc_endpoints()[0].service_name(),
        Some("com.amazonaws.ap-northeast-1.sts")
    );
    let bodies = proxy.bodies("CreateVpcEndpoint").join("\n");
    assert!(bodies.contains("DnsOptions.DnsRecordIpType=dualstack"), "{bodies}");
    w.assert_no_changes();

    // The IPv6 rule revoked by hand is drift, and comes back.
    let rules = rt
        .block_on(
            ec2.describe_security_group_rules()
                .filters(
                    aws_sdk_ec2::types::Filter::builder()
                        .name("group-id")
                        .values(id("security_group.app"))
                        .build(),
                )
                .send(),
        )
        .unwrap();
    let v6_rule = rules
        .security_group_rules()
        .iter()
        .find(|r| r.cidr_ipv6() == Some("2600:1f18:abcd::/56"))
        .and_then(|r| r.security_group_rule_id())
        .unwrap()
        .to_string();
    rt.block_on(
        ec2.revoke_security_group_ingress()
            .group_id(id("security_group.app"))
            .security_group_rule_ids(v6_rule)
            .send(),
    )
    .unwrap();
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(plan.stdout.contains("Drift since the last apply"), "{}", plan.stdout);
    w.apply_ok();
    w.assert_no_changes();

    // Ingress from the whole IPv6 internet on a port other than 443 is the
    // open-ingress lint; --strict refuses it.
    w.write_stack(
        &stack("::/0")
            .replace("ports: \"443\", ipv6_cidr: \"::/0\"", "ports: \"22\", ipv6_cidr: \"::/0\""),
    );
    let strict = w.run(&["plan", "--strict", "stack.yaml"]);
    assert_eq!(strict.code, 1, "{}\n{}", strict.stdout, strict.stderr);
    assert!(strict.stderr.contains("ingress open to the internet on 22"), "{}", strict.stderr);
    assert!(strict.stderr.contains("::/0 (the IPv6 internet)"), "{}", strict.stderr);
}

#[test]
fn ipv6_blocks_and_sources_are_checked_at_validate() {
    let moto = Moto::start();
    let w = Workdir::new(
        &moto.url,
        r#"stack: v6
region: ap-northeast-1
resources:
  subnet.a:
    vpc_id: vpc-12345678
    cidr_block: 10.8.1.0/24
    ipv6_cidr_block: "2600:1f18:abcd:1200::/56"
  subnet.b:
    vpc_id: vpc-12345678
    cidr_block: 10.8.2.0/24
    assign_ipv6_address_on_creation: true
  security_group.app:
    vpc_id: vpc-12345678
    ingress:
      - { protocol: tcp, ports: "443", ipv6_cidr: "not-a-block" }
      - { protocol: tcp, ports: "443", cidr: 10.0.0.0/8, prefix_list_id: pl-123 }
"#,
    );
    let v = w.run(&["validate", "stack.yaml"]);
    assert_eq!(v.code, 1, "{}\n{}", v.stdout, v.stderr);
    for says in [
        "is not an IPv6 /64",
        "has no IPv6 address to give",
        "`not-a-block` is not an IPv6 CIDR block",
        "needs exactly one of `cidr`, `ipv6_cidr`, `prefix_list_id` and `source_security_group`",
    ] {
        assert!(v.stderr.contains(says), "{says} in:\n{}", v.stderr);
    }
}
