//! A token cache persisted to one file, written atomically.
//!
//! The file holds every token, so it is created readable by its owner only
//! (0600, in a 0700 directory when the directory is created here), and it is
//! replaced atomically — a temporary file in the same directory, flushed to disk,
//! renamed over the target — so a crash or a full disk leaves the previous
//! cache whole, never half a file.
//!
//! [`FileCache`] is a snapshot: `save` writes the whole in-memory cache, under
//! the file's lock (see [`FileStore`](super::persist::FileStore)), and the last
//! writer wins. Processes sharing one file should use a `FileStore` through
//! [`cache_persistence`](crate::app::AppBuilder::cache_persistence) instead:
//! its writes merge, so concurrent processes lose no token.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::secret::WipedString;

use super::codec::LoadError;
use super::persist::file::CACHE_FILE;
use super::persist::fs::{open_document, read_error, Capped, Links};
use super::persist::FileStore;
use super::TokenCache;
use crate::error::{Error, Result};

/// A [`TokenCache`] loaded from, and saved to, a file in MSAL's format.
///
/// ```
/// use oxmsal::cache::FileCache;
/// let dir = std::env::temp_dir().join(format!("oxmsal-doc-{}", std::process::id()));
/// let path = dir.join("cache.json");
/// let file = FileCache::open(&path)?;           // no file yet: an empty cache
/// assert_eq!(file.cache().account_count(), 0);
/// assert!(!file.save()?);                       // nothing changed: nothing written
/// file.cache().deserialize(r#"{"AppMetadata": {"appmetadata-h-c": {"client_id": "c", "environment": "h"}}}"#)?;
/// file.cache().clear();
/// assert!(file.save()?);                        // changed: written
/// assert!(path.exists());
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), oxmsal::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct FileCache {
    /// Where the file is and how it is written: the same file, lock and
    /// atomic replace as a shared [`FileStore`].
    store: FileStore,
    cache: TokenCache,
}

impl FileCache {
    /// Loads the cache stored at `path`. A missing file is an empty cache; a file
    /// that cannot be read or is not a cache document is a
    /// [`Cache`](crate::ErrorKind::Cache) error naming the path, and the file is
    /// left as it is. The file is read a chunk at a time, as by
    /// [`TokenCache::deserialize_reader`], so loading a large cache takes about
    /// the memory of its entries, not that plus the file's text.
    ///
    /// The file must be trusted and small enough, or it is a Cache error
    /// naming it: owned by this process's user, not writable by other users
    /// (a group-writable one is read, with a logged warning), and at most
    /// [`DEFAULT_MAX_DOCUMENT_SIZE`](super::persist::DEFAULT_MAX_DOCUMENT_SIZE)
    /// (64 MiB; [`open_with_max_size`](Self::open_with_max_size) sets another cap).
    ///
    /// ```
    /// use oxmsal::{cache::FileCache, ErrorKind};
    /// let path = std::env::temp_dir().join(format!("oxmsal-doc-open-{}.json", std::process::id()));
    /// std::fs::write(&path, "not json").unwrap();
    /// let err = FileCache::open(&path).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Cache);
    /// assert!(err.to_string().contains(&path.display().to_string()));
    /// # std::fs::remove_file(&path).ok();
    /// ```
    pub fn open(path: impl Into<PathBuf>) -> Result<Self> {
        Self::open_with_max_size(path, super::persist::DEFAULT_MAX_DOCUMENT_SIZE)
    }

    /// [`open`](Self::open) with a cap on the file's size other than 64 MiB:
    /// a larger file is a [`Cache`](crate::ErrorKind::Cache) error naming the
    /// cap, and the file is left as it is. The cap holds while reading too, so
    /// memory stays bounded even if the file grows meanwhile.
    ///
    /// ```
    /// use oxmsal::{cache::FileCache, ErrorKind};
    /// let path = std::env::temp_dir().join(format!("oxmsal-doc-cap-{}.json", std::process::id()));
    /// std::fs::write(&path, "{}").unwrap();
    /// # #[cfg(unix)] { use std::os::unix::fs::PermissionsExt; std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap(); }
    /// assert!(FileCache::open_with_max_size(&path, 2).is_ok());
    /// let err = FileCache::open_with_max_size(&path, 1).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Cache);
    /// assert!(err.to_string().contains("cap of 1 byte"), "{err}");
    /// # std::fs::remove_file(&path).ok();
    /// ```
    pub fn open_with_max_size(path: impl Into<PathBuf>, max_bytes: u64) -> Result<Self> {
        let path = path.into();
        let cache = TokenCache::new();
        let opened = open_document(&path, max_bytes, Links::Follow, CACHE_FILE)?;
        if let Some((file, _size)) = opened {
            // Streamed: a large cache is never held as text as well as entries.
            match cache.load(Capped::new(file, max_bytes), super::codec::CHUNK) {
                Ok(()) => {}
                Err(LoadError::Io(e)) => return Err(read_error(e, &path, max_bytes, CACHE_FILE)),
                Err(LoadError::Document(e)) => {
                    return Err(Error::cache(
                        format!("cannot load {}", path.display()),
                        Some(Box::new(e)),
                    ))
                }
            }
        }
        Ok(FileCache {
            store: FileStore::new(path).max_document_size(max_bytes),
            cache,
        })
    }

