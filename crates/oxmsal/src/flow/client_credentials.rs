//! The client credentials grant (RFC 6749 §4.4): an app-only token.

use crate::authority::AuthorityKind;
use crate::cache::persist::PartitionKey;
use crate::cache::{AccessTokenQuery, TokenRecord};
use crate::claims::merge_claims;
use crate::client::AppCore;
use crate::credential::{AssertionRequest, ClientCredential};
use crate::error::Result;
use crate::request_options::RequestOptions;

use crate::token::{AuthenticationResult, TokenSource};
use tracing::Instrument as _;

use super::{send_token_request, TokenRequest};
use crate::authority::endpoints::Endpoints;
use crate::client::scopes::{validate_scopes, ScopeList};
use std::sync::Arc;

/// MSAL's telemetry id of `acquire_token_for_client`.
const API_ID: u32 = 730;

/// What the caller asked for.
#[derive(Debug, Default)]
pub(crate) struct Params {
    pub scopes: ScopeList,
    pub claims: Option<String>,
    pub tenant: Option<String>,
    pub force_refresh: bool,
    pub correlation_id: Option<String>,
    /// Extra query, form and header values (they do not bypass the cache).
    pub options: RequestOptions,
}

/// The hot path, synchronous: endpoints known, nothing to load, a valid token
/// in memory. `None` sends the request down the full path ([`acquire`], which
/// also reports any mistake in it).
pub(crate) fn hot_hit(core: &AppCore, params: &mut Params) -> Option<AuthenticationResult> {
    let bypass = params.force_refresh || params.claims.is_some();
    let (_, endpoints) = core.hot_path(bypass, &params.scopes, params.tenant.as_deref())?;
    let now = core.clock.now_epoch();
    let mut hit =
        cache_hit(core, &endpoints, &params.scopes, now).filter(|hit| !hit.refresh_due(now))?;
    // Without the caller's id, one is drawn only if read: by a subscriber
    // that takes these events (field values are evaluated only then), or by
    // the caller.
    if let Some(id) = params.correlation_id.take() {
        hit.correlation_id = id.into();
    }
    let correlation_id = &hit.correlation_id;
    tracing::info_span!(
        "oxmsal.acquire_token_for_client",
        correlation_id = correlation_id.as_str()
    )
    .in_scope(|| {
        tracing::info!(
            correlation_id = correlation_id.as_str(),
            token_source = "cache",
            "token served from the cache"
        );
    });
    Some(hit)
}

/// Cache first (unless claims or force_refresh), then the token endpoint.
pub(crate) async fn acquire(
    core: &AppCore,
    credential: &ClientCredential,
    mut params: Params,
) -> Result<AuthenticationResult> {
    let scopes = validate_scopes(&params.scopes)?;
    let authority = core.authority_for(params.tenant.as_deref())?;
    let claims = merge_claims(params.claims.as_deref(), &core.capabilities)?;
    let correlation_id = params
        .correlation_id
        .take()
        .unwrap_or_else(crate::correlation::new_id);
    let span = tracing::info_span!(
        "oxmsal.acquire_token_for_client",
        correlation_id = correlation_id.as_str()
    );
    acquire_in_span(
        core,
        credential,
        params,
        scopes,
        authority,
        claims,
        correlation_id,
    )
    .instrument(span)
    .await
}

/// The app's cached token for `scopes` in the endpoints' tenant, if usable at
/// `now` (past `refresh_on` or not), read straight out of the entry.
fn cache_hit(
    core: &AppCore,
    endpoints: &Arc<Endpoints>,
    scopes: &[String],
    now: u64,
) -> Option<AuthenticationResult> {
    let hit = |entry: &_| AuthenticationResult::from_entry(entry, TokenSource::Cache, now);
    if let Some(keys) = core.app_token_keys(endpoints) {
        return core.cache.read_access_token_by(keys, scopes, now, hit);
    }
    core.cache.read_access_token(
        &AccessTokenQuery {
            home_account_id: None,
            environments: &endpoints.aliases,
            client_id: &core.client_id,
            realm: Some(&endpoints.realm),
            scopes,
            ext_cache_key: None,
        },
        now,
        hit,
    )
}

