//! Carrying a plan out: refresh, the step graph, and the parallel executor.

mod recover;
mod rollout;
mod steps;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use serde_json::Value;
use tokio::sync::Mutex;
use tokio::task::JoinSet;

use crate::aws::registry::with_provider;
use crate::aws::wait::Phase;
use crate::aws::{Attrs, Aws, Provider};
use crate::graph::{Graph, Part};
use crate::plan::{Action, Observed, Plan};
use crate::stack::reference::{self, Reference};
use crate::stack::{Address, Stack};
use crate::state::{Backend, Deposed, Intent, Pending, ResourceState, State, StateError};

pub use recover::{keep_local, recover};
pub use steps::{Op, Step, build_steps};

/// Reads every resource in state (or those of `only`), one batched read per type,
/// types in parallel.
pub async fn refresh(
    aws: &Aws,
    state: &State,
    only: Option<&std::collections::BTreeSet<Address>>,
) -> anyhow::Result<Observed> {
    let mut by_type: BTreeMap<&str, Vec<(&Address, &ResourceState)>> = BTreeMap::new();
    let wanted = state
        .resources
        .iter()
        .filter(|(a, _)| only.is_none_or(|o| o.contains(*a)));
    for (a, r) in wanted {
        by_type.entry(r.ty.as_str()).or_default().push((a, r));
    }
    let reads = by_type.into_iter().map(|(ty, items)| async move {
        let ids: Vec<String> = items.iter().map(|(_, r)| r.id.clone()).collect();
        let found: HashMap<String, Attrs> = with_provider!(ty, P => P::read(aws, &ids).await)?;
        Ok::<_, anyhow::Error>(
            items
                .into_iter()
                .map(|(a, r)| (a.clone(), found.get(&r.id).cloned()))
                .collect::<Vec<_>>(),
        )
    });
    let mut observed = Observed::new();
    for r in join_all(reads).await {
        observed.extend(r?);
    }
    Ok(observed)
}

/// What became of each step.
#[derive(Debug, Default)]
pub struct Outcome {
    pub done: Vec<String>,
    pub failed: Vec<(String, String)>,
    pub skipped: Vec<String>,
    pub interrupted: bool,
    /// Another writer changed the state under this run: why it stopped.
    pub stale: Option<String>,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty() && !self.interrupted
    }
}

/// The state and where it is saved; saved after every step.
///
/// A save is two halves: `commit` bumps the serial and serialises, under the
/// lock of the state; `Commit::write` writes, after that lock is released, so
/// that steps finishing at once do not queue behind each other's I/O. Writes go
/// one at a time, and a write that a later snapshot already covers is skipped:
/// when it returns, what it committed is saved either way.
pub struct Store {
    pub state: State,
    writer: Arc<Mutex<Writer>>,
    /// The number of the last snapshot committed.
    seq: u64,
    existed: bool,
    location: String,
}

struct Writer {
    backend: Backend,
    /// The number of the last snapshot written.
    written: u64,
    /// How many writes went to the backend.
    writes: u64,
}

/// A snapshot of the state to write.
#[must_use = "a commit is saved only once it is written"]
pub struct Commit {
    writer: Arc<Mutex<Writer>>,
    seq: u64,
    serial: u64,
    json: Vec<u8>,
}

impl Store {
    pub fn new(backend: Backend, state: State) -> Store {
        Store {
            existed: backend.exists(),
            location: backend.location(),
            state,
            writer: Arc::new(Mutex::new(Writer {
                backend,
                written: 0,
                writes: 0,
            })),
            seq: 0,
        }
    }

    /// Where the state is, as `--state` takes it.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Whether a state was read or has been written.
    pub fn exists(&self) -> bool {
        self.existed || self.seq > 0
    }

    /// Bumps the serial and serialises the state as it is now.
    pub fn commit(&mut self) -> Commit {
        self.state.serial += 1;
        self.seq += 1;
        let mut json = serde_json::to_vec_pretty(&self.state).expect("state serialises");
        json.push(b'\n');
        Commit {
            writer: self.writer.clone(),
            seq: self.seq,
            serial: self.state.serial,
            json,
        }
    }

