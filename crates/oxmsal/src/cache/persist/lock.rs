//! The cross-process lock of a cache file, under msal-extensions' convention so
//! that oxmsal processes and MSAL for Python (`msal_extensions.PersistedTokenCache`)
//! take turns on one file.
//!
//! msal-extensions 1.3 locks `<cache>.lockfile` one of two ways:
//! - `filelock.py` (the default: portalocker is an optional extra): the lock is
//!   the file's existence — created with `open(path, "xb")` holding
//!   `"{pid} {argv0}"`, removed on release; waiters retry every 0.25 s and give
//!   up after 5 s;
//! - `cache_lock.py` (portalocker installed): the same wait for the file to be
//!   absent, then an exclusive `flock` on it; removed after unlocking.
//!
//! oxmsal honours both: it creates the file exclusively (so msal-extensions
//! waits), `flock`s it (so a waiter can tell a live holder from a dead one: the
//! kernel drops the lock of a killed process) and writes `"{pid} oxmsal"`. On
//! release it removes the file *before* unlocking, so a waiter that gets the lock
//! of a removed file notices (the path no longer names that file) and retries.
//!
//! A lock file nobody holds is taken over when its holder is known dead: an
//! oxmsal file whose `flock` is free, or an msal-extensions file whose pid is
//! gone; otherwise once it is older than [`STALE_AFTER`].
//!
//! A lock file is never opened through a symbolic link, and an existing one
//! must be a regular file of this user's ([`super::fs`]): a link planted by
//! someone who can write the directory is an error naming it, and the file it
//! points to is left untouched.

