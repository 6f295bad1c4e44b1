//! A command's plan: what the lookups find, what a refresh reads, the plan
//! the core derives from them, and what AWS says a reviewer must know beside
//! it (add-on versions, a cut-over's runbook).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::session::{Session, connect, keep_recorded_names, open};
use super::{Command, Context, Failure};
use crate::apply::Engine;
use crate::aws::Aws;
use crate::plan::{Mode, Observed, Plan};
use crate::render::Format;
use crate::stack;
use crate::stack::graph::Graph;
use crate::types::Address;
use crate::types::state::State;

/// The stack with what its lookups (`data:`) found put in, and the session's
/// graph made again from it. The lookups run through the engine's finders
/// wave by wave (a wave's at once), each search with what earlier waves found
/// in it. Nothing matched, more than one, or an answer AWS refused is an error
/// at the lookup's line that says what was searched; nothing else was read or
/// written. Without `refresh`, what the last apply recorded stands for what
/// they would find. A stack without lookups asks nothing.
pub async fn look_up(engine: &Engine, session: &mut Session, refresh: bool) -> Result<(), Failure> {
    let stack = &session.stack;
    if stack.lookups.is_empty() {
        return Ok(());
    }
    let mut found = stack::LookedUp::new();
    let mut d = stack.diagnostics();
    if !refresh {
        let recorded = &session.journal.state().lookups;
        for (a, l) in &stack.lookups {
            match recorded.get(a) {
                Some(v) => {
                    found.insert(a.clone(), v.clone());
                }
                None => d.error(
                    l.loc,
                    format!("{a}: no apply has recorded what this lookup finds"),
                    Some("plan without --refresh=false, so that it is looked up".into()),
                ),
            }
        }
    } else {
        let waves = stack::lookup_waves(&stack.lookups).unwrap_or_default();
        for wave in waves {
            let searches = wave.iter().map(|a| {
                let l = &stack.lookups[a];
                let query: crate::types::Attrs = l
                    .query
                    .iter()
                    .map(|(k, v)| {
                        let value = crate::types::reference::resolve(v, &|r| {
                            found.get(&r.address).and_then(|f| f.get(&r.attr)).cloned()
                        });
                        (k.clone(), crate::types::reference::value_of(&value))
                    })
                    .collect();
                async move {
                    let kind = l.schema.name;
                    let matches = match engine.registry.finder(kind) {
                        Ok(finder) => finder.find(&query).await,
                        Err(e) => Err(e),
                    };
                    (l, matches.map(|m| l.schema.settle(&query, m)))
                }
            });
            for (l, result) in futures::future::join_all(searches).await {
                let a = &l.address;
                match result {
                    Ok(Ok(values)) => {
                        found.insert(a.clone(), values);
                    }
                    Ok(Err(why)) => d.error(l.loc, format!("{a}: {}", why.message), Some(why.hint)),
                    Err(e) => d.error(
                        l.loc,
                        format!("{a}: AWS did not answer the search: {e:#}"),
                        Some(
                            "check the credentials' permission to describe it, and the region"
                                .into(),
                        ),
                    ),
                }
            }
            if d.has_errors() {
                break;
            }
        }
    }
    if d.has_errors() {
        return Err(Failure::Invalid(d.into_errors()));
    }
    put_found(session, &found)
}

/// Puts what the lookups found into the session's stack (validated again with
/// the values) and makes its graph again.
pub fn put_found(session: &mut Session, found: &stack::LookedUp) -> Result<(), Failure> {
    session.stack = session.stack.with_lookups(found).map_err(Failure::Invalid)?;
    keep_recorded_names(session);
    session.graph = Graph::build(&session.stack);
    Ok(())
}

