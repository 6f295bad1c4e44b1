//! The stack file: YAML with locations in, a validated typed `Stack` out.
//!
//! Parsing keeps every location (marked-yaml); validation checks the whole file
//! against the resource schemas and reports every problem at once.

pub mod diag;
pub mod eks;
pub mod graph;
pub mod json_schema;
pub mod network;
pub mod reach;
pub mod sensitive;
mod validate;

pub use validate::files_asked;
pub mod vars;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

pub use diag::{Loc, StackErrors};

pub use vars::Inputs;

use crate::types::lookup::LookupSchema;
use crate::types::reference;
use crate::types::{Address, Timeouts, TypeSchema};

/// What each lookup found, by its address (`data.KIND.NAME`): the values
/// `${data.KIND.NAME.ATTR}` stands for.
pub type LookedUp = BTreeMap<Address, Map<String, Value>>;

/// One lookup of the `data:` block, validated: what exists already, found at
/// plan time and never written.
#[derive(Debug, Clone)]
pub struct Lookup {
    /// `data.KIND.NAME`.
    pub address: Address,
    pub schema: &'static LookupSchema,
    /// What to search by; strings may still refer to other lookups.
    pub query: Map<String, Value>,
    /// Where its key sits in the file: what it finds is said there.
    pub loc: Loc,
}

impl Lookup {
    /// The lookups this one's search uses.
    pub fn uses(&self) -> BTreeSet<Address> {
        self.query
            .values()
            .flat_map(reference::references)
            .map(|r| r.address)
            .filter(|a| a.is_lookup() && *a != self.address)
            .collect()
    }
}

/// The lookups in waves: each wave uses only what earlier ones found, so a
/// wave's lookups may run at once. `Err` with the lookups left when they use
/// each other in a cycle.
pub fn lookup_waves(
    lookups: &BTreeMap<Address, Lookup>,
) -> Result<Vec<Vec<Address>>, Vec<Address>> {
    let mut done: BTreeSet<Address> = BTreeSet::new();
    let mut waves = Vec::new();
    while done.len() < lookups.len() {
        let wave: Vec<Address> = lookups
            .values()
            .filter(|l| !done.contains(&l.address))
            .filter(|l| l.uses().iter().all(|u| done.contains(u) || !lookups.contains_key(u)))
            .map(|l| l.address.clone())
            .collect();
        if wave.is_empty() {
            return Err(lookups.keys().filter(|a| !done.contains(*a)).cloned().collect());
        }
        done.extend(wave.iter().cloned());
        waves.push(wave);
    }
    Ok(waves)
}

/// One declared resource, validated: defaults filled in, tags merged.
#[derive(Debug, Clone)]
pub struct Resource {
    pub address: Address,
    pub schema: &'static TypeSchema,
    /// Desired attributes; strings may still hold `${...}` references.
    pub attrs: Map<String, Value>,
    /// Whether the stack file gives its AWS name; a name infra made up for it
    /// (`NameDefault::StackAndName`) gives way to the one its state recorded
    /// (`Stack::keep_recorded_names`).
    pub named: bool,
    /// The JSON pointers of the attributes that hold a sensitive value (a
    /// sensitive variable's or output's, a sensitive attribute such as
    /// `user_data`, or a reference to one): never shown, whatever their
    /// value (`src/stack/sensitive.rs`).
    pub sensitive: BTreeSet<String>,
    /// Edges added by hand with `depends_on`, and those the network checks
    /// imply (an internet-facing load balancer waits for its VPC's internet
    /// gateway: src/stack/network.rs).
    pub depends_on: BTreeSet<Address>,
    /// `timeouts:`, in seconds, by phase.
    pub timeouts: Timeouts,
    /// `prevent_destroy: true`: any plan that would delete or replace it fails.
    pub prevent_destroy: bool,
    /// `ignore_changes:` (Terraform's lifecycle), and what the type's
    /// `create_defaults` filled in: set at create, never changed or shown as
    /// a change afterwards; drift shows them, marked ignored.
    pub ignore_changes: Vec<crate::types::attrs::AttrPath>,
    /// `accept:`: the lints silenced for it, each with why.
    pub accepted: Vec<Accepted>,
    /// Where the resource's key sits in the file.
    pub loc: Loc,
}

impl Resource {
    /// Resources this one references from its non-deferred attributes.
    pub fn main_references(&self) -> BTreeSet<Address> {
        self.refs_where(|deferred| !deferred)
    }

    /// Resources this one references from its deferred attributes (security group rules).
    pub fn deferred_references(&self) -> BTreeSet<Address> {
        self.refs_where(|deferred| deferred)
    }