    /// Commits and writes.
    pub async fn save(&mut self) -> Result<(), StateError> {
        self.commit().write().await
    }

    /// How many writes reached the backend.
    pub async fn writes(&self) -> u64 {
        self.writer.lock().await.writes
    }
}

impl Commit {
    pub async fn write(self) -> Result<(), StateError> {
        let mut w = self.writer.lock().await;
        if w.written >= self.seq {
            return Ok(());
        }
        w.backend.write(self.json, self.serial).await?;
        w.written = self.seq;
        w.writes += 1;
        Ok(())
    }
}

struct Ctx {
    aws: Aws,
    stack: Option<Stack>,
    plan: Plan,
    store: Mutex<Store>,
    /// Turns true on Ctrl-C: long steps (a rollout's pauses) stop where they are.
    interrupt: tokio::sync::watch::Receiver<bool>,
}

/// Runs the plan along its step graph, at most `parallelism` steps at once. A step
/// starts when everything it waits for is done; when one fails, what waits on it
/// is skipped and the rest goes on. Ctrl-C stops starting new steps.
pub async fn execute(
    plan: Plan,
    stack: Option<Stack>,
    graph: Option<&Graph>,
    aws: Aws,
    store: Store,
    parallelism: usize,
) -> (Outcome, Store) {
    let (steps, deps) = build_steps(&plan, graph, &store.state);
    let n = steps.len();
    let mut waiting: Vec<usize> = (0..n).map(|i| deps[i].len()).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, ds) in deps.iter().enumerate() {
        for &d in ds {
            dependents[d].push(i);
        }
    }
    let (stop, interrupt) = tokio::sync::watch::channel(false);
    let ctx = Arc::new(Ctx {
        aws,
        stack,
        plan,
        store: Mutex::new(store),
        interrupt,
    });
    let mut outcome = Outcome::default();
    let mut ready: Vec<usize> = (0..n).filter(|&i| waiting[i] == 0).rev().collect();
    let mut blocked = vec![false; n];
    let mut running = JoinSet::new();
    let mut interrupted = false;
    let began = Instant::now();
    let mut timings: Vec<Option<(f64, f64)>> = vec![None; n];
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        while !interrupted && running.len() < parallelism.max(1) {
            let Some(i) = ready.pop() else { break };
            let step = steps[i].clone();
            let ctx = ctx.clone();
            eprintln!("{}: {}...", step.address, step.op.doing());
            let offset = began.elapsed();
            running.spawn(async move {
                let started = Instant::now();
                let r = Box::pin(run_step(&ctx, &step)).await;
                (i, r, started.elapsed(), offset)
            });
        }
        if running.is_empty() {
            break;
        }
        tokio::select! {
            joined = running.join_next() => {
                let Some(joined) = joined else { continue };
                let (i, result, took, offset) = match joined {
                    Ok(x) => x,
                    Err(e) => {
                        outcome.failed.push(("(internal)".into(), e.to_string()));
                        continue;
                    }
                };
                let label = steps[i].label();
                timings[i] = Some((offset.as_secs_f64(), (offset + took).as_secs_f64()));
                match result {
                    Ok(detail) => {
                        eprintln!("{}: {}{} [{:.1}s]", steps[i].address, steps[i].op.done(), detail, took.as_secs_f64());
                        outcome.done.push(label);
                        for &j in &dependents[i] {
                            waiting[j] -= 1;
                            if waiting[j] == 0 && !blocked[j] {
                                ready.push(j);
                            }
                        }
                    }
                    Err(e) => {
                        eprintln!("{}: {} failed: {e:#}", steps[i].address, steps[i].op.doing());
                        let stale = e.chain().any(|c| {
                            matches!(c.downcast_ref::<StateError>(), Some(StateError::Stale { .. }))
                        });
                        if stale && outcome.stale.is_none() {
                            eprintln!("the state changed under this run: starting no more steps");
                            outcome.stale = Some(format!("{e:#}"));
                            interrupted = true;
                            let _ = stop.send(true);
                        }
                        outcome.failed.push((label, format!("{e:#}")));
                        let mut stack = dependents[i].clone();
                        while let Some(j) = stack.pop() {
                            if !blocked[j] {
                                blocked[j] = true;
                                outcome.skipped.push(steps[j].label());
                                stack.extend(dependents[j].iter().copied());
                            }
                        }
                    }
                }
            }
            _ = &mut ctrl_c, if !interrupted => {
                eprintln!("interrupt: finishing the steps under way, starting no more (state is saved after each)");
                interrupted = true;
                let _ = stop.send(true);
            }
        }
    }
    if interrupted {
        outcome.interrupted = true;
        for (i, s) in steps.iter().enumerate() {
            let label = s.label();
            if !blocked[i]
                && !outcome.done.contains(&label)
                && !outcome.failed.iter().any(|(l, _)| *l == label)
            {
                outcome.skipped.push(label);
            }
        }
    }
    let wall = began.elapsed();
    let ctx = Arc::into_inner(ctx).expect("every step has finished");
    let store = ctx.store.into_inner();
    if let Some(path) = std::env::var_os("INFRA_TIMINGS") {
        let writes = store.writes().await;
        write_timings(&path, &steps, &deps, &timings, wall, writes);
    }
    (outcome, store)
}

