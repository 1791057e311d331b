//! Lazy, per-app discovery of an authority's endpoints.
//!
//! The first request for an authority fetches its OpenID configuration (and, for
//! Entra ID, its instance metadata); later requests reuse the result. A failed
//! discovery is not remembered, so the next request tries again.
//!
//! With cache persistence, what was discovered is also kept with the cache
//! (`authority::persisted`), and a new process starts from it: a cache hit
//! then needs no request at all.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;
use tokio::sync::OnceCell;
use url::Url;

use crate::cache::persist::CachePersistence;
use crate::error::{Error, Result};
use crate::http::{json_object_or_error, Pipeline, RequestKind};
use crate::redact::SentSecrets;

use super::endpoints::{endpoints_from, Endpoints};
use super::persisted::{self, Persisted};
use super::{Authority, AuthorityKind, InstanceDiscovery};

/// Endpoints to look in the cache with, and whether they may also be used
/// for a request (`current`: discovered by this process, or persisted within
/// the last 24 hours).
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub endpoints: Arc<Endpoints>,
    pub current: bool,
}

/// The per-app memory of discovered authorities.
#[derive(Debug, Default)]
pub(crate) struct Discovery {
    instance: InstanceDiscovery,
    known: Mutex<HashMap<String, Arc<OnceCell<Arc<Endpoints>>>>>,
    /// Where discovery metadata is kept between processes, if anywhere.
    persistence: Option<Arc<dyn CachePersistence>>,
}

impl Discovery {
    pub(crate) fn new(
        instance: InstanceDiscovery,
        persistence: Option<Arc<dyn CachePersistence>>,
    ) -> Self {
        Discovery {
            instance,
            known: Mutex::new(HashMap::new()),
            persistence,
        }
    }

    /// Host aliases learned so far for `authority` (none before its discovery).
    pub(crate) fn known_aliases(&self, authority: &Authority) -> Vec<String> {
        let known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        known
            .get(authority.as_str())
            .and_then(|cell| cell.get())
            .map(|e| e.aliases.clone())
            .unwrap_or_default()
    }

    /// The endpoints of `authority` when already discovered: no allocation, no
    /// await (the cache-hit path).
    pub(crate) fn discovered(&self, authority: &Authority) -> Option<Arc<Endpoints>> {
        let known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        known.get(authority.as_str())?.get().cloned()
    }

    fn cell(&self, authority: &Authority) -> Arc<OnceCell<Arc<Endpoints>>> {
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        known
            .entry(authority.as_str().to_owned())
            .or_default()
            .clone()
    }

    /// The endpoints of `authority` for a request: known, persisted within
    /// the last 24 hours, or discovered now.
    pub(crate) async fn endpoints(
        &self,
        pipeline: &Pipeline,
        authority: &Authority,
        correlation_id: &str,
    ) -> Result<Arc<Endpoints>> {
        let found = self.for_lookup(pipeline, authority, correlation_id).await?;
        self.for_request(pipeline, authority, correlation_id, &found)
            .await
    }

    /// The endpoints of `authority` to look in the cache with: known, else
    /// persisted (of any age: they name where the tokens are), else
    /// discovered now. Persisted endpoints within their 24 hours are known
    /// from then on.
    pub(crate) async fn for_lookup(
        &self,
        pipeline: &Pipeline,
        authority: &Authority,
        correlation_id: &str,
    ) -> Result<Found> {
        if let Some(endpoints) = self.discovered(authority) {
            return Ok(Found {
                endpoints,
                current: true,
            });
        }
        let now = pipeline.clock().now_epoch();
        if let Some(Persisted { endpoints, fresh }) = self.persisted(authority, now).await {
            let endpoints = Arc::new(endpoints);
            if !fresh {
                return Ok(Found {
                    endpoints,
                    current: false,
                });
            }
            let cell = self.cell(authority);
            let endpoints = match cell.set(Arc::clone(&endpoints)) {
                Ok(()) => endpoints,
                // Discovered meanwhile by another request: that one.
                Err(_) => cell.get().cloned().unwrap_or(endpoints),
            };
            return Ok(Found {
                endpoints,
                current: true,
            });
        }
        let endpoints = self.discover(pipeline, authority, correlation_id).await?;
        Ok(Found {
            endpoints,
            current: true,
        })
    }

    /// The endpoints to send a request to after looking in the cache with
    /// `found`: those when current, else discovered now (stale persisted
    /// endpoints are never sent to).
    pub(crate) async fn for_request(
        &self,
        pipeline: &Pipeline,
        authority: &Authority,
        correlation_id: &str,
        found: &Found,
    ) -> Result<Arc<Endpoints>> {
        if found.current {
            return Ok(Arc::clone(&found.endpoints));
        }
        self.discover(pipeline, authority, correlation_id).await
    }