/// The stack's moves (`moved:`) against state, made on the state in memory
/// (saved by an apply); a move whose target state holds already is an
/// error at its line, before any AWS call.
pub fn moved(session: &mut Session) -> Result<Vec<crate::plan::moves::Move>, Failure> {
    let stack = &session.stack;
    if stack.moved.is_empty() && stack.moved_modules.is_empty() {
        return Ok(Vec::new());
    }
    let mut d = stack.diagnostics();
    let moves = crate::plan::moves::resolve(
        &stack.moved,
        &stack.moved_modules,
        session.journal.state(),
        &mut d,
    );
    if d.has_errors() {
        return Err(Failure::Invalid(d.into_errors()));
    }
    session.journal.move_records(&moves);
    keep_recorded_names(session);
    Ok(moves)
}

/// Refreshes everything in state. Resources that are gone and no longer in the
/// stack are dropped from the state in memory (saved by the next apply).
pub async fn refresh(engine: &Engine, session: &mut Session) -> Result<Observed, Failure> {
    let observed = engine.refresh(session.journal.state(), None, Some(&session.stack)).await?;
    forget_gone(session, &observed);
    Ok(observed)
}

/// Drops from the state in memory what is gone and no longer in the stack.
fn forget_gone(session: &mut Session, observed: &Observed) {
    let stack = &session.stack;
    for a in session.journal.forget_gone(observed, |a| stack.resources.contains_key(a)) {
        tracing::info!("{a} no longer exists and is no longer in the stack; forgetting it");
    }
}

/// How a plan is made: `--refresh`, `--target`.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    pub refresh: bool,
    pub targets: Vec<String>,
    /// Keep both sides of no-op changes (for the JSON plan and saved plans).
    pub noop_sides: bool,
    /// Keep what the refresh read (for saved plans).
    pub keep_observed: bool,
    /// Say what the stack costs a month before and after (`--no-cost`: not).
    pub cost: bool,
}

impl Default for PlanOptions {
    fn default() -> PlanOptions {
        PlanOptions {
            refresh: true,
            targets: Vec::new(),
            noop_sides: true,
            keep_observed: false,
            cost: true,
        }
    }
}

/// The addresses a targeted plan considers: the targets and what they depend on.
/// `None` when nothing is targeted. An unknown target is refused.
pub fn targets(
    ctx: &Context,
    session: &mut Session,
    options: &PlanOptions,
    mode: Mode,
) -> Result<Option<BTreeSet<Address>>, Failure> {
    if options.targets.is_empty() {
        return Ok(None);
    }
    let mut addresses = Vec::new();
    for t in &options.targets {
        // A module (`module.svc`, `module.svc["web"]`): everything in it.
        if let Some(path) = crate::types::address::parse_path(t) {
            let state = session.journal.state();
            let within: BTreeSet<Address> = (session.stack.resources.keys())
                .chain(state.resources.keys())
                .filter(|x| crate::types::address::path_within(&x.module, &path))
                .cloned()
                .collect();
            if within.is_empty() {
                return Err(Failure::new(
                    format!(
                        "--target {t}: no resource in the stack file or state is in that module"
                    ),
                    Some(
                        "name a module the stack file uses under `modules:`, for example module.network",
                    ),
                ));
            }
            addresses.extend(within);
            continue;
        }
        let a = Address::parse(t).ok_or_else(|| {
            Failure::new(
                format!("--target {t}: not an address"),
                Some("addresses are TYPE.NAME (module.NAME.TYPE.NAME inside a module), or module.NAME for all of a module, for example target_group.eks"),
            )
        })?;
        // A resource's bare name targets every instance of it.
        let state = session.journal.state();
        let instances: BTreeSet<Address> = (session.stack.resources.keys())
            .chain(state.resources.keys())
            .filter(|x| x.key.is_some() && a.key.is_none() && x.base() == a)
            .cloned()
            .collect();
        let known = session.stack.resources.contains_key(&a)
            || state.resources.contains_key(&a)
            || !instances.is_empty();
        if !instances.is_empty() {
            addresses.extend(instances);
            continue;
        }
        if !known {
            let names: Vec<String> =
                session.stack.resources.keys().map(|k| k.to_string()).collect();
            let hint = crate::stack::diag::did_you_mean(t, names.iter().map(String::as_str));
            return Err(Failure::Error {
                message: format!("--target {t}: no such resource in the stack file or state"),
                hint,
            });
        }
        addresses.push(a);
    }
    let they = if addresses.len() == 1 { "it" } else { "they" };
    let closure = match mode {
        Mode::Apply => crate::plan::target_closure(&session.stack, &addresses),
        Mode::Destroy => {
            crate::plan::dependents_closure(&session.stack, session.journal.state(), &addresses)
        }
    };
    let what = match mode {
        Mode::Apply => format!("{they} depend on"),
        Mode::Destroy => format!("depends on {}", if they == "it" { "it" } else { "them" }),
    };
    ctx.console.note(&format!(
        "note: a targeted plan: only {} and what {what} ({} resources); the rest of the stack is not considered",
        options.targets.join(", "),
        closure.len()
    ));
    Ok(Some(closure))
}