/// When each step started and ended (seconds from the start of execution) and
/// what it waited for, as JSON: what the benchmark computes the critical path
/// from. Written when `INFRA_TIMINGS` names a file.
fn write_timings(
    path: &std::ffi::OsStr,
    steps: &[Step],
    deps: &[Vec<usize>],
    timings: &[Option<(f64, f64)>],
    wall: Duration,
    state_writes: u64,
) {
    let rows: Vec<Value> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            serde_json::json!({
                "step": s.label(),
                "op": format!("{:?}", s.op),
                "start": timings[i].map(|t| t.0),
                "end": timings[i].map(|t| t.1),
                "after": deps[i],
            })
        })
        .collect();
    let doc = serde_json::json!({
        "wall": wall.as_secs_f64(),
        "state_writes": state_writes,
        "steps": rows,
    });
    if let Err(e) = std::fs::write(path, doc.to_string()) {
        tracing::warn!("could not write the timings: {e}");
    }
}

/// Desired attributes with every reference resolved from state. The main part
/// leaves out the deferred attributes, which may reference what comes after it.
fn desired(ctx: &Ctx, state: &State, address: &Address, part: Part) -> anyhow::Result<Attrs> {
    let stack = ctx
        .stack
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("no stack to apply"))?;
    let resource = stack
        .resources
        .get(address)
        .ok_or_else(|| anyhow::anyhow!("{address} is not in the stack"))?;
    let mut attrs = resource.attrs.clone();
    if part == Part::Main {
        attrs.retain(|k, _| !resource.schema.attr(k).is_some_and(|a| a.deferred));
    }
    let lookup = |r: &Reference| {
        state
            .resources
            .get(&r.address)
            .and_then(|s| s.attributes.get(&r.attr))
            .cloned()
    };
    let resolved = reference::resolve(&Value::Object(attrs), &lookup);
    if !reference::is_known(&resolved) {
        anyhow::bail!("a value it references is still unknown");
    }
    match resolved {
        Value::Object(m) => Ok(m),
        _ => unreachable!("an object resolves to an object"),
    }
}

