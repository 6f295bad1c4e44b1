//! The engine against a fake provider (tests/it/fake.rs): the real scheduler,
//! journal, recovery and rollouts, with no emulator and no Python.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use infra::apply::journal::Store;
use infra::apply::{Engine, Journal, Outcome};
use infra::observe::Silent;
use infra::plan::{self, Action, Plan};
use infra::provider::{AlarmState, TargetState};
use infra::stack::Stack;
use infra::stack::graph::Graph;
use infra::state::{Backend, LocalBackend};
use infra::types::state::{RolloutOutcome, State};
use infra::types::{Address, Operation};
use serde_json::Value;

use crate::fake::{Call, Cloud, Then};

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
        .load(&stack.id())
        .await
        .expect("a readable state")
        .unwrap_or_else(|| State::new(&stack.name));
    let mut journal = Journal::new(Box::new(backend), state);
    let engine = Engine::new(cloud.registry(), Arc::new(Silent));
    let recovered = engine.recover(&stack, &mut journal).await.expect("recovery");
    let observed = engine.refresh(journal.state(), None, None).await.expect("refresh");
    let mut plan = plan::plan(&stack, &graph, journal.state(), &observed);
    plan.recovered = recovered;
    journal.absorb(&observed);
    Prepared { stack, graph, journal, engine, plan }
}

impl Prepared {
    async fn execute(&self, parallelism: usize) -> Outcome {
        self.engine
            .execute(&self.plan, Some((&self.stack, &self.graph)), &self.journal, parallelism)
            .await
    }

    /// Plans a destroy instead, against the same refresh, and carries it out.
    async fn destroy(mut self, parallelism: usize) -> Outcome {
        let observed = infra::plan::as_recorded(self.journal.state());
        self.plan = plan::plan_destroy(self.journal.state(), &observed);
        self.engine.execute(&self.plan, None, &self.journal, parallelism).await
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
    infra::types::state::parse("state", &std::fs::read_to_string(file).unwrap()).unwrap()
}

/// The journal of the state in `file`, as a command opens it.
fn journal_at(file: &Path) -> Journal {
    let backend = Backend::Local(LocalBackend::new(file.to_path_buf()));
    Journal::new(Box::new(backend), read_state(file))
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
    assert!(outcome.failed[0].1.contains("VpcLimitExceeded"), "{outcome:?}");
    assert_eq!(outcome.skipped, vec!["subnet.a".to_string()]);
    assert_eq!(outcome.done, vec!["vpc.b".to_string(), "subnet.b".to_string()]);
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
                assert!(ok, "no create intent for {} on disk: {intent:?}", call.address);
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
    assert_eq!(state.serial, 1000, "the other writer's state is not overwritten");
}

#[tokio::test]
async fn a_create_before_destroy_replacement_creates_moves_then_deletes() {
    let stack = web;
    let cloud = Cloud::new();
    let (_dir, file) = scratch();
    let (outcome, before) = apply(&cloud, &stack(80), &file, 10).await;
    assert!(outcome.ok(), "{outcome:?}");
    let old = before.resources[&address("target_group.web")].id.clone();
    let first = cloud.calls().len();

    let p = prepare(&cloud, &stack(8080), &file).await;
    let tg = p.plan.change(&address("target_group.web")).unwrap();
    assert_eq!(tg.action, Action::CreateThenDelete);
    assert_eq!(p.plan.change(&address("listener.http")).unwrap().action, Action::Update);
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
    assert_eq!(calls[at("delete", "target_group.web")].id, old, "the old one goes");
    let after = read_state(&file);
    let tg = &after.resources[&address("target_group.web")];
    assert_ne!(tg.id, old);
    assert!(tg.deposed.is_empty());
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
        p.plan.recovered.iter().any(|n| n.contains("vpc.a: adopted")),
        "{:?}",
        p.plan.recovered
    );
    assert_eq!(p.plan.change(&address("vpc.a")).unwrap().action, Action::NoOp);
    let outcome = p.execute(10).await;
    assert!(outcome.ok(), "{outcome:?}");
    let state = read_state(&file);
    assert!(state.intents.is_empty());
    assert_eq!(cloud.ids("vpc"), vec![state.resources[&address("vpc.a")].id.clone()]);
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
    let stack = |ec2: u32, eks: u32| cutover(ec2, eks, "steps: [50, 100], alarms: [cutover-5xx]");
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
        outcome.failed[0].1.contains(
            "reverted before step 1 of 2 (50%): target group target_group.eks has no healthy target (1 unhealthy)"
        ),
        "{outcome:?}"
    );
    assert_eq!(weights(&state), before, "no weight moved");
    let rollout = state.resources[&address("listener.http")].rollout.clone().unwrap();
    assert!(matches!(rollout.outcome, RolloutOutcome::Reverted(_)), "{rollout:?}");

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
    let rollout = state.resources[&address("listener.http")].rollout.clone().unwrap();
    assert_eq!(rollout.outcome, RolloutOutcome::Complete);
    assert_eq!(rollout.steps.iter().map(|s| s.percent).collect::<Vec<_>>(), vec![50, 100]);
    assert_eq!(rollout.steps[0].weights.values().copied().collect::<Vec<_>>(), vec![50, 50]);
}

/// Runs `p` until the fake signals, then drops it: the process is killed.
async fn killed_when(p: Prepared, signal: &tokio::sync::Notify) {
    tokio::select! {
        _ = p.execute(10) => panic!("the run was to be killed first"),
        _ = signal.notified() => {}
    }
}

/// A stack with one role named `shared`.
const ROLE: &str = "
stack: engine
region: ap-northeast-1
resources:
  iam_role.app: { name: shared, assume_role_service: eks.amazonaws.com }
";

/// Another stack's role of that name, made behind this stack's back.
fn foreign_role(cloud: &Cloud) -> String {
    cloud.insert(
        "iam_role",
        serde_json::json!({
            "name": "shared",
            "tags": {"infra:stack": "other", "infra:address": "iam_role.app"},
        }),
    )
}

/// Kills the run of `text` right after the create of `address` was sent and
/// before AWS made anything (the intent is on disk; nothing else is).
async fn kill_during_create(cloud: &Arc<Cloud>, text: &str, file: &Path, address: &'static str) {
    let sent = Arc::new(tokio::sync::Notify::new());
    {
        let sent = sent.clone();
        cloud.on_call(move |call, _| {
            if call.op == "create" && call.address == address {
                sent.notify_one();
                Then::Lose
            } else {
                Then::Proceed
            }
        });
    }
    killed_when(prepare(cloud, text, file).await, &sent).await;
    cloud.on_call(|_, _| Then::Proceed);
}

