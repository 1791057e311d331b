//! `grant_type=authorization_code` (RFC 6749 §4.1.3, PKCE RFC 7636): redeems a
//! code from the authorize endpoint. The code is single-use (any attempt by its
//! client consumes it), expires (10 minutes by default), and is bound to the
//! client, the redirect URI and the PKCE challenge.

use axum::response::Response;

use super::client_auth::authenticate_user_flow;
use super::request::TokenRequest;
use super::user_token::{self, UserGrant};
use crate::errors::AadError;
use crate::scopes::Scopes;
use crate::sessions::Redemption;

/// Validates and answers an authorization code request.
pub(crate) fn handle(req: &TokenRequest<'_>) -> Result<Response, AadError> {
    let code = req.require("code")?;
    let redirect_uri = req.require("redirect_uri")?;
    // The client proves itself before the code is touched, so a failed client
    // authentication does not burn the code.
    let client = authenticate_user_flow(req)?;
    let stored = match req.shared.sessions.codes.redeem(code) {
        Redemption::Valid(stored) => stored,
        Redemption::Expired => return Err(AadError::code_expired()),
        Redemption::AlreadyRedeemed => return Err(AadError::code_redeemed()),
        Redemption::Unknown => return Err(AadError::code_unknown()),
    };
    if !stored.client_id.eq_ignore_ascii_case(&client.app.client_id) {
        return Err(AadError::code_mismatch("it was issued to another client"));
    }
    if stored.redirect_uri != redirect_uri {
        return Err(AadError::code_mismatch(
            "the redirect_uri is not the one of the authorization request",
        ));
    }
    if let Some(pkce) = &stored.pkce {
        if !req.param("code_verifier").is_some_and(|v| pkce.verify(v)) {
            return Err(AadError::pkce_mismatch());
        }
    }
    let user = req
        .shared
        .users
        .get(&stored.username)
        .ok_or_else(|| AadError::user_not_found(&req.shared.user_tenant().id))?;
    // MSAL repeats the scopes; the authorize request's apply when it does not.
    let scopes = Scopes::parse(req.param("scope").unwrap_or(&stored.scope))?;
    user_token::respond(
        req,
        &UserGrant {
            nonce: stored.nonce.as_deref(),
            claims: req.param("claims").or(stored.claims.as_deref()),
            ..UserGrant::new(req, &user, &client, &scopes)
        },
    )
}
