//! Redeeming a user grant (code, device code, password, refresh token, OBO
//! assertion) at the token endpoint: shared by every user flow.

use serde_json::Value;

use crate::authority::endpoints::Endpoints;
use crate::authority::{Authority, AuthorityKind};
use crate::cache::persist::PartitionKey;
use crate::cache::{AccessTokenQuery, Account, CachedRefreshToken, TokenRecord};
use crate::claims::merge_claims;
use crate::client::AppCore;
use crate::credential::{AssertionRequest, ClientCredential};
use crate::error::{Error, ErrorKind, InvalidResponse, Result};
use crate::request_options::RequestOptions;
use crate::secret::Secret;
use crate::token::{AuthenticationResult, TokenSource};

use super::{send_token_request, TokenRequest};
use crate::client::scopes::RESERVED_SCOPES;

/// How the response is written to the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SaveMode {
    /// A sign-in: every entity, the Account included.
    SignIn,
    /// A silent refresh: tokens only, so a concurrently removed account stays out.
    Refresh,
}

/// One user grant to redeem.
#[derive(Debug, Clone)]
pub(crate) struct UserGrant<'a> {
    pub api_id: u32,
    pub grant_type: &'static str,
    /// Grant-specific fields (code, refresh_token, device_code, password…).
    pub fields: Vec<(&'static str, Secret)>,
    /// Validated caller scopes (the reserved ones are added here).
    pub scopes: &'a [String],
    /// A claims challenge; client capabilities are merged in.
    pub claims: Option<&'a str>,
    /// The id token must carry this nonce (auth code flow).
    pub expected_nonce: Option<&'a str>,
    pub save: SaveMode,
    pub ext_cache_key: Option<&'a str>,
    /// The cache key of the refresh token redeemed, which a new refresh token
    /// in the response replaces (rotation, MSAL's `update_rt`).
    pub rotates: Option<&'a str>,
    pub correlation_id: &'a str,
    /// The caller's extra query, form and header values.
    pub options: &'a RequestOptions,
}

/// Redeems the first of `tokens` (newest first) the server accepts, with
/// `grant` as the template of every attempt (its `fields` and `rotates` are
/// each token's). A token refused with `invalid_grant` (expired, revoked,
/// another client's family token) is kept, as MSAL for Python keeps it, and
/// the next is tried; entries of other targets (or the family's) often hold
/// the same token, and one refused is not sent again (the same answer would
/// come, and the throttle would turn it into "throttled"). The last refusal
/// is the error when none is accepted.
pub(crate) async fn redeem_refresh_tokens(
    core: &AppCore,
    credential: Option<&ClientCredential>,
    authority: &Authority,
    endpoints: &Endpoints,
    tokens: &[CachedRefreshToken],
    grant: &UserGrant<'_>,
) -> Result<AuthenticationResult> {
    let mut last_error = None;
    let mut refused: Vec<&Secret> = Vec::new();
    for token in tokens {
        if refused
            .iter()
            .any(|r| r.expose_secret() == token.secret.expose_secret())
        {
            continue;
        }
        let attempt = UserGrant {
            fields: vec![("refresh_token", token.secret.clone())],
            rotates: Some(&token.key),
            ..grant.clone()
        };
        match redeem(core, credential, authority, endpoints, attempt).await {
            Ok(result) => return Ok(result),
            Err(err)
                if err.kind() == ErrorKind::Service
                    && err.service().is_some_and(|s| s.error == "invalid_grant") =>
            {
                tracing::info!(
                    correlation_id = grant.correlation_id,
                    family = token.family_id.is_some(),
                    "refresh token refused; trying the next"
                );
                last_error = Some(err);
                refused.push(&token.secret);
            }
            Err(err) => return Err(err),
        }
    }
    Err(last_error.unwrap_or_else(|| Error::no_cached_token("no usable refresh token")))
}

/// The scopes sent on a user request: the caller's plus `openid profile offline_access`.
pub(crate) fn request_scopes(scopes: &[String]) -> String {
    let mut all: Vec<&str> = scopes.iter().map(String::as_str).collect();
    all.extend(RESERVED_SCOPES);
    all.sort_unstable();
    all.dedup();
    all.join(" ")
}

