//! Admin API of the user flows (mounted under `/_emulator/`):
//!
//! | method | path | body / answer |
//! |---|---|---|
//! | GET | `/users` | `[{"username", "display_name", "oid", "federated"}]` (no passwords) |
//! | POST | `/users` | a [`crate::User`] → 201 the user without password |
//! | POST | `/users/{username}/revoke-refresh-tokens` | `{"revoked": n}` |
//! | GET | `/refresh-tokens` | [`crate::RefreshTokenInfo`]s |
//! | GET / POST | `/auto-sign-in` | `{"enabled": true}` |
//! | GET / POST / DELETE | `/authorize/outcome` | `{"outcome": "access_denied"}` ([`crate::AuthorizeOutcome`]); DELETE = `normal` |
//! | GET | `/device-codes` | pending [`crate::PendingDeviceCode`]s |
//! | POST | `/device-codes/{user_code}/approve` | `{"username": …}` (optional: the default user) |
//! | POST | `/device-codes/{user_code}/deny` | — |
//! | POST | `/device-codes/slow-down` | `{"count": n}`: the next n polls get `slow_down` |
//! | POST | `/public-demo-app` | [`crate::PublicDemoApp`] |
//! | POST | `/family-apps` | `{"client_ids": [a, b]}`: two public apps of family `"1"` |

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};

use super::reply::{bad_request, ok, to_json};
use crate::error::EmulatorError;
use crate::errors::json_response;
use crate::routes::serve::AppState;
use crate::sessions::AuthorizeOutcome;
use crate::shared::Shared;
use crate::users::{User, DEFAULT_USERNAME};

pub(super) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/users", get(list_users).post(add_user))
        .route(
            "/users/{username}/revoke-refresh-tokens",
            post(revoke_refresh_tokens),
        )
        .route("/refresh-tokens", get(refresh_tokens))
        .route("/auto-sign-in", get(auto_sign_in).post(set_auto_sign_in))
        .route(
            "/authorize/outcome",
            get(outcome).post(set_outcome).delete(clear_outcome),
        )
        .route("/device-codes", get(device_codes))
        .route("/device-codes/slow-down", post(slow_down))
        .route("/device-codes/{user_code}/approve", post(approve))
        .route("/device-codes/{user_code}/deny", post(deny))
        .route("/public-demo-app", post(public_demo_app))
        .route("/family-apps", post(family_apps))
}

/// A user as the admin API shows it: without the password.
fn describe(user: &User) -> Value {
    json!({
        "username": user.username,
        "display_name": user.display_name,
        "oid": user.oid,
        "federated": user.federated,
    })
}

/// Parses a JSON body; an empty body or `null` is `{}`. The error is the 400
/// answer's text.
fn body<T: for<'de> Deserialize<'de>>(bytes: &Bytes) -> Result<T, String> {
    let value: Value = if bytes.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice(bytes).map_err(|e| format!("body is not JSON: {e}"))?
    };
    let value = match value {
        Value::Null => json!({}),
        other => other,
    };
    serde_json::from_value(value).map_err(|e| format!("invalid body: {e}"))
}

fn error_response(error: &EmulatorError) -> Response {
    let status = match error {
        EmulatorError::UnknownDeviceCode(_) => StatusCode::NOT_FOUND,
        _ => StatusCode::BAD_REQUEST,
    };
    json_response(
        status,
        &json!({"error": "invalid_request", "error_description": error.to_string()}),
    )
}

async fn list_users(State(shared): AppState) -> Response {
    ok(&Value::Array(
        shared.users.list().iter().map(describe).collect(),
    ))
}

async fn add_user(State(shared): AppState, bytes: Bytes) -> Response {
    let user: User = match body(&bytes) {
        Ok(user) => user,
        Err(e) => return bad_request(e),
    };
    match shared.users.add(user) {
        Ok(user) => json_response(StatusCode::CREATED, &describe(&user)),
        Err(e) => error_response(&e),
    }
}

async fn revoke_refresh_tokens(State(shared): AppState, Path(username): Path<String>) -> Response {
    let revoked = shared
        .sessions
        .refresh_tokens
        .revoke_user(&username, crate::clock::now_secs());
    ok(&json!({"revoked": revoked}))
}

async fn refresh_tokens(State(shared): AppState) -> Response {
    ok(&to_json(&shared.sessions.refresh_tokens.snapshot()))
}

async fn auto_sign_in(State(shared): AppState) -> Response {
    ok(&json!({"enabled": shared.sessions.auto_sign_in()}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AutoSignIn {
    enabled: bool,
}

async fn set_auto_sign_in(State(shared): AppState, bytes: Bytes) -> Response {
    match body::<AutoSignIn>(&bytes) {
        Ok(request) => {
            shared.sessions.set_auto_sign_in(request.enabled);
            ok(&json!({"enabled": request.enabled}))
        }
        Err(e) => bad_request(e),
    }
}

async fn outcome(State(shared): AppState) -> Response {
    ok(&json!({"outcome": shared.sessions.outcome()}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OutcomeRequest {
    outcome: AuthorizeOutcome,
}

async fn set_outcome(State(shared): AppState, bytes: Bytes) -> Response {
    match body::<OutcomeRequest>(&bytes) {
        Ok(request) => {
            shared.sessions.set_outcome(request.outcome);
            ok(&json!({"outcome": request.outcome}))
        }
        Err(e) => bad_request(e),
    }
}

async fn clear_outcome(State(shared): AppState) -> Response {
    shared.sessions.set_outcome(AuthorizeOutcome::Normal);
    ok(&json!({"outcome": AuthorizeOutcome::Normal}))
}

async fn device_codes(State(shared): AppState) -> Response {
    ok(&to_json(&shared.sessions.device_codes.pending()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Approval {
    username: Option<String>,
}

async fn approve(State(shared): AppState, Path(user_code): Path<String>, bytes: Bytes) -> Response {
    let approval: Approval = match body(&bytes) {
        Ok(a) => a,
        Err(e) => return bad_request(e),
    };
    let username = approval.username.as_deref().unwrap_or(DEFAULT_USERNAME);
    match shared.approve_device_code(&user_code, username) {
        Ok(()) => ok(&json!({"user_code": user_code, "approved_as": username})),
        Err(e) => error_response(&e),
    }
}

async fn deny(State(shared): AppState, Path(user_code): Path<String>) -> Response {
    match shared.deny_device_code(&user_code) {
        Ok(()) => ok(&json!({"user_code": user_code, "denied": true})),
        Err(e) => error_response(&e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SlowDown {
    count: u32,
}

async fn slow_down(State(shared): AppState, bytes: Bytes) -> Response {
    match body::<SlowDown>(&bytes) {
        Ok(request) => {
            shared.sessions.device_codes.slow_down_next(request.count);
            ok(&json!({"count": request.count}))
        }
        Err(e) => bad_request(e),
    }
}

async fn public_demo_app(State(shared): AppState) -> Response {
    ok(&to_json(&shared.directory.public_demo_app()))
}

async fn family_apps(State(shared): AppState) -> Response {
    let (a, b) = shared.directory.family_apps();
    ok(&json!({"client_ids": [a, b], "family_id": "1"}))
}
