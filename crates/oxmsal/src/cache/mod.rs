//! The token cache, in MSAL's unified schema.
//!
//! A [`TokenCache`] holds access tokens, refresh tokens, id tokens, accounts and
//! app metadata exactly as every MSAL stores them, so a cache written by MSAL for
//! Python (or .NET, Java, Node) loads here and the other way round:
//!
//! - the document has the sections `AccessToken`, `RefreshToken`, `IdToken`,
//!   `Account` and `AppMetadata`, each a map from entry key to entry; keys and
//!   fields are MSAL's, timestamps strings of epoch seconds;
//! - sections and fields oxmsal does not know are written back unchanged, and
//!   an entry rewritten from a new token response (the same user signing in
//!   again) keeps the old entry's fields oxmsal does not know — another MSAL
//!   wrote them — while the response decides the fields oxmsal writes;
//! - lookups use hash indexes, so finding a token costs the same in a cache of
//!   one entry or of a million (MSAL Python scans).
//!
//! Clones of a `TokenCache` share one cache. It is safe to use from many threads;
//! lookups take a shared lock, writes an exclusive one for as long as an insert
//! takes. [`FileCache`] persists one to a file; [`persist`] shares one between
//! processes, partition by partition.
//!
//! ```
//! use oxmsal::cache::{AccessTokenQuery, TokenCache};
//!
//! // A cache as MSAL for Python writes it after a client-credentials grant.
//! let cache = TokenCache::new();
//! cache.deserialize(r#"{
//!     "AccessToken": {
//!         "-login.microsoftonline.com-accesstoken-my-app-contoso-https://graph.microsoft.com/.default": {
//!             "credential_type": "AccessToken", "secret": "eyJ0eXAi…",
//!             "home_account_id": null, "environment": "login.microsoftonline.com",
//!             "client_id": "my-app", "target": "https://graph.microsoft.com/.default",
//!             "realm": "contoso", "token_type": "Bearer", "cached_at": "1700000000",
//!             "expires_on": "1700003599", "extended_expires_on": "1700003599"
//!         }
//!     },
//!     "AppMetadata": {
//!         "appmetadata-login.microsoftonline.com-my-app": {
//!             "client_id": "my-app", "environment": "login.microsoftonline.com"
//!         }
//!     }
//! }"#)?;
//!
//! let environments = vec!["login.microsoftonline.com".to_owned()];
//! let scopes = vec!["https://graph.microsoft.com/.default".to_owned()];
//! let query = AccessTokenQuery::new("my-app", &environments, &scopes).in_realm("contoso");
//! let hit = cache.find_access_token(&query, 1_700_000_100).expect("a valid token");
//! assert_eq!(hit.token_type, "Bearer");
//! // Less than five minutes of life left: not handed out.
//! assert!(cache.find_access_token(&query, 1_700_003_400).is_none());
//! # Ok::<(), oxmsal::Error>(())
//! ```

mod account;
mod codec;
mod entity;
mod fields;
mod file;
mod keys;
pub(crate) mod partition;
pub mod persist;
mod query;
mod response;
mod scopes;
mod store;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

pub use account::Account;
pub use file::FileCache;
pub(crate) use partition::StoreInFlight;
pub use partition::{merge_documents, remove_account_from_document};
pub use query::{
    AccessTokenQuery, AppMetadata, CachedAccessToken, CachedIdToken, CachedRefreshToken,
    RefreshTokenQuery,
};
pub(crate) use response::{SavedTokens, TokenRecord};

pub(crate) use entity::AccessTokenEntry;
use entity::{IdTokenEntry, RefreshTokenEntry};
pub(crate) use store::LookupKeys;
use store::Store;

use crate::error::Result;
use crate::secret::Secret;

pub(crate) use entity::MIN_REMAINING_LIFETIME_SECS;

/// The state behind the lock.
#[derive(Debug, Default)]
struct State {
    store: Store,
    /// Bumped by every change.
    generation: u64,
    /// The generation last written to (or read from) persistence.
    persisted: u64,
    /// Writes saved in memory and not yet stored by a
    /// [`CachePersistence`](persist::CachePersistence) (see
    /// [`TokenCache::replace_partition`]).
    unstored: usize,
    /// The partitions loaded from persistence: the fingerprint of what was
    /// loaded and the generation the cache had right after. While both still
    /// hold, loading again would change nothing.
    loaded: std::collections::HashMap<persist::PartitionKey, (persist::Fingerprint, u64)>,
}

