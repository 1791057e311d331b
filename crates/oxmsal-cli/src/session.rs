//! What every command that talks to an authority sets up the same way: the
//! optional in-process emulator, the cache file, the throttle state beside it,
//! and the app builder's connection options.
//!
//! The cache file is a `FileStore` given to the apps as their cache
//! persistence: each token request reads the file and merges what it wrote
//! under the file's lock (msal-extensions' `<cache>.lockfile`), so parallel
//! `oxmsal` runs — and MSAL for Python with msal-extensions — share one file
//! and lose no token.
//!
//! The library keeps the authority's discovery metadata beside the cache file
//! (`<cache>.metadata.json`, or the `oxmsal:metadata` key in Redis), so a
//! later run serves a cached token without any request.
//!
//! `--cache redis://…` (or `rediss://`) shares the cache through Redis instead
//! (see `redis_store` below); the throttle state then stays in memory.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use oxmsal::app::AppBuilder;
use oxmsal::authority::InstanceDiscovery;
use oxmsal::cache::persist::{CachePersistence, FileStore, RedisStore};
use oxmsal::cache::TokenCache;
use oxmsal::http::ThrottleStore;
use oxmsal_emulator::{Emulator, EmulatorConfig};

use crate::args::ConnectionArgs;
use crate::exit::Failure;
use crate::{cache_path, inputs};

/// One command's connection to an authority and its cache.
pub struct Session {
    /// Lives as long as the session, i.e. the whole command.
    pub emulator: Option<Emulator>,
    /// The cache file, when there is one.
    pub store: Option<Arc<FileStore>>,
    /// `--cache redis://…`: the Redis cache (then there is no file).
    pub redis: Option<Arc<RedisStore>>,
    /// What the flows load and write (and the whole file after `load_file`).
    pub cache: TokenCache,
    pub throttle: ThrottleStore,
    throttle_path: Option<PathBuf>,
    extra_root: Option<Vec<u8>>,
    connection: ConnectionArgs,
}

impl Session {
    pub async fn open(connection: &ConnectionArgs) -> Result<Session, Failure> {
        let extra_root = match &connection.ca_cert {
            Some(path) => Some(inputs::read_pem(path, "--ca-cert")?),
            None => None,
        };
        let redis = redis_store(connection)?;
        let cache_file = match (&connection.cache, connection.no_cache, connection.emulator) {
            _ if redis.is_some() => None,
            (Some(path), _, _) => Some(path.clone()),
            (None, true, _) | (None, false, true) => None,
            (None, false, false) => cache_path::default_cache_file(),
        };
        let lock_timeout = Duration::from_millis(connection.cache_lock_timeout_ms);
        let store =
            cache_file.map(|path| Arc::new(FileStore::new(path).lock_timeout(lock_timeout)));
        let cache = TokenCache::new();
        // The server's "back off" outlives this process: kept beside the cache
        // file, or in Redis with the cache.
        let throttle = ThrottleStore::new();
        let throttle_path = store.as_ref().map(|s| throttle_file(s.path()));
        if let Some(path) = &throttle_path {
            throttle.load_file(path)?;
        }
        if let Some(redis) = &redis {
            redis.load_throttle(&throttle, now_epoch()).await?;
        }
        let emulator = if connection.emulator {
            Some(
                // Trusted through its PEM in memory: no state files, so nothing
                // is left in the temp dir however this process ends.
                Emulator::start_with(EmulatorConfig::default().with_state_files(false))
                    .await
                    .map_err(|e| Failure::Internal(format!("cannot start the emulator: {e}")))?,
            )
        } else {
            None
        };
        Ok(Session {
            emulator,
            store,
            redis,
            cache,
            throttle,
            throttle_path,
            extra_root,
            connection: connection.clone(),
        })
    }

    /// Brings the whole cache file into memory, for the commands that list or
    /// pick accounts (token requests load what they need themselves).
    pub async fn load_file(&self) -> Result<(), Failure> {
        if let Some(store) = &self.store {
            if let Some(document) = store.read_document().await? {
                self.cache.merge_document(&document).map_err(|e| {
                    let what = format!(
                        "cannot load the token cache file {}",
                        store.path().display()
                    );
                    oxmsal::Error::cache(what, Some(Box::new(e)))
                })?;
            }
        }
        self.load_redis().await
    }

    /// The extra trusted roots (PEM) of `--ca-cert`, and the emulator's CA.
    pub fn extra_roots_pem(&self) -> Vec<&[u8]> {
        let mut roots: Vec<&[u8]> = self.extra_root.iter().map(Vec::as_slice).collect();
        if let Some(emu) = &self.emulator {
            roots.push(emu.ca_pem().as_bytes());
        }
        roots
    }