/// Sends the grant, checks the nonce, writes the cache (and persistence),
/// builds the result.
pub(crate) async fn redeem(
    core: &AppCore,
    credential: Option<&ClientCredential>,
    authority: &Authority,
    endpoints: &Endpoints,
    grant: UserGrant<'_>,
) -> Result<AuthenticationResult> {
    let now = core.clock.now_epoch();
    let claims = merge_claims(grant.claims, &core.capabilities)?;
    let mut request = TokenRequest::new(grant.api_id, grant.correlation_id.to_owned())
        .with_options(grant.options);
    request.field("client_id", core.client_id.as_str());
    request.field("grant_type", grant.grant_type);
    request.field("scope", request_scopes(grant.scopes));
    request.field("client_info", "1");
    for (name, value) in grant.fields {
        request.field(name, value);
    }
    if let Some(claims) = &claims {
        request.field("claims", claims.as_str());
    }
    if let Some(credential) = credential {
        let fields = credential
            .form_fields(
                AssertionRequest::new(core.client_id.clone(), endpoints.token_endpoint.to_string()),
                authority.kind() == AuthorityKind::Adfs,
                now,
            )
            .await?;
        for (name, value) in fields {
            request.field(name, value);
        }
    }
    let response = send_token_request(core, endpoints, &request).await?;
    if let Some(expected) = grant.expected_nonce {
        check_nonce(&response, expected, grant.correlation_id)?;
    }
    let record = TokenRecord {
        client_id: &core.client_id,
        environment: &endpoints.environment,
        realm: &endpoints.realm,
        requested_scopes: grant.scopes,
        response: &response,
        now,
        authority_type: authority.kind().cache_type(),
        account_source: Some(grant.grant_type),
        ext_cache_key: grant.ext_cache_key,
        home_account_id: None,
    };
    let _in_flight = core.store_in_flight();
    let saved = match grant.save {
        SaveMode::SignIn => core.cache.save_token_response(&record)?,
        SaveMode::Refresh => core.cache.save_refreshed_token_response(&record)?,
    };
    let rotated = response.get("refresh_token").and_then(Value::as_str);
    if let (Some(key), Some(new_secret)) = (grant.rotates, rotated) {
        core.cache
            .update_refresh_token(key, new_secret, core.clock.now_epoch());
    }
    let home = saved
        .account
        .as_ref()
        .map(|a| a.home_account_id.clone())
        .or_else(|| saved.access_token.home_account_id.clone())
        .filter(|h| !h.is_empty());
    let partition = match (grant.ext_cache_key, home) {
        (Some(hash), _) => Some(PartitionKey::OnBehalfOf {
            assertion_hash: hash.to_owned(),
        }),
        (None, Some(home_account_id)) => Some(PartitionKey::User { home_account_id }),
        // No account to file the tokens under: they stay in memory.
        (None, None) => None,
    };
    if let Some(partition) = &partition {
        core.store_partition(partition).await?;
    }
    // A refresh does not re-create the account: hand back the cached one (its
    // account_source is the sign-in's grant), so it equals what `accounts()` lists.
    let account = match (grant.save, &saved.account) {
        (SaveMode::Refresh, Some(fresh)) => core
            .cache
            .accounts_of(&fresh.home_account_id)
            .into_iter()
            .find(|a| a.environment == fresh.environment && a.realm == fresh.realm)
            .or_else(|| saved.account.clone()),
        _ => saved.account.clone(),
    };
    tracing::info!(
        correlation_id = grant.correlation_id,
        grant = grant.grant_type,
        token_source = "identity_provider",
        account = core.pii(account.as_ref().map(|a| a.username.as_str())),
        "user token acquired"
    );
    let at = &saved.access_token;
    Ok(AuthenticationResult::from_cached(
        at,
        TokenSource::IdentityProvider,
        now,
        grant.correlation_id.into(),
        Some(response),
    )
    .with_identity(account, saved.id_token_claims.map(std::sync::Arc::new)))
}