#[tokio::test]
async fn a_create_aws_refused_leaves_no_intent() {
    let cloud = Cloud::new();
    cloud.on_call(|call, _| match call.address.as_str() {
        "vpc.a" => Then::Fail("VpcLimitExceeded"),
        _ => Then::Proceed,
    });
    let (_dir, file) = scratch();
    let (outcome, state) = apply(&cloud, TWO_NETWORKS, &file, 10).await;
    assert_eq!(outcome.failed.len(), 1, "{outcome:?}");
    assert!(state.intents.is_empty(), "nothing was made: {:?}", state.intents);
    // The next run has nothing to recover and tries again.
    cloud.on_call(|_, _| Then::Proceed);
    let p = prepare(&cloud, TWO_NETWORKS, &file).await;
    assert!(p.plan.recovered.is_empty(), "{:?}", p.plan.recovered);
    assert!(p.execute(10).await.ok());
}

#[tokio::test]
async fn recovery_never_adopts_what_another_stack_owns() {
    let cloud = Cloud::new();
    let theirs = foreign_role(&cloud);
    let (_dir, file) = scratch();
    kill_during_create(&cloud, ROLE, &file, "iam_role.app").await;
    assert!(read_state(&file).intents.contains_key(&address("iam_role.app")));

    // The lookup by name finds their role: an error, never an adoption.
    let (stack, _) = infra::stack::parse("stack.yaml", ROLE).unwrap();
    let engine = Engine::new(cloud.registry(), Arc::new(Silent));
    let mut journal = journal_at(&file);
    let why = engine.recover(&stack, &mut journal).await.unwrap_err().to_string();
    assert!(why.contains(&format!("iam_role {theirs}")), "{why}");
    assert!(why.contains("is not this stack's (its tags say infra:stack=other"), "{why}");
    assert!(why.contains("`infra state rm iam_role.app`"), "{why}");
    assert!(why.contains(&format!("`infra import iam_role.app {theirs} STACK_FILE`")), "{why}");
    assert!(journal.state().resources.is_empty());
    assert!(cloud.calls().iter().all(|c| c.id != theirs), "theirs is untouched");
}

#[tokio::test]
async fn a_name_taken_by_another_stack_fails_the_create_and_touches_nothing() {
    let cloud = Cloud::new();
    let theirs = foreign_role(&cloud);
    cloud.on_call(|call, _| match call.op {
        "create" => Then::Fail("EntityAlreadyExists"),
        _ => Then::Proceed,
    });
    let (_dir, file) = scratch();
    let (outcome, state) = apply(&cloud, ROLE, &file, 10).await;
    let why = &outcome.failed[0].1;
    assert!(why.contains(&format!("iam_role {theirs} exists and is not this stack's")), "{why}");
    assert!(why.contains("EntityAlreadyExists"), "{why}");
    assert!(state.intents.is_empty() && state.resources.is_empty(), "{state:?}");
    // Nothing to adopt next time either, and nothing of theirs to destroy.
    let p = prepare(&cloud, ROLE, &file).await;
    assert!(p.plan.recovered.is_empty());
    assert_eq!(p.plan.change(&address("iam_role.app")).unwrap().action, Action::Create);
}

#[tokio::test]
async fn a_create_retried_after_a_lost_answer_adopts_what_carries_our_tags() {
    let cloud = Cloud::new();
    // The first attempt made it; its answer was lost; the retry is told it exists.
    let ours = cloud.insert(
        "iam_role",
        serde_json::json!({
            "name": "shared",
            "tags": {"infra:stack": "engine", "infra:address": "iam_role.app"},
        }),
    );
    cloud.on_call(|call, _| match call.op {
        "create" => Then::Fail("EntityAlreadyExists"),
        _ => Then::Proceed,
    });
    let (_dir, file) = scratch();
    let (outcome, state) = apply(&cloud, ROLE, &file, 10).await;
    assert!(outcome.ok(), "{outcome:?}");
    assert_eq!(state.resources[&address("iam_role.app")].id, ours);
}

#[tokio::test]
async fn a_lookup_refused_is_reported_and_blocks_only_that_create() {
    let cloud = Cloud::new();
    let (_dir, file) = scratch();
    // Killed while both VPCs were being created.
    kill_during_create(&cloud, TWO_NETWORKS, &file, "vpc.a").await;
    let first = cloud.calls().len();
    cloud.deny_find.store(true, Ordering::SeqCst);
    let more = format!("{TWO_NETWORKS}  vpc.c: {{ cidr_block: 10.2.0.0/16 }}\n");
    let p = prepare(&cloud, &more, &file).await;
    assert!(
        p.plan.recovered.iter().any(|n| n.starts_with("vpc.a: could not look for")
            && n.contains("AccessDenied")
            && n.contains("`infra state rm vpc.a`")),
        "{:?}",
        p.plan.recovered
    );
    let outcome = p.execute(10).await;
    let refused: Vec<&str> = outcome.failed.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(refused, vec!["vpc.a", "vpc.b"], "{outcome:?}");
    assert!(outcome.failed[0].1.contains("could not be looked up"), "{outcome:?}");
    assert_eq!(outcome.done, vec!["vpc.c".to_string()], "the rest goes on");
    let creates: Vec<Call> =
        cloud.calls()[first..].iter().filter(|c| c.op == "create").cloned().collect();
    assert_eq!(creates.len(), 1, "only vpc.c is created: {creates:?}");
}

#[tokio::test]
async fn two_candidates_are_an_error_listing_both() {
    let cloud = Cloud::new();
    let (_dir, file) = scratch();
    kill_during_create(&cloud, TWO_NETWORKS, &file, "vpc.a").await;
    let tags = serde_json::json!({"infra:stack": "engine", "infra:address": "vpc.a"});
    let one = cloud.insert("vpc", serde_json::json!({"cidr_block": "10.0.0.0/16", "tags": tags}));
    let two = cloud.insert("vpc", serde_json::json!({"cidr_block": "10.0.0.0/16", "tags": tags}));
    let (stack, _) = infra::stack::parse("stack.yaml", TWO_NETWORKS).unwrap();
    let engine = Engine::new(cloud.registry(), Arc::new(Silent));
    let mut journal = journal_at(&file);
    let why = engine.recover(&stack, &mut journal).await.unwrap_err().to_string();
    assert!(why.contains(&format!("2 candidates carrying its tags: {one}, {two}")), "{why}");
    assert!(journal.state().resources.is_empty(), "none is picked");
}