    fn refs_where(&self, keep: impl Fn(bool) -> bool) -> BTreeSet<Address> {
        self.attrs
            .iter()
            .filter(|(k, _)| keep(self.schema.attr(k).is_some_and(|a| a.deferred)))
            .flat_map(|(_, v)| reference::references(v))
            .map(|r| r.address)
            // A lookup was read before the plan: nothing waits for it.
            .filter(|a| *a != self.address && !a.is_lookup())
            .collect()
    }

    /// Everything this resource needs to exist first.
    pub fn dependencies(&self) -> BTreeSet<Address> {
        let mut all = self.main_references();
        all.extend(self.deferred_references());
        all.extend(self.depends_on.iter().cloned());
        all
    }
}

/// Where a stack's state lives: the `state:` block of the stack file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateConfig {
    /// A local file; `state/<stack>.json` unless `path` is given.
    Local { path: Option<String> },
    /// An object in S3, with its lock beside it at `<key>.lock`.
    S3 { bucket: String, key: String, region: Option<String> },
}

impl StateConfig {
    /// The state of one environment of the stack: `.ENV` before the `.json` of
    /// a path or key the file gives (the default path carries the environment
    /// already, through the stack's name).
    pub fn for_environment(self, env: &str) -> StateConfig {
        let with_env = |p: String| match p.strip_suffix(".json") {
            Some(stem) => format!("{stem}.{env}.json"),
            None => format!("{p}.{env}"),
        };
        match self {
            StateConfig::Local { path } => StateConfig::Local { path: path.map(with_env) },
            StateConfig::S3 { bucket, key, region } => {
                StateConfig::S3 { bucket, key: with_env(key), region }
            }
        }
    }
}

impl Default for StateConfig {
    fn default() -> StateConfig {
        StateConfig::Local { path: None }
    }
}

/// A lint a resource accepts (`accept: [{ lint, reason }]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    pub lint: crate::types::lint::Lint,
    pub reason: String,
}

/// A lint that fired on a resource that accepts it: what it said, and why
/// the stack accepts it.
#[derive(Debug, Clone, PartialEq)]
pub struct AcceptedLint {
    pub address: Address,
    pub lint: crate::types::lint::Lint,
    pub reason: String,
    pub message: String,
}

/// One `moved:` entry: where a resource was, where it is declared now.
#[derive(Debug, Clone)]
pub struct Moved {
    pub from: Address,
    pub to: Address,
    pub loc: diag::Loc,
}

/// One `moved:` entry of whole modules: where a module's resources were
/// (`module.a`, or every instance of it), where they are now (`module.b`).
#[derive(Debug, Clone)]
pub struct ModuleMoved {
    pub from: crate::types::ModulePath,
    pub to: crate::types::ModulePath,
    pub loc: diag::Loc,
}

/// A validated stack file.
#[derive(Debug, Clone)]
pub struct Stack {
    /// The stack's name (`stack:`), without its environment.
    pub name: String,
    /// The environment planned (`--env`), if any: with the name, the stack's
    /// identity (`id()`).
    pub env: Option<String>,
    /// The values of sensitive variables: never shown in a message of the
    /// stack file's (what a plan shows is redacted by where a value sits:
    /// `Resource::sensitive`, `sensitive_outputs`).
    pub secrets: Vec<String>,
    /// The outputs that hold a sensitive value.
    pub sensitive_outputs: BTreeSet<String>,
    /// The variables declared sensitive: their values are never saved (a
    /// saved plan asks for them again).
    pub sensitive_variables: BTreeSet<String>,
    pub region: String,
    pub tags: BTreeMap<String, String>,
    pub resources: BTreeMap<Address, Resource>,
    /// `data:`: what exists already, to be found at plan time. Once found
    /// (`with_lookups`), every `${data...}` holds its value.
    pub lookups: BTreeMap<Address, Lookup>,
    pub outputs: BTreeMap<String, Value>,
    /// `moved:`, each checked against the file (`plan::moves` checks it
    /// against state).
    pub moved: Vec<Moved>,
    /// `moved:` entries of whole modules.
    pub moved_modules: Vec<ModuleMoved>,
    /// `state:`: where the state lives.
    pub state: StateConfig,
    /// The file as given (for messages) and its text.
    pub file: String,
    pub text: String,
    /// The module files it uses, for messages located in them.
    pub sources: Vec<diag::Source>,
    /// The lints its resources accepted (`accept:`) that fired: silent,
    /// listed by the plan under Needs attention with their reasons.
    pub accepted: Vec<AcceptedLint>,
    /// The values from outside the file it was read with, and what the
    /// lookups found once they have (`with_lookups`).
    pub inputs: Inputs,
}

