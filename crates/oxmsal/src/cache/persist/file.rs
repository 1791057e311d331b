//! [`FileStore`]: the whole cache in one file, shared by processes and by MSAL
//! for Python (msal-extensions' `FilePersistence` + `PersistedTokenCache`).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::secret::WipedString;

use super::fs::{
    read_document, remove_orphaned_temp_files, write_atomically, write_private_file_modified,
    Links, DEFAULT_MAX_DOCUMENT_SIZE,
};
use super::lock::{lock_path_for, LockFile};
use super::{CachePersistence, Edit, Fingerprint, PartitionKey, PersistFuture};
use crate::error::{Error, Result};

/// What the cache file is called in errors.
pub(crate) const CACHE_FILE: &str = "the token cache file";

/// How long an update waits for the lock by default.
pub(crate) const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// How far ahead of the clock a written file's modification time is set.
/// msal-extensions reloads the file only when its mtime is later than the
/// moment it last read it, and it reads without the lock: a write landing while
/// it parses — or within the file system's coarse timestamp granularity —
/// would otherwise never be seen, and its next save would drop our tokens.
const MTIME_LEAD: Duration = Duration::from_secs(2);

/// How long ago a file must have last changed before its metadata is trusted
/// to say it has not changed since: file times move in coarse ticks, so two
/// writes of the same size within one tick (one in place, or a rename reusing
/// an inode) can leave identical metadata. Racy git's rule.
const DEFAULT_SETTLE_TIME: Duration = Duration::from_secs(2);

/// The token cache in one file, in MSAL's format, shared safely by any number
/// of processes — oxmsal's and MSAL for Python's with msal-extensions.
///
/// - One file holds every partition (the partition is ignored), as
///   msal-extensions keeps it, so both read and write the same file.
/// - [`update`](CachePersistence::update) holds the lock file
///   `<cache>.lockfile` (msal-extensions' name and protocol: see
///   [`lock_path`](Self::lock_path)), reads the file, applies the edit and
///   replaces the file atomically (temporary file, mode 0600, fsync, rename).
///   A process killed at any moment leaves the previous or the new file, whole.
/// - [`load`](CachePersistence::load) reads without the lock; a document that
///   does not parse is read again under the lock (msal-extensions writes in
///   place, so an unlocked read can catch it half-written).
/// - A file that is not an MSAL cache (corrupted, or something else) is a
///   [`Cache`](crate::ErrorKind::Cache) error naming it, and it is never
///   overwritten: an update fails before writing anything.
/// - [`fingerprint`](CachePersistence::fingerprint) is the file's identity,
///   size and times, given at once after an oxmsal write and otherwise once
///   the last change has [settled](Self::change_settle_time): an app reads
///   the file again only when it changed (MSAL Python's `PersistedTokenCache`
///   goes by the modification time alone), so a cache hit costs opening the
///   file for its metadata (opening, not a bare `stat`, so that NFS
///   revalidates it).
/// - The file must be owned by this process's user and not writable by other
///   users, or it is a [`Cache`](crate::ErrorKind::Cache) error naming it and
///   the fix (`chmod 600`, `chown`), as ssh refuses such keys: anyone who can
///   write it can plant tokens. A group-writable file (a 002 umask makes
///   them, and MSAL for Python writes the cache with the umask's mode) is
///   read, with a logged warning.
/// - The file is read only up to a cap ([`max_document_size`](Self::max_document_size),
///   64 MiB by default): a larger one is a Cache error naming the cap, and
///   it is left as it is.
/// - The lock file is never opened through a symbolic link and must be a
///   regular file of this user's; the temporary file is created exclusively.
/// - File operations are short and run in place; waiting for the lock sleeps
///   on Tokio's timer (the runtime needs timers enabled, as the HTTP client does).
///
/// ```
/// use std::time::Duration;
/// use oxmsal::cache::persist::{CachePersistence, FileStore, PartitionKey};
///
/// let dir = std::env::temp_dir().join(format!("oxmsal-doc-store-{}", std::process::id()));
/// let store = FileStore::new(dir.join("cache.json")).lock_timeout(Duration::from_secs(2));
/// assert_eq!(store.lock_path(), dir.join("cache.json.lockfile"));
/// let app = PartitionKey::App { client_id: "c".into(), realm: "t".into() };
/// let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
/// rt.block_on(async {
///     assert_eq!(store.load(&app).await?, None);
///     store.update(&app, &|stored| oxmsal::cache::persist::merge_documents(stored, "{}")).await?;
///     assert!(store.load(&app).await?.is_some());
///     Ok::<(), oxmsal::Error>(())
/// })?;
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), oxmsal::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct FileStore {
    path: PathBuf,
    lock_path: PathBuf,
    metadata_path: PathBuf,
    lock_timeout: Duration,
    settle_time: Duration,
    max_document_size: u64,
}

