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