/// Reads one resource back, waiting for AWS's eventual consistency.
async fn read_back(aws: &Aws, ty: &str, id: &str) -> anyhow::Result<Attrs> {
    let ids = [id.to_string()];
    let mut delay = Duration::from_millis(200);
    for _ in 0..12 {
        let mut found: HashMap<String, Attrs> = with_provider!(ty, P => P::read(aws, &ids).await)?;
        if let Some(a) = found.remove(id) {
            return Ok(a);
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
    anyhow::bail!("{id} was created but cannot be read back")
}

/// Carries out one step and records its result in state. Returns a detail for the
/// progress line.
async fn run_step(ctx: &Ctx, step: &Step) -> anyhow::Result<String> {
    let a = &step.address;
    let aws = &ctx.aws;
    match step.op {
        Op::Create => {
            let after = desired(ctx, &ctx.store.lock().await.state, a, Part::Main)?;
            let mut after = with_timeouts(ctx, a, after);
            let ty = a.ty.as_str();
            with_provider!(ty, P => {
                P::prepare(&mut after);
                anyhow::Ok(())
            })?;
            let token = uuid::Uuid::new_v4().to_string();
            intend(ctx, a, "create", Some(token.clone()), &after).await?;
            after.insert("client_token".into(), Value::String(token));
            let id = with_provider!(ty, P => P::create(aws, &after).await)?;
            after.remove("client_token");
            // What was asked for stands in until it can be read back.
            let known = {
                let mut known = after.clone();
                known.remove("timeouts");
                known.insert("id".to_string(), Value::String(id.clone()));
                known
            };
            if crate::aws::registry::waits(ty) {
                // AWS accepted it: a run killed while waiting resumes the wait.
                save_record(ctx, a, &id, known.clone(), &after, Some(Phase::Create)).await?;
            }
            let rest = async {
                with_provider!(ty, P => P::wait(aws, &id, Phase::Create, &after).await)?;
                let observed = read_back(aws, ty, &id).await?;
                with_provider!(ty, P => P::update(aws, &id, &observed, &after).await)?;
                read_back(aws, ty, &id).await
            };
            match rest.await {
                Ok(observed) => record(ctx, a, &id, observed, &after).await?,
                Err(e) => {
                    // It exists: state keeps it, and the next plan finishes it.
                    record(ctx, a, &id, known, &after).await?;
                    return Err(e);
                }
            }
            Ok(format!(" (id {id})"))
        }
        Op::Update => {
            let (after, id, before) = {
                let store = ctx.store.lock().await;
                let after = desired(ctx, &store.state, a, Part::Main)?;
                let id = in_state(&store.state, a)?.id.clone();
                let before = ctx
                    .plan
                    .change(a)
                    .and_then(|c| c.before.clone())
                    .unwrap_or_default();
                (after, id, before)
            };
            if rollout::applies(&before, &after) {
                return Box::pin(rollout::run(ctx, a, &id, &before, &after)).await;
            }
            let after = with_timeouts(ctx, a, after);
            let ty = a.ty.as_str();
            intend(ctx, a, "update", None, &Attrs::new()).await?;
            with_provider!(ty, P => P::update(aws, &id, &before, &after).await)?;
            if crate::aws::registry::waits(ty) {
                // AWS accepted it: a run killed while waiting resumes the wait.
                set_pending(ctx, a, Some(Phase::Update)).await?;
                with_provider!(ty, P => P::wait(aws, &id, Phase::Update, &after).await)?;
            }
            let observed = read_back(aws, ty, &id).await?;
            record(ctx, a, &id, observed, &after).await?;
            Ok(String::new())
        }
        Op::ApplyDeferred => {
            let (after, id) = {
                let store = ctx.store.lock().await;
                (
                    desired(ctx, &store.state, a, Part::Deferred)?,
                    in_state(&store.state, a)?.id.clone(),
                )
            };
            let ty = a.ty.as_str();
            intend(ctx, a, "update-rules", None, &Attrs::new()).await?;
            with_provider!(ty, P => P::update_deferred(aws, &id, &after).await)?;
            let observed = read_back(aws, ty, &id).await?;
            record(ctx, a, &id, observed, &after).await?;
            Ok(String::new())
        }
        Op::DeleteDeferred => {
            let id = in_state(&ctx.store.lock().await.state, a)?.id.clone();
            let ty = a.ty.as_str();
            intend(ctx, a, "delete-rules", None, &Attrs::new()).await?;
            with_provider!(ty, P => P::delete_deferred(aws, &id).await)?;
            let mut store = ctx.store.lock().await;
            store.state.intents.remove(a);
            let commit = store.commit();
            drop(store);
            commit.write().await?;
            Ok(String::new())
        }
        Op::DeleteDeposed => {
            let deposed = in_state(&ctx.store.lock().await.state, a)?.deposed.clone();
            if let Some(d) = deposed {
                let ty = a.ty.as_str();
                intend(ctx, a, "delete-deposed", None, &Attrs::new()).await?;
                with_provider!(ty, P => P::delete(aws, &d.id, &d.attributes).await)?;
            }
            let mut store = ctx.store.lock().await;
            if let Some(r) = store.state.resources.get_mut(a) {
                r.deposed = None;
            }
            store.state.intents.remove(a);
            let commit = store.commit();
            drop(store);
            commit.write().await?;
            Ok(String::new())
        }
        Op::Delete => {
            let (id, before) = {
                let store = ctx.store.lock().await;
                let r = in_state(&store.state, a)?;
                let mut before = ctx
                    .plan
                    .change(a)
                    .and_then(|c| c.before.clone())
                    .unwrap_or_default();
                for (k, v) in &r.attributes {
                    before.entry(k.clone()).or_insert_with(|| v.clone());
                }
                (r.id.clone(), before)
            };
            let before = with_timeouts(ctx, a, before);
            let ty = a.ty.as_str();
            intend(ctx, a, "delete", None, &Attrs::new()).await?;
            with_provider!(ty, P => P::delete(aws, &id, &before).await)?;
            if crate::aws::registry::waits(ty) {
                set_pending(ctx, a, Some(Phase::Delete)).await?;
                with_provider!(ty, P => P::wait(aws, &id, Phase::Delete, &before).await)?;
            }
            let mut store = ctx.store.lock().await;
            store.state.resources.remove(a);
            store.state.intents.remove(a);
            let commit = store.commit();
            drop(store);
            commit.write().await?;
            Ok(String::new())
        }
        Op::Wait => {
            let (id, pending, attrs) = {
                let store = ctx.store.lock().await;
                let r = in_state(&store.state, a)?;
                (r.id.clone(), r.pending.clone(), r.attributes.clone())
            };
            let Some(pending) = pending else {
                return Ok(String::new());
            };
            let phase = pending.phase();
            let attrs = with_timeouts(ctx, a, attrs);
            let ty = a.ty.as_str();
            with_provider!(ty, P => P::wait(aws, &id, phase, &attrs).await)?;
            let ids = [id.clone()];
            let still: HashMap<String, Attrs> = with_provider!(ty, P => P::read(aws, &ids).await)?;
            if matches!(phase, Phase::Delete) && !still.contains_key(&id) {
                let mut store = ctx.store.lock().await;
                store.state.resources.remove(a);
                let commit = store.commit();
                drop(store);
                commit.write().await?;
            } else if matches!(phase, Phase::Delete) {
                // It is still there: the delete did not go through after all.
                set_pending(ctx, a, None).await?;
            } else {
                let observed = read_back(aws, ty, &id).await?;
                record(ctx, a, &id, observed, &attrs).await?;
            }
            Ok(format!(
                " (the wait an earlier apply left: {})",
                pending.operation
            ))
        }
    }
}

/// A resource's state, or an error saying it is not there (never a panic).
fn in_state<'a>(state: &'a State, address: &Address) -> anyhow::Result<&'a ResourceState> {
    state.resources.get(address).ok_or_else(|| {
        anyhow::anyhow!("{address} is not in state (it was removed while this apply ran)")
    })
}