/// A target group in use by a listener, on port `port`.
fn web(port: u16) -> String {
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
}

/// Replaces the target group, failing the delete of the one it replaces: that
/// one stays in state as deposed.
async fn replace_leaving_the_old_one(cloud: &Arc<Cloud>, file: &Path, port: u16) -> String {
    let old = read_state(file).resources[&address("target_group.web")].id.clone();
    {
        let old = old.clone();
        cloud.on_call(move |call, _| match call.op {
            "delete" if call.id == old => Then::Fail("ResourceInUse"),
            _ => Then::Proceed,
        });
    }
    let (outcome, state) = apply(cloud, &web(port), file, 10).await;
    assert_eq!(outcome.failed.len(), 1, "{outcome:?}");
    let tg = &state.resources[&address("target_group.web")];
    assert!(tg.deposed.iter().any(|d| d.id == old), "{tg:?}");
    cloud.on_call(|_, _| Then::Proceed);
    old
}

#[tokio::test]
async fn a_second_replacement_while_one_is_deposed_keeps_every_object() {
    let cloud = Cloud::new();
    let (_dir, file) = scratch();
    assert!(apply(&cloud, &web(80), &file, 10).await.0.ok());
    let first = replace_leaving_the_old_one(&cloud, &file, 8080).await;
    let second = read_state(&file).resources[&address("target_group.web")].id.clone();
    // Replaced again before the first old one went: both are kept, then both go.
    let p = prepare(&cloud, &web(9090), &file).await;
    assert_eq!(p.plan.counts().destroy, 2, "the deposed one and the one replaced now");
    let outcome = p.execute(1).await;
    assert!(outcome.ok(), "{outcome:?}");
    let state = read_state(&file);
    let tg = &state.resources[&address("target_group.web")];
    assert!(tg.deposed.is_empty(), "{tg:?}");
    assert_eq!(cloud.ids("target_group"), vec![tg.id.clone()]);
    let deleted: Vec<String> =
        cloud.calls().iter().filter(|c| c.op == "delete").map(|c| c.id.clone()).collect();
    assert!(deleted.contains(&first) && deleted.contains(&second), "{deleted:?}");
}

#[tokio::test]
async fn destroy_one_step_at_a_time_keeps_a_deposed_object_until_it_is_gone() {
    let cloud = Cloud::new();
    let (_dir, file) = scratch();
    assert!(apply(&cloud, &web(80), &file, 10).await.0.ok());
    replace_leaving_the_old_one(&cloud, &file, 8080).await;
    let outcome = prepare(&cloud, &web(8080), &file).await.destroy(1).await;
    assert!(outcome.ok(), "{outcome:?}");
    assert!(cloud.ids("target_group").is_empty(), "no target group is left behind");
    assert!(read_state(&file).resources.is_empty());
}

#[test]
fn a_state_with_one_deposed_object_reads_as_a_list() {
    let text = r#"{"version": 1, "serial": 1, "lineage": "l", "stack": "s", "resources": {
        "target_group.web": {"type": "target_group", "id": "new", "attributes": {},
            "deposed": {"id": "old", "attributes": {}}}}}"#;
    let state = infra::types::state::parse("state", text).unwrap();
    let tg = &state.resources[&address("target_group.web")];
    assert_eq!(tg.deposed.len(), 1);
    assert_eq!(tg.deposed[0].id, "old");
}

#[tokio::test]
async fn an_update_killed_while_aws_works_is_waited_for_next_run() {
    let cluster = |version: &str| {
        format!(
            "
stack: engine
region: ap-northeast-1
resources:
  eks_cluster.main:
    version: '{version}'
    role_arn: arn:aws:iam::123456789012:role/cluster
    subnet_ids: [subnet-a, subnet-b]
"
        )
    };
    let cloud = Cloud::new();
    let (_dir, file) = scratch();
    assert!(apply(&cloud, &cluster("1.30"), &file, 10).await.0.ok());
    // The upgrade is accepted; the run dies while AWS works on it.
    let accepted = Arc::new(tokio::sync::Notify::new());
    {
        let accepted = accepted.clone();
        cloud.on_call(move |call, _| match call.op {
            "update" => {
                accepted.notify_one();
                Then::Hang
            }
            _ => Then::Proceed,
        });
    }
    killed_when(prepare(&cloud, &cluster("1.31"), &file).await, &accepted).await;
    let left = read_state(&file);
    let pending = left.resources[&address("eks_cluster.main")].pending.clone();
    assert_eq!(pending.map(|p| p.operation), Some(Operation::Update));

    cloud.on_call(|_, _| Then::Proceed);
    let first = cloud.calls().len();
    let p = prepare(&cloud, &cluster("1.31"), &file).await;
    assert_eq!(
        p.plan.change(&address("eks_cluster.main")).unwrap().pending,
        Some(Operation::Update)
    );
    let outcome = p.execute(10).await;
    assert!(outcome.ok(), "{outcome:?}");
    assert!(cloud.calls()[first..].is_empty(), "waited for, not started again");
    let state = read_state(&file);
    assert!(state.resources[&address("eks_cluster.main")].pending.is_none());
}

const BUCKET: &str = "
stack: engine
region: ap-northeast-1
resources:
  s3_bucket.logs: { name: enza-logs }
";

