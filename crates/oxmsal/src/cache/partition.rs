//! Moving partitions of a cache in and out of a persistent store: what
//! [`persist`](super::persist) back ends and the flows' hooks are built from.
//!
//! Stored documents only ever grow by union ([`merge_documents`]) or shrink by
//! an explicit removal ([`remove_account_from_document`]); a process never
//! writes back a whole cache it read earlier, so writers that overlap lose
//! nothing.

use super::persist::{Fingerprint, PartitionKey};
use super::store::{MergeRule, Store};
use super::{codec, Account, TokenCache};
use crate::error::Result;

impl TokenCache {
    /// Signs an account out of every app that holds its tokens here (what a
    /// CLI's `logout` does when no client is named). Returns how many entries went.
    ///
    /// ```
    /// let cache = oxmsal::cache::TokenCache::new();
    /// # cache.deserialize(r#"{"Account": {"u.t-h-t": {"home_account_id": "u.t", "environment": "h", "realm": "t", "username": "a", "authority_type": "MSSTS"}}}"#).unwrap();
    /// let account = cache.accounts().remove(0);
    /// assert_eq!(cache.remove_account_from_all_clients(&account), 1);
    /// ```
    pub fn remove_account_from_all_clients(&self, account: &Account) -> usize {
        let mut state = self.write();
        let removed = remove_from_all_clients(&mut state.store, account);
        if removed > 0 {
            state.changed();
        }
        removed
    }

    /// Removes `client_id`'s app-only access tokens (the client credentials
    /// grant's) in any of `environments`; returns the tenant of each token
    /// removed.
    pub(crate) fn remove_app_tokens(
        &self,
        client_id: &str,
        environments: &[String],
    ) -> Vec<String> {
        let mut state = self.write();
        let realms = state.store.remove_app_tokens(client_id, environments);
        if !realms.is_empty() {
            state.changed();
        }
        realms
    }

    /// Inserts every entry of an MSAL-format document, replacing entries with
    /// the same key and keeping the other entries; unknown sections and fields
    /// come along. A malformed document is a [`Cache`](crate::ErrorKind::Cache)
    /// error and the cache is left unchanged. Loading is not a change:
    /// [`has_state_changed`](Self::has_state_changed) stays as it was.
    ///
    /// ```
    /// use oxmsal::cache::TokenCache;
    /// let cache = TokenCache::new();
    /// cache.merge_document(r#"{"AppMetadata": {"appmetadata-h-a": {"client_id": "a", "environment": "h"}}}"#)?;
    /// cache.merge_document(r#"{"AppMetadata": {"appmetadata-h-b": {"client_id": "b", "environment": "h"}}}"#)?;
    /// assert_eq!(cache.app_metadata_count(), 2);
    /// assert!(cache.merge_document("[]").is_err());
    /// assert_eq!(cache.app_metadata_count(), 2);
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    pub fn merge_document(&self, json: &str) -> Result<()> {
        self.load_document(json, None)
    }

    /// Brings a partition loaded from persistence into memory: `partition`'s
    /// entries here are dropped first, then the document's are put in, so an
    /// entry removed from the store by another process (a sign-out) is gone
    /// here too — it would otherwise be served, and written back with the next
    /// token (MSAL Python reloads its cache the same way). While a write of
    /// this cache is on its way to the store ([`StoreInFlight`]), the document
    /// is merged instead, so a token just saved is never dropped before it is
    /// stored. App metadata is only merged: every partition shares it.
    ///
    /// `fingerprint` is the store's for this document (see
    /// [`CachePersistence::fingerprint`](super::persist::CachePersistence::fingerprint)):
    /// until the cache changes, [`holds_loaded`](Self::holds_loaded) then says
    /// a load with the same fingerprint can be skipped.
    pub(crate) fn replace_partition(
        &self,
        partition: &PartitionKey,
        json: &str,
        fingerprint: Option<Fingerprint>,
    ) -> Result<()> {
        self.load_document(json, Some((partition, fingerprint)))
    }

