//! `POST /{tenant}/oauth2/v2.0/token`: parsing, recording, and dispatch by grant.
//!
//! Each grant lives in its own file and gets a [`TokenRequest`]; adding one means
//! a new file and a line in [`dispatch`]. User flows issue their tokens through
//! `user_token.rs`, app-only ones through `issue.rs`.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use http::HeaderMap;
use serde_json::Value;

use super::serve::{parse_form, serve_with_faults_echoing, AppState};
use crate::errors::{AadError, RequestCtx};
use crate::faults::{DropConnectionMarker, RequestKind};
use crate::shared::Shared;
use crate::state::{CounterCells, RecordedRequest};

mod authorization_code;
mod claims;
mod client_auth;
mod client_credentials;
mod device_code;
mod issue;
mod on_behalf_of;
mod password;
mod refresh_token;
mod request;
mod user_token;

pub(crate) use request::TokenRequest;

/// RFC 8628's grant type.
pub(crate) const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// RFC 7523's grant type; with `requested_token_use=on_behalf_of`, Entra's OBO.
pub(crate) const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Form parameters whose values never reach the recorder: credentials, and
/// anything that can be exchanged for a token.
const SECRET_PARAMS: [&str; 8] = [
    "client_secret",
    "client_assertion",
    "password",
    "refresh_token",
    "code",
    "code_verifier",
    "assertion",
    "device_code",
];
/// Headers whose values never reach the recorder.
const SECRET_HEADERS: [&str; 3] = ["authorization", "cookie", "proxy-authorization"];
const REDACTED: &str = "<redacted>";

/// The per-grant counter of a `grant_type`.
fn grant_counter<'c>(counters: &'c CounterCells, grant: &str) -> Option<&'c AtomicU64> {
    Some(match grant {
        "client_credentials" => &counters.client_credentials_grants,
        "authorization_code" => &counters.authorization_code_grants,
        "refresh_token" => &counters.refresh_token_grants,
        "password" => &counters.password_grants,
        DEVICE_CODE_GRANT => &counters.device_code_polls,
        JWT_BEARER_GRANT => &counters.obo_grants,
        _ => return None,
    })
}

/// A request as received, for the recorder.
pub(crate) struct Received<'a> {
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub tenant: &'a str,
    pub form: &'a BTreeMap<String, String>,
    pub headers: &'a HeaderMap,
}

/// Remembers a request (token endpoint or device authorization), secrets redacted.
pub(crate) fn record(
    shared: &Shared,
    ctx: &RequestCtx,
    received: &Received<'_>,
    response: &Response,
    fault: Option<&str>,
) {
    let Received {
        path,
        query,
        tenant,
        form,
        headers,
    } = *received;
    let params = form
        .iter()
        .map(|(k, v)| {
            let value = if SECRET_PARAMS.contains(&k.as_str()) {
                REDACTED.to_owned()
            } else {
                v.clone()
            };
            (k.clone(), value)
        })
        .collect();
    let headers = headers
        .iter()
        .map(|(name, value)| {
            let value = if SECRET_HEADERS.contains(&name.as_str()) {
                REDACTED.to_owned()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name.as_str().to_owned(), value)
        })
        .collect();
    let claims = form
        .get("claims")
        .and_then(|c| serde_json::from_str::<Value>(c).ok());
    let dropped = response
        .extensions()
        .get::<DropConnectionMarker>()
        .is_some();
    shared.recorder.push(RecordedRequest {
        time: crate::clock::now_millis_precision(),
        path: path.to_owned(),
        tenant: tenant.to_owned(),
        params,
        query: url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect(),
        headers,
        claims,
        correlation_id: ctx.correlation_id.clone(),
        status: (!dropped).then(|| response.status().as_u16()),
        fault: fault.map(str::to_owned),
    });
}

/// The handler.
pub(crate) async fn token(
    State(shared): AppState,
    Path(tenant): Path<String>,
    uri: http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.count(Some(RequestKind::Token));
    let ctx = RequestCtx::new(&headers, &uri, &shared.base_url);
    let form = parse_form(&body);
    if let Some(cell) = form
        .get("grant_type")
        .and_then(|g| grant_counter(&shared.counters, g.trim()))
    {
        CounterCells::bump(cell);
    }
    let (response, fault) =
        serve_with_faults_echoing(&shared, RequestKind::Token, &ctx, &body, || async {
            match dispatch(&shared, &ctx, &tenant, &form, &headers) {
                Ok(response) => response,
                Err(error) => {
                    tracing::debug!(
                        code = error.code,
                        error = error.error,
                        "token request refused"
                    );
                    error.into_response(&ctx)
                }
            }
        })
        .await;
    let received = Received {
        path: uri.path(),
        query: uri.query(),
        tenant: &tenant,
        form: &form,
        headers: &headers,
    };
    record(&shared, &ctx, &received, &response, fault);
    response
}

fn dispatch(
    shared: &Arc<Shared>,
    ctx: &RequestCtx,
    tenant_segment: &str,
    form: &BTreeMap<String, String>,
    headers: &HeaderMap,
) -> Result<Response, AadError> {
    let tenant = shared
        .directory
        .resolve(tenant_segment)
        .ok_or_else(|| AadError::tenant_not_found(tenant_segment, "invalid_request"))?;
    let request = TokenRequest {
        shared,
        ctx,
        tenant_segment,
        tenant,
        form,
        headers,
    };
    let grant = request
        .param("grant_type")
        .ok_or_else(|| AadError::missing_parameter("grant_type"))?;
    match grant {
        "client_credentials" => client_credentials::handle(&request),
        "authorization_code" => authorization_code::handle(&request),
        "refresh_token" => refresh_token::handle(&request),
        "password" => password::handle(&request),
        DEVICE_CODE_GRANT => device_code::handle(&request),
        JWT_BEARER_GRANT => on_behalf_of::handle(&request),
        other => Err(AadError::unsupported_grant(other)),
    }
}
