//! `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` with
//! `requested_token_use=on_behalf_of`: a confidential app (a middle-tier API)
//! exchanges a user's access token addressed to it for a token to another
//! resource, for the same user.
//!
//! The `assertion` must be a user access token this emulator issued (signature,
//! issuer, lifetime), whose `aud` is the app's client id or `api://{client_id}`.
//! Refusals are `invalid_grant` AADSTS50013, or AADSTS500133 when it expired.
//! As for the other grants, `openid` adds an id token (for the middle tier: `aud`
//! is its client id), which MSALs build the cached account from, and
//! `offline_access` a refresh token.

use axum::response::Response;
use serde_json::Value;

use super::client_auth::authenticate;
use super::request::TokenRequest;
use super::user_token::{self, UserGrant};
use crate::apps::App;
use crate::errors::AadError;
use crate::jwt;
use crate::scopes::Scopes;
use crate::users::User;

/// Clock skew tolerated on the assertion's `nbf`.
const SKEW_SECS: u64 = 300;

/// Validates and answers an on-behalf-of request.
pub(crate) fn handle(req: &TokenRequest<'_>) -> Result<Response, AadError> {
    match req.require("requested_token_use")? {
        "on_behalf_of" => {}
        // Other jwt-bearer uses (e.g. SAML bearer assertions) are not emulated.
        other => {
            return Err(AadError::unsupported_grant(&format!(
                "urn:ietf:params:oauth:grant-type:jwt-bearer with requested_token_use={other}"
            )))
        }
    }
    let assertion = req.require("assertion")?;
    // Only confidential clients may act on behalf of a user.
    let client = authenticate(req, req.shared.user_tenant())?;
    let scopes = Scopes::parse(req.require("scope")?)?;
    let user = assertion_user(req, &client.app, assertion)?;
    user_token::respond(req, &UserGrant::new(req, &user, &client, &scopes))
}

/// The user of a valid assertion for `app`.
fn assertion_user(req: &TokenRequest<'_>, app: &App, assertion: &str) -> Result<User, AadError> {
    let shared = req.shared;
    let invalid = |reason: &str| AadError::invalid_user_assertion(reason);
    let jws = jwt::parse(assertion).map_err(|e| invalid(&e))?;
    shared.signing_key.verify(&jws).map_err(|e| invalid(&e))?;
    let claims = &jws.payload;
    let text = |name: &str| claims.get(name).and_then(Value::as_str).unwrap_or_default();

    let issuer = text("iss");
    if !shared.issuers().iter().any(|known| known == issuer) {
        return Err(invalid(&format!(
            "the issuer '{issuer}' is not this emulator's"
        )));
    }
    let now = req.ctx.now;
    let exp = claims
        .get("exp")
        .and_then(Value::as_u64)
        .ok_or_else(|| invalid("the assertion has no numeric 'exp' claim"))?;
    if exp <= now {
        return Err(AadError::user_assertion_expired(&format!(
            "Current time: {now}, expiry time of assertion {exp}."
        )));
    }
    if claims
        .get("nbf")
        .and_then(Value::as_u64)
        .is_some_and(|nbf| nbf > now.saturating_add(SKEW_SECS))
    {
        return Err(invalid("the assertion is not valid yet"));
    }
    let audience = text("aud").trim_end_matches('/');
    let id = &app.client_id;
    if !audience.eq_ignore_ascii_case(id) && !audience.eq_ignore_ascii_case(&format!("api://{id}"))
    {
        return Err(invalid(&format!(
            "the audience '{audience}' is not the client '{id}' (or 'api://{id}') presenting \
             the assertion"
        )));
    }
    if text("idtyp") == "app" || text("scp").is_empty() {
        return Err(invalid("the assertion is an app-only token, not a user's"));
    }
    shared
        .users
        .by_oid(text("oid"))
        .ok_or_else(|| invalid("the assertion's user does not exist"))
}
