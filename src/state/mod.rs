//! Where a state is kept: a local file or an S3 object, each with its lock
//! (`Backend`, the journal's `Store`). The record itself is
//! `types::state`; only the journal (`src/apply/journal.rs`) writes it.

mod local;
mod lock;
mod s3;

use crate::apply::journal::{Store, StoreError};
use crate::types::StackId;
use crate::types::state::{RecordError, State};

use local::guard;
pub use local::{LocalBackend, private_beside};
pub use lock::{DEFAULT_LEASE, Lock, LockInfo, lease};
pub use s3::{S3Backend, S3Place};

/// What goes wrong where a state is kept: its record, its lock, the file
/// system or S3.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(
        "state is locked: {path} is held by {}@{} (pid {}, {} since {}, lock id {}{})",
        lock.holder, lock.host, lock.pid, lock.operation, lock.created, lock.id,
        if lock.expires.is_empty() { String::new() } else { format!(", lease until {}", lock.expires) }
    )]
    Locked { path: String, lock: Box<LockInfo> },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("there is no lock at {path}")]
    NoLock { path: String },
    #[error("the lock at {path} has id {held}, not {given}")]
    WrongLockId { path: String, given: String, held: String },
    #[error("state {path}: {message}")]
    Remote { path: String, message: String },
    #[error("state {path}: {source}")]
    Io { path: String, source: std::io::Error },
}

impl StateError {
    pub fn hint(&self) -> Option<String> {
        match self {
            StateError::Record(e) => e.hint(),
            StateError::Store(e) => e.hint(),
            StateError::Locked { lock, .. } => Some(format!(
                "another run holds this state; wait for it to finish. The lock is taken over by itself once its lease expires; if you are sure its holder is gone, `infra force-unlock {} STACK_FILE`",
                lock.id
            )),
            StateError::NoLock { .. } => Some("nothing to unlock".into()),
            StateError::WrongLockId { .. } => {
                Some("pass the id of the lock as it is now; the lock changed hands".into())
            }
            StateError::Io { .. } | StateError::Remote { .. } => None,
        }
    }

    /// As the journal sees it: a stale writer, a record it cannot read, or a
    /// write that failed.
    fn into_store(self) -> StoreError {
        match self {
            StateError::Store(e) => e,
            StateError::Record(e) => StoreError::Record(e),
            other => StoreError::Failed(other.to_string()),
        }
    }
}

/// Where a state is kept.
pub enum Backend {
    Local(LocalBackend),
    S3(S3Backend),
}

impl Backend {
    /// Where the state is, for messages.
    pub fn describe(&self) -> String {
        match self {
            Backend::Local(l) => format!("local file {}", l.name()),
            Backend::S3(s) => format!("s3 {}", s.place.url()),
        }
    }

    /// Where the state is, as `--state` takes it.
    pub fn location(&self) -> String {
        match self {
            Backend::Local(l) => l.name(),
            Backend::S3(s) => s.place.url(),
        }
    }

    /// Where its lock is, for messages.
    pub fn lock_location(&self) -> String {
        match self {
            Backend::Local(l) => l.lock_path().display().to_string(),
            Backend::S3(s) => s.lock_place().url(),
        }
    }

    /// Takes the lock beside the state, or fails at once naming its holder.
    pub async fn lock(&self, operation: &str) -> Result<Lock, StateError> {
        match self {
            Backend::Local(l) => Lock::acquire_local(&l.lock_path(), operation).await,
            Backend::S3(s) => Lock::acquire_s3(s.lock_place(), operation).await,
        }
    }

    /// The lock as it is now, if there is one.
    pub async fn peek_lock(&self) -> Result<Option<LockInfo>, StateError> {
        match self {
            Backend::Local(l) => lock::peek_local(&l.lock_path()).await,
            Backend::S3(s) => lock::peek_s3(&s.lock_place()).await,
        }
    }

    /// Removes the lock with this id, whoever holds it.
    pub async fn force_unlock(&self, id: &str) -> Result<LockInfo, StateError> {
        match self {
            Backend::Local(l) => lock::force_unlock_local(&l.lock_path(), id).await,
            Backend::S3(s) => lock::force_unlock_s3(&s.lock_place(), id).await,
        }
    }
}

#[async_trait::async_trait]
impl Store for Backend {
    fn location(&self) -> String {
        Backend::location(self)
    }

    fn exists(&self) -> bool {
        match self {
            Backend::Local(l) => l.exists(),
            Backend::S3(s) => s.exists(),
        }
    }

    async fn load(&mut self, id: &StackId) -> Result<Option<State>, StoreError> {
        let path = Backend::location(self);
        let state = match self {
            Backend::Local(l) => l.load(),
            Backend::S3(s) => s.load().await,
        }
        .map_err(StateError::into_store)?;
        Ok(state.map(|s| s.belonging_to(id, &path)).transpose()?)
    }

    async fn write_state(&mut self, json: Vec<u8>, serial: u64) -> Result<(), StoreError> {
        match self {
            Backend::Local(l) => l.write_state(&json, serial),
            Backend::S3(s) => s.write_state(json, serial).await,
        }
        .map_err(StateError::into_store)
    }
}