/// The resource's `timeouts` from the stack, for the provider's waits.
fn with_timeouts(ctx: &Ctx, address: &Address, mut attrs: Attrs) -> Attrs {
    let timeouts = ctx
        .stack
        .as_ref()
        .and_then(|s| s.resources.get(address))
        .map(|r| &r.timeouts);
    if let Some(t) = timeouts.filter(|t| !t.is_empty()) {
        attrs.insert("timeouts".into(), serde_json::json!(t));
    }
    attrs
}

/// Writes to state, before a mutating call, what it is about to do; the result
/// (`record`, or the resource's removal) takes it away again. A create keeps what
/// it asked for, by which an interrupted create is found again.
async fn intend(
    ctx: &Ctx,
    address: &Address,
    operation: &str,
    token: Option<String>,
    attrs: &Attrs,
) -> anyhow::Result<()> {
    let mut attributes = attrs.clone();
    attributes.remove("timeouts");
    let mut store = ctx.store.lock().await;
    store.state.intents.insert(
        address.clone(),
        Intent {
            operation: operation.to_string(),
            token,
            since: crate::state::now(),
            attributes,
        },
    );
    let commit = store.commit();
    drop(store);
    commit.write().await?;
    Ok(())
}

/// Records in state that AWS has accepted an operation that is not finished, or
/// that it has finished (`None`).
async fn set_pending(ctx: &Ctx, address: &Address, phase: Option<Phase>) -> anyhow::Result<()> {
    let mut store = ctx.store.lock().await;
    if let Some(r) = store.state.resources.get_mut(address) {
        r.pending = phase.map(Pending::new);
        let commit = store.commit();
        drop(store);
        commit.write().await?;
    }
    Ok(())
}

