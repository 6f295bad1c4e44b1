//! A VPC's own pieces as baselines write them, against moto: a network ACL
//! with numbered rules guarding two subnets, a subnet moved back to the
//! default ACL without a gap, the default ACL and main route table adopted
//! with their rules and routes stripped, drift seen, and a destroy that
//! deletes the stack's ACL and leaves the VPC's own.

use aws_sdk_ec2::types::Filter;

use crate::support::{Moto, Workdir, runtime};

fn stack(subnets: &str, extra_rule: &str) -> String {
    format!(
        r#"stack: acls
region: ap-northeast-1
resources:
  vpc.main:
    cidr_block: 10.7.0.0/16
  subnet.a:
    vpc_id: ${{vpc.main.id}}
    cidr_block: 10.7.1.0/24
  subnet.b:
    vpc_id: ${{vpc.main.id}}
    cidr_block: 10.7.2.0/24
  internet_gateway.main:
    vpc_id: ${{vpc.main.id}}
  network_acl.public:
    vpc_id: ${{vpc.main.id}}
    subnet_ids: {subnets}
    ingress:
      - {{ rule_no: 100, action: allow, protocol: tcp, ports: "443", cidr: 0.0.0.0/0 }}
      - {{ rule_no: 110, action: allow, protocol: tcp, ports: "1024-65535", cidr: 0.0.0.0/0 }}
      - {{ rule_no: 120, action: allow, protocol: icmp, cidr: 10.0.0.0/8 }}
      - {{ rule_no: 130, action: deny, protocol: tcp, ports: "22", ipv6_cidr: "::/0" }}
{extra_rule}    egress:
      - {{ rule_no: 100, action: allow, protocol: all, cidr: 0.0.0.0/0 }}
  default_network_acl.main:
    vpc_id: ${{vpc.main.id}}
  default_route_table.main:
    vpc_id: ${{vpc.main.id}}
    routes:
      - {{ cidr_block: 0.0.0.0/0, gateway_id: "${{internet_gateway.main.id}}" }}
"#
    )
}

const BOTH: &str = r#"["${subnet.a.id}", "${subnet.b.id}"]"#;