    /// Applies the connection options to an app builder.
    pub fn configure<K>(&self, mut builder: AppBuilder<K>) -> Result<AppBuilder<K>, Failure> {
        builder = match &self.emulator {
            Some(emu) => {
                let base = url::Url::parse(&emu.base_url())
                    .map_err(|e| Failure::Internal(format!("emulator URL: {e}")))?;
                builder
                    .authority(emu.authority())
                    .extra_root_certificate_pem(emu.ca_pem().as_bytes().to_vec())
                    .instance_discovery(InstanceDiscovery::Endpoint(base))
            }
            None => builder.authority(self.connection.authority.clone()),
        };
        if self.connection.no_instance_discovery {
            builder = builder.instance_discovery(InstanceDiscovery::Disabled);
        }
        if let Some(pem) = &self.extra_root {
            builder = builder.extra_root_certificate_pem(pem.clone());
        }
        if let Some(store) = &self.store {
            builder = builder.cache_persistence(store.clone());
        }
        if let Some(redis) = &self.redis {
            builder = builder.cache_persistence(redis.clone());
        }
        Ok(builder
            .token_cache(self.cache.clone())
            .throttle_store(self.throttle.clone()))
    }

    /// Writes the throttle state, when it changed (a cache hit writes
    /// nothing), waiting for its lock as long as for the cache's. (The cache
    /// is written by the flows, as they go.)
    pub async fn save(&self) -> Result<(), Failure> {
        if let Some(path) = &self.throttle_path {
            let lock_timeout = Duration::from_millis(self.connection.cache_lock_timeout_ms);
            self.throttle
                .save_file_with_lock_timeout(path, now_epoch(), lock_timeout)?;
        }
        // Nothing recorded (a cache hit): nothing sent to Redis either.
        if let Some(redis) = self
            .redis
            .as_ref()
            .filter(|_| self.throttle.has_unsaved_changes())
        {
            redis.save_throttle(&self.throttle, now_epoch()).await?;
        }
        Ok(())
    }
}

/// A command's outcome after its [`Session::save`]: the command's error when
/// it failed (a failed save then goes to stderr as a warning, not lost), else
/// the save's.
pub fn settle(
    outcome: Result<serde_json::Value, Failure>,
    saved: Result<(), Failure>,
) -> Result<serde_json::Value, Failure> {
    match (outcome, saved) {
        (Err(failure), Err(Failure::Library(e))) => {
            // A second line on stderr: both failures matter, the command's
            // is the one on stdout.
            eprintln!("oxmsal: warning: the throttle state was not saved: {e}");
            Err(failure)
        }
        (Err(failure), _) => Err(failure),
        (Ok(_), Err(failure)) => Err(failure),
        (Ok(value), Ok(())) => Ok(value),
    }
}

// ---- `--cache redis://…` -------------------------------------------------

/// The Redis store when `--cache` is a `redis://` or `rediss://` URL, with the
/// password of `--cache-password-env` if given. It serves
/// from memory when Redis is down (a warning is logged, the token still
/// comes), and its errors never show the URL's password. The throttle state
/// is kept in Redis too (`oxmsal:throttle`).
fn redis_store(connection: &ConnectionArgs) -> Result<Option<Arc<RedisStore>>, Failure> {
    let url = connection
        .cache
        .as_deref()
        .and_then(Path::to_str)
        .filter(|url| url.starts_with("redis://") || url.starts_with("rediss://"));
    let Some(url) = url else {
        if connection.cache_password_env.is_some() {
            return Err(Failure::Usage(
                "--cache-password-env is the password of a redis:// or rediss:// --cache".into(),
            ));
        }
        return Ok(None);
    };
    let mut builder = RedisStore::builder(url);
    if let Some(var) = &connection.cache_password_env {
        builder = builder.password(inputs::secret_from_env(var, "--cache-password-env")?);
    }
    Ok(Some(Arc::new(builder.build()?)))
}

impl Session {
    /// Brings every signed-in user into memory, for the commands that list or
    /// pick accounts. A cache that cannot be read — Redis down included,
    /// whatever its failure policy — is an error (exit 5): an empty list
    /// would say "nobody is signed in".
    pub async fn load_accounts(&self) -> Result<(), Failure> {
        let Some(redis) = &self.redis else {
            return self.load_file().await;
        };
        let documents = redis.load_user_partitions().await?.unwrap_or_default();
        for document in documents {
            self.cache.merge_document(&document).map_err(|e| {
                let what = format!("cannot load a partition of the {redis}");
                oxmsal::Error::cache(what, Some(Box::new(e)))
            })?;
        }
        Ok(())
    }

    /// `load_file` for a Redis cache: every partition under the store's prefix.
    async fn load_redis(&self) -> Result<(), Failure> {
        let Some(redis) = &self.redis else {
            return Ok(());
        };
        for document in redis.load_all().await? {
            self.cache.merge_document(&document).map_err(|e| {
                let what = format!("cannot load a partition of the {redis}");
                oxmsal::Error::cache(what, Some(Box::new(e)))
            })?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------

/// `<cache>.throttle.json` next to the cache file.
fn throttle_file(cache: &Path) -> PathBuf {
    let mut name = cache
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".throttle.json");
    cache.with_file_name(name)
}

fn now_epoch() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
