//! What every application kind holds: identity, authority, transport, cache.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use crate::secret::WipedString;

use crate::authority::discovery::{Discovery, Found};
use crate::authority::endpoints::Endpoints;
use crate::authority::Authority;
use crate::cache::partition::{merge_into_document, remove_app_tokens_from_document};
use crate::cache::persist::{remove_account_from_document, CachePersistence, PartitionKey};
use crate::cache::{AccessTokenQuery, LookupKeys};
use crate::cache::{Account, TokenCache};
use crate::clock::Clock;
use crate::error::Result;
use crate::http::{Pipeline, ThrottleStore};

/// The shared inside of an application.
#[derive(Debug)]
pub(crate) struct AppCore {
    pub client_id: String,
    pub authority: Authority,
    pub pipeline: Pipeline,
    pub discovery: Discovery,
    pub cache: TokenCache,
    /// Where the cache's partitions are shared with other processes, if anywhere.
    pub persistence: Option<Arc<dyn CachePersistence>>,
    pub capabilities: Vec<String>,
    pub clock: Arc<dyn Clock>,
    /// Requests the server asked us not to repeat yet.
    pub throttle: ThrottleStore,
    /// How long a 429/5xx without a usable `Retry-After` blocks the same request.
    pub default_throttle: Duration,
    /// One lock per silent refresh in progress (single flight).
    pub refresh_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Whether logs may name users (usernames, account ids): the app's choice.
    pub log_pii: bool,
    /// The index keys of this app's own app-token lookup in the first
    /// discovered tenant: built once, not on every client-credentials hit.
    pub app_token_keys: OnceLock<(Arc<Endpoints>, LookupKeys)>,
    /// The app's own authority's endpoints, once discovered.
    pub own_endpoints: OnceLock<Arc<Endpoints>>,
}