/// A plan made, with what it was made from.
pub struct Planned {
    pub session: Session,
    pub engine: Engine,
    pub plan: Plan,
    /// What the refresh read, when `PlanOptions::keep_observed` asked for it
    /// (a saved plan records it).
    pub observed: Option<Observed>,
}

/// Opens the stack under lock, refreshes, plans and prints the plan on stdout.
pub async fn plan(
    ctx: &Context,
    file: &Path,
    state: Option<&Path>,
    command: Command,
    mode: Mode,
    format: Format,
    options: &PlanOptions,
) -> Result<Planned, Failure> {
    let mut session = open(ctx, file, state, command).await?;
    let moves = moved(&mut session)?;
    let only = targets(ctx, &mut session, options, mode)?;
    let engine = if !options.refresh && mode == Mode::Apply && command == Command::Plan {
        // A plan from state alone makes no AWS request at all, the identity
        // check's included: it reads and changes nothing there.
        let aws = Aws::connect(&session.stack.region, ctx.observer.clone()).await;
        Engine::new(crate::aws::registry(aws), ctx.observer.clone())
    } else {
        connect(ctx, &mut session).await?
    };
    if mode == Mode::Apply {
        // A destroy needs nothing found: what it deletes is in state.
        look_up(&engine, &mut session, options.refresh).await?;
    }
    let recovered = engine.recover(&session.stack, &mut session.journal).await?;
    let (mut plan, observed) = if !options.refresh {
        // What state recorded stands for what exists: moved out for the plan
        // (and back after it), not copied.
        let observed = session.journal.take_attributes();
        let plan = derive(&mut session, &observed, mode, options, only.as_ref());
        let kept = options.keep_observed.then(|| observed.clone());
        session.journal.put_back(observed);
        (plan, kept)
    } else {
        let observed = match &only {
            // A destroy needs only to know what is still there.
            _ if mode == Mode::Destroy => engine.existing(session.journal.state()).await?,
            // Only what the plan considers is read; the rest stands as recorded.
            Some(only) => {
                let state = session.journal.state();
                let mut observed = crate::plan::as_recorded(state);
                observed.extend(engine.refresh(state, Some(only), Some(&session.stack)).await?);
                observed
            }
            None => engine.refresh(session.journal.state(), None, Some(&session.stack)).await?,
        };
        let mut plan = derive(&mut session, &observed, mode, options, only.as_ref());
        plan.cutover = preflight(&engine, &plan, session.journal.state()).await;
        let advice = advise(&engine, &plan, session.journal.state()).await;
        plan.notices.extend(advice);
        (plan, options.keep_observed.then_some(observed))
    };
    plan.recovered = recovered;
    plan.moves = moves;
    ctx.console.out(&crate::render::render(&plan, format, ctx.color_out));
    refuse_problems(&plan)?;
    Ok(Planned { session, engine, plan, observed })
}

