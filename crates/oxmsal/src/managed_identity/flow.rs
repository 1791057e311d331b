//! Acquiring a managed-identity token: cache first (MSAL for Python's keys),
//! one request in flight per identity and resource, the source's wire shape,
//! and the still-valid cached token when a refresh fails.

use std::borrow::Cow;

use serde_json::{Map, Value};
use tracing::Instrument as _;

use crate::cache::persist::PartitionKey;
use crate::cache::{AccessTokenQuery, LookupKeys, TokenRecord};
use crate::client::AppCore;
use crate::error::{Error, Result};
use crate::token::{AuthenticationResult, TokenSource};

use super::inner::Inner;
use super::sources::{self, arc, Extras};
use super::{response, ManagedIdentity, ManagedIdentitySource};

/// MSAL for Python's cache coordinates of managed-identity tokens.
pub(crate) const ENVIRONMENT: &str = "localhost";
pub(crate) const REALM: &str = "managed_identity";

/// What the caller asked for.
#[derive(Debug, Default)]
pub(crate) struct Params<'a> {
    /// Borrowed when the caller passed a `&str`: a hit allocates nothing for it.
    pub resource: Cow<'a, str>,
    pub claims: Option<String>,
    pub force_refresh: bool,
    pub correlation_id: Option<String>,
}

/// The resource of a scope: `R/.default` → `R`; anything else is the resource.
pub(crate) fn resource_of(resource_or_scope: &str) -> Result<String> {
    let text = resource_or_scope.trim();
    let resource = text.strip_suffix("/.default").unwrap_or(text);
    if resource.is_empty() || resource.contains(char::is_whitespace) {
        return Err(Error::configuration(format!(
            "`{resource_or_scope}` is not a resource or a single `resource/.default` scope"
        )));
    }
    Ok(resource.to_owned())
}

fn environments() -> &'static [String] {
    static ENVS: std::sync::OnceLock<[String; 1]> = std::sync::OnceLock::new();
    ENVS.get_or_init(|| [ENVIRONMENT.to_owned()])
}

fn partition(client_id: &str) -> PartitionKey {
    PartitionKey::App {
        client_id: client_id.to_owned(),
        realm: REALM.to_owned(),
    }
}

/// The index keys of the identity's cache lookups, one per client id its
/// tokens may be under (made once per client: every hit uses them).
pub(crate) fn lookup_keys(identity: &ManagedIdentity) -> Vec<LookupKeys> {
    identity
        .cache_client_ids()
        .map(|client_id| {
            LookupKeys::new(&AccessTokenQuery {
                home_account_id: None,
                environments: environments(),
                client_id,
                realm: Some(REALM),
                scopes: &[],
                ext_cache_key: None,
            })
        })
        .collect()
}

/// The cached token for `resource`, usable at `now` (5 minutes from expiry or
/// more), under any client id the identity's tokens may be cached under; with
/// the cache's change count read under the lock of the lookup that found it.
fn cache_hit(inner: &Inner, resource: &[String], now: u64) -> Option<(AuthenticationResult, u64)> {
    let cache = &inner.core.cache;
    inner.lookup_keys.iter().find_map(|keys| {
        cache.read_access_token_by(keys, resource, now, |entry| {
            let hit = AuthenticationResult::from_entry(entry, TokenSource::Cache, now);
            (hit, cache.changes())
        })
    })
}

