//! A command's session: its inputs (variables, environment), the stack file
//! validated, where its state is, the state read under lock, and the engine
//! of credentials known to act in the state's account and region.

use std::path::{Path, PathBuf};

use super::{Command, Context, Failure};
use crate::apply::journal::Store as _;
use crate::apply::{Engine, Journal};
use crate::aws::Aws;
use crate::stack::graph::Graph;
use crate::stack::{self, Stack, StackErrors, StateConfig};
use crate::state::{Backend, LocalBackend, Lock, S3Backend, S3Place};
use crate::types::state::State;

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
            values.insert(k.as_str().to_string(), (Given::Value(stack::vars::to_json(v)), at));
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
            (Given::Text(value.to_string()), format!("--var {}", name.trim())),
        );
    }
    Ok(stack::Inputs { values, env: args.env.clone(), ..Default::default() })
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
            let mut backend =
                backend(ctx, &expected, &region, config).await.map_err(|f| f.to_string())?;
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

/// What `file(PATH)` and a module's `source` read: `PATH` relative to the
/// stack file's folder,
/// inside the stack file's repository (the nearest folder above it with a
/// `.git`, else its own folder), or why not.
pub fn read_beside(stack_file: &Path, path: &str) -> Result<String, String> {
    let folder =
        stack_file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let folder = folder.canonicalize().map_err(|e| format!("{e}"))?;
    let root = folder.ancestors().find(|a| a.join(".git").exists()).unwrap_or(&folder);
    if Path::new(path).is_absolute() {
        return Err("give a path relative to the stack file".into());
    }
    let full = folder.join(path).canonicalize().map_err(|e| format!("cannot read it: {e}"))?;
    if !full.starts_with(root) {
        return Err("it is outside the stack file's repository".into());
    }
    std::fs::read_to_string(&full).map_err(|e| format!("cannot read it: {e}"))
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
    stack::read_asked(&name, &text, &mut inputs, |path| read_beside(file, path));
    let (stack, mut warnings) =
        stack::parse_with(&name, &text, &inputs).map_err(Failure::Invalid)?;
    if warnings.is_empty() {
        return Ok(stack);
    }
    if strict {
        warnings.iter_mut().for_each(|w| w.warning = false);
    }
    let report = StackErrors { file: stack.file.clone(), problems: warnings };
    if strict {
        return Err(Failure::Invalid(report));
    }
    ctx.console.err(&report.render(ctx.color_err));
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
        Failure::Error { message, hint } => {
            Failure::Error { message: format!("--state {message}"), hint }
        }
        other => other,
    })?;
    // The stack's own S3 state keeps its region.
    if let (
        StateConfig::S3 { bucket, key, region, .. },
        StateConfig::S3 { bucket: b, key: k, region: r },
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
        return Ok(StateConfig::Local { path: Some(text.to_string()) });
    };
    let Some((bucket, key)) = rest.split_once('/').filter(|(b, k)| !b.is_empty() && !k.is_empty())
    else {
        return Err(Failure::new(
            format!("{text}: an S3 state is s3://BUCKET/KEY"),
            Some("for example s3://my-infra-state/stacks/platform.json"),
        ));
    };
    Ok(StateConfig::S3 { bucket: bucket.to_string(), key: key.to_string(), region: None })
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
        StateConfig::Local { path } => {
            Backend::Local(LocalBackend::new(path.map_or_else(
                || PathBuf::from(STATE_FOLDER).join(stack.state_file()),
                PathBuf::from,
            )))
        }
        StateConfig::S3 { bucket, key, region } => {
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
    command: Command,
) -> Result<Session, Failure> {
    let stack = load_stack(ctx, file).await?;
    let graph = Graph::build(&stack);
    let config = state_config(&stack, state_override)?;
    let id = stack.id();
    let mut backend = backend(ctx, &id, &stack.region, config).await?;
    let lock = backend.lock(command.as_str()).await?;
    if let Some(warning) = lock.takeover_warning() {
        ctx.console.note(&warning);
    }
    ctx.console.note(&format!("state: {}; {}", backend.describe(), lock.describe()));
    let loaded = load(&mut backend, &id).await?;
    let state = loaded.unwrap_or_else(|| State::of(&id));
    let mut session =
        Session { stack, graph, journal: Journal::new(Box::new(backend), state), lock };
    keep_recorded_names(&mut session);
    Ok(session)
}

/// The names infra made up for resources, given way to those state
/// recorded (`Stack::keep_recorded_names`). Names are no edges: the graph
/// stands.
pub(super) fn keep_recorded_names(session: &mut Session) {
    let Session { stack, journal, .. } = session;
    stack.keep_recorded_names(journal.state());
}

/// The providers of the stack's region, once these credentials are known to act
/// in the account and region the state belongs to (a new state records them).
/// Nothing is read from AWS before.
pub async fn connect(ctx: &Context, session: &mut Session) -> Result<Engine, Failure> {
    let region = session.stack.region.clone();
    let location = session.journal.location().to_string();
    let (engine, account) = engine_for(ctx, &region, session.journal.state(), &location).await?;
    session.journal.claim(&account, &region);
    Ok(engine)
}

/// An engine that only reads: the same checks as `connect` (these credentials
/// act in the state's account and region).
pub async fn reader(
    ctx: &Context,
    stack: &Stack,
    state: &State,
    location: &str,
) -> Result<Engine, Failure> {
    Ok(engine_for(ctx, &stack.region, state, location).await?.0)
}

/// The providers of a region, once its credentials are known to act in the
/// account and region `state` belongs to (when it names them), and the
/// account they act in.
async fn engine_for(
    ctx: &Context,
    region: &str,
    state: &State,
    location: &str,
) -> Result<(Engine, String), Failure> {
    let aws = Aws::connect(region, ctx.observer.clone()).await;
    let account = aws.account().await?;
    belongs(state, location, &account, region)?;
    let engine = Engine::new(crate::aws::registry(aws), ctx.observer.clone());
    Ok((engine, account))
}

/// Whether a state is this account's and this region's (a state that names
/// neither yet is anyone's).
fn belongs(state: &State, location: &str, account: &str, region: &str) -> Result<(), Failure> {
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
    Ok(())
}