/// A bucket is tagged only after CreateBucket: it is in state as soon as its
/// create answers (pending until configured), so a run killed before the
/// tagging leaves nothing for recovery to guess about; the next apply
/// configures it.
#[tokio::test]
async fn a_bucket_is_in_state_as_soon_as_its_create_answers() {
    let cloud = Cloud::new();
    let (_dir, file) = scratch();
    let made = Arc::new(tokio::sync::Notify::new());
    {
        let made = made.clone();
        cloud.on_call(move |call, _| match (call.op, call.address.as_str()) {
            // Killed while the new bucket is being configured (tagged).
            ("update", "s3_bucket.logs") => {
                made.notify_one();
                Then::Lose
            }
            _ => Then::Proceed,
        });
    }
    killed_when(prepare(&cloud, BUCKET, &file).await, &made).await;
    cloud.on_call(|_, _| Then::Proceed);
    let state = read_state(&file);
    let r = &state.resources[&address("s3_bucket.logs")];
    assert_eq!(cloud.ids("s3_bucket"), vec![r.id.clone()]);
    assert_eq!(r.pending.as_ref().map(|p| p.operation), Some(Operation::Create));
    assert!(state.intents.is_empty(), "{:?}", state.intents);
    let p = prepare(&cloud, BUCKET, &file).await;
    assert!(p.plan.recovered.is_empty(), "{:?}", p.plan.recovered);
    let outcome = p.execute(10).await;
    assert!(outcome.ok(), "{outcome:?}");
    let state = read_state(&file);
    assert!(state.resources[&address("s3_bucket.logs")].pending.is_none());
    assert_eq!(cloud.ids("s3_bucket").len(), 1, "one bucket");
}

/// A bucket without tags is never taken for this stack's because it is new:
/// one someone else made just after this stack's create was sent (whose
/// answer never came) is not adopted, and recovery says whose it may be.
#[tokio::test]
async fn an_untagged_bucket_is_never_adopted_for_being_new() {
    let cloud = Cloud::new();
    let (_dir, file) = scratch();
    kill_during_create(&cloud, BUCKET, &file, "s3_bucket.logs").await;
    let theirs = cloud.insert("s3_bucket", serde_json::json!({"name": "enza-logs"}));
    let (stack, _) = infra::stack::parse("stack.yaml", BUCKET).unwrap();
    let engine = Engine::new(cloud.registry(), Arc::new(Silent));
    let mut journal = journal_at(&file);
    let why = engine.recover(&stack, &mut journal).await.unwrap_err().to_string();
    assert!(why.contains(&format!("s3_bucket {theirs}")), "{why}");
    assert!(why.contains("infra import s3_bucket.logs"), "{why}");
    assert!(journal.state().resources.is_empty());
}

#[tokio::test]
async fn a_first_signal_stops_starting_steps_and_a_second_abandons_a_wait() {
    let text = "
stack: engine
region: ap-northeast-1
resources:
  eks_cluster.main:
    version: '1.30'
    role_arn: arn:aws:iam::123456789012:role/cluster
    subnet_ids: [subnet-a, subnet-b]
  vpc.later: { cidr_block: 10.9.0.0/16 }
";
    let cloud = Cloud::new();
    let (_dir, file) = scratch();
    let accepted = Arc::new(tokio::sync::Notify::new());
    {
        let accepted = accepted.clone();
        // AWS accepts the cluster and works on it for a long time.
        cloud.on_call(move |call, _| match call.op {
            "wait" => {
                accepted.notify_one();
                Then::Hang
            }
            _ => Then::Proceed,
        });
    }
    let mut p = prepare(&cloud, text, &file).await;
    let (signal, interrupt) = tokio::sync::watch::channel(infra::apply::Signal::Go);
    p.engine.interrupt = interrupt;
    let run = p.execute(1);
    tokio::pin!(run);
    tokio::select! {
        _ = &mut run => panic!("the cluster never answers"),
        _ = accepted.notified() => {}
    }
    signal.send(infra::apply::Signal::Stop).unwrap();
    // The step under way goes on; nothing new starts.
    tokio::select! {
        _ = &mut run => panic!("a first signal lets the step under way finish"),
        _ = tokio::time::sleep(Duration::from_millis(200)) => {}
    }
    signal.send(infra::apply::Signal::Abandon).unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(5), run)
        .await
        .expect("a second signal ends the run at once");
    assert_eq!(outcome.abandoned, vec!["eks_cluster.main".to_string()]);
    assert_eq!(outcome.skipped, vec!["vpc.later".to_string()]);
    assert!(!cloud.log().contains(&"create vpc.later".to_string()));
    let state = read_state(&file);
    let pending = state.resources[&address("eks_cluster.main")].pending.clone();
    assert_eq!(pending.map(|p| p.operation), Some(Operation::Create), "the wait resumes next run");
}

/// A cut-over stack for the gate's tests: `rollout` is the block's body.
fn cutover(ec2: u32, eks: u32, rollout: &str) -> String {
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
    rollout: {{ {rollout} }}
"
    )
}

/// The cut-over applied at 100/0 with a healthy EKS group and a quiet alarm;
/// returns the EKS group's ARN.
async fn cut_over_ready(cloud: &Arc<Cloud>, file: &Path, rollout: &str) -> String {
    cloud.set_alarm("cutover-5xx", AlarmState::Ok);
    let (outcome, state) = apply(cloud, &cutover(100, 0, rollout), file, 10).await;
    assert!(outcome.ok(), "{outcome:?}");
    let eks = state.resources[&address("target_group.eks")].attributes["arn"]
        .as_str()
        .unwrap()
        .to_string();
    cloud.set_health(&eks, &[("10.0.1.5", TargetState::Healthy)]);
    eks
}

/// The listener's weights as `[ec2, eks]` (a group left out weighs 0).
fn forward_of(state: &State) -> Vec<i64> {
    let forward = state.resources[&address("listener.http")].attributes["forward"]
        .as_array()
        .unwrap()
        .clone();
    ["target_group.ec2", "target_group.eks"]
        .iter()
        .map(|g| {
            let arn = &state.resources[&address(g)].attributes["arn"];
            forward
                .iter()
                .find(|t| &t["target_group_arn"] == arn)
                .map_or(0, |t| t["weight"].as_i64().unwrap())
        })
        .collect()
}

