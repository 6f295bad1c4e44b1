//! What the commands share: open a stack with its state under lock, refresh,
//! confirm, report. The commands in `cli/` stay thin.

use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::apply::journal::{Store, StoreError};
use crate::apply::{Engine, Journal, Outcome, Signal};
use crate::aws::Aws;
use crate::observe::{Observer, Retries};
use crate::plan::{Mode, Observed, Plan};
use crate::render::Format;
use crate::stack::graph::Graph;
use crate::stack::{self, Stack, StackErrors, StateConfig};
use crate::state::{Backend, LocalBackend, Lock, S3Backend, S3Place, StateError};
use crate::types::Address;
use crate::types::state::State;

/// What every command is given: the global flags and where progress goes.
#[derive(Clone)]
pub struct Context {
    /// `--strict`: the stack file's warnings are errors.
    pub strict: bool,
    /// `--var`, `--var-file`, `--env`, as given.
    pub inputs: InputArgs,
    /// Whether stdout and stderr take colour.
    pub color_out: bool,
    pub color_err: bool,
    pub observer: Arc<dyn Observer>,
    /// Counts the retries the observer hears of, for the summary.
    pub retries: Arc<Retries>,
}

/// Why a command failed; every failure exits 1.
#[derive(Debug)]
pub enum Failure {
    Invalid(StackErrors),
    Error {
        message: String,
        hint: Option<String>,
    },
    /// Stopped by a second Ctrl-C or SIGTERM: exit 130.
    Abandoned {
        message: String,
        hint: Option<String>,
    },
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Invalid(errors) => write!(f, "{errors}"),
            Failure::Error { message, .. } | Failure::Abandoned { message, .. } => {
                f.write_str(message)
            }
        }
    }
}

