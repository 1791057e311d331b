//! What every application kind holds: identity, authority, transport, cache.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::authority::discovery::{Discovery, Endpoints};
use crate::authority::Authority;
use crate::cache::TokenCache;
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
    pub capabilities: Vec<String>,
    pub clock: Arc<dyn Clock>,
    /// Requests the server asked us not to repeat yet.
    pub throttle: ThrottleStore,
    /// How long a 429/5xx without a usable `Retry-After` blocks the same request.
    pub default_throttle: Duration,
    /// One lock per silent refresh in progress (single flight).
    pub refresh_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl AppCore {
    /// The authority for one request: the app's, or the same cloud with another tenant.
    pub(crate) fn authority_for(&self, tenant: Option<&str>) -> Result<Authority> {
        match tenant {
            Some(t) => self.authority.with_tenant(t),
            None => Ok(self.authority.clone()),
        }
    }

    /// The accounts of this app's authority host and its known aliases.
    pub(crate) fn accounts(&self) -> Vec<crate::cache::Account> {
        let environment = self.authority.environment();
        let aliases = self.discovery.known_aliases(&self.authority);
        self.cache
            .accounts()
            .into_iter()
            .filter(|a| a.environment == environment || aliases.contains(&a.environment))
            .collect()
    }

    /// The single-flight lock of a refresh key.
    pub(crate) fn refresh_lock(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .refresh_locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        locks.entry(key.to_owned()).or_default().clone()
    }

    /// Forgets a refresh lock nobody else holds, so the map stays small.
    pub(crate) fn release_refresh_lock(&self, key: &str, lock: &Arc<tokio::sync::Mutex<()>>) {
        let mut locks = self
            .refresh_locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Ours and the map's: nobody else is waiting on it.
        if Arc::strong_count(lock) <= 2 {
            locks.remove(key);
        }
    }

    /// Discovered endpoints of `authority` (lazily, once per app).
    pub(crate) async fn endpoints(
        &self,
        authority: &Authority,
        correlation_id: &str,
    ) -> Result<Arc<Endpoints>> {
        self.discovery
            .endpoints(&self.pipeline, authority, correlation_id)
            .await
    }
}
