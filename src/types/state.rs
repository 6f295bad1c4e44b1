//! The state record: what `infra` knows it manages (resources with their ids
//! and attributes, intents, deposed objects, rollouts, outputs, what lookups
//! found), and how it is read from text. Pure: where a state is kept and how it
//! is written are the backends' (`src/state/`) and the journal's
//! (`src/apply/journal.rs`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::types::{Address, Operation};

/// 2: a stack's identity is its name and its environment (`env`); version 1
/// recorded `NAME-ENV` as the name, and is read as such (`Backend::load`).
/// Also new in 2: where each resource holds a sensitive value (`sensitive`),
/// and the attributes the stack set (`managed`).
pub const FORMAT_VERSION: u32 = 2;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct State {
    pub version: u32,
    /// Incremented on every write.
    pub serial: u64,
    /// Chosen at random when the state is created; never changes.
    pub lineage: String,
    /// The stack's name, and its environment: the identity whose state this
    /// is (`StackId`).
    pub stack: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// The AWS account and region its resources live in, recorded on first
    /// use: a run with other credentials or another `region:` is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub resources: BTreeMap<Address, ResourceState>,
    /// Mutating calls started and not seen to finish: written before the call,
    /// removed with its result. The next run resolves each before planning.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub intents: BTreeMap<Address, Intent>,
    /// The stack's outputs as the last apply resolved them: what `infra
    /// output` prints, read without the lock.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub outputs: BTreeMap<String, Output>,
    /// What the stack's lookups (`data:`) found at the last apply: a plan
    /// shows a lookup only when what it finds differs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub lookups: BTreeMap<Address, Map<String, Value>>,
}

/// One output of the stack, resolved.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Output {
    pub value: Value,
    /// It holds a sensitive attribute or variable: never printed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sensitive: bool,
}

/// A mutating call about to be made on a resource.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Intent {
    pub operation: Operation,
    /// The idempotency token passed to the API, where it takes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    pub since: String,
    /// What a create asked for (its `infra:*` tags and name find it again).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub attributes: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ResourceState {
    #[serde(rename = "type")]
    pub ty: String,
    /// The AWS id (or name, for buckets and repositories).
    pub id: String,
    /// The attributes last read back from AWS after apply.
    pub attributes: Map<String, Value>,
    /// What this resource needed to exist first (deleted after it).
    #[serde(default)]
    pub dependencies: Vec<Address>,
    /// What its deferred part (security group rules) referenced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rule_dependencies: Vec<Address>,
    /// The attributes the stack set at the last apply: one it no longer sets
    /// is removed in AWS (`schema::Removal`). `None` for a state of format 1,
    /// which did not record them (nothing is removed until an apply records
    /// them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed: Option<Vec<String>>,
    /// Where its attributes hold a sensitive value (JSON pointers: `/tags/api`,
    /// `/user_data`), as the stack said when it was last applied: what is
    /// there is never shown, whatever it is (`stack::sensitive`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensitive: Vec<String>,
    /// The previous objects of create-before-destroy replacements, until AWS
    /// says each is gone (a replacement may come while an older one is still
    /// here). Read from one object too, as states before this list wrote it.
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "one_or_many")]
    pub deposed: Vec<Deposed>,
    /// The last progressive traffic shift of this listener or rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<RolloutRecord>,
    /// An operation AWS accepted and has not finished: the next run waits for it
    /// instead of starting it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Pending>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Pending {
    /// `create`, `update` or `delete`.
    pub operation: Operation,
    pub since: String,
    /// How the operation ended when it ended in an error (AWS reported the
    /// update failed, or the wait timed out): the next plan says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

/// The time now as state records it (RFC 3339, to the second).
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl Pending {
    /// An operation of this phase, accepted now.
    pub fn new(operation: Operation) -> Pending {
        Pending { operation: operation.phase(), since: now(), failed: None }
    }
}

/// A list, or one item alone.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Deposed>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(Deposed),
        Many(Vec<Deposed>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => Vec::new(),
        Some(OneOrMany::One(d)) => vec![d],
        Some(OneOrMany::Many(v)) => v,
    })
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Deposed {
    pub id: String,
    pub attributes: Map<String, Value>,
}

/// What a progressive rollout did, step by step.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RolloutRecord {
    pub started: String,
    /// Weights by target group ARN before and as planned.
    pub from: BTreeMap<String, i64>,
    pub to: BTreeMap<String, i64>,
    pub steps: Vec<RolloutStep>,
    pub outcome: RolloutOutcome,
    /// When an operator acknowledged a failed revert (`infra rollout ack`):
    /// it no longer blocks a step forward.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged: Option<String>,
}

impl RolloutRecord {
    /// Stopped part of the way (interrupted, or killed while in progress): the
    /// next apply to the same weights goes on from there.
    pub fn unfinished(&self) -> bool {
        matches!(self.outcome, RolloutOutcome::InProgress | RolloutOutcome::Interrupted { .. })
    }

