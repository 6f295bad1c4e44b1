//! The real binary against the moto emulator; every check looks at the emulator
//! itself through the SDK.

use crate::support::{Moto, Tripwire, Workdir, demo_stack, last_line, runtime};
use aws_sdk_ec2::types::Filter;

fn tagged(f: &str) -> Filter {
    Filter::builder().name(f).values("demo").build()
}

/// Security group ids of the stack by name.
fn groups(moto: &Moto) -> Vec<aws_sdk_ec2::types::SecurityGroup> {
    runtime()
        .block_on(moto.ec2().describe_security_groups().filters(tagged("tag:infra:stack")).send())
        .unwrap()
        .security_groups()
        .to_vec()
}

fn subnets(moto: &Moto) -> Vec<aws_sdk_ec2::types::Subnet> {
    let mut s = runtime()
        .block_on(moto.ec2().describe_subnets().filters(tagged("tag:infra:stack")).send())
        .unwrap()
        .subnets()
        .to_vec();
    s.sort_by_key(|n| n.cidr_block().unwrap_or_default().to_string());
    s
}

fn repo(moto: &Moto) -> Option<aws_sdk_ecr::types::Repository> {
    runtime()
        .block_on(moto.ecr().describe_repositories().send())
        .unwrap()
        .repositories()
        .iter()
        .find(|r| r.repository_name() == Some("enza/app"))
        .cloned()
}

