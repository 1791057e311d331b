//! Minting tokens and the token response body: what every grant shares, and the
//! app-only token of client credentials. User tokens are in `user_token.rs`.

use axum::response::Response;
use http::StatusCode;
use serde_json::{json, Map, Value};

use super::claims::ClaimsRequest;
use super::client_auth::AuthenticatedClient;
use super::request::TokenRequest;
use crate::errors::{json_response, AadError};
use crate::ids;
use crate::state::{CounterCells, Tenant};

/// Puts into an access token what every grant derives from the request itself:
/// `iat`, `nbf`, `exp`, and what the `claims` request (`claims_request`: the token
/// request's `claims` parameter, or the authorize request's) asks for (`xms_cc`,
/// `acrs`, a minimum `nbf`; see `claims.rs`), so that a token requested with a
/// resource's claims challenge satisfies that challenge.
///
/// `iat` and `nbf` are the request time, raised to a requested `nbf` (which may lie
/// at most 5 minutes ahead); `exp` stays request time + lifetime, matching the
/// response's `expires_in`.
pub(crate) fn put_request_claims(
    req: &TokenRequest<'_>,
    claims_request: Option<&str>,
    claims: &mut Map<String, Value>,
) -> Result<(), AadError> {
    let now = req.ctx.now;
    let requested = ClaimsRequest::parse(claims_request, now)?;
    let issued = requested.not_before.map_or(now, |nbf| nbf.max(now));
    let lifetime = req.shared.access_token_lifetime.as_secs();
    claims.insert("iat".into(), json!(issued));
    claims.insert("nbf".into(), json!(issued));
    claims.insert("exp".into(), json!(now.saturating_add(lifetime)));
    if !requested.acrs.is_empty() {
        claims.insert("acrs".into(), json!(requested.acrs));
    }
    if let Some(values) = requested.capabilities {
        claims.insert("xms_cc".into(), Value::Array(values));
    }
    Ok(())
}

/// Signs a JWT with the emulator's key.
pub(crate) fn sign(req: &TokenRequest<'_>, claims: Map<String, Value>) -> Result<String, AadError> {
    req.shared
        .signing_key
        .sign(&Value::Object(claims))
        .map_err(|e| {
            tracing::error!(error = %e, "token signing failed");
            AadError::transient(StatusCode::INTERNAL_SERVER_ERROR)
        })
}

/// The 200 answer carrying `body` (which has the access token), with `refresh_in`
/// added when configured; counts the issued access token.
pub(crate) fn token_response(req: &TokenRequest<'_>, mut body: Map<String, Value>) -> Response {
    if let Some(refresh_in) = req.shared.refresh_in {
        body.insert("refresh_in".into(), json!(refresh_in.as_secs()));
    }
    CounterCells::bump(&req.shared.counters.tokens_issued);
    let mut response = json_response(StatusCode::OK, &Value::Object(body));
    req.ctx.decorate(&mut response);
    response
}

/// An app-only access token for `resource` and the 200 response carrying it.
pub(crate) fn app_token(
    req: &TokenRequest<'_>,
    tenant: &Tenant,
    client: &AuthenticatedClient,
    resource: &str,
) -> Result<Response, AadError> {
    let shared = req.shared;
    let lifetime = shared.access_token_lifetime.as_secs();
    let client_id = &client.app.client_id;
    let oid = ids::stable_guid(&["service-principal", &tenant.id, client_id]);
    let mut claims = Map::new();
    let mut put = |k: &str, v: Value| {
        claims.insert(k.to_owned(), v);
    };
    put("aud", json!(resource));
    put("iss", json!(shared.issuer(&tenant.id)));
    put("azp", json!(client_id));
    put("azpacr", json!(client.credential.acr()));
    put("appid", json!(client_id));
    put("appidacr", json!(client.credential.acr()));
    put("idtyp", json!("app"));
    put("oid", json!(oid));
    put("sub", json!(oid));
    put("roles", json!([]));
    put("tid", json!(tenant.id));
    put("uti", json!(ids::unique_token_id()));
    put("ver", json!("2.0"));
    if let Some(name) = &client.app.display_name {
        put("app_displayname", json!(name));
    }
    put_request_claims(req, req.param("claims"), &mut claims)?;
    let access_token = sign(req, claims)?;

    let mut body = Map::new();
    body.insert("token_type".into(), json!("Bearer"));
    body.insert("expires_in".into(), json!(lifetime));
    body.insert("ext_expires_in".into(), json!(lifetime));
    body.insert("access_token".into(), json!(access_token));
    Ok(token_response(req, body))
}
