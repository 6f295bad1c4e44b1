//! The state as a JSON file on local disk: atomic writes, a backup, mode 0600,
//! and a serial check before every write.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::StateError;
use crate::apply::journal::StoreError;
use crate::types::state::{State, parse};

/// The state as a JSON file on local disk.
pub struct LocalBackend {
    pub path: PathBuf,
    /// The serial of the file as last read or written; `None` when there was none.
    seen: Option<u64>,
}

impl LocalBackend {
    pub fn new(path: impl Into<PathBuf>) -> LocalBackend {
        LocalBackend { path: path.into(), seen: None }
    }

    pub(super) fn name(&self) -> String {
        self.path.display().to_string()
    }

    fn io(&self, source: std::io::Error) -> StateError {
        StateError::Io { path: self.name(), source }
    }

    pub fn exists(&self) -> bool {
        self.path.exists()
    }

    pub fn lock_path(&self) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(".lock");
        p.into()
    }

    pub fn backup_path(&self) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(".backup");
        p.into()
    }

    /// Reads the state; `None` when there is none yet.
    pub fn load(&mut self) -> Result<Option<State>, StateError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io(e)),
        };
        let state = parse(&self.name(), &text)?;
        self.seen = Some(state.serial);
        Ok(Some(state))
    }

    /// The serial of the file on disk now.
    fn serial_on_disk(&self) -> Result<Option<u64>, StateError> {
        match fs::read_to_string(&self.path) {
            Ok(t) => Ok(serde_json::from_str::<Value>(&t)
                .ok()
                .and_then(|v| v.get("serial").and_then(Value::as_u64))
                .or(Some(u64::MAX))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io(e)),
        }
    }

    /// Writes atomically: temp file, fsync, rename, and only over the file as it
    /// was last read or written. The previous file is kept as `<path>.backup`.
    /// Mode 0600.
    pub(super) fn write_state(&mut self, json: &[u8], serial: u64) -> Result<(), StateError> {
        // The serial check and the rename are one step for every infra process
        // on this host: each holds the guard across both.
        let _guard = guard(&self.path).map_err(|e| self.io(e))?;
        if self.serial_on_disk()? != self.seen {
            return Err(StoreError::Stale { location: self.name(), serial }.into());
        }
        let dir = folder(&self.path);
        fs::create_dir_all(dir).map_err(|e| self.io(e))?;
        let tmp = private_beside(&self.path, ".infra-state", json).map_err(|e| self.io(e))?;
        if self.path.exists() {
            // The backup is a second name for the file being replaced: made
            // anew (whatever was at its name, a link too, is removed first, never
            // followed), with the file's own 0600.
            let backup = self.backup_path();
            match fs::remove_file(&backup) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(self.io(e)),
            }
            fs::hard_link(&self.path, &backup).map_err(|e| self.io(e))?;
        }
        tmp.persist(&self.path).map_err(|e| self.io(e.error))?;
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        self.seen = Some(serial);
        Ok(())
    }
}

/// An exclusive advisory lock on `<path>.guard`, held while it lives: what makes
/// a check and the write that follows it one step among the infra processes of
/// a host (a state write; a lock's takeover, renewal and release).
pub(super) fn guard(path: &Path) -> std::io::Result<fs::File> {
    let mut name = path.as_os_str().to_owned();
    name.push(".guard");
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(PathBuf::from(name))?;
    file.lock()?;
    Ok(file)
}

/// The folder a file is in (`.` for a bare name).
fn folder(path: &Path) -> &Path {
    path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// A temporary file beside `path` (in its folder), readable by its owner only
/// (0600), holding `bytes`, synced: persisted over `path`, it replaces it
/// whole, and a link at `path` is replaced, never followed.
pub fn private_beside(
    path: &Path,
    prefix: &str,
    bytes: &[u8],
) -> std::io::Result<tempfile::NamedTempFile> {
    let mut tmp = tempfile::Builder::new()
        .prefix(prefix)
        .permissions(permissions())
        .tempfile_in(folder(path))?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    Ok(tmp)
}

#[cfg(unix)]
fn permissions() -> fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    fs::Permissions::from_mode(0o600)
}

#[cfg(not(unix))]
fn permissions() -> fs::Permissions {
    fs::metadata(".").map(|m| m.permissions()).expect("cwd")
}
