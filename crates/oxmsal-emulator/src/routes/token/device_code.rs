//! `grant_type=urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 §3.4):
//! polling for a device authorization started at `…/devicecode`.
//!
//! Answers, in order of the checks: unknown code `bad_verification_code`
//! (70018), another client's code `invalid_grant` (70000), `expired_token`
//! (70020), `slow_down` (polled faster than `interval`, or injected),
//! `authorization_pending` (70016), `authorization_declined` (70000), or tokens
//! (the code is then consumed).

use axum::response::Response;

use super::client_auth::authenticate_user_flow;
use super::request::TokenRequest;
use super::user_token::{self, UserGrant};
use crate::errors::AadError;
use crate::scopes::Scopes;
use crate::sessions::{DeviceCodeStatus, Poll};

/// Validates and answers a device code poll.
pub(crate) fn handle(req: &TokenRequest<'_>) -> Result<Response, AadError> {
    // RFC 8628 names it `device_code`; Entra's v1 endpoint took `code`.
    let device_code = req
        .param("device_code")
        .or_else(|| req.param("code"))
        .ok_or_else(|| AadError::missing_parameter("device_code"))?;
    let client = authenticate_user_flow(req)?;
    let shared = req.shared;
    let code = match shared
        .sessions
        .device_codes
        .poll(device_code, &client.app.client_id)
    {
        Poll::Approved(code) => code,
        Poll::Unknown => return Err(AadError::bad_verification_code()),
        Poll::ClientMismatch => return Err(AadError::device_code_client_mismatch()),
        Poll::Expired => return Err(AadError::device_code_expired()),
        Poll::SlowDown => return Err(AadError::slow_down(shared.device_code_interval.as_secs())),
        Poll::Pending => return Err(AadError::authorization_pending()),
        Poll::Declined => return Err(AadError::authorization_declined()),
    };
    let DeviceCodeStatus::Approved { username } = &code.status else {
        // `poll` only returns approved codes as `Approved`.
        return Err(AadError::authorization_pending());
    };
    let user = shared
        .users
        .get(username)
        .ok_or_else(|| AadError::user_not_found(&shared.user_tenant().id))?;
    let scopes = Scopes::parse(&code.scope)?;
    user_token::respond(req, &UserGrant::new(req, &user, &client, &scopes))
}
