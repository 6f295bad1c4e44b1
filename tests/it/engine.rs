//! The engine against a fake provider (tests/it/fake.rs): the real scheduler,
//! journal, recovery and rollouts, with no emulator and no Python.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use infra::apply::{Engine, Journal, Outcome};
use infra::graph::Graph;
use infra::observe::Silent;
use infra::plan::{self, Action, Plan};
use infra::provider::{AlarmState, TargetState};
use infra::stack::Stack;
use infra::state::{Backend, LocalBackend, RolloutOutcome, State};
use infra::types::{Address, Operation};
use serde_json::Value;

use crate::fake::{Cloud, Then};

/// A stack planned against the fake cloud and a local state, as `infra apply`
/// plans it (recovery, refresh, plan), ready to be carried out.
struct Prepared {
    stack: Stack,
    graph: Graph,
    journal: Journal,
    engine: Engine,
    plan: Plan,
}

async fn prepare(cloud: &Arc<Cloud>, text: &str, state_file: &Path) -> Prepared {
    let (stack, _) = infra::stack::parse("stack.yaml", text).expect("a valid stack");
    let graph = Graph::build(&stack);
    let mut backend = Backend::Local(LocalBackend::new(state_file));
    let state = backend
        .load(&stack.name)
        .await
        .expect("a readable state")
        .unwrap_or_else(|| State::new(&stack.name));
    let mut journal = Journal::new(backend, state);
    let engine = Engine::new(cloud.registry(), Arc::new(Silent));
    let recovered = engine
        .recover(&stack, journal.state_mut())
        .await
        .expect("recovery");
    let observed = engine
        .refresh(journal.state(), None)
        .await
        .expect("refresh");
    let mut plan = plan::plan(&stack, &graph, journal.state(), &observed);
    plan.recovered = recovered;
    infra::ops::absorb(journal.state_mut(), &observed);
    Prepared {
        stack,
        graph,
        journal,
        engine,
        plan,
    }
}

impl Prepared {
    async fn execute(&self, parallelism: usize) -> Outcome {
        self.engine
            .execute(
                &self.plan,
                Some((&self.stack, &self.graph)),
                &self.journal,
                parallelism,
            )
            .await
    }
}

/// Plans and applies; returns the outcome and the state as saved.
async fn apply(
    cloud: &Arc<Cloud>,
    text: &str,
    state_file: &Path,
    parallelism: usize,
) -> (Outcome, State) {
    let p = prepare(cloud, text, state_file).await;
    let outcome = p.execute(parallelism).await;
    (outcome, read_state(state_file))
}

fn read_state(file: &Path) -> State {
    infra::state::parse("state", &std::fs::read_to_string(file).unwrap()).unwrap()
}

fn scratch() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    (dir, file)
}

fn address(s: &str) -> Address {
    Address::parse(s).unwrap()
}

const TWO_NETWORKS: &str = "
stack: engine
region: ap-northeast-1
resources:
  vpc.a: { cidr_block: 10.0.0.0/16 }
  subnet.a: { vpc_id: '${vpc.a.id}', cidr_block: 10.0.1.0/24 }
  vpc.b: { cidr_block: 10.1.0.0/16 }
  subnet.b: { vpc_id: '${vpc.b.id}', cidr_block: 10.1.1.0/24 }
";

/// `n` VPCs that depend on nothing.
fn independent_vpcs(n: usize) -> String {
    let mut text = "stack: engine\nregion: ap-northeast-1\nresources:\n".to_string();
    for i in 0..n {
        text.push_str(&format!("  vpc.v{i}: {{ cidr_block: 10.{i}.0.0/16 }}\n"));
    }
    text
}

#[tokio::test]
async fn a_failed_step_skips_its_dependents_and_the_rest_goes_on() {
    let cloud = Cloud::new();
    cloud.on_call(|call, _| {
        if call.op == "create" && call.address == "vpc.a" {
            Then::Fail("VpcLimitExceeded")
        } else {
            Then::Proceed
        }
    });
    let (_dir, file) = scratch();
    let (outcome, state) = apply(&cloud, TWO_NETWORKS, &file, 10).await;
    assert_eq!(outcome.failed.len(), 1, "{outcome:?}");
    assert_eq!(outcome.failed[0].0, "vpc.a");
    assert!(
        outcome.failed[0].1.contains("VpcLimitExceeded"),
        "{outcome:?}"
    );
    assert_eq!(outcome.skipped, vec!["subnet.a".to_string()]);
    assert_eq!(
        outcome.done,
        vec!["vpc.b".to_string(), "subnet.b".to_string()]
    );
    assert!(!cloud.log().contains(&"create subnet.a".to_string()));
    assert_eq!(cloud.ids("subnet").len(), 1);
    assert!(state.resources.contains_key(&address("subnet.b")));
    assert!(!state.resources.contains_key(&address("vpc.a")));
}