    /// A revert that was started and not seen to finish (its call failed, or
    /// the run died in it), not yet acknowledged: no step forward is taken
    /// until the weights are back at the origin or an operator says so.
    pub fn blocks(&self) -> bool {
        matches!(self.outcome, RolloutOutcome::Reverting(_) | RolloutOutcome::RevertFailed(_))
            && self.acknowledged.is_none()
    }

    /// `interrupted at step 2 of 3 (50%)`, for a plan.
    pub fn stopped_at(&self, of: usize) -> String {
        let done = self.steps.len();
        let share = self.steps.last().map_or(0, |s| s.percent);
        format!("interrupted at step {done} of {of} ({share}%)")
    }
}

/// How a rollout ended, or that it has not. State keeps it as one line of text
/// (`in progress`, `complete`, `reverted before step 3 of 3 (100%): ...`,
/// `reverting ...`, `revert failed ...`, `interrupted after step 1 of 3`,
/// `interrupted while baking after step 3 of 3 (20 of 60 s watched)`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum RolloutOutcome {
    InProgress,
    Complete,
    /// The weights went back to where they were; why, and before which step.
    Reverted(String),
    /// A revert is under way (written before its call): why, and where. A run
    /// killed in it leaves this.
    Reverting(String),
    /// The revert's call failed: why it reverted, and what the call answered.
    RevertFailed(String),
    /// Stopped by an interrupt after `after` of `of` steps.
    Interrupted {
        after: usize,
        of: usize,
    },
    /// Stopped while baking after the last of `of` steps: every weight is in
    /// force, but they were watched `watched` of `bake` seconds.
    InterruptedBaking {
        of: usize,
        watched: u64,
        bake: u64,
    },
}

impl std::fmt::Display for RolloutOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RolloutOutcome::InProgress => f.write_str("in progress"),
            RolloutOutcome::Complete => f.write_str("complete"),
            RolloutOutcome::Reverted(why) => write!(f, "reverted {why}"),
            RolloutOutcome::Reverting(why) => write!(f, "reverting {why}"),
            RolloutOutcome::RevertFailed(why) => write!(f, "revert failed {why}"),
            RolloutOutcome::Interrupted { after, of } => {
                write!(f, "interrupted after step {after} of {of}")
            }
            RolloutOutcome::InterruptedBaking { of, watched, bake } => write!(
                f,
                "interrupted while baking after step {of} of {of} ({watched} of {bake} s watched)"
            ),
        }
    }
}

impl From<RolloutOutcome> for String {
    fn from(o: RolloutOutcome) -> String {
        o.to_string()
    }
}

