//! Shared state on S3 with lease locks, force-unlock, and import, against moto.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{
    Moto, Proxy, Workdir, cutover_stack, demo_stack, inventory, runtime, state_ids,
};
use aws_sdk_s3::primitives::ByteStream;

const BUCKET: &str = "enza-infra-state";
const KEY: &str = "stacks/demo.json";

fn s3_stack() -> String {
    demo_stack().replace(
        "resources:",
        &format!("state:\n  backend: s3\n  bucket: {BUCKET}\n  key: {KEY}\n\nresources:"),
    )
}

fn make_bucket(moto: &Moto) {
    moto.create_bucket(BUCKET);
}

/// The object's text, or None.
fn object(moto: &Moto, key: &str) -> Option<String> {
    let rt = runtime();
    let out = rt.block_on(moto.s3().get_object().bucket(BUCKET).key(key).send()).ok()?;
    let bytes = rt.block_on(out.body.collect()).unwrap().into_bytes();
    Some(String::from_utf8(bytes.to_vec()).unwrap())
}

fn put_object(moto: &Moto, key: &str, body: &str) {
    runtime()
        .block_on(
            moto.s3()
                .put_object()
                .bucket(BUCKET)
                .key(key)
                .body(ByteStream::from(body.as_bytes().to_vec()))
                .send(),
        )
        .unwrap();
}

