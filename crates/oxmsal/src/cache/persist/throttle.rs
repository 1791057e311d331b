//! The throttle state in a file beside the cache's, under the same lock
//! protocol: [`ThrottleStore`]'s file persistence lives with the other stores,
//! so the HTTP layer below needs nothing from the cache.

use std::path::Path;

use super::file::DEFAULT_LOCK_TIMEOUT;
use super::fs::{read_document, write_private_file, Links, DEFAULT_MAX_DOCUMENT_SIZE};
use super::lock::{lock_path_for, LockFile};
use crate::error::{Error, Result};
use crate::http::ThrottleStore;
use crate::secret::WipedString;

impl ThrottleStore {
    /// Loads the store from a file written by [`save_file`](Self::save_file); a
    /// missing file leaves it empty, a malformed one is a `Cache` error naming it.
    /// The file is opened without following a symbolic link, and must be a
    /// regular file of this user's, not writable by others (a group-writable
    /// one is read with a logged warning) and at most 64 MiB, or it is a
    /// `Cache` error naming it.
    ///
    /// ```
    /// let store = oxmsal::http::ThrottleStore::new();
    /// store.load_file(std::path::Path::new("/nonexistent/oxmsal-throttle.json")).unwrap();
    /// assert!(store.is_empty());
    /// ```
    pub fn load_file(&self, path: &std::path::Path) -> Result<()> {
        if let Some(text) = read_state(path)? {
            self.restore_json(&text).map_err(|e| malformed(path, &e))?;
        }
        Ok(())
    }

    /// Writes the store (expired entries dropped) atomically, mode 0600 —
    /// only when it holds something new: nothing recorded since it was
    /// loaded from the file (or last saved) writes nothing, takes no lock,
    /// and works in a read-only directory.
    ///
    /// Entries another process saved to the file since this store was loaded
    /// are merged in first (of two for the same request, the later `until`
    /// wins), so the last process to save does not erase another's back-off.
    /// The read, merge and write hold the file's lock (`<path>.lockfile`, as
    /// for a cache file, waiting up to 10 s; see
    /// [`save_file_with_lock_timeout`](Self::save_file_with_lock_timeout)):
    /// two processes saving at the same moment take turns, and neither loses
    /// the other's entries. Neither the lock file nor the state file is
    /// opened through a symbolic link.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("oxmsal-doc-throttle-{}.json", std::process::id()));
    /// let store = oxmsal::http::ThrottleStore::new();
    /// store.save_file(&path, 0).unwrap();
    /// assert!(!path.exists(), "nothing to save: nothing written");
    /// store.deserialize("{}").unwrap();
    /// store.save_file(&path, 0).unwrap();
    /// assert!(path.exists());
    /// # std::fs::remove_file(&path).ok();
    /// ```
    pub fn save_file(&self, path: &std::path::Path, now: u64) -> Result<()> {
        self.save_file_with_lock_timeout(path, now, DEFAULT_LOCK_TIMEOUT)
    }

    /// [`save_file`](Self::save_file), waiting up to `lock_timeout` for the
    /// file's lock (then a `Cache` error naming the lock file).
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("oxmsal-doc-throttle-t-{}.json", std::process::id()));
    /// let wait = std::time::Duration::from_millis(500);
    /// oxmsal::http::ThrottleStore::new().save_file_with_lock_timeout(&path, 0, wait).unwrap();
    /// # std::fs::remove_file(&path).ok();
    /// ```
    pub fn save_file_with_lock_timeout(
        &self,
        path: &std::path::Path,
        now: u64,
        lock_timeout: std::time::Duration,
    ) -> Result<()> {
        let Some(made) = self.unsaved_changes() else {
            return Ok(());
        };
        let _lock = LockFile::acquire_blocking(&lock_path_for(path), lock_timeout)?;
        // Merging drops what expired, here and on disk (no file: nothing to add).
        let stored = read_state(path)?;
        self.merge_json(stored.as_deref().map_or("{}", |s| s), now)
            .map_err(|e| malformed(path, &e))?;
        let json = self.serialize()?;
        write_private_file(path, json.as_bytes())?;
        // Changes made meanwhile (`made` grew) stay unsaved.
        self.mark_saved(made);
        Ok(())
    }
}

/// The text of a throttle state file; `None` when there is no file, a `Cache`
/// error naming it when it cannot be read or is not to be trusted (see
/// [`load_file`](ThrottleStore::load_file)).
fn read_state(path: &Path) -> Result<Option<WipedString>> {
    read_document(
        path,
        DEFAULT_MAX_DOCUMENT_SIZE,
        Links::Refuse,
        "the throttle state file",
    )
}

/// A `Cache` error: the file at `path` is not a throttle state.
fn malformed(path: &Path, reason: &str) -> Error {
    Error::cache(
        format!(
            "throttle state file {} is malformed: {reason}",
            path.display()
        ),
        None,
    )
}
