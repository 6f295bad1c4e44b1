//! What the commands share: open a stack with its state under lock
//! (`session`), look up, refresh and plan (`plan`), confirm, carry out and
//! report (`run`), and apply a saved plan (`saved`). They orchestrate: the
//! plan is the core's, AWS is reached through the engine, state is edited
//! through the journal, and what the user reads goes through a `Console`
//! (the terminal's is `cli::view`). The commands in `cli/` stay thin.

mod plan;
mod run;
mod saved;
mod session;

use std::sync::Arc;

use crate::apply::journal::StoreError;
use crate::observe::{Observer, Retries};
use crate::stack::StackErrors;
use crate::state::StateError;

pub use plan::{
    PlanOptions, Planned, derive, look_up, plan, put_found, refresh, refuse_problems, targets,
};
pub use run::{carry_out, confirm, report};
pub use saved::apply_saved;
pub use session::{
    InputArgs, Session, backend, connect, inputs, load, load_stack, open, peek, read_beside,
    reader, state_config, state_place,
};

/// Where a command speaks to its user: results on standard output, notes on
/// standard error, a question answered on a terminal.
pub trait Console: Send + Sync {
    /// A result (a plan, a list) on standard output, as written.
    fn out(&self, text: &str);
    /// A note, a warning or an error on standard error, as written.
    fn err(&self, text: &str);
    /// A result that is one line.
    fn outln(&self, line: &str) {
        self.out(&format!("{line}\n"));
    }
    /// A note that is one line.
    fn note(&self, line: &str) {
        self.err(&format!("{line}\n"));
    }
    /// Asks a question and reads the answer's line; `None` when there is no
    /// terminal to ask on.
    fn ask(&self, question: &str) -> Option<String>;
}

/// The command a lock is taken for, as its holder is shown to others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Plan,
    Apply,
    Destroy,
    Refresh,
    Import,
    StateList,
    StateShow,
    StateRm,
    StateMv,
    RolloutAck,
}

impl Command {
    pub fn as_str(self) -> &'static str {
        match self {
            Command::Plan => "plan",
            Command::Apply => "apply",
            Command::Destroy => "destroy",
            Command::Refresh => "refresh",
            Command::Import => "import",
            Command::StateList => "state list",
            Command::StateShow => "state show",
            Command::StateRm => "state rm",
            Command::StateMv => "state mv",
            Command::RolloutAck => "rollout ack",
        }
    }
}

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
    /// Where the command speaks to its user.
    pub console: Arc<dyn Console>,
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
        Failure::Error { message: message.into(), hint: hint.map(str::to_string) }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Failure {
        Failure::Error { message: format!("{e:#}"), hint: None }
    }
}

impl From<StateError> for Failure {
    fn from(e: StateError) -> Failure {
        Failure::Error { hint: e.hint(), message: e.to_string() }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        Failure::Error { hint: e.hint(), message: e.to_string() }
    }
}