impl Failure {
    pub fn new(message: impl Into<String>, hint: Option<&str>) -> Failure {
        Failure::Error {
            message: message.into(),
            hint: hint.map(str::to_string),
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Failure {
        Failure::Error {
            message: format!("{e:#}"),
            hint: None,
        }
    }
}

impl From<StateError> for Failure {
    fn from(e: StateError) -> Failure {
        Failure::Error {
            hint: e.hint(),
            message: e.to_string(),
        }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        Failure::Error {
            hint: e.hint(),
            message: e.to_string(),
        }
    }
}

/// The flags that give a stack file its variables and environment.
#[derive(Debug, Clone, Default)]
pub struct InputArgs {
    pub vars: Vec<String>,
    pub var_files: Vec<PathBuf>,
    pub env: Option<String>,
    /// The values a saved plan recorded (those not sensitive), under every
    /// other source: `apply PLAN_FILE` needs only the sensitive ones again.
    pub saved: std::collections::BTreeMap<String, (stack::vars::Given, String)>,
}

/// Variable values and the environment, from (last wins) what a saved plan
/// recorded, `INFRA_VAR_NAME`, each `--var-file`, each `--var`.
pub fn inputs(args: &InputArgs) -> Result<stack::Inputs, Failure> {
    use stack::vars::Given;
    let mut values = args.saved.clone();
    let mut env: Vec<(String, String)> = std::env::vars()
        .filter_map(|(k, v)| Some((k.strip_prefix("INFRA_VAR_")?.to_string(), v)))
        .collect();
    env.sort();
    for (name, v) in env {
        let from = format!("INFRA_VAR_{name}");
        values.insert(name, (Given::Text(v), from));
    }
    for file in &args.var_files {
        let shown = file.display().to_string();
        let text = std::fs::read_to_string(file).map_err(|e| {
            Failure::new(
                format!("cannot read --var-file {shown}: {e}"),
                Some("check the path of the var file"),
            )
        })?;
        let options = marked_yaml::LoaderOptions::default().error_on_duplicate_keys(true);
        let root =
            marked_yaml::parse_yaml_with_options(0, &text, options).map_err(|e| match e {
                // A variable given twice in one file: which value was meant is
                // not for infra to guess (the stack file refuses the same).
                marked_yaml::LoadError::DuplicateKey(d) => {
                    let at = |s: &marked_yaml::Span| {
                        s.start()
                            .map(|m| format!("{shown}:{}:{}", m.line(), m.column()))
                            .unwrap_or(shown.clone())
                    };
                    Failure::new(
                        format!(
                            "{}: variable `{}` is given twice in this var file",
                            at(d.key.span()),
                            d.key.as_str()
                        ),
                        Some(&format!(
                            "it is given first at {}; keep one of the two",
                            at(d.prev_key.span())
                        )),
                    )
                }
                e => Failure::new(
                    format!("--var-file {shown}: {e}"),
                    Some("a var file is a YAML or JSON mapping of variable names to values"),
                ),
            })?;
        let Some(map) = root.as_mapping() else {
            return Err(Failure::new(
                format!("--var-file {shown}: not a mapping of variable names to values"),
                Some("write NAME: VALUE, one per line"),
            ));
        };
        for (k, v) in map.iter() {
            let at = k
                .span()
                .start()
                .map(|m| format!("{shown}:{}:{}", m.line(), m.column()))
                .unwrap_or(shown.clone());
            values.insert(
                k.as_str().to_string(),
                (Given::Value(stack::vars::to_json(v)), at),
            );
        }
    }
    for given in &args.vars {
        let Some((name, value)) = given.split_once('=') else {
            return Err(Failure::new(
                format!("--var {given}: expected NAME=VALUE"),
                Some("for example --var cidr=10.60.0.0/16"),
            ));
        };
        values.insert(
            name.trim().to_string(),
            (
                Given::Text(value.to_string()),
                format!("--var {}", name.trim()),
            ),
        );
    }
    Ok(stack::Inputs {
        values,
        env: args.env.clone(),
        stacks: Default::default(),
        lookups: None,
    })
}

/// The outputs of each stack the file's `stacks:` block names, read from
/// their states without their locks (what cannot be read is kept as why, for
/// the validator to report where the outputs are used).
async fn produced(
    ctx: &Context,
    text: &str,
    env: Option<&str>,
) -> std::collections::BTreeMap<String, Result<stack::vars::Produced, String>> {
    let mut out = std::collections::BTreeMap::new();
    let Ok(root) = marked_yaml::parse_yaml(0, text) else {
        return out;
    };
    let Some(written) = root.as_mapping() else {
        return out;
    };
    let top = stack::vars::for_environment(written, env);
    let region = top
        .get_node("region")
        .and_then(marked_yaml::Node::as_scalar)
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    for (name, place) in stack::vars::producers(&top) {
        let expected = crate::types::StackId::new(&name, env);
        let read = async {
            let config = match &place {
                Some(p) => state_place(p).map_err(|f| f.to_string())?,
                None => StateConfig::default(),
            };
            let mut backend = backend(ctx, &expected, &region, config)
                .await
                .map_err(|f| f.to_string())?;
            let state = load(&mut backend, &expected)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("there is no state at {}", backend.describe()))?;
            Ok::<_, String>(stack::vars::Produced {
                location: backend.describe(),
                outputs: state
                    .outputs
                    .into_iter()
                    .map(|(k, o)| (k, (o.value, o.sensitive)))
                    .collect(),
            })
        };
        out.insert(name, read.await);
    }
    out
}

/// Reads and validates a stack file. Warnings are printed to stderr, or, with
/// `--strict`, refused as errors.
pub async fn load_stack(ctx: &Context, file: &Path) -> Result<Stack, Failure> {
    let strict = ctx.strict;
    let name = file.display().to_string();
    let text = std::fs::read_to_string(file).map_err(|e| {
        Failure::new(
            format!("cannot read stack file {name}: {e}"),
            Some("check the path of the stack file"),
        )
    })?;
    let mut inputs = inputs(&ctx.inputs)?;
    inputs.stacks = produced(ctx, &text, inputs.env.as_deref()).await;
    let (stack, mut warnings) =
        stack::parse_with(&name, &text, &inputs).map_err(Failure::Invalid)?;
    if warnings.is_empty() {
        return Ok(stack);
    }
    if strict {
        warnings.iter_mut().for_each(|w| w.warning = false);
    }
    let report = StackErrors {
        file: stack.file.clone(),
        problems: warnings,
    };
    if strict {
        return Err(Failure::Invalid(report));
    }
    eprint!("{}", report.render(ctx.color_err));
    Ok(stack)
}

/// A validated stack with its state, locked for one operation.
pub struct Session {
    pub stack: Stack,
    pub graph: Graph,
    pub journal: Journal,
    pub lock: Lock,
}

/// Where the state is: `--state` (a path, or `s3://BUCKET/KEY`), else the stack
/// file's `state:` block, else `state/<stack>.json`.
pub fn state_config(stack: &Stack, state_override: Option<&Path>) -> Result<StateConfig, Failure> {
    let Some(given) = state_override else {
        return Ok(stack.state.clone());
    };
    let text = given.to_string_lossy();
    let mut config = state_place(&text).map_err(|f| match f {
        Failure::Error { message, hint } => Failure::Error {
            message: format!("--state {message}"),
            hint,
        },
        other => other,
    })?;
    // The stack's own S3 state keeps its region.
    if let (
        StateConfig::S3 {
            bucket,
            key,
            region,
            ..
        },
        StateConfig::S3 {
            bucket: b,
            key: k,
            region: r,
        },
    ) = (&mut config, &stack.state)
        && b == bucket
        && k == key
    {
        *region = r.clone();
    }
    Ok(config)
}

/// A state given as text: `s3://BUCKET/KEY` or a local path.
pub fn state_place(text: &str) -> Result<StateConfig, Failure> {
    let Some(rest) = text.strip_prefix("s3://") else {
        return Ok(StateConfig::Local {
            path: Some(text.to_string()),
        });
    };
    let Some((bucket, key)) = rest
        .split_once('/')
        .filter(|(b, k)| !b.is_empty() && !k.is_empty())
    else {
        return Err(Failure::new(
            format!("{text}: an S3 state is s3://BUCKET/KEY"),
            Some("for example s3://my-infra-state/stacks/platform.json"),
        ));
    };
    Ok(StateConfig::S3 {
        bucket: bucket.to_string(),
        key: key.to_string(),
        region: None,
    })
}

/// The backend a state configuration names (`state/NAME.json` or
/// `state/NAME.ENV.json` by default). Nothing is read yet.
pub async fn backend(
    ctx: &Context,
    stack: &crate::types::StackId,
    stack_region: &str,
    config: StateConfig,
) -> Result<Backend, Failure> {
    Ok(match config {
        StateConfig::Local { path } => Backend::Local(LocalBackend::new(path.map_or_else(
            || PathBuf::from(STATE_FOLDER).join(stack.state_file()),
            PathBuf::from,
        ))),
        StateConfig::S3 {
            bucket,
            key,
            region,
        } => {
            let region = region.unwrap_or_else(|| stack_region.to_string());
            let aws = Aws::connect(&region, ctx.observer.clone()).await;
            // The state bucket must be this account's: a bucket of that name
            // elsewhere is never read or written.
            let owner = aws.account().await?;
            Backend::S3(S3Backend::new(S3Place {
                clock: aws.clock.clone(),
                client: aws.s3,
                bucket,
                key,
                owner: Some(owner),
            }))
        }
    })
}

/// Where a stack's state is kept unless its file says otherwise.
const STATE_FOLDER: &str = "state";

/// Reads the state of stack `id`; `None` when there is none. An
/// environment's state left where an older infra kept it by default
/// (`state/NAME-ENV.json`, a name a stack `NAME-ENV` would also use) is
/// refused, naming where it goes: which of the two it is, only its owner
/// can say.
pub async fn load(
    backend: &mut Backend,
    id: &crate::types::StackId,
) -> Result<Option<State>, Failure> {
    let state = backend.load(id).await?;
    if state.is_some() {
        return Ok(state);
    }
    if let (Backend::Local(l), Some(legacy)) = (&*backend, id.legacy_state_file()) {
        let default = PathBuf::from(STATE_FOLDER).join(id.state_file());
        let old = PathBuf::from(STATE_FOLDER).join(&legacy);
        if l.path == default && old.exists() {
            return Err(Failure::new(
                format!(
                    "there is no state at {} for stack {id}, but {} is where infra kept it before a stack's identity was its name and environment",
                    default.display(),
                    old.display()
                ),
                Some(&format!(
                    "if {} is this stack's, move it (and its .backup) to {}, or pass --state {}; if it is the state of a stack named `{}` without an environment, leave it",
                    old.display(),
                    default.display(),
                    old.display(),
                    id.legacy_name()
                )),
            ));
        }
    }
    Ok(None)
}

/// Validates the stack and reads its state without taking the lock (a
/// read-only look that may run beside an apply); `None` when there is none.
pub async fn peek(
    ctx: &Context,
    file: &Path,
    state_override: Option<&Path>,
) -> Result<(Stack, Option<State>, String), Failure> {
    let mut stack = load_stack(ctx, file).await?;
    let config = state_config(&stack, state_override)?;
    let mut backend = backend(ctx, &stack.id(), &stack.region, config).await?;
    let state = load(&mut backend, &stack.id()).await?;
    if let Some(s) = &state {
        stack.keep_recorded_names(s);
    }
    Ok((stack, state, backend.describe()))
}

/// Validates the stack (before touching anything), takes the lock, reads the state.
pub async fn open(
    ctx: &Context,
    file: &Path,
    state_override: Option<&Path>,
    operation: &str,
) -> Result<Session, Failure> {
    let stack = load_stack(ctx, file).await?;
    let graph = Graph::build(&stack);
    let config = state_config(&stack, state_override)?;
    let id = stack.id();
    let mut backend = backend(ctx, &id, &stack.region, config).await?;
    let lock = backend.lock(operation).await?;
    eprintln!("state: {}; {}", backend.describe(), lock.describe());
    let loaded = load(&mut backend, &id).await?;
    let state = loaded.unwrap_or_else(|| State::of(&id));
    let mut session = Session {
        stack,
        graph,
        journal: Journal::new(Box::new(backend), state),
        lock,
    };
    keep_recorded_names(&mut session);
    Ok(session)
}

/// The names infra made up for resources, given way to those state
/// recorded (`Stack::keep_recorded_names`). Names are no edges: the graph
/// stands.
fn keep_recorded_names(session: &mut Session) {
    let Session { stack, journal, .. } = session;
    stack.keep_recorded_names(journal.state());
}

/// The providers of the stack's region, once these credentials are known to act
/// in the account and region the state belongs to (a new state records them).
/// Nothing is read from AWS before.
pub async fn connect(ctx: &Context, session: &mut Session) -> Result<Engine, Failure> {
    let location = session.journal.location().to_string();
    engine_for(
        ctx,
        &session.stack.region,
        session.journal.state_mut(),
        &location,
    )
    .await
}

/// An engine that only reads: the same checks as `connect` (these credentials
/// act in the state's account and region), on a copy of the state.
pub async fn reader(
    ctx: &Context,
    stack: &Stack,
    state: &State,
    location: &str,
) -> Result<Engine, Failure> {
    engine_for(ctx, &stack.region, &mut state.clone(), location).await
}

/// The providers of a region, once its credentials are known to act in the
/// account and region `state` belongs to (given both when it names neither).
async fn engine_for(
    ctx: &Context,
    region: &str,
    state: &mut State,
    location: &str,
) -> Result<Engine, Failure> {
    let aws = Aws::connect(region, ctx.observer.clone()).await;
    let account = aws.account().await?;
    belongs(state, location, &account, region)?;
    Ok(Engine::new(crate::aws::registry(aws), ctx.observer.clone()))
}

/// Whether a state is this account's and this region's; a state that names
/// neither yet is given both.
fn belongs(state: &mut State, location: &str, account: &str, region: &str) -> Result<(), Failure> {
    if let Some(theirs) = state.account.as_deref().filter(|a| *a != account) {
        return Err(Failure::new(
            format!(
                "state {location} belongs to AWS account {theirs}; these credentials act in account {account}: nothing was read or changed"
            ),
            Some(
                "use credentials (a profile) of that account, or --state for this account's own state",
            ),
        ));
    }
    if let Some(theirs) = state.region.as_deref().filter(|r| *r != region) {
        return Err(Failure::new(
            format!(
                "state {location} was made in region {theirs}; the stack file says region {region}: nothing was read or changed"
            ),
            Some("put `region:` back, or --state for a state of this region"),
        ));
    }
    state.account.get_or_insert_with(|| account.to_string());
    state.region.get_or_insert_with(|| region.to_string());
    Ok(())
}

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
    let mut d = stack::diag::Diagnostics::new(&stack.file, &stack.text);
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
    session.stack = session
        .stack
        .with_lookups(found)
        .map_err(Failure::Invalid)?;
    keep_recorded_names(session);
    session.graph = Graph::build(&session.stack);
    Ok(())
}

