//! Long-running on-behalf-of (MSAL.NET's `AcquireTokenInLongRunningProcess`):
//! a background job keeps acting for a user after the token their request
//! carried expired. The session was started by an on-behalf-of grant filed
//! under a session key; here that key alone finds the session's tokens: its
//! access token (`ext_cache_key` = the key), else the user's refresh token,
//! redeemed for a new access token filed under the key again.
//!
//! The session's user and tenant come from the access tokens filed under the
//! key, expired ones included: the cache drops an access token only when a
//! newer one with the same account, client, key and tenant is saved (or the
//! account is removed), so a session keeps at least one entry naming its user.

use std::borrow::Cow;

use crate::cache::persist::PartitionKey;
use crate::cache::{AccessTokenQuery, RefreshTokenQuery};
use crate::client::AppCore;
use crate::credential::ClientCredential;
use crate::error::{Error, Result};
use crate::request_options::RequestOptions;
use crate::token::AuthenticationResult;

use super::user_token::{find_hit, redeem_refresh_tokens, SaveMode, UserGrant};
use crate::client::scopes::validate_scopes;

/// MSAL's telemetry id of `acquire_token_on_behalf_of` (the grant this
/// session started with; MSAL for Python has no long-running variant).
const API_ID: u32 = 523;

/// One request of a long-running session.
#[derive(Debug)]
pub(crate) struct Params {
    pub session_key: String,
    pub scopes: Vec<String>,
    /// A claims request: skips the cached access token.
    pub claims: Option<String>,
    /// Skips the cached access token.
    pub force_refresh: bool,
    /// Extra query, form and header values for the refresh.
    pub options: RequestOptions,
    pub correlation_id: String,
}

/// Where a session's tokens are: its user and tenant.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Session {
    /// The newest entry wins when the key names several.
    cached_at: u64,
    home_account_id: String,
    realm: String,
}

pub(crate) async fn acquire(
    core: &AppCore,
    credential: &ClientCredential,
    params: Params,
) -> Result<AuthenticationResult> {
    let outcome = acquire_inner(core, credential, &params).await;
    // The user is not there to sign in again: an interaction-required answer
    // tells the web API to have the user call it again.
    outcome.map_err(|e| {
        e.in_silent_context()
            .with_correlation_id(params.correlation_id.clone())
    })
}

async fn acquire_inner(
    core: &AppCore,
    credential: &ClientCredential,
    params: &Params,
) -> Result<AuthenticationResult> {
    let scopes = validate_scopes(&params.scopes)?;
    let key = params.session_key.as_str();
    if key.trim().is_empty() {
        return Err(Error::configuration(
            "the long-running on-behalf-of session key is empty",
        ));
    }
    let correlation_id = params.correlation_id.as_str();
    let claims = params.claims.as_deref();
    // The session's tokens, as the process that started it (or the last one
    // to continue it) left them.
    let partition = PartitionKey::OnBehalfOf {
        assertion_hash: key.to_owned(),
    };
    core.load_partition(&partition).await?;
    let found = core
        .lookup_endpoints(&core.authority, correlation_id)
        .await?;
    let Some(session) = find_session(core, &found.endpoints.aliases, key) else {
        return Err(Error::no_cached_token(
            "no long-running on-behalf-of session with this key in the cache: start one with \
             initiate_long_running_on_behalf_of",
        ));
    };
    // The tenant the session was started in (a per-request tenant then).
    let (authority, found) = if session.realm == found.endpoints.realm {
        (Cow::Borrowed(&core.authority), found)
    } else {
        let authority = core.authority_for(Some(&session.realm))?;
        let found = core.lookup_endpoints(&authority, correlation_id).await?;
        (authority, found)
    };
    let endpoints = &found.endpoints;
    let bypass = claims.is_some() || params.force_refresh;
    let lookup = |now: u64| {
        let query = AccessTokenQuery::new(&core.client_id, &endpoints.aliases, &scopes)
            .for_account(&session.home_account_id)
            .in_realm(&session.realm)
            .with_ext_cache_key(key);
        find_hit(core, &query, now)
    };
    let now = core.clock.now_epoch();
    let mut cached = if bypass { None } else { lookup(now) };
    if let Some(hit) = &cached {
        if !hit.refresh_due(now) {
            return Ok(served(hit.clone(), now, correlation_id));
        }
    }

    // Single flight per session, tenant, scopes and claims: callers that
    // waited find the first one's token; a token past refresh_on is served
    // while another caller refreshes it.
    let mut flight = core.flight(format!(
        "long_running_obo\u{1f}{key}\u{1f}{}\u{1f}{}\u{1f}{}",
        session.realm,
        scopes.join(" "),
        claims.unwrap_or_default()
    ));
    // The caller that held the flight may have saved the token since the
    // lookup above: after waiting for it, or just before entering.
    let waited = !flight.try_enter();
    if waited {
        if let Some(hit) = cached {
            return Ok(served(hit, now, correlation_id));
        }
        flight.enter().await;
    }
    if !bypass {
        if waited {
            core.load_partition(&partition).await?;
        }
        let now = core.clock.now_epoch();
        if let Some(hit) = lookup(now) {
            if !hit.refresh_due(now) {
                return Ok(served(hit, now, correlation_id));
            }
            cached = Some(hit);
        }
    }
    let outcome = async {
        let endpoints = core
            .request_endpoints(&authority, correlation_id, &found)
            .await?;
        refresh(
            core, credential, &authority, &endpoints, &session, &scopes, params,
        )
        .await
    }
    .await;
    drop(flight);
    match (outcome, cached) {
        // Past refresh_on but still valid: better than the error.
        (Err(err), Some(hit)) => {
            tracing::warn!(correlation_id, error = %err, "long-running on-behalf-of refresh failed; serving the still-valid cached token");
            Ok(served(hit, core.clock.now_epoch(), correlation_id))
        }
        (outcome, _) => outcome,
    }
}