    /// The persisted entry of `authority`, if one is stored and passes the
    /// checks; anything wrong with it is a warning, and discovery runs.
    async fn persisted(&self, authority: &Authority, now: u64) -> Option<Persisted> {
        let persistence = self.persistence.as_ref()?;
        let document = match persistence.load_metadata().await {
            Ok(document) => document?,
            Err(err) => {
                tracing::warn!(error = %err, "cannot read the persisted discovery metadata; discovering");
                return None;
            }
        };
        match persisted::find(&document, authority, &self.instance, now) {
            Ok(found) => found,
            Err(why) => {
                tracing::warn!(
                    authority = authority.as_str(),
                    problem = why.as_str(),
                    "persisted discovery metadata ignored; discovering"
                );
                None
            }
        }
    }

    /// Keeps what was just discovered with the cache. Best effort: a failure
    /// (a read-only directory) costs the next process a discovery, nothing more.
    async fn persist(&self, authority: &Authority, endpoints: &Endpoints, now: u64) {
        let Some(persistence) = &self.persistence else {
            return;
        };
        let instance = &self.instance;
        let edit = |stored: Option<&str>| -> Result<String> {
            persisted::record(stored, authority, instance, endpoints, now)
                .ok_or_else(|| Error::cache("cannot write the discovery metadata", None))
        };
        if persisted::record(None, authority, instance, endpoints, now).is_none() {
            tracing::debug!(
                authority = authority.as_str(),
                "discovery metadata not persisted: an endpoint is on another host"
            );
            return;
        }
        if let Err(err) = persistence.update_metadata(&edit).await {
            tracing::warn!(error = %err, "cannot persist the discovery metadata");
        }
    }

    /// Discovers `authority` now, unless this process already has: one
    /// discovery at a time per authority, its result kept and persisted.
    async fn discover(
        &self,
        pipeline: &Pipeline,
        authority: &Authority,
        correlation_id: &str,
    ) -> Result<Arc<Endpoints>> {
        let cell = self.cell(authority);
        cell.get_or_try_init(|| async {
            let aliases = self
                .instance_aliases(pipeline, authority, correlation_id)
                .await?;
            let url = authority.discovery_url()?;
            let response = pipeline
                .get(&url, RequestKind::Discovery, correlation_id)
                .await?;
            let doc =
                json_object_or_error(&response, pipeline.clock().as_ref(), &SentSecrets::none())?;
            let endpoints = endpoints_from(&doc, authority, aliases, response.status().as_u16())?;
            tracing::debug!(
                authority = authority.as_str(),
                token_endpoint = endpoints.token_endpoint.as_str(),
                realm = endpoints.realm.as_str(),
                "discovered authority"
            );
            self.persist(authority, &endpoints, pipeline.clock().now_epoch())
                .await;
            Ok(Arc::new(endpoints))
        })
        .await
        .cloned()
    }

    async fn instance_aliases(
        &self,
        pipeline: &Pipeline,
        authority: &Authority,
        correlation_id: &str,
    ) -> Result<Vec<String>> {
        let own = vec![authority.environment().to_owned()];
        if authority.kind() != AuthorityKind::Aad {
            return Ok(own);
        }
        let base = match &self.instance {
            InstanceDiscovery::Disabled => return Ok(own),
            InstanceDiscovery::Endpoint(base) => base.clone(),
            InstanceDiscovery::Enabled if authority.is_known_host() => {
                let mut base = authority.url().clone();
                base.set_path("");
                base
            }
            InstanceDiscovery::Enabled => Url::parse("https://login.microsoftonline.com/")
                .map_err(|e| Error::configuration(e.to_string()))?,
        };
        let mut url = base
            .join("common/discovery/instance")
            .map_err(|e| Error::configuration(format!("bad instance discovery URL: {e}")))?;
        url.query_pairs_mut()
            .append_pair("api-version", "1.1")
            .append_pair(
                "authorization_endpoint",
                &format!("{}/oauth2/v2.0/authorize", authority.as_str()),
            );
        let response = pipeline
            .get(&url, RequestKind::InstanceDiscovery, correlation_id)
            .await?;
        let doc = json_object_or_error(&response, pipeline.clock().as_ref(), &SentSecrets::none())?;
        let mut aliases = own;
        if let Some(Value::Array(entries)) = doc.get("metadata") {
            for entry in entries {
                let names: Vec<String> = entry
                    .get("aliases")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_ascii_lowercase)
                            .collect()
                    })
                    .unwrap_or_default();
                if names.iter().any(|n| n == authority.environment()) {
                    for name in names {
                        if !aliases.contains(&name) {
                            aliases.push(name);
                        }
                    }
                }
            }
        }
        Ok(aliases)
    }
}
