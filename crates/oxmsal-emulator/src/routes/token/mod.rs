//! `POST /{tenant}/oauth2/v2.0/token`: parsing, recording, and dispatch by grant.
//!
//! Each grant lives in its own file and gets a [`TokenRequest`]; adding one
//! (refresh_token, device_code, authorization_code, password, jwt-bearer OBO) means a
//! new file and a line in [`dispatch`].

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use http::HeaderMap;
use serde_json::Value;

use super::{serve_with_faults, AppState};
use crate::errors::{AadError, RequestCtx};
use crate::faults::{DropConnectionMarker, RequestKind};
use crate::shared::Shared;
use crate::state::{RecordedRequest, TenantRef};

mod claims;
mod client_auth;
mod client_credentials;
mod issue;

/// Form parameters whose values never reach the recorder.
const SECRET_PARAMS: [&str; 3] = ["client_secret", "client_assertion", "password"];
/// Headers whose values never reach the recorder.
const SECRET_HEADERS: [&str; 3] = ["authorization", "cookie", "proxy-authorization"];
const REDACTED: &str = "<redacted>";

/// One parsed token request, what every grant handler works from.
pub(crate) struct TokenRequest<'a> {
    pub shared: &'a Shared,
    pub ctx: &'a RequestCtx,
    /// The tenant segment as sent.
    pub tenant_segment: &'a str,
    pub tenant: TenantRef<'a>,
    pub form: &'a BTreeMap<String, String>,
    pub headers: &'a HeaderMap,
}

impl TokenRequest<'_> {
    /// A non-empty form parameter.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.form
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }
}

fn parse_form(body: &[u8]) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// The request as received, for the recorder.
struct Received<'a> {
    path: &'a str,
    tenant: &'a str,
    form: &'a BTreeMap<String, String>,
    headers: &'a HeaderMap,
}

fn record(
    shared: &Shared,
    ctx: &RequestCtx,
    received: &Received<'_>,
    response: &Response,
    fault: Option<&str>,
) {
    let Received {
        path,
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
    let ctx = RequestCtx::new(&headers, &shared.base_url);
    let form = parse_form(&body);
    let (response, fault) = serve_with_faults(&shared, RequestKind::Token, &ctx, || async {
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
        other => Err(AadError::unsupported_grant(other)),
    }
}
