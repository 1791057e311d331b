//! [`RedisStore`]: the token cache shared through Redis (feature `cache-redis`).
//!
//! Many processes — replicas of a web app, a fleet of daemons, CLI runs — share
//! one cache: a token one of them got is a cache hit for all the others.
//!
//! - One key per partition, `{prefix}{partition.storage_key()}`, holding the
//!   partition's MSAL-format document, so any MSAL that reads Redis can read it.
//! - [`update`](CachePersistence::update) is optimistic: read the document,
//!   apply the edit, write it back only if nobody wrote in between (a Lua
//!   compare-and-set on the document's SHA-1), else read again and retry.
//!   Concurrent writers lose nothing. Updates from one store to one partition
//!   also queue locally, so only other processes can make one retry.
//! - Each write sets a TTL from the document: until its latest access-token
//!   expiry, or [`refresh_token_ttl`](RedisStoreBuilder::refresh_token_ttl)
//!   (90 days) when it holds a refresh token; never less than a minute. A
//!   document left with no entry deletes the key.
//! - When Redis is down, [`FailurePolicy::ServeFromMemory`] (the default) carries
//!   on with the in-memory cache: a load finds nothing, an update is skipped,
//!   each logged as a warning and counted by [`RedisStore::failures`].
//!   [`FailurePolicy::Fail`] returns a [`Cache`](crate::ErrorKind::Cache) error.
//!   What decides which accounts exist is an error whatever the policy:
//!   listing the users ([`load_user_partitions`](CachePersistence::load_user_partitions),
//!   behind an app's `accounts()`) and signing one out
//!   ([`update_strict`](CachePersistence::update_strict), behind
//!   `remove_account()`) — from memory a new process would answer "nobody is
//!   signed in", and a sign-out skipped would leave the user signed in.
//! - [`save_throttle`](RedisStore::save_throttle) and
//!   [`load_throttle`](RedisStore::load_throttle) share the apps' throttling
//!   memory (a server's "back off") under `{prefix}throttle` the same way,
//!   merged, the key expiring with the last back-off.
//! - The password — in the URL, or better apart from it with
//!   [`password`](RedisStoreBuilder::password) — never appears in logs,
//!   errors or `Debug` output.
//! - Values are capped ([`max_value_size`](RedisStoreBuilder::max_value_size),
//!   64 MiB by default): one over the cap is a [`Cache`](crate::ErrorKind::Cache)
//!   error, never fetched nor overwritten.
//! - [`load_metadata`](CachePersistence::load_metadata) and
//!   [`update_metadata`](CachePersistence::update_metadata) keep the apps'
//!   discovery metadata under `{prefix}metadata` (compare-and-set, expiring
//!   with the refresh-token TTL), so a new process finds its cached tokens
//!   without asking the identity provider.
//! - `rediss://` uses rustls with the system's roots (plus any
//!   [extra root](RedisStoreBuilder::extra_root_certificate_pem)). Building
//!   such a store installs aws-lc-rs as rustls' process-wide crypto provider
//!   unless the application installed one already.
//!
//! ```no_run
//! use std::sync::Arc;
//! use oxmsal::cache::persist::{CachePersistence, PartitionKey};
//! use oxmsal::cache::persist::redis::RedisStore;
//!
//! # async fn run() -> oxmsal::Result<()> {
//! let password = oxmsal::Secret::new(std::env::var("REDIS_PASSWORD").unwrap_or_default());
//! let store = Arc::new(
//!     RedisStore::builder("rediss://cache.example.net:6380/0")
//!         .password(password)
//!         .build()?,
//! );
//! let app = PartitionKey::App { client_id: "my-app".into(), realm: "contoso".into() };
//! store.update(&app, &|old| Ok(old.unwrap_or("{}").to_owned())).await?;
//! let doc = store.load(&app).await?;
//! println!("cached: {}; Redis failures so far: {}", doc.is_some(), store.failures());
//! // Hand it to apps: `.cache_persistence(store.clone())`.
//! # Ok(()) }
//! ```

mod connection;
mod ttl;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::secret::WipedString;

use super::{CachePersistence, Edit, PartitionKey, PersistFuture, MAX_METADATA_BYTES};
use crate::error::{Error, Result};
use crate::http::ThrottleStore;
use crate::secret::Secret;
use connection::{Connector, Failure, Fetched};
use ttl::Write;