fn rule_sources(g: &aws_sdk_ec2::types::SecurityGroup) -> Vec<(i32, String)> {
    let mut out: Vec<(i32, String)> = g
        .ip_permissions()
        .iter()
        .flat_map(|p| {
            let port = p.from_port().unwrap_or(-1);
            p.ip_ranges()
                .iter()
                .map(move |r| (port, r.cidr_ip().unwrap_or_default().to_string()))
                .chain(
                    p.user_id_group_pairs()
                        .iter()
                        .map(move |u| (port, u.group_id().unwrap_or_default().to_string())),
                )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn lifecycle_apply_noop_edit_replace_recreate_destroy() {
    let moto = Moto::start();
    let w = Workdir::new(&moto.url, &demo_stack());

    // Plan: seven to add.
    let plan = w.run(&["plan", "stack.yaml"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert_eq!(last_line(&plan.stdout), "Plan: 7 to add, 0 to change, 0 to destroy.");

    // Apply creates everything, as the emulator shows.
    let apply = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    assert!(
        apply.stdout.contains("Apply complete: 7 done, 0 failed, 0 skipped."),
        "{}",
        apply.stdout
    );
    let vpcs = runtime()
        .block_on(moto.ec2().describe_vpcs().filters(tagged("tag:infra:stack")).send())
        .unwrap();
    assert_eq!(vpcs.vpcs().len(), 1);
    let vpc_id = vpcs.vpcs()[0].vpc_id().unwrap().to_string();
    assert_eq!(vpcs.vpcs()[0].cidr_block(), Some("10.20.0.0/16"));
    let nets = subnets(&moto);
    assert_eq!(
        nets.iter().map(|n| n.cidr_block().unwrap()).collect::<Vec<_>>(),
        ["10.20.0.0/20", "10.20.16.0/20"]
    );
    assert!(
        nets.iter()
            .all(|n| n.vpc_id() == Some(vpc_id.as_str())
                && n.map_public_ip_on_launch() == Some(true))
    );
    let gs = groups(&moto);
    let by_name = |n: &str| gs.iter().find(|g| g.group_name() == Some(n)).unwrap().clone();
    let (alb, nodes) = (by_name("demo-alb"), by_name("demo-nodes"));
    let (alb_id, nodes_id) =
        (alb.group_id().unwrap().to_string(), nodes.group_id().unwrap().to_string());
    assert_eq!(rule_sources(&alb), vec![(443, "0.0.0.0/0".to_string()), (8080, nodes_id.clone())]);
    assert_eq!(rule_sources(&nodes), vec![(30000, alb_id.clone())]);
    let s3 = moto.s3();
    let versioning =
        runtime().block_on(s3.get_bucket_versioning().bucket("enza-demo-logs").send()).unwrap();
    assert_eq!(versioning.status().map(|s| s.as_str()), Some("Enabled"));
    let pab =
        runtime().block_on(s3.get_public_access_block().bucket("enza-demo-logs").send()).unwrap();
    assert_eq!(pab.public_access_block_configuration().unwrap().block_public_acls(), Some(true));
    // SSE-S3 is AWS's own for every bucket (since 2023, and it cannot be
    // turned off): infra does not ask for it, and reads a bucket without a
    // configuration (the emulator keeps none) as holding it.
    let enc = runtime().block_on(s3.get_bucket_encryption().bucket("enza-demo-logs").send());
    assert!(enc.is_err(), "no PutBucketEncryption was sent");
    let r = repo(&moto).expect("the repository exists");
    assert_eq!(r.image_tag_mutability().map(|m| m.as_str()), Some("IMMUTABLE"));
    assert_eq!(r.image_scanning_configuration().map(|c| c.scan_on_push()), Some(true));
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/demo.json")).unwrap()).unwrap();
    assert_eq!(state["resources"].as_object().unwrap().len(), 7);
    assert_eq!(state["resources"]["s3_bucket.logs"]["attributes"]["encryption"], "AES256");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(w.path("state/demo.json")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // The next plan has nothing to do.
    let again = w.run(&["plan", "--detailed-exitcode", "stack.yaml"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert_eq!(again.stdout, "No changes.\n");

    // Three edits: exactly three in-place updates, nothing else.
    let edited = demo_stack()
        .replacen("map_public_ip_on_launch: true", "map_public_ip_on_launch: false", 1)
        .replace("image_tag_mutability: IMMUTABLE", "image_tag_mutability: MUTABLE")
        .replace(
            r#"      - { protocol: tcp, ports: "443", cidr: 0.0.0.0/0, description: https }"#,
            "      - { protocol: tcp, ports: \"443\", cidr: 0.0.0.0/0, description: https }\n      - { protocol: tcp, ports: \"80\", cidr: 0.0.0.0/0, description: http }",
        );
    w.write_stack(&edited);
    let plan = w.run(&["plan", "--detailed-exitcode", "stack.yaml"]);
    assert_eq!(plan.code, 2, "{}", plan.stderr);
    assert_eq!(last_line(&plan.stdout), "Plan: 0 to add, 3 to change, 0 to destroy.");
    let headers: Vec<&str> = plan.stdout.lines().filter(|l| l.starts_with("  # ")).collect();
    assert_eq!(
        headers,
        [
            "  # ecr_repository.app will be updated in place",
            "  # security_group.alb will be updated in place",
            "  # subnet.public_a will be updated in place",
        ]
    );
    let apply = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    let nets = subnets(&moto);
    assert_eq!(nets[0].map_public_ip_on_launch(), Some(false));
    assert_eq!(nets[1].map_public_ip_on_launch(), Some(true));
    assert_eq!(repo(&moto).unwrap().image_tag_mutability().map(|m| m.as_str()), Some("MUTABLE"));
    let alb = groups(&moto).into_iter().find(|g| g.group_name() == Some("demo-alb")).unwrap();
    assert_eq!(
        alb.group_id(),
        Some(alb_id.as_str()),
        "rules change in place, never by replacing the group"
    );
    assert_eq!(
        rule_sources(&alb),
        vec![(80, "0.0.0.0/0".into()), (443, "0.0.0.0/0".into()), (8080, nodes_id.clone())]
    );
    w.assert_no_changes();

    // A subnet whose CIDR changes is replaced.
    let old_c = subnets(&moto)[1].subnet_id().unwrap().to_string();
    w.write_stack(&edited.replace("10.20.16.0/20", "10.20.32.0/20"));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(plan.stdout.contains("-/+ subnet.public_c"), "{}", plan.stdout);
    assert!(plan.stdout.contains("# forces replacement"), "{}", plan.stdout);
    assert_eq!(last_line(&plan.stdout), "Plan: 1 to add, 0 to change, 1 to destroy.");
    let apply = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    let nets = subnets(&moto);
    assert_eq!(
        nets.iter().map(|n| n.cidr_block().unwrap()).collect::<Vec<_>>(),
        ["10.20.0.0/20", "10.20.32.0/20"]
    );
    assert_ne!(nets[1].subnet_id(), Some(old_c.as_str()));
    w.assert_no_changes();

    // A resource deleted behind the tool's back is created again.
    runtime()
        .block_on(moto.ecr().delete_repository().repository_name("enza/app").force(true).send())
        .unwrap();
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(
        plan.stdout.contains("# ecr_repository.app will be created (it was deleted outside infra)"),
        "{}",
        plan.stdout
    );
    assert_eq!(last_line(&plan.stdout), "Plan: 1 to add, 0 to change, 0 to destroy.");
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    assert!(repo(&moto).is_some());

    // Destroy leaves nothing tagged with the stack.
    let destroy = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(destroy.code, 0, "{}\n{}", destroy.stdout, destroy.stderr);
    assert!(
        destroy.stdout.contains("Plan: 0 to add, 0 to change, 7 to destroy."),
        "{}",
        destroy.stdout
    );
    let ec2 = moto.ec2();
    let rt = runtime();
    assert!(
        rt.block_on(ec2.describe_vpcs().filters(tagged("tag:infra:stack")).send())
            .unwrap()
            .vpcs()
            .is_empty()
    );
    assert!(subnets(&moto).is_empty());
    assert!(groups(&moto).is_empty());
    assert!(repo(&moto).is_none());
    let buckets = rt.block_on(s3.list_buckets().send()).unwrap();
    assert!(buckets.buckets().iter().all(|b| b.name() != Some("enza-demo-logs")));
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/demo.json")).unwrap()).unwrap();
    assert!(state["resources"].as_object().unwrap().is_empty());
}

#[test]
fn two_concurrent_applies_one_is_refused() {
    let moto = Moto::start();
    let w = Workdir::new(&moto.url, &demo_stack());
    let a = w
        .command(&["apply", "--auto-approve", "stack.yaml"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let b = w
        .command(&["apply", "--auto-approve", "stack.yaml"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (a_pid, b_pid) = (a.id(), b.id());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let codes = (a.status.code(), b.status.code());
    let (refused, holder_pid) = match codes {
        (Some(0), Some(1)) => (b, a_pid),
        (Some(1), Some(0)) => (a, b_pid),
        other => panic!("expected one success and one refusal, got {other:?}"),
    };
    let _ = b_pid;
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("state is locked") && err.contains("is held by"), "{err}");
    assert!(err.contains(&format!("pid {holder_pid}")), "the refusal names the holder: {err}");
    // Only one of each resource was made.
    assert_eq!(groups(&moto).len(), 2);
    assert_eq!(subnets(&moto).len(), 2);
    assert!(!w.path("state/demo.json.lock").exists(), "the lock is released");
}

#[test]
fn a_broken_stack_touches_nothing() {
    let wire = Tripwire::start();
    let w = Workdir::new(
        &wire.url,
        &demo_stack().replace("cidr_block: 10.20.0.0/16", "cidr_blok: 10.20.0.0/16"),
    );
    for cmd in [
        &["plan", "stack.yaml"][..],
        &["apply", "--auto-approve", "stack.yaml"],
        &["destroy", "--auto-approve", "stack.yaml"],
    ] {
        let r = w.run(cmd);
        assert_eq!(r.code, 1, "{cmd:?}");
        assert!(
            r.stderr.contains("stack.yaml:12:5: unknown attribute `cidr_blok`"),
            "{}",
            r.stderr
        );
        assert!(r.stderr.contains("did you mean `cidr_block`?"), "{}", r.stderr);
    }
    assert_eq!(wire.connections(), 0, "no AWS call");
    assert!(!w.path("state").exists(), "no state written, no lock taken");

    // A wrong flag: exit 1 with a hint, nothing touched.
    let r = w.run(&["apply", "--auto-aprove", "stack.yaml"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("--auto-approve"), "{}", r.stderr);
    assert_eq!(wire.connections(), 0);
}

#[test]
fn a_corrupt_state_is_refused_and_kept() {
    let wire = Tripwire::start();
    let w = Workdir::new(&wire.url, &demo_stack());
    std::fs::create_dir_all(w.path("state")).unwrap();
    std::fs::write(w.path("state/demo.json"), "{\"version\": 1, \"serial\": ").unwrap();
    for cmd in [&["plan", "stack.yaml"][..], &["apply", "--auto-approve", "stack.yaml"]] {
        let r = w.run(cmd);
        assert_eq!(r.code, 1);
        assert!(r.stderr.contains("state file state/demo.json is corrupt"), "{}", r.stderr);
        assert!(r.stderr.contains("hint: infra will not overwrite it"), "{}", r.stderr);
    }
    assert_eq!(
        std::fs::read_to_string(w.path("state/demo.json")).unwrap(),
        "{\"version\": 1, \"serial\": "
    );
    assert_eq!(wire.connections(), 0);
    assert!(!w.path("state/demo.json.lock").exists());
}

#[test]
fn apply_without_a_terminal_refuses_unless_approved() {
    let moto = Moto::start();
    let w = Workdir::new(&moto.url, &demo_stack());
    let r = w.run(&["apply", "stack.yaml"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("standard input is not a terminal"), "{}", r.stderr);
    assert!(
        r.stderr.contains("hint: review the plan, then run again with --auto-approve"),
        "{}",
        r.stderr
    );
    assert!(subnets(&moto).is_empty(), "nothing was created");
}

#[test]
fn a_failed_resource_skips_its_dependents_and_the_rest_goes_on() {
    let moto = Moto::start();
    let stack = r#"
stack: partial
region: ap-northeast-1
resources:
  vpc.main:
    cidr_block: 10.40.0.0/16
  subnet.outside:
    vpc_id: vpc-0123456789abcdef0
    cidr_block: 10.99.0.0/24
  s3_bucket.after:
    name: partial-after
    depends_on: [subnet.outside]
  ecr_repository.independent:
    name: partial/independent
"#;
    let w = Workdir::new(&moto.url, stack);
    let r = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("Apply failed: 2 done, 1 failed, 1 skipped."), "{}", r.stdout);
    assert!(
        r.stdout.contains("failed: subnet.outside: CreateSubnet: InvalidVpcID.NotFound"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("skipped: s3_bucket.after"), "{}", r.stdout);
    let rt = runtime();
    let repos = rt.block_on(moto.ecr().describe_repositories().send()).unwrap();
    assert_eq!(repos.repositories().len(), 1, "the independent resource was made");
    let buckets = rt.block_on(moto.s3().list_buckets().send()).unwrap();
    assert!(buckets.buckets().is_empty(), "the dependent was skipped");
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/partial.json")).unwrap())
            .unwrap();
    let mut kept: Vec<&String> = state["resources"].as_object().unwrap().keys().collect();
    kept.sort();
    assert_eq!(kept, ["ecr_repository.independent", "vpc.main"], "state holds what was done");
    // The next plan shows only what is left.
    let plan = w.run(&["plan", "stack.yaml"]);
    assert_eq!(last_line(&plan.stdout), "Plan: 2 to add, 0 to change, 0 to destroy.");
}

#[test]
fn throttling_and_dropped_connections_are_retried_without_duplicates() {
    let moto = Moto::start();
    let proxy = crate::support::Proxy::start(&moto.url);
    proxy.rules(serde_json::json!([
        {"op": "CreateVpc", "action": "error", "status": 400, "code": "RequestLimitExceeded", "times": 2},
        {"op": "CreateSecurityGroup", "action": "error", "status": 503, "code": "ServiceUnavailable", "times": 1},
        {"op": "CreateSubnet", "action": "reset", "times": 1},
        {"op": "*", "action": "latency", "ms": 5}
    ]));
    let w = Workdir::new(&proxy.url, &demo_stack());
    let r = w.apply_ok();
    assert_eq!(proxy.count("CreateVpc"), 3, "two throttled, one through");
    assert_eq!(proxy.count("CreateSecurityGroup"), 3, "one 503 retried");
    assert_eq!(proxy.count("CreateSubnet"), 3, "one dropped connection retried");
    let retried: u64 = r
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("AWS calls retried after throttling or transient errors: "))
        .and_then(|n| n.trim_end_matches('.').parse().ok())
        .unwrap_or_else(|| panic!("the summary counts retries:\n{}", r.stdout));
    assert!(retried >= 4, "{retried}");
    let rt = runtime();
    let vpcs =
        rt.block_on(moto.ec2().describe_vpcs().filters(tagged("tag:infra:stack")).send()).unwrap();
    assert_eq!(vpcs.vpcs().len(), 1, "nothing duplicated");
    assert_eq!(groups(&moto).len(), 2);
    assert_eq!(subnets(&moto).len(), 2);
    w.assert_no_changes();
}

#[test]
fn a_state_at_the_highest_serial_is_refused_without_a_panic() {
    let wire = Tripwire::start();
    let w = Workdir::new(&wire.url, &demo_stack());
    std::fs::create_dir_all(w.path("state")).unwrap();
    let text = format!(
        "{{\"version\": 1, \"serial\": {}, \"lineage\": \"x\", \"stack\": \"demo\", \"resources\": {{}}}}",
        u64::MAX
    );
    std::fs::write(w.path("state/demo.json"), &text).unwrap();
    for cmd in [&["plan", "stack.yaml"][..], &["apply", "--auto-approve", "stack.yaml"]] {
        let r = w.run(cmd);
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
        assert!(r.stderr.contains("serial"), "{}", r.stderr);
        assert!(r.stderr.contains("hint:"), "{}", r.stderr);
    }
    assert_eq!(std::fs::read_to_string(w.path("state/demo.json")).unwrap(), text);
    assert_eq!(wire.connections(), 0);
}
