//! State commands, refresh and prevent_destroy against moto.

use crate::support::{Moto, Workdir, demo_stack, last_line, runtime};

#[test]
fn state_list_show_rm_mv_and_refresh() {
    let moto = Moto::start();
    let w = Workdir::new(&moto.url, &demo_stack());
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);

    let list = w.run(&["state", "list", "stack.yaml"]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    let lines: Vec<&str> = list.stdout.lines().collect();
    assert_eq!(lines.len(), 7, "{}", list.stdout);
    assert!(
        lines.iter().any(|l| l.starts_with("vpc.main\tvpc-")),
        "{}",
        list.stdout
    );

    let show = w.run(&["state", "show", "vpc.main", "stack.yaml"]);
    let r: serde_json::Value = serde_json::from_str(&show.stdout).unwrap();
    assert_eq!(r["type"], "vpc");
    assert_eq!(r["attributes"]["cidr_block"], "10.20.0.0/16");

    // mv, then the same rename in the stack file: nothing is replaced, and the
    // infra:address tag has followed the new name.
    let mv = w.run(&[
        "state",
        "mv",
        "subnet.public_a",
        "subnet.public_x",
        "stack.yaml",
    ]);
    assert_eq!(mv.code, 0, "{}", mv.stderr);
    assert!(!mv.stderr.contains("warning"), "{}", mv.stderr);
    w.write_stack(&demo_stack().replace("subnet.public_a:", "subnet.public_x:"));
    let rt = runtime();
    let subnets = rt
        .block_on(
            moto.ec2()
                .describe_subnets()
                .filters(
                    aws_sdk_ec2::types::Filter::builder()
                        .name("tag:infra:address")
                        .values("subnet.public_x")
                        .build(),
                )
                .send(),
        )
        .unwrap();
    assert_eq!(subnets.subnets().len(), 1, "the tag moved in AWS");
    assert_eq!(
        w.run(&["plan", "--detailed-exitcode", "stack.yaml"]).code,
        0
    );

    // rm forgets without deleting: the next plan would create it again.
    assert_eq!(
        w.run(&["state", "rm", "ecr_repository.app", "stack.yaml"])
            .code,
        0
    );
    assert_eq!(
        rt.block_on(moto.ecr().describe_repositories().send())
            .unwrap()
            .repositories()
            .len(),
        1,
        "still in AWS"
    );
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout.contains("# ecr_repository.app will be created"),
        "{}",
        plan.stdout
    );
    assert_eq!(
        last_line(&plan.stdout),
        "Plan: 1 to add, 0 to change, 0 to destroy."
    );
    assert_eq!(
        w.run(&["state", "rm", "ecr_repository.app", "stack.yaml"])
            .code,
        1,
        "not in state any more"
    );

    // refresh forgets what is gone and records what is there.
    rt.block_on(moto.s3().delete_bucket().bucket("enza-demo-logs").send())
        .unwrap();
    let refresh = w.run(&["refresh", "stack.yaml"]);
    assert_eq!(refresh.code, 0, "{}", refresh.stderr);
    assert!(
        refresh
            .stdout
            .contains("Refreshed 5 resources; 1 no longer exist and were forgotten."),
        "{}",
        refresh.stdout
    );
    assert!(
        !w.run(&["state", "list", "stack.yaml"])
            .stdout
            .contains("s3_bucket.logs")
    );
}

#[test]
fn prevent_destroy_refuses_plans_that_would_delete_or_replace() {
    let moto = Moto::start();
    let protected = demo_stack().replace(
        "    cidr_block: 10.20.0.0/16\n",
        "    cidr_block: 10.20.0.0/16\n    prevent_destroy: true\n",
    );
    let w = Workdir::new(&moto.url, &protected);
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);

    w.write_stack(&protected.replace("cidr_block: 10.20.0.0/16", "cidr_block: 10.30.0.0/16"));
    let replace = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(replace.code, 1);
    assert!(
        replace
            .stderr
            .contains("vpc.main has prevent_destroy set, and this plan would replace it"),
        "{}",
        replace.stderr
    );

    w.write_stack(&protected);
    let destroy = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(destroy.code, 1);
    assert!(
        destroy
            .stderr
            .contains("vpc.main has prevent_destroy set, and this plan would destroy it"),
        "{}",
        destroy.stderr
    );
    let rt = runtime();
    let filter = aws_sdk_ec2::types::Filter::builder()
        .name("tag:infra:stack")
        .values("demo")
        .build();
    assert_eq!(
        rt.block_on(moto.ec2().describe_vpcs().filters(filter).send())
            .unwrap()
            .vpcs()
            .len(),
        1,
        "nothing was deleted"
    );
    assert_eq!(
        w.run(&["plan", "--detailed-exitcode", "stack.yaml"]).code,
        0
    );
}