/// The gate watches all through a pause: an alarm that fires 25 s into a 60 s
/// pause reverts at the next poll (every 10 s), not at the pause's end.
#[tokio::test(start_paused = true)]
async fn the_gate_watches_every_pause_and_reverts_within_one_poll() {
    let cloud = Cloud::new();
    let (_dir, file) = scratch();
    let rollout = "steps: [50, 100], pause_seconds: 60, alarms: [cutover-5xx]";
    cut_over_ready(&cloud, &file, rollout).await;
    let fired = Arc::new(Mutex::new(None));
    let started = tokio::time::Instant::now();
    {
        let (cloud, fired) = (cloud.clone(), fired.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(25)).await;
            cloud.set_alarm("cutover-5xx", AlarmState::Alarm);
            *fired.lock().unwrap() = Some(tokio::time::Instant::now());
        });
    }
    let (outcome, state) = apply(&cloud, &cutover(0, 100, rollout), &file, 10).await;
    let ended = tokio::time::Instant::now();
    assert!(
        outcome.failed[0].1.contains(
            "reverted in the pause after step 1 of 2 (50%): alarm cutover-5xx is in ALARM"
        ),
        "{outcome:?}"
    );
    let fired = fired.lock().unwrap().expect("the alarm fired");
    assert!(
        ended - fired <= Duration::from_secs(10),
        "reverted {:?} after the alarm fired (one poll is 10 s)",
        ended - fired
    );
    assert!(ended - started < Duration::from_secs(60), "before the pause ended");
    assert_eq!(forward_of(&state), vec![100, 0], "back to the origin");
}

/// After the last step the gate keeps watching for `bake_seconds`: an alarm
/// then reverts the whole change.
#[tokio::test(start_paused = true)]
async fn an_alarm_while_baking_after_the_last_step_reverts_it_all() {
    let cloud = Cloud::new();
    let (_dir, file) = scratch();
    let rollout = "steps: [100], pause_seconds: 30, alarms: [cutover-5xx]";
    cut_over_ready(&cloud, &file, rollout).await;
    {
        let cloud = cloud.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(15)).await;
            cloud.set_alarm("cutover-5xx", AlarmState::Alarm);
        });
    }
    let (outcome, state) = apply(&cloud, &cutover(0, 100, rollout), &file, 10).await;
    assert!(
        outcome.failed[0].1.contains(
            "reverted while baking after step 1 of 1 (100%): alarm cutover-5xx is in ALARM"
        ),
        "{outcome:?}"
    );
    assert_eq!(forward_of(&state), vec![100, 0]);
}

/// An alarm with INSUFFICIENT_DATA blocks the first step unless allowed, and so
/// does a target group gaining weight with no healthy target.
#[tokio::test(start_paused = true)]
async fn insufficient_data_or_no_healthy_target_blocks_the_first_step() {
    let cloud = Cloud::new();
    let (_dir, file) = scratch();
    let rollout = "steps: [50, 100], alarms: [cutover-5xx]";
    let eks = cut_over_ready(&cloud, &file, rollout).await;

    cloud.set_alarm("cutover-5xx", AlarmState::InsufficientData);
    let calls_before = cloud.log().len();
    let (outcome, state) = apply(&cloud, &cutover(0, 100, rollout), &file, 10).await;
    assert!(
        outcome.failed[0]
            .1
            .contains("reverted before step 1 of 2 (50%): alarm cutover-5xx has INSUFFICIENT_DATA"),
        "{outcome:?}"
    );
    assert_eq!(forward_of(&state), vec![100, 0], "nothing moved");
    assert!(
        !cloud.log()[calls_before..].iter().any(|c| c.starts_with("update listener")),
        "{:?}",
        cloud.log()
    );

    let allowed = "steps: [50, 100], alarms: [cutover-5xx], allow_insufficient_data: true";
    cloud.set_health(&eks, &[]);
    let (outcome, state) = apply(&cloud, &cutover(0, 100, allowed), &file, 10).await;
    assert!(
        outcome.failed[0].1.contains(
            "reverted before step 1 of 2 (50%): target group target_group.eks has no healthy target (no target registered)"
        ),
        "{outcome:?}"
    );
    assert_eq!(forward_of(&state), vec![100, 0]);

    cloud.set_health(&eks, &[("10.0.1.5", TargetState::Initial)]);
    let (outcome, _) = apply(&cloud, &cutover(0, 100, allowed), &file, 10).await;
    assert!(outcome.failed[0].1.contains("has no healthy target (1 initial)"), "{outcome:?}");

    cloud.set_health(&eks, &[("10.0.1.5", TargetState::Healthy)]);
    let (outcome, state) = apply(&cloud, &cutover(0, 100, allowed), &file, 10).await;
    assert!(outcome.ok(), "{outcome:?}");
    assert_eq!(forward_of(&state), vec![0, 100]);
}

/// A rollout stopped after step 2 of 3 keeps its origin: the plan says so and
/// shows the rest of the way, a revert goes back to the origin (not to the
/// weights it stopped at), and the next apply goes on from step 3.
#[tokio::test(start_paused = true)]
async fn a_rollout_stopped_part_of_the_way_resumes_and_reverts_to_its_origin() {
    let cloud = Cloud::new();
    let (_dir, file) = scratch();
    let rollout = "steps: [25, 50, 100], pause_seconds: 60, alarms: [cutover-5xx]";
    cut_over_ready(&cloud, &file, rollout).await;
    let text = cutover(0, 100, rollout);

    // Interrupted in the pause after step 2.
    let mut p = prepare(&cloud, &text, &file).await;
    let (signal, interrupt) = tokio::sync::watch::channel(infra::apply::Signal::Go);
    p.engine.interrupt = interrupt;
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(90)).await;
        let _ = signal.send(infra::apply::Signal::Stop);
        tokio::time::sleep(Duration::from_secs(3600)).await;
        drop(signal);
    });
    let outcome = p.execute(10).await;
    assert!(outcome.failed[0].1.contains("interrupted after step 2 of 3 (50%)"), "{outcome:?}");
    let state = read_state(&file);
    assert_eq!(forward_of(&state), vec![50, 50]);
    let rec = state.resources[&address("listener.http")].rollout.clone().unwrap();
    assert_eq!(rec.outcome, RolloutOutcome::Interrupted { after: 2, of: 3 });

    // The plan shows where it stopped and the rest of the way.
    let p = prepare(&cloud, &text, &file).await;
    let change = p.plan.change(&address("listener.http")).unwrap();
    assert_eq!(
        change.reason.as_deref(),
        Some("rollout interrupted at step 2 of 3 (50%); this apply goes on from there")
    );
    assert_eq!(change.rollout.as_ref().unwrap().shares, vec![100]);
    let text_plan = infra::render::render(&p.plan, infra::render::Format::Text, false);
    assert!(text_plan.contains("rollout: 1 step (100%), 60 s apart"), "{text_plan}");

    // An alarm now reverts to the origin, 100/0.
    cloud.set_alarm("cutover-5xx", AlarmState::Alarm);
    let (outcome, state) = apply(&cloud, &text, &file, 10).await;
    assert!(outcome.failed[0].1.contains("reverted before step 3 of 3 (100%)"), "{outcome:?}");
    assert_eq!(forward_of(&state), vec![100, 0], "back to the origin");
}