impl TryFrom<String> for RolloutOutcome {
    type Error = String;
    fn try_from(s: String) -> Result<RolloutOutcome, String> {
        let interrupted = || {
            let rest = s.strip_prefix("interrupted after step ")?;
            let (after, of) = rest.split_once(" of ")?;
            Some(RolloutOutcome::Interrupted { after: after.parse().ok()?, of: of.parse().ok()? })
        };
        let baking = || {
            let rest = s.strip_prefix("interrupted while baking after step ")?;
            let (of, rest) = rest.split_once(" of ")?;
            let (_, rest) = rest.split_once(" (")?;
            let (watched, rest) = rest.split_once(" of ")?;
            let bake = rest.strip_suffix(" s watched)")?;
            Some(RolloutOutcome::InterruptedBaking {
                of: of.parse().ok()?,
                watched: watched.parse().ok()?,
                bake: bake.parse().ok()?,
            })
        };
        let after = |prefix: &str| s.strip_prefix(prefix).map(str::to_string);
        match s.as_str() {
            "in progress" => Ok(RolloutOutcome::InProgress),
            "complete" => Ok(RolloutOutcome::Complete),
            _ if s.starts_with("reverted ") => {
                Ok(RolloutOutcome::Reverted(after("reverted ").unwrap_or_default()))
            }
            _ if s.starts_with("reverting ") => {
                Ok(RolloutOutcome::Reverting(after("reverting ").unwrap_or_default()))
            }
            _ if s.starts_with("revert failed ") => {
                Ok(RolloutOutcome::RevertFailed(after("revert failed ").unwrap_or_default()))
            }
            _ => baking()
                .or_else(interrupted)
                .ok_or_else(|| format!("unknown rollout outcome {s:?}")),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RolloutStep {
    pub at: String,
    pub percent: i64,
    pub weights: BTreeMap<String, i64>,
    /// The canary analysis of the pause after this step, with its numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
}

impl State {
    /// Moves a resource's record to another address, and every dependency
    /// on it; nothing when there is no record at `from`.
    pub fn rename(&mut self, from: &Address, to: &Address) {
        let Some(r) = self.resources.remove(from) else {
            return;
        };
        self.resources.insert(to.clone(), r);
        for r in self.resources.values_mut() {
            for d in r.dependencies.iter_mut().chain(r.rule_dependencies.iter_mut()) {
                if d == from {
                    *d = to.clone();
                }
            }
        }
    }

    pub fn new(stack: &str) -> State {
        State::of(&crate::types::StackId::new(stack, None))
    }

    /// A new state of this stack and environment.
    pub fn of(id: &crate::types::StackId) -> State {
        State {
            version: FORMAT_VERSION,
            serial: 0,
            lineage: uuid::Uuid::new_v4().to_string(),
            stack: id.name.clone(),
            env: id.env.clone(),
            account: None,
            region: None,
            resources: BTreeMap::new(),
            intents: BTreeMap::new(),
            outputs: BTreeMap::new(),
            lookups: BTreeMap::new(),
        }
    }

    /// Whose state this is.
    pub fn id(&self) -> crate::types::StackId {
        crate::types::StackId::new(&self.stack, self.env.as_deref())
    }

    /// This state, if it is `id`'s. A state of format 1 recorded an
    /// environment's stack as `NAME-ENV`, the name a stack `NAME-ENV` without
    /// an environment has too: its resources' `infra:env` tags tell which it
    /// was. What is read is upgraded to this format (written as such by the
    /// next write).
    pub fn belonging_to(
        mut self,
        id: &crate::types::StackId,
        path: &str,
    ) -> Result<State, RecordError> {
        use crate::types::stack_id::{ENV_TAG, STACK_TAG};
        if self.version < FORMAT_VERSION {
            let tag = |k: &str| -> std::collections::BTreeSet<String> {
                self.resources
                    .values()
                    .filter_map(|r| r.attributes.get("tags")?.get(k)?.as_str())
                    .map(str::to_string)
                    .collect()
            };
            let (envs, tagged) = (tag(ENV_TAG), !tag(STACK_TAG).is_empty());
            let legacy = crate::types::StackId {
                name: match envs.iter().next() {
                    Some(env) if envs.len() == 1 => self
                        .stack
                        .strip_suffix(&format!("-{env}"))
                        .unwrap_or(&self.stack)
                        .to_string(),
                    _ => self.stack.clone(),
                },
                env: envs.iter().next().filter(|_| envs.len() == 1).cloned(),
            };
            // An environment's state kept at a path of its own, whose
            // resources carry no tag to say whose they are: its name says.
            let written = match (&id.env, &legacy.env) {
                (Some(_), None) if !tagged && self.stack == id.legacy_name() => id.clone(),
                _ => legacy,
            };
            self.version = FORMAT_VERSION;
            self.stack = written.name;
            self.env = written.env;
        }
        if self.id() != *id {
            return Err(RecordError::WrongStack {
                path: path.to_string(),
                found: self.id().to_string(),
                expected: id.to_string(),
            });
        }
        Ok(self)
    }
}

/// A state that cannot be read as this stack's: what is wrong with its text.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("state file {path} is corrupt: {reason}")]
    Corrupt { path: String, reason: String },
    #[error(
        "state file {path} has format version {found}; this infra reads version {FORMAT_VERSION}"
    )]
    UnknownVersion { path: String, found: u64 },
    #[error("state file {path} belongs to stack {found}, not {expected}")]
    WrongStack { path: String, found: String, expected: String },
}

impl RecordError {
    pub fn hint(&self) -> Option<String> {
        match self {
            RecordError::Corrupt { path, .. } | RecordError::UnknownVersion { path, .. } => {
                Some(format!(
                    "infra will not overwrite it; restore {path}.backup or fix the file by hand"
                ))
            }
            RecordError::WrongStack { .. } => {
                Some("pass --state PATH to use another state file".into())
            }
        }
    }
}

/// Parses state text, refusing anything it does not fully understand.
pub fn parse(path: &str, text: &str) -> Result<State, RecordError> {
    /// The format version alone (the rest skipped, not built): a large state is
    /// read into its own types once, never into a `Value` tree first.
    #[derive(Deserialize)]
    struct Version {
        version: Option<Value>,
    }
    let raw: Version = serde_json::from_str(text).map_err(|e| RecordError::Corrupt {
        path: path.to_string(),
        reason: format!("{e} (line {}, column {})", e.line(), e.column()),
    })?;
    match raw.version.as_ref().and_then(Value::as_u64) {
        Some(v) if (1..=u64::from(FORMAT_VERSION)).contains(&v) => {}
        Some(found) => {
            return Err(RecordError::UnknownVersion { path: path.to_string(), found });
        }
        None => {
            return Err(RecordError::Corrupt {
                path: path.to_string(),
                reason: "no format `version`".into(),
            });
        }
    }
    let state: State = serde_json::from_str(text)
        .map_err(|e| RecordError::Corrupt { path: path.to_string(), reason: e.to_string() })?;
    // No run writes that many times: a serial this high was written by hand,
    // and the next write could not count past it.
    if state.serial > MAX_SERIAL {
        return Err(RecordError::Corrupt {
            path: path.to_string(),
            reason: format!(
                "its serial {} is above {MAX_SERIAL}, the highest a state may hold",
                state.serial
            ),
        });
    }
    Ok(state)
}

/// The highest serial a state may hold: JSON readers of other languages keep
/// integers as signed 64-bit numbers at best.
pub const MAX_SERIAL: u64 = i64::MAX as u64;