/// A resource as state records it: its id, attributes, and what the stack says
/// it depends on (destroy deletes in reverse without the stack file).
pub fn resource_state(
    address: &Address,
    id: &str,
    attributes: Attrs,
    resource: Option<&crate::stack::Resource>,
) -> ResourceState {
    ResourceState {
        ty: address.ty.clone(),
        id: id.to_string(),
        attributes,
        dependencies: resource
            .map(|r| {
                let mut d = r.main_references();
                d.extend(r.depends_on.iter().cloned());
                d.into_iter().collect()
            })
            .unwrap_or_default(),
        rule_dependencies: resource
            .map(|r| r.deferred_references().into_iter().collect())
            .unwrap_or_default(),
        deposed: None,
        rollout: None,
        pending: None,
    }
}

/// Writes a resource's observed attributes (plus the ones kept only in state) and
/// its dependencies to state, and saves: the result of an operation.
async fn record(
    ctx: &Ctx,
    address: &Address,
    id: &str,
    observed: Attrs,
    after: &Attrs,
) -> anyhow::Result<()> {
    save_record(ctx, address, id, observed, after, None).await
}

/// `record`, marking an operation AWS accepted and has not finished.
async fn save_record(
    ctx: &Ctx,
    address: &Address,
    id: &str,
    mut observed: Attrs,
    after: &Attrs,
    pending: Option<Phase>,
) -> anyhow::Result<()> {
    let resource = ctx.stack.as_ref().and_then(|s| s.resources.get(address));
    keep_local(&mut observed, after, &address.ty);
    let mut store = ctx.store.lock().await;
    let create_before_destroy = ctx
        .plan
        .change(address)
        .is_some_and(|c| c.action == Action::Replace && c.create_before_destroy);
    let (deposed, rollout) = match store.state.resources.get(address) {
        Some(p) if p.id == id => (p.deposed.clone(), p.rollout.clone()),
        Some(p) if create_before_destroy && p.deposed.is_none() => (
            Some(Deposed {
                id: p.id.clone(),
                attributes: p.attributes.clone(),
            }),
            None,
        ),
        Some(p) => (p.deposed.clone(), None),
        None => (None, None),
    };
    store.state.resources.insert(
        address.clone(),
        ResourceState {
            deposed,
            rollout,
            pending: pending.map(Pending::new),
            ..resource_state(address, id, observed, resource)
        },
    );
    store.state.intents.remove(address);
    let commit = store.commit();
    drop(store);
    commit.write().await?;
    Ok(())
}