/// A killed rollout (its record still says in progress) goes on from the step
/// after the last one recorded.
#[tokio::test(start_paused = true)]
async fn a_killed_rollout_goes_on_from_the_step_after_the_last_recorded() {
    let cloud = Cloud::new();
    let (_dir, file) = scratch();
    let rollout = "steps: [25, 50, 100], alarms: [cutover-5xx]";
    cut_over_ready(&cloud, &file, rollout).await;
    let text = cutover(0, 100, rollout);
    // Killed once step 2 was in force: stop the run at its third weight change.
    let changes = Arc::new(Mutex::new(0));
    {
        let changes = changes.clone();
        cloud.on_call(move |call, _| {
            if call.op == "update" && call.address == "listener.http" {
                let mut n = changes.lock().unwrap();
                *n += 1;
                if *n == 3 {
                    return Then::Lose;
                }
            }
            Then::Proceed
        });
    }
    let p = prepare(&cloud, &text, &file).await;
    let run = p.execute(10);
    let _ = tokio::time::timeout(Duration::from_secs(30), run).await;
    let state = read_state(&file);
    assert_eq!(forward_of(&state), vec![50, 50]);
    let rec = state.resources[&address("listener.http")].rollout.clone().unwrap();
    assert_eq!(rec.outcome, RolloutOutcome::InProgress);
    assert!(state.intents.contains_key(&address("listener.http")), "the third call's intent");

    cloud.on_call(|_, _| Then::Proceed);
    let p = prepare(&cloud, &text, &file).await;
    let change = p.plan.change(&address("listener.http")).unwrap();
    assert_eq!(
        change.reason.as_deref(),
        Some("rollout interrupted at step 2 of 3 (50%); this apply goes on from there")
    );
    let outcome = p.execute(10).await;
    assert!(outcome.ok(), "{outcome:?}");
    let state = read_state(&file);
    assert_eq!(forward_of(&state), vec![0, 100]);
    let rec = state.resources[&address("listener.http")].rollout.clone().unwrap();
    assert_eq!(rec.outcome, RolloutOutcome::Complete);
    assert_eq!(
        rec.steps.iter().map(|s| s.percent).collect::<Vec<_>>(),
        vec![25, 50, 100],
        "one record across both runs"
    );
}

/// Canary analysis: after each pause the groups gaining weight are judged
/// against those losing it. A 10% 5xx share against 0.1% reverts, naming both;
/// a healthy canary completes with its verdicts recorded; a canary with too
/// few requests is waited for, then fails rather than passing blind.
#[tokio::test(start_paused = true)]
async fn a_canary_is_judged_against_its_baseline_after_each_pause() {
    use infra::plan::rollout::Traffic;
    let cloud = Cloud::new();
    let (_dir, file) = scratch();
    let rollout = "steps: [50, 100], pause_seconds: 60, alarms: [cutover-5xx], analysis: { latency_statistic: Average, wait_seconds: 120 }";
    let eks = cut_over_ready(&cloud, &file, rollout).await;
    let state = read_state(&file);
    let ec2 = state.resources[&address("target_group.ec2")].attributes["arn"]
        .as_str()
        .unwrap()
        .to_string();
    let t = |requests: f64, errors: f64| Traffic {
        requests,
        errors,
        connection_errors: 0.0,
        latency: Some(0.1),
    };
    cloud.set_traffic(&ec2, t(1000.0, 1.0));
    cloud.set_traffic(&eks, t(1000.0, 100.0));
    let (outcome, state) = apply(&cloud, &cutover(0, 100, rollout), &file, 10).await;
    let why = &outcome.failed[0].1;
    assert!(
        why.contains("reverted in the pause after step 1 of 2 (50%): canary analysis failed")
            && why.contains("canary failed 10.0% of 1000 requests")
            && why.contains("baseline failed 0.1% of 1000 requests"),
        "{why}"
    );
    assert_eq!(forward_of(&state), vec![100, 0]);
    let rec = state.resources[&address("listener.http")].rollout.clone().unwrap();
    assert!(
        rec.steps[0].verdict.as_deref().unwrap().starts_with("canary analysis failed"),
        "{rec:?}"
    );

    cloud.set_traffic(&eks, t(1000.0, 2.0));
    let (outcome, state) = apply(&cloud, &cutover(0, 100, rollout), &file, 10).await;
    assert!(outcome.ok(), "{outcome:?}");
    assert_eq!(forward_of(&state), vec![0, 100]);
    let rec = state.resources[&address("listener.http")].rollout.clone().unwrap();
    assert!(
        rec.steps
            .iter()
            .all(|s| s.verdict.as_deref().is_some_and(|v| v.starts_with("canary analysis passed"))),
        "{rec:?}"
    );

    // Back to 100/0, then a canary that serves almost nothing.
    cloud.set_health(&ec2, &[("i-1", TargetState::Healthy)]);
    let (outcome, _) = apply(&cloud, &cutover(100, 0, "steps: [100]"), &file, 10).await;
    assert!(outcome.ok(), "{outcome:?}");
    cloud.set_traffic(&eks, t(10.0, 0.0));
    let started = tokio::time::Instant::now();
    let (outcome, state) = apply(&cloud, &cutover(0, 100, rollout), &file, 10).await;
    assert!(
        outcome.failed[0]
            .1
            .contains("canary analysis could not judge: too few requests to judge (10 of 100)"),
        "{outcome:?}"
    );
    assert!(started.elapsed() >= Duration::from_secs(60 + 120), "it waited for requests");
    assert_eq!(forward_of(&state), vec![100, 0]);
}