impl FileStore {
    /// A store for the cache file at `path` (created on the first update, in a
    /// 0700 directory when the directory is created too). Nothing is touched yet.
    ///
    /// ```
    /// let store = oxmsal::cache::persist::FileStore::new("/tmp/oxmsal-doc/cache.json");
    /// assert_eq!(store.path(), std::path::Path::new("/tmp/oxmsal-doc/cache.json"));
    /// ```
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        FileStore {
            lock_path: lock_path_for(&path),
            metadata_path: metadata::path_for(&path),
            path,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            settle_time: DEFAULT_SETTLE_TIME,
            max_document_size: DEFAULT_MAX_DOCUMENT_SIZE,
        }
    }

    /// How long ago the file must have last changed before its
    /// [fingerprint](CachePersistence::fingerprint) is given (default 2 s),
    /// unless oxmsal wrote it (its modification time, set 2 s ahead to the
    /// nanosecond, marks it); until then every load reads it. File times move
    /// in coarse ticks, so a second in-place write of the same size in the
    /// same tick (msal-extensions writes in place) could otherwise look like
    /// no change. Zero trusts the metadata at once.
    ///
    /// ```
    /// let store = oxmsal::cache::persist::FileStore::new("cache.json")
    ///     .change_settle_time(std::time::Duration::ZERO);
    /// # let _ = store;
    /// ```
    pub fn change_settle_time(mut self, settle: Duration) -> Self {
        self.settle_time = settle;
        self
    }

    /// How long an update waits for another process's lock before failing with
    /// a [`Cache`](crate::ErrorKind::Cache) error naming the lock file (default 10 s).
    ///
    /// ```
    /// let store = oxmsal::cache::persist::FileStore::new("cache.json")
    ///     .lock_timeout(std::time::Duration::from_millis(500));
    /// # let _ = store;
    /// ```
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// The largest cache file read (default
    /// [`DEFAULT_MAX_DOCUMENT_SIZE`], 64 MiB): a larger file is a
    /// [`Cache`](crate::ErrorKind::Cache) error naming the cap, for loads and
    /// updates alike, and the file is left as it is. The size is checked
    /// before reading and the read stops one byte past the cap, so a huge
    /// file costs no memory.
    ///
    /// ```
    /// let store = oxmsal::cache::persist::FileStore::new("cache.json")
    ///     .max_document_size(256 * 1024 * 1024);
    /// # let _ = store;
    /// ```
    pub fn max_document_size(mut self, bytes: u64) -> Self {
        self.max_document_size = bytes;
        self
    }

    /// The cache file.
    ///
    /// ```
    /// let store = oxmsal::cache::persist::FileStore::new("cache.json");
    /// assert_eq!(store.path(), std::path::Path::new("cache.json"));
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The lock file, `<cache>.lockfile`: the name msal-extensions'
    /// `PersistedTokenCache` uses. It exists only while a process holds the
    /// lock: created exclusively, `flock`ed, and removed on release.
    ///
    /// ```
    /// let store = oxmsal::cache::persist::FileStore::new("/c/cache.bin");
    /// assert_eq!(store.lock_path(), std::path::Path::new("/c/cache.bin.lockfile"));
    /// ```
    pub fn lock_path(&self) -> &Path {
        &self.lock_path
    }

    /// The discovery metadata file beside the cache, `<cache>.metadata.json`
    /// (see [`load_metadata`](CachePersistence::load_metadata)): MSAL for
    /// Python and msal-extensions never look at it.
    ///
    /// ```
    /// let store = oxmsal::cache::persist::FileStore::new("/c/cache.bin");
    /// assert_eq!(store.metadata_path(), std::path::Path::new("/c/cache.bin.metadata.json"));
    /// ```
    pub fn metadata_path(&self) -> &Path {
        &self.metadata_path
    }

    /// Replaces the whole file with `bytes` under its lock, waiting for the
    /// lock on this thread (up to the [lock timeout](Self::lock_timeout)):
    /// [`FileCache::save`](crate::cache::FileCache::save)'s write, a snapshot
    /// rather than a merge. `write` fills the temporary file (tests fail it).
    pub(crate) fn replace_blocking(
        &self,
        bytes: &[u8],
        write: impl FnOnce(&mut fs::File, &[u8]) -> io::Result<()>,
    ) -> Result<()> {
        let _lock = LockFile::acquire_blocking(&self.lock_path, self.lock_timeout)?;
        write_atomically(&self.path, bytes, write)
    }

    /// The whole stored document (every partition: one file holds them all),
    /// or `None` when there is no file. A file that is not an MSAL cache is a
    /// [`Cache`](crate::ErrorKind::Cache) error naming it.
    ///
    /// ```
    /// let store = oxmsal::cache::persist::FileStore::new("/nonexistent/oxmsal/cache.json");
    /// let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    /// assert_eq!(rt.block_on(store.read_document())?, None);
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    pub async fn read_document(&self) -> Result<Option<String>> {
        let Some(text) = self.read()? else {
            return Ok(None);
        };
        if !text.trim().is_empty() && shape::check(&text).is_ok() {
            return Ok(Some(text.to_string()));
        }
        // Empty or unparsable: maybe caught mid-write by an in-place writer.
        let _lock = LockFile::acquire(&self.lock_path, self.lock_timeout).await?;
        let Some(text) = self.read()? else {
            return Ok(None);
        };
        shape::check(&text).map_err(|problem| {
            Error::cache(
                format!(
                    "the token cache file {} is not an MSAL token cache ({problem}); it is left as it is",
                    self.path.display()
                ),
                None,
            )
        })?;
        Ok(Some(text.to_string()))
    }

    async fn update_document(&self, edit: Edit<'_>) -> Result<()> {
        let _lock = LockFile::acquire(&self.lock_path, self.lock_timeout).await?;
        let stored = self.read()?;
        let new = edit(stored.as_deref().map(String::as_str)).map_err(|e| {
            Error::cache(
                format!(
                    "cannot update the token cache file {} (left unchanged)",
                    self.path.display()
                ),
                Some(Box::new(e)),
            )
        })?;
        let new = WipedString::new(new);
        // Under the lock no oxmsal process is writing this file: any temporary
        // file of it is left by one that died mid-write.
        remove_orphaned_temp_files(&self.path);
        write_private_file_modified(&self.path, new.as_bytes(), SystemTime::now() + MTIME_LEAD)
    }
}

