//! A token endpoint's answer turned into cache entries, as MSAL Python's
//! `TokenCache.__add` does (`msal/token_cache.py`): the same fields, the same
//! field order, timestamps as strings of epoch seconds.
//!
//! The response is input: every field is checked, and a response that breaks
//! the protocol (no access token, a non-numeric `expires_in`, an id token that
//! is not a JWT…) is an `InvalidResponse` error, never a panic.

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::{Map, Value};
use std::borrow::Cow;

use super::entity::{
    build_from, AccessTokenEntry, AccountEntry, AppMetadataEntry, IdTokenEntry, RefreshTokenEntry,
    Scalar,
};
use super::fields::{kind, opt_seconds};
use super::{keys, scopes, Account};
use crate::error::{Error, InvalidResponse, Result};

/// How long an access token lives when the response says nothing about it
/// (MSAL Python's default; RFC 6749 §5.1 makes `expires_in` only RECOMMENDED).
const DEFAULT_EXPIRES_IN_SECS: u64 = 600;

/// The longest lifetime a response's `expires_in`, `ext_expires_in` or
/// `refresh_in` (or an `expires_on` that far ahead) is taken for: one year.
/// Entra ID issues access tokens for at most a day (60–90 minutes by default)
/// and other OpenID providers for days or weeks; a year keeps every real
/// lifetime as it is while a bogus one (`1e30`) cannot make a token that is
/// cached, persisted and served forever.
pub(crate) const MAX_LIFETIME_SECS: u64 = 365 * 24 * 60 * 60;

/// The largest `id_token` accepted: 64 KiB. Entra's id tokens are 1–4 KiB and
/// stay under 16 KiB even with many group claims (past 200 groups it sends an
/// overage claim instead); a larger one is not an id token this library can
/// use, and it would be copied into every cache write.
pub(crate) const MAX_ID_TOKEN_BYTES: usize = 64 * 1024;

/// One successful token response and its context: what the flows hand the cache.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TokenRecord<'a> {
    /// The application's client id.
    pub client_id: &'a str,
    /// The authority host, lowercase, without port.
    pub environment: &'a str,
    /// The tenant from the token endpoint's path.
    pub realm: &'a str,
    /// The request's scopes: the `target` when the response has no `scope`.
    pub requested_scopes: &'a [String],
    /// The token endpoint's JSON object.
    pub response: &'a Map<String, Value>,
    /// Epoch seconds from the injected clock.
    pub now: u64,
    /// `MSSTS`, `ADFS` or `Generic`.
    pub authority_type: &'a str,
    /// The grant that established the account, stored on it.
    pub account_source: Option<&'a str>,
    /// The extended access-token key, if the request has one.
    pub ext_cache_key: Option<&'a str>,
    /// The home account id to use instead of the one the response implies
    /// (on-behalf-of).
    pub home_account_id: Option<&'a str>,
}

/// The entries a response makes, with their keys.
#[derive(Debug)]
pub(crate) struct Entries {
    pub(crate) access_token: (String, AccessTokenEntry),
    pub(crate) refresh_token: Option<(String, RefreshTokenEntry)>,
    pub(crate) id_token: Option<(String, IdTokenEntry)>,
    /// Built whenever the response identifies an account; a silent refresh
    /// does not store it.
    pub(crate) account: Option<(String, AccountEntry)>,
    pub(crate) app_metadata: (String, AppMetadataEntry),
    /// The id token's claims, decoded (not validated).
    pub(crate) id_token_claims: Option<Map<String, Value>>,
}

/// A response that breaks the protocol. The body is not attached: it holds tokens.
fn invalid(reason: impl Into<String>) -> Error {
    Error::from_invalid_response(InvalidResponse::new(
        200,
        Some("application/json".into()),
        b"",
        reason,
    ))
}

/// A string field of the response; `None` when absent or null.
fn text<'r>(response: &'r Map<String, Value>, field: &str) -> Result<Option<&'r str>> {
    match response.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(invalid(format!(
            "the token response's `{field}` is {}, not a string",
            kind(other)
        ))),
    }
}

/// A lifetime from the response, at most [`MAX_LIFETIME_SECS`].
fn lifetime(response: &Map<String, Value>, field: &str) -> Result<Option<u64>> {
    Ok(seconds(response, field)?.map(|s| s.min(MAX_LIFETIME_SECS)))
}

/// Whole seconds from the response (a number or a numeric string).
fn seconds(response: &Map<String, Value>, field: &str) -> Result<Option<u64>> {
    opt_seconds(response, field)
        .map_err(|problem| invalid(format!("in the token response, {problem}")))
}

