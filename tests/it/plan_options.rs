//! `plan --target` and `plan --refresh=false`, against moto through the counting
//! proxy: what they read, and what they plan.

use crate::support::{Moto, Proxy, Workdir, demo_stack, last_line, runtime};

fn total(proxy: &Proxy) -> u64 {
    proxy.counts().values().filter_map(|v| v.as_u64()).sum()
}

#[test]
fn a_targeted_plan_reads_and_plans_only_the_target_and_what_it_depends_on() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let w = Workdir::new(&proxy.url, &demo_stack());
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    // Two edits: one to the target, one elsewhere.
    w.write_stack(
        &demo_stack()
            .replace(
                "    cidr_block: 10.20.0.0/20\n",
                "    cidr_block: 10.20.0.0/20\n    tags: { tier: public }\n",
            )
            .replace("image_tag_mutability: IMMUTABLE", "image_tag_mutability: MUTABLE"),
    );

    let before = proxy.counts();
    let plan = w.run(&["plan", "--target", "subnet.public_a", "stack.yaml"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(plan.stdout.contains("# subnet.public_a will be updated in place"), "{}", plan.stdout);
    assert!(!plan.stdout.contains("ecr_repository.app"), "{}", plan.stdout);
    assert_eq!(last_line(&plan.stdout), "Plan: 0 to add, 1 to change, 0 to destroy.");
    assert!(plan.stderr.contains("a targeted plan: only subnet.public_a"), "{}", plan.stderr);
    let after = proxy.counts();
    let delta = |op: &str| {
        after.get(op).and_then(|v| v.as_u64()).unwrap_or(0)
            - before.get(op).and_then(|v| v.as_u64()).unwrap_or(0)
    };
    assert_eq!(delta("DescribeSubnets"), 1, "the target is read");
    assert_eq!(delta("DescribeVpcs"), 1, "and what it depends on");
    assert_eq!(delta("DescribeRepositories"), 0, "and nothing else");
    assert_eq!(delta("DescribeSecurityGroups"), 0);

    // apply --target carries out the target's change only.
    let apply = w.run(&["apply", "--auto-approve", "--target", "subnet.public_a", "stack.yaml"]);
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    let full = w.run(&["plan", "stack.yaml"]);
    assert!(
        full.stdout.contains("# ecr_repository.app will be updated in place"),
        "{}",
        full.stdout
    );
    assert!(!full.stdout.contains("subnet.public_a"), "{}", full.stdout);

    // An unknown target is refused before any AWS call.
    let calls = total(&proxy);
    let bad = w.run(&["plan", "--target", "subnet.public_z", "stack.yaml"]);
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("--target subnet.public_z: no such resource"), "{}", bad.stderr);
    assert!(bad.stderr.contains("did you mean `subnet.public_"), "{}", bad.stderr);
    assert_eq!(total(&proxy), calls);
}

#[test]
fn a_plan_without_refresh_reads_nothing_and_plans_from_state() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let w = Workdir::new(&proxy.url, &demo_stack());
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    // Deleted outside infra: only a refresh can know.
    runtime().block_on(moto.ecr().delete_repository().repository_name("enza/app").send()).unwrap();

    let calls = total(&proxy);
    let stale = w.run(&["plan", "--refresh=false", "--detailed-exitcode", "stack.yaml"]);
    assert_eq!(stale.code, 0, "{}{}", stale.stdout, stale.stderr);
    assert!(stale.stdout.contains("No changes."));
    assert_eq!(total(&proxy), calls, "no AWS request at all");

    let fresh = w.run(&["plan", "--detailed-exitcode", "stack.yaml"]);
    assert_eq!(fresh.code, 2);
    assert!(fresh.stdout.contains("# ecr_repository.app will be created"), "{}", fresh.stdout);
    assert!(total(&proxy) > calls);
}
