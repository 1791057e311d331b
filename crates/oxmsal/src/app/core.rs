//! What every application kind holds: identity, authority, transport, cache.

use std::sync::Arc;
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
}

impl AppCore {
    /// The authority for one request: the app's, or the same cloud with another tenant.
    pub(crate) fn authority_for(&self, tenant: Option<&str>) -> Result<Authority> {
        match tenant {
            Some(t) => self.authority.with_tenant(t),
            None => Ok(self.authority.clone()),
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
