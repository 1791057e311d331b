//! Sharing a token cache across processes, languages and machines.
//!
//! A [`CachePersistence`] stores MSAL-format documents, one per partition of the
//! cache (MSAL Go's export/replace style). An application built with
//! [`cache_persistence`](crate::app::AppBuilder::cache_persistence) uses it around
//! every cache access:
//!
//! - before a lookup it [`load`](CachePersistence::load)s the partition the
//!   request touches and puts it in memory in place of that partition's
//!   entries, so what another process removed (a sign-out) is gone here too —
//!   unless one of this process's writes is still on its way to the store,
//!   when it is merged in instead;
//! - after a write it [`update`](CachePersistence::update)s that partition with
//!   an edit that merges the partition's entries from memory into whatever is
//!   stored by then ([`merge_documents`]), so two processes writing at once lose
//!   no token;
//! - signing an account out is an edit too ([`remove_account_from_document`]).
//!
//! Back ends: [`FileStore`] (one file, shared with MSAL for Python and
//! msal-extensions under their lock-file convention) and, with the feature
//! `cache-redis`, `redis::RedisStore` (one Redis key per partition).
//!
//! ```
//! use oxmsal::cache::persist::PartitionKey;
//! let app = PartitionKey::App { client_id: "My-App".into(), realm: "contoso".into() };
//! assert_eq!(app.storage_key(), "app-my-app-contoso");
//! ```

pub(crate) mod file;
pub(crate) mod fs;
pub(crate) mod lock;
mod partition_key;
#[cfg(feature = "cache-redis")]
pub mod redis;
mod throttle;

use std::future::Future;
use std::pin::Pin;

#[cfg(feature = "cache-redis")]
pub use self::redis::{FailurePolicy, RedisStore, RedisStoreBuilder};
pub use super::partition::{merge_documents, remove_account_from_document};
pub use file::FileStore;
pub use fs::DEFAULT_MAX_DOCUMENT_SIZE;
pub use partition_key::{Fingerprint, PartitionKey};

/// The largest discovery metadata document a store reads (a few authorities
/// take a few KiB); a larger one is treated as none.
pub(crate) const MAX_METADATA_BYTES: usize = 256 * 1024;

/// The future of a persistence operation.
pub type PersistFuture<'a, T> = Pin<Box<dyn Future<Output = crate::error::Result<T>> + Send + 'a>>;

/// A partition edit: the stored document (None if absent) in, the new document out.
pub type Edit<'a> = &'a (dyn Fn(Option<&str>) -> crate::error::Result<String> + Send + Sync);

/// Where the cache's partitions are stored. Implementations decide the layout
/// (one document per partition, or one for all) and the concurrency control.
///
/// A store that keeps documents in a map (a real one would talk to a file, a
/// database or a key-value service):
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
/// use oxmsal::cache::persist::{CachePersistence, Edit, PartitionKey, PersistFuture};
///
/// #[derive(Debug, Default)]
/// struct MapStore(Mutex<HashMap<String, String>>);
///
/// impl CachePersistence for MapStore {
///     fn load<'a>(&'a self, partition: &'a PartitionKey) -> PersistFuture<'a, Option<String>> {
///         Box::pin(async move {
///             let map = self.0.lock().map_err(|_| oxmsal::Error::cache("poisoned", None))?;
///             Ok(map.get(&partition.storage_key()).cloned())
///         })
///     }
///     fn update<'a>(&'a self, partition: &'a PartitionKey, edit: Edit<'a>) -> PersistFuture<'a, ()> {
///         Box::pin(async move {
///             // The mutex makes read-edit-write atomic.
///             let mut map = self.0.lock().map_err(|_| oxmsal::Error::cache("poisoned", None))?;
///             let key = partition.storage_key();
///             let new = edit(map.get(&key).map(String::as_str))?;
///             map.insert(key, new);
///             Ok(())
///         })
///     }
/// }
///
/// let store = MapStore::default();
/// let user = PartitionKey::User { home_account_id: "u.t".into() };
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// rt.block_on(async {
///     store.update(&user, &|stored| oxmsal::cache::persist::merge_documents(stored, "{}")).await?;
///     assert!(store.load(&user).await?.is_some());
///     Ok::<(), oxmsal::Error>(())
/// })?;
/// # Ok::<(), oxmsal::Error>(())
/// ```
pub trait CachePersistence: Send + Sync + std::fmt::Debug {
    /// The stored MSAL-format document holding `partition` (None if nothing is stored).
    fn load<'a>(&'a self, partition: &'a PartitionKey) -> PersistFuture<'a, Option<String>>;

