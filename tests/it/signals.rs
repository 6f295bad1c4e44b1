//! Interrupts against moto: a first Ctrl-C or SIGTERM (what CI sends when a job
//! is cancelled) stops starting steps, lets the running ones finish, saves and
//! releases the lock; a second abandons the waits under way and exits 130.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{Moto, Proxy, Workdir, demo_stack, flat_stack};

fn signal(child: &Child, sig: libc::c_int) {
    // SAFETY: sends a signal to a child process of this test.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, sig) };
    assert_eq!(rc, 0, "the signal is sent");
}

/// Waits for the child to end, at most `limit`.
fn exit_code(mut child: Child, limit: Duration) -> i32 {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("it did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn sigterm_finishes_the_steps_under_way_saves_and_releases_the_lock() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    proxy.rules(json!([{"op": "CreateSubnet", "action": "latency", "ms": 3000}]));
    let w = Workdir::new(&proxy.url, &demo_stack());
    let child = w
        .command(&["apply", "--auto-approve", "stack.yaml"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while proxy.count("CreateSubnet") < 2 {
        assert!(Instant::now() < deadline, "the subnets were never created");
        std::thread::sleep(Duration::from_millis(50));
    }
    signal(&child, libc::SIGTERM);
    assert_eq!(exit_code(child, Duration::from_secs(30)), 1);
    assert!(!w.path("state/demo.json.lock").exists(), "the lock is released");
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/demo.json")).unwrap()).unwrap();
    for subnet in ["subnet.public_a", "subnet.public_c"] {
        assert!(
            state["resources"][subnet]["id"].is_string(),
            "{subnet}, under way, finished and was saved: {state}"
        );
    }
    assert!(state.get("intents").is_none(), "{state}");
    // The next run finishes the rest.
    proxy.rules(json!([]));
    assert_eq!(w.run(&["apply", "--auto-approve", "stack.yaml"]).code, 0);
}

#[test]
fn a_second_interrupt_abandons_an_eks_wait_exits_130_and_the_wait_resumes() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    // The cluster reads as CREATING for ten minutes.
    proxy.rules(
        json!([{"op": "DescribeCluster", "action": "status", "value": "CREATING", "seconds": 600}]),
    );
    let w = Workdir::new(&proxy.url, &flat_stack("eks"));
    let mut child = w
        .command(&["apply", "-v", "--auto-approve", "stack.yaml"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    for line in lines.by_ref() {
        if line.unwrap().contains("eks_cluster.main: creating (CREATING)") {
            break;
        }
    }
    signal(&child, libc::SIGINT);
    std::thread::sleep(Duration::from_millis(500));
    signal(&child, libc::SIGINT);
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert_eq!(exit_code(child, Duration::from_secs(30)), 130, "{rest:?}");
    let rest = rest.join("\n");
    assert!(rest.contains("second interrupt: abandoning the steps under way"), "{rest}");
    assert!(!w.path("state/eks.json.lock").exists(), "the lock is released");
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("state/eks.json")).unwrap()).unwrap();
    assert_eq!(state["resources"]["eks_cluster.main"]["pending"]["operation"], "create");

    proxy.rules(json!([]));
    let rerun = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(rerun.code, 0, "{}", rerun.stderr);
    assert!(rerun.stderr.contains("(the wait an earlier apply left: create)"), "{}", rerun.stderr);
}