impl State {
    fn changed(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }

    /// New contents, as loaded: changed, and persisted as they are.
    fn loaded(&mut self) {
        self.changed();
        self.persisted = self.generation;
    }
}

/// A thread-safe, in-memory token cache in MSAL's unified schema. Clones share
/// one cache. See the [module docs](self).
///
/// ```
/// use oxmsal::cache::TokenCache;
/// let cache = TokenCache::new();
/// let shared = cache.clone();
/// shared.deserialize(r#"{"Account": {}, "FutureSection": {"x": 1}}"#)?;
/// assert_eq!(cache.account_count(), 0);
/// assert!(cache.serialize()?.contains("FutureSection"));
/// # Ok::<(), oxmsal::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct TokenCache {
    inner: Arc<RwLock<State>>,
    /// Moves whenever the write lock is taken: a reader that saw a value
    /// under the read lock knows, later and without the lock, whether what it
    /// read may have changed since (see [`Self::changes`]).
    changes: Arc<AtomicU64>,
}

impl fmt::Debug for TokenCache {
    /// Counts only: entries hold tokens and personal data.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.read();
        f.debug_struct("TokenCache")
            .field("access_tokens", &state.store.access_tokens().len())
            .field("refresh_tokens", &state.store.refresh_tokens.len())
            .field("id_tokens", &state.store.id_tokens.len())
            .field("accounts", &state.store.accounts.len())
            .field("app_metadata", &state.store.app_metadata.len())
            .finish()
    }
}

