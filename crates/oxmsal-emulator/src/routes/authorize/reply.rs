//! Sending the authorize endpoint's answer to the app's redirect URI, per
//! `response_mode`: a 302 with query or fragment parameters, or (form_post) an
//! auto-submitting HTML form as Entra sends it.

use axum::body::Body;
use axum::response::Response;
use http::header::{HeaderValue, CACHE_CONTROL, LOCATION};
use http::StatusCode;

use crate::errors::{AadError, RequestCtx};
use crate::routes::html;
use crate::sessions::{ReplyTarget, ResponseMode};

/// Sends `params` (plus `state`) back to the app.
pub(crate) fn send(
    ctx: &RequestCtx,
    target: &ReplyTarget,
    mut params: Vec<(&str, String)>,
) -> Response {
    if let Some(state) = &target.state {
        params.push(("state", state.clone()));
    }
    let mut url = target.url.clone();
    match target.mode {
        ResponseMode::Query => {
            url.query_pairs_mut()
                .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())));
            redirect(ctx, url.as_str())
        }
        ResponseMode::Fragment => {
            let fragment = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())))
                .finish();
            url.set_fragment(Some(&fragment));
            redirect(ctx, url.as_str())
        }
        ResponseMode::FormPost => form_post(ctx, url.as_str(), &params),
    }
}

/// Sends an OAuth error back to the app: `error`, `error_description` (with
/// Entra's trace suffix), `error_uri`, `error_subcode=cancel` for a cancelled
/// sign-in, and `state`.
pub(crate) fn send_error(ctx: &RequestCtx, target: &ReplyTarget, error: &AadError) -> Response {
    let mut params = vec![
        ("error", error.error.to_owned()),
        ("error_description", ctx.describe(&error.headline())),
        (
            "error_uri",
            format!("{}/error?code={}", ctx.base_url, error.code),
        ),
    ];
    if error.error == "access_denied" {
        params.push(("error_subcode", "cancel".to_owned()));
    }
    send(ctx, target, params)
}

fn redirect(ctx: &RequestCtx, location: &str) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::FOUND;
    // A serialized URL is ASCII; the fallback only keeps this total.
    let value = HeaderValue::from_str(location).unwrap_or_else(|_| HeaderValue::from_static("/"));
    response.headers_mut().insert(LOCATION, value);
    response.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
    ctx.decorate(&mut response);
    response
}

/// Entra's form_post page: hidden inputs named after the parameters.
fn form_post(ctx: &RequestCtx, action: &str, params: &[(&str, String)]) -> Response {
    let inputs: String = params
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\" />",
                html::escape(k),
                html::escape(v)
            )
        })
        .collect();
    let body = format!(
        "<form method=\"POST\" name=\"hiddenform\" action=\"{}\">{inputs}\
         <noscript><p>Script is disabled. Click Submit to continue.</p>\
         <input type=\"submit\" value=\"Submit\" /></noscript></form>\
         <script>document.forms[0].submit();</script>",
        html::escape(action)
    );
    html::page(ctx, StatusCode::OK, "Working...", &body)
}
