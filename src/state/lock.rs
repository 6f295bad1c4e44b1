//! The lock file beside a local state: one plan or apply at a time.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::StateError;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LockInfo {
    pub id: String,
    pub holder: String,
    pub host: String,
    pub pid: u32,
    pub operation: String,
    pub created: String,
}

/// Held while it lives; the file is removed on drop.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
    pub info: LockInfo,
}

impl Lock {
    /// Takes the lock or fails at once naming the holder. A lock left by a process
    /// of this host that no longer runs is taken over, with a warning.
    pub fn acquire(path: &Path, operation: &str) -> Result<Lock, StateError> {
        let info = LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            holder: std::env::var("USER").unwrap_or_else(|_| "unknown".into()),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            pid: std::process::id(),
            operation: operation.to_string(),
            created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        let io = |source| StateError::Io {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(io)?;
        }
        // The lock appears with its content or not at all: it is written to a
        // temporary file and hard-linked into place, which fails if it exists.
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut tmp = tempfile::Builder::new()
            .prefix(".infra-lock")
            .tempfile_in(dir)
            .map_err(io)?;
        let json = serde_json::to_vec_pretty(&info).expect("lock serialises");
        tmp.write_all(&json).map_err(io)?;
        tmp.as_file().sync_all().map_err(io)?;
        for _ in 0..2 {
            match fs::hard_link(tmp.path(), path) {
                Ok(()) => {
                    return Ok(Lock {
                        path: path.to_path_buf(),
                        info,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let held: Option<LockInfo> = fs::read_to_string(path)
                        .ok()
                        .and_then(|t| serde_json::from_str(&t).ok());
                    match held {
                        Some(h) if h.host == info.host && !process_alive(h.pid) => {
                            tracing::warn!(
                                "taking over the lock {} left by pid {} ({}), which no longer runs",
                                path.display(),
                                h.pid,
                                h.operation
                            );
                            fs::remove_file(path).map_err(io)?;
                        }
                        Some(h) => {
                            return Err(StateError::Locked {
                                path: path.display().to_string(),
                                holder: h.holder,
                                host: h.host,
                                pid: h.pid,
                                operation: h.operation,
                                since: h.created,
                            });
                        }
                        None => {
                            return Err(StateError::Locked {
                                path: path.display().to_string(),
                                holder: "unknown".into(),
                                host: "unknown".into(),
                                pid: 0,
                                operation: "unknown (unreadable lock file)".into(),
                                since: "unknown".into(),
                            });
                        }
                    }
                }
                Err(e) => return Err(io(e)),
            }
        }
        Err(io(std::io::Error::other("could not take the lock")))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let ours = fs::read_to_string(&self.path)
            .ok()
            .and_then(|t| serde_json::from_str::<LockInfo>(&t).ok())
            .is_some_and(|h| h.id == self.info.id);
        if ours {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Whether a process of this host still runs. Where that cannot be told, it is
/// assumed to run, so a lock is never taken from a live holder.
fn process_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    if !proc.is_dir() {
        return true;
    }
    proc.join(pid.to_string()).exists()
}
