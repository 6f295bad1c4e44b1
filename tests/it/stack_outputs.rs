//! One stack reads another's outputs from its state, without its lock: the
//! network stack and the stack that builds in it are separate blast radii.

use serde_json::json;

use crate::support::{Moto, Proxy, Workdir, flat_stack, stack_file};

const NET: &str = r#"
stack: net
region: ap-northeast-1
resources:
  vpc.main:
    cidr_block: 10.80.0.0/16
outputs:
  vpc_id: ${vpc.main.id}
  cidr: ${vpc.main.cidr_block}
"#;

const APP: &str = r#"
stack: app
region: ap-northeast-1
stacks:
  net: {}
resources:
  subnet.a:
    vpc_id: ${stack.net.outputs.vpc_id}
    cidr_block: 10.80.0.0/20
    tags: { range: "in ${stack.net.outputs.cidr}" }
"#;

/// A plan of `NAME.yaml` through a proxy that makes its refresh slow, once
/// it holds that stack's lock (`state/NAME.json.lock`).
fn hold_lock(w: &Workdir, proxy: &Proxy, name: &str) -> std::process::Child {
    proxy.rules(json!([{"op": "DescribeVpcs", "action": "latency", "ms": 8000}]));
    let holder = w
        .command(&["plan", &format!("{name}.yaml")])
        .env("AWS_ENDPOINT_URL", &proxy.url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lock = w.path(&format!("state/{name}.json.lock"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !lock.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(lock.exists(), "the plan of {name} holds its lock");
    holder
}

#[test]
fn a_stack_reads_another_stacks_outputs_without_its_lock() {
    let moto = Moto::start();
    let w = Workdir::new(&moto.url, APP);
    std::fs::write(w.path("net.yaml"), NET).unwrap();

    // Before the producer is applied, the use is a located error naming it.
    let early = w.run(&["plan", "stack.yaml"]);
    assert_eq!(early.code, 1);
    assert!(
        early.stderr.contains(
            "stack.yaml:8:15: the outputs of stack `net` cannot be read: there is no state at local file state/net.json"
        ),
        "{}",
        early.stderr
    );

    let net = w.run(&["apply", "--auto-approve", "net.yaml"]);
    assert_eq!(net.code, 0, "{}", net.stderr);
    // The producer's lock is held: a plan of it through a proxy that makes its
    // refresh slow.
    let proxy = Proxy::start(&moto.url);
    let holder = hold_lock(&w, &proxy, "net");
    let locked = w.run(&["plan", "net.yaml"]);
    assert_eq!(locked.code, 1, "{}", locked.stderr);
    assert!(locked.stderr.contains("state is locked"), "{}", locked.stderr);

    let plan = w.run(&["plan", "stack.yaml"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    let vpc = w.run(&["output", "net.yaml", "vpc_id"]);
    let vpc = vpc.stdout.trim();
    assert!(vpc.starts_with("vpc-"), "{vpc}");
    assert!(plan.stdout.contains(&format!("+ vpc_id: \"{vpc}\"")), "{}", plan.stdout);
    assert!(plan.stdout.contains("range: \"in 10.80.0.0/16\""), "{}", plan.stdout);
    assert!(w.path("state/net.json.lock").exists(), "the producer's lock was held all along");
    let held = holder.wait_with_output().unwrap();
    assert!(held.status.success());
    w.apply_ok();
    w.assert_no_changes();

    // A missing output names the producer and what it has.
    w.write_stack(&APP.replace("outputs.cidr}", "outputs.range}"));
    let missing = w.run(&["validate", "stack.yaml"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("stack `net` (local file state/net.json) has no output `range`"),
        "{}",
        missing.stderr
    );
    assert!(missing.stderr.contains("its outputs: cidr, vpc_id"));
}

/// The shipped stacks together: stacks/cutover.yaml builds the cut-over in the
/// network stacks/eks.yaml made, read from that stack's outputs, and plans
/// while that stack's lock is held.
#[test]
fn the_cutover_stack_reads_the_cluster_stack_and_plans_while_it_is_locked() {
    let moto = Moto::start();
    let w = Workdir::new(&moto.url, &stack_file("cutover"));
    std::fs::write(w.path("eks.yaml"), flat_stack("eks")).unwrap();
    let eks = w.run(&["apply", "--auto-approve", "eks.yaml"]);
    assert_eq!(eks.code, 0, "{}\n{}", eks.stdout, eks.stderr);
    let output = |key: &str| w.run(&["output", "eks.yaml", key]).stdout.trim().to_string();
    let vpc = output("vpc_id");
    assert!(vpc.starts_with("vpc-"), "{vpc}");

    // The cluster's stack is being worked on: its lock is held.
    let proxy = Proxy::start(&moto.url);
    let holder = hold_lock(&w, &proxy, "eks");
    let plan = w.run(&["plan", "stack.yaml"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    assert!(plan.stdout.contains(&format!("+ vpc_id: \"{vpc}\"")), "{}", plan.stdout);
    assert!(w.path("state/eks.json.lock").exists(), "the cluster stack's lock was held all along");
    assert!(holder.wait_with_output().unwrap().status.success());

    w.apply_ok();
    w.assert_no_changes();
    // The cut-over's rule on the cluster stack's node group admits the load
    // balancer; the cluster stack, whose group it is, leaves it alone.
    let nodes = output("node_security_group_id");
    let rt = crate::support::runtime();
    let filter = aws_sdk_ec2::types::Filter::builder().name("group-id").values(&nodes).build();
    let rules =
        rt.block_on(moto.ec2().describe_security_group_rules().filters(filter).send()).unwrap();
    let from_alb = rules.security_group_rules().iter().find(|r| {
        r.is_egress() == Some(false)
            && r.from_port() == Some(80)
            && r.referenced_group_info().is_some()
    });
    assert!(from_alb.is_some(), "{rules:?}");
    let eks_plan = w.run(&["plan", "--detailed-exitcode", "eks.yaml"]);
    assert_eq!(eks_plan.code, 0, "{}", eks_plan.stdout);
    let (elbv2, ec2) = (moto.elbv2(), moto.ec2());
    rt.block_on(async {
        let lbs = elbv2.describe_load_balancers().send().await.unwrap();
        let lb = &lbs.load_balancers()[0];
        assert_eq!(lb.vpc_id(), Some(vpc.as_str()));
        let subnets = ec2
            .describe_subnets()
            .set_subnet_ids(Some(
                lb.availability_zones()
                    .iter()
                    .filter_map(|z| z.subnet_id().map(str::to_string))
                    .collect(),
            ))
            .send()
            .await
            .unwrap();
        let mut cidrs: Vec<&str> =
            subnets.subnets().iter().filter_map(|s| s.cidr_block()).collect();
        cidrs.sort_unstable();
        assert_eq!(
            cidrs,
            ["10.40.128.0/20", "10.40.144.0/20"],
            "the cluster stack's public subnets"
        );
        let groups = elbv2.describe_target_groups().send().await.unwrap();
        assert_eq!(groups.target_groups().len(), 2);
        assert!(groups.target_groups().iter().all(|g| g.vpc_id() == Some(vpc.as_str())));
    });

    // Torn down in reverse: the consumer first, then the cluster.
    let d = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);
    let d = w.run(&["destroy", "--auto-approve", "eks.yaml"]);
    assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);
}
