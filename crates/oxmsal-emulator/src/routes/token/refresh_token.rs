//! `grant_type=refresh_token` (RFC 6749 §6): redeems a refresh token for the
//! same user, for any resource (the scopes may differ from the original ones),
//! and issues a new refresh token every time. The old one stays valid, as
//! Entra's do; the rotation is recorded (see [`crate::RefreshTokenInfo`]).
//!
//! A refresh token is bound to its client, or to the client's family (FOCI)
//! when the client had a `family_id`: any app of the family may redeem it.

use axum::response::Response;

use super::client_auth::authenticate_user_flow;
use super::request::TokenRequest;
use super::user_token::{self, UserGrant};
use crate::clock::entra_timestamp;
use crate::errors::AadError;
use crate::scopes::Scopes;

/// Validates and answers a refresh token request.
pub(crate) fn handle(req: &TokenRequest<'_>) -> Result<Response, AadError> {
    let token = req.require("refresh_token")?;
    let client = authenticate_user_flow(req)?;
    let scopes = Scopes::parse(req.require("scope")?)?;
    let sessions = &req.shared.sessions;
    let record = sessions
        .refresh_tokens
        .get(token)
        .ok_or_else(AadError::refresh_token_invalid)?;
    if let Some(revoked_at) = record.revoked_at {
        return Err(AadError::refresh_token_revoked(
            &entra_timestamp(record.issued_at),
            &entra_timestamp(revoked_at),
        ));
    }
    let app = &client.app;
    let same_client = record.client_id.eq_ignore_ascii_case(&app.client_id);
    let same_family = record.family_id.is_some() && record.family_id == app.family_id;
    if !same_client && !same_family {
        return Err(AadError::refresh_token_client_mismatch());
    }
    let user = req
        .shared
        .users
        .get(&record.username)
        .ok_or_else(|| AadError::user_not_found(&req.shared.user_tenant().id))?;
    let response = user_token::respond(
        req,
        &UserGrant {
            // Entra rotates refresh tokens: a redeemed one always gets a successor.
            refresh_token: true,
            ..UserGrant::new(req, &user, &client, &scopes)
        },
    )?;
    sessions.refresh_tokens.record_rotation(token);
    Ok(response)
}