#[test]
fn network_acls_and_the_vpcs_own_pieces_apply_move_drift_and_stay() {
    let moto = Moto::start();
    let rt = runtime();
    let ec2 = moto.ec2();
    let w = Workdir::new(&moto.url, &stack(BOTH, ""));
    w.apply_ok();
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/acls.json")).unwrap()).unwrap();
    let id = |a: &str| state["resources"][a]["id"].as_str().unwrap().to_string();
    let (vpc, acl, default_acl, main_table) = (
        id("vpc.main"),
        id("network_acl.public"),
        id("default_network_acl.main"),
        id("default_route_table.main"),
    );
    let acls = || {
        let by_vpc = Filter::builder().name("vpc-id").values(&vpc).build();
        rt.block_on(ec2.describe_network_acls().filters(by_vpc).send())
            .unwrap()
            .network_acls()
            .to_vec()
    };
    let of = |id: &str| acls().into_iter().find(|a| a.network_acl_id() == Some(id)).unwrap();
    let subnets_of = |id: &str| {
        let mut s: Vec<String> = of(id)
            .associations()
            .iter()
            .filter_map(|a| a.subnet_id().map(str::to_string))
            .collect();
        s.sort();
        s
    };
    let mut both = vec![id("subnet.a"), id("subnet.b")];
    both.sort();
    assert_eq!(subnets_of(&acl), both);
    let rules = |id: &str| {
        let mut r: Vec<(i32, bool)> = of(id)
            .entries()
            .iter()
            .filter(|e| e.rule_number() != Some(32767))
            .map(|e| (e.rule_number().unwrap(), e.egress().unwrap()))
            .collect();
        r.sort();
        r
    };
    assert_eq!(
        rules(&acl),
        vec![(100, false), (100, true), (110, false), (120, false), (130, false)]
    );
    // AWS's allow-all rules of the default ACL are stripped (the CIS baseline).
    assert_eq!(rules(&default_acl), Vec::<(i32, bool)>::new());
    assert!(of(&default_acl).is_default().unwrap());
    let table =
        rt.block_on(ec2.describe_route_tables().route_table_ids(&main_table).send()).unwrap();
    let table = &table.route_tables()[0];
    assert!(table.associations().iter().any(|a| a.main() == Some(true)), "the main table");
    assert!(
        table.routes().iter().any(|r| r.destination_cidr_block() == Some("0.0.0.0/0")),
        "{table:?}"
    );
    w.assert_no_changes();

    // A rule added by hand to the default ACL is drift, and goes again.
    rt.block_on(
        ec2.create_network_acl_entry()
            .network_acl_id(&default_acl)
            .rule_number(50)
            .protocol("6")
            .rule_action(aws_sdk_ec2::types::RuleAction::Allow)
            .egress(false)
            .cidr_block("0.0.0.0/0")
            .port_range(aws_sdk_ec2::types::PortRange::builder().from(22).to(22).build())
            .send(),
    )
    .unwrap();
    // And a rule of the stack's ACL deleted, a route added to the main table.
    rt.block_on(
        ec2.delete_network_acl_entry().network_acl_id(&acl).rule_number(120).egress(false).send(),
    )
    .unwrap();
    rt.block_on(
        ec2.create_route()
            .route_table_id(&main_table)
            .destination_cidr_block("192.168.0.0/16")
            .gateway_id(id("internet_gateway.main"))
            .send(),
    )
    .unwrap();
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(plan.stdout.contains("Drift since the last apply"), "{}", plan.stdout);
    assert!(
        plan.stdout.contains("- { rule_no: 50, action: \"allow\", protocol: \"tcp\", ports: \"22\", cidr: \"0.0.0.0/0\" }"),
        "{}",
        plan.stdout
    );
    for changed in ["~ network_acl.public", "~ default_route_table.main", "192.168.0.0/16"] {
        assert!(plan.stdout.contains(changed), "{changed} in:\n{}", plan.stdout);
    }
    w.apply_ok();
    assert!(rules(&default_acl).is_empty());
    assert!(rules(&acl).contains(&(120, false)));
    w.assert_no_changes();

    // A rule changed under its number is replaced in place; subnet b goes
    // back to the default ACL (one call, never without an ACL).
    let changed = stack(r#"["${subnet.a.id}"]"#, "      - { rule_no: 140, action: allow, protocol: udp, ports: \"53\", cidr: 10.7.0.0/16 }\n")
        .replace("ports: \"1024-65535\"", "ports: \"32768-65535\"");
    w.write_stack(&changed);
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout.contains("# network_acl.public will be updated in place"),
        "{}",
        plan.stdout
    );
    w.apply_ok();
    assert_eq!(subnets_of(&acl), vec![id("subnet.a")]);
    assert_eq!(subnets_of(&default_acl), vec![id("subnet.b")]);
    let e110 = of(&acl)
        .entries()
        .iter()
        .find(|e| e.rule_number() == Some(110))
        .and_then(|e| e.port_range().and_then(|p| p.from()))
        .unwrap();
    assert_eq!(e110, 32768);
    w.assert_no_changes();

    // Destroying the VPC's own pieces leaves them, untagged, as they are
    // (AWS deletes them with their VPC).
    let d = w.run(&[
        "destroy",
        "--auto-approve",
        "--target",
        "default_network_acl.main",
        "--target",
        "default_route_table.main",
        "stack.yaml",
    ]);
    assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);
    let kept = of(&default_acl);
    assert!(kept.tags().iter().all(|t| t.key() != Some("infra:stack")), "{kept:?}");
    let table =
        rt.block_on(ec2.describe_route_tables().route_table_ids(&main_table).send()).unwrap();
    let table = &table.route_tables()[0];
    assert!(table.tags().iter().all(|t| t.key() != Some("infra:stack")), "{table:?}");

    // The rest: the stack's ACL goes (its subnet back to the default first).
    let d = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);
    let left = rt.block_on(ec2.describe_network_acls().send()).unwrap();
    assert!(left.network_acls().iter().all(|a| a.network_acl_id() != Some(&acl)));
}

#[test]
fn acl_rules_are_checked_before_any_call() {
    let moto = Moto::start();
    let w = Workdir::new(
        &moto.url,
        r#"stack: acls
region: ap-northeast-1
resources:
  network_acl.bad:
    vpc_id: vpc-12345678
    ingress:
      - { rule_no: 100, action: allow, protocol: tcp, cidr: 0.0.0.0/0 }
      - { rule_no: 100, action: deny, protocol: all, cidr: 10.0.0.0/8 }
      - { rule_no: 32767, action: deny, protocol: all, cidr: 10.0.0.0/8 }
"#,
    );
    let v = w.run(&["validate", "stack.yaml"]);
    assert_eq!(v.code, 1, "{}\n{}", v.stdout, v.stderr);
    assert!(v.stderr.contains("32767 is out of range"), "{}", v.stderr);
}