/// The key prefix unless [`RedisStoreBuilder::key_prefix`] says otherwise.
///
/// ```
/// use oxmsal::cache::persist::{redis::{RedisStore, DEFAULT_KEY_PREFIX}, PartitionKey};
/// let store = RedisStore::new("redis://127.0.0.1/0")?;
/// let p = PartitionKey::User { home_account_id: "u.t".into() };
/// assert!(store.key_of(&p).starts_with(DEFAULT_KEY_PREFIX));
/// # Ok::<(), oxmsal::Error>(())
/// ```
pub const DEFAULT_KEY_PREFIX: &str = "oxmsal:";

/// The key, after the prefix, of the shared throttle state. Partitions'
/// storage keys begin with `app-`, `user-` or `obo-`, so it is never one.
const THROTTLE_KEY: &str = "throttle";

/// How every user partition's storage key begins (see [`PartitionKey::storage_key`]).
const USER_PARTITION_PREFIX: &str = "user-";

/// The key, after the prefix, of the discovery metadata (never a partition's,
/// as for [`THROTTLE_KEY`]).
const METADATA_KEY: &str = "metadata";

const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(2);

/// The largest value a store reads or writes unless
/// [`RedisStoreBuilder::max_value_size`] says otherwise: 64 MiB.
///
/// ```
/// assert_eq!(oxmsal::cache::persist::redis::DEFAULT_MAX_VALUE_SIZE, 64 * 1024 * 1024);
/// ```
pub const DEFAULT_MAX_VALUE_SIZE: usize = 64 * 1024 * 1024;
const DEFAULT_REFRESH_TOKEN_TTL: Duration = Duration::from_secs(90 * 24 * 3600);

/// Compare-and-set rounds before an update gives up. Other processes must win
/// this many times in a row against one writer; with the jittered backoff
/// below that takes hundreds of concurrent writers on one partition.
const MAX_ATTEMPTS: u32 = 50;
/// Backoff before retry `n`: random in `0..=min(slot * 2^n, BACKOFF_CAP)`, where
/// the slot is how long the failed attempt took (read, edit, write) but at
/// least BACKOFF_MIN_SLOT. Scaling by the attempt's own duration is what
/// spreads writers out: with a big document or a far Redis an attempt takes
/// long, and a fixed millisecond of backoff would make them collide again.
const BACKOFF_MIN_SLOT: Duration = Duration::from_millis(1);
const BACKOFF_CAP: Duration = Duration::from_millis(500);

/// Local queues for updates (by hash of the key): updates through this store
/// to one partition run one at a time instead of racing each other in Redis.
const LOCK_STRIPES: usize = 64;

/// Writes `ARGV[2]` (or deletes the key when it is empty) with `EX ARGV[3]`,
/// but only if the key still holds what the caller read: a value whose SHA-1
/// is `ARGV[1]`, or nothing when `ARGV[1]` is empty. Comparing digests keeps
/// the old document off the wire. Returns 1 when it wrote, 0 on a conflict.
const COMPARE_AND_SET: &str = r"
local current = redis.call('GET', KEYS[1])
local seen = ''
if current then seen = redis.sha1hex(current) end
if seen ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
end
return 1
";

/// What a [`RedisStore`] does when Redis cannot be reached (or does not answer
/// within the [operation timeout](RedisStoreBuilder::operation_timeout)).
///
/// ```
/// use oxmsal::cache::persist::redis::FailurePolicy;
/// assert_eq!(FailurePolicy::default(), FailurePolicy::ServeFromMemory);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FailurePolicy {
    /// Carry on with the in-memory cache: a load finds nothing, an update is
    /// not persisted. Each failure is logged as a warning and counted.
    #[default]
    ServeFromMemory,
    /// Fail the call with a [`Cache`](crate::ErrorKind::Cache) error (counted too).
    Fail,
}