/// Refreshes everything in state. Resources that are gone and no longer in the
/// stack are dropped from the state in memory (saved by the next apply).
pub async fn refresh(engine: &Engine, session: &mut Session) -> Result<Observed, Failure> {
    let observed = engine
        .refresh(session.journal.state(), None, Some(&session.stack))
        .await?;
    forget_gone(session, &observed);
    Ok(observed)
}

/// Drops from the state in memory what is gone and no longer in the stack.
fn forget_gone(session: &mut Session, observed: &Observed) {
    let gone: Vec<_> = observed
        .iter()
        .filter(|(a, o)| o.is_none() && !session.stack.resources.contains_key(a))
        .map(|(a, _)| a.clone())
        .collect();
    for a in gone {
        tracing::info!("{a} no longer exists and is no longer in the stack; forgetting it");
        session.journal.state_mut().resources.remove(&a);
    }
}

/// Takes what a refresh read into the state's attributes (in memory), keeping
/// what only state holds (`force_destroy`): what apply resolves references from.
pub fn absorb(state: &mut State, observed: &Observed) {
    for (a, seen) in observed {
        let (Some(attrs), Some(r)) = (seen, state.resources.get_mut(a)) else {
            continue;
        };
        let kept = std::mem::replace(&mut r.attributes, attrs.clone());
        if let Some(schema) = crate::types::schema(&a.ty) {
            schema.keep_local(&mut r.attributes, &kept);
        }
    }
}

