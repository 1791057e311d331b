//! `<cache>.metadata.json`: the discovery metadata kept beside a cache file
//! (see `authority::persisted`). A file of its own, so the cache file stays
//! exactly what MSAL for Python and msal-extensions read and write.

use std::fs;
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::super::lock::{lock_path_for, LockFile};
use super::super::Edit;
use crate::authority::persisted::MAX_DOCUMENT_BYTES;
use crate::cache::file::{remove_orphaned_temp_files, write_private_file};
use crate::error::{Error, Result};

/// `<cache>.metadata.json` next to `cache`.
pub(super) fn path_for(cache: &Path) -> PathBuf {
    let mut name = cache
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".metadata.json");
    cache.with_file_name(name)
}

/// The file's text; `None` when there is none, or it is larger than the cap
/// (a warning: it is ignored, and replaced on the next discovery).
pub(super) fn read(path: &Path) -> Result<Option<String>> {
    let file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(read_error(path, e)),
    };
    let cap = MAX_DOCUMENT_BYTES as u64;
    let mut text = String::new();
    file.take(cap + 1)
        .read_to_string(&mut text)
        .map_err(|e| read_error(path, e))?;
    if text.len() as u64 > cap {
        tracing::warn!(
            path = %path.display(),
            cap_bytes = cap,
            "discovery metadata file over its size cap; ignored"
        );
        return Ok(None);
    }
    Ok(Some(text))
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

fn read_error(path: &Path, e: io::Error) -> Error {
    Error::cache(
        format!("cannot read the discovery metadata file {}", path.display()),
        Some(Box::new(e)),
    )
}