    /// Whether the cache holds `partition` as loaded with `fingerprint` and
    /// has not changed since.
    pub(crate) fn holds_loaded(&self, partition: &PartitionKey, fingerprint: &Fingerprint) -> bool {
        let state = self.read();
        state
            .loaded
            .get(partition)
            .is_some_and(|(seen, generation)| {
                seen == fingerprint && *generation == state.generation
            })
    }

    /// Merges a document in, after dropping `replacing`'s entries when no write
    /// is in flight. Loading is not a change to persist.
    fn load_document(
        &self,
        json: &str,
        replacing: Option<(&PartitionKey, Option<Fingerprint>)>,
    ) -> Result<()> {
        // Parsed outside the lock: a failure changes nothing, readers wait less.
        let incoming = codec::parse(json)?;
        let mut state = self.write();
        let clean = state.generation == state.persisted;
        let replaced = replacing.filter(|_| state.unstored == 0);
        if let Some((partition, _)) = &replaced {
            state.store.remove_partition(partition);
        }
        state.store.merge(incoming, MergeRule::Replace);
        state.changed();
        if clean {
            state.persisted = state.generation;
        }
        // Merged only (a write in flight): the cache is not what was loaded.
        if let Some((partition, Some(fingerprint))) = replaced {
            let generation = state.generation;
            state
                .loaded
                .insert(partition.clone(), (fingerprint, generation));
        }
        Ok(())
    }

    /// Marks a write on its way to persistence until the guard drops (see
    /// [`replace_partition`](Self::replace_partition)): taken before the token
    /// response is saved in memory, dropped once the store has it (or failed).
    pub(crate) fn store_in_flight(&self) -> StoreInFlight {
        self.write().unstored += 1;
        StoreInFlight {
            cache: self.clone(),
        }
    }

    /// An MSAL-format document holding only `partition`'s entries (see
    /// [`PartitionKey`]): for `App`, the client's app-only access tokens in that
    /// realm; for `User`, the account's access, refresh and id tokens and
    /// account entries; for `OnBehalfOf`, the access tokens with that extended
    /// key and the refresh tokens, id tokens and accounts of their users. Each
    /// comes with the app metadata of the clients involved.
    ///
    /// ```
    /// use oxmsal::cache::{persist::PartitionKey, TokenCache};
    /// let cache = TokenCache::new();
    /// cache.deserialize(r#"{"Account": {"u.t-h-t": {"home_account_id": "u.t", "environment": "h",
    ///     "realm": "t", "username": "alice", "authority_type": "MSSTS"}}}"#)?;
    /// let mine = cache.export_partition(&PartitionKey::User { home_account_id: "u.t".into() })?;
    /// assert!(mine.contains("alice"));
    /// let other = cache.export_partition(&PartitionKey::User { home_account_id: "x.y".into() })?;
    /// assert!(!other.contains("alice"));
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    pub fn export_partition(&self, partition: &PartitionKey) -> Result<String> {
        codec::write(&self.partition_snapshot(partition))
    }

    /// The entries of [`export_partition`](Self::export_partition), unserialized.
    pub(crate) fn partition_snapshot(&self, partition: &PartitionKey) -> Store {
        self.read().store.partition(partition)
    }
}

/// A write of the cache on its way to persistence; see
/// [`TokenCache::store_in_flight`].
#[derive(Debug)]
pub(crate) struct StoreInFlight {
    cache: TokenCache,
}

impl Drop for StoreInFlight {
    fn drop(&mut self) {
        let mut state = self.cache.write();
        state.unstored = state.unstored.saturating_sub(1);
    }
}

/// Parses a stored document; `None` is an empty cache.
fn parse(stored: Option<&str>) -> Result<Store> {
    codec::parse(stored.unwrap_or_default())
}