#[tokio::test]
async fn the_intent_is_in_state_before_the_create_call() {
    let cloud = Cloud::new();
    let (_dir, file) = scratch();
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    {
        let (file, seen) = (file.clone(), seen.clone());
        cloud.on_call(move |call, ctx| {
            if call.op == "create" {
                // What a process killed at this very moment leaves on disk.
                let state = read_state(&file);
                let intent = state.intents.get(&address(&call.address));
                let ok = intent.is_some_and(|i| {
                    i.operation == Operation::Create && i.token.is_some() && i.token == ctx.token
                });
                assert!(
                    ok,
                    "no create intent for {} on disk: {intent:?}",
                    call.address
                );
                seen.lock().unwrap().push(call.address.clone());
            }
            Then::Proceed
        });
    }
    let (outcome, state) = apply(&cloud, TWO_NETWORKS, &file, 10).await;
    assert!(outcome.ok(), "{outcome:?}");
    assert_eq!(seen.lock().unwrap().len(), 4);
    assert!(state.intents.is_empty(), "every intent is resolved");
    assert_eq!(state.resources.len(), 4);
}

#[tokio::test]
async fn a_state_changed_by_another_writer_stops_scheduling() {
    let cloud = Cloud::new();
    let (_dir, file) = scratch();
    let done = Arc::new(AtomicBool::new(false));
    {
        let (file, done) = (file.clone(), done.clone());
        cloud.on_call(move |call, _| {
            if call.op == "create" && !done.swap(true, Ordering::SeqCst) {
                // Another run writes the state (its lock was forced).
                let mut v: Value =
                    serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
                v["serial"] = Value::from(1000);
                std::fs::write(&file, v.to_string()).unwrap();
            }
            Then::Proceed
        });
    }
    let (outcome, state) = apply(&cloud, &independent_vpcs(4), &file, 1).await;
    assert!(outcome.stale.is_some(), "{outcome:?}");
    assert!(outcome.interrupted);
    let calls = cloud.calls();
    assert!(
        calls.iter().all(|c| c.address == calls[0].address),
        "no step starts after: {:?}",
        cloud.log()
    );
    assert_eq!(outcome.skipped.len(), 3, "{outcome:?}");
    assert_eq!(
        state.serial, 1000,
        "the other writer's state is not overwritten"
    );
}

#[tokio::test]
async fn a_create_before_destroy_replacement_creates_moves_then_deletes() {
    let stack = |port: u16| {
        format!(
            "
stack: engine
region: ap-northeast-1
resources:
  vpc.main: {{ cidr_block: 10.0.0.0/16 }}
  target_group.web: {{ vpc_id: '${{vpc.main.id}}', protocol: HTTP, port: {port} }}
  listener.http:
    load_balancer_arn: arn:fake:load_balancer/lb
    port: 80
    protocol: HTTP
    forward: [{{ target_group_arn: '${{target_group.web.arn}}' }}]
"
        )
    };
    let cloud = Cloud::new();
    let (_dir, file) = scratch();
    let (outcome, before) = apply(&cloud, &stack(80), &file, 10).await;
    assert!(outcome.ok(), "{outcome:?}");
    let old = before.resources[&address("target_group.web")].id.clone();
    let first = cloud.calls().len();

    let p = prepare(&cloud, &stack(8080), &file).await;
    let tg = p.plan.change(&address("target_group.web")).unwrap();
    assert_eq!(tg.action, Action::CreateThenDelete);
    assert_eq!(
        p.plan.change(&address("listener.http")).unwrap().action,
        Action::Update
    );
    let outcome = p.execute(10).await;
    assert!(outcome.ok(), "{outcome:?}");
    let calls = &cloud.calls()[first..];
    let at = |op: &str, a: &str| {
        calls
            .iter()
            .position(|c| c.op == op && c.address == a)
            .unwrap_or_else(|| panic!("no {op} of {a} in {calls:?}"))
    };
    assert!(at("create", "target_group.web") < at("update", "listener.http"));
    assert!(at("update", "listener.http") < at("delete", "target_group.web"));
    assert_eq!(
        calls[at("delete", "target_group.web")].id,
        old,
        "the old one goes"
    );
    let after = read_state(&file);
    let tg = &after.resources[&address("target_group.web")];
    assert_ne!(tg.id, old);
    assert!(tg.deposed.is_none());
    assert_eq!(cloud.ids("target_group"), vec![tg.id.clone()]);
}

