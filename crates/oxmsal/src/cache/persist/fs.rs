//! How the cache's files are opened, on a machine shared with other users.
//!
//! Someone who can write the cache's directory can plant files there. So:
//!
//! - lock files, the throttle state file and temporary files are opened
//!   without following a symbolic link (`O_NOFOLLOW`): a planted link to a
//!   file of the victim's is refused, never truncated or written through;
//! - files are opened without blocking (`O_NONBLOCK`, no effect on a regular
//!   file), so a planted FIFO cannot hang a read; then the open file must be a
//!   regular file;
//! - a lock file must be owned by this process's user;
//! - a document (the cache file, the throttle state file) must be owned by
//!   this process's user and not writable by others, as ssh demands of its
//!   keys: anyone who can write it can plant tokens. Group-writable is
//!   accepted with a warning (a 002 umask makes such files, and MSAL for
//!   Python writes the cache with the umask's mode);
//! - a document is read only up to a cap, checked against the file's size
//!   first and enforced while reading, so memory stays bounded even if the
//!   file grows meanwhile.
//!
//! On other systems than Unix, files are opened normally and only the size
//! cap applies.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read, Seek};
use std::path::Path;

use crate::error::{Error, Result};
use crate::secret::{WipedBytes, WipedString};

/// How large a cache document read from a file may be by default: 64 MiB,
/// some 30 times the largest caches seen in use (a cache entry is about 2 KiB).
///
/// ```
/// assert_eq!(oxmsal::cache::persist::DEFAULT_MAX_DOCUMENT_SIZE, 64 * 1024 * 1024);
/// ```
pub const DEFAULT_MAX_DOCUMENT_SIZE: u64 = 64 * 1024 * 1024;

/// The `tracing` target of the warnings about the cache's files (a
/// group-writable cache file), so that an application can show them apart
/// from other logs (the `oxmsal` CLI prints them on stderr by default).
pub(crate) const FILE_SAFETY_TARGET: &str = "oxmsal::file_safety";

/// `options` made not to follow a symbolic link at the path's last component
/// and not to block on opening a FIFO.
fn no_follow(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(not_following_flags());
    }
    options
}

/// `options` made not to block on opening a FIFO (a link is followed).
fn non_blocking(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        let flags = rustix::fs::OFlags::NONBLOCK.bits();
        options.custom_flags(i32::try_from(flags).unwrap_or(0));
    }
    options
}

#[cfg(unix)]
fn not_following_flags() -> i32 {
    use rustix::fs::OFlags;
    // Both flags are small positive constants on every Unix: the conversion
    // cannot fail.
    i32::try_from((OFlags::NOFOLLOW | OFlags::NONBLOCK).bits()).unwrap_or(0)
}

/// Creates `path`, which must not exist (not even as a link), readable and
/// writable by its owner only (0600), opened for reading too when `read`.
pub(crate) fn create_new_private(path: &Path, read: bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(read).write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    no_follow(&mut options).open(path)
}

/// Opens `path` for reading without following a symbolic link at its last
/// component and without blocking on a FIFO; the caller checks what it got
/// (a file another user owns may be fine, as Azure Arc's key file is).
pub(crate) fn open_read_no_follow(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    no_follow(&mut options).open(path)
}

/// Whether `e` is what opening a symbolic link without following it gives.
pub(crate) fn is_symlink_refusal(e: &io::Error) -> bool {
    #[cfg(unix)]
    {
        e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error())
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}

/// Why [`read_small_file`] refused a file; its `Display` finishes the
/// sentence "the file `…` …".
#[derive(Debug)]
pub(crate) enum SmallFileRefusal {
    /// A symbolic link (not followed).
    Link,
    /// It could not be opened.
    Open(io::Error),
    /// Its metadata could not be read.
    Inspect(io::Error),
    /// A directory, FIFO, device…
    NotRegular,
    /// Larger than allowed: its size and the limit.
    TooLarge(u64, u64),
    /// Reading failed.
    Read(io::Error),
    /// It grew past the limit while being read.
    Grew,
    /// Nothing in it but whitespace.
    Empty,
}