/// The union of a stored document and ours: every entry of both. When both
/// have an entry with the same key, the newer wins (an access token's
/// `cached_at`, a refresh token's `last_modification_time`), else ours —
/// keeping the fields oxmsal does not know of the stored entry it replaces.
/// Unknown sections and fields of the stored document are kept. A malformed
/// document is a [`Cache`](crate::ErrorKind::Cache) error.
///
/// ```
/// use oxmsal::cache::persist::merge_documents;
/// let stored = r#"{"AppMetadata": {"appmetadata-h-a": {"client_id": "a", "environment": "h"}},
///                  "FutureSection": {"kept": true}}"#;
/// let ours = r#"{"AppMetadata": {"appmetadata-h-b": {"client_id": "b", "environment": "h"}}}"#;
/// let merged = merge_documents(Some(stored), ours)?;
/// assert!(merged.contains("appmetadata-h-a") && merged.contains("appmetadata-h-b"));
/// assert!(merged.contains("FutureSection"));
/// assert!(merge_documents(Some("{"), ours).is_err());
/// # Ok::<(), oxmsal::Error>(())
/// ```
pub fn merge_documents(stored: Option<&str>, ours: &str) -> Result<String> {
    merge_into_document(stored, codec::parse(ours)?)
}

/// [`merge_documents`] with our side already parsed (the flows' hook: no
/// serializing and re-parsing while the store's lock is held).
pub(crate) fn merge_into_document(stored: Option<&str>, ours: Store) -> Result<String> {
    let mut merged = parse(stored)?;
    merged.merge(ours, MergeRule::NewerWins);
    codec::write(&merged)
}

/// A stored document with `account` signed out: of `client_id` as
/// [`TokenCache::remove_account`] does, or of every client when `None` (as
/// [`TokenCache::remove_account_from_all_clients`] does). Everything else,
/// unknown sections and fields included, is kept.
///
/// ```
/// use oxmsal::cache::{persist::remove_account_from_document, TokenCache};
/// let stored = r#"{"Account": {"u.t-h-t": {"home_account_id": "u.t", "environment": "h",
///     "realm": "t", "username": "alice", "authority_type": "MSSTS"}}, "Other": {}}"#;
/// let cache = TokenCache::new();
/// cache.deserialize(stored)?;
/// let account = cache.accounts().remove(0);
/// let after = remove_account_from_document(Some(stored), &account, None)?;
/// assert!(!after.contains("alice") && after.contains("Other"));
/// # Ok::<(), oxmsal::Error>(())
/// ```
pub fn remove_account_from_document(
    stored: Option<&str>,
    account: &Account,
    client_id: Option<&str>,
) -> Result<String> {
    let mut store = parse(stored)?;
    match client_id {
        Some(client_id) => {
            store.remove_account(&account.home_account_id, &account.environment, client_id);
        }
        None => {
            remove_from_all_clients(&mut store, account);
        }
    }
    codec::write(&store)
}

/// A stored document without `client_id`'s app-only access tokens in any of
/// `environments` (see [`TokenCache::remove_app_tokens`]).
pub(crate) fn remove_app_tokens_from_document(
    stored: Option<&str>,
    client_id: &str,
    environments: &[String],
) -> Result<String> {
    let mut store = parse(stored)?;
    store.remove_app_tokens(client_id, environments);
    codec::write(&store)
}

/// Signs `account` out of every client holding its tokens; how many entries went.
pub(super) fn remove_from_all_clients(store: &mut Store, account: &Account) -> usize {
    let (home, environment) = (&account.home_account_id, &account.environment);
    let clients = store.client_ids_of(home, environment);
    let mut removed = 0;
    for client in &clients {
        removed += store.remove_account(home, environment, client);
    }
    if clients.is_empty() {
        removed += store.remove_account(home, environment, "");
    }
    removed
}

#[cfg(test)]
mod tests;
