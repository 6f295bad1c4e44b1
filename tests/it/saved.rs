//! Saved plans against moto: applied exactly, refused when stale.

use crate::support::{Moto, Workdir, demo_stack, last_line, runtime};

#[test]
fn a_saved_plan_applies_exactly_and_a_stale_one_is_refused() {
    let moto = Moto::start();
    let w = Workdir::new(&moto.url, &demo_stack());
    let p = w.run(&[
        "plan",
        "stack.yaml",
        "--out",
        "plan.json",
        "--detailed-exitcode",
    ]);
    assert_eq!(p.code, 2, "{}", p.stderr);
    let shown = w.run(&["show", "plan.json"]);
    assert_eq!(
        shown.stdout, p.stdout,
        "show renders the saved plan as plan did"
    );
    assert_eq!(w.run(&["show", "plan.json", "--detailed-exitcode"]).code, 2);

    // Applied as saved: the same end state as a direct apply.
    let a = w.run(&["apply", "plan.json"]);
    assert_eq!(a.code, 0, "{}\n{}", a.stdout, a.stderr);
    assert!(
        a.stdout
            .contains("Apply complete: 9 done, 0 failed, 0 skipped."),
        "{}",
        a.stdout
    );
    assert_eq!(
        w.run(&["plan", "--detailed-exitcode", "stack.yaml"]).code,
        0
    );
    let rt = runtime();
    let filter = aws_sdk_ec2::types::Filter::builder()
        .name("tag:infra:stack")
        .values("demo")
        .build();
    assert_eq!(
        rt.block_on(moto.ec2().describe_subnets().filters(filter).send())
            .unwrap()
            .subnets()
            .len(),
        2
    );

    // The state moves after the plan is made: refused, naming the serials.
    w.write_stack(&demo_stack().replace("env: demo", "env: prod"));
    assert_eq!(w.run(&["plan", "stack.yaml", "--out", "tags.json"]).code, 0);
    w.write_stack(&demo_stack().replace("env: demo", "env: test"));
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    w.write_stack(&demo_stack().replace("env: demo", "env: prod"));
    let stale = w.run(&["apply", "tags.json"]);
    assert_eq!(stale.code, 1);
    assert!(
        stale
            .stderr
            .contains("saved plan is stale: state serial is"),
        "{}",
        stale.stderr
    );
    assert!(
        stale.stderr.contains(", the plan was made at"),
        "{}",
        stale.stderr
    );

    // The stack file changes after the plan is made: refused.
    assert_eq!(
        w.run(&["plan", "stack.yaml", "--out", "again.json"]).code,
        0
    );
    w.write_stack(&demo_stack().replace("env: demo", "env: other"));
    let edited = w.run(&["apply", "again.json"]);
    assert_eq!(edited.code, 1);
    assert!(
        edited.stderr.contains(
            "saved plan is stale: the stack file stack.yaml changed since the plan was made"
        ),
        "{}",
        edited.stderr
    );
    // Nothing was applied by the refused plans.
    w.write_stack(&demo_stack().replace("env: demo", "env: test"));
    let now = w.run(&["plan", "stack.yaml"]);
    assert_eq!(last_line(&now.stdout), "No changes.");
}
