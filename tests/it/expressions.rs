//! The stack language against moto: functions, conditionals and
//! for-expressions over variables evaluated at validate, an expression over a
//! resource's attribute evaluated at apply, and a value from outside that
//! holds `${` staying that text.

use crate::support::{Moto, Workdir, runtime};

const STACK: &str = r#"
stack: exprs
region: ap-northeast-1
variables:
  cidr: { default: 10.42.0.0/16 }
  zones: { type: list, default: [a, c] }
  env: { default: staging }
  note: { default: plain }
resources:
  vpc.main:
    cidr_block: ${var.cidr}
    tags: { Name: '${format("%s-%s", "exprs", upper(var.env))}' }
  subnet.a:
    vpc_id: ${vpc.main.id}
    cidr_block: ${cidrsubnet(vpc.main.cidr_block, 8, 1)}
    availability_zone: ap-northeast-1${var.zones[0]}
    tags:
      Name: '${vpc.main.id}-${var.env == "production" ? "prod" : "non-prod"}'
      Zones: '${join(",", [for z in var.zones : "ap-northeast-1${z}"])}'
      Note: '${var.note}/${vpc.main.id}'
      Literal: 'a $${literal} stays'
"#;

fn subnet_tags(moto: &Moto) -> (String, std::collections::BTreeMap<String, String>) {
    let out = runtime().block_on(moto.ec2().describe_subnets().send()).unwrap();
    let s = out.subnets().iter().find(|s| s.cidr_block() != Some("172.31.0.0/20"));
    let s = s.expect("the stack's subnet");
    let tags = s
        .tags()
        .iter()
        .map(|t| (t.key().unwrap_or_default().into(), t.value().unwrap_or_default().into()))
        .collect();
    (s.cidr_block().unwrap_or_default().to_string(), tags)
}