impl TokenCache {
    /// An empty cache.
    ///
    /// ```
    /// let cache = oxmsal::cache::TokenCache::new();
    /// assert_eq!(cache.access_token_count(), 0);
    /// assert!(!cache.has_state_changed());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    // A panic while holding the lock cannot leave the store half-changed (every
    // mutation that can fail does so before taking the lock), so a poisoned lock
    // is still good to use.
    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        let state = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        // Counted under the write lock, before anything changes: a value read
        // under the read lock is then exactly the contents the reader saw.
        self.changes.fetch_add(1, Ordering::Release);
        state
    }

    /// A count that moves on every write (or possible write) to the cache:
    /// what a caller read while it stood still stands while it is unchanged.
    /// A memo of recent answers checks it instead of looking again.
    pub(crate) fn changes(&self) -> u64 {
        self.changes.load(Ordering::Acquire)
    }

    /// The cache as an MSAL-format JSON document (four-space indented like MSAL
    /// Python's, entries sorted by key). It contains every token: store it as a
    /// secret.
    ///
    /// ```
    /// let cache = oxmsal::cache::TokenCache::new();
    /// let json = cache.serialize()?;
    /// assert!(json.contains("\"AccessToken\": {}"));
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    pub fn serialize(&self) -> Result<String> {
        codec::write(&self.read().store)
    }

    /// Replaces the cache's contents with a document from [`serialize`](Self::serialize)
    /// or from any MSAL. An empty string is an empty cache. A malformed document
    /// (not JSON, not an object, a section or entry that is not an object, a
    /// field of the wrong type, a timestamp that is not a number) is a
    /// [`Cache`](crate::ErrorKind::Cache) error naming the section and entry, and
    /// the cache is left unchanged. Afterwards [`has_state_changed`](Self::has_state_changed)
    /// is `false`. The indexes lookups go through are made by the first
    /// lookup after a load (one pass, about what making them while loading
    /// cost), so a cache that is only loaded and written back never makes them.
    ///
    /// The document is read without holding the cache's lock. The access
    /// tokens' secrets are then copied in under it, into the memory of the
    /// secrets they replace (where no token handed out still points), so
    /// that each byte is written once instead of the old secrets being zeroed
    /// and new memory filled; lookups wait for that copy, not for the read.
    ///
    /// ```
    /// use oxmsal::{cache::TokenCache, ErrorKind};
    /// let cache = TokenCache::new();
    /// let err = cache.deserialize(r#"{"AccessToken": {"k": {"expires_on": "soon"}}}"#).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Cache);
    /// assert!(err.to_string().contains("`k`"));
    /// ```
    pub fn deserialize(&self, json: &str) -> Result<()> {
        // Parse outside the lock: readers are not held up, and a failure
        // changes nothing.
        let loaded = codec::parse_whole(json)?;
        let old = {
            let mut state = self.write();
            let mut old = std::mem::take(&mut state.store);
            // Under the lock, so the old tokens are gone before their blocks
            // take the new secrets: each block is written once instead of
            // being zeroed, freed and replaced by a new one. Readers wait for
            // that copy (not for the parse).
            state.store = loaded.finish_replacing(&mut old);
            state.loaded();
            old
        };
        // The rest of the old contents: not under the lock.
        drop(old);
        Ok(())
    }

    /// [`deserialize`](Self::deserialize) from a reader (a file, say),
    /// without ever holding the whole document: it is read a chunk (1 MiB) at
    /// a time and entry by entry, so loading takes about the memory of the
    /// entries loaded. The result and the errors are those of `deserialize`
    /// on the same text. The reader must be seekable: the rare document the
    /// fast reader leaves to the plain one (a malformed one, say) is read
    /// again, whole, from where the reader was. Text that cannot be read or
    /// is not UTF-8 is a [`Cache`](crate::ErrorKind::Cache) error too. On any
    /// error the cache is left unchanged.
    ///
    /// ```
    /// use std::io::Cursor;
    /// use oxmsal::{cache::TokenCache, ErrorKind};
    ///
    /// let cache = TokenCache::new();
    /// let doc = r#"{"AppMetadata": {"appmetadata-h-c": {"client_id": "c", "environment": "h"}}}"#;
    /// cache.deserialize_reader(Cursor::new(doc))?;
    /// assert_eq!(cache.app_metadata_count(), 1);
    ///
    /// // A file works the same way: `cache.deserialize_reader(File::open(path)?)`.
    /// let err = cache.deserialize_reader(Cursor::new("{\"AccessToken\": []}")).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Cache);
    /// assert_eq!(cache.app_metadata_count(), 1);
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    pub fn deserialize_reader<R: std::io::Read + std::io::Seek>(&self, reader: R) -> Result<()> {
        self.load(reader, codec::CHUNK)
            .map_err(codec::LoadError::into_error)
    }

    /// [`deserialize_reader`](Self::deserialize_reader) reading `chunk` bytes
    /// at a time, telling read failures from bad documents.
    pub(crate) fn load<R: std::io::Read + std::io::Seek>(
        &self,
        reader: R,
        chunk: usize,
    ) -> std::result::Result<(), codec::LoadError> {
        let store = codec::read_stream(reader, chunk)?;
        let old = {
            let mut state = self.write();
            let old = std::mem::replace(&mut state.store, store);
            state.loaded();
            old
        };
        // Freeing a large store takes a while: not under the lock.
        drop(old);
        Ok(())
    }

    /// Whether the cache changed since it was loaded or last persisted.
    ///
    /// ```
    /// let cache = oxmsal::cache::TokenCache::new();
    /// assert!(!cache.has_state_changed());
    /// ```
    pub fn has_state_changed(&self) -> bool {
        let state = self.read();
        state.generation != state.persisted
    }

    /// Records that the current contents are persisted.
    ///
    /// ```
    /// let cache = oxmsal::cache::TokenCache::new();
    /// cache.mark_persisted();
    /// assert!(!cache.has_state_changed());
    /// ```
    pub fn mark_persisted(&self) {
        let mut state = self.write();
        state.persisted = state.generation;
    }

    /// The document and the generation it shows, for persistence: marking that
    /// generation persisted afterwards leaves changes made meanwhile dirty.
    pub(crate) fn serialize_generation(&self) -> Result<(String, u64)> {
        let state = self.read();
        Ok((codec::write(&state.store)?, state.generation))
    }

    /// Marks `generation` (from [`serialize_generation`](Self::serialize_generation)) persisted.
    pub(crate) fn mark_persisted_generation(&self, generation: u64) {
        self.write().persisted = generation;
    }

    /// How many access tokens the cache holds (expired ones included).
    ///
    /// ```
    /// assert_eq!(oxmsal::cache::TokenCache::new().access_token_count(), 0);
    /// ```
    pub fn access_token_count(&self) -> usize {
        self.read().store.access_tokens().len()
    }

    /// How many refresh tokens the cache holds.
    ///
    /// ```
    /// assert_eq!(oxmsal::cache::TokenCache::new().refresh_token_count(), 0);
    /// ```
    pub fn refresh_token_count(&self) -> usize {
        self.read().store.refresh_tokens.len()
    }

    /// How many id tokens the cache holds.
    ///
    /// ```
    /// assert_eq!(oxmsal::cache::TokenCache::new().id_token_count(), 0);
    /// ```
    pub fn id_token_count(&self) -> usize {
        self.read().store.id_tokens.len()
    }

    /// How many account entries the cache holds.
    ///
    /// ```
    /// assert_eq!(oxmsal::cache::TokenCache::new().account_count(), 0);
    /// ```
    pub fn account_count(&self) -> usize {
        self.read().store.accounts.len()
    }

    /// How many app metadata entries the cache holds.
    ///
    /// ```
    /// assert_eq!(oxmsal::cache::TokenCache::new().app_metadata_count(), 0);
    /// ```
    pub fn app_metadata_count(&self) -> usize {
        self.read().store.app_metadata.len()
    }

    /// Every account, ordered by entry key.
    ///
    /// ```
    /// assert!(oxmsal::cache::TokenCache::new().accounts().is_empty());
    /// ```
    pub fn accounts(&self) -> Vec<Account> {
        let state = self.read();
        let mut entries: Vec<_> = state.store.accounts.iter().collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        entries
            .into_iter()
            .map(|(_, e)| e.account.clone())
            .collect()
    }

    /// The accounts with this home account id (one per environment and realm),
    /// ordered by entry key.
    ///
    /// ```
    /// assert!(oxmsal::cache::TokenCache::new().accounts_of("uid.utid").is_empty());
    /// ```
    pub fn accounts_of(&self, home_account_id: &str) -> Vec<Account> {
        let state = self.read();
        let mut entries = state.store.accounts_of(home_account_id);
        entries
            .sort_unstable_by(|a, b| (&a.environment, &a.realm).cmp(&(&b.environment, &b.realm)));
        entries.into_iter().cloned().collect()
    }

    /// The client ids holding refresh or id tokens of `account` (in its
    /// environment), sorted: the apps it is signed in to.
    ///
    /// ```
    /// let cache = oxmsal::cache::TokenCache::new();
    /// cache.deserialize(r#"{"IdToken": {"u.t-h-idtoken-app-t-": {"credential_type": "IdToken",
    ///     "secret": "x.y.z", "home_account_id": "u.t", "environment": "h", "realm": "t",
    ///     "client_id": "app"}},
    ///   "Account": {"u.t-h-t": {"home_account_id": "u.t", "environment": "h", "realm": "t",
    ///     "username": "a", "authority_type": "MSSTS"}}}"#)?;
    /// let account = cache.accounts().remove(0);
    /// assert_eq!(cache.client_ids_of(&account), vec!["app".to_owned()]);
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    pub fn client_ids_of(&self, account: &Account) -> Vec<String> {
        self.read()
            .store
            .client_ids_of(&account.home_account_id, &account.environment)
    }

    /// Signs `account` out of `client_id`, as MSAL's `remove_account` does: in
    /// the account's environment, removes its access tokens (every client and
    /// tenant), its refresh tokens issued to `client_id` or — when the cache
    /// records the client in a family — to the family, its id tokens and its
    /// account entries (every tenant). Returns how many entries went.
    ///
    /// ```
    /// use oxmsal::cache::TokenCache;
    /// let cache = TokenCache::new();
    /// cache.deserialize(r#"{
    ///   "Account": {"u.t-login.microsoftonline.com-t": {"home_account_id": "u.t",
    ///      "environment": "login.microsoftonline.com", "realm": "t", "username": "a",
    ///      "authority_type": "MSSTS"}},
    ///   "RefreshToken": {"u.t-login.microsoftonline.com-refreshtoken-c--s": {
    ///      "credential_type": "RefreshToken", "secret": "rt", "home_account_id": "u.t",
    ///      "environment": "login.microsoftonline.com", "client_id": "c", "target": "s"}}
    /// }"#)?;
    /// let account = cache.accounts().remove(0);
    /// assert_eq!(cache.remove_account(&account, "c"), 2);
    /// assert!(cache.accounts().is_empty());
    /// assert!(cache.has_state_changed());
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    pub fn remove_account(&self, account: &Account, client_id: &str) -> usize {
        let mut state = self.write();
        let removed =
            state
                .store
                .remove_account(&account.home_account_id, &account.environment, client_id);
        if removed > 0 {
            state.changed();
        }
        removed
    }

    /// Empties the cache (unknown sections too).
    ///
    /// ```
    /// let cache = oxmsal::cache::TokenCache::new();
    /// cache.deserialize(r#"{"AppMetadata": {"appmetadata-h-c": {"client_id": "c", "environment": "h"}}}"#)?;
    /// cache.clear();
    /// assert_eq!(cache.app_metadata_count(), 0);
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    pub fn clear(&self) {
        let old = {
            let mut state = self.write();
            state.changed();
            std::mem::take(&mut state.store)
        };
        drop(old);
    }

    /// The access token for `query` that is usable at `now` (epoch seconds): it
    /// has at least five minutes of life left. When several match, the most
    /// recently cached one. Expired tokens are never returned; they are dropped
    /// when a new token for the same account, client and tenant is saved.
    ///
    /// A lookup with a realm costs a few hash probes per environment whatever the
    /// cache's size; without one it visits the account's tokens in every tenant.
    ///
    /// ```
    /// use oxmsal::cache::{AccessTokenQuery, TokenCache};
    /// let cache = TokenCache::new();
    /// let envs = vec!["login.microsoftonline.com".to_owned()];
    /// let scopes = vec!["User.Read".to_owned()];
    /// let query = AccessTokenQuery::new("c", &envs, &scopes).for_account("u.t").in_realm("t");
    /// assert!(cache.find_access_token(&query, 0).is_none());
    /// ```
    pub fn find_access_token(
        &self,
        query: &AccessTokenQuery<'_>,
        now: u64,
    ) -> Option<CachedAccessToken> {
        let state = self.read();
        let (key, entry) = state.store.find_access_token(query, now)?;
        Some(cached_access_token(key, entry))
    }

    /// The usable access token for `query` at `now` handed to `f` under the read
    /// lock, so a hit on the hot path copies only what `f` takes.
    pub(crate) fn read_access_token<R>(
        &self,
        query: &AccessTokenQuery<'_>,
        now: u64,
        f: impl FnOnce(&AccessTokenEntry) -> R,
    ) -> Option<R> {
        let state = self.read();
        let (_, entry) = state.store.find_access_token(query, now)?;
        Some(f(entry))
    }

    /// [`read_access_token`](Self::read_access_token) with the lookup's index
    /// keys made beforehand. `f` runs under the read lock.
    pub(crate) fn read_access_token_by<R>(
        &self,
        keys: &LookupKeys,
        scopes: &[String],
        now: u64,
        f: impl FnOnce(&AccessTokenEntry) -> R,
    ) -> Option<R> {
        let state = self.read();
        let (_, entry) = state.store.find_access_token_by(keys, scopes, now)?;
        Some(f(entry))
    }

    /// Runs `f` on the store under one read lock: a flow's hot path reads
    /// several sections at once.
    pub(crate) fn read_store<R>(&self, f: impl FnOnce(&Store) -> R) -> R {
        f(&self.read().store)
    }

    /// The refresh tokens usable for `query`: the family's first when
    /// [`RefreshTokenQuery::with_family`] asks for them, then the client's own;
    /// each group newest first (`last_modification_time`).
    ///
    /// ```
    /// use oxmsal::cache::{RefreshTokenQuery, TokenCache};
    /// let envs = vec!["login.microsoftonline.com".to_owned()];
    /// let found = TokenCache::new().find_refresh_tokens(&RefreshTokenQuery::new("u.t", &envs, "c"));
    /// assert!(found.is_empty());
    /// ```
    pub fn find_refresh_tokens(&self, query: &RefreshTokenQuery<'_>) -> Vec<CachedRefreshToken> {
        let state = self.read();
        state
            .store
            .find_refresh_tokens(query)
            .into_iter()
            .map(|(key, entry)| cached_refresh_token(key, entry))
            .collect()
    }

    /// The id token of an account for `client_id`, in `realm` when given (any
    /// realm otherwise), under the first of `environments` that has one.
    ///
    /// ```
    /// use oxmsal::cache::TokenCache;
    /// let envs = vec!["login.microsoftonline.com".to_owned()];
    /// assert!(TokenCache::new().find_id_token("u.t", &envs, "c", None).is_none());
    /// ```
    pub fn find_id_token(
        &self,
        home_account_id: &str,
        environments: &[String],
        client_id: &str,
        realm: Option<&str>,
    ) -> Option<CachedIdToken> {
        let state = self.read();
        let (key, entry) =
            state
                .store
                .find_id_token(home_account_id, environments, client_id, realm)?;
        Some(cached_id_token(key, entry))
    }

    /// What the cache knows about `client_id` (its family) under the first of
    /// `environments` that has an entry.
    ///
    /// ```
    /// use oxmsal::cache::TokenCache;
    /// let envs = vec!["login.microsoftonline.com".to_owned()];
    /// assert!(TokenCache::new().find_app_metadata(&envs, "c").is_none());
    /// ```
    pub fn find_app_metadata(
        &self,
        environments: &[String],
        client_id: &str,
    ) -> Option<AppMetadata> {
        let state = self.read();
        state
            .store
            .find_app_metadata(environments, client_id)
            .cloned()
    }

    /// Stores a successful token response: the access token (replacing those of
    /// the same account, client and tenant whose scopes overlap it), the refresh
    /// token with its family, the id token, the account and the app metadata.
    /// A malformed response is an `InvalidResponse` error and changes nothing.
    pub(crate) fn save_token_response(&self, record: &TokenRecord<'_>) -> Result<SavedTokens> {
        self.save(record, true)
    }

    /// The same for a silent refresh, without writing the Account entry: an
    /// account signed out while the refresh was in flight stays signed out
    /// (MSAL Python's `skip_account_creation`). Its tokens are still saved and
    /// [`SavedTokens::account`] still describes the account.
    pub(crate) fn save_refreshed_token_response(
        &self,
        record: &TokenRecord<'_>,
    ) -> Result<SavedTokens> {
        self.save(record, false)
    }

    fn save(&self, record: &TokenRecord<'_>, save_account: bool) -> Result<SavedTokens> {
        // Parse and build everything before locking: a bad response changes
        // nothing, and readers are held up only for the inserts.
        let entries = response::entries(record)?;
        let (at_key, at) = entries.access_token;
        let saved = SavedTokens {
            access_token: cached_access_token(&at_key, &at),
            account: entries.account.as_ref().map(|(_, a)| a.account.clone()),
            id_token_claims: entries.id_token_claims,
        };
        let mut state = self.write();
        state.store.save_access_token(&at_key, at, record.now);
        if let Some((key, rt)) = entries.refresh_token {
            state.store.refresh_tokens.save(key, rt);
        }
        if let Some((key, idt)) = entries.id_token {
            state.store.id_tokens.save(key, idt);
        }
        if let Some((key, account)) = entries.account {
            if save_account {
                state.store.accounts.save(key, account);
            }
        }
        let (key, app_metadata) = entries.app_metadata;
        state.store.app_metadata.save(key, app_metadata);
        state.changed();
        Ok(saved)
    }

    /// Gives the refresh token stored under `key` a rotated secret (the server
    /// answered a refresh with a new one), as MSAL's `update_rt` does. `false`
    /// when there is no such entry (a sign-out got there first).
    pub(crate) fn update_refresh_token(&self, key: &str, new_secret: &str, now: u64) -> bool {
        let mut state = self.write();
        let updated = state
            .store
            .update_refresh_token(key, Secret::new(new_secret), now);
        if updated {
            state.changed();
        }
        updated
    }
}