/// What AWS says a reviewer must know about the plan: each add-on whose
/// version the cluster's new Kubernetes version does not support. Asked only
/// when the plan changes a cluster's version; what cannot be asked is said.
async fn advise(engine: &Engine, plan: &Plan, state: &State) -> Vec<crate::plan::Notice> {
    use crate::plan::eks::{addon_checks, addon_notice};
    let Some(catalog) = engine.registry.catalog() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for check in addon_checks(plan, state) {
        match catalog.addon_versions(&check.addon, &check.kubernetes).await {
            Ok(supported) => out.extend(addon_notice(&check, &supported)),
            Err(e) => out.push(crate::plan::Notice {
                address: check.address.clone(),
                message: format!(
                    "could not ask AWS which {} versions Kubernetes {} supports: {e:#}",
                    check.addon, check.kubernetes
                ),
            }),
        }
    }
    out
}

/// What the reviewer of each rollout in the plan needs, read from AWS now: the
/// gate's alarms and their states, each target group's healthy targets by
/// zone (the runbook is the core's, `plan::runbook`). What cannot be read is
/// said, not fatal.
async fn preflight(engine: &Engine, plan: &Plan, state: &State) -> Vec<crate::plan::Runbook> {
    use crate::plan::runbook;
    let monitor = engine.registry.monitor();
    let mut out = Vec::new();
    for change in &plan.changes {
        let Some(asks) = runbook::asks(change) else {
            continue;
        };
        let alarms = match asks.alarms.is_empty() {
            true => Ok(Vec::new()),
            false => monitor.alarms(&asks.alarms).await.map_err(|e| format!("{e:#}")),
        };
        let mut health = BTreeMap::new();
        for arn in asks.groups {
            if let Ok(h) = monitor.target_health(&arn).await {
                health.insert(arn, h);
            }
        }
        out.extend(runbook::runbook(plan, change, state, &alarms, &health));
    }
    out
}

/// The plan from the stack, the state and what a refresh observed, its
/// protections (`prevent_destroy`) from the stack. The state in memory takes
/// what was observed (what apply resolves references from), and forgets what
/// is gone and no longer in the stack (saved by the next apply). No I/O.
pub fn derive(
    session: &mut Session,
    observed: &Observed,
    mode: Mode,
    options: &PlanOptions,
    only: Option<&BTreeSet<Address>>,
) -> Plan {
    if options.refresh && only.is_none() {
        forget_gone(session, observed);
    }
    let mut plan = match mode {
        Mode::Apply => crate::plan::plan_with(
            &session.stack,
            &session.graph,
            session.journal.state(),
            observed,
            options.noop_sides,
        ),
        Mode::Destroy => crate::plan::plan_destroy(session.journal.state(), observed),
    };
    if options.refresh {
        // Apply resolves references from state: from what exists now, as planned.
        session.journal.absorb(observed);
    } else {
        plan.drift.clear(); // nothing was read: nothing can have drifted
    }
    if let Some(only) = only {
        plan.retain(only);
    }
    if let (Mode::Apply, Some(found)) = (mode, &session.stack.inputs.lookups) {
        let (lookups, labels) = crate::plan::lookups(found, &session.journal.state().lookups);
        plan.lookups = lookups;
        for (id, label) in labels {
            plan.labels.entry(id).or_insert(label);
        }
    }
    plan.protect(&session.stack);
    if !options.cost {
        plan.cost = None;
    }
    plan
}

/// A plan with changes AWS cannot make (or protections it would break) is
/// refused.
pub fn refuse_problems(plan: &Plan) -> Result<(), Failure> {
    if plan.problems.is_empty() {
        return Ok(());
    }
    Err(Failure::new(
        format!("this plan cannot be carried out:\n  {}", plan.problems.join("\n  ")),
        Some("change the stack file so that AWS can make each change, then plan again"),
    ))
}
