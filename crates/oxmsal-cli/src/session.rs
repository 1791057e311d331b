//! What every command that talks to an authority sets up the same way: the
//! optional in-process emulator, the cache file, the throttle state beside it,
//! and the app builder's connection options.

use std::path::{Path, PathBuf};

use oxmsal::app::AppBuilder;
use oxmsal::authority::InstanceDiscovery;
use oxmsal::cache::{FileCache, TokenCache};
use oxmsal::http::ThrottleStore;
use oxmsal_emulator::Emulator;

use crate::args::ConnectionArgs;
use crate::exit::Failure;
use crate::{cache_path, inputs};

/// One command's connection to an authority and its cache.
pub struct Session {
    /// Lives as long as the session, i.e. the whole command.
    pub emulator: Option<Emulator>,
    pub file: Option<FileCache>,
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
        let cache_file = match (&connection.cache, connection.no_cache, connection.emulator) {
            (Some(path), _, _) => Some(path.clone()),
            (None, true, _) | (None, false, true) => None,
            (None, false, false) => cache_path::default_cache_file(),
        };
        let file = match &cache_file {
            Some(path) => Some(FileCache::open(path)?),
            None => None,
        };
        let cache = file.as_ref().map(|f| f.cache().clone()).unwrap_or_default();
        // The server's "back off" outlives this process: kept beside the cache file.
        let throttle = ThrottleStore::new();
        let throttle_path = file.as_ref().map(|f| throttle_file(f.path()));
        if let Some(path) = &throttle_path {
            throttle.load_file(path)?;
        }
        let emulator = if connection.emulator {
            Some(
                Emulator::start()
                    .await
                    .map_err(|e| Failure::Internal(format!("cannot start the emulator: {e}")))?,
            )
        } else {
            None
        };
        Ok(Session {
            emulator,
            file,
            cache,
            throttle,
            throttle_path,
            extra_root,
            connection: connection.clone(),
        })
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
        Ok(builder
            .token_cache(self.cache.clone())
            .throttle_store(self.throttle.clone()))
    }

    /// Writes the throttle state (always) and the cache (when it changed).
    pub fn save(&self) -> Result<(), Failure> {
        if let Some(path) = &self.throttle_path {
            self.throttle.save_file(path, now_epoch())?;
        }
        if let Some(file) = &self.file {
            file.save()?;
        }
        Ok(())
    }
}

/// `<cache>.throttle.json` next to the cache file.
fn throttle_file(cache: &Path) -> PathBuf {
    let mut name = cache.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".throttle.json");
    cache.with_file_name(name)
}

fn now_epoch() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