/// The id token must echo the nonce of the authorization request; otherwise the
/// code may have been injected from another sign-in.
fn check_nonce(
    response: &serde_json::Map<String, Value>,
    expected: &str,
    correlation_id: &str,
) -> Result<()> {
    let Some(Value::String(id_token)) = response.get("id_token") else {
        return Err(nonce_error(
            "the response has no id_token to carry the nonce",
            correlation_id,
        ));
    };
    let claims = crate::jwt::decode_claims(id_token)
        .map_err(|_| nonce_error("the id_token does not decode", correlation_id))?;
    match claims.get("nonce").and_then(Value::as_str) {
        Some(nonce) if nonce == expected => Ok(()),
        Some(_) => Err(nonce_error(
            "the id_token's nonce does not match the request's (possible replay)",
            correlation_id,
        )),
        None => Err(nonce_error("the id_token carries no nonce", correlation_id)),
    }
}

fn nonce_error(reason: &str, correlation_id: &str) -> Error {
    Error::from_invalid_response(InvalidResponse::new(
        200,
        Some("application/json".into()),
        b"",
        format!("nonce check failed: {reason}"),
    ))
    .with_correlation_id(correlation_id)
}

/// The usable access token for `query` at `now` as a result, with the account
/// and the id token claims: read under one lock, nothing copied but what the
/// result holds (silent and on-behalf-of hits). Its correlation id is left for
/// the caller to set.
pub(crate) fn find_hit(
    core: &AppCore,
    query: &AccessTokenQuery<'_>,
    now: u64,
) -> Option<AuthenticationResult> {
    core.cache.read_store(|store| {
        let (_, at) = store.find_access_token(query, now)?;
        let result = AuthenticationResult::from_entry(at, TokenSource::Cache, now);
        let Some(home) = at.home_account_id.as_deref().filter(|h| !h.is_empty()) else {
            return Some(result);
        };
        // The account in the token's tenant, else the first (as `accounts_of` sorts).
        let accounts = store.accounts_of(home);
        fn first<'a>(accounts: impl Iterator<Item = &'a Account>) -> Option<&'a Account> {
            accounts.min_by(|a, b| (&a.environment, &a.realm).cmp(&(&b.environment, &b.realm)))
        }
        let account = first(accounts.iter().copied().filter(|a| *a.realm == *at.realm))
            .or_else(|| first(accounts.iter().copied()))
            .cloned();
        let claims = store
            .find_id_token(home, query.environments, &core.client_id, Some(&at.realm))
            .and_then(|(_, id_token)| id_token.claims());
        Some(result.with_identity(account, claims))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    fn response_with_nonce(nonce: Option<&str>) -> serde_json::Map<String, Value> {
        let claims = match nonce {
            Some(n) => serde_json::json!({"sub": "alice", "nonce": n}),
            None => serde_json::json!({"sub": "alice"}),
        };
        let token = format!("e30.{}.sig", URL_SAFE_NO_PAD.encode(claims.to_string()));
        serde_json::json!({"access_token": "x", "id_token": token})
            .as_object()
            .unwrap()
            .clone()
    }

    #[test]
    fn nonce_must_match() {
        assert!(check_nonce(&response_with_nonce(Some("n1")), "n1", "c").is_ok());
        for (response, reason) in [
            (response_with_nonce(Some("other")), "does not match"),
            (response_with_nonce(None), "no nonce"),
            (
                serde_json::json!({"access_token": "x"})
                    .as_object()
                    .unwrap()
                    .clone(),
                "no id_token",
            ),
            (
                serde_json::json!({"access_token": "x", "id_token": "junk"})
                    .as_object()
                    .unwrap()
                    .clone(),
                "does not decode",
            ),
        ] {
            let err = check_nonce(&response, "n1", "c").unwrap_err();
            assert_eq!(err.kind(), crate::error::ErrorKind::InvalidResponse);
            assert!(err.to_string().contains(reason), "{err}");
        }
    }
}