/// Asks for `yes` on a terminal; refuses without one unless `--auto-approve`.
pub fn confirm(what: &str, auto_approve: bool) -> Result<(), Failure> {
    if auto_approve {
        return Ok(());
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(Failure::new(
            format!("refusing to {what} without confirmation: standard input is not a terminal"),
            Some("review the plan, then run again with --auto-approve"),
        ));
    }
    eprint!("\nDo you want to {what}? Only 'yes' will be accepted: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(anyhow::Error::from)?;
    if answer.trim() == "yes" {
        Ok(())
    } else {
        Err(Failure::new(format!("{what} cancelled"), None))
    }
}

/// Turns the first Ctrl-C or SIGTERM into `Signal::Stop` (start no more steps)
/// and the second into `Signal::Abandon` (drop the ones under way).
async fn signals(stop: std::sync::Arc<tokio::sync::watch::Sender<Signal>>) {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    for level in [Signal::Stop, Signal::Abandon] {
        #[cfg(unix)]
        let terminated = async {
            match term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let terminated = std::future::pending::<()>();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminated => {}
        }
        let _ = stop.send(level);
    }
}

/// The end summary; `Err` when anything failed, was skipped or interrupted.
/// `retries`: how many AWS calls were sent again.
pub fn report(verb: &str, outcome: &Outcome, retries: u64) -> Result<(), Failure> {
    let status = if outcome.ok() { "complete" } else { "failed" };
    sayln!(
        "\n{verb} {status}: {} done, {} failed, {} skipped.",
        outcome.done.len(),
        outcome.failed.len(),
        outcome.skipped.len()
    );
    for (what, why) in &outcome.failed {
        sayln!("  failed: {what}: {why}");
    }
    for what in &outcome.skipped {
        sayln!("  skipped: {what}");
    }
    for what in &outcome.abandoned {
        sayln!("  abandoned: {what}");
    }
    if retries > 0 {
        sayln!("AWS calls retried after throttling or transient errors: {retries}.");
    }
    if outcome.ok() {
        Ok(())
    } else if !outcome.abandoned.is_empty() {
        Err(Failure::Abandoned {
            message: format!(
                "{verb} abandoned by a second interrupt: {} step{} under way dropped",
                outcome.abandoned.len(),
                if outcome.abandoned.len() == 1 { "" } else { "s" }
            ),
            hint: Some(
                "what AWS accepted is marked in state (pending or an intent); run it again to wait for it and finish".into(),
            ),
        })
    } else if let Some(why) = &outcome.stale {
        Err(Failure::new(
            format!("{verb} stopped: {why}"),
            Some(
                "another run wrote this state since this one read it (its lock was forced or taken over); nothing was overwritten. Plan again to see where things stand",
            ),
        ))
    } else if outcome.interrupted {
        Err(Failure::new(
            format!("{verb} interrupted"),
            Some("state holds everything that was done; run it again to finish"),
        ))
    } else {
        Err(Failure::new(
            format!("{verb} failed"),
            Some("fix the errors above and run it again; what was done is in state"),
        ))
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
    session: &mut Session,
    options: &PlanOptions,
) -> Result<Option<BTreeSet<Address>>, Failure> {
    if options.targets.is_empty() {
        return Ok(None);
    }
    let mut addresses = Vec::new();
    for t in &options.targets {
        let a = Address::parse(t).ok_or_else(|| {
            Failure::new(
                format!("--target {t}: not an address"),
                Some("addresses are TYPE.NAME, for example target_group.eks"),
            )
        })?;
        let known = session.stack.resources.contains_key(&a)
            || session.journal.state().resources.contains_key(&a);
        if !known {
            let names: Vec<String> = session
                .stack
                .resources
                .keys()
                .map(|k| k.to_string())
                .collect();
            let hint = crate::stack::diag::did_you_mean(t, names.iter().map(String::as_str));
            return Err(Failure::Error {
                message: format!("--target {t}: no such resource in the stack file or state"),
                hint,
            });
        }
        addresses.push(a);
    }
    let closure = crate::plan::target_closure(&session.stack, &addresses);
    eprintln!(
        "note: a targeted plan: only {} and what {} depend on ({} resources); the rest of the stack is not considered",
        options.targets.join(", "),
        if addresses.len() == 1 { "it" } else { "they" },
        closure.len()
    );
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
    operation: &str,
    mode: Mode,
    format: Format,
    options: &PlanOptions,
) -> Result<Planned, Failure> {
    let mut session = open(ctx, file, state, operation).await?;
    let only = targets(&mut session, options)?;
    let engine = if !options.refresh && mode == Mode::Apply && operation == "plan" {
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
    let recovered = engine
        .recover(&session.stack, session.journal.state_mut())
        .await?;
    let (mut plan, observed) = if !options.refresh {
        // What state recorded stands for what exists: moved out for the plan
        // (and back after it), not copied.
        let observed: Observed = session
            .journal
            .state_mut()
            .resources
            .iter_mut()
            .map(|(a, r)| (a.clone(), Some(std::mem::take(&mut r.attributes))))
            .collect();
        let plan = derive(&mut session, &observed, mode, options, only.as_ref());
        let kept = options.keep_observed.then(|| observed.clone());
        let state = session.journal.state_mut();
        for (a, seen) in observed {
            if let (Some(attrs), Some(r)) = (seen, state.resources.get_mut(&a)) {
                r.attributes = attrs;
            }
        }
        (plan, kept)
    } else {
        let observed = match &only {
            // A destroy needs only to know what is still there.
            _ if mode == Mode::Destroy => engine.existing(session.journal.state()).await?,
            // Only what the plan considers is read; the rest stands as recorded.
            Some(only) => {
                let state = session.journal.state();
                let mut observed = crate::plan::as_recorded(state);
                observed.extend(
                    engine
                        .refresh(state, Some(only), Some(&session.stack))
                        .await?,
                );
                observed
            }
            None => {
                engine
                    .refresh(session.journal.state(), None, Some(&session.stack))
                    .await?
            }
        };
        let mut plan = derive(&mut session, &observed, mode, options, only.as_ref());
        plan.cutover = preflight(&engine, &plan, session.journal.state()).await;
        let advice = advise(&engine, &plan, session.journal.state()).await;
        plan.notices.extend(advice);
        (plan, options.keep_observed.then_some(observed))
    };
    plan.recovered = recovered;
    say!("{}", crate::render::render(&plan, format, ctx.color_out));
    refuse_problems(&plan)?;
    Ok(Planned {
        session,
        engine,
        plan,
        observed,
    })
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
        match catalog
            .addon_versions(&check.addon, &check.kubernetes)
            .await
        {
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
/// zone, deregistration delay and stickiness, and the command that puts the
/// weights back by hand. What cannot be read is said, not fatal.
async fn preflight(engine: &Engine, plan: &Plan, state: &State) -> Vec<crate::plan::Runbook> {
    use crate::plan::rollout::{self, Settings};
    use crate::plan::{Readiness, Runbook};
    let monitor = engine.registry.monitor();
    let mut out = Vec::new();
    for change in &plan.changes {
        let (Some(view), Some(before), Some(after)) =
            (&change.rollout, &change.before, &change.after)
        else {
            continue;
        };
        let settings = Settings::read(after.get("rollout").unwrap_or(&serde_json::Value::Null));
        let known: Vec<String> = settings
            .alarms
            .iter()
            .filter(|a| crate::types::reference::is_known(&serde_json::Value::String((*a).clone())))
            .cloned()
            .collect();
        let states = match known.is_empty() {
            true => Ok(Vec::new()),
            false => monitor.alarms(&known).await,
        };
        let alarms = settings
            .alarms
            .iter()
            .map(|name| {
                let state = match &states {
                    _ if !known.contains(name) => "made by this apply".to_string(),
                    Err(e) => format!("could not be read: {e:#}"),
                    Ok(found) => found
                        .iter()
                        .find(|(n, _)| n == name)
                        .map_or("does not exist".to_string(), |(_, s)| match s {
                            crate::provider::AlarmState::Ok => "OK".to_string(),
                            crate::provider::AlarmState::Alarm => "ALARM".to_string(),
                            crate::provider::AlarmState::InsufficientData => {
                                "INSUFFICIENT_DATA: the gate cannot judge it yet and blocks (allow_insufficient_data: true lets it through)".to_string()
                            }
                        }),
                };
                (name.clone(), state)
            })
            .collect();
        let now = rollout::weights(before.get("forward"));
        let to = rollout::weights(after.get("forward"));
        let mut groups = Vec::new();
        for arn in now
            .keys()
            .chain(to.keys().filter(|k| !now.contains_key(*k)))
        {
            if !arn.starts_with("arn:") {
                continue; // made by this apply
            }
            let recorded = state
                .resources
                .values()
                .find(|r| r.attributes.get("arn").and_then(serde_json::Value::as_str) == Some(arn))
                .map(|r| &r.attributes);
            let mut readiness = Readiness {
                group: plan.label(&serde_json::Value::String(arn.clone())),
                share_now: rollout::share(&now, arn),
                share_after: rollout::share(&to, arn),
                healthy: 0,
                targets: 0,
                zones: Default::default(),
                deregistration_delay_seconds: recorded
                    .and_then(|a| a.get("deregistration_delay_seconds"))
                    .and_then(serde_json::Value::as_i64),
                stickiness: recorded
                    .and_then(|a| a.get("stickiness"))
                    .filter(|s| s.get("enabled").and_then(serde_json::Value::as_bool) == Some(true))
                    .map_or("off".to_string(), |s| {
                        format!(
                            "{} for {} s",
                            s.get("type")
                                .and_then(serde_json::Value::as_str)
                                .unwrap_or("lb_cookie"),
                            s.get("duration_seconds")
                                .and_then(serde_json::Value::as_i64)
                                .unwrap_or(0)
                        )
                    }),
            };
            if let Ok(health) = monitor.target_health(arn).await {
                for t in &health {
                    let ok = usize::from(t.state == crate::provider::TargetState::Healthy);
                    readiness.targets += 1;
                    readiness.healthy += ok;
                    if let Some(z) = &t.zone {
                        let e = readiness.zones.entry(z.clone()).or_default();
                        e.0 += ok;
                        e.1 += 1;
                    }
                }
            }
            groups.push(readiness);
        }
        let id = state
            .resources
            .get(&change.address)
            .map_or("ARN", |r| r.id.as_str());
        out.push(Runbook {
            address: change.address.clone(),
            alarms,
            groups,
            revert: rollout::manual_revert(
                &change.address.ty,
                id,
                &view.origin,
                after.get("stickiness"),
            ),
        });
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
        absorb(session.journal.state_mut(), observed);
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
        format!(
            "this plan cannot be carried out:\n  {}",
            plan.problems.join("\n  ")
        ),
        Some("change the stack file so that AWS can make each change, then plan again"),
    ))
}

/// Confirms and executes a plan, then reports; with nothing to do, saves what the
/// refresh learnt (resources gone for good). Ctrl-C while it runs stops the
/// starting of steps. Returns the state as it ends.
pub async fn carry_out(
    ctx: &Context,
    session: Session,
    mut engine: Engine,
    plan: Plan,
    mode: Mode,
    auto_approve: bool,
    parallelism: usize,
) -> Result<State, Failure> {
    let journal = session.journal;
    if plan.has_changes() {
        let (question, verb) = match mode {
            Mode::Apply => ("apply these changes", "Apply"),
            Mode::Destroy => ("destroy everything in this stack", "Destroy"),
        };
        confirm(question, auto_approve)?;
        let (stop, interrupt) = tokio::sync::watch::channel(Signal::Go);
        let stop = std::sync::Arc::new(stop);
        let signals = tokio::spawn(signals(stop.clone()));
        // A lock lost while the run goes on (taken over, or its lease ended
        // unrenewed) stops the starting of steps, as a first Ctrl-C does.
        let mut lost = session.lock.lost();
        let watcher = tokio::spawn(async move {
            if lost.wait_for(Option::is_some).await.is_ok() {
                stop.send_if_modified(|s| {
                    let go = *s == Signal::Go;
                    if go {
                        *s = Signal::Stop;
                    }
                    go
                });
            }
        });
        engine.interrupt = interrupt;
        let stack = match mode {
            Mode::Apply => Some((&session.stack, &session.graph)),
            Mode::Destroy => None,
        };
        let outcome = engine.execute(&plan, stack, &journal, parallelism).await;
        signals.abort();
        watcher.abort();
        let lost = session.lock.lost().borrow().clone();
        let reported = report(verb, &outcome, ctx.retries.count());
        if let Some(why) = lost {
            return Err(Failure::new(
                format!("{verb} stopped: the lock was lost: {why}"),
                Some(
                    "no step was started after; state holds what was done. Plan again to see where things stand",
                ),
            ));
        }
        reported?;
    } else if journal.exists().await || !journal.read(|s| s.resources.is_empty()).await {
        journal.save().await?;
    }
    // The outputs as this apply leaves them (none after a destroy), and what
    // its lookups found, written only when they changed.
    let outputs = match mode {
        Mode::Apply => {
            journal
                .read(|s| crate::plan::outputs(&session.stack, s))
                .await
        }
        Mode::Destroy => Default::default(),
    };
    // What the lookups found, so that the next plan shows only what changed.
    let lookups = match mode {
        Mode::Apply => session.stack.inputs.lookups.clone().unwrap_or_default(),
        Mode::Destroy => Default::default(),
    };
    // Where each resource holds a sensitive value, and what the stack sets
    // of it, as the stack says now: a resource the plan considered and had
    // nothing to change keeps both current too (a targeted plan leaves the
    // others as they were: what they no longer set is still to be removed).
    let considered: BTreeSet<&Address> = plan.changes.iter().map(|c| &c.address).collect();
    let marks: Vec<(Address, Vec<String>, Vec<String>)> = match mode {
        Mode::Apply => session
            .stack
            .resources
            .iter()
            .filter(|(a, _)| considered.contains(a))
            .map(|(a, r)| {
                (
                    a.clone(),
                    r.sensitive.iter().cloned().collect(),
                    crate::plan::managed(r),
                )
            })
            .collect(),
        Mode::Destroy => Vec::new(),
    };
    let stale_marks = |s: &State| {
        marks.iter().any(|(a, m, set)| {
            s.resources
                .get(a)
                .is_some_and(|r| r.sensitive != *m || r.managed.as_ref() != Some(set))
        })
    };
    if journal
        .read(|s| s.outputs != outputs || s.lookups != lookups || stale_marks(s))
        .await
    {
        journal
            .write(|s| {
                s.outputs = outputs;
                s.lookups = lookups;
                for (a, m, set) in marks {
                    if let Some(r) = s.resources.get_mut(&a) {
                        r.sensitive = m;
                        r.managed = Some(set);
                    }
                }
            })
            .await?;
    }
    drop(session.lock);
    Ok(journal.into_state())
}