/// The synchronous hit: no persistence to consult, nothing bypassing the
/// cache. The client's [`Recent`](super::recent::Recent) answers first; a
/// lookup in the cache refills it.
pub(crate) fn hot_hit(inner: &Inner, params: &mut Params<'_>) -> Option<AuthenticationResult> {
    if params.force_refresh || params.claims.is_some() || inner.core.has_persistence() {
        return None;
    }
    // Normalised where it is (no copy): the scope's `/.default` cut off.
    let resource = params.resource.as_ref();
    if resource.ends_with("/.default")
        || resource.starts_with(char::is_whitespace)
        || resource.ends_with(char::is_whitespace)
    {
        params.resource = Cow::Owned(resource_of(&params.resource).ok()?);
    }
    let now = inner.core.clock.now_epoch();
    let changes = inner.core.cache.changes();
    let mut hit = match inner.recent.get(&params.resource, changes, now) {
        Some(hit) => hit,
        None => {
            let resource = [params.resource.clone().into_owned()];
            let (hit, read_at) =
                cache_hit(inner, &resource, now).filter(|(hit, _)| !hit.refresh_due(now))?;
            // Remembered only when no write came between the count read above
            // and the lookup that found it: then every lookup saw one state.
            if read_at == changes {
                inner.recent.put(&params.resource, changes, &hit);
            }
            hit
        }
    };
    // Without the caller's id, one is drawn only if read: by a subscriber
    // that takes this span (field values are evaluated only then), or by the
    // caller.
    if let Some(id) = params.correlation_id.take() {
        hit.correlation_id = id.into();
    }
    tracing::info_span!(
        "oxmsal.managed_identity",
        correlation_id = hit.correlation_id.as_str()
    )
    .in_scope(|| {
        tracing::info!(token_source = "cache", "token served from the cache");
    });
    Some(hit)
}

pub(crate) async fn acquire(inner: &Inner, mut params: Params<'_>) -> Result<AuthenticationResult> {
    let resource = resource_of(&params.resource)?;
    let correlation_id = params
        .correlation_id
        .take()
        .unwrap_or_else(crate::correlation::new_id);
    let span = tracing::info_span!(
        "oxmsal.managed_identity",
        correlation_id = correlation_id.as_str(),
        source = inner.resolved.source.as_str()
    );
    acquire_in_span(inner, params, resource, correlation_id)
        .instrument(span)
        .await
}

async fn acquire_in_span(
    inner: &Inner,
    params: Params<'_>,
    resource: String,
    correlation_id: String,
) -> Result<AuthenticationResult> {
    let core = &inner.core;
    let client_id = inner.identity.cache_client_id();
    let scopes = [resource.clone()];
    let partition = partition(client_id);
    let bypass = params.force_refresh || params.claims.is_some();

    let lookup =
        |core: &AppCore| cache_hit(inner, &scopes, core.clock.now_epoch()).map(|(hit, _)| hit);
    if !params.force_refresh {
        core.load_partition(&partition).await?;
        if let Some(hit) = lookup(core) {
            if !bypass && !hit.refresh_due(core.clock.now_epoch()) {
                return Ok(served(hit, correlation_id));
            }
        }
    }

    // One request at a time per identity and resource: callers that waited
    // find the token the first one cached.
    let mut flight = core.flight(format!(
        "managed_identity|{}|{}",
        client_id,
        resource.to_lowercase()
    ));
    flight.enter().await;
    fetch_or_reuse(
        inner,
        &params,
        &resource,
        &scopes,
        &partition,
        bypass,
        &correlation_id,
    )
    .await
}

fn served(mut hit: AuthenticationResult, correlation_id: String) -> AuthenticationResult {
    tracing::info!(token_source = "cache", "token served from the cache");
    hit.correlation_id = correlation_id.into();
    hit
}