/// A [`CachePersistence`] in Redis. See the [module docs](self).
///
/// ```
/// use oxmsal::cache::persist::redis::RedisStore;
/// // No network until the first load or update.
/// let store = RedisStore::new("redis://app:hunter2@127.0.0.1:6379/0")?;
/// assert!(!format!("{store:?}").contains("hunter2"));
/// assert_eq!(store.to_string(), "Redis token cache at redis://app:***@127.0.0.1:6379/0");
/// assert_eq!(store.failures(), 0);
/// # Ok::<(), oxmsal::Error>(())
/// ```
pub struct RedisStore {
    connector: Connector,
    prefix: String,
    policy: FailurePolicy,
    refresh_token_ttl_secs: u64,
    max_value_size: usize,
    script: ::redis::Script,
    locks: Vec<tokio::sync::Mutex<()>>,
    failures: AtomicU64,
    conflicts: AtomicU64,
}

/// Options of a [`RedisStore`], from [`RedisStore::builder`].
///
/// ```
/// use std::time::Duration;
/// use oxmsal::cache::persist::redis::{FailurePolicy, RedisStore};
/// let store = RedisStore::builder("redis://127.0.0.1:6379/3")
///     .key_prefix("billing-api:")
///     .operation_timeout(Duration::from_millis(500))
///     .failure_policy(FailurePolicy::Fail)
///     .build()?;
/// # Ok::<(), oxmsal::Error>(())
/// ```
pub struct RedisStoreBuilder {
    url: WipedString,
    password: Option<Secret>,
    prefix: String,
    timeout: Duration,
    policy: FailurePolicy,
    refresh_token_ttl: Duration,
    max_value_size: usize,
    extra_root_pem: Option<Vec<u8>>,
}

impl fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = url::Url::parse(&self.url)
            .map(|u| connection::redact(&u))
            .unwrap_or_else(|_| "(invalid URL)".to_owned());
        f.debug_struct("RedisStoreBuilder")
            .field("url", &url)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("prefix", &self.prefix)
            .field("operation_timeout", &self.timeout)
            .field("failure_policy", &self.policy)
            .field("refresh_token_ttl", &self.refresh_token_ttl)
            .field("max_value_size", &self.max_value_size)
            .field("extra_root_certificate", &self.extra_root_pem.is_some())
            .finish()
    }
}

impl RedisStoreBuilder {
    /// Prepended to every key (default [`DEFAULT_KEY_PREFIX`], `oxmsal:`). Apps
    /// that must not see each other's tokens in one Redis database use
    /// different prefixes (or databases).
    ///
    /// ```
    /// let b = oxmsal::cache::persist::redis::RedisStore::builder("redis://h/0").key_prefix("tenant-a:");
    /// assert!(format!("{b:?}").contains("tenant-a:"));
    /// ```
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The password (Redis `AUTH`), apart from the URL: read it from a
    /// secret store or an environment variable rather than writing it into a
    /// URL that command lines, `ps` and configuration dumps show. It never
    /// appears in logs, errors or `Debug` output. A URL that holds a password
    /// too is a [`Configuration`](crate::ErrorKind::Configuration) error at
    /// [`build`](Self::build).
    ///
    /// ```
    /// use oxmsal::{cache::persist::redis::RedisStore, Secret};
    /// let password = Secret::new(std::env::var("REDIS_PASSWORD").unwrap_or_default());
    /// let store = RedisStore::builder("rediss://cache-user@cache.example.net:6380/0")
    ///     .password(Secret::new("hunter2"))
    ///     .build()?;
    /// assert!(!format!("{store:?} {store}").contains("hunter2"));
    /// # let _ = password;
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    pub fn password(mut self, password: Secret) -> Self {
        self.password = Some(password);
        self
    }

