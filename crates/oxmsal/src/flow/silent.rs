//! Silent acquisition: a cached token, or a refresh — once per key, however
//! many callers ask at the same time.

use crate::authority::endpoints::Endpoints;
use crate::authority::Authority;
use crate::cache::persist::PartitionKey;
use crate::cache::{AccessTokenQuery, Account, RefreshTokenQuery};
use crate::client::AppCore;
use crate::credential::ClientCredential;
use crate::error::{Error, Result};
use crate::request_options::RequestOptions;
use crate::token::AuthenticationResult;

use super::user_token::{find_hit, redeem_refresh_tokens, SaveMode, UserGrant};
use crate::client::scopes::validate_scopes;

/// MSAL's telemetry id of `acquire_token_silent`.
const API_ID: u32 = 84;

/// What the caller asked for.
#[derive(Debug)]
pub(crate) struct Params {
    pub scopes: Vec<String>,
    pub account: Account,
    pub claims: Option<String>,
    pub force_refresh: bool,
    pub tenant: Option<String>,
    pub correlation_id: String,
    /// Extra query, form and header values for a refresh (they do not
    /// bypass the cache, as in MSAL for Python).
    pub options: RequestOptions,
}

/// Tenants that stand for "whichever tenant the account is in".
fn is_multi_tenant(tenant: &str) -> bool {
    ["common", "organizations", "consumers"]
        .iter()
        .any(|t| t.eq_ignore_ascii_case(tenant))
}

pub(crate) async fn acquire(
    core: &AppCore,
    credential: Option<&ClientCredential>,
    params: Params,
) -> Result<AuthenticationResult> {
    let outcome = acquire_inner(core, credential, &params).await;
    outcome.map_err(|e| {
        e.in_silent_context()
            .with_correlation_id(params.correlation_id.clone())
    })
}

/// The hot path, synchronous: endpoints known, nothing to load, a valid token
/// in memory. `None` sends the request down the full path ([`acquire`], which
/// also reports any mistake in it). The result's correlation id is left for
/// the caller to set.
pub(crate) fn hot_hit(core: &AppCore, params: &Params) -> Option<AuthenticationResult> {
    let bypass = params.force_refresh || params.claims.is_some();
    let (authority, endpoints) = core.hot_path(bypass, &params.scopes, params.tenant.as_deref())?;
    let realm = realm_of(&authority, &endpoints, &params.account);
    let now = core.clock.now_epoch();
    let hit = find_hit(core, &query(core, &endpoints, params, realm), now)?;
    if hit.refresh_due(now) {
        return None;
    }
    log_hit(core, params);
    Some(hit)
}

/// The tenant to look in: the account's own for a multi-tenant authority.
fn realm_of<'a>(authority: &Authority, endpoints: &'a Endpoints, account: &'a Account) -> &'a str {
    if is_multi_tenant(authority.tenant()) {
        &account.realm
    } else {
        &endpoints.realm
    }
}

fn query<'a>(
    core: &'a AppCore,
    endpoints: &'a Endpoints,
    params: &'a Params,
    realm: &'a str,
) -> AccessTokenQuery<'a> {
    AccessTokenQuery::new(&core.client_id, &endpoints.aliases, &params.scopes)
        .for_account(&params.account.home_account_id)
        .in_realm(realm)
}

fn log_hit(core: &AppCore, params: &Params) {
    tracing::info!(
        correlation_id = params.correlation_id.as_str(),
        token_source = "cache",
        account = core.pii(Some(&params.account.username)),
        "silent: cache hit"
    );
}

/// A hit found earlier, served now.
fn served(mut hit: AuthenticationResult, now: u64, params: &Params) -> AuthenticationResult {
    hit.expires_in = hit.expires_on.saturating_sub(now);
    hit.correlation_id = params.correlation_id.as_str().into();
    hit
}

