//! The network types against moto, checked through the SDK.

use crate::support::{Moto, Workdir, last_line, runtime};

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
                g.attachments()
                    .iter()
                    .find_map(|a| a.vpc_id())
                    .unwrap_or_default()
                    .to_string(),
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
    let r = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/net.json")).unwrap()).unwrap();
    let vpc = |n: &str| {
        state["resources"][format!("vpc.{n}")]["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let made = attachment(&moto);
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!(made[0].1, vpc("a"));
    assert_eq!(
        w.run(&["plan", "--detailed-exitcode", "stack.yaml"]).code,
        0
    );

    w.write_stack(&stack("b"));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout
            .contains("# internet_gateway.main will be updated in place"),
        "{}",
        plan.stdout
    );
    assert_eq!(
        last_line(&plan.stdout),
        "Plan: 0 to add, 1 to change, 0 to destroy."
    );
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    let moved = attachment(&moto);
    assert_eq!(
        moved,
        vec![(made[0].0.clone(), vpc("b"))],
        "the same gateway, now in b"
    );
    assert_eq!(
        w.run(&["plan", "--detailed-exitcode", "stack.yaml"]).code,
        0
    );

    let d = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);
    assert!(attachment(&moto).is_empty());
}