impl std::fmt::Display for SmallFileRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Link => write!(f, "is a symbolic link"),
            Self::Open(e) => write!(f, "cannot be opened ({e})"),
            Self::Inspect(e) => write!(f, "cannot be inspected ({e})"),
            Self::NotRegular => write!(f, "is not a regular file"),
            Self::TooLarge(len, max) => write!(f, "is {len} bytes, more than the {max} allowed"),
            Self::Read(e) => write!(f, "cannot be read ({e})"),
            Self::Grew => write!(f, "grew past the size limit while read"),
            Self::Empty => write!(f, "is empty"),
        }
    }
}

/// The whole of a small file named by configuration (a key, a token, a
/// certificate): opened without following a link, a regular file, at most
/// `max` bytes (checked before reading and enforced while reading), and not
/// blank. Its owner is not checked: such files are often provisioned by
/// another user (Azure Arc's agent, Kubernetes).
pub(crate) fn read_small_file(
    path: &Path,
    max: u64,
) -> std::result::Result<Vec<u8>, SmallFileRefusal> {
    let file = open_read_no_follow(path).map_err(|e| {
        if is_symlink_refusal(&e) {
            SmallFileRefusal::Link
        } else {
            SmallFileRefusal::Open(e)
        }
    })?;
    let metadata = file.metadata().map_err(SmallFileRefusal::Inspect)?;
    if !metadata.is_file() {
        return Err(SmallFileRefusal::NotRegular);
    }
    if metadata.len() > max {
        return Err(SmallFileRefusal::TooLarge(metadata.len(), max));
    }
    let mut content = Vec::new();
    file.take(max.saturating_add(1))
        .read_to_end(&mut content)
        .map_err(SmallFileRefusal::Read)?;
    if content.len() as u64 > max {
        return Err(SmallFileRefusal::Grew);
    }
    if content.iter().all(u8::is_ascii_whitespace) {
        return Err(SmallFileRefusal::Empty);
    }
    Ok(content)
}

/// Opens an existing lock file for reading and writing: not through a link,
/// a regular file, owned by this user. `None` when there is no file.
pub(crate) fn open_lock_file(path: &Path, what: &str) -> Result<Option<File>> {
    let mut options = OpenOptions::new();
    options.read(true).write(true);
    let Some((file, metadata)) = open_checked(path, no_follow(&mut options), what)? else {
        return Ok(None);
    };
    check_owner(&metadata, path, what)?;
    Ok(Some(file))
}

/// The first `max` bytes of a lock file (its holder's note), read without
/// following a link; `None` when it cannot be read.
pub(crate) fn read_note(path: &Path, max: u64) -> Option<String> {
    let mut options = OpenOptions::new();
    options.read(true);
    let file = no_follow(&mut options).open(path).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut note = Vec::new();
    file.take(max).read_to_end(&mut note).ok()?;
    Some(String::from_utf8_lossy(&note).into_owned())
}

/// The metadata of `path`, asked of an open handle (a link is followed; a
/// FIFO does not block the open). `None` when it cannot be opened.
pub(crate) fn opened_metadata(path: &Path) -> Option<Metadata> {
    let mut options = OpenOptions::new();
    options.read(true);
    non_blocking(&mut options).open(path).ok()?.metadata().ok()
}

/// How a document's path is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Links {
    /// A link is followed (the cache file: users link it into place); the
    /// file it leads to is checked.
    Follow,
    /// A link is refused (files oxmsal alone names and makes).
    Refuse,
}