    /// How long one round trip to Redis (connecting included) may take before it
    /// counts as a failure (default 2 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = oxmsal::cache::persist::redis::RedisStore::builder("redis://h/0")
    ///     .operation_timeout(Duration::from_millis(250));
    /// ```
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// What to do when Redis is unreachable (default [`FailurePolicy::ServeFromMemory`]).
    ///
    /// ```
    /// use oxmsal::cache::persist::redis::{FailurePolicy, RedisStore};
    /// let b = RedisStore::builder("redis://h/0").failure_policy(FailurePolicy::Fail);
    /// ```
    pub fn failure_policy(mut self, policy: FailurePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// How long a partition holding a refresh token is kept after its last
    /// write (default 90 days, the refresh tokens' usual sliding lifetime).
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = oxmsal::cache::persist::redis::RedisStore::builder("redis://h/0")
    ///     .refresh_token_ttl(Duration::from_secs(24 * 3600));
    /// ```
    pub fn refresh_token_ttl(mut self, ttl: Duration) -> Self {
        self.refresh_token_ttl = ttl;
        self
    }

    /// The largest value, in bytes, the store reads or writes (default
    /// [`DEFAULT_MAX_VALUE_SIZE`], 64 MiB). A larger one — planted, or a
    /// cache grown past it — is a [`Cache`](crate::ErrorKind::Cache) error
    /// naming the cap, whatever the failure policy, and is left as it is:
    /// it is never fetched (Redis measures it first), so memory stays bounded.
    ///
    /// ```
    /// let b = oxmsal::cache::persist::redis::RedisStore::builder("redis://h/0")
    ///     .max_value_size(8 * 1024 * 1024);
    /// assert!(format!("{b:?}").contains("8388608"));
    /// ```
    pub fn max_value_size(mut self, bytes: usize) -> Self {
        self.max_value_size = bytes;
        self
    }

    /// Trusts these CA certificates (PEM) for a `rediss://` URL, besides the
    /// system's roots: for a Redis whose certificate a private CA issued.
    ///
    /// ```
    /// let b = oxmsal::cache::persist::redis::RedisStore::builder("rediss://cache.internal:6380/0")
    ///     .extra_root_certificate_pem(std::fs::read("ca.pem").unwrap_or_default());
    /// ```
    pub fn extra_root_certificate_pem(mut self, pem: Vec<u8>) -> Self {
        self.extra_root_pem = Some(pem);
        self
    }

    /// The store; no network. A URL that is not `redis://` or `rediss://`, or an
    /// unreadable root certificate, is a [`Configuration`](crate::ErrorKind::Configuration)
    /// error that does not repeat the password.
    ///
    /// ```
    /// use oxmsal::cache::persist::redis::RedisStore;
    /// let err = RedisStore::builder("http://u:hunter2@h/0").build().unwrap_err();
    /// assert_eq!(err.kind(), oxmsal::ErrorKind::Configuration);
    /// assert!(!err.to_string().contains("hunter2"));
    /// ```
    pub fn build(self) -> Result<RedisStore> {
        let url = match &self.password {
            Some(password) => connection::with_password(&self.url, password)?,
            None => WipedString::new(self.url.to_string()),
        };
        let connector = Connector::new(
            &url,
            self.timeout,
            self.extra_root_pem.as_deref(),
            self.max_value_size,
        )?;
        Ok(RedisStore {
            connector,
            prefix: self.prefix,
            policy: self.policy,
            refresh_token_ttl_secs: self.refresh_token_ttl.as_secs(),
            max_value_size: self.max_value_size,
            script: ::redis::Script::new(COMPARE_AND_SET),
            locks: (0..LOCK_STRIPES)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
            failures: AtomicU64::new(0),
            conflicts: AtomicU64::new(0),
        })
    }
}

impl RedisStore {
    /// A store for `url` — `redis://[user:password@]host:port/db`, or `rediss://`
    /// for TLS — with the default options. No network until the first call.
    ///
    /// ```
    /// let store = oxmsal::cache::persist::redis::RedisStore::new("rediss://:secret@cache.example.net:6380/0")?;
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    pub fn new(url: &str) -> Result<Self> {
        Self::builder(url).build()
    }

    /// A builder for a store with options; see [`RedisStoreBuilder`].
    ///
    /// ```
    /// let store = oxmsal::cache::persist::redis::RedisStore::builder("redis://127.0.0.1/0").build()?;
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    pub fn builder(url: &str) -> RedisStoreBuilder {
        RedisStoreBuilder {
            url: WipedString::new(url.to_owned()),
            password: None,
            prefix: DEFAULT_KEY_PREFIX.to_owned(),
            timeout: DEFAULT_OPERATION_TIMEOUT,
            policy: FailurePolicy::default(),
            refresh_token_ttl: DEFAULT_REFRESH_TOKEN_TTL,
            max_value_size: DEFAULT_MAX_VALUE_SIZE,
            extra_root_pem: None,
        }
    }

    /// How many loads and updates failed to reach Redis (or timed out, or gave
    /// up on contention) since the store was built, whatever the policy.
    ///
    /// ```
    /// let store = oxmsal::cache::persist::redis::RedisStore::new("redis://127.0.0.1/0")?;
    /// assert_eq!(store.failures(), 0);
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// How many compare-and-set writes found the partition changed by another
    /// writer and were retried: a measure of contention.
    ///
    /// ```
    /// let store = oxmsal::cache::persist::redis::RedisStore::new("redis://127.0.0.1/0")?;
    /// assert_eq!(store.conflicts(), 0);
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    pub fn conflicts(&self) -> u64 {
        self.conflicts.load(Ordering::Relaxed)
    }