use std::fs::{self, File, TryLockError};
use std::io::{self, Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::backoff;
use crate::error::{Error, Result};

/// What oxmsal writes after its pid, and recognizes as its own.
const MARK: &str = "oxmsal";

/// An unlocked lock file without a provably dead holder counts as abandoned
/// after this long: msal-extensions' waiters give up after 5 s, so no healthy
/// holder keeps the lock longer.
const STALE_AFTER: Duration = Duration::from_secs(5);

/// Waiters poll at most this far apart.
const MAX_POLL: Duration = Duration::from_millis(20);

/// Random extra added to each poll delay, at most this much.
const POLL_JITTER: Duration = Duration::from_micros(1020);

/// The lock file of `path`: `<path>.lockfile`, beside it.
pub(crate) fn lock_path_for(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lockfile");
    PathBuf::from(name)
}

/// A held lock; dropping it releases the lock.
#[derive(Debug)]
pub(crate) struct LockFile {
    path: PathBuf,
    file: File,
}

impl LockFile {
    /// Takes the lock, waiting up to `timeout` (asynchronously).
    pub(crate) async fn acquire(path: &Path, timeout: Duration) -> Result<LockFile> {
        let mut wait = Wait::new(timeout);
        loop {
            if let Some(lock) = try_acquire(path)? {
                return Ok(lock);
            }
            match wait.next() {
                Some(delay) => tokio::time::sleep(delay).await,
                None => return Err(timed_out(path, timeout)),
            }
        }
    }

    /// Takes the lock, blocking the thread up to `timeout`.
    pub(crate) fn acquire_blocking(path: &Path, timeout: Duration) -> Result<LockFile> {
        let mut wait = Wait::new(timeout);
        loop {
            if let Some(lock) = try_acquire(path)? {
                return Ok(lock);
            }
            match wait.next() {
                Some(delay) => std::thread::sleep(delay),
                None => return Err(timed_out(path, timeout)),
            }
        }
    }
}

impl Drop for LockFile {
    fn drop(&mut self) {
        // Remove only our own file (a waiter that wrongly judged it abandoned
        // may have replaced it), and before the flock goes with the descriptor.
        if same_file(&self.file, &self.path) {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Growing, jittered poll delays up to a deadline.
struct Wait {
    deadline: Instant,
    /// Polls so far: the delay doubles with each, from 1 ms up to MAX_POLL.
    polls: u32,
}

impl Wait {
    fn new(timeout: Duration) -> Self {
        Wait {
            deadline: Instant::now() + timeout,
            polls: 0,
        }
    }

    /// The next delay, or `None` once the deadline has passed.
    fn next(&mut self) -> Option<Duration> {
        let left = self.deadline.checked_duration_since(Instant::now())?;
        if left.is_zero() {
            return None;
        }
        // Jitter keeps many waiters from polling in lockstep.
        let grown = backoff::exponential(Duration::from_millis(1), self.polls, MAX_POLL);
        let delay = (grown + backoff::full_jitter(POLL_JITTER)).min(left);
        self.polls = self.polls.saturating_add(1);
        Some(delay)
    }
}

fn lock_error(what: &str, path: &Path, source: io::Error) -> Error {
    Error::cache(
        format!("{what} the token cache lock file {}", path.display()),
        Some(Box::new(source)),
    )
}

/// What a lock file is called in errors.
const WHAT: &str = "the token cache lock file";

fn timed_out(path: &Path, timeout: Duration) -> Error {
    let holder = super::fs::read_note(path, 200)
        .filter(|text| !text.trim().is_empty())
        .map(|text| format!(" (held by `{}`)", text.trim()))
        .unwrap_or_default();
    Error::cache(
        format!(
            "timed out after {} ms waiting for the token cache lock file {}{holder}; \
             if no process is using the cache, delete the lock file",
            timeout.as_millis(),
            path.display()
        ),
        None,
    )
}

/// One attempt: the lock, or `None` when someone else holds it.
fn try_acquire(path: &Path) -> Result<Option<LockFile>> {
    match create_new(path) {
        Ok(file) => {
            // Ours by existence. The flock is the liveness signal; a waiter
            // probing the new file may hold it for an instant.
            let locked = (0..3).any(|_| match file.try_lock() {
                Ok(()) => true,
                Err(_) => {
                    std::thread::yield_now();
                    false
                }
            });
            let mut lock = LockFile {
                path: path.to_owned(),
                file,
            };
            // Without the flock the file stays empty: waiters then judge it
            // by age, never as the file of a dead oxmsal.
            if locked {
                lock.stamp()
                    .map_err(|e| lock_error("cannot write", path, e))?;
            }
            Ok(Some(lock))
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => take_over_if_abandoned(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
            if let Some(dir) = dir {
                super::fs::create_dir(dir)
                    .map_err(|e| lock_error("cannot create the directory of", path, e))?;
            }
            Ok(None)
        }
        Err(e) => Err(lock_error("cannot create", path, e)),
    }
}

/// An existing lock file: ours to take when its holder is gone.
fn take_over_if_abandoned(path: &Path) -> Result<Option<LockFile>> {
    // Not through a link; a regular file of this user's.
    let Some(mut file) = super::fs::open_lock_file(path, WHAT)? else {
        // Released meanwhile: the next attempt creates it.
        return Ok(None);
    };
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Ok(None),
        Err(TryLockError::Error(e)) => return Err(lock_error("cannot lock", path, e)),
    }
    // The flock of a file already removed (and maybe replaced) is worth nothing.
    if !same_file(&file, path) {
        return Ok(None);
    }
    let mut text = String::new();
    // An unreadable holder note is judged by age alone.
    let _ = file.read_to_string(&mut text);
    let age = file
        .metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .unwrap_or_default();
    if !abandoned(&text, age) {
        return Ok(None);
    }
    tracing::warn!(lock_file = %path.display(), "taking over an abandoned token cache lock file");
    let mut lock = LockFile {
        path: path.to_owned(),
        file,
    };
    lock.stamp()
        .map_err(|e| lock_error("cannot write", path, e))?;
    Ok(Some(lock))
}

/// Whether an unlocked lock file holding `note` and `age` old is abandoned.
fn abandoned(note: &str, age: Duration) -> bool {
    let mut parts = note.split_whitespace();
    let pid = parts.next().and_then(|p| p.parse::<u32>().ok());
    // oxmsal writes its note only while holding the flock and removes the file
    // before unlocking: its note with the flock free means the holder died.
    if pid.is_some() && parts.next() == Some(MARK) && parts.next().is_none() {
        return true;
    }
    pid.is_some_and(process_is_gone) || age > STALE_AFTER
}

impl LockFile {
    /// Writes the holder note, as msal-extensions does (`"{pid} {argv0}"`).
    fn stamp(&mut self) -> io::Result<()> {
        self.file.set_len(0)?;
        self.file.rewind()?;
        self.file
            .write_all(format!("{} {MARK}", std::process::id()).as_bytes())
    }
}

fn create_new(path: &Path) -> io::Result<File> {
    super::fs::create_new_private(path, true)
}

/// Whether `path` still names the open `file`.
#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    // The path itself: a link put in its place is not our file.
    match (file.metadata(), fs::symlink_metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &File, path: &Path) -> bool {
    path.exists()
}

/// Whether no process has this pid here. Only Linux can tell (`/proc`); a
/// holder in another pid namespace looks gone, the price of not waiting
/// [`STALE_AFTER`] after every crash.
#[cfg(target_os = "linux")]
fn process_is_gone(pid: u32) -> bool {
    Path::new("/proc/self").exists() && !Path::new("/proc").join(pid.to_string()).exists()
}

#[cfg(not(target_os = "linux"))]
fn process_is_gone(_pid: u32) -> bool {
    false
}

#[cfg(test)]
mod tests;
