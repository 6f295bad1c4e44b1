//! The journal: the one owner of the state and the only code that writes it.
//!
//! Every change goes through `Journal::write`: the state is changed and
//! serialised (with the serial bumped) under the journal's lock, then written to
//! the backend after that lock is released, so that steps finishing at once do
//! not queue behind each other's I/O. Writes go one at a time, and a write that
//! a later snapshot already covers is skipped (coalescing): when `write`
//! returns, what it committed is saved either way. The named operations
//! (`intend`, `record`, `forget`, ...) are what apply does around each mutating
//! call: an intent before it, the result after it.

use tokio::sync::Mutex;

use crate::types::state::{
    Deposed, Intent, Pending, RecordError, ResourceState, RolloutRecord, State, now,
};
use serde_json::Value;

use crate::plan::Observed;
use crate::types::{Address, Attrs, Operation, StackId};

/// Where a state is kept, as the journal sees it: a local file or an S3 object
/// (`state::Backend`), or a test's store in memory.
#[async_trait::async_trait]
pub trait Store: Send {
    /// Where the state is, as `--state` takes it.
    fn location(&self) -> String;

    /// Whether a state was read or has been written.
    fn exists(&self) -> bool;

    /// Reads the state of stack `id`; `None` when there is none yet. A state
    /// of another stack or environment is refused.
    async fn load(&mut self, id: &StackId) -> Result<Option<State>, StoreError>;

    /// Writes a serialised state (of this serial), only over the state as
    /// this store last read or wrote it. The journal is its one caller.
    async fn write_state(&mut self, json: Vec<u8>, serial: u64) -> Result<(), StoreError>;
}

/// Why a state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another writer wrote since this one read: nothing was overwritten.
    #[error(
        "state {location} changed since infra read it: refusing to overwrite it with serial {serial}"
    )]
    Stale { location: String, serial: u64 },
    #[error(transparent)]
    Record(#[from] RecordError),
    /// The file system or S3 failed (the message names the state).
    #[error("{0}")]
    Failed(String),
}

impl StoreError {
    pub fn hint(&self) -> Option<String> {
        match self {
            StoreError::Stale { .. } => Some(
                "another run wrote this state since (its lock was forced or taken over); nothing was overwritten. Plan again to see where things stand".into(),
            ),
            StoreError::Record(e) => e.hint(),
            StoreError::Failed(_) => None,
        }
    }
}

pub struct Journal {
    state: Mutex<Snapshot>,
    writer: Mutex<Writer>,
    existed: bool,
    location: String,
}

/// The state and the number of its last committed snapshot.
struct Snapshot {
    state: State,
    seq: u64,
}

struct Writer {
    store: Box<dyn Store>,
    /// The number of the last snapshot written.
    written: u64,
    /// How many writes reached the backend.
    writes: u64,
}

impl Journal {
    pub fn new(store: Box<dyn Store>, state: State) -> Journal {
        Journal {
            existed: store.exists(),
            location: store.location(),
            state: Mutex::new(Snapshot { state, seq: 0 }),
            writer: Mutex::new(Writer { store, written: 0, writes: 0 }),
        }
    }

    /// Where the state is, as `--state` takes it.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Whether a state was read before this run (a new state's lineage is not
    /// yet anyone's).
    pub fn existed(&self) -> bool {
        self.existed
    }

    /// The state as it is now (while nothing runs).
    pub fn state(&mut self) -> &State {
        &self.state.get_mut().state
    }

    pub fn into_state(self) -> State {
        self.state.into_inner().state
    }

    // Before a run, in memory: a plan never writes state, and an apply's
    // first write saves what these did.

    fn edit(&mut self) -> &mut State {
        &mut self.state.get_mut().state
    }

    /// Gives a state that names no account or region yet this run's.
    pub fn claim(&mut self, account: &str, region: &str) {
        let s = self.edit();
        s.account.get_or_insert_with(|| account.to_string());
        s.region.get_or_insert_with(|| region.to_string());
    }

    /// An intent settled without a record: what it was doing is known.
    pub fn drop_intent(&mut self, address: &Address) -> Option<Intent> {
        self.edit().intents.remove(address)
    }

