//! Minting access tokens and the token response body.

use aws_lc_rs::digest;
use axum::response::Response;
use http::StatusCode;
use serde_json::{json, Map, Value};

use super::claims::ClaimsRequest;
use super::client_auth::AuthenticatedClient;
use super::TokenRequest;
use crate::errors::{json_response, AadError};
use crate::jwt;
use crate::state::{CounterCells, Tenant};

/// A GUID that depends only on `parts`, so an app's service principal keeps the
/// same `oid` across emulator restarts.
fn stable_guid(parts: &[&str]) -> String {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for p in parts {
        ctx.update(p.to_ascii_lowercase().as_bytes());
        ctx.update(b"\0");
    }
    let hash = ctx.finish();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hash.as_ref()[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// Entra's `uti`: 16 random bytes, base64url (22 characters).
fn unique_token_id() -> String {
    jwt::b64url(uuid::Uuid::new_v4().as_bytes())
}

/// Puts into an access token what every grant derives from the request itself:
/// `iat`, `nbf`, `exp`, and what the `claims` parameter asks for (`xms_cc`,
/// `acrs`, a minimum `nbf`; see `claims.rs`), so that a token requested with a
/// resource's claims challenge satisfies that challenge.
///
/// `iat` and `nbf` are the request time, raised to a requested `nbf` (which may lie
/// at most 5 minutes ahead); `exp` stays request time + lifetime, matching the
/// response's `expires_in`.
pub(crate) fn put_request_claims(
    req: &TokenRequest<'_>,
    claims: &mut Map<String, Value>,
) -> Result<(), AadError> {
    let now = req.ctx.now;
    let requested = ClaimsRequest::parse(req.param("claims"), now)?;
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
    let oid = stable_guid(&["service-principal", &tenant.id, client_id]);
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
    put("uti", json!(unique_token_id()));
    put("ver", json!("2.0"));
    if let Some(name) = &client.app.display_name {
        put("app_displayname", json!(name));
    }
    put_request_claims(req, &mut claims)?;
    let access_token = shared
        .signing_key
        .sign(&Value::Object(claims))
        .map_err(|e| {
            tracing::error!(error = %e, "token signing failed");
            AadError::transient(StatusCode::INTERNAL_SERVER_ERROR)
        })?;

    let mut body = json!({
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": access_token,
    });
    if let (Some(refresh_in), Value::Object(map)) = (shared.refresh_in, &mut body) {
        map.insert("refresh_in".into(), json!(refresh_in.as_secs()));
    }
    CounterCells::bump(&shared.counters.tokens_issued);
    let mut response = json_response(StatusCode::OK, &body);
    req.ctx.decorate(&mut response);
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_guid_is_stable_and_case_blind() {
        let a = stable_guid(&["x", "ABC"]);
        assert_eq!(a, stable_guid(&["x", "abc"]));
        assert_ne!(a, stable_guid(&["x", "abd"]));
        assert_eq!(a.len(), 36);
        assert!(uuid::Uuid::parse_str(&a).is_ok());
    }
}
