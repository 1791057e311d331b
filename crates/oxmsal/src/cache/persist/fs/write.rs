//! Private files replaced atomically: a temporary file (0600, created
//! exclusively) in the same directory, written, flushed to disk and renamed
//! over the target, so a crash or a full disk leaves the previous file whole;
//! missing directories are created 0700.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::error::{Error, Result};

/// A Cache error about `path`.
fn file_error(what: &str, path: &Path, source: io::Error) -> Error {
    Error::cache(format!("{what} {}", path.display()), Some(Box::new(source)))
}

/// Replaces `path` with `bytes`: temp file (0600) in the same directory, write,
/// fsync, rename. The temp file is removed on failure.
pub(crate) fn write_private_file(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically(path, bytes, |file, bytes| file.write_all(bytes))
}

/// [`write_private_file`] giving the file a modification time (set before the
/// rename, so it is never seen without it).
pub(crate) fn write_private_file_modified(
    path: &Path,
    bytes: &[u8],
    modified: SystemTime,
) -> Result<()> {
    write_atomically(path, bytes, |file, bytes| {
        file.write_all(bytes)?;
        file.set_modified(modified)
    })
}

/// The temporary file name `write_atomically` uses for `name`: `.{name}.{32 hex}.tmp`.
fn temp_name(name: &str) -> String {
    format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple())
}

/// Whether `candidate` is a temporary file name of `name`.
fn is_temp_name(name: &str, candidate: &str) -> bool {
    candidate
        .strip_prefix('.')
        .and_then(|c| c.strip_prefix(name))
        .and_then(|c| c.strip_prefix('.'))
        .and_then(|c| c.strip_suffix(".tmp"))
        .is_some_and(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Removes the temporary files of `path` that writers killed between creating
/// and renaming one left behind. Call it only while no writer of `path` can be
/// running (under its lock). Best effort.
pub(crate) fn remove_orphaned_temp_files(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let name = name.to_string_lossy();
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if is_temp_name(&name, &entry.file_name().to_string_lossy()) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// [`write_private_file`] with the write itself injectable, so tests can fail it.
pub(crate) fn write_atomically(
    path: &Path,
    bytes: &[u8],
    write: impl FnOnce(&mut fs::File, &[u8]) -> io::Result<()>,
) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let Some(name) = path.file_name() else {
        return Err(Error::cache(
            format!("{} does not name a file", path.display()),
            None,
        ));
    };
    create_dir(&dir).map_err(|e| file_error("cannot create the directory", &dir, e))?;

    // Same directory, so the rename stays on one filesystem and is atomic.
    let temp = dir.join(temp_name(&name.to_string_lossy()));
    let result = (|| {
        let mut file = create_private(&temp)?;
        write(&mut file, bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&temp);
        return Err(file_error("cannot write", path, e));
    }
    sync_dir(&dir);
    Ok(())
}

#[cfg(unix)]
pub(crate) fn create_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
pub(crate) fn create_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

/// A new temporary file: created exclusively (never through a link planted
/// under its name), 0600.
fn create_private(path: &Path) -> io::Result<fs::File> {
    super::create_new_private(path, false)
}

/// Makes the rename itself durable. Best effort: some filesystems refuse to
/// sync a directory, and the data is already safe in the file.
#[cfg(unix)]
fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) {}