/// A document's text (the cache file, the throttle state file): `None` when
/// there is no file; a Cache error naming the file when it is not a regular
/// file, [cannot be trusted](check_document), is over `max` bytes or is not
/// UTF-8. Nothing is changed on disk.
pub(crate) fn read_document(
    path: &Path,
    max: u64,
    links: Links,
    what: &str,
) -> Result<Option<WipedString>> {
    let Some((file, size)) = open_document(path, max, links, what)? else {
        return Ok(None);
    };
    let capacity = usize::try_from(size.min(max).saturating_add(1)).unwrap_or(0);
    let mut bytes = WipedBytes::new(Vec::with_capacity(capacity));
    let mut reader = Capped::new(file, max);
    if let Err(e) = reader.read_to_end(&mut bytes) {
        return Err(read_error(e, path, max, what));
    }
    match String::from_utf8(std::mem::take(&mut *bytes)) {
        Ok(text) => Ok(Some(WipedString::new(text))),
        Err(e) => {
            drop(WipedBytes::new(e.into_bytes()));
            Err(Error::cache(
                format!(
                    "cannot read {what} {}: it is not UTF-8 text",
                    path.display()
                ),
                None,
            ))
        }
    }
}

/// Opens a document for a streamed read: the file, checked as
/// [`read_document`] checks it, behind a reader that fails once more than
/// `max` bytes come (see [`read_error`]), and its size.
pub(crate) fn open_document(
    path: &Path,
    max: u64,
    links: Links,
    what: &str,
) -> Result<Option<(File, u64)>> {
    let mut options = OpenOptions::new();
    options.read(true);
    let options = match links {
        Links::Follow => non_blocking(&mut options),
        Links::Refuse => no_follow(&mut options),
    };
    let Some((file, metadata)) = open_checked(path, options, what)? else {
        return Ok(None);
    };
    check_document(&metadata, path, what)?;
    if metadata.len() > max {
        return Err(over_cap(path, max, Some(metadata.len()), what));
    }
    Ok(Some((file, metadata.len())))
}

/// A Cache error for a failed read of a document through [`Capped`].
pub(crate) fn read_error(e: io::Error, path: &Path, max: u64, what: &str) -> Error {
    if e.get_ref().is_some_and(|inner| inner.is::<OverCap>()) {
        return over_cap(path, max, None, what);
    }
    Error::cache(
        format!("cannot read {what} {}", path.display()),
        Some(Box::new(e)),
    )
}

fn over_cap(path: &Path, max: u64, size: Option<u64>, what: &str) -> Error {
    let size = match size {
        Some(size) => format!(" ({size} bytes)"),
        None => " (it grew while being read)".to_owned(),
    };
    Error::cache(
        format!(
            "{what} {} is larger than the cap of {} on what is read{size}; it is left as it is \
             (the application can raise the cap if its cache is really this large)",
            path.display(),
            describe_size(max),
        ),
        None,
    )
}

/// `64 MiB`, `1 KiB`, `1000 bytes` or `1 byte`.
fn describe_size(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else if bytes == 1 {
        "1 byte".to_owned()
    } else {
        format!("{bytes} bytes")
    }
}

/// A reader that fails (with an [`OverCap`] error) when its source holds more
/// than `max` bytes, having read at most one byte past them. (Its source is
/// assumed to start at position 0, as a freshly opened file does.)
pub(crate) struct Capped<R> {
    inner: R,
    max: u64,
    /// How many bytes may still come before the cap: `max` less the position.
    left: u64,
}

impl<R> Capped<R> {
    pub(crate) fn new(inner: R, max: u64) -> Self {
        Capped {
            inner,
            max,
            left: max,
        }
    }
}

/// Seeking moves the cap's count with the position: no byte past `max` is
/// ever read from the source.
impl<R: Seek> Seek for Capped<R> {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        let at = self.inner.seek(pos)?;
        self.left = self.max.saturating_sub(at);
        Ok(at)
    }
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // One byte more than is left tells "exactly at the cap" from "over it".
        let room = usize::try_from(self.left.saturating_add(1)).unwrap_or(usize::MAX);
        let end = buf.len().min(room);
        let n = self.inner.read(buf.get_mut(..end).unwrap_or_default())?;
        let n64 = u64::try_from(n).unwrap_or(u64::MAX);
        if n64 > self.left {
            return Err(io::Error::other(OverCap));
        }
        self.left -= n64;
        Ok(n)
    }
}

