//! A crash-proof apply: SIGKILL the apply of the field-notes platform at random
//! moments; after each kill a plain apply finishes, and the emulator holds exactly
//! one of each resource, every one of them in state.

use std::time::{Duration, Instant};

use crate::support::{Moto, Proxy, Workdir, flat_stack, state_ids};

/// A small deterministic generator; the seed is printed so that a failure can be
/// replayed with INFRA_KILL_SEED.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn an_apply_killed_at_twenty_random_moments_is_finished_by_the_next() {
    let moto = Moto::start();
    // The proxy plays the EKS parts moto lacks (add-ons, access entries, Pod
    // Identity); it injects no faults here.
    let proxy = Proxy::start(&moto.url);
    let w = Workdir::new(&proxy.url, &flat_stack("platform"));
    let expected: usize = 47;

    // How long an uninterrupted apply takes here: the kills fall within it.
    let started = Instant::now();
    let first = w.run(&["apply", "--auto-approve", "stack.yaml"]);
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    let full = started.elapsed();
    assert_eq!(proxy.inventory(&moto).values().map(|s| s.len()).sum::<usize>(), expected);

    let seed =
        std::env::var("INFRA_KILL_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
                as u64
                | 1
        });
    eprintln!("INFRA_KILL_SEED={seed} (an uninterrupted apply took {full:?})");
    let mut rng = Rng(seed);
    let mut adopted = 0;
    for round in 1..=20 {
        moto.reset();
        proxy.reset();
        let _ = std::fs::remove_dir_all(w.path("state"));
        let at = Duration::from_millis(rng.next() % (full.as_millis() as u64).max(1));
        let mut child = w
            .command(&["apply", "--auto-approve", "stack.yaml"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(at);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();

        let rerun = w.run(&["apply", "--auto-approve", "stack.yaml"]);
        assert_eq!(
            rerun.code, 0,
            "round {round} (killed after {at:?}, seed {seed}):\n{}\n{}",
            rerun.stdout, rerun.stderr
        );
        adopted += rerun.stdout.matches(": adopted ").count();

        // Exactly one of each, and nothing that state does not know.
        let held = proxy.inventory(&moto);
        let total: usize = held.values().map(|s| s.len()).sum();
        let state: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(w.path("state/platform.json")).unwrap())
                .unwrap();
        let tracked = state_ids(&state);
        let held_named: std::collections::BTreeMap<String, _> =
            held.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        assert_eq!(
            total, expected,
            "round {round} (killed after {at:?}, seed {seed}): {held_named:#?}"
        );
        assert_eq!(
            held_named, tracked,
            "round {round} (killed after {at:?}, seed {seed}): emulator vs state"
        );
        assert!(state.get("intents").is_none(), "round {round}: {state}");
        let plan = w.run(&["plan", "--detailed-exitcode", "stack.yaml"]);
        assert_eq!(plan.code, 0, "round {round}: {}", plan.stdout);
    }
    eprintln!("adopted after kills: {adopted}");
}