impl Stack {
    /// Its identity: its name and environment.
    pub fn id(&self) -> crate::types::StackId {
        crate::types::StackId::new(&self.name, self.env.as_deref())
    }

    /// What the stack was read from, for a saved plan's digest: its text,
    /// then each file `file` or `templatefile` read (none: the text alone).
    pub fn source(&self) -> String {
        let mut out = self.text.clone();
        for (path, read) in &self.inputs.files {
            if let Ok(text) = read {
                out.push_str(&format!("\n\0file {path}\0{text}"));
            }
        }
        out
    }

    /// Where problems found later (a lookup's search, a move) are located:
    /// the stack file and the module files it uses.
    pub fn diagnostics(&self) -> diag::Diagnostics {
        diag::Diagnostics::with_sources(&self.file, &self.text, &self.sources)
    }

    /// Each name infra made up for a resource the file does not name, given
    /// way to the name its state recorded for it: a made-up name is chosen
    /// once, when the resource is made, so that a change to how names are
    /// made (or a state moved from where an older infra kept it) never
    /// replaces what exists.
    pub fn keep_recorded_names(&mut self, state: &crate::types::state::State) {
        // The `infra:address` tag is written at create (and by `infra state
        // mv`): a record moved by `moved:` keeps its tag, and no plan
        // changes it on its own.
        use crate::types::stack_id::ADDRESS_TAG;
        for (address, r) in self.resources.iter_mut() {
            let recorded = state
                .resources
                .get(address)
                .and_then(|held| held.attributes.get("tags")?.get(ADDRESS_TAG)?.as_str());
            if let (Some(recorded), Some(Value::Object(tags))) = (recorded, r.attrs.get_mut("tags"))
                && tags.contains_key(ADDRESS_TAG)
            {
                tags.insert(ADDRESS_TAG.into(), Value::String(recorded.to_string()));
            }
        }
        // A name made from a prefix is made anew by each create.
        let prefixed = |r: &Resource| r.attrs.contains_key(crate::types::schema::NAME_PREFIX);
        for (address, r) in self.resources.iter_mut().filter(|(_, r)| !r.named && !prefixed(r)) {
            let (Some((attr, _)), Some(held)) = (r.schema.name_attr, state.resources.get(address))
            else {
                continue;
            };
            if let Some(Value::String(recorded)) = held.attributes.get(attr)
                && r.attrs.get(attr) != Some(&Value::String(recorded.clone()))
            {
                r.attrs.insert(attr.to_string(), Value::String(recorded.clone()));
            }
        }
    }

    /// The stack with what its lookups found put in place of every
    /// `${data.KIND.NAME.ATTR}`, validated again, so that each value is checked
    /// where it is used (its warnings were said the first time). Pure.
    pub fn with_lookups(&self, found: &LookedUp) -> Result<Stack, StackErrors> {
        let inputs = Inputs { lookups: Some(found.clone()), ..self.inputs.clone() };
        validate::validate(&self.file, &self.text, &inputs).map(|(stack, _)| stack)
    }
}

/// Whether a value refers to a sensitive attribute (a launch template's
/// `user_data`): wherever it is shown (an output), it reads `(sensitive)`.
pub fn refers_to_sensitive(value: &Value) -> bool {
    reference::references(value).iter().any(|r| {
        crate::types::schema(&r.address.ty)
            .and_then(|s| s.attr(&r.attr))
            .is_some_and(|a| a.sensitive)
    })
}

/// Validates stack text. Pure: no file system, no network.
pub fn parse(file: &str, text: &str) -> Result<(Stack, Vec<diag::Problem>), StackErrors> {
    validate::validate(file, text, &Inputs::default())
}

/// Puts in `inputs.files`, read through `read` (a path relative to the
/// stack file: its text, or why it cannot be read), every file the stack
/// file asks for (module sources, `file()` and `templatefile()` paths), until
/// nothing more is asked: a module's file may ask for more.
pub fn read_asked(
    file: &str,
    text: &str,
    inputs: &mut Inputs,
    read: impl Fn(&str) -> Result<String, String>,
) {
    loop {
        let asked: Vec<String> = files_asked(file, text, inputs)
            .into_iter()
            .filter(|p| !inputs.files.contains_key(p))
            .collect();
        if asked.is_empty() {
            return;
        }
        for path in asked {
            let got = read(&path);
            inputs.files.insert(path, got);
        }
    }
}

/// `parse`, with variable values and an environment from outside the file.
pub fn parse_with(
    file: &str,
    text: &str,
    inputs: &Inputs,
) -> Result<(Stack, Vec<diag::Problem>), StackErrors> {
    validate::validate(file, text, inputs)
}