/// A lock as a run on another machine would leave it.
fn foreign_lock(expires_in: i64) -> serde_json::Value {
    let now = chrono::Utc::now();
    serde_json::json!({
        "id": "7d1c9a52-0000-4000-8000-00000000c1c1",
        "holder": "ci",
        "host": "runner-elsewhere-7",
        "pid": 4242,
        "operation": "apply",
        "created": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "expires": (now + chrono::Duration::seconds(expires_in)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    })
}

#[test]
fn two_applies_on_one_s3_state_one_proceeds_and_the_other_names_the_holder() {
    let moto = Moto::start();
    make_bucket(&moto);
    let w = Workdir::new(&moto.url, &s3_stack());
    let spawn = || {
        w.command(&["apply", "--auto-approve", "stack.yaml"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let runs: Vec<_> = [a, b].into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    let codes: Vec<i32> = runs.iter().map(|o| o.status.code().unwrap()).collect();
    assert!(codes.contains(&0) && codes.contains(&1), "{codes:?}");
    let refused = &runs[codes.iter().position(|&c| c == 1).unwrap()];
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("state is locked"), "{err}");
    assert!(err.contains(&format!("s3://{BUCKET}/{KEY}.lock is held by")), "{err}");
    assert!(err.contains("(pid "), "{err}");
    let ok = &runs[codes.iter().position(|&c| c == 0).unwrap()];
    let said = String::from_utf8_lossy(&ok.stderr);
    assert!(
        said.contains(&format!("state: s3 s3://{BUCKET}/{KEY}; lock s3://{BUCKET}/{KEY}.lock")),
        "{said}"
    );

    // The state is in S3, not on disk; the lock is released; one of each exists.
    let state: serde_json::Value = serde_json::from_str(&object(&moto, KEY).unwrap()).unwrap();
    assert_eq!(state["resources"].as_object().unwrap().len(), 7);
    assert!(!w.path("state").exists());
    assert_eq!(object(&moto, &format!("{KEY}.lock")), None);
    let held = inventory(&moto);
    assert_eq!(held["vpc"].len(), 1);
    assert_eq!(state_ids(&state)["vpc"], held["vpc"], "the VPC in state is the one that exists");
    let plan = w.run(&["plan", "--detailed-exitcode", "stack.yaml"]);
    assert_eq!(plan.code, 0, "{}{}", plan.stdout, plan.stderr);
}

#[test]
fn an_expired_lease_is_taken_over_and_a_live_one_is_renewed() {
    let moto = Moto::start();
    make_bucket(&moto);
    let w = Workdir::new(&moto.url, &s3_stack());
    let lock_key = format!("{KEY}.lock");

    // A run on another machine holds the lock for 3 more seconds.
    put_object(&moto, &lock_key, &foreign_lock(3).to_string());
    let refused = w.run(&["plan", "stack.yaml"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("held by ci@runner-elsewhere-7 (pid 4242, apply since"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("infra force-unlock 7d1c9a52-0000-4000-8000-00000000c1c1"),
        "{}",
        refused.stderr
    );
    // Past its end, and the second of grace whole-second clocks are given.
    std::thread::sleep(Duration::from_secs(5));
    let took = w.run(&["plan", "stack.yaml"]);
    assert_eq!(took.code, 0, "{}", took.stderr);
    assert!(
        took.stderr.contains("taking over the lock")
            && took.stderr.contains("its lease expired at"),
        "{}",
        took.stderr
    );
    assert_eq!(object(&moto, &lock_key), None, "released after the plan");

    // A live run renews its 4-second lease: a second run 6 s in is refused
    // (renewals every 1.3 s leave room for a loaded machine).
    let proxy = Proxy::start(&moto.url);
    proxy.rules(serde_json::json!([
        {"op": "CreateSubnet", "action": "latency", "ms": 9000}
    ]));
    let slow = Workdir::new(&proxy.url, &s3_stack());
    let child = slow
        .command(&["apply", "--auto-approve", "stack.yaml"])
        .env("INFRA_LOCK_LEASE", "4")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(6));
    let second = w.run(&["plan", "stack.yaml"]);
    assert_eq!(second.code, 1, "{}", second.stderr);
    assert!(second.stderr.contains("state is locked"), "{}", second.stderr);
    let held: serde_json::Value = serde_json::from_str(&object(&moto, &lock_key).unwrap()).unwrap();
    let expires = chrono::DateTime::parse_from_rfc3339(held["expires"].as_str().unwrap()).unwrap();
    let created = chrono::DateTime::parse_from_rfc3339(held["created"].as_str().unwrap()).unwrap();
    assert!(expires - created > chrono::Duration::seconds(5), "renewed: {held}");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_lock_left_by_a_killed_process_on_this_host_is_taken_over_at_once() {
    let moto = Moto::start();
    make_bucket(&moto);
    let proxy = Proxy::start(&moto.url);
    proxy.rules(serde_json::json!([
        {"op": "CreateSubnet", "action": "latency", "ms": 5000}
    ]));
    let w = Workdir::new(&proxy.url, &s3_stack());
    let mut child = w
        .command(&["apply", "--auto-approve", "stack.yaml"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while object(&moto, &format!("{KEY}.lock")).is_none() {
        assert!(Instant::now() < deadline, "the apply never took the lock");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    child.kill().unwrap(); // SIGKILL: the lock stays behind, its lease 15 minutes long
    child.wait().unwrap();
    assert!(object(&moto, &format!("{KEY}.lock")).is_some());

    proxy.rules(serde_json::json!([]));
    let rerun = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(rerun.code, 0, "{}", rerun.stderr);
    assert!(rerun.stderr.contains("on this host, no longer runs"), "{}", rerun.stderr);
    assert_eq!(inventory(&moto)["subnet"].len(), 2);
}

#[test]
fn a_stale_writer_gets_a_clear_error_and_overwrites_nothing() {
    let moto = Moto::start();
    make_bucket(&moto);
    let proxy = Proxy::start(&moto.url);
    proxy.rules(serde_json::json!([
        {"op": "CreateSubnet", "action": "latency", "ms": 2500}
    ]));
    let w = Workdir::new(&proxy.url, &s3_stack());
    let child = w
        .command(&["apply", "--auto-approve", "stack.yaml"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once the apply has written state, another writer (a run that forced the
    // lock) writes its own.
    let deadline = Instant::now() + Duration::from_secs(30);
    let theirs = loop {
        if let Some(text) = object(&moto, KEY) {
            let mut state: serde_json::Value = serde_json::from_str(&text).unwrap();
            state["serial"] = serde_json::json!(1000);
            break state.to_string();
        }
        assert!(Instant::now() < deadline, "the apply never wrote state");
        std::thread::sleep(Duration::from_millis(20));
    };
    put_object(&moto, KEY, &theirs);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("state s3://{BUCKET}/{KEY} changed since infra read it")),
        "{err}"
    );
    assert!(err.contains("nothing was overwritten"), "{err}");
    assert_eq!(object(&moto, KEY).unwrap(), theirs, "the other writer's state stands");
}

#[test]
fn force_unlock_removes_a_lock_by_its_id_after_confirmation() {
    let moto = Moto::start();
    let w = Workdir::new(&moto.url, &demo_stack());
    std::fs::create_dir_all(w.path("state")).unwrap();
    std::fs::write(w.path("state/demo.json.lock"), foreign_lock(600).to_string()).unwrap();
    let refused = w.run(&["plan", "stack.yaml"]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("held by ci@runner-elsewhere-7"), "{}", refused.stderr);

    let wrong = w.run(&["force-unlock", "not-the-id", "stack.yaml", "--force"]);
    assert_eq!(wrong.code, 1);
    assert!(wrong.stderr.contains("has id 7d1c9a52"), "{}", wrong.stderr);
    let unasked = w.run(&["force-unlock", "7d1c9a52-0000-4000-8000-00000000c1c1", "stack.yaml"]);
    assert_eq!(unasked.code, 1);
    assert!(unasked.stderr.contains("without confirmation"), "{}", unasked.stderr);
    assert!(w.path("state/demo.json.lock").exists());

    let forced =
        w.run(&["force-unlock", "7d1c9a52-0000-4000-8000-00000000c1c1", "stack.yaml", "--force"]);
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    assert!(!w.path("state/demo.json.lock").exists());
    assert_eq!(w.run(&["plan", "stack.yaml"]).code, 0);
}

#[test]
fn import_reads_what_exists_and_the_next_plan_has_nothing_to_do() {
    let moto = Moto::start();
    // What exists before the migration: made by an earlier tool (here, another
    // state of infra that is then thrown away).
    let w = Workdir::new(&moto.url, &cutover_stack());
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    let old: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/cutover.json")).unwrap())
            .unwrap();
    std::fs::remove_dir_all(w.path("state")).unwrap();
    let before = inventory(&moto);

    let missing = w.run(&["import", "load_balancer.web", "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:loadbalancer/app/nope/0123456789abcdef", "stack.yaml"]);
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.contains("there is no load_balancer"), "{}", missing.stderr);
    let unknown = w.run(&["import", "load_balancer.other", "x", "stack.yaml"]);
    assert_eq!(unknown.code, 1);
    assert!(unknown.stderr.contains("is not in stack.yaml"), "{}", unknown.stderr);

    for (address, r) in old["resources"].as_object().unwrap() {
        let id = r["id"].as_str().unwrap();
        let out = w.run(&["import", address, id, "stack.yaml"]);
        assert_eq!(out.code, 0, "{address}: {}", out.stderr);
        assert!(out.stdout.contains(&format!("Imported {address} ({id})")));
    }
    let again = w.run(&["import", "load_balancer.web", "x", "stack.yaml"]);
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("already in state"), "{}", again.stderr);

    let plan = w.run(&["plan", "--detailed-exitcode", "stack.yaml"]);
    assert_eq!(plan.code, 0, "{}", plan.stdout);
    assert!(plan.stdout.contains("No changes."));
    assert_eq!(inventory(&moto), before, "import changed nothing in AWS");
}

/// A state deleted from a versioned bucket (its latest version a delete marker)
/// is an error, not a new stack that would create everything again.
#[test]
fn a_deleted_state_is_refused_not_planned_from_nothing() {
    let moto = Moto::start();
    make_bucket(&moto);
    let rt = runtime();
    rt.block_on(
        moto.s3()
            .put_bucket_versioning()
            .bucket(BUCKET)
            .versioning_configuration(
                aws_sdk_s3::types::VersioningConfiguration::builder()
                    .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send(),
    )
    .unwrap();
    let w = Workdir::new(&moto.url, &s3_stack());
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    rt.block_on(moto.s3().delete_object().bucket(BUCKET).key(KEY).send()).unwrap();
    let plan = w.run(&["plan", "stack.yaml"]);
    assert_eq!(plan.code, 1, "{}", plan.stdout);
    assert!(
        plan.stderr.contains("the state was deleted: its latest version is a delete marker"),
        "{}",
        plan.stderr
    );
    assert!(!plan.stdout.contains("will be created"), "{}", plan.stdout);
}

/// S3 answers 409 ConditionalRequestConflict when two conditional writes of one
/// object meet: contention, tried again like a failed condition.
#[test]
fn a_conflicting_lock_write_is_contention_and_tried_again() {
    let moto = Moto::start();
    make_bucket(&moto);
    let proxy = Proxy::start(&moto.url);
    proxy.rules(serde_json::json!([
        {"op": format!("PUT /{BUCKET}/{KEY}.lock"), "action": "error",
         "s3_status": 409, "s3_code": "ConditionalRequestConflict", "times": 1}
    ]));
    let w = Workdir::new(&proxy.url, &s3_stack());
    let apply = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    assert!(proxy.count(&format!("PUT /{BUCKET}/{KEY}.lock")) >= 2);
}

/// Every call on the state bucket names the account it must belong to
/// (`ExpectedBucketOwner`): S3 refuses a bucket of that name elsewhere.
#[test]
fn the_state_bucket_must_be_this_accounts() {
    let moto = Moto::start();
    make_bucket(&moto);
    let proxy = Proxy::start(&moto.url);
    let owner = |account: &str| {
        serde_json::json!([{"path_prefix": format!("/{BUCKET}"), "action": "require_header",
                            "name": "x-amz-expected-bucket-owner", "value": account}])
    };
    proxy.rules(owner("123456789012"));
    let w = Workdir::new(&proxy.url, &s3_stack());
    let apply = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    // The same name owned by another account: refused, nothing read.
    proxy.rules(owner("999999999999"));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert_eq!(plan.code, 1);
    assert!(plan.stderr.contains("AccessDenied"), "{}", plan.stderr);
}

/// A lease that cannot be renewed before it ends is a lost lock: the run starts
/// no more steps, lets the running ones end, and exits 1 saying so.
#[test]
fn a_lock_that_cannot_be_renewed_stops_the_run() {
    let moto = Moto::start();
    make_bucket(&moto);
    let proxy = Proxy::start(&moto.url);
    proxy.rules(serde_json::json!([
        // The lock is taken; every renewal after fails.
        {"op": format!("PUT /{BUCKET}/{KEY}.lock"), "action": "error",
         "s3_status": 500, "s3_code": "InternalError", "after": 1},
        {"op": "CreateSecurityGroup", "action": "latency", "ms": 12000}
    ]));
    let w = Workdir::new(&proxy.url, &s3_stack());
    let apply = w
        .command(&["apply", "--auto-approve", "stack.yaml"])
        .env("INFRA_LOCK_LEASE", "3")
        .output()
        .unwrap();
    let (stdout, stderr) =
        (String::from_utf8_lossy(&apply.stdout), String::from_utf8_lossy(&apply.stderr));
    assert_eq!(apply.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(
            "Apply stopped: the lock was lost: its lease ended before it could be renewed"
        ),
        "{stderr}"
    );
    assert!(stdout.contains("skipped:"), "later steps were not started: {stdout}");
    let state: serde_json::Value = serde_json::from_str(&object(&moto, KEY).unwrap()).unwrap();
    assert!(
        state["resources"]["security_group.alb"]["id"].is_string(),
        "the steps under way ended and were saved: {state}"
    );
}

/// Every AWS call has a time limit (`INFRA_CALL_TIMEOUT`): a connection that
/// hangs fails the call instead of holding the lock for ever.
#[test]
fn a_hung_call_times_out() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let w = Workdir::new(&proxy.url, &demo_stack());
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
    proxy.rules(serde_json::json!([{"op": "DescribeVpcs", "action": "latency", "ms": 60000}]));
    let started = Instant::now();
    let plan = w.command(&["plan", "stack.yaml"]).env("INFRA_CALL_TIMEOUT", "1").output().unwrap();
    assert_eq!(plan.status.code(), Some(1));
    assert!(started.elapsed() < Duration::from_secs(30), "{:?}", started.elapsed());
    let stderr = String::from_utf8_lossy(&plan.stderr);
    assert!(stderr.contains("DescribeVpcs"), "{stderr}");
}

/// Lease times are AWS's (the `Date` of its answers), not this host's: a lock
/// whose lease is over by AWS's clock is taken over though this host's clock
/// says it runs on; one still live by AWS's clock is refused though this
/// host's says it ended. A new lock's lease is written in AWS's time.
#[test]
fn lease_times_are_measured_with_the_servers_clock() {
    let moto = Moto::start();
    make_bucket(&moto);
    let proxy = Proxy::start(&moto.url);
    let w = Workdir::new(&proxy.url, &s3_stack());
    let lock_key = format!("{KEY}.lock");

    // AWS's clock is two hours ahead of this host's.
    proxy.rules(serde_json::json!([{"action": "clock", "seconds": 7200}]));
    put_object(&moto, &lock_key, &foreign_lock(3600).to_string());
    let took = w.run(&["plan", "stack.yaml"]);
    assert_eq!(took.code, 0, "{}", took.stderr);
    assert!(
        took.stderr.contains("taking over the lock")
            && took.stderr.contains("its lease expired at"),
        "{}",
        took.stderr
    );
    // This run's own lease was written in AWS's time.
    let lease_until = took
        .stderr
        .split("lease until ")
        .nth(1)
        .and_then(|s| s.get(..20))
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .unwrap_or_else(|| panic!("no lease time: {}", took.stderr));
    let ahead = lease_until.with_timezone(&chrono::Utc) - chrono::Utc::now();
    assert!(
        ahead > chrono::Duration::minutes(100),
        "lease until {lease_until}: AWS's time plus 15 minutes"
    );

    // AWS's clock is an hour behind: a lock this host thinks ended a minute ago
    // is live.
    proxy.rules(serde_json::json!([{"action": "clock", "seconds": -3600}]));
    put_object(&moto, &lock_key, &foreign_lock(-60).to_string());
    let refused = w.run(&["plan", "stack.yaml"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stderr.contains("state is locked"), "{}", refused.stderr);
}