    /// The Redis key of `partition`: the prefix, then [`PartitionKey::storage_key`].
    ///
    /// ```
    /// use oxmsal::cache::persist::{redis::RedisStore, PartitionKey};
    /// let store = RedisStore::new("redis://127.0.0.1/0")?;
    /// let p = PartitionKey::User { home_account_id: "uid.utid".into() };
    /// assert_eq!(store.key_of(&p), format!("oxmsal:{}", p.storage_key()));
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    pub fn key_of(&self, partition: &PartitionKey) -> String {
        format!("{}{}", self.prefix, partition.storage_key())
    }

    /// Every partition document under this store's prefix (all apps, users
    /// and on-behalf-of partitions sharing the prefix), for a tool that lists
    /// accounts or loads a whole cache — an app's flows never need it. It
    /// walks the keys with SCAN, so it costs a round trip per 500 keys; when
    /// Redis is down it follows the [failure policy](FailurePolicy)
    /// (`ServeFromMemory`: an empty list). To list who is signed in, use
    /// [`load_user_partitions`](CachePersistence::load_user_partitions): an
    /// outage is an error there, not an empty list.
    ///
    /// ```no_run
    /// # async fn run() -> oxmsal::Result<()> {
    /// use oxmsal::cache::{persist::redis::RedisStore, TokenCache};
    /// let store = RedisStore::new("redis://127.0.0.1:6379/0")?;
    /// let cache = TokenCache::new();
    /// for document in store.load_all().await? {
    ///     cache.merge_document(&document)?;
    /// }
    /// println!("{} accounts", cache.accounts().len());
    /// # Ok(()) }
    /// ```
    pub async fn load_all(&self) -> Result<Vec<String>> {
        let not_partitions = [self.throttle_key(), self.metadata_key()];
        match self
            .connector
            .values_with_prefix(&self.prefix, &not_partitions)
            .await
        {
            Ok(documents) => self.within_cap("partition", documents),
            Err(failure) => self.on_failure("load", "every", failure, Vec::new()),
        }
    }

    /// The Redis key of the shared throttle state: the prefix, then `throttle`.
    ///
    /// ```
    /// let store = oxmsal::cache::persist::redis::RedisStore::new("redis://127.0.0.1/0")?;
    /// assert_eq!(store.throttle_key(), "oxmsal:throttle");
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    pub fn throttle_key(&self) -> String {
        format!("{}{THROTTLE_KEY}", self.prefix)
    }

    /// The Redis key of the discovery metadata: the prefix, then `metadata`.
    ///
    /// ```
    /// let store = oxmsal::cache::persist::redis::RedisStore::new("redis://127.0.0.1/0")?;
    /// assert_eq!(store.metadata_key(), "oxmsal:metadata");
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    pub fn metadata_key(&self) -> String {
        format!("{}{METADATA_KEY}", self.prefix)
    }

    /// Merges the throttle state other processes saved into `throttle`
    /// (entries expired at `now`, epoch seconds, are left out), so that a new
    /// process knows which requests the server said to hold back. Nothing
    /// saved: nothing changes. A value that is not a throttle state is a
    /// [`Cache`](crate::ErrorKind::Cache) error naming the key (left as it
    /// is); Redis unreachable follows the [failure policy](FailurePolicy).
    ///
    /// ```no_run
    /// # async fn run() -> oxmsal::Result<()> {
    /// use oxmsal::{cache::persist::redis::RedisStore, http::ThrottleStore};
    /// let store = RedisStore::new("redis://127.0.0.1:6379/0")?;
    /// let throttle = ThrottleStore::new();
    /// store.load_throttle(&throttle, 1_764_000_000).await?;
    /// // Hand it to apps: `.throttle_store(throttle.clone())`.
    /// # Ok(()) }
    /// ```
    pub async fn load_throttle(&self, throttle: &ThrottleStore, now: u64) -> Result<()> {
        let key = self.throttle_key();
        match self.connector.get(&key).await {
            Ok(Some(Fetched::Value(json))) => throttle
                .merge_json(&json, now)
                .map_err(|e| malformed_throttle(&key, &e)),
            Ok(Some(Fetched::TooLarge(size))) => Err(self.too_large(THROTTLE_KEY, size)),
            Ok(None) => Ok(()),
            Err(failure) => self.on_failure("load", THROTTLE_KEY, failure, ()),
        }
    }