/// The error a [`Capped`] reader fails with.
#[derive(Debug)]
pub(crate) struct OverCap;

impl std::fmt::Display for OverCap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the file is larger than the cap on what is read")
    }
}

impl std::error::Error for OverCap {}

/// Opens `path` with `options`: the file and its metadata, `None` when there
/// is no file; a Cache error naming it when it is a refused link, or not a
/// regular file.
fn open_checked(
    path: &Path,
    options: &OpenOptions,
    what: &str,
) -> Result<Option<(File, Metadata)>> {
    let file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            // `O_NOFOLLOW` fails with ELOOP on Linux and macOS, EMLINK on
            // FreeBSD: asking the path itself names the cause everywhere.
            if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(Error::cache(
                    format!(
                        "{what} {} is a symbolic link, which oxmsal does not follow (someone \
                         who can write its directory may have planted it); the file it points \
                         to is left untouched: remove the link",
                        path.display()
                    ),
                    None,
                ));
            }
            return Err(Error::cache(
                format!("cannot open {what} {}", path.display()),
                Some(Box::new(e)),
            ));
        }
    };
    let metadata = file.metadata().map_err(|e| {
        Error::cache(
            format!("cannot look at {what} {}", path.display()),
            Some(Box::new(e)),
        )
    })?;
    if !metadata.is_file() {
        return Err(Error::cache(
            format!(
                "{what} {} is not a regular file; it is left as it is: remove it",
                path.display()
            ),
            None,
        ));
    }
    Ok(Some((file, metadata)))
}

/// A document must be owned by this user and not writable by others; one
/// writable by its group is read with a warning.
fn check_document(metadata: &Metadata, path: &Path, what: &str) -> Result<()> {
    check_owner(metadata, path, what)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o002 != 0 {
            return Err(Error::cache(
                format!(
                    "{what} {path} is writable by every user (mode {mode:04o}), so anyone could \
                     have planted tokens in it; it is not read. If its content is yours, make it \
                     private: `chmod 600 {path}`; otherwise remove it",
                    path = path.display()
                ),
                None,
            ));
        }
        if mode & 0o020 != 0 && first_warning_for(path) {
            tracing::warn!(
                target: FILE_SAFETY_TARGET,
                "{what} {path} is writable by its group (mode {mode:04o}); it is read, but \
                 `chmod 600 {path}` would keep others in the group from planting tokens",
                path = path.display()
            );
        }
    }
    Ok(())
}

/// Whether `path` has not been warned about yet in this process (a command
/// reads the cache file more than once; one warning says it).
#[cfg(unix)]
fn first_warning_for(path: &Path) -> bool {
    static WARNED: std::sync::Mutex<Vec<std::path::PathBuf>> = std::sync::Mutex::new(Vec::new());
    let mut warned = WARNED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if warned.iter().any(|p| p == path) {
        return false;
    }
    warned.push(path.to_owned());
    true
}

/// The file must belong to the user this process runs as (its effective
/// user id).
#[cfg(unix)]
fn check_owner(metadata: &Metadata, path: &Path, what: &str) -> Result<()> {
    use std::os::unix::fs::MetadataExt as _;
    let me = rustix::process::geteuid().as_raw();
    let owner = metadata.uid();
    if owner == me {
        return Ok(());
    }
    Err(Error::cache(
        format!(
            "{what} {path} belongs to another user (uid {owner}; this process runs as uid \
             {me}), so its content cannot be trusted; it is left as it is. If it is yours, \
             `chown {me} {path}`; otherwise remove it",
            path = path.display()
        ),
        None,
    ))
}

#[cfg(not(unix))]
fn check_owner(_metadata: &Metadata, _path: &Path, _what: &str) -> Result<()> {
    Ok(())
}

mod write;

pub(crate) use write::{
    create_dir, remove_orphaned_temp_files, write_atomically, write_private_file,
    write_private_file_modified,
};

#[cfg(test)]
mod tests;
