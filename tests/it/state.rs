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
    assert!(lines.iter().any(|l| l.starts_with("vpc.main\tvpc-")), "{}", list.stdout);

    let show = w.run(&["state", "show", "vpc.main", "stack.yaml"]);
    let r: serde_json::Value = serde_json::from_str(&show.stdout).unwrap();
    assert_eq!(r["type"], "vpc");
    assert_eq!(r["attributes"]["cidr_block"], "10.20.0.0/16");

    // mv, then the same rename in the stack file: nothing is replaced, and the
    // infra:address tag has followed the new name.
    let mv = w.run(&["state", "mv", "subnet.public_a", "subnet.public_x", "stack.yaml"]);
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
    w.assert_no_changes();

    // rm forgets without deleting: the next plan would create it again.
    assert_eq!(w.run(&["state", "rm", "ecr_repository.app", "stack.yaml"]).code, 0);
    assert_eq!(
        rt.block_on(moto.ecr().describe_repositories().send()).unwrap().repositories().len(),
        1,
        "still in AWS"
    );
    let plan = w.run(&["plan", "stack.yaml"]);
    assert!(plan.stdout.contains("# ecr_repository.app will be created"), "{}", plan.stdout);
    assert_eq!(last_line(&plan.stdout), "Plan: 1 to add, 0 to change, 0 to destroy.");
    assert_eq!(
        w.run(&["state", "rm", "ecr_repository.app", "stack.yaml"]).code,
        1,
        "not in state any more"
    );

    // refresh forgets what is gone and records what is there.
    rt.block_on(moto.s3().delete_bucket().bucket("enza-demo-logs").send()).unwrap();
    let refresh = w.run(&["refresh", "stack.yaml"]);
    assert_eq!(refresh.code, 0, "{}", refresh.stderr);
    assert!(
        refresh.stdout.contains("Refreshed 5 resources; 1 no longer exist and were forgotten."),
        "{}",
        refresh.stdout
    );
    assert!(!w.run(&["state", "list", "stack.yaml"]).stdout.contains("s3_bucket.logs"));
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

    // A new range for the VPC (its subnets move with it, or AWS refuses them).
    w.write_stack(&protected.replace("cidr_block: 10.20.", "cidr_block: 10.30."));
    let replace = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(replace.code, 1);
    assert!(
        replace.stderr.contains("vpc.main has prevent_destroy set, and this plan would replace it"),
        "{}",
        replace.stderr
    );

    w.write_stack(&protected);
    let destroy = w.run(&["destroy", "--auto-approve", "stack.yaml"]);
    assert_eq!(destroy.code, 1);
    assert!(
        destroy.stderr.contains("vpc.main has prevent_destroy set, and this plan would destroy it"),
        "{}",
        destroy.stderr
    );
    let rt = runtime();
    let filter =
        aws_sdk_ec2::types::Filter::builder().name("tag:infra:stack").values("demo").build();
    assert_eq!(
        rt.block_on(moto.ec2().describe_vpcs().filters(filter).send()).unwrap().vpcs().len(),
        1,
        "nothing was deleted"
    );
    w.assert_no_changes();
}

/// The backup of a local state is made anew, never written through a link that
/// stands at its name.
#[cfg(unix)]
#[test]
fn the_state_backup_never_follows_a_link() {
    let moto = Moto::start();
    let w = Workdir::new(&moto.url, &demo_stack());
    std::fs::create_dir_all(w.path("state")).unwrap();
    std::fs::write(w.path("victim"), "precious").unwrap();
    std::os::unix::fs::symlink(w.path("victim"), w.path("state/demo.json.backup")).unwrap();
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    assert_eq!(std::fs::read_to_string(w.path("victim")).unwrap(), "precious");
    let backup = std::fs::symlink_metadata(w.path("state/demo.json.backup")).unwrap();
    assert!(backup.file_type().is_file(), "a file of its own now");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(backup.permissions().mode() & 0o777, 0o600);
}