    /// Saves `throttle` for the other processes: merged with what they saved
    /// (of two entries for one request the later back-off wins; entries
    /// expired at `now` are dropped, here and in Redis), by compare-and-set
    /// like a partition, so concurrent savers lose nothing. The key expires
    /// with the last back-off, and is deleted when none is left. A value
    /// that is not a throttle state is a [`Cache`](crate::ErrorKind::Cache)
    /// error naming the key (left as it is); Redis unreachable follows the
    /// [failure policy](FailurePolicy).
    ///
    /// ```no_run
    /// # async fn run() -> oxmsal::Result<()> {
    /// use oxmsal::{cache::persist::redis::RedisStore, http::ThrottleStore};
    /// let store = RedisStore::new("redis://127.0.0.1:6379/0")?;
    /// let throttle = ThrottleStore::new();
    /// // … apps that share `throttle` ran into a 429 …
    /// store.save_throttle(&throttle, 1_764_000_000).await?;
    /// # Ok(()) }
    /// ```
    pub async fn save_throttle(&self, throttle: &ThrottleStore, now: u64) -> Result<()> {
        let key = self.throttle_key();
        let edit = |current: Option<&str>| -> Result<String> {
            // Merging (nothing stored: nothing) also drops what expired.
            throttle
                .merge_json(current.unwrap_or("{}"), now)
                .map_err(|e| malformed_throttle(&key, &e))?;
            if throttle.is_empty() {
                return Ok(String::new());
            }
            throttle.serialize()
        };
        let plan = |next: &str| -> Result<Write> {
            Ok(match throttle.latest_until() {
                Some(until) if !next.is_empty() => Write::Set {
                    ttl_secs: until.saturating_sub(now).max(1),
                },
                _ => Write::Delete,
            })
        };
        match self.try_update(&key, THROTTLE_KEY, &edit, &plan).await? {
            Ok(()) => Ok(()),
            Err(failure) => self.on_failure("update", THROTTLE_KEY, failure, ()),
        }
    }

    /// Applies `edit` to the value at `key` by compare-and-set, writing it
    /// as `plan` says (its TTL, or deleting the key).
    /// `what` names the value in errors (not the key: a user's holds an
    /// account id). A value over the cap, read or to be written, is a
    /// [`Cache`](crate::ErrorKind::Cache) error and the value is left as it is.
    async fn try_update(
        &self,
        key: &str,
        what: &str,
        edit: Edit<'_>,
        plan: &(dyn Fn(&str) -> Result<Write> + Send + Sync),
    ) -> Result<Result<(), Failure>> {
        let _queued = self.lock_for(key).lock().await;
        for attempt in 1..=MAX_ATTEMPTS {
            let started = Instant::now();
            let current = match self.connector.get(key).await {
                Ok(Some(Fetched::Value(current))) => Some(WipedString::new(current)),
                Ok(Some(Fetched::TooLarge(size))) => return Err(self.too_large(what, size)),
                Ok(None) => None,
                Err(failure) => return Ok(Err(failure)),
            };
            // The edit's own errors (a document it cannot merge) are the
            // caller's, whatever the failure policy.
            let next = WipedString::new(edit(current.as_deref().map(String::as_str))?);
            if current.as_deref().map(String::as_str) == Some(next.as_str()) {
                return Ok(Ok(()));
            }
            if next.len() > self.max_value_size {
                return Err(Error::cache(
                    format!(
                        "the {what} would take {} bytes in Redis, over this store's cap of {} (RedisStoreBuilder::max_value_size); it is left unchanged",
                        next.len(),
                        self.max_value_size
                    ),
                    None,
                ));
            }
            let (value, ttl_secs) = match plan(&next)? {
                Write::Delete if current.is_none() => return Ok(Ok(())),
                Write::Delete => ("", 0),
                Write::Set { ttl_secs } => (next.as_str(), ttl_secs),
            };
            let seen = current.as_deref().map(|c| sha1_hex(c)).unwrap_or_default();
            match self
                .connector
                .compare_and_set(&self.script, key, &seen, value, ttl_secs)
                .await
            {
                Ok(true) => return Ok(Ok(())),
                Ok(false) => {
                    self.conflicts.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(backoff(attempt, started.elapsed())).await;
                }
                Err(failure) => return Ok(Err(failure)),
            }
        }
        Ok(Err(Failure::contention(MAX_ATTEMPTS)))
    }

