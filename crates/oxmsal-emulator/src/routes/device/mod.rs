//! The device code flow's front half (RFC 8628 §3.1–3.3): `POST
//! /{tenant}/oauth2/v2.0/devicecode` starts an authorization, and the
//! verification page at `/devicelogin` (see `page.rs`) lets the user decide.
//! Polling is a token grant (`routes/token/device_code.rs`).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode, Uri};
use serde_json::json;

use super::serve::{parse_form, serve_with_faults, AppState};
use super::token;
use crate::errors::{json_response, AadError, RequestCtx};
use crate::faults::RequestKind;
use crate::scopes::Scopes;
use crate::shared::Shared;

mod page;

pub(crate) use page::{verification_page, verification_submit, VERIFICATION_PATH};

/// `POST /{tenant}/oauth2/v2.0/devicecode`.
pub(crate) async fn devicecode(
    State(shared): AppState,
    Path(tenant): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.count(Some(RequestKind::DeviceCode));
    let ctx = RequestCtx::new(&headers, &uri, &shared.base_url);
    let form = parse_form(&body);
    let (response, fault) = serve_with_faults(&shared, RequestKind::DeviceCode, &ctx, || async {
        initiate(&shared, &ctx, &tenant, &form).unwrap_or_else(|error| error.into_response(&ctx))
    })
    .await;
    let received = token::Received {
        path: uri.path(),
        query: uri.query(),
        tenant: &tenant,
        form: &form,
        headers: &headers,
    };
    token::record(&shared, &ctx, &received, &response, fault);
    response
}

fn initiate(
    shared: &Shared,
    ctx: &RequestCtx,
    tenant: &str,
    form: &BTreeMap<String, String>,
) -> Result<Response, AadError> {
    let param = |name: &str| {
        form.get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    };
    shared
        .directory
        .resolve(tenant)
        .ok_or_else(|| AadError::tenant_not_found(tenant, "invalid_request"))?;
    let client_id = param("client_id").ok_or_else(|| AadError::missing_parameter("client_id"))?;
    let app = shared
        .directory
        .app(client_id)
        .ok_or_else(|| AadError::app_not_found(client_id, tenant))?;
    let scope = param("scope").ok_or_else(|| AadError::missing_parameter("scope"))?;
    Scopes::parse(scope)?;
    let code = shared.sessions.device_codes.create(
        &app.client_id,
        scope,
        shared.device_code_expires_in,
        shared.device_code_interval,
        shared.device_code_enforce_interval,
    );
    let verification_uri = format!("{}{VERIFICATION_PATH}", shared.base_url);
    let body = json!({
        "user_code": code.user_code,
        "device_code": code.device_code,
        "verification_uri": verification_uri,
        "expires_in": code.expires_in.as_secs(),
        "interval": code.interval.as_secs(),
        "message": format!(
            "To sign in, use a web browser to open the page {verification_uri} and enter the code \
             {} to authenticate.",
            code.user_code
        ),
    });
    let mut response = json_response(StatusCode::OK, &body);
    ctx.decorate(&mut response);
    Ok(response)
}