    /// A resource found to be this stack's (what an interrupted create made):
    /// recorded, its intent settled; what state held at its address before is
    /// deposed, to be deleted.
    pub fn adopt(&mut self, address: &Address, resource: ResourceState) {
        put(self.edit(), address, resource, true, None);
    }

    /// Takes what a refresh read into the state's attributes, keeping what
    /// only state holds (`force_destroy`): what apply resolves references
    /// from.
    pub fn absorb(&mut self, observed: &Observed) {
        let state = self.edit();
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

    /// Forgets what a refresh found gone, unless `keep` (the stack still has
    /// it: the plan creates it again). Returns what was forgotten.
    pub fn forget_gone(
        &mut self,
        observed: &Observed,
        keep: impl Fn(&Address) -> bool,
    ) -> Vec<Address> {
        let state = self.edit();
        let gone: Vec<Address> = observed
            .iter()
            .filter(|(a, o)| o.is_none() && !keep(a) && state.resources.contains_key(*a))
            .map(|(a, _)| a.clone())
            .collect();
        for a in &gone {
            state.resources.remove(a);
        }
        gone
    }

    /// Every resource's attributes, moved out (a plan from state alone reads
    /// them as what exists, without a copy); `put_back` returns them.
    pub fn take_attributes(&mut self) -> Observed {
        self.edit()
            .resources
            .iter_mut()
            .map(|(a, r)| (a.clone(), Some(std::mem::take(&mut r.attributes))))
            .collect()
    }

    /// Returns what `take_attributes` took.
    pub fn put_back(&mut self, observed: Observed) {
        let state = self.edit();
        for (a, seen) in observed {
            if let (Some(attrs), Some(r)) = (seen, state.resources.get_mut(&a)) {
                r.attributes = attrs;
            }
        }
    }

    /// Sets one attribute of a resource in state (a value the plan's refresh
    /// could not give back: what state recorded stands).
    pub fn keep_attribute(&mut self, address: &Address, name: &str, value: Value) {
        if let Some(r) = self.edit().resources.get_mut(address) {
            r.attributes.insert(name.to_string(), value);
        }
    }

    // Saved at once: the state edited by hand (`infra state`, `import`,
    // `rollout ack`).

    /// Forgets a resource without deleting it, and any intent left on it.
    pub async fn remove(
        &self,
        address: &Address,
    ) -> Result<(Option<ResourceState>, Option<Intent>), StoreError> {
        let mut removed = (None, None);
        self.write(|s| {
            removed = (s.resources.remove(address), s.intents.remove(address));
        })
        .await?;
        Ok(removed)
    }

    /// Renames a resource, and every dependency on it.
    pub async fn rename(&self, from: &Address, to: &Address) -> Result<(), StoreError> {
        self.write(|s| s.rename(from, to)).await
    }

    /// The moves of a plan (`moved:`) made on the state in memory: the
    /// plan reads the records at their new addresses; an apply saves them.
    pub fn move_records(&mut self, moves: &[crate::plan::moves::Move]) {
        let state = self.edit();
        for m in moves {
            state.rename(&m.from, &m.to);
        }
    }

    /// Records a resource read from AWS for an address (an import): any
    /// intent left on the address is settled by it.
    pub async fn import(
        &self,
        address: &Address,
        resource: ResourceState,
    ) -> Result<(), StoreError> {
        self.write(|s| {
            s.intents.remove(address);
            s.resources.insert(address.clone(), resource);
        })
        .await
    }

    /// Reads the state under the journal's lock.
    pub async fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.state.lock().await.state)
    }

    /// How many writes reached the backend.
    pub async fn writes(&self) -> u64 {
        self.writer.lock().await.writes
    }

    /// Whether a state exists or has been written by this run.
    pub async fn exists(&self) -> bool {
        self.existed || self.state.lock().await.seq > 0
    }

    /// Changes the state and saves it: the one path of every state write.
    pub async fn write(&self, change: impl FnOnce(&mut State)) -> Result<(), StoreError> {
        let (seq, serial, json) = {
            let mut snap = self.state.lock().await;
            change(&mut snap.state);
            // `state::parse` refuses a serial this high; a state made in
            // memory never comes near it.
            snap.state.serial = snap.state.serial.saturating_add(1);
            snap.seq += 1;
            let mut json = serde_json::to_vec_pretty(&snap.state).expect("state serialises");
            json.push(b'\n');
            (snap.seq, snap.state.serial, json)
        };
        let mut w = self.writer.lock().await;
        if w.written >= seq {
            return Ok(());
        }
        w.store.write_state(json, serial).await?;
        w.written = seq;
        w.writes += 1;
        Ok(())
    }

    /// Saves the state as it is.
    pub async fn save(&self) -> Result<(), StoreError> {
        self.write(|_| {}).await
    }

    /// Before a mutating call: what it is about to do. A create keeps what it
    /// asked for and its token, by which an interrupted create is found again.
    pub async fn intend(
        &self,
        address: &Address,
        operation: Operation,
        token: Option<String>,
        attributes: Attrs,
    ) -> Result<(), StoreError> {
        let intent = Intent { operation, token, since: now(), attributes };
        self.write(|s| {
            s.intents.insert(address.clone(), intent);
        })
        .await
    }

    /// After a call: the resource as it is now, its intent resolved. A
    /// create-before-destroy replacement keeps the object it replaces as
    /// `deposed` until that is deleted; an operation AWS accepted and has not
    /// finished is marked `pending`.
    pub async fn record(
        &self,
        resource: ResourceState,
        address: &Address,
        replacing: bool,
        pending: Option<Operation>,
    ) -> Result<(), StoreError> {
        self.write(|s| put(s, address, resource, replacing, pending)).await
    }

    /// Marks that AWS accepted an operation that is not finished, or that it has
    /// finished (`None`).
    pub async fn set_pending(
        &self,
        address: &Address,
        pending: Option<Operation>,
    ) -> Result<(), StoreError> {
        self.write(|s| {
            if let Some(r) = s.resources.get_mut(address) {
                r.pending = pending.map(Pending::new);
            }
        })
        .await
    }

    /// Keeps, with the pending mark, how the operation ended in an error.
    pub async fn pending_failed(&self, address: &Address, error: String) -> Result<(), StoreError> {
        self.write(|s| {
            if let Some(p) = s.resources.get_mut(address).and_then(|r| r.pending.as_mut()) {
                p.failed = Some(error);
            }
        })
        .await
    }

    /// The intent of a call that finished with nothing else to record.
    pub async fn resolve(&self, address: &Address) -> Result<(), StoreError> {
        self.write(|s| {
            s.intents.remove(address);
        })
        .await
    }

    /// After a delete: the resource is gone.
    pub async fn forget(&self, address: &Address) -> Result<(), StoreError> {
        self.remove(address).await.map(|_| ())
    }

    /// After a replaced object of a create-before-destroy replacement is gone.
    pub async fn forget_deposed(&self, address: &Address, id: &str) -> Result<(), StoreError> {
        self.write(|s| {
            if let Some(r) = s.resources.get_mut(address) {
                r.deposed.retain(|d| d.id != id);
            }
            s.intents.remove(address);
        })
        .await
    }

    /// A rollout's record, after each of its steps.
    pub async fn rollout(
        &self,
        address: &Address,
        record: &RolloutRecord,
    ) -> Result<(), StoreError> {
        self.write(|s| {
            if let Some(r) = s.resources.get_mut(address) {
                r.rollout = Some(record.clone());
            }
        })
        .await
    }
}

/// A resource as it is now, its intent resolved. A create-before-destroy
/// replacement keeps the object it replaces as `deposed` until that is
/// deleted; an operation AWS accepted and has not finished is marked
/// `pending`.
fn put(
    s: &mut State,
    address: &Address,
    mut resource: ResourceState,
    replacing: bool,
    pending: Option<Operation>,
) {
    let (deposed, rollout) = match s.resources.get(address) {
        Some(p) if p.id == resource.id => (p.deposed.clone(), p.rollout.clone()),
        // The object replaced joins those still waiting to be deleted.
        Some(p) if replacing => {
            let mut deposed = p.deposed.clone();
            deposed.push(Deposed { id: p.id.clone(), attributes: p.attributes.clone() });
            (deposed, None)
        }
        Some(p) => (p.deposed.clone(), None),
        None => (Vec::new(), None),
    };
    resource.deposed = deposed;
    resource.rollout = rollout;
    resource.pending = pending.map(Pending::new);
    s.resources.insert(address.clone(), resource);
    s.intents.remove(address);
}