    fn lock_for(&self, key: &str) -> &tokio::sync::Mutex<()> {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(key);
        // LOCK_STRIPES is a small constant: the cast and the index are in range.
        &self.locks[(hash % LOCK_STRIPES as u64) as usize]
    }

    /// A partition's compare-and-set update, its TTL from the document.
    async fn update_partition(
        &self,
        partition: &PartitionKey,
        edit: Edit<'_>,
    ) -> Result<Result<(), Failure>> {
        let plan = |next: &str| ttl::plan(next, now_epoch(), self.refresh_token_ttl_secs);
        let what = format!("{} cache partition", partition_kind(partition));
        self.try_update(&self.key_of(partition), &what, edit, &plan)
            .await
    }

    /// The values read, or the error for the first one over the cap.
    fn within_cap(&self, what: &str, fetched: Vec<Fetched>) -> Result<Vec<String>> {
        fetched
            .into_iter()
            .map(|f| match f {
                Fetched::Value(value) => Ok(value),
                Fetched::TooLarge(size) => Err(self.too_large(what, size)),
            })
            .collect()
    }

    /// The error for a value over the cap (not read, left as it is).
    fn too_large(&self, what: &str, size: u64) -> Error {
        Error::cache(
            format!(
                "the {what} in Redis is {size} bytes, over this store's cap of {} (RedisStoreBuilder::max_value_size); it is not read and left as it is",
                self.max_value_size
            ),
            None,
        )
    }

    /// Counts and logs a failure that is an error whatever the policy.
    fn fail<T>(&self, operation: &str, partition: &str, failure: Failure) -> Result<T> {
        self.failures.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(operation, partition, error = %failure, "token cache: Redis unavailable");
        Err(Error::cache(
            format!("cannot {operation} the {partition} cache partition: {failure}"),
            None,
        ))
    }

    /// Counts and logs a failure, then applies the policy.
    /// `partition` is the partition's kind (see `partition_kind`), or "every".
    fn on_failure<T>(
        &self,
        operation: &str,
        partition: &str,
        failure: Failure,
        fallback: T,
    ) -> Result<T> {
        match self.policy {
            FailurePolicy::ServeFromMemory => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(operation, partition, error = %failure,
                    "token cache: Redis unavailable, serving from memory");
                Ok(fallback)
            }
            FailurePolicy::Fail => self.fail(operation, partition, failure),
        }
    }
}

impl CachePersistence for RedisStore {
    fn load<'a>(&'a self, partition: &'a PartitionKey) -> PersistFuture<'a, Option<String>> {
        Box::pin(async move {
            match self.connector.get(&self.key_of(partition)).await {
                Ok(Some(Fetched::Value(doc))) => Ok(Some(doc)),
                Ok(Some(Fetched::TooLarge(size))) => {
                    let what = format!("{} cache partition", partition_kind(partition));
                    Err(self.too_large(&what, size))
                }
                Ok(None) => Ok(None),
                Err(failure) => self.on_failure("load", partition_kind(partition), failure, None),
            }
        })
    }

