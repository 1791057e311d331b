//! The HTTP surface: Entra-like endpoints, the admin API, and the fault hook they share.
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/{tenant}/v2.0/.well-known/openid-configuration` | OIDC discovery (also without `v2.0`) |
//! | GET | `/{tenant}/discovery/instance` | instance discovery (`/common/…` is the usual form) |
//! | GET | `/{tenant}/discovery/v2.0/keys` | JWKS (also `/discovery/keys`) |
//! | POST | `/{tenant}/oauth2/v2.0/token` | token endpoint (one file per grant in `token/`) |
//! | GET | `/{tenant}/oauth2/v2.0/authorize` | authorize endpoint and sign-in page, see `authorize/` |
//! | POST | `/{tenant}/oauth2/v2.0/authorize/login` | the sign-in page's form |
//! | POST | `/{tenant}/oauth2/v2.0/devicecode` | device authorization, see `device/` |
//! | GET, POST | `/devicelogin` | the device code verification page |
//! | GET | `/{tenant}/userrealm/{username}` | home realm discovery |
//! | any | `/resource/{*path}` | protected resource with claims challenges, see `resource.rs` |
//! | * | `/_emulator/…` | admin API, see `admin.rs` |

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{any, get, post};
use axum::Router;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{HeaderMap, StatusCode};
use serde_json::json;

use crate::errors::{json_response, RequestCtx};
use crate::query::query_param;
use crate::shared::Shared;
use serve::AppState;

pub(crate) mod admin;
pub(crate) mod authorize;
mod device;
mod discovery;
mod html;
mod resource;
pub(crate) mod serve;
mod token;
mod userrealm;

/// The device code verification page's path, for [`crate::Emulator::verification_uri`].
pub(crate) fn device_verification_path() -> &'static str {
    device::VERIFICATION_PATH
}

/// The whole application.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route(
            "/{tenant}/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route(
            "/{tenant}/discovery/instance",
            get(discovery::instance_discovery),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(discovery::jwks))
        .route("/{tenant}/discovery/keys", get(discovery::jwks))
        .route("/{tenant}/oauth2/v2.0/token", post(token::token))
        .route("/{tenant}/oauth2/v2.0/authorize", get(authorize::authorize))
        .route(
            "/{tenant}/oauth2/v2.0/authorize/login",
            post(authorize::login),
        )
        .route("/{tenant}/oauth2/v2.0/devicecode", post(device::devicecode))
        .route(
            device::VERIFICATION_PATH,
            get(device::verification_page).post(device::verification_submit),
        )
        .route("/{tenant}/userrealm/{username}", get(userrealm::user_realm))
        // Also the bare prefix: a catch-all does not match an empty remainder.
        .route("/resource", any(resource::resource))
        .route("/resource/", any(resource::resource))
        .route("/resource/{*path}", any(resource::resource))
        .route("/error", get(error_page))
        .nest("/_emulator", admin::router())
        .fallback(not_found)
        .with_state(shared)
}

/// `error_uri` target: a tiny page naming the code, so the link is not dead.
async fn error_page(State(shared): AppState, uri: http::Uri) -> Response {
    shared.count(None);
    let code = query_param(&uri, "code")
        .filter(|c| c.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_default();
    let mut response = Response::new(Body::from(format!(
        "<html><body><h1>AADSTS{code}</h1><p>Error returned by the oxmsal emulator.</p></body></html>"
    )));
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

async fn not_found(State(shared): AppState, headers: HeaderMap, uri: http::Uri) -> Response {
    if !uri.path().starts_with("/_emulator") {
        shared.count(None);
    }
    let ctx = RequestCtx::new(&headers, &uri, &shared.base_url);
    let mut response = json_response(
        StatusCode::NOT_FOUND,
        &json!({"error": "not_found", "error_description": format!("No endpoint at {}", uri.path())}),
    );
    ctx.decorate(&mut response);
    response
}
