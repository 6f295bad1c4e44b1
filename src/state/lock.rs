//! The lock beside a state: one plan or apply at a time, held as a lease.
//!
//! Both backends follow the same rules. The lock appears with its whole content
//! or not at all (a hard link of a written temporary file; an S3 put with
//! `If-None-Match: *`). It carries an expiry that the holder renews while it
//! works. A lock whose lease has expired, or whose holder was a process of this
//! host that no longer runs, is taken over, and the tool says so.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::StateError;
use super::s3::{S3Place, is_precondition_failed};

/// The lease when `INFRA_LOCK_LEASE` (seconds) does not say otherwise.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LockInfo {
    pub id: String,
    pub holder: String,
    pub host: String,
    pub pid: u32,
    pub operation: String,
    pub created: String,
    /// When the lease ends unless the holder renews it (RFC 3339). Locks written
    /// before leases existed have none and never expire.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub expires: String,
    /// The holder's kernel boot (`/proc/sys/kernel/random/boot_id`) and PID
    /// namespace (`/proc/self/ns/pid`): with the host name, what proves that a
    /// pid that no longer runs was the holder's (containers share host names,
    /// and pids are reused after a reboot). Empty where unknown.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub boot_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pid_namespace: String,
}

impl LockInfo {
    /// A new lock whose lease starts `now`, by the clock leases are measured
    /// with where it is kept.
    fn new(operation: &str, lease: Duration, now: DateTime<Utc>) -> LockInfo {
        LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            holder: std::env::var("USER").unwrap_or_else(|_| "unknown".into()),
            host: this_host(),
            pid: std::process::id(),
            operation: operation.to_string(),
            created: now.to_rfc3339_opts(SecondsFormat::Secs, true),
            expires: expiry(now, lease),
            boot_id: boot_id(),
            pid_namespace: pid_namespace(),
        }
    }

    /// Whether the holder ran in this very process space: same host, same boot,
    /// same PID namespace, all known. Only then does its pid say anything here.
    fn same_process_space(&self) -> bool {
        let known = |s: &str| !s.is_empty();
        self.host == this_host()
            && known(&self.boot_id)
            && self.boot_id == boot_id()
            && known(&self.pid_namespace)
            && self.pid_namespace == pid_namespace()
    }

    /// Why this lock may be taken over now, if it may.
    pub fn stale_because(&self, now: DateTime<Utc>) -> Option<String> {
        if let Ok(t) = DateTime::parse_from_rfc3339(&self.expires)
            && t + CLOCK_GRAIN < now
        {
            return Some(format!("its lease expired at {}", self.expires));
        }
        if self.same_process_space() && !process_alive(self.pid) {
            return Some(format!("its holder, pid {} on this host, no longer runs", self.pid));
        }
        None
    }

    fn locked(&self, location: &str) -> StateError {
        StateError::Locked { path: location.to_string(), lock: Box::new(self.clone()) }
    }
}

/// When a lease that starts `now` ends, rounded up to the whole second it is
/// written in (never down: a lease is never shorter than asked).
fn expiry(now: DateTime<Utc>, lease: Duration) -> String {
    let lease = chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
    let end = now.checked_add_signed(lease).unwrap_or(now);
    let end = match end.timestamp_subsec_nanos() {
        0 => end,
        n => end + chrono::Duration::nanoseconds(1_000_000_000 - i64::from(n)),
    };
    end.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// How much later than its written end a lease is judged expired: the clocks
/// leases are measured with (HTTP `Date`) tell whole seconds only.
const CLOCK_GRAIN: chrono::Duration = chrono::Duration::seconds(1);

fn this_host() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}

/// The lease length: `INFRA_LOCK_LEASE` in seconds, or 15 minutes.
pub fn lease() -> Duration {
    std::env::var("INFRA_LOCK_LEASE")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|&s| s > 0)
        .map_or(DEFAULT_LEASE, Duration::from_secs)
}

