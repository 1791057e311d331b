//! On-behalf-of (RFC 7523 jwt-bearer with `requested_token_use=on_behalf_of`):
//! a web API exchanges its caller's token for a downstream one. Tokens are
//! cached per incoming assertion, so a second call with it is a cache hit.
//!
//! Long-running on-behalf-of starts here too: the same grant with the tokens
//! filed under a session key (the assertion's hash unless the caller chose
//! one), which `long_running_obo` later finds without the assertion.

use aws_lc_rs::digest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;

use crate::cache::persist::PartitionKey;
use crate::cache::AccessTokenQuery;
use crate::client::AppCore;
use crate::credential::ClientCredential;
use crate::error::Result;
use crate::request_options::RequestOptions;
use crate::secret::Secret;
use crate::token::AuthenticationResult;

use super::user_token::{find_hit, redeem, SaveMode, UserGrant};
use crate::client::scopes::validate_scopes;

/// MSAL's telemetry id of `acquire_token_on_behalf_of`.
const API_ID: u32 = 523;
const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// One on-behalf-of request's options.
#[derive(Debug)]
pub(crate) struct Params {
    pub assertion: Secret,
    pub scopes: Vec<String>,
    /// A claims request: skips the cache.
    pub claims: Option<String>,
    /// Another tenant of the app's cloud.
    pub tenant: Option<String>,
    /// Skips the cache.
    pub force_refresh: bool,
    pub correlation_id: String,
    /// Extra query, form and header values (they do not bypass the cache).
    pub options: RequestOptions,
}

pub(crate) async fn acquire(
    core: &AppCore,
    credential: &ClientCredential,
    params: Params,
) -> Result<AuthenticationResult> {
    let key = assertion_hash(&params.assertion);
    acquire_under(core, credential, params, &key).await
}

/// The key of a caller's tokens: a hash of the assertion (never the
/// assertion itself), URL-safe base64 of its SHA-256.
pub(crate) fn assertion_hash(assertion: &Secret) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(
        &digest::SHA256,
        assertion.expose_secret().as_bytes(),
    ))
}

/// On-behalf-of with the tokens filed (and looked up) under `cache_key`:
/// the access token's `ext_cache_key` and the persistence partition.
pub(crate) async fn acquire_under(
    core: &AppCore,
    credential: &ClientCredential,
    params: Params,
    cache_key: &str,
) -> Result<AuthenticationResult> {
    let Params {
        assertion,
        scopes,
        claims,
        tenant,
        force_refresh,
        correlation_id,
        options,
    } = params;
    let (assertion, claims, correlation_id) = (&assertion, claims.as_deref(), &*correlation_id);
    let scopes = validate_scopes(&scopes)?;
    if assertion.is_empty() {
        return Err(crate::error::Error::configuration(
            "the user assertion is empty",
        ));
    }
    let authority = core.authority_for(tenant.as_deref())?;
    // Persisted metadata is enough to look in the cache (no request).
    let found = core.lookup_endpoints(&authority, correlation_id).await?;
    let endpoints = &found.endpoints;
    let bypass = claims.is_some() || force_refresh;
    let home = home_account_of(assertion);
    // `load`: bring the partition in from persistence first.
    let (scopes_ref, home_ref) = (&scopes, &home);
    let look = |load: bool| async move {
        let (scopes, home) = (scopes_ref, home_ref);
        if bypass {
            return Ok(None);
        }
        if load {
            let partition = PartitionKey::OnBehalfOf {
                assertion_hash: cache_key.to_owned(),
            };
            core.load_partition(&partition).await?;
        }
        let Some(home) = home else {
            return Ok(None);
        };
        let now = core.clock.now_epoch();
        let query = AccessTokenQuery::new(&core.client_id, &endpoints.aliases, scopes)
            .for_account(home)
            .in_realm(&endpoints.realm)
            .with_ext_cache_key(cache_key);
        Ok::<_, crate::Error>(find_hit(core, &query, now).map(|hit| (hit, now)))
    };
    let mut cached = None;
    if let Some((hit, now)) = look(true).await? {
        if !hit.refresh_due(now) {
            return Ok(served(hit, correlation_id));
        }
        cached = Some(hit);
    }

    // Single flight per key (the assertion's, or a session's), tenant, scopes
    // and claims: callers that waited find the first one's token; a token
    // past refresh_on is served while another caller refreshes it.
    let mut flight = core.flight(format!(
        "on_behalf_of\u{1f}{cache_key}\u{1f}{}\u{1f}{}\u{1f}{}",
        endpoints.realm,
        scopes.join(" "),
        claims.unwrap_or_default()
    ));
    // The caller that held the flight may have saved the token since the
    // lookup above: after waiting for it, or just before entering.
    let waited = !flight.try_enter();
    if waited {
        if let Some(hit) = cached {
            return Ok(served(hit, correlation_id));
        }
        flight.enter().await;
    }
    if let Some((hit, now)) = look(waited).await? {
        if !hit.refresh_due(now) {
            return Ok(served(hit, correlation_id));
        }
        cached = Some(hit);
    }
    let redeemed = async {
        let endpoints = core
            .request_endpoints(&authority, correlation_id, &found)
            .await?;
        let grant = UserGrant {
            api_id: API_ID,
            grant_type: JWT_BEARER_GRANT,
            fields: vec![
                ("assertion", assertion.clone()),
                ("requested_token_use", Secret::new("on_behalf_of")),
            ],
            scopes: &scopes,
            claims,
            expected_nonce: None,
            save: SaveMode::SignIn,
            ext_cache_key: Some(cache_key),
            rotates: None,
            correlation_id,
            options: &options,
        };
        redeem(core, Some(credential), &authority, &endpoints, grant).await
    }
    .await;
    match (redeemed, cached) {
        // Past refresh_on but still valid: better than the error.
        (Err(err), Some(hit)) => {
            tracing::warn!(correlation_id, error = %err, "on-behalf-of refresh failed; serving the still-valid cached token");
            Ok(served(hit, correlation_id))
        }
        (outcome, _) => outcome,
    }
}

fn served(mut hit: AuthenticationResult, correlation_id: &str) -> AuthenticationResult {
    tracing::info!(
        correlation_id,
        token_source = "cache",
        "on-behalf-of: cache hit"
    );
    hit.correlation_id = correlation_id.into();
    hit
}

/// `{oid}.{tid}` of the incoming token: the home account id Entra's
/// `client_info` will report for the same user.
fn home_account_of(assertion: &Secret) -> Option<String> {
    let claims = crate::jwt::decode_claims(assertion.expose_secret()).ok()?;
    let oid = claims.get("oid").and_then(Value::as_str)?;
    let tid = claims.get("tid").and_then(Value::as_str)?;
    Some(format!("{oid}.{tid}"))
}