/// The file's metadata, asked of an open handle: on NFS, opening revalidates
/// the attributes (close-to-open consistency), where a bare `stat` may answer
/// from an attribute cache up to a minute old.
fn opened_metadata(path: &Path) -> Option<fs::Metadata> {
    super::fs::opened_metadata(path)
}

/// Whether the file was last written by oxmsal: its modification time is
/// [`MTIME_LEAD`] ahead of its change time, to the nanosecond of the writer's
/// clock. Such metadata needs no settling: any later write moves it — a
/// rename brings another inode (ours still existed when its file was made),
/// an in-place write sets the modification time to a coarse "now", which
/// does not fall on our nanosecond.
fn written_by_oxmsal(modified: SystemTime, changed: SystemTime) -> bool {
    modified
        .duration_since(changed)
        .is_ok_and(|lead| lead >= MTIME_LEAD / 2)
}

/// Whether a change at `changed` is at least `settle` before `now` (a change
/// in the future, a clock gone back, has not settled).
fn settled(changed: SystemTime, now: SystemTime, settle: Duration) -> bool {
    now.duration_since(changed).is_ok_and(|age| age >= settle)
}

/// See [`FileStore`]'s `fingerprint`.
#[cfg(unix)]
fn file_fingerprint(path: &Path, now: SystemTime, settle: Duration) -> Option<Fingerprint> {
    use std::os::unix::fs::MetadataExt as _;
    let m = opened_metadata(path)?;
    // The change time: set by the kernel on every write, by no writer.
    let secs = u64::try_from(m.ctime()).ok()?;
    let nanos = u32::try_from(m.ctime_nsec()).ok()?;
    let changed = SystemTime::UNIX_EPOCH.checked_add(Duration::new(secs, nanos))?;
    let modified = m.modified().ok()?;
    if !written_by_oxmsal(modified, changed) && !settled(changed, now, settle) {
        return None;
    }
    Some(Fingerprint::new(format!(
        "{}:{}:{}:{}.{}:{}.{}",
        m.dev(),
        m.ino(),
        m.size(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec()
    )))
}

/// See [`FileStore`]'s `fingerprint`.
#[cfg(not(unix))]
fn file_fingerprint(path: &Path, now: SystemTime, settle: Duration) -> Option<Fingerprint> {
    let m = opened_metadata(path)?;
    let modified = m.modified().ok()?;
    if !settled(modified, now, settle) {
        return None;
    }
    let since_epoch = modified.duration_since(SystemTime::UNIX_EPOCH).ok()?;
    Some(Fingerprint::new(format!(
        "{}:{}",
        m.len(),
        since_epoch.as_nanos()
    )))
}

impl FileStore {
    /// The file's text; `None` when it does not exist.
    fn read(&self) -> Result<Option<WipedString>> {
        read_document(
            &self.path,
            self.max_document_size,
            Links::Follow,
            CACHE_FILE,
        )
    }
}

impl CachePersistence for FileStore {
    fn load<'a>(&'a self, _partition: &'a PartitionKey) -> PersistFuture<'a, Option<String>> {
        Box::pin(self.read_document())
    }

    /// The file's identity, size and modification and change times (`None`
    /// when there is no file, or it cannot be looked at: then it is read).
    /// Every write, ours by rename and msal-extensions' in place, moves the
    /// change time, which the kernel sets and no writer can.
    fn fingerprint<'a>(
        &'a self,
        _partition: &'a PartitionKey,
    ) -> PersistFuture<'a, Option<Fingerprint>> {
        Box::pin(async move {
            Ok(file_fingerprint(
                &self.path,
                SystemTime::now(),
                self.settle_time,
            ))
        })
    }

    fn update<'a>(&'a self, _partition: &'a PartitionKey, edit: Edit<'a>) -> PersistFuture<'a, ()> {
        Box::pin(self.update_document(edit))
    }

    /// The whole file (it holds every partition); none without a file.
    fn load_user_partitions(&self) -> PersistFuture<'_, Option<Vec<String>>> {
        Box::pin(async move { Ok(Some(self.read_document().await?.into_iter().collect())) })
    }

    /// `<cache>.metadata.json`, read up to a bounded size.
    fn load_metadata(&self) -> PersistFuture<'_, Option<String>> {
        Box::pin(async move { metadata::read(&self.metadata_path) })
    }

    /// `<cache>.metadata.json`, under its own lock file, replaced as the cache
    /// file is (temporary file, fsync, rename).
    fn update_metadata<'a>(&'a self, edit: Edit<'a>) -> PersistFuture<'a, ()> {
        Box::pin(metadata::update(
            &self.metadata_path,
            self.lock_timeout,
            edit,
        ))
    }
}

mod metadata;
mod shape;

#[cfg(test)]
mod tests;