/// Held while it lives: renewed in the background, released on drop.
pub struct Lock {
    pub info: LockInfo,
    /// Where it is, for messages.
    pub location: String,
    /// Set when the lock was taken over from a stale holder.
    pub took_over: Option<Takeover>,
    place: Place,
    renewer: Option<tokio::task::JoinHandle<()>>,
    lost: tokio::sync::watch::Receiver<Option<String>>,
}

/// A stale lock this run took over: whose it was and why it was stale.
pub struct Takeover {
    pub why: String,
    pub from: LockInfo,
}

/// What a renewal says when another run holds the lock now.
const NOT_OURS: &str = "is no longer this run's";

#[derive(Clone)]
enum Place {
    Local(PathBuf),
    S3 {
        at: S3Place,
        /// The ETag of the lock object as this process last wrote it.
        etag: Arc<Mutex<Option<String>>>,
    },
}

impl Place {
    /// Now, by the clock this place's leases are measured with: this host's for
    /// a local file, AWS's for S3.
    fn now(&self) -> DateTime<Utc> {
        match self {
            Place::Local(_) => Utc::now(),
            Place::S3 { at, .. } => at.clock.now(),
        }
    }
}

impl std::fmt::Debug for Lock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lock").field("location", &self.location).field("info", &self.info).finish()
    }
}

impl Lock {
    /// Takes the lock file at `path` or fails at once naming the holder.
    pub async fn acquire_local(path: &Path, operation: &str) -> Result<Lock, StateError> {
        let lease = lease();
        let info = LockInfo::new(operation, lease, Utc::now());
        let location = path.display().to_string();
        let io = |source| StateError::Io { path: location.clone(), source };
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        fs::create_dir_all(dir).map_err(io)?;
        let mut took_over = None;
        // Reading a stale lock, removing it and linking this one in is one step
        // among the infra processes of this host: a lock taken over by another
        // in between is never removed.
        let _guard = super::guard(path).map_err(io)?;
        for _ in 0..3 {
            match link_new(path, &info) {
                Ok(()) => {
                    return Ok(Lock::start(
                        info,
                        location,
                        took_over,
                        Place::Local(path.to_path_buf()),
                        lease,
                    ));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let text = fs::read_to_string(path).unwrap_or_default();
                    let Ok(held) = serde_json::from_str::<LockInfo>(&text) else {
                        return Err(StateError::Io {
                            path: location.clone(),
                            source: std::io::Error::other(
                                "the lock file is unreadable; if no run holds it, remove it",
                            ),
                        });
                    };
                    let Some(why) = held.stale_because(Utc::now()) else {
                        return Err(held.locked(&location));
                    };
                    took_over = Some(Takeover { why, from: held });
                    fs::remove_file(path).map_err(io)?;
                }
                Err(e) => return Err(io(e)),
            }
        }
        Err(io(std::io::Error::other(
            "could not take the lock: it changed hands while infra tried",
        )))
    }

    /// Takes the lock object `<key>.lock` or fails at once naming the holder.
    pub async fn acquire_s3(at: S3Place, operation: &str) -> Result<Lock, StateError> {
        let lease = lease();
        // Lease times in S3 are AWS's (the `Date` of its answers; credentials
        // were checked with STS before, so one has come): every host agrees on
        // them whatever its own clock says.
        let info = LockInfo::new(operation, lease, at.clock.now());
        let location = at.url();
        let body = serde_json::to_vec_pretty(&info).expect("lock serialises");
        let mut took_over = None;
        let mut replace: Option<String> = None;
        let mut attempts = 0;
        let etag = loop {
            attempts += 1;
            if attempts > 3 {
                return Err(
                    at.error("could not take the lock: it changed hands while infra tried".into())
                );
            }
            let mut put = at
                .client
                .put_object()
                .bucket(&at.bucket)
                .set_expected_bucket_owner(at.owner.clone())
                .key(&at.key)
                .content_type("application/json")
                .body(ByteStream::from(body.clone()));
            put = match &replace {
                Some(etag) => put.if_match(etag),
                None => put.if_none_match("*"),
            };
            match put.send().await {
                Ok(out) => break out.e_tag().map(str::to_string),
                Err(e) if is_precondition_failed(&e) => {
                    replace = None;
                    let Some((text, etag)) = at.get().await? else {
                        continue; // released in between: try again
                    };
                    let Ok(held) = serde_json::from_str::<LockInfo>(&text) else {
                        return Err(at.error(format!(
                            "the lock object is unreadable; if no run holds it, delete {location} by hand"
                        )));
                    };
                    if held.id == info.id {
                        // This run's own put, retried after its answer was lost.
                        break Some(etag);
                    }
                    let Some(why) = held.stale_because(at.clock.now()) else {
                        return Err(held.locked(&location));
                    };
                    took_over = Some(Takeover { why, from: held });
                    // Replace exactly the stale lock just read: of two runs taking
                    // it over at once, one wins.
                    replace = Some(etag);
                }
                Err(e) => return Err(at.sdk_error("PutObject", e)),
            }
        };
        let etag = Arc::new(Mutex::new(etag));
        Ok(Lock::start(info, location, took_over, Place::S3 { at, etag }, lease))
    }