#[tokio::test]
async fn a_crash_between_intent_and_record_is_recovered_next_run() {
    let cloud = Cloud::new();
    let (_dir, file) = scratch();
    let created = Arc::new(tokio::sync::Notify::new());
    {
        let created = created.clone();
        cloud.on_call(move |call, _| {
            if call.op == "create" && call.address == "vpc.a" {
                created.notify_one();
                Then::Hang
            } else {
                Then::Proceed
            }
        });
    }
    let text = "
stack: engine
region: ap-northeast-1
resources:
  vpc.a: { cidr_block: 10.0.0.0/16 }
  subnet.a: { vpc_id: '${vpc.a.id}', cidr_block: 10.0.1.0/24 }
";
    let p = prepare(&cloud, text, &file).await;
    // The process dies as soon as AWS has made the VPC, before its answer.
    tokio::select! {
        _ = p.execute(10) => panic!("the create never answers"),
        _ = created.notified() => {}
    }
    drop(p);
    let left = read_state(&file);
    assert_eq!(left.intents[&address("vpc.a")].operation, Operation::Create);
    assert!(left.resources.is_empty());
    assert_eq!(cloud.ids("vpc").len(), 1);

    cloud.on_call(|_, _| Then::Proceed);
    let p = prepare(&cloud, text, &file).await;
    assert!(
        p.plan
            .recovered
            .iter()
            .any(|n| n.contains("vpc.a: adopted")),
        "{:?}",
        p.plan.recovered
    );
    assert_eq!(
        p.plan.change(&address("vpc.a")).unwrap().action,
        Action::NoOp
    );
    let outcome = p.execute(10).await;
    assert!(outcome.ok(), "{outcome:?}");
    let state = read_state(&file);
    assert!(state.intents.is_empty());
    assert_eq!(
        cloud.ids("vpc"),
        vec![state.resources[&address("vpc.a")].id.clone()]
    );
    assert_eq!(cloud.ids("subnet").len(), 1);
    let again = prepare(&cloud, text, &file).await;
    assert!(!again.plan.has_changes(), "nothing left to do");
}

#[tokio::test]
async fn parallelism_never_exceeds_the_limit() {
    let cloud = Cloud::new();
    *cloud.delay.lock().unwrap() = Duration::from_millis(20);
    let (_dir, file) = scratch();
    let (outcome, state) = apply(&cloud, &independent_vpcs(12), &file, 3).await;
    assert!(outcome.ok(), "{outcome:?}");
    assert_eq!(state.resources.len(), 12);
    assert_eq!(cloud.most_running(), 3, "three at once, never more");
}

#[tokio::test]
async fn a_rollout_reverts_on_an_unhealthy_target_or_an_alarm_and_completes_once_clear() {
    let stack = |ec2: u32, eks: u32| {
        format!(
            "
stack: engine
region: ap-northeast-1
resources:
  vpc.main: {{ cidr_block: 10.0.0.0/16 }}
  target_group.ec2: {{ vpc_id: '${{vpc.main.id}}', protocol: HTTP, port: 80 }}
  target_group.eks: {{ vpc_id: '${{vpc.main.id}}', protocol: HTTP, port: 80 }}
  listener.http:
    load_balancer_arn: arn:fake:load_balancer/lb
    port: 80
    protocol: HTTP
    forward:
      - {{ target_group_arn: '${{target_group.ec2.arn}}', weight: {ec2} }}
      - {{ target_group_arn: '${{target_group.eks.arn}}', weight: {eks} }}
    rollout: {{ steps: [50, 100], alarms: [cutover-5xx] }}
"
        )
    };
    let cloud = Cloud::new();
    cloud.set_alarm("cutover-5xx", AlarmState::Ok);
    let (_dir, file) = scratch();
    let (outcome, state) = apply(&cloud, &stack(100, 0), &file, 10).await;
    assert!(outcome.ok(), "{outcome:?}");
    let eks = state.resources[&address("target_group.eks")].attributes["arn"]
        .as_str()
        .unwrap()
        .to_string();
    let weights =
        |state: &State| state.resources[&address("listener.http")].attributes["forward"].clone();
    let before = weights(&state);

    cloud.set_health(&eks, &[("i-1", TargetState::Unhealthy)]);
    let (outcome, state) = apply(&cloud, &stack(0, 100), &file, 10).await;
    assert_eq!(outcome.failed.len(), 1, "{outcome:?}");
    assert!(
        outcome.failed[0].1.contains(&format!(
            "reverted before step 1 of 2 (50%): target i-1 of target group {eks} is unhealthy"
        )),
        "{outcome:?}"
    );
    assert_eq!(weights(&state), before, "no weight moved");
    let rollout = state.resources[&address("listener.http")]
        .rollout
        .clone()
        .unwrap();
    assert!(
        matches!(rollout.outcome, RolloutOutcome::Reverted(_)),
        "{rollout:?}"
    );

    cloud.set_health(&eks, &[("i-1", TargetState::Healthy)]);
    cloud.set_alarm("cutover-5xx", AlarmState::Alarm);
    let (outcome, state) = apply(&cloud, &stack(0, 100), &file, 10).await;
    assert!(
        outcome.failed[0]
            .1
            .contains("reverted before step 1 of 2 (50%): alarm cutover-5xx is in ALARM"),
        "{outcome:?}"
    );
    assert_eq!(weights(&state), before, "no weight moved");

    cloud.set_alarm("cutover-5xx", AlarmState::Ok);
    let (outcome, state) = apply(&cloud, &stack(0, 100), &file, 10).await;
    assert!(outcome.ok(), "{outcome:?}");
    let rollout = state.resources[&address("listener.http")]
        .rollout
        .clone()
        .unwrap();
    assert_eq!(rollout.outcome, RolloutOutcome::Complete);
    assert_eq!(
        rollout.steps.iter().map(|s| s.percent).collect::<Vec<_>>(),
        vec![50, 100]
    );
    assert_eq!(
        rollout.steps[0]
            .weights
            .values()
            .copied()
            .collect::<Vec<_>>(),
        vec![50, 50]
    );
}