/// The session filed under `key` for this app: the user and tenant of the
/// newest access token with that extended key, usable or not.
fn find_session(core: &AppCore, environments: &[String], key: &str) -> Option<Session> {
    // The key's partition holds exactly the access tokens filed under it
    // (and their users' other entries), found through the cache's indexes.
    let held = core.cache.partition_snapshot(&PartitionKey::OnBehalfOf {
        assertion_hash: key.to_owned(),
    });
    held.access_tokens()
        .values()
        .filter(|at| {
            at.ext_cache_key.as_deref() == Some(key)
                && *at.shared.client_id == *core.client_id
                && environments.iter().any(|e| **e == *at.shared.environment)
        })
        .filter_map(|at| {
            let home = at.home_account_id.as_deref().filter(|h| !h.is_empty())?;
            Some(Session {
                cached_at: at.cached_at,
                home_account_id: home.to_owned(),
                realm: at.realm.to_string(),
            })
        })
        .max()
}

/// Redeems the session user's refresh tokens for this client, newest first,
/// until one is accepted; the new access token is filed under the session key.
async fn refresh(
    core: &AppCore,
    credential: &ClientCredential,
    authority: &crate::authority::Authority,
    endpoints: &crate::authority::endpoints::Endpoints,
    session: &Session,
    scopes: &[String],
    params: &Params,
) -> Result<AuthenticationResult> {
    let query = RefreshTokenQuery::new(
        &session.home_account_id,
        &endpoints.aliases,
        &core.client_id,
    );
    let tokens = core.cache.find_refresh_tokens(&query);
    if tokens.is_empty() {
        return Err(Error::no_cached_token(
            "the long-running on-behalf-of session has no refresh token: start it again with \
             initiate_long_running_on_behalf_of and the user's token",
        ));
    }
    let grant = UserGrant {
        api_id: API_ID,
        grant_type: "refresh_token",
        fields: Vec::new(),
        scopes,
        claims: params.claims.as_deref(),
        expected_nonce: None,
        save: SaveMode::Refresh,
        ext_cache_key: Some(&params.session_key),
        rotates: None,
        options: &params.options,
        correlation_id: &params.correlation_id,
    };
    redeem_refresh_tokens(
        core,
        Some(credential),
        authority,
        endpoints,
        &tokens,
        &grant,
    )
    .await
}

fn served(mut hit: AuthenticationResult, now: u64, correlation_id: &str) -> AuthenticationResult {
    tracing::info!(
        correlation_id,
        token_source = "cache",
        "long-running on-behalf-of: cache hit"
    );
    hit.expires_in = hit.expires_on.saturating_sub(now);
    hit.correlation_id = correlation_id.into();
    hit
}