    fn start(
        info: LockInfo,
        location: String,
        took_over: Option<Takeover>,
        place: Place,
        lease: Duration,
    ) -> Lock {
        let (lost_tx, lost) = tokio::sync::watch::channel(None);
        let renewer = tokio::runtime::Handle::try_current().ok().map(|rt| {
            let (mut info, place, location) = (info.clone(), place.clone(), location.clone());
            rt.spawn(async move {
                let every = (lease / 3).max(Duration::from_secs(1));
                let mut renewed = tokio::time::Instant::now();
                loop {
                    tokio::time::sleep(every).await;
                    // Tried again with backoff until the lease would end; then
                    // the lock is lost, and the run stops starting steps.
                    let mut delay = Duration::from_millis(500);
                    loop {
                        info.expires = expiry(place.now(), lease);
                        let left = (renewed + lease)
                            .saturating_duration_since(tokio::time::Instant::now());
                        match renew(&place, &info, left).await {
                            Ok(()) => {
                                renewed = tokio::time::Instant::now();
                                break;
                            }
                            Err(e) if e == NOT_OURS => {
                                let _ = lost_tx.send(Some(format!("{location} {NOT_OURS}")));
                                return;
                            }
                            Err(e) => {
                                let ends = renewed + lease;
                                if tokio::time::Instant::now() + delay >= ends {
                                    let _ = lost_tx.send(Some(format!(
                                        "its lease ended before it could be renewed ({e})"
                                    )));
                                    return;
                                }
                                tracing::warn!(
                                    "could not renew the lock {location}: {e}; trying again"
                                );
                                tokio::time::sleep(delay).await;
                                delay = (delay * 2).min(every);
                            }
                        }
                    }
                }
            })
        });
        Lock { info, location, took_over, place, renewer, lost }
    }

    /// Turns to `Some(why)` when the lock is lost: taken by another run, or its
    /// lease ended before a renewal went through.
    pub fn lost(&self) -> tokio::sync::watch::Receiver<Option<String>> {
        self.lost.clone()
    }

    /// What plan and apply say about it on stderr.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "lock {} (id {}, lease until {}, renewed while this runs)",
            self.location, self.info.id, self.info.expires
        );
        if let Some(t) = &self.took_over {
            s.push_str(&format!("; taken over because {}", t.why));
        }
        s
    }

    /// The warning a run that took the lock over gives its user.
    pub fn takeover_warning(&self) -> Option<String> {
        let Takeover { why, from: held } = self.took_over.as_ref()?;
        Some(format!(
            "warning: taking over the lock {} held by {}@{} (pid {}, {} since {}): {why}",
            self.location, held.holder, held.host, held.pid, held.operation, held.created
        ))
    }
}

/// Writes the lock's content to a temporary file and hard-links it into place,
/// which fails if a lock is there.
fn link_new(path: &Path, info: &LockInfo) -> std::io::Result<()> {
    let tmp = written_beside(path, info)?;
    fs::hard_link(tmp.path(), path)
}