#[tokio::test]
async fn a_configure_that_finds_its_new_resource_not_yet_visible_is_tried_again() {
    // AWS's eventual consistency: the subnet was made, and the next call about
    // it answers that it does not exist, twice.
    let cloud = Cloud::new();
    let misses = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = misses.clone();
    cloud.on_call(move |call, _| {
        if call.op == "update"
            && call.address == "subnet.a"
            && seen.fetch_add(1, Ordering::SeqCst) < 2
        {
            Then::Fail("InvalidSubnetID.NotFound")
        } else {
            Then::Proceed
        }
    });
    let (_dir, file) = scratch();
    let (outcome, state) = apply(&cloud, TWO_NETWORKS, &file, 10).await;
    assert!(outcome.failed.is_empty(), "{outcome:?}");
    assert_eq!(misses.load(Ordering::SeqCst), 3, "tried until it was seen");
    assert!(state.resources.contains_key(&address("subnet.a")));
    assert_eq!(cloud.ids("subnet").len(), 2, "made once");

    // Another error is not waited out.
    let cloud = Cloud::new();
    cloud.on_call(|call, _| match (call.op, call.address.as_str()) {
        ("update", "subnet.a") => Then::Fail("InvalidParameterValue"),
        _ => Then::Proceed,
    });
    let (_dir, file) = scratch();
    let (outcome, _) = apply(&cloud, TWO_NETWORKS, &file, 10).await;
    assert_eq!(outcome.failed.len(), 1, "{outcome:?}");
    assert_eq!(cloud.log().iter().filter(|l| *l == "update subnet.a").count(), 1);
}

/// A Firehose stream: a type AWS works on after it answers.
fn stream(prefix: &str) -> String {
    format!(
        "
stack: engine
region: ap-northeast-1
resources:
  firehose_stream.logs:
    role_arn: arn:aws:iam::123456789012:role/firehose
    s3: {{ bucket_arn: 'arn:aws:s3:::logs', prefix: {prefix} }}
"
    )
}

#[tokio::test]
async fn a_waited_for_create_or_update_is_recorded_from_the_waits_last_look_without_a_read() {
    let cloud = Cloud::new();
    let (_dir, file) = scratch();
    let p = prepare(&cloud, &stream("app/"), &file).await;
    let before = cloud.reads();
    assert!(p.execute(10).await.ok());
    assert_eq!(cloud.reads(), before, "nothing read after the create");
    let state = read_state(&file);
    let logs = &state.resources[&address("firehose_stream.logs")];
    // What the wait saw (AWS's status) and what was asked.
    assert_eq!(logs.attributes["status"], "ACTIVE", "{logs:?}");
    assert_eq!(logs.attributes["s3"]["prefix"], "app/");
    assert_eq!(logs.attributes["id"], logs.id.as_str());
    assert!(logs.pending.is_none());

    // An update waits too, and is recorded the same way.
    let p = prepare(&cloud, &stream("logs/"), &file).await;
    assert_eq!(p.plan.counts().change, 1);
    let before = cloud.reads();
    assert!(p.execute(10).await.ok());
    assert_eq!(cloud.reads(), before, "nothing read after the update");
    let state = read_state(&file);
    let logs = &state.resources[&address("firehose_stream.logs")];
    assert_eq!(logs.attributes["s3"]["prefix"], "logs/");
    assert_eq!(logs.attributes["status"], "ACTIVE");
    // And what was recorded is what the cloud holds: nothing to change.
    let p = prepare(&cloud, &stream("logs/"), &file).await;
    assert!(!p.plan.has_changes(), "{:?}", p.plan.counts());
}

/// A revert whose call fails is never forgotten: why (the alarm) is in state
/// before the call, the outcome says the revert failed and names the alarm,
/// the run fails, and every later plan refuses to move the weights anywhere
/// but back to the origin until the record is acknowledged.
#[tokio::test(start_paused = true)]
async fn a_failed_revert_names_its_alarm_and_blocks_every_step_forward() {
    let cloud = Cloud::new();
    let (_dir, file) = scratch();
    let rollout = "steps: [50, 100], pause_seconds: 60, alarms: [cutover-5xx]";
    cut_over_ready(&cloud, &file, rollout).await;
    let text = cutover(0, 100, rollout);
    // Step 1 goes through; the revert's call is refused.
    let changes = Arc::new(Mutex::new(0));
    {
        let changes = changes.clone();
        cloud.on_call(move |call, _| {
            if call.op == "update" && call.address == "listener.http" {
                let mut n = changes.lock().unwrap();
                *n += 1;
                if *n == 2 {
                    return Then::Fail("ServiceUnavailable");
                }
            }
            Then::Proceed
        });
    }
    {
        let cloud = cloud.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(25)).await;
            cloud.set_alarm("cutover-5xx", AlarmState::Alarm);
        });
    }
    let (outcome, state) = apply(&cloud, &text, &file, 10).await;
    assert!(!outcome.ok());
    let why = &outcome.failed[0].1;
    assert!(
        why.contains("could not be reverted in the pause after step 1 of 2 (50%): alarm cutover-5xx is in ALARM")
            && why.contains("ServiceUnavailable"),
        "{why}"
    );
    assert_eq!(forward_of(&state), vec![50, 50], "still half way");
    let rec = state.resources[&address("listener.http")].rollout.clone().unwrap();
    match &rec.outcome {
        RolloutOutcome::RevertFailed(why) => {
            assert!(why.contains("alarm cutover-5xx is in ALARM"), "{why}")
        }
        other => panic!("{other:?}"),
    }

    // The next plan offers no step forward: it is refused, saying how out.
    cloud.on_call(|_, _| Then::Proceed);
    cloud.set_alarm("cutover-5xx", AlarmState::Ok);
    let p = prepare(&cloud, &text, &file).await;
    assert!(
        p.plan
            .problems
            .iter()
            .any(|m| m.contains("listener.http: its last rollout's revert did not finish")
                && m.contains("alarm cutover-5xx is in ALARM")
                && m.contains("infra rollout ack listener.http")),
        "{:?}",
        p.plan.problems
    );
    assert!(
        p.plan.notices.iter().any(|n| n.address == address("listener.http")),
        "{:?}",
        p.plan.notices
    );
    // Back to the origin is the revert: allowed, and it clears the block.
    let ec2 = state.resources[&address("target_group.ec2")].attributes["arn"]
        .as_str()
        .unwrap()
        .to_string();
    cloud.set_health(&ec2, &[("i-1", TargetState::Healthy)]);
    let back = cutover(100, 0, rollout);
    let p = prepare(&cloud, &back, &file).await;
    assert!(p.plan.problems.is_empty(), "{:?}", p.plan.problems);
    let outcome = p.execute(10).await;
    assert!(outcome.ok(), "{outcome:?}");
    let state = read_state(&file);
    assert_eq!(forward_of(&state), vec![100, 0]);
    let p = prepare(&cloud, &text, &file).await;
    assert!(p.plan.problems.is_empty(), "{:?}", p.plan.problems);
}

