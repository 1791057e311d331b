//! `grant_type=password` (RFC 6749 §4.3, "ROPC"): username and password, for
//! public clients (no credential) or confidential ones.
//!
//! Unknown user: AADSTS50034; wrong password: AADSTS50126; federated user:
//! AADSTS50126 saying the account is federated (Entra cannot check such a
//! password itself).

use axum::response::Response;

use super::client_auth::authenticate_user_flow;
use super::request::TokenRequest;
use super::user_token::{self, UserGrant};
use crate::errors::AadError;
use crate::scopes::Scopes;

/// Validates and answers a password grant.
pub(crate) fn handle(req: &TokenRequest<'_>) -> Result<Response, AadError> {
    let username = req.require("username")?;
    let password = req.require("password")?;
    let client = authenticate_user_flow(req)?;
    let scopes = Scopes::parse(req.require("scope")?)?;
    let shared = req.shared;
    let user = shared
        .users
        .get(username)
        .ok_or_else(|| AadError::user_not_found(&shared.user_tenant().id))?;
    if user.federated {
        return Err(AadError::federated_password(&user.username));
    }
    if !user.password_matches(password) {
        return Err(AadError::invalid_password());
    }
    user_token::respond(req, &UserGrant::new(req, &user, &client, &scopes))
}