#[allow(clippy::too_many_arguments)]
async fn fetch_or_reuse(
    inner: &Inner,
    params: &Params<'_>,
    resource: &str,
    scopes: &[String; 1],
    partition: &PartitionKey,
    bypass: bool,
    correlation_id: &str,
) -> Result<AuthenticationResult> {
    let core = &inner.core;
    let client_id = inner.identity.cache_client_id();
    let mut cached = None;
    if !params.force_refresh {
        core.load_partition(partition).await?;
        let now = core.clock.now_epoch();
        cached = cache_hit(inner, scopes, now).map(|(hit, _)| hit);
        if let Some(hit) = &cached {
            if !bypass && !hit.refresh_due(now) {
                return Ok(served(hit.clone(), correlation_id.to_owned()));
            }
        }
    }
    // A claims challenge names the cached token as revoked: Service Fabric is
    // told which one (by its SHA-256), so it does not hand it out again.
    let token_sha256_to_refresh = match (&params.claims, &cached) {
        (Some(_), Some(hit)) => Some(sha256_hex(hit.access_token.expose_secret())),
        _ => None,
    };
    let extras = Extras {
        token_sha256_to_refresh,
        capabilities: &core.capabilities,
    };
    let (response, now) = match obtain(inner, resource, &extras, correlation_id).await {
        Ok(answer) => answer,
        Err(err) => {
            let err = err.with_correlation_id(correlation_id);
            // Past refresh_on but still valid: better than an error. Not for a
            // claims challenge: the cached token is the one refused.
            if let (Some(hit), false) = (cached, bypass) {
                tracing::warn!(error = %err, "refresh failed; serving the still-valid cached token");
                return Ok(served(hit, correlation_id.to_owned()));
            }
            tracing::info!(kind = %err.kind(), "managed identity request failed");
            return Err(err);
        }
    };
    let _in_flight = core.store_in_flight();
    let saved = core.cache.save_token_response(&TokenRecord {
        client_id,
        environment: ENVIRONMENT,
        realm: REALM,
        requested_scopes: scopes,
        response: &response,
        now,
        authority_type: "MSSTS",
        account_source: None,
        ext_cache_key: None,
        home_account_id: None,
    })?;
    core.store_partition(partition).await?;
    tracing::info!(token_source = "identity_provider", "token acquired");
    Ok(AuthenticationResult::from_cached(
        &saved.access_token,
        TokenSource::IdentityProvider,
        now,
        correlation_id.into(),
        Some(response),
    ))
}

fn sha256_hex(token: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// One token from the source: the request, Arc's challenge, the answer
/// normalised (or turned into an error value carrying the retries made),
/// with the time it came (retries may have waited: `expires_on` is counted
/// from then).
async fn obtain(
    inner: &Inner,
    resource: &str,
    extras: &Extras<'_>,
    correlation_id: &str,
) -> Result<(Map<String, Value>, u64)> {
    let resolved = &inner.resolved;
    let first = sources::request(resolved, &inner.identity, resource, extras)?;
    let mut sent = inner.transport.send(&first, correlation_id).await?;
    let mut retries = sent.retries;
    if resolved.source == ManagedIdentitySource::AzureArc && arc::is_challenge(&sent.response) {
        let second = arc::answer_challenge(resolved, first, &sent.response)?;
        sent = inner
            .transport
            .send(&second, correlation_id)
            .await
            .map_err(|e| {
                let total = retries + e.retries();
                e.with_retries(total)
            })?;
        retries += sent.retries;
    }
    if !sent.response.status().is_success() {
        if sent.exhausted {
            tracing::warn!(retries, "managed identity retries ran out");
        }
        return Err(
            response::error(&sent.response, inner.core.clock.as_ref()).with_retries(retries)
        );
    }
    let now = inner.core.clock.now_epoch();
    let (token, raw) = response::token(&sent.response, now)?;
    if resolved.source == ManagedIdentitySource::AzureArc {
        arc::check_identity_echo(&inner.identity, &raw)?;
    }
    Ok((token, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_map_to_resources() {
        assert_eq!(
            resource_of("https://management.azure.com/.default")
                .ok()
                .as_deref(),
            Some("https://management.azure.com")
        );
        assert_eq!(
            resource_of("https://vault.azure.net").ok().as_deref(),
            Some("https://vault.azure.net")
        );
        assert!(resource_of("/.default").is_err());
        assert!(resource_of(" ").is_err());
        assert!(resource_of("a b").is_err());
    }

    #[test]
    fn token_hashes_are_lowercase_hex_sha256() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
