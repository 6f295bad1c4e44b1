//! The network types against moto, checked through the SDK.

use crate::support::{Moto, Proxy, Workdir, flat_stack, inventory, kill_at, last_line, runtime};

fn stack(gateway_vpc: &str) -> String {
    format!(
        "stack: net
region: ap-northeast-1
resources:
  vpc.a: {{ cidr_block: 10.40.0.0/16 }}
  vpc.b: {{ cidr_block: 10.41.0.0/16 }}
  internet_gateway.main:
    vpc_id: ${{vpc.{gateway_vpc}.id}}
"
    )
}

/// The gateway attached to its VPC, with the stack's tags.
fn attachment(moto: &Moto) -> Vec<(String, String)> {
    runtime()
        .block_on(moto.ec2().describe_internet_gateways().send())
        .unwrap()
        .internet_gateways()
        .iter()
        .filter(|g| {
            g.tags().iter().any(|t| {
                t.key() == Some("infra:address") && t.value() == Some("internet_gateway.main")
            })
        })
        .map(|g| {
            (
                g.internet_gateway_id().unwrap().to_string(),
                g.attachments().iter().find_map(|a| a.vpc_id()).unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// An internet gateway is made attached to its VPC, reads back with no
/// changes, moves to another VPC in place (detach, attach), and is detached
/// before destroy deletes it.
#[test]
fn an_internet_gateway_is_attached_moved_in_place_and_detached_before_delete() {
    let moto = Moto::start();
    let w = Workdir::new(&moto.url, &stack("a"));
    w.apply_ok();
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/net.json")).unwrap()).unwrap();
    let vpc = |n: &str| state["resources"][format!("vpc.{n}")]["id"].as_str().unwrap().to_string();
    let made = attachment(&moto);
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!(made[0].1, vpc("a"));
    w.assert_no_changes();

    w.write_stack(&stack("b"));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout.contains("# internet_gateway.main will be updated in place"),
        "{}",
        plan.stdout
    );
    assert_eq!(last_line(&plan.stdout), "Plan: 0 to add, 1 to change, 0 to destroy.");
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    let moved = attachment(&moto);
    assert_eq!(moved, vec![(made[0].0.clone(), vpc("b"))], "the same gateway, now in b");
    w.assert_no_changes();

    let d = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);
    assert!(attachment(&moto).is_empty());
}

/// Where a table's default route goes: its gateway or NAT gateway id.
fn default_route(moto: &Moto, table: &str) -> String {
    let t = runtime()
        .block_on(moto.ec2().describe_route_tables().route_table_ids(table).send())
        .unwrap();
    let route = t.route_tables()[0]
        .routes()
        .iter()
        .find(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
        .cloned()
        .unwrap_or_else(|| panic!("{table} has a default route: {t:?}"));
    route.nat_gateway_id().or(route.gateway_id()).unwrap().to_string()
}

/// The subnets associated with a table.
fn associated(moto: &Moto, table: &str) -> Vec<String> {
    let t = runtime()
        .block_on(moto.ec2().describe_route_tables().route_table_ids(table).send())
        .unwrap();
    let mut out: Vec<String> = t.route_tables()[0]
        .associations()
        .iter()
        .filter_map(|a| a.subnet_id().map(str::to_string))
        .collect();
    out.sort();
    out
}

/// The platform's network on moto: the public table sends the internet to the
/// internet gateway, each private table to its zone's NAT gateway (made with
/// its Elastic IP in a public subnet), the S3 endpoint sits on the private
/// tables. Moving a subnet to another table and adding a route are in-place
/// updates, the subnet taken over in one call (never without a table); destroy
/// leaves nothing of it.
#[test]
fn the_platform_network_routes_through_its_gateways_and_changes_in_place() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let w = Workdir::new(&proxy.url, &flat_stack("platform"));
    w.apply_ok();
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/platform.json")).unwrap())
            .unwrap();
    let id = |a: &str| {
        state["resources"][a]["id"].as_str().unwrap_or_else(|| panic!("{a} in state")).to_string()
    };
    assert_eq!(default_route(&moto, &id("route_table.public")), id("internet_gateway.main"));
    assert_eq!(
        default_route(&moto, &id("route_table.private[\"a\"]")),
        id("nat_gateway.zone[\"a\"]")
    );
    assert_eq!(
        default_route(&moto, &id("route_table.private[\"c\"]")),
        id("nat_gateway.zone[\"c\"]")
    );
    let mut public = vec![id("subnet.public[\"a\"]"), id("subnet.public[\"c\"]")];
    public.sort();
    assert_eq!(associated(&moto, &id("route_table.public")), public);
    assert_eq!(
        associated(&moto, &id("route_table.private[\"c\"]")),
        vec![id("subnet.private[\"c\"]")]
    );
    let rt = runtime();
    let nat = rt
        .block_on(
            moto.ec2()
                .describe_nat_gateways()
                .nat_gateway_ids(id("nat_gateway.zone[\"a\"]"))
                .send(),
        )
        .unwrap();
    let nat = &nat.nat_gateways()[0];
    assert_eq!(nat.subnet_id(), Some(id("subnet.public[\"a\"]").as_str()));
    assert_eq!(
        nat.nat_gateway_addresses()[0].allocation_id(),
        Some(id("elastic_ip.nat[\"a\"]").as_str())
    );
    let endpoint = rt
        .block_on(
            moto.ec2().describe_vpc_endpoints().vpc_endpoint_ids(id("vpc_endpoint.s3")).send(),
        )
        .unwrap();
    let mut tables = endpoint.vpc_endpoints()[0].route_table_ids().to_vec();
    tables.sort();
    let mut private = vec![id("route_table.private[\"a\"]"), id("route_table.private[\"c\"]")];
    private.sort();
    assert_eq!(tables, private);
    let dns = rt
        .block_on(
            moto.ec2()
                .describe_vpc_attribute()
                .vpc_id(id("vpc.main"))
                .attribute(aws_sdk_ec2::types::VpcAttributeName::EnableDnsHostnames)
                .send(),
        )
        .unwrap();
    assert_eq!(dns.enable_dns_hostnames().and_then(|v| v.value()), Some(true));
    let again = w.run(&["plan", "--detailed-exitcode", "stack.yaml"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);

    // Zone c's nodes move to zone a's table, which gains a route.
    let moved = flat_stack("platform").replace(
        "      - { cidr_block: 0.0.0.0/0, nat_gateway_id: \"${nat_gateway.zone[each.key].id}\" }\n    subnet_ids: ['${subnet.private[each.key].id}']",
        "    routes: '${each.key == \"a\" ? [{ cidr_block = \"0.0.0.0/0\", nat_gateway_id = nat_gateway.zone[\"a\"].id }, { cidr_block = \"172.16.0.0/12\", nat_gateway_id = nat_gateway.zone[\"a\"].id }] : [{ cidr_block = \"0.0.0.0/0\", nat_gateway_id = nat_gateway.zone[each.key].id }]}'\n    subnet_ids: '${each.key == \"a\" ? subnet.private[*].id : []}'",
    ).replace("    routes:\n    routes: '", "    routes: '");
    assert_ne!(moved, flat_stack("platform"));
    w.write_stack(&moved);
    let plan = w.run(&["plan", "stack.yaml"]);
    for a in ["route_table.private[\"a\"]", "route_table.private[\"c\"]"] {
        assert!(
            plan.stdout.contains(&format!("# {a} will be updated in place")),
            "{}",
            plan.stdout
        );
    }
    assert_eq!(last_line(&plan.stdout), "Plan: 0 to add, 2 to change, 0 to destroy.");
    let before = (
        proxy.seen("ReplaceRouteTableAssociation"),
        proxy.seen("DisassociateRouteTable"),
        proxy.seen("CreateRoute"),
    );
    w.apply_ok();
    assert_eq!(
        (
            proxy.seen("ReplaceRouteTableAssociation") - before.0,
            proxy.seen("DisassociateRouteTable") - before.1,
            proxy.seen("CreateRoute") - before.2,
        ),
        (1, 0, 1),
        "taken over in one call, never let go; one route added"
    );
    let mut both = vec![id("subnet.private[\"a\"]"), id("subnet.private[\"c\"]")];
    both.sort();
    assert_eq!(associated(&moto, &id("route_table.private[\"a\"]")), both);
    assert!(associated(&moto, &id("route_table.private[\"c\"]")).is_empty());
    let again = w.run(&["plan", "--detailed-exitcode", "stack.yaml"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);

    let d = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);
    let left = inventory(&moto);
    assert!(left.is_empty(), "nothing left: {left:?}");
}

/// A run killed while the NAT gateway is pending leaves the create marked
/// pending in state; the next apply waits for that gateway instead of making
/// another.
#[test]
fn an_apply_killed_while_the_nat_gateway_is_pending_resumes_the_wait() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    proxy.rules(serde_json::json!([
        {"op": "DescribeNatGateways", "action": "status", "value": "pending", "seconds": 15}
    ]));
    let stack = "stack: nat
region: ap-northeast-1
resources:
  vpc.main: { cidr_block: 10.70.0.0/16 }
  internet_gateway.main: { vpc_id: \"${vpc.main.id}\" }
  subnet.public: { vpc_id: \"${vpc.main.id}\", cidr_block: 10.70.0.0/20, availability_zone: ap-northeast-1a }
  route_table.public:
    vpc_id: ${vpc.main.id}
    routes: [{ cidr_block: 0.0.0.0/0, gateway_id: \"${internet_gateway.main.id}\" }]
    subnet_ids: [\"${subnet.public.id}\"]
  elastic_ip.nat: {}
  nat_gateway.main:
    subnet_id: ${subnet.public.id}
    allocation_id: ${elastic_ip.nat.id}
";
    let w = Workdir::new(&proxy.url, stack);
    kill_at(
        &w,
        &["apply", "-v", "--auto-approve", "stack.yaml"],
        "nat_gateway.main: creating (pending)",
    );
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/nat.json")).unwrap()).unwrap();
    assert_eq!(
        state["resources"]["nat_gateway.main"]["pending"]["operation"], "create",
        "the accepted create is in state: {state}"
    );

    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout.contains("# nat_gateway.main is still being created in AWS"),
        "{}",
        plan.stdout
    );
    w.apply_ok();
    assert_eq!(proxy.seen("CreateNatGateway"), 1, "waited, not made again");
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/nat.json")).unwrap()).unwrap();
    assert!(state["resources"]["nat_gateway.main"]["pending"].is_null());
    assert_eq!(inventory(&moto)["nat_gateway"].len(), 1);
    w.assert_no_changes();
    let d = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);
    assert!(inventory(&moto).is_empty());
}

fn interface_stack(hostnames: bool, subnets: &str) -> String {
    format!(
        "stack: endpoints
region: ap-northeast-1
resources:
  vpc.main: {{ cidr_block: 10.71.0.0/16, enable_dns_hostnames: {hostnames} }}
  subnet.a: {{ vpc_id: \"${{vpc.main.id}}\", cidr_block: 10.71.0.0/20, availability_zone: ap-northeast-1a }}
  subnet.c: {{ vpc_id: \"${{vpc.main.id}}\", cidr_block: 10.71.16.0/20, availability_zone: ap-northeast-1c }}
  security_group.endpoints:
    vpc_id: ${{vpc.main.id}}
    ingress:
      - {{ protocol: tcp, ports: \"443\", cidr: 10.71.0.0/16, description: HTTPS from the VPC }}
  vpc_endpoint.ecr_api:
    vpc_id: ${{vpc.main.id}}
    service_name: com.amazonaws.ap-northeast-1.ecr.api
    vpc_endpoint_type: Interface
    subnet_ids: [{subnets}]
    security_group_ids: [\"${{security_group.endpoints.id}}\"]
    private_dns_enabled: false
"
    )
}

/// An Interface endpoint is made in its subnets behind its security group; a
/// subnet added to it and the VPC's DNS hostnames turned on are in-place
/// updates (one ModifyVpcEndpoint, one ModifyVpcAttribute).
#[test]
fn an_interface_endpoint_and_the_vpc_dns_change_in_place() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let w = Workdir::new(&proxy.url, &interface_stack(false, "\"${subnet.a.id}\""));
    w.apply_ok();
    let state = || -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(w.path("state/endpoints.json")).unwrap())
            .unwrap()
    };
    let id = |a: &str| state()["resources"][a]["id"].as_str().unwrap().to_string();
    let endpoint = || {
        runtime()
            .block_on(
                moto.ec2()
                    .describe_vpc_endpoints()
                    .vpc_endpoint_ids(id("vpc_endpoint.ecr_api"))
                    .send(),
            )
            .unwrap()
            .vpc_endpoints()[0]
            .clone()
    };
    let made = endpoint();
    assert_eq!(made.vpc_endpoint_type().unwrap().as_str(), "Interface");
    assert_eq!(made.subnet_ids(), [id("subnet.a")]);
    assert_eq!(made.groups()[0].group_id(), Some(id("security_group.endpoints").as_str()));
    assert_eq!(made.private_dns_enabled(), Some(false));
    w.assert_no_changes();

    w.write_stack(&interface_stack(true, "\"${subnet.a.id}\", \"${subnet.c.id}\""));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert_eq!(
        last_line(&plan.stdout),
        "Plan: 0 to add, 2 to change, 0 to destroy.",
        "{}",
        plan.stdout
    );
    let before = (proxy.seen("ModifyVpcEndpoint"), proxy.seen("ModifyVpcAttribute"));
    w.apply_ok();
    assert_eq!(
        (proxy.seen("ModifyVpcEndpoint") - before.0, proxy.seen("ModifyVpcAttribute") - before.1,),
        (1, 1)
    );
    let mut subnets = endpoint().subnet_ids().to_vec();
    subnets.sort();
    let mut both = vec![id("subnet.a"), id("subnet.c")];
    both.sort();
    assert_eq!(subnets, both);
    let hostnames = runtime()
        .block_on(
            moto.ec2()
                .describe_vpc_attribute()
                .vpc_id(id("vpc.main"))
                .attribute(aws_sdk_ec2::types::VpcAttributeName::EnableDnsHostnames)
                .send(),
        )
        .unwrap();
    assert_eq!(hostnames.enable_dns_hostnames().and_then(|v| v.value()), Some(true));
    w.assert_no_changes();
    let d = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);
    assert!(inventory(&moto).is_empty(), "{:?}", inventory(&moto));
}