#[allow(clippy::too_many_arguments)]
async fn acquire_in_span(
    core: &AppCore,
    credential: &ClientCredential,
    params: Params,
    scopes: Vec<String>,
    authority: std::borrow::Cow<'_, crate::authority::Authority>,
    claims: Option<String>,
    correlation_id: String,
) -> Result<AuthenticationResult> {
    // Found without a request when the cache's persisted metadata knows the
    // authority: a hit in a new process sends nothing.
    let found = core.lookup_endpoints(&authority, &correlation_id).await?;
    let endpoints = &found.endpoints;
    // A claims request (challenge) must reach the server: the cached token is
    // exactly what the resource refused. Capabilities alone do not bypass.
    let bypass_cache = params.force_refresh || params.claims.is_some();
    let partition = |endpoints: &Endpoints| PartitionKey::App {
        client_id: core.client_id.clone(),
        realm: endpoints.realm.clone(),
    };
    let scopes_ref = scopes.as_slice();
    let partition = &partition;
    // `load`: bring the partition in from persistence first.
    let look = |now: u64, load: bool| async move {
        if bypass_cache {
            return Ok(None);
        }
        if load && core.has_persistence() {
            core.load_partition(&partition(endpoints)).await?;
        }
        Ok::<_, crate::Error>(cache_hit(core, endpoints, scopes_ref, now))
    };
    let mut now = core.clock.now_epoch();
    let mut cached = look(now, true).await?;
    if let Some(hit) = cached.take() {
        if !hit.refresh_due(now) {
            return Ok(served(hit, correlation_id));
        }
        tracing::info!(
            correlation_id = correlation_id.as_str(),
            "cached token is past refresh_on; refreshing"
        );
        cached = Some(hit);
    }

    // Single flight: identical requests (app, tenant, scopes, claims) send
    // one request; those that waited find its token in the cache. A token
    // past refresh_on is served while someone else refreshes it.
    let mut flight = core.flight(format!(
        "client_credentials\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}",
        endpoints.environment,
        endpoints.realm,
        scopes.join(" "),
        claims.as_deref().unwrap_or_default()
    ));
    let waited = !flight.try_enter();
    if waited {
        if let Some(hit) = cached {
            return Ok(served(hit, correlation_id));
        }
        flight.enter().await;
    }
    // Looked again once in: the request before this one (still in flight
    // when this one looked, or just finished) may have cached the token —
    // in memory; the store is read again only after a wait.
    now = core.clock.now_epoch();
    if let Some(hit) = look(now, waited).await? {
        if !hit.refresh_due(now) {
            return Ok(served(hit, correlation_id));
        }
        cached = Some(hit);
    }

    let endpoints = match core
        .request_endpoints(&authority, &correlation_id, &found)
        .await
    {
        Ok(endpoints) => endpoints,
        // Rediscovery failed: a still-valid cached token is better than an error.
        Err(err) => return fall_back(cached, err, correlation_id),
    };
    let mut request =
        TokenRequest::new(API_ID, correlation_id.clone()).with_options(&params.options);
    request.field("client_id", core.client_id.as_str());
    request.field("grant_type", "client_credentials");
    request.field("client_info", "1");
    request.field("scope", scopes.join(" "));
    if let Some(claims) = &claims {
        request.field("claims", claims.as_str());
    }
    let audience = endpoints.token_endpoint.to_string();
    for (name, value) in credential
        .form_fields(
            AssertionRequest::new(core.client_id.clone(), audience),
            authority.kind() == AuthorityKind::Adfs,
            now,
        )
        .await?
    {
        request.field(name, value);
    }

    let response = match send_token_request(core, &endpoints, &request).await {
        Ok(response) => response,
        Err(err) => return fall_back(cached, err, correlation_id),
    };
    let _in_flight = core.store_in_flight();
    let saved = core.cache.save_token_response(&TokenRecord {
        client_id: &core.client_id,
        environment: &endpoints.environment,
        realm: &endpoints.realm,
        requested_scopes: &scopes,
        response: &response,
        now,
        authority_type: authority.kind().cache_type(),
        account_source: Some("client_credentials"),
        ext_cache_key: None,
        home_account_id: None,
    })?;
    core.store_partition(&partition(&endpoints)).await?;
    tracing::info!(
        correlation_id = correlation_id.as_str(),
        token_source = "identity_provider",
        "token acquired"
    );
    Ok(AuthenticationResult::from_cached(
        &saved.access_token,
        TokenSource::IdentityProvider,
        now,
        correlation_id.into(),
        Some(response),
    ))
}

fn served(mut hit: AuthenticationResult, correlation_id: String) -> AuthenticationResult {
    tracing::info!(
        correlation_id = correlation_id.as_str(),
        token_source = "cache",
        "token served from the cache"
    );
    hit.correlation_id = correlation_id.into();
    hit
}

/// After a failed refresh: the cached token past `refresh_on` but still valid
/// is better than the error.
fn fall_back(
    cached: Option<AuthenticationResult>,
    err: crate::error::Error,
    correlation_id: String,
) -> Result<AuthenticationResult> {
    if let Some(mut hit) = cached {
        tracing::warn!(correlation_id = correlation_id.as_str(), error = %err, "refresh failed; serving the still-valid cached token");
        hit.correlation_id = correlation_id.into();
        return Ok(hit);
    }
    tracing::info!(correlation_id = correlation_id.as_str(), kind = %err.kind(), "token request failed");
    Err(err)
}