/// A run killed inside the revert's call leaves `reverting` (with why) in
/// state, which blocks a step forward as a failed revert does; acknowledged,
/// it no longer does.
#[tokio::test(start_paused = true)]
async fn a_revert_cut_short_blocks_until_acknowledged() {
    let cloud = Cloud::new();
    let (_dir, file) = scratch();
    let rollout = "steps: [50, 100], pause_seconds: 60, alarms: [cutover-5xx]";
    cut_over_ready(&cloud, &file, rollout).await;
    let text = cutover(0, 100, rollout);
    let changes = Arc::new(Mutex::new(0));
    {
        let changes = changes.clone();
        cloud.on_call(move |call, _| {
            if call.op == "update" && call.address == "listener.http" {
                let mut n = changes.lock().unwrap();
                *n += 1;
                if *n == 2 {
                    return Then::Lose;
                }
            }
            Then::Proceed
        });
    }
    {
        let cloud = cloud.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(25)).await;
            cloud.set_alarm("cutover-5xx", AlarmState::Alarm);
        });
    }
    let p = prepare(&cloud, &text, &file).await;
    let _ = tokio::time::timeout(Duration::from_secs(120), p.execute(10)).await;
    let mut state = read_state(&file);
    let rec = state.resources[&address("listener.http")].rollout.clone().unwrap();
    match &rec.outcome {
        RolloutOutcome::Reverting(why) => assert!(why.contains("alarm cutover-5xx is in ALARM")),
        other => panic!("{other:?}"),
    }
    cloud.on_call(|_, _| Then::Proceed);
    cloud.set_alarm("cutover-5xx", AlarmState::Ok);
    let p = prepare(&cloud, &text, &file).await;
    assert!(
        p.plan.problems.iter().any(|m| m.contains("revert did not finish")),
        "{:?}",
        p.plan.problems
    );
    drop(p);
    // What `infra rollout ack` records.
    state
        .resources
        .get_mut(&address("listener.http"))
        .unwrap()
        .rollout
        .as_mut()
        .unwrap()
        .acknowledged = Some("2026-12-06T00:00:00Z".into());
    std::fs::write(&file, serde_json::to_string(&state).unwrap()).unwrap();
    let p = prepare(&cloud, &text, &file).await;
    assert!(p.plan.problems.is_empty(), "{:?}", p.plan.problems);
}

/// A signal while baking after the last step: every weight is in force, but
/// the change was not watched as long as asked. It is recorded as
/// interrupted (with how long it was watched), the run fails, and the next
/// plan says where it stopped.
#[tokio::test(start_paused = true)]
async fn a_bake_cut_short_is_recorded_as_interrupted_and_said_next_time() {
    let cloud = Cloud::new();
    let (_dir, file) = scratch();
    let rollout = "steps: [100], pause_seconds: 60, alarms: [cutover-5xx]";
    cut_over_ready(&cloud, &file, rollout).await;
    let text = cutover(0, 100, rollout);
    let mut p = prepare(&cloud, &text, &file).await;
    let (signal, interrupt) = tokio::sync::watch::channel(infra::apply::Signal::Go);
    p.engine.interrupt = interrupt;
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(20)).await;
        let _ = signal.send(infra::apply::Signal::Stop);
        tokio::time::sleep(Duration::from_secs(3600)).await;
        drop(signal);
    });
    let outcome = p.execute(10).await;
    assert!(!outcome.ok(), "{outcome:?}");
    assert!(
        outcome.failed[0]
            .1
            .contains("interrupted while baking after its last step (100%), 20 of 60 s watched"),
        "{outcome:?}"
    );
    let state = read_state(&file);
    assert_eq!(forward_of(&state), vec![0, 100]);
    let rec = state.resources[&address("listener.http")].rollout.clone().unwrap();
    assert_eq!(rec.outcome, RolloutOutcome::InterruptedBaking { of: 1, watched: 20, bake: 60 });
    let p = prepare(&cloud, &text, &file).await;
    let notice = p
        .plan
        .notices
        .iter()
        .find(|n| n.address == address("listener.http"))
        .expect("the plan says where it stopped");
    assert!(
        notice.message.contains("interrupted while baking after step 1 of 1 (20 of 60 s watched)"),
        "{}",
        notice.message
    );
}

/// The load balancer's own 5xx (a canary's pods timing out) over a step,
/// against their level before it, revert the rollout even when every target
/// group's own numbers look fine; the verdict says what it counted.
#[tokio::test(start_paused = true)]
async fn the_load_balancers_own_5xx_over_a_step_revert_it() {
    use infra::plan::rollout::{Balancer, Traffic};
    let cloud = Cloud::new();
    let (_dir, file) = scratch();
    let rollout = "steps: [50, 100], pause_seconds: 60, alarms: [cutover-5xx], analysis: { latency_statistic: Average }";
    let eks = cut_over_ready(&cloud, &file, rollout).await;
    let state = read_state(&file);
    let ec2 = state.resources[&address("target_group.ec2")].attributes["arn"]
        .as_str()
        .unwrap()
        .to_string();
    let fine =
        Traffic { requests: 1000.0, errors: 1.0, connection_errors: 0.0, latency: Some(0.1) };
    cloud.set_traffic(&ec2, fine);
    cloud.set_traffic(&eks, fine);
    let quiet = Balancer { requests: 2000.0, elb_504: 1.0, ..Balancer::default() };
    cloud.set_balancer(quiet);
    // The first weight change sends traffic to pods that time out.
    {
        let cloud = cloud.clone();
        cloud.clone().on_call(move |call, _| {
            if call.op == "update" && call.address == "listener.http" {
                cloud.set_balancer(Balancer { elb_504: 150.0, ..quiet });
            }
            Then::Proceed
        });
    }
    let (outcome, state) = apply(&cloud, &cutover(0, 100, rollout), &file, 10).await;
    let why = &outcome.failed[0].1;
    assert!(
        why.contains("reverted in the pause after step 1 of 2 (50%): canary analysis failed")
            && why.contains(
                "the load balancer's own 5xx share rose to 7.5% from 0.1% before the step"
            )
            && why.contains("(0 502, 0 503, 150 504) during the step"),
        "{why}"
    );
    assert_eq!(forward_of(&state), vec![100, 0]);
}