    fn update<'a>(&'a self, partition: &'a PartitionKey, edit: Edit<'a>) -> PersistFuture<'a, ()> {
        Box::pin(async move {
            match self.update_partition(partition, edit).await? {
                Ok(()) => Ok(()),
                Err(failure) => self.on_failure("update", partition_kind(partition), failure, ()),
            }
        })
    }

    /// Every `user-` key under the prefix. An outage is an error whatever the
    /// failure policy: from memory, a new process would answer "nobody is
    /// signed in".
    fn load_user_partitions(&self) -> PersistFuture<'_, Option<Vec<String>>> {
        Box::pin(async move {
            let prefix = format!("{}{USER_PARTITION_PREFIX}", self.prefix);
            match self.connector.values_with_prefix(&prefix, &[]).await {
                Ok(documents) => self.within_cap("user cache partition", documents).map(Some),
                Err(failure) => self.fail("load", "user", failure),
            }
        })
    }

    /// `{prefix}metadata`; a value over the metadata size cap is ignored
    /// with a warning.
    fn load_metadata(&self) -> PersistFuture<'_, Option<String>> {
        Box::pin(async move {
            match self.connector.get(&self.metadata_key()).await {
                Ok(Some(Fetched::Value(doc))) if doc.len() <= MAX_METADATA_BYTES => Ok(Some(doc)),
                Ok(Some(_)) => {
                    tracing::warn!(
                        key = self.metadata_key(),
                        cap_bytes = MAX_METADATA_BYTES,
                        "discovery metadata over its size cap; ignored"
                    );
                    Ok(None)
                }
                Ok(None) => Ok(None),
                Err(failure) => self.on_failure("load", METADATA_KEY, failure, None),
            }
        })
    }

    /// An update that fails on an outage whatever the failure policy (a
    /// sign-out skipped would leave the account signed in).
    fn update_strict<'a>(
        &'a self,
        partition: &'a PartitionKey,
        edit: Edit<'a>,
    ) -> PersistFuture<'a, ()> {
        Box::pin(async move {
            match self.update_partition(partition, edit).await? {
                Ok(()) => Ok(()),
                Err(failure) => self.fail("update", partition_kind(partition), failure),
            }
        })
    }

    /// `{prefix}metadata` by compare-and-set, expiring with the refresh-token
    /// TTL (the metadata names where refresh tokens are as long as they live).
    fn update_metadata<'a>(&'a self, edit: Edit<'a>) -> PersistFuture<'a, ()> {
        Box::pin(async move {
            let ttl_secs = self.refresh_token_ttl_secs;
            let plan = |_: &str| Ok(Write::Set { ttl_secs });
            match self
                .try_update(&self.metadata_key(), "discovery metadata", edit, &plan)
                .await?
            {
                Ok(()) => Ok(()),
                Err(failure) => self.on_failure("update", METADATA_KEY, failure, ()),
            }
        })
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &self.connector.redacted_url())
            .field("prefix", &self.prefix)
            .field("failure_policy", &self.policy)
            .field("failures", &self.failures())
            .field("conflicts", &self.conflicts())
            .finish_non_exhaustive()
    }
}

impl fmt::Display for RedisStore {
    /// The redacted URL.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redis token cache at {}", self.connector.redacted_url())
    }
}

/// The error for a throttle state in Redis that is not one.
fn malformed_throttle(key: &str, why: &str) -> Error {
    Error::cache(
        format!("the throttle state in Redis key `{key}` is malformed: {why}"),
        None,
    )
}

/// The partition's kind, for logs: its key may hold an account id or a hash of
/// a user's assertion, neither of which belongs in a log.
fn partition_kind(partition: &PartitionKey) -> &'static str {
    match partition {
        PartitionKey::App { .. } => "app",
        PartitionKey::User { .. } => "user",
        PartitionKey::OnBehalfOf { .. } => "on-behalf-of",
        #[allow(unreachable_patterns)] // the enum is non-exhaustive
        _ => "other",
    }
}

fn sha1_hex(text: &str) -> String {
    use std::fmt::Write as _;
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        text.as_bytes(),
    );
    digest
        .as_ref()
        .iter()
        .fold(String::with_capacity(40), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

/// Full jitter: writers that collided spread out instead of colliding again.
fn backoff(attempt: u32, slot: Duration) -> Duration {
    let ceiling = crate::backoff::exponential(slot.max(BACKOFF_MIN_SLOT), attempt, BACKOFF_CAP);
    crate::backoff::full_jitter(ceiling)
}

fn now_epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_matches_redis_sha1hex() {
        // redis-cli EVAL "return redis.sha1hex('abc')" 0
        assert_eq!(sha1_hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }

    #[test]
    fn backoff_stays_under_its_ceiling() {
        for attempt in 1..=MAX_ATTEMPTS {
            assert!(backoff(attempt, Duration::from_secs(5)) <= BACKOFF_CAP);
        }
        assert!(backoff(1, Duration::ZERO) <= BACKOFF_MIN_SLOT * 2);
        assert!(backoff(2, Duration::from_millis(10)) <= Duration::from_millis(40));
    }
}