/// `{uid}.{utid}` from `client_info` (base64url JSON, padding optional); `None`
/// when it lacks either part (then MSAL falls back on the id token).
fn home_from_client_info(client_info: &str) -> Result<Option<String>> {
    let trimmed = client_info.trim().trim_end_matches('=');
    let bytes = URL_SAFE_NO_PAD
        .decode(trimmed)
        .or_else(|_| STANDARD_NO_PAD.decode(trimmed))
        .map_err(|_| invalid("the token response's `client_info` is not base64url"))?;
    let Ok(Value::Object(info)) = serde_json::from_slice::<Value>(&bytes) else {
        return Err(invalid(
            "the token response's `client_info` is not a JSON object",
        ));
    };
    let part = |name: &str| match info.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    Ok(part("uid")
        .zip(part("utid"))
        .map(|(uid, utid)| format!("{uid}.{utid}")))
}

/// A string claim.
fn claim<'c>(claims: &'c Map<String, Value>, name: &str) -> Option<&'c str> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// An entry's members, in the order MSAL writes them.
type Members<'a> = Vec<(&'static str, Scalar<'a>)>;

fn members<'a, const N: usize>(pairs: [(&'static str, Scalar<'a>); N]) -> Members<'a> {
    let mut members = Vec::with_capacity(N + 2);
    members.extend(pairs);
    members
}

fn str(value: &str) -> Scalar<'_> {
    Scalar::Str(Cow::Borrowed(value))
}

fn optional(value: Option<&str>) -> Scalar<'_> {
    value.map_or(Scalar::Null, str)
}

/// A secret as the entry keeps it: owned, so it is escaped when written (a
/// borrowed string counts as read from JSON without escapes).
fn secret(value: &str) -> Scalar<'static> {
    Scalar::Str(Cow::Owned(value.to_owned()))
}

/// A timestamp, written as MSAL writes them: the string of its digits.
fn seconds_text(value: u64) -> Scalar<'static> {
    Scalar::Str(Cow::Owned(value.to_string()))
}