/// A lock whose holder's pid does not run here is taken over early only when
/// the lock proves it was this very process space (host, boot and PID
/// namespace); a lock from another boot waits for its lease.
#[test]
fn a_dead_pid_from_another_boot_does_not_take_the_lock_early() {
    let moto = Moto::start();
    let w = Workdir::new(&moto.url, &demo_stack());
    std::fs::create_dir_all(w.path("state")).unwrap();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let ns = std::fs::read_link("/proc/self/ns/pid").unwrap();
    let now = chrono::Utc::now();
    let lock = |boot: &str| {
        serde_json::json!({
            "id": "11111111-2222-4333-8444-555555555555", "holder": "ci",
            "host": host.trim(), "pid": i32::MAX, "operation": "apply",
            "created": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "expires": (now + chrono::Duration::minutes(10)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "boot_id": boot, "pid_namespace": ns.display().to_string(),
        })
        .to_string()
    };
    std::fs::write(w.path("state/demo.json.lock"), lock("a-boot-before-a-reboot")).unwrap();
    let plan = w.run(&["plan", "stack.yaml"]);
    assert_eq!(plan.code, 1, "{}", plan.stderr);
    assert!(plan.stderr.contains("state is locked"), "{}", plan.stderr);

    // The same lock from this boot: its holder is gone, and it is taken over.
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    std::fs::write(w.path("state/demo.json.lock"), lock(boot.trim())).unwrap();
    let plan = w.run(&["plan", "stack.yaml"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(plan.stderr.contains("no longer runs"), "{}", plan.stderr);
}

/// A state is tied to the account and region it was made in: other credentials
/// or another `region:` are refused before anything is read.
#[test]
fn a_state_of_another_account_or_region_is_refused_before_any_read() {
    let moto = Moto::start();
    let proxy = crate::support::Proxy::start(&moto.url);
    let w = Workdir::new(&proxy.url, &demo_stack());
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    let path = w.path("state/demo.json");
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(state["account"], "123456789012");
    assert_eq!(state["region"], "ap-northeast-1");

    state["account"] = "999999999999".into();
    std::fs::write(&path, state.to_string()).unwrap();
    let before = proxy.counts();
    let plan = w.run(&["plan", "stack.yaml"]);
    assert_eq!(plan.code, 1);
    assert!(
        plan.stderr.contains(
            "belongs to AWS account 999999999999; these credentials act in account 123456789012"
        ),
        "{}",
        plan.stderr
    );
    let read: u64 = proxy
        .counts()
        .iter()
        .filter(|(op, _)| op.as_str() != "GetCallerIdentity")
        .map(|(op, n)| n.as_u64().unwrap() - before.get(op).and_then(|b| b.as_u64()).unwrap_or(0))
        .sum();
    assert_eq!(read, 0, "nothing but the identity was asked");

    state["account"] = "123456789012".into();
    std::fs::write(&path, state.to_string()).unwrap();
    w.write_stack(&demo_stack().replace("region: ap-northeast-1", "region: us-east-1"));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert_eq!(plan.code, 1);
    assert!(
        plan.stderr
            .contains("was made in region ap-northeast-1; the stack file says region us-east-1"),
        "{}",
        plan.stderr
    );
}

/// Taking over a stale local lock is one step (under `<lock>.guard`): a lock
/// another run put in its place meanwhile is read, not removed.
#[test]
fn a_lock_another_run_took_over_meanwhile_is_never_removed() {
    let moto = Moto::start();
    let w = Workdir::new(&moto.url, &demo_stack());
    std::fs::create_dir_all(w.path("state")).unwrap();
    let now = chrono::Utc::now();
    let lock = |id: &str, host: &str, expires: chrono::DateTime<chrono::Utc>| {
        serde_json::json!({
            "id": id, "holder": "ci", "host": host, "pid": 4242, "operation": "apply",
            "created": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "expires": expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        })
        .to_string()
    };
    let lock_path = w.path("state/demo.json.lock");
    // A lock whose lease ended: any run may take it over.
    std::fs::write(
        &lock_path,
        lock(
            "0000000a-0000-4000-8000-000000000001",
            "runner-one",
            now - chrono::Duration::minutes(1),
        ),
    )
    .unwrap();
    let guard = std::fs::File::create(w.path("state/demo.json.lock.guard")).unwrap();
    guard.lock().unwrap();
    let child = w
        .command(&["plan", "stack.yaml"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(2));
    // Another run takes it over first.
    let theirs = lock(
        "0000000b-0000-4000-8000-000000000002",
        "runner-two",
        now + chrono::Duration::hours(1),
    );
    std::fs::write(&lock_path, &theirs).unwrap();
    guard.unlock().unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("held by ci@runner-two"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&lock_path).unwrap(), theirs);
}

/// A local state's serial check and its rename are one step (under
/// `<file>.guard`): a state another writer saved meanwhile is never
/// overwritten.
#[test]
fn a_state_written_meanwhile_is_never_overwritten() {
    let moto = Moto::start();
    let w = Workdir::new(&moto.url, &demo_stack());
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    w.write_stack(&demo_stack().replace("env: demo", "env: prod"));
    let state_path = w.path("state/demo.json");
    let guard = std::fs::File::create(w.path("state/demo.json.guard")).unwrap();
    guard.lock().unwrap();
    let mut child = w
        .command(&["apply", "--auto-approve", "stack.yaml"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once the plan is out, the state was read and its first write waits.
    use std::io::BufRead;
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while stdout.read_line(&mut line).unwrap() > 0 && !line.starts_with("Plan:") {
        line.clear();
    }
    assert!(line.starts_with("Plan:"), "the plan was printed");
    std::thread::sleep(std::time::Duration::from_millis(500));
    // Another writer (its lock forced) saves first.
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
    let serial = state["serial"].as_u64().unwrap();
    state["serial"] = (serial + 5).into();
    let theirs = serde_json::to_string_pretty(&state).unwrap();
    std::fs::write(&state_path, &theirs).unwrap();
    guard.unlock().unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("changed since infra read it"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&state_path).unwrap(), theirs);
}