async fn acquire_inner(
    core: &AppCore,
    credential: Option<&ClientCredential>,
    params: &Params,
) -> Result<AuthenticationResult> {
    let scopes = validate_scopes(&params.scopes)?;
    let authority = core.authority_for(params.tenant.as_deref())?;
    // Found without a request when the cache's persisted metadata knows the
    // authority: a hit in a new process sends nothing.
    let found = core
        .lookup_endpoints(&authority, &params.correlation_id)
        .await?;
    let endpoints = &found.endpoints;
    let account = &params.account;
    let realm = realm_of(&authority, endpoints, account).to_owned();
    let bypass = params.force_refresh || params.claims.is_some();
    // The account's tokens, as other processes left them (refresh tokens too:
    // even a bypassing request needs them).
    if core.has_persistence() {
        core.load_partition(&PartitionKey::User {
            home_account_id: account.home_account_id.clone(),
        })
        .await?;
    }
    let lookup = |now: u64| find_hit(core, &query(core, endpoints, params, &realm), now);
    let now = core.clock.now_epoch();
    let cached = if bypass { None } else { lookup(now) };
    if let Some(hit) = &cached {
        if !hit.refresh_due(now) {
            log_hit(core, params);
            return Ok(served(hit.clone(), now, params));
        }
    }

    // Single flight: one refresh per (account, realm, scopes, claims) at a time.
    let key = format!(
        "{}\u{1f}{realm}\u{1f}{}\u{1f}{}",
        account.home_account_id,
        scopes.join(" "),
        params.claims.as_deref().unwrap_or_default()
    );
    let mut flight = core.flight(key);
    if !flight.try_enter() {
        match &cached {
            // Someone is refreshing and this token is still valid: no need to wait.
            Some(hit) => return Ok(served(hit.clone(), now, params)),
            None => flight.enter().await,
        }
    }
    if !bypass {
        let now = core.clock.now_epoch();
        if let Some(hit) = lookup(now) {
            if !hit.refresh_due(now) {
                return Ok(served(hit, now, params));
            }
        }
    }
    let outcome = async {
        // Stale persisted endpoints are discovered again before a request.
        let endpoints = core
            .request_endpoints(&authority, &params.correlation_id, &found)
            .await?;
        refresh(
            core, credential, &authority, &endpoints, account, &scopes, params,
        )
        .await
    }
    .await;
    drop(flight);
    match (outcome, cached) {
        (Ok(result), _) => Ok(result),
        (Err(err), Some(hit)) => {
            // Past refresh_on but still valid: better than any error, a failed
            // discovery included (MSAL Python raises on 5xx here; we fall back
            // on every failure).
            tracing::warn!(correlation_id = params.correlation_id.as_str(), error = %err, "refresh failed; serving the still-valid cached token");
            Ok(served(hit, core.clock.now_epoch(), params))
        }
        (Err(err), None) => Err(err),
    }
}

/// Tries the account's refresh tokens, family ones first, newest first.
async fn refresh(
    core: &AppCore,
    credential: Option<&ClientCredential>,
    authority: &Authority,
    endpoints: &Endpoints,
    account: &Account,
    scopes: &[String],
    params: &Params,
) -> Result<AuthenticationResult> {
    // An app with no AppMetadata yet may be in the family: try family tokens too.
    let family = match core
        .cache
        .find_app_metadata(&endpoints.aliases, &core.client_id)
    {
        Some(meta) => meta.family_id,
        None => Some("1".to_owned()),
    };
    let mut query = RefreshTokenQuery::new(
        &account.home_account_id,
        &endpoints.aliases,
        &core.client_id,
    );
    if let Some(f) = family.as_deref() {
        query = query.with_family(f);
    }
    let tokens = core.cache.find_refresh_tokens(&query);
    if tokens.is_empty() {
        return Err(Error::no_cached_token(
            "no access token or refresh token for this account and scopes; sign in interactively",
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
        ext_cache_key: None,
        rotates: None,
        options: &params.options,
        correlation_id: &params.correlation_id,
    };
    redeem_refresh_tokens(core, credential, authority, endpoints, &tokens, &grant).await
}