#[test]
fn expressions_are_evaluated_where_their_inputs_are_known() {
    let moto = Moto::start();
    let w = Workdir::new(&moto.url, STACK);

    // What variables give is evaluated at validate, what the plan knows of
    // the VPC (its range) at plan; what needs its id is known after apply.
    let plan = w.run(&["plan", "stack.yaml"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    assert!(plan.stdout.contains("Name: \"exprs-STAGING\""), "{}", plan.stdout);
    assert!(plan.stdout.contains("availability_zone: \"ap-northeast-1a\""), "{}", plan.stdout);
    assert!(plan.stdout.contains("+ cidr_block: \"10.42.1.0/24\""), "{}", plan.stdout);
    assert!(plan.stdout.contains("Name: \"${vpc.main.id}-non-prod\""), "{}", plan.stdout);

    w.apply_ok();
    let vpc = runtime().block_on(moto.ec2().describe_vpcs().send()).unwrap();
    let vpc_id = vpc
        .vpcs()
        .iter()
        .find(|v| v.cidr_block() == Some("10.42.0.0/16"))
        .and_then(|v| v.vpc_id())
        .expect("the VPC")
        .to_string();
    let (cidr, tags) = subnet_tags(&moto);
    assert_eq!(cidr, "10.42.1.0/24");
    assert_eq!(tags["Name"], format!("{vpc_id}-non-prod"));
    assert_eq!(tags["Zones"], "ap-northeast-1a,ap-northeast-1c");
    assert_eq!(tags["Note"], format!("plain/{vpc_id}"));
    assert_eq!(tags["Literal"], "a ${literal} stays");
    w.assert_no_changes();

    // A variable's value that looks like an expression is that text, never
    // read again, put in alone or inside an expression over a resource.
    let looks = w.run(&["apply", "--auto-approve", "--var", "note=${vpc.main.id}", "stack.yaml"]);
    assert_eq!(looks.code, 0, "{}\n{}", looks.stdout, looks.stderr);
    let (_, tags) = subnet_tags(&moto);
    assert_eq!(tags["Note"], format!("${{vpc.main.id}}/{vpc_id}"));
    let again = w.run(&["plan", "--var", "note=${vpc.main.id}", "stack.yaml"]);
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);

    // The conditional's other branch, from another value: one update.
    let prod = w.run(&["plan", "--var", "env=production", "stack.yaml"]);
    assert!(prod.stdout.contains("Plan: 0 to add, 2 to change, 0 to destroy."), "{}", prod.stdout);
    let d = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(d.code, 0, "{}", d.stderr);
}

/// An EC2 client for the region of stacks/vpc.yaml.
fn ec2_in(moto: &Moto, region: &'static str) -> aws_sdk_ec2::Client {
    let conf = aws_sdk_ec2::config::Builder::from(&moto.sdk_config())
        .region(aws_sdk_ec2::config::Region::new(region))
        .build();
    aws_sdk_ec2::Client::from_conf(conf)
}

#[test]
fn a_vpc_of_six_tiers_is_written_once_per_tier_and_grows_by_a_zone() {
    let moto = Moto::start();
    let w = Workdir::new(&moto.url, &crate::support::stack_file("vpc"));
    let v = w.run(&["validate", "stack.yaml"]);
    assert!(v.stdout.contains("is valid (32 resources)"), "{}{}", v.stdout, v.stderr);
    let out = w.apply_ok();
    assert!(out.stdout.contains("Apply complete: 32 done"), "{}", out.stdout);
    assert!(out.stdout.contains("private_subnet_ids = [\"subnet-"), "{}", out.stdout);

    // What moto holds, read on its own: each tier's ranges from cidrsubnet,
    // one NAT gateway per zone, a private route table through its zone's.
    let ec2 = ec2_in(&moto, "us-east-1");
    let rt = runtime();
    let subnets = rt.block_on(ec2.describe_subnets().send()).unwrap();
    let ours: Vec<(String, String)> = subnets
        .subnets()
        .iter()
        .filter(|s| s.tags().iter().any(|t| t.key() == Some("infra:stack")))
        .map(|s| {
            let zone = s.availability_zone().unwrap_or_default().to_string();
            (s.cidr_block().unwrap_or_default().to_string(), zone)
        })
        .collect();
    assert_eq!(ours.len(), 18, "{ours:?}");
    for (cidr, zone) in [
        ("10.70.0.0/24", "us-east-1a"),
        ("10.70.2.0/24", "us-east-1c"),
        ("10.70.16.0/20", "us-east-1a"),
        ("10.70.48.0/20", "us-east-1c"),
        ("10.70.201.0/24", "us-east-1b"),
        ("10.70.232.0/24", "us-east-1c"),
    ] {
        assert!(ours.contains(&(cidr.to_string(), zone.to_string())), "{cidr} in {zone}: {ours:?}");
    }
    let nats = rt.block_on(ec2.describe_nat_gateways().send()).unwrap();
    assert_eq!(nats.nat_gateways().len(), 3);
    let tables = rt.block_on(ec2.describe_route_tables().send()).unwrap();
    let through_nat = tables
        .route_tables()
        .iter()
        .filter(|t| t.routes().iter().any(|r| r.nat_gateway_id().is_some()))
        .count();
    assert_eq!(through_nat, 3, "one private route table per zone");
    w.assert_no_changes();

    // A fourth zone is one more key: only its instances are planned.
    let more = w.run(&["plan", "--var", "zones={a: 0, b: 1, c: 2, d: 3}", "stack.yaml"]);
    assert_eq!(more.code, 0, "{}", more.stderr);
    assert!(more.stdout.contains("Plan: 10 to add, 0 to change, 0 to destroy."), "{}", more.stdout);
    assert!(more.stdout.contains("# subnet.database[\"d\"] will be created"), "{}", more.stdout);
    assert!(more.stdout.contains("+ cidr_block: \"10.70.203.0/24\""), "{}", more.stdout);
    // Without one, only its instances go.
    let fewer = w.run(&["plan", "--var", "zones={a: 0, b: 1}", "stack.yaml"]);
    assert!(
        fewer.stdout.contains("Plan: 0 to add, 0 to change, 10 to destroy."),
        "{}",
        fewer.stdout
    );
    assert!(
        fewer.stdout.contains("# nat_gateway.zone[\"c\"] will be destroyed"),
        "{}",
        fewer.stdout
    );
    // The bare name targets every instance.
    let t = w.run(&["plan", "--target", "subnet.intra", "stack.yaml"]);
    assert!(
        t.stderr.contains("only subnet.intra and what they depend on (4 resources)"),
        "{}",
        t.stderr
    );

    let d = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(d.code, 0, "{}", d.stderr);
    let left = rt.block_on(ec2.describe_nat_gateways().send()).unwrap();
    assert!(left.nat_gateways().iter().all(|n| n.state().map(|s| s.as_str()) == Some("deleted")));
}

const BY_HAND: &str = r#"
stack: moving
region: ap-northeast-1
resources:
  vpc.main:
    cidr_block: 10.60.0.0/16
  subnet.private_a:
    vpc_id: ${vpc.main.id}
    cidr_block: 10.60.1.0/24
    availability_zone: ap-northeast-1a
  subnet.private_c:
    vpc_id: ${vpc.main.id}
    cidr_block: 10.60.3.0/24
    availability_zone: ap-northeast-1c
  route_table.private:
    vpc_id: ${vpc.main.id}
    subnet_ids: ['${subnet.private_a.id}', '${subnet.private_c.id}']
"#;

const BY_KEY: &str = r#"
stack: moving
region: ap-northeast-1
variables:
  zones: { type: map, default: { a: 1, c: 3 } }
resources:
  vpc.main:
    cidr_block: 10.60.0.0/16
  subnet.private:
    for_each: ${var.zones}
    vpc_id: ${vpc.main.id}
    cidr_block: ${cidrsubnet(vpc.main.cidr_block, 8, each.value)}
    availability_zone: ap-northeast-1${each.key}
  route_table.private:
    vpc_id: ${vpc.main.id}
    subnet_ids: ${subnet.private[*].id}
moved:
  - { from: subnet.private_a, to: 'subnet.private["a"]' }
  - { from: subnet.private_c, to: 'subnet.private["c"]' }
"#;

#[test]
fn moved_turns_resources_into_instances_without_touching_aws() {
    let moto = Moto::start();
    let proxy = crate::support::Proxy::start(&moto.url);
    let w = Workdir::new(&proxy.url, BY_HAND);
    w.apply_ok();

    w.write_stack(BY_KEY);
    let plan = w.run(&["plan", "stack.yaml"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout.contains("# subnet.private_a has moved to subnet.private[\"a\"]"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("# subnet.private_c has moved to subnet.private[\"c\"]"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("Plan: 0 to add, 0 to change, 0 to destroy."), "{}", plan.stdout);
    let json = w.run(&["plan", "--format", "json", "stack.yaml"]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        doc["moved"][0],
        serde_json::json!({"from": "subnet.private_a", "to": "subnet.private[\"a\"]"})
    );
    // The plan did not move anything: state is as it was.
    let state = std::fs::read_to_string(w.path("state/moving.json")).unwrap();
    assert!(state.contains("\"subnet.private_a\""));

    // The apply rewrites state and makes no mutating call.
    proxy.reset();
    let a = w.apply_ok();
    assert!(a.stdout.contains("has moved to"), "{}", a.stdout);
    let mutating: Vec<String> = proxy
        .counts()
        .keys()
        .filter(|op| !["Describe", "Get", "List"].iter().any(|p| op.starts_with(p)))
        .cloned()
        .collect();
    assert!(mutating.is_empty(), "the moves called {mutating:?}");
    assert!(proxy.seen("DescribeSubnets") > 0, "the counts are read: {:?}", proxy.counts());
    let listed = w.run(&["state", "list", "stack.yaml"]);
    assert!(listed.stdout.contains("subnet.private[\"a\"]\tsubnet-"), "{}", listed.stdout);
    assert!(!listed.stdout.contains("private_a"), "{}", listed.stdout);
    w.assert_no_changes();

    // A move whose target state holds already is an error at its line,
    // before any AWS call and with no state written.
    w.write_stack(
        &BY_KEY
            .replace(
                "subnet.private_c, to: 'subnet.private[\"c\"]'",
                "subnet.private_c, to: 'subnet.private[\"a\"]'",
            )
            .replace("{ a: 1, c: 3 }", "{ a: 1 }")
            .replace("- { from: subnet.private_a, to: 'subnet.private[\"a\"]' }\n", ""),
    );
    let before = std::fs::read_to_string(w.path("state/moving.json")).unwrap();
    let state_with_c = before.replace("subnet.private[\\\"c\\\"]", "subnet.private_c");
    std::fs::write(w.path("state/moving.json"), &state_with_c).unwrap();
    proxy.reset();
    let bad = w.run(&["plan", "stack.yaml"]);
    assert_eq!(bad.code, 1, "{}\n{}", bad.stdout, bad.stderr);
    assert!(
        bad.stderr.contains("stack.yaml:18:7: subnet.private_c cannot move to subnet.private[\"a\"]: state holds subnet.private[\"a\"] already"),
        "{}",
        bad.stderr
    );
    assert!(proxy.counts().is_empty(), "no AWS call: {:?}", proxy.counts());
    assert_eq!(std::fs::read_to_string(w.path("state/moving.json")).unwrap(), state_with_c);

    // A bare name removes every instance from state.
    let rm = w.run(&["state", "rm", "subnet.private", "stack.yaml"]);
    assert_eq!(rm.code, 0, "{}", rm.stderr);
    assert!(rm.stdout.contains("Removed subnet.private[\"a\"] from state"), "{}", rm.stdout);
    let listed = w.run(&["state", "list", "stack.yaml"]);
    assert!(!listed.stdout.contains("subnet.private["), "{}", listed.stdout);
}

const FILES: &str = r#"
stack: files
region: ap-northeast-1
variables:
  env: { default: staging }
resources:
  iam_role.nodes:
    assume_role_policy: ${file("policies/trust.json")}
    tags: { motd: '${templatefile("motd.tpl", { env = var.env, zones = ["a", "c"] })}' }
"#;

const TRUST: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}"#;

#[test]
fn files_are_read_beside_the_stack_and_belong_to_a_saved_plan() {
    let moto = Moto::start();
    let w = Workdir::new(&moto.url, FILES);
    std::fs::create_dir_all(w.path(".git")).unwrap();
    std::fs::create_dir_all(w.path("policies")).unwrap();
    std::fs::write(w.path("policies/trust.json"), TRUST).unwrap();
    std::fs::write(w.path("motd.tpl"), "env ${upper(env)} in ${join(\"+\", zones)}").unwrap();

    let plan = w.run(&["plan", "--out", "p.json", "stack.yaml"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    assert!(plan.stdout.contains("motd: \"env STAGING in a+c\""), "{}", plan.stdout);
    let a = w.run(&["apply", "p.json", "stack.yaml"]);
    assert_eq!(a.code, 0, "{}\n{}", a.stdout, a.stderr);
    let role = runtime().block_on(moto.iam().get_role().role_name("files-nodes").send());
    let role = role.expect("the role exists by its made-up name");
    let doc = role.role().and_then(|r| r.assume_role_policy_document()).unwrap_or_default();
    let doc = percent_encoding::percent_decode_str(doc).decode_utf8_lossy().to_string();
    // The file's policy, in the canonical form infra sends (one statement
    // unwrapped).
    let got: serde_json::Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(got["Statement"]["Principal"]["Service"], "ec2.amazonaws.com", "{doc}");
    assert_eq!(got["Statement"]["Action"], "sts:AssumeRole", "{doc}");
    w.assert_no_changes();

    // A file's text is part of what a saved plan was made from.
    let p2 = w.run(&["plan", "--out", "p2.json", "--var", "env=prod", "stack.yaml"]);
    assert_eq!(p2.code, 0, "{}", p2.stderr);
    std::fs::write(w.path("motd.tpl"), "changed ${env}").unwrap();
    let stale = w.run(&["apply", "p2.json", "stack.yaml"]);
    assert_eq!(stale.code, 1, "{}\n{}", stale.stdout, stale.stderr);
    assert!(stale.stderr.contains("saved plan is stale"), "{}", stale.stderr);

    // Nothing outside the stack file's repository is read.
    std::fs::write(w.path("../outside.json"), TRUST).ok();
    w.write_stack(&FILES.replace("policies/trust.json", "../outside.json"));
    let out = w.run(&["validate", "stack.yaml"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("stack.yaml:8:27: `file(\"../outside.json\")`: it is outside the stack file's repository"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_lookup_with_for_each_finds_one_thing_per_key() {
    let moto = Moto::start();
    let net = r#"
stack: net
region: ap-northeast-1
resources:
  vpc.shared:
    cidr_block: 10.80.0.0/16
  subnet.app:
    for_each: { a: 1, c: 2 }
    vpc_id: ${vpc.shared.id}
    cidr_block: ${cidrsubnet("10.80.0.0/16", 8, each.value)}
    availability_zone: ap-northeast-1${each.key}
"#;
    let app = r#"
stack: app
region: ap-northeast-1
variables:
  zones: { type: list, default: [a, c] }
data:
  vpc.shared: { cidr_block: 10.80.0.0/16 }
  subnet.app:
    for_each: ${var.zones}
    vpc_id: ${data.vpc.shared.id}
    availability_zone: ap-northeast-1${each.key}
resources:
  security_group.app:
    vpc_id: ${data.vpc.shared.id}
    description: app
    tags: { ranges: '${join(",", data.subnet.app[*].cidr_block)}', first: '${data.subnet.app["a"].availability_zone}' }
"#;
    let w = Workdir::new(&moto.url, net);
    w.apply_ok();
    w.write_stack(app);
    let plan = w.run(&["plan", "stack.yaml"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    assert!(plan.stdout.contains("first: \"ap-northeast-1a\""), "{}", plan.stdout);
    assert!(plan.stdout.contains("ranges: \"10.80.1.0/24,10.80.2.0/24\""), "{}", plan.stdout);
    // One instance of many, named without its key, is an error at its use.
    w.write_stack(
        &app.replace(
            "data.subnet.app[\"a\"].availability_zone",
            "data.subnet.app.availability_zone",
        ),
    );
    let bad = w.run(&["validate", "stack.yaml"]);
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("`data.subnet.app` is many instances"), "{}", bad.stderr);
}
