//! `<cache>.metadata.json`: the discovery metadata kept beside a cache file
//! (see `authority::persisted`). A file of its own, so the cache file stays
//! exactly what MSAL for Python and msal-extensions read and write.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::super::fs::{self, remove_orphaned_temp_files, write_private_file, Links};
use super::super::lock::{lock_path_for, LockFile};
use super::super::{Edit, MAX_METADATA_BYTES};
use crate::error::Result;

/// `<cache>.metadata.json` next to `cache`.
pub(super) fn path_for(cache: &Path) -> PathBuf {
    let mut name = cache
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".metadata.json");
    cache.with_file_name(name)
}

/// The file's text; `None` when there is none. Opened as every file oxmsal
/// alone makes (no link followed, a regular file owned by this user, not
/// writable by others) and read up to its cap; anything else is a Cache error,
/// which the caller turns into a warning and a new discovery.
pub(super) fn read(path: &Path) -> Result<Option<String>> {
    let text = fs::read_document(
        path,
        MAX_METADATA_BYTES as u64,
        Links::Refuse,
        "the discovery metadata file",
    )?;
    Ok(text.map(|text| text.as_str().to_owned()))
}

/// Reads, edits and replaces the file under `<path>.lockfile`.
pub(super) async fn update(path: &Path, lock_timeout: Duration, edit: Edit<'_>) -> Result<()> {
    let _lock = LockFile::acquire(&lock_path_for(path), lock_timeout).await?;
    // Unreadable or oversized: rewritten whole (the edit starts afresh).
    let stored = read(path).unwrap_or(None);
    let new = edit(stored.as_deref())?;
    remove_orphaned_temp_files(path);
    write_private_file(path, new.as_bytes())
}