pub(crate) fn secret_of(raw: &entity::Raw) -> Secret {
    raw.secret().cloned().unwrap_or_else(|| Secret::new(""))
}

fn cached_access_token(key: &str, e: &AccessTokenEntry) -> CachedAccessToken {
    CachedAccessToken {
        key: key.to_owned(),
        secret: secret_of(&e.raw),
        token_type: e.shared.token_type.to_string(),
        expires_on: e.expires_on,
        extended_expires_on: e.extended_expires_on,
        refresh_on: e.refresh_on,
        cached_at: e.cached_at,
        target: e.shared.target.to_string(),
        home_account_id: e.home_account_id.as_deref().map(str::to_owned),
        realm: e.realm.to_string(),
        environment: e.shared.environment.to_string(),
        client_id: e.shared.client_id.to_string(),
    }
}

fn cached_refresh_token(key: &str, e: &RefreshTokenEntry) -> CachedRefreshToken {
    CachedRefreshToken {
        key: key.to_owned(),
        secret: secret_of(&e.raw),
        home_account_id: e.home_account_id.clone(),
        environment: e.environment.clone(),
        client_id: e.client_id.clone(),
        target: e.target.clone(),
        family_id: e.family_id.clone(),
        last_modification_time: e.last_modification_time,
    }
}

fn cached_id_token(key: &str, e: &IdTokenEntry) -> CachedIdToken {
    let secret = secret_of(&e.raw);
    let claims = e.claims().map(|c| serde_json::Map::clone(&c));
    CachedIdToken {
        key: key.to_owned(),
        secret,
        home_account_id: e.home_account_id.clone(),
        environment: e.environment.clone(),
        realm: e.realm.clone(),
        client_id: e.client_id.clone(),
        claims,
    }
}

#[cfg(test)]
mod tests;