/// A temporary file in the lock's folder holding the lock's content, synced.
fn written_beside(path: &Path, info: &LockInfo) -> std::io::Result<tempfile::NamedTempFile> {
    let json = serde_json::to_vec_pretty(info).expect("lock serialises");
    super::local::private_beside(path, ".infra-lock", &json)
}

/// The least time one renewal (its retries included) may take: a slow answer
/// that still comes renews a lease no one else took (the write is conditional).
const RENEWAL_AT_LEAST: Duration = Duration::from_secs(5);

/// Extends the lease, if the lock is still this run's; an S3 renewal (its
/// retries included) takes at most `within`, what is left of the lease, or
/// `RENEWAL_AT_LEAST`.
async fn renew(place: &Place, info: &LockInfo, within: Duration) -> Result<(), String> {
    match place {
        Place::Local(path) => {
            let _guard = super::guard(path).map_err(|e| e.to_string())?;
            let held: Option<LockInfo> =
                fs::read_to_string(path).ok().and_then(|t| serde_json::from_str(&t).ok());
            if held.is_none_or(|h| h.id != info.id) {
                return Err(NOT_OURS.into());
            }
            let tmp = written_beside(path, info).map_err(|e| e.to_string())?;
            tmp.persist(path).map_err(|e| e.error.to_string())?;
            Ok(())
        }
        Place::S3 { at, etag } => {
            let current = etag.lock().expect("etag lock").clone();
            let out = at
                .client
                .put_object()
                .bucket(&at.bucket)
                .set_expected_bucket_owner(at.owner.clone())
                .key(&at.key)
                .content_type("application/json")
                .set_if_match(current)
                .body(ByteStream::from(serde_json::to_vec_pretty(info).expect("lock serialises")))
                .customize()
                .config_override(
                    aws_sdk_s3::config::Builder::new().timeout_config(
                        aws_config::timeout::TimeoutConfig::builder()
                            .operation_timeout(within.max(RENEWAL_AT_LEAST))
                            .build(),
                    ),
                )
                .send()
                .await
                .map_err(|e| {
                    if is_precondition_failed(&e) {
                        NOT_OURS.to_string()
                    } else {
                        at.sdk_error("PutObject", e).to_string()
                    }
                })?;
            *etag.lock().expect("etag lock") = out.e_tag().map(str::to_string);
            Ok(())
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        if let Some(r) = self.renewer.take() {
            r.abort();
        }
        match &self.place {
            Place::Local(path) => {
                let _guard = super::guard(path);
                let ours = fs::read_to_string(path)
                    .ok()
                    .and_then(|t| serde_json::from_str::<LockInfo>(&t).ok())
                    .is_some_and(|h| h.id == self.info.id);
                if ours {
                    let _ = fs::remove_file(path);
                }
            }
            Place::S3 { at, etag } => {
                // Delete only the lock as this run last wrote it.
                let Some(etag) = etag.lock().expect("etag lock").clone() else {
                    return;
                };
                let Ok(rt) = tokio::runtime::Handle::try_current() else {
                    return;
                };
                if rt.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
                    return;
                }
                let at = at.clone();
                tokio::task::block_in_place(|| {
                    rt.block_on(async {
                        if let Err(e) = at.delete_if_match(&etag).await {
                            tracing::warn!("could not release the lock {}: {e}", at.url());
                        }
                    })
                });
            }
        }
    }
}

/// The lock as it is now, if there is one.
pub async fn peek_local(path: &Path) -> Result<Option<LockInfo>, StateError> {
    let location = path.display().to_string();
    match fs::read_to_string(path) {
        Ok(t) => serde_json::from_str(&t).map(Some).map_err(|e| StateError::Io {
            path: location,
            source: std::io::Error::other(format!("the lock file is unreadable: {e}")),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StateError::Io { path: location, source }),
    }
}

pub async fn peek_s3(at: &S3Place) -> Result<Option<LockInfo>, StateError> {
    match at.get().await? {
        Some((text, _)) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| at.error(format!("the lock object is unreadable: {e}"))),
        None => Ok(None),
    }
}