    /// A cheap fingerprint of what [`load`](Self::load) would return now, or
    /// `None` (the default) when the store cannot tell without reading. An
    /// app asks before each load and skips the load when the fingerprint is
    /// the one it saw last time and its cache has not changed since: a cache
    /// hit then costs the fingerprint, not a read and parse of the whole
    /// document.
    /// The fingerprint must change whenever the document may have (a false
    /// "changed" costs a load; a false "unchanged" serves stale tokens).
    ///
    /// [`FileStore`] gives the file's identity, size and times.
    ///
    /// ```
    /// use oxmsal::cache::persist::{CachePersistence, FileStore, PartitionKey};
    /// let dir = std::env::temp_dir().join(format!("oxmsal-doc-fp-{}", std::process::id()));
    /// let store = FileStore::new(dir.join("cache.json"));
    /// let app = PartitionKey::App { client_id: "c".into(), realm: "t".into() };
    /// let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    /// assert_eq!(rt.block_on(store.fingerprint(&app))?, None, "no file yet");
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    fn fingerprint<'a>(
        &'a self,
        _partition: &'a PartitionKey,
    ) -> PersistFuture<'a, Option<Fingerprint>> {
        Box::pin(async { Ok(None) })
    }

    /// Atomically read the stored document, apply `edit`, store the result (the
    /// edit may run more than once under optimistic concurrency).
    fn update<'a>(&'a self, partition: &'a PartitionKey, edit: Edit<'a>) -> PersistFuture<'a, ()>;

    /// The stored documents holding every signed-in user's partition (a store
    /// keeping one document for all partitions returns it), for an app's
    /// `accounts()`: `None` (the default) when the store cannot list them,
    /// and the app then lists the accounts in its memory.
    ///
    /// Which accounts exist is decided here, so a store that cannot be read
    /// must fail (a [`Cache`](crate::ErrorKind::Cache) error), never answer
    /// with fewer documents: an empty list would read as "nobody is signed
    /// in". [`FileStore`] returns its file; `RedisStore` every `user-` key
    /// under its prefix, failing on an outage whatever its failure policy.
    ///
    /// ```
    /// use oxmsal::cache::persist::{CachePersistence, FileStore};
    /// let dir = std::env::temp_dir().join(format!("oxmsal-doc-users-{}", std::process::id()));
    /// let store = FileStore::new(dir.join("cache.json"));
    /// let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    /// assert_eq!(rt.block_on(store.load_user_partitions())?, Some(vec![]), "no file yet");
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    fn load_user_partitions(&self) -> PersistFuture<'_, Option<Vec<String>>> {
        Box::pin(async { Ok(None) })
    }

    /// [`update`](Self::update) for an edit whose loss would be misread — a
    /// sign-out that did not happen looks like one that did: a store that
    /// carries on through an outage (`RedisStore`'s default failure policy)
    /// fails here instead. The default is `update`.
    ///
    /// ```
    /// use oxmsal::cache::persist::{CachePersistence, FileStore, PartitionKey};
    /// let dir = std::env::temp_dir().join(format!("oxmsal-doc-strict-{}", std::process::id()));
    /// let store = FileStore::new(dir.join("cache.json"));
    /// let user = PartitionKey::User { home_account_id: "u.t".into() };
    /// let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    /// rt.block_on(store.update_strict(&user, &|stored| Ok(stored.unwrap_or("{}").to_owned())))?;
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    fn update_strict<'a>(
        &'a self,
        partition: &'a PartitionKey,
        edit: Edit<'a>,
    ) -> PersistFuture<'a, ()> {
        self.update(partition, edit)
    }

    /// The stored discovery metadata document (the authorities' endpoints and
    /// host aliases an app discovered, so that a new process finds its cached
    /// tokens without a request), or `None`: nothing stored, or a store that
    /// keeps none (the default). Not secret; the app validates it before use.
    ///
    /// ```
    /// use oxmsal::cache::persist::{CachePersistence, FileStore};
    /// let store = FileStore::new("/nonexistent/oxmsal/cache.json");
    /// let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    /// assert_eq!(rt.block_on(store.load_metadata())?, None);
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    fn load_metadata(&self) -> PersistFuture<'_, Option<String>> {
        Box::pin(async { Ok(None) })
    }

    /// Atomically edits the discovery metadata document, as
    /// [`update`](Self::update) edits a partition. The default keeps nothing.
    ///
    /// ```
    /// use oxmsal::cache::persist::{CachePersistence, FileStore};
    /// let dir = std::env::temp_dir().join(format!("oxmsal-doc-meta-{}", std::process::id()));
    /// let store = FileStore::new(dir.join("cache.json"));
    /// let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    /// rt.block_on(store.update_metadata(&|_| Ok(r#"{"version": 1}"#.to_owned())))?;
    /// assert!(store.metadata_path().exists());
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    fn update_metadata<'a>(&'a self, _edit: Edit<'a>) -> PersistFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }
}