    /// The in-memory cache: hand it (or a clone, which shares it) to an application.
    ///
    /// ```
    /// let path = std::env::temp_dir().join("oxmsal-doc-never-created/cache.json");
    /// let file = oxmsal::cache::FileCache::open(&path)?;
    /// assert_eq!(file.cache().access_token_count(), 0);
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    pub fn cache(&self) -> &TokenCache {
        &self.cache
    }

    /// The file's path.
    ///
    /// ```
    /// let file = oxmsal::cache::FileCache::open("/nonexistent/oxmsal/cache.json")?;
    /// assert_eq!(file.path(), std::path::Path::new("/nonexistent/oxmsal/cache.json"));
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    pub fn path(&self) -> &Path {
        self.store.path()
    }

    /// Writes the cache if it changed since it was loaded or last saved;
    /// returns whether it wrote. Creates the directory (0700) if missing. The
    /// write holds the file's lock (`<path>.lockfile`, waiting up to 10 s), so
    /// it never interleaves with a [`FileStore`](super::persist::FileStore) update
    /// or MSAL for Python's msal-extensions. On failure the previous file is
    /// intact and the cache stays marked changed.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("oxmsal-doc-save-{}.json", std::process::id()));
    /// let file = oxmsal::cache::FileCache::open(&path)?;
    /// assert!(!file.save()?);
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    pub fn save(&self) -> Result<bool> {
        self.save_with(|file, bytes| file.write_all(bytes))
    }

    /// [`save`](Self::save) with the write itself injectable, so tests can fail it.
    fn save_with(
        &self,
        write: impl FnOnce(&mut fs::File, &[u8]) -> io::Result<()>,
    ) -> Result<bool> {
        if !self.cache.has_state_changed() {
            return Ok(false);
        }
        let (json, generation) = self.cache.serialize_generation()?;
        let json = WipedString::new(json);
        self.store.replace_blocking(json.as_bytes(), write)?;
        self.cache.mark_persisted_generation(generation);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const DOC: &str =
        r#"{"AppMetadata": {"appmetadata-h-c": {"client_id": "c", "environment": "h"}}}"#;

    fn temp_files(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_the_dirty_flag() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.json");
        fs::write(&path, DOC).unwrap();
        let file = FileCache::open(&path).unwrap();
        file.cache().clear();

        let err = file
            .save_with(|f, bytes| {
                f.write_all(&bytes[..bytes.len() / 2])?;
                Err(io::Error::other("disk full"))
            })
            .unwrap_err();
        assert_eq!(err.kind(), crate::error::ErrorKind::Cache);
        assert!(err.to_string().contains("disk full"), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), DOC);
        assert!(temp_files(dir.path()).is_empty());
        assert!(file.cache().has_state_changed());

        assert!(file.save().unwrap());
        assert!(!file.cache().has_state_changed());
        assert_eq!(
            FileCache::open(&path).unwrap().cache().app_metadata_count(),
            0
        );
        assert!(temp_files(dir.path()).is_empty());
    }

    #[test]
    fn a_change_during_save_stays_dirty() {
        let dir = tempfile::tempdir().unwrap();
        let file = FileCache::open(dir.path().join("c.json")).unwrap();
        file.cache().clear();
        let cache = file.cache().clone();
        file.save_with(|f, bytes| {
            cache.clear(); // another thread's change, after the snapshot
            f.write_all(bytes)
        })
        .unwrap();
        assert!(file.cache().has_state_changed());
    }

    #[cfg(unix)]
    #[test]
    fn creates_missing_directories_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/cache.json");
        let file = FileCache::open(&path).unwrap();
        file.cache().clear();
        assert!(file.save().unwrap());
        for d in [dir.path().join("a"), dir.path().join("a/b")] {
            assert_eq!(
                fs::metadata(&d).unwrap().permissions().mode() & 0o777,
                0o700
            );
        }
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