impl AppCore {
    /// The authority for one request: the app's, or the same cloud with another tenant.
    pub(crate) fn authority_for(&self, tenant: Option<&str>) -> Result<Cow<'_, Authority>> {
        match tenant {
            Some(t) => self.authority.with_tenant(t).map(Cow::Owned),
            None => Ok(Cow::Borrowed(&self.authority)),
        }
    }

    /// Whether the app has a persistence store (partitions to load and save).
    pub(crate) fn has_persistence(&self) -> bool {
        self.persistence.is_some()
    }

    /// A personal value for a log field: itself when the app opted in to PII
    /// logging, else a placeholder.
    pub(crate) fn pii<'a>(&self, value: Option<&'a str>) -> &'a str {
        match value {
            Some(v) if self.log_pii => v,
            Some(_) => "<pii>",
            None => "",
        }
    }

    /// The accounts of this app's authority host and its known aliases: the
    /// store's when the app has one that can list its users (what another
    /// process signed in or out counts; a store that cannot be read is an
    /// error, never "nobody"), else the ones in memory.
    pub(crate) async fn accounts(&self) -> Result<Vec<Account>> {
        let stored = match &self.persistence {
            Some(persistence) => persistence.load_user_partitions().await?,
            None => None,
        };
        let all = match stored {
            Some(documents) => {
                // Read apart from the app's cache: listing is not loading,
                // and a flow loads the partition it needs itself.
                let users = TokenCache::new();
                for document in documents {
                    users.merge_document(&WipedString::new(document))?;
                }
                users.accounts()
            }
            None => self.cache.accounts(),
        };
        let environment = self.authority.environment();
        let aliases = self.discovery.known_aliases(&self.authority);
        Ok(all
            .into_iter()
            .filter(|a| a.environment == environment || aliases.contains(&a.environment))
            .collect())
    }

    /// Brings `partition` from persistence into memory, before a cache lookup.
    pub(crate) async fn load_partition(&self, partition: &PartitionKey) -> Result<()> {
        let Some(persistence) = &self.persistence else {
            return Ok(());
        };
        // Looked at before reading: a write in between changes it, and the
        // next load reads again.
        let fingerprint = persistence.fingerprint(partition).await?;
        if let Some(fingerprint) = &fingerprint {
            if self.cache.holds_loaded(partition, fingerprint) {
                return Ok(());
            }
        }
        if let Some(document) = persistence.load(partition).await? {
            let document = WipedString::new(document);
            self.cache
                .replace_partition(partition, &document, fingerprint)?;
        }
        Ok(())
    }

    /// Marks a cache write that [`store_partition`](Self::store_partition)
    /// will carry to persistence, from before it is saved in memory until the
    /// guard drops; `None` without persistence.
    pub(crate) fn store_in_flight(&self) -> Option<crate::cache::StoreInFlight> {
        self.persistence
            .as_ref()
            .map(|_| self.cache.store_in_flight())
    }

    /// Writes `partition` to persistence after a cache write: merged into what
    /// is stored by then, so another process's tokens written meanwhile stay.
    pub(crate) async fn store_partition(&self, partition: &PartitionKey) -> Result<()> {
        let Some(persistence) = &self.persistence else {
            return Ok(());
        };
        // `merge_documents(stored, &cache.export_partition(partition)?)`, without
        // the round trip through JSON.
        let ours = self.cache.partition_snapshot(partition);
        persistence
            .update(partition, &|stored| {
                merge_into_document(stored, ours.clone())
            })
            .await
    }

    /// Signs `account` out of this app, in memory and in persistence; returns
    /// how many entries went from memory (after loading the account's partition).
    pub(crate) async fn remove_account(&self, account: &Account) -> Result<usize> {
        let partition = PartitionKey::User {
            home_account_id: account.home_account_id.clone(),
        };
        self.load_partition(&partition).await?;
        let removed = self.cache.remove_account(account, &self.client_id);
        if let Some(persistence) = &self.persistence {
            let client_id = Some(self.client_id.as_str());
            // Strict: a store that carries on through an outage must not
            // make a sign-out that did not happen look done.
            persistence
                .update_strict(&partition, &|stored| {
                    remove_account_from_document(stored, account, client_id)
                })
                .await?;
        }
        Ok(removed)
    }

    /// Removes this app's own tokens (the client credentials grant's: no
    /// account) for the app's cloud, in memory and in persistence; returns how
    /// many entries went from memory. With persistence, the partition of the
    /// app's tenant is loaded first (its endpoints from the persisted metadata
    /// or discovery), so tokens another process stored go too, and every
    /// tenant partition this process knows of is edited; tokens of another
    /// tenant only another process asked for stay in the store.
    pub(crate) async fn remove_tokens_for_client(&self) -> Result<usize> {
        let mut environments = vec![self.authority.environment().to_owned()];
        environments.extend(self.discovery.known_aliases(&self.authority));
        let mut realms = std::collections::BTreeSet::new();
        if self.has_persistence() {
            let id = crate::correlation::new_id();
            let found = self.lookup_endpoints(&self.authority, &id).await?;
            environments.extend(found.endpoints.aliases.iter().cloned());
            realms.insert(found.endpoints.realm.clone());
            for realm in &realms {
                self.load_partition(&self.app_partition(realm)).await?;
            }
        }
        let removed = self.cache.remove_app_tokens(&self.client_id, &environments);
        let count = removed.len();
        realms.extend(removed);
        if let Some(persistence) = &self.persistence {
            for realm in &realms {
                // Strict, as a sign-out: a removal that did not happen must
                // not look done.
                persistence
                    .update_strict(&self.app_partition(realm), &|stored| {
                        remove_app_tokens_from_document(stored, &self.client_id, &environments)
                    })
                    .await?;
            }
        }
        Ok(count)
    }

    /// Where this app's own tokens of `realm` are persisted.
    fn app_partition(&self, realm: &str) -> PartitionKey {
        PartitionKey::App {
            client_id: self.client_id.clone(),
            realm: realm.to_owned(),
        }
    }

    /// The single-flight lock of a refresh key.
    fn refresh_lock(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .refresh_locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        locks.entry(key.to_owned()).or_default().clone()
    }

    /// Forgets a refresh lock nobody else holds, so the map stays small.
    fn release_refresh_lock(&self, key: &str, lock: &Arc<tokio::sync::Mutex<()>>) {
        let mut locks = self
            .refresh_locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Ours and the map's: nobody else is waiting on it.
        if Arc::strong_count(lock) <= 2 {
            locks.remove(key);
        }
    }

    /// Single flight for identical requests (`key` names what makes them
    /// identical): whoever [`enter`](Flight::enter)s first sends the request,
    /// the others wait for it and then find its token in the cache. The lock
    /// is given up and forgotten when the [`Flight`] is dropped, on every path.
    pub(crate) fn flight(&self, key: String) -> Flight<'_> {
        let lock = self.refresh_lock(&key);
        Flight {
            core: self,
            key,
            lock,
            guard: None,
        }
    }

    /// Discovered endpoints of `authority` (lazily, once per app).
    /// What a synchronous cache hit needs, or `None` for the full path: the
    /// request may be answered from memory (not `bypass`ed, no persistence to
    /// load first), its scopes pass the checks, and its authority's endpoints
    /// are already known. The full path reports any mistake itself.
    pub(crate) fn hot_path(
        &self,
        bypass: bool,
        scopes: &[String],
        tenant: Option<&str>,
    ) -> Option<(Cow<'_, Authority>, Arc<Endpoints>)> {
        if bypass || self.has_persistence() {
            return None;
        }
        super::scopes::check_scopes(scopes).ok()?;
        let authority = self.authority_for(tenant).ok()?;
        let endpoints = self.discovered(&authority)?;
        Some((authority, endpoints))
    }

    /// The index keys of an app-token lookup in `endpoints`' tenant, when they
    /// are the ones kept (the first tenant asked for).
    pub(crate) fn app_token_keys(&self, endpoints: &Arc<Endpoints>) -> Option<&LookupKeys> {
        let (kept, keys) = self.app_token_keys.get_or_init(|| {
            let keys = LookupKeys::new(&AccessTokenQuery {
                home_account_id: None,
                environments: &endpoints.aliases,
                client_id: &self.client_id,
                realm: Some(&endpoints.realm),
                scopes: &[],
                ext_cache_key: None,
            });
            (Arc::clone(endpoints), keys)
        });
        Arc::ptr_eq(kept, endpoints).then_some(keys)
    }

    /// The endpoints of `authority` if already discovered (no await). The
    /// app's own authority's are kept beside it, read without a lock or a
    /// string comparison: every cache hit asks.
    pub(crate) fn discovered(&self, authority: &Authority) -> Option<Arc<Endpoints>> {
        let own = std::ptr::eq(authority, &self.authority);
        if own {
            if let Some(endpoints) = self.own_endpoints.get() {
                return Some(Arc::clone(endpoints));
            }
        }
        let endpoints = self.discovery.discovered(authority)?;
        if own {
            let _ = self.own_endpoints.set(Arc::clone(&endpoints));
        }
        Some(endpoints)
    }

    pub(crate) async fn endpoints(
        &self,
        authority: &Authority,
        correlation_id: &str,
    ) -> Result<Arc<Endpoints>> {
        self.discovery
            .endpoints(&self.pipeline, authority, correlation_id)
            .await
    }

    /// Endpoints to look in the cache with: those persisted with the cache
    /// serve even when stale, so a cache hit needs no request.
    pub(crate) async fn lookup_endpoints(
        &self,
        authority: &Authority,
        correlation_id: &str,
    ) -> Result<Found> {
        self.discovery
            .for_lookup(&self.pipeline, authority, correlation_id)
            .await
    }

    /// Endpoints to send a request to after a lookup with `found`
    /// (discovered again when `found`'s are stale).
    pub(crate) async fn request_endpoints(
        &self,
        authority: &Authority,
        correlation_id: &str,
        found: &Found,
    ) -> Result<Arc<Endpoints>> {
        self.discovery
            .for_request(&self.pipeline, authority, correlation_id, found)
            .await
    }
}

/// A place in the queue of identical requests; see [`AppCore::flight`].
pub(crate) struct Flight<'a> {
    core: &'a AppCore,
    key: String,
    lock: Arc<tokio::sync::Mutex<()>>,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Flight<'_> {
    /// Enters at once if nobody is in (`true`), else leaves the queue as it is.
    pub(crate) fn try_enter(&mut self) -> bool {
        if self.guard.is_none() {
            self.guard = Arc::clone(&self.lock).try_lock_owned().ok();
        }
        self.guard.is_some()
    }

    /// Waits until the request before this one is done.
    pub(crate) async fn enter(&mut self) {
        if self.guard.is_none() {
            self.guard = Some(Arc::clone(&self.lock).lock_owned().await);
        }
    }
}

impl Drop for Flight<'_> {
    fn drop(&mut self) {
        // Given up before the map is looked at, so the next one may enter.
        drop(self.guard.take());
        self.core.release_refresh_lock(&self.key, &self.lock);
    }
}