/// Turns a token response into entries. Pure: the store is not touched, so a
/// bad response changes nothing.
pub(crate) fn entries(record: &TokenRecord<'_>) -> Result<Entries> {
    let response = record.response;
    let now = record.now;

    let access_token = match text(response, "access_token")? {
        Some(t) if !t.is_empty() => t,
        _ => return Err(invalid("the token response has no `access_token`")),
    };
    let token_type = text(response, "token_type")?.unwrap_or("Bearer");
    let expires_in = match lifetime(response, "expires_in")? {
        Some(s) => s,
        // Managed identity endpoints send an absolute `expires_on` instead.
        None => match seconds(response, "expires_on")? {
            Some(at) => at.saturating_sub(now).min(MAX_LIFETIME_SECS),
            None => DEFAULT_EXPIRES_IN_SECS,
        },
    };
    let ext_expires_in = lifetime(response, "ext_expires_in")?.unwrap_or(expires_in);
    let refresh_in = lifetime(response, "refresh_in")?;
    let refresh_token = text(response, "refresh_token")?.filter(|t| !t.is_empty());
    let id_token = text(response, "id_token")?.filter(|t| !t.is_empty());
    let client_info = text(response, "client_info")?.filter(|t| !t.is_empty());
    let family_id: Option<String> = match response.get("foci") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(other) => {
            return Err(invalid(format!(
                "the token response's `foci` is {}, not a string",
                kind(other)
            )))
        }
    };
    let target = scopes::target(text(response, "scope")?, record.requested_scopes);

    if let Some(t) = id_token.filter(|t| t.len() > MAX_ID_TOKEN_BYTES) {
        return Err(invalid(format!(
            "the token response's `id_token` is {} bytes, over the {MAX_ID_TOKEN_BYTES}-byte cap",
            t.len()
        )));
    }
    let id_token_claims = match id_token {
        Some(t) => Some(crate::jwt::decode_claims(t).map_err(|e| {
            invalid(format!(
                "the token response's `id_token` is unreadable: {e}"
            ))
        })?),
        None => None,
    };
    let from_client_info = match client_info {
        Some(ci) => home_from_client_info(ci)?,
        None => None,
    };
    // Without client_info (non-Entra providers), MSAL Python uses the id token's
    // `sub`; the cache stays shareable with it only if we do the same.
    let from_id_token = || {
        id_token_claims
            .as_ref()
            .and_then(|c| claim(c, "sub"))
            .map(str::to_owned)
    };
    let has_identity = client_info.is_some() || id_token_claims.is_some();
    let home_account_id: Option<String> = record
        .home_account_id
        .map(str::to_owned)
        .or(from_client_info)
        .or_else(from_id_token);
    let home = home_account_id.as_deref();
    let (environment, client_id, realm) = (record.environment, record.client_id, record.realm);
    // No client id (a system-assigned managed identity) is written as null,
    // as MSAL for Python writes it.
    let written_client_id = || optional(Some(client_id).filter(|c| !c.is_empty()));

    let mut at_object = members([
        ("credential_type", str("AccessToken")),
        ("secret", secret(access_token)),
        ("home_account_id", optional(home)),
        ("environment", str(environment)),
        ("client_id", written_client_id()),
        ("target", str(&target)),
        ("realm", str(realm)),
        ("token_type", str(token_type)),
        ("cached_at", seconds_text(now)),
        ("expires_on", seconds_text(now.saturating_add(expires_in))),
        (
            "extended_expires_on",
            seconds_text(now.saturating_add(ext_expires_in)),
        ),
    ]);
    at_object.extend(refresh_in.map(|r| ("refresh_on", seconds_text(now.saturating_add(r)))));
    at_object.extend(record.ext_cache_key.map(|ext| ("ext_cache_key", str(ext))));
    let at_key = keys::access_token(
        home,
        environment,
        client_id,
        realm,
        &target,
        record.ext_cache_key,
    );
    let at = build_from::<AccessTokenEntry>(at_object).map_err(invalid)?;

    let refresh_token = match refresh_token {
        Some(rt) => {
            let mut o = members([
                ("credential_type", str("RefreshToken")),
                ("secret", secret(rt)),
                ("home_account_id", optional(home)),
                ("environment", str(environment)),
                ("client_id", str(client_id)),
                ("target", str(&target)),
                ("last_modification_time", seconds_text(now)),
            ]);
            o.extend(family_id.as_deref().map(|f| ("family_id", str(f))));
            let key = keys::refresh_token(home, environment, client_id, &target);
            Some((key, build_from::<RefreshTokenEntry>(o).map_err(invalid)?))
        }
        None => None,
    };

    let id_token = match id_token {
        Some(idt) => {
            let o = members([
                ("credential_type", str("IdToken")),
                ("secret", secret(idt)),
                ("home_account_id", optional(home)),
                ("environment", str(environment)),
                ("realm", str(realm)),
                ("client_id", str(client_id)),
            ]);
            let key = keys::id_token(home, environment, client_id, realm);
            Some((key, build_from::<IdTokenEntry>(o).map_err(invalid)?))
        }
        None => None,
    };

    let account = match home {
        Some(home) if has_identity => {
            let claims = id_token_claims.as_ref();
            let local_account_id = claims.and_then(|c| claim(c, "oid").or_else(|| claim(c, "sub")));
            let username = claims
                .and_then(|c| claim(c, "preferred_username").or_else(|| claim(c, "upn")))
                .unwrap_or("");
            let mut o = members([
                ("home_account_id", str(home)),
                ("environment", str(environment)),
                ("realm", str(realm)),
                ("local_account_id", optional(local_account_id)),
                ("username", str(username)),
                ("authority_type", str(record.authority_type)),
            ]);
            let source = record.account_source;
            o.extend(source.map(|source| ("account_source", str(source))));
            let key = keys::account(home, environment, realm);
            Some((key, build_from::<AccountEntry>(o).map_err(invalid)?))
        }
        _ => None,
    };

    let app_metadata = {
        let mut o = members([
            ("client_id", written_client_id()),
            ("environment", str(environment)),
        ]);
        o.extend(family_id.as_deref().map(|f| ("family_id", str(f))));
        let key = keys::app_metadata(environment, client_id);
        (key, build_from::<AppMetadataEntry>(o).map_err(invalid)?)
    };

    Ok(Entries {
        access_token: (at_key, at),
        refresh_token,
        id_token,
        account,
        app_metadata,
        id_token_claims,
    })
}

/// What saving a response stored, for building the flow's result.
#[derive(Debug, Clone)]
pub(crate) struct SavedTokens {
    /// The access token as a later cache hit would return it.
    pub(crate) access_token: super::CachedAccessToken,
    /// The account the tokens belong to, when the response identified one
    /// (present even when the Account entry was not written).
    pub(crate) account: Option<Account>,
    /// The id token's claims, decoded (not validated).
    pub(crate) id_token_claims: Option<Map<String, Value>>,
}