/// Removes a lock by its id, whoever holds it (`infra force-unlock`). Returns
/// what it removed.
pub async fn force_unlock_local(path: &Path, id: &str) -> Result<LockInfo, StateError> {
    let location = path.display().to_string();
    let Some(held) = peek_local(path).await? else {
        return Err(StateError::NoLock { path: location });
    };
    if held.id != id {
        return Err(StateError::WrongLockId {
            path: location,
            given: id.to_string(),
            held: held.id,
        });
    }
    fs::remove_file(path).map_err(|source| StateError::Io { path: location, source })?;
    Ok(held)
}

pub async fn force_unlock_s3(at: &S3Place, id: &str) -> Result<LockInfo, StateError> {
    let location = at.url();
    let Some((text, etag)) = at.get().await? else {
        return Err(StateError::NoLock { path: location });
    };
    let held: LockInfo = serde_json::from_str(&text)
        .map_err(|e| at.error(format!("the lock object is unreadable: {e}")))?;
    if held.id != id {
        return Err(StateError::WrongLockId {
            path: location,
            given: id.to_string(),
            held: held.id,
        });
    }
    at.delete_if_match(&etag).await?;
    Ok(held)
}

/// Whether a process of this host still runs. Where that cannot be told, it is
/// assumed to run, so a lock is never taken from a live holder.
/// Whether a pid runs. `kill(pid, 0)` sees every process of this PID
/// namespace, other users' too (where `/proc` may hide them, with `hidepid`):
/// only "no such process" is an answer that it is gone.
#[cfg(unix)]
fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return true;
    };
    // SAFETY: signal 0 checks for existence and permission; nothing is sent.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

#[cfg(not(unix))]
fn process_alive(_pid: u32) -> bool {
    true
}

fn boot_id() -> String {
    fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn pid_namespace() -> String {
    fs::read_link("/proc/self/ns/pid").map(|p| p.display().to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(expires: &str, host: &str, pid: u32) -> LockInfo {
        LockInfo {
            id: "x".into(),
            holder: "ci".into(),
            host: host.into(),
            pid,
            operation: "apply".into(),
            created: "2026-01-01T00:00:00Z".into(),
            expires: expires.into(),
            boot_id: boot_id(),
            pid_namespace: pid_namespace(),
        }
    }

    #[test]
    fn a_dead_pid_proves_nothing_from_another_boot_namespace_or_an_old_lock() {
        let now = Utc::now();
        let gone = i32::MAX as u32;
        let mine = held("", &this_host(), gone);
        assert!(mine.stale_because(now).is_some(), "same host, boot and namespace");
        let rebooted = LockInfo { boot_id: "another-boot".into(), ..mine.clone() };
        assert_eq!(rebooted.stale_because(now), None);
        let container = LockInfo { pid_namespace: "pid:[1]".into(), ..mine.clone() };
        assert_eq!(container.stale_because(now), None);
        let old = LockInfo { boot_id: String::new(), pid_namespace: String::new(), ..mine };
        assert_eq!(old.stale_because(now), None, "an old lock waits for its lease");
    }

    #[test]
    fn a_lease_expires() {
        let now = DateTime::parse_from_rfc3339("2026-06-01T12:00:00Z").unwrap().with_timezone(&Utc);
        let other = "another-host-entirely";
        assert!(
            held("2026-06-01T11:59:58Z", other, 1).stale_because(now).unwrap().contains("expired")
        );
        assert_eq!(
            held("2026-06-01T11:59:59Z", other, 1).stale_because(now),
            None,
            "a second of grace for whole-second clocks"
        );
        assert_eq!(held("2026-06-01T12:00:01Z", other, 1).stale_because(now), None);
        // No expiry (an old lock file) never expires; a live pid here is kept.
        assert_eq!(held("", other, 1).stale_because(now), None);
        let me = std::process::id();
        assert_eq!(held("", &this_host(), me).stale_because(now), None);
        assert!(
            held("", &this_host(), i32::MAX as u32)
                .stale_because(now)
                .unwrap()
                .contains("no longer runs")
        );
    }
}
