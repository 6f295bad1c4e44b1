//! The command line: parse flags, run one thin command, map failures to exit codes.

mod apply;
mod drift;
mod graph;
mod output;
mod plan;
mod rollout;
mod state;
mod tools;
mod validate;
mod view;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use crate::observe::{Observer, Retries, Tee};
use crate::ops::{Context, Failure};
use crate::render::Format;

#[derive(Debug, Parser)]
#[command(
    name = "infra",
    version = crate::VERSION,
    about = "Infrastructure as code for a live service moving onto EKS"
)]
pub struct Cli {
    /// More logs on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Also log what the AWS SDK and its HTTP stack send and receive (debug
    /// and trace, requests and answers with their bodies): they hold what
    /// the stack sends, sensitive values too. Off unless given, whatever
    /// RUST_LOG says.
    #[arg(long, global = true)]
    log_wire: bool,
    /// Treat warnings about the stack file (the field-notes lints) as errors.
    #[arg(long, global = true)]
    strict: bool,
    /// A value for a variable of the stack file, NAME=VALUE (repeatable); it
    /// wins over --var-file and INFRA_VAR_NAME.
    #[arg(long = "var", value_name = "NAME=VALUE", global = true)]
    vars: Vec<String>,
    /// A YAML or JSON file of variable values, NAME: VALUE (repeatable; a later
    /// file wins).
    #[arg(long = "var-file", value_name = "FILE", global = true)]
    var_files: Vec<PathBuf>,
    /// The environment to plan: the stack file's `environments:` overlay of
    /// that name is merged over it, and the stack's name, state and tags carry it.
    #[arg(long, value_name = "NAME", global = true)]
    env: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a stack file; touches neither AWS nor state.
    Validate { file: PathBuf },
    /// Refresh what exists and show what would change.
    Plan {
        file: PathBuf,
        /// Exit 0 when there are no changes, 2 when there are, 1 on error.
        #[arg(long)]
        detailed_exitcode: bool,
        #[command(flatten)]
        state: StateArgs,
        /// Also save the plan to FILE, for `infra apply FILE` and `infra show FILE`.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// text (Terraform-like), markdown (for a pull-request comment) or json.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[command(flatten)]
        plan: PlanArgs,
    },
    /// Render a saved plan.
    Show {
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Exit 0 when the plan has no changes, 2 when it has.
        #[arg(long)]
        detailed_exitcode: bool,
        /// Leave out what the stack costs a month before and after the plan.
        #[arg(long)]
        no_cost: bool,
    },
    /// Plan, confirm, then carry the plan out; or carry out a saved plan
    /// (`infra apply PLAN_FILE STACK_FILE`).
    Apply {
        /// The stack file, or a saved plan (`plan --out`).
        file: PathBuf,
        /// With a saved plan: the stack file it was made from (its state is
        /// the stack file's, or --state).
        stack: Option<PathBuf>,
        #[command(flatten)]
        run: RunArgs,
        #[command(flatten)]
        plan: PlanArgs,
    },
    /// Delete everything in state, in reverse dependency order.
    Destroy {
        file: PathBuf,
        #[command(flatten)]
        run: RunArgs,
        /// Ask AWS which resources still exist first (the default, one call per
        /// type where the API allows); --refresh=false deletes what state
        /// records without reading AWS (what is gone already counts as deleted).
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
        refresh: bool,
        /// Destroy only this resource (or module, module.NAME) and what
        /// depends on it (repeatable).
        #[arg(long = "target", value_name = "ADDRESS")]
        targets: Vec<String>,
    },
    /// Serve the Language Server Protocol on stdin and stdout: diagnostics,
    /// hover, completion, definitions, references, symbols and fixes for
    /// stack files (docs/editor.md). No AWS call, no state read.
    Lsp,
    /// Print the dependency graph: Graphviz DOT, or a Mermaid flowchart.
    Graph {
        file: PathBuf,
        /// dot (Graphviz), or mermaid (a flowchart GitHub draws).
        #[arg(long, value_enum, default_value_t = graph::Format::Dot)]
        format: graph::Format,
    },
    /// Print the stack's outputs as the last apply recorded them (read from
    /// state without its lock, no AWS call); sensitive ones read (sensitive).
    Output {
        file: PathBuf,
        /// Print only this output's value (a string without quotes).
        name: Option<String>,
        #[command(flatten)]
        state: StateArgs,
        /// Print JSON: each output's value and whether it is sensitive.
        #[arg(long)]
        json: bool,
    },
    /// Read AWS and list what changed outside infra since the last apply:
    /// nothing is written, and the state is read without its lock. Exit 0 when
    /// nothing drifted, 2 when something did, 1 on error.
    Drift {
        file: PathBuf,
        #[command(flatten)]
        state: StateArgs,
        /// text, markdown (for a pull-request comment or an issue) or json.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Leave out one attribute (ADDRESS.ATTR) or a whole resource
        /// (ADDRESS); repeatable.
        #[arg(long, value_name = "ADDRESS[.ATTR]")]
        ignore: Vec<String>,
    },
    /// Read everything in state from AWS and record it; forget what is gone.
    Refresh {
        file: PathBuf,
        #[command(flatten)]
        state: StateArgs,
    },
    /// Read or edit the state by hand.
    #[command(subcommand)]
    State(StateCommand),
    /// What the rollouts of the stack's listeners and rules did, as state
    /// recorded them.
    #[command(subcommand)]
    Rollout(RolloutCommand),
    /// Read an existing resource into state under an address of the stack file.
    Import {
        /// TYPE.NAME, as in the stack file.
        address: String,
        /// The resource's AWS id: vpc-…, a name, CLUSTER:NODEGROUP, or an ARN.
        id: String,
        file: PathBuf,
        #[command(flatten)]
        state: StateArgs,
        /// Import it even though its owner tags name another stack or
        /// environment (whose state must no longer hold it: either's destroy
        /// would delete it).
        #[arg(long)]
        take_over: bool,
    },
    /// Print the JSON Schema (draft 2020-12) of a stack file, for editors and
    /// review tools; touches neither AWS nor state.
    Schema,
    /// Print a completion script for a shell (source it, or put it where the
    /// shell looks for completions).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page of infra, or write one page per command to a folder.
    Man {
        /// Write infra.1, infra-plan.1, ... into DIR instead.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
    /// Remove the lock with this id, left by a run that is gone.
    ForceUnlock {
        lock_id: String,
        file: PathBuf,
        #[command(flatten)]
        state: StateArgs,
        /// Do not ask for confirmation.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
enum StateCommand {
    /// Every address in state, with its AWS id.
    List {
        file: PathBuf,
        #[command(flatten)]
        state: StateArgs,
    },
    /// One resource's state, as JSON.
    Show {
        address: String,
        file: PathBuf,
        #[command(flatten)]
        state: StateArgs,
    },
    /// Forget a resource without deleting it.
    Rm {
        address: String,
        file: PathBuf,
        #[command(flatten)]
        state: StateArgs,
    },
    /// Rename a resource in state (after renaming it in the stack file).
    Mv {
        from: String,
        to: String,
        file: PathBuf,
        #[command(flatten)]
        state: StateArgs,
    },
}

#[derive(Debug, Subcommand)]
enum RolloutCommand {
    /// The recorded rollout of each listener and rule: its steps, their times and
    /// traffic shares, and how it ended. Reads the state only (no lock, no other
    /// AWS call), so it may run beside an apply.
    Status {
        file: PathBuf,
        #[command(flatten)]
        state: StateArgs,
    },
    /// Acknowledge what the last rollout of a listener or rule left
    /// unfinished (a revert that failed or was cut short, a bake cut short),
    /// once its weights are checked by hand: it then no longer blocks a step
    /// forward. Writes state under the lock; no AWS call.
    Ack {
        /// The listener or rule, TYPE.NAME.
        address: String,
        file: PathBuf,
        #[command(flatten)]
        state: StateArgs,
    },
}

#[derive(Debug, Args)]
struct StateArgs {
    /// Use this state instead of the stack file's `state:` (or state/<stack>.json):
    /// a local path, or s3://BUCKET/KEY.
    #[arg(long, value_name = "PATH|s3://BUCKET/KEY")]
    state: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct PlanArgs {
    /// Read what exists from AWS first (the default); --refresh=false plans from
    /// state alone.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    refresh: bool,
    /// Plan only this resource (or module, module.NAME) and what it
    /// depends on (repeatable).
    #[arg(long = "target", value_name = "ADDRESS")]
    targets: Vec<String>,
    /// Leave out what the stack costs a month before and after the plan.
    #[arg(long)]
    no_cost: bool,
}

impl PlanArgs {
    fn options(&self) -> crate::ops::PlanOptions {
        crate::ops::PlanOptions {
            refresh: self.refresh,
            targets: self.targets.clone(),
            noop_sides: true,
            keep_observed: false,
            cost: !self.no_cost,
        }
    }
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Skip the interactive `yes`.
    #[arg(long)]
    auto_approve: bool,
    /// How many resource operations run at once.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=256))]
    parallelism: u16,
    #[command(flatten)]
    state: StateArgs,
}

/// Colour only on a terminal, and never with NO_COLOR set.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    view::init_logging(cli.verbose, cli.log_wire);
    let ctx = context(
        cli.strict,
        crate::ops::InputArgs {
            vars: cli.vars.clone(),
            var_files: cli.var_files.clone(),
            env: cli.env.clone(),
            saved: Default::default(),
        },
    );
    match run(&ctx, cli.command) {
        Ok(code) => code,
        Err(failure) => view::failed(&ctx, failure),
    }
}

/// What every command is given: `--strict`, colour, and the observers of
/// progress (the terminal, the retry count, and the timings when
/// `INFRA_TIMINGS` names a file).
fn context(strict: bool, inputs: crate::ops::InputArgs) -> Context {
    let retries = Arc::new(Retries::default());
    let mut observers: Vec<Arc<dyn Observer>> =
        vec![Arc::new(view::Terminal::default()), retries.clone()];
    if let Some(path) = std::env::var_os("INFRA_TIMINGS") {
        observers.push(Arc::new(view::Timings::new(path.into())));
    }
    Context {
        strict,
        inputs,
        color_out: view::color_out(),
        color_err: view::color_err(),
        console: Arc::new(view::Console),
        observer: Arc::new(Tee(observers)),
        retries,
    }
}

fn run(ctx: &Context, command: Command) -> Result<ExitCode, Failure> {
    match command {
        Command::Validate { file } => runtime()?.block_on(validate::exec(ctx, &file)),
        Command::Schema => tools::schema(),
        Command::Completions { shell } => tools::completions(shell),
        Command::Man { out_dir } => tools::man(out_dir.as_deref()),
        Command::Lsp => crate::lsp::serve().map(|()| ExitCode::SUCCESS).map_err(|e| {
            Failure::new(format!("infra lsp: {e}"), Some("the client must speak LSP on stdio"))
        }),
        Command::Graph { file, format } => runtime()?.block_on(graph::exec(ctx, &file, format)),
        Command::Output { file, name, state: s, json } => {
            runtime()?.block_on(output::exec(ctx, &file, name.as_deref(), s.state.as_deref(), json))
        }
        Command::Drift { file, state: s, format, ignore } => {
            runtime()?.block_on(drift::exec(ctx, &file, s.state.as_deref(), format, &ignore))
        }
        Command::Refresh { file, state: s } => {
            runtime()?.block_on(state::refresh(ctx, &file, s.state.as_deref()))
        }
        Command::State(StateCommand::List { file, state: s }) => {
            runtime()?.block_on(state::list(ctx, &file, s.state.as_deref()))
        }
        Command::State(StateCommand::Show { address, file, state: s }) => {
            runtime()?.block_on(state::show(ctx, &address, &file, s.state.as_deref()))
        }
        Command::State(StateCommand::Rm { address, file, state: s }) => {
            runtime()?.block_on(state::rm(ctx, &address, &file, s.state.as_deref()))
        }
        Command::State(StateCommand::Mv { from, to, file, state: s }) => {
            runtime()?.block_on(state::mv(ctx, &from, &to, &file, s.state.as_deref()))
        }
        Command::Rollout(RolloutCommand::Status { file, state: s }) => {
            runtime()?.block_on(rollout::status(ctx, &file, s.state.as_deref()))
        }
        Command::Rollout(RolloutCommand::Ack { address, file, state: s }) => {
            runtime()?.block_on(rollout::ack(ctx, &address, &file, s.state.as_deref()))
        }
        Command::Import { address, id, file, state: s, take_over } => runtime()?
            .block_on(state::import(ctx, &address, &id, &file, s.state.as_deref(), take_over)),
        Command::ForceUnlock { lock_id, file, state: s, force } => runtime()?
            .block_on(state::force_unlock(ctx, &lock_id, &file, s.state.as_deref(), force)),
        Command::Plan { file, detailed_exitcode, state, out, format, plan: p } => runtime()?
            .block_on(plan::exec(
                ctx,
                &file,
                state.state.as_deref(),
                detailed_exitcode,
                out.as_deref(),
                format,
                &p.options(),
            )),
        Command::Show { file, format, detailed_exitcode, no_cost } => {
            plan::show(ctx, &file, format, detailed_exitcode, no_cost)
        }
        Command::Apply { file, stack, run, plan: p } => {
            runtime()?.block_on(apply::apply(ctx, &file, stack.as_deref(), &run, &p.options()))
        }
        Command::Destroy { file, run, refresh, targets } => {
            runtime()?.block_on(apply::destroy(ctx, &file, &run, refresh, targets))
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // The SDK's futures are large, and a step nests several of them (a
        // rollout's revert inside its step): give workers room.
        .thread_stack_size(16 * 1024 * 1024)
        .build()
        .map_err(|e| Failure::new(format!("cannot start the async runtime: {e}"), None))
}
