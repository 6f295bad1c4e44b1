//! One stack reads another's outputs from its state, without its lock: the
//! network stack and the stack that builds in it are separate blast radii.

use serde_json::json;

use crate::support::{Moto, Proxy, Workdir};

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
            "stack.yaml:8:13: the outputs of stack `net` cannot be read: there is no state at local file state/net.json"
        ),
        "{}",
        early.stderr
    );

    let net = w.run(&["apply", "--auto-approve", "net.yaml"]);
    assert_eq!(net.code, 0, "{}", net.stderr);
    // The producer's lock is held: a plan of it through a proxy that makes its
    // refresh slow.
    let proxy = Proxy::start(&moto.url);
    proxy.rules(json!([{"op": "DescribeVpcs", "action": "latency", "ms": 6000}]));
    let holder = w
        .command(&["plan", "net.yaml"])
        .env("AWS_ENDPOINT_URL", &proxy.url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !w.path("state/net.json.lock").exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let locked = w.run(&["plan", "net.yaml"]);
    assert_eq!(locked.code, 1, "{}", locked.stderr);
    assert!(
        locked.stderr.contains("state is locked"),
        "{}",
        locked.stderr
    );

    let plan = w.run(&["plan", "stack.yaml"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    let vpc = w.run(&["output", "net.yaml", "vpc_id"]);
    let vpc = vpc.stdout.trim();
    assert!(vpc.starts_with("vpc-"), "{vpc}");
    assert!(
        plan.stdout.contains(&format!("+ vpc_id: \"{vpc}\"")),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("range: \"in 10.80.0.0/16\""),
        "{}",
        plan.stdout
    );
    assert!(
        w.path("state/net.json.lock").exists(),
        "the producer's lock was held all along"
    );
    let held = holder.wait_with_output().unwrap();
    assert!(held.status.success());
    w.apply_ok();
    w.assert_no_changes();

    // A missing output names the producer and what it has.
    w.write_stack(&APP.replace("outputs.cidr}", "outputs.range}"));
    let missing = w.run(&["validate", "stack.yaml"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .stderr
            .contains("stack `net` (local file state/net.json) has no output `range`"),
        "{}",
        missing.stderr
    );
    assert!(missing.stderr.contains("its outputs: cidr, vpc_id"));
}
