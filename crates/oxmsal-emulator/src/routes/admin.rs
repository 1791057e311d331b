//! The admin API under `/_emulator/`, so the CLI and non-Rust tests can drive the
//! emulator. Plain JSON in and out; admin requests are never counted or faulted.
//!
//! | method | path | body / answer |
//! |---|---|---|
//! | GET | `/_emulator/info` | base URL, authority, tenant, CA path and PEM |
//! | GET | `/_emulator/faults` | the queued faults |
//! | POST | `/_emulator/faults` | an [`InjectedFault`] object (plus optional `"count"`) or an array of them |
//! | DELETE | `/_emulator/faults` | clears the queue |
//! | GET | `/_emulator/counters` | [`crate::Counters`] |
//! | POST | `/_emulator/counters/reset` | zeroes the counters |
//! | GET | `/_emulator/apps` | registered client ids |
//! | POST | `/_emulator/apps` | an [`crate::AppRegistration`] (certificates as PEM or base64 DER) |
//! | POST | `/_emulator/demo-app` | registers (once) and returns the demo app |
//! | GET | `/_emulator/token-requests` | [`crate::RecordedRequest`]s, oldest first |
//! | DELETE | `/_emulator/token-requests` | forgets them |
//! | GET | `/_emulator/jwks` | the signing keys (default tenant) |
//! | GET | `/_emulator/resource/scenario` | `{"scenario": "none"}` (plus `"revoked_at"` for `cae_revocation`) |
//! | POST | `/_emulator/resource/scenario` | `{"scenario": "mfa_step_up"}` activates one; answers as GET |
//! | DELETE | `/_emulator/resource/scenario` | back to `none`; answers as GET |
//! | GET | `/_emulator/resource/revocations` | `{"<subject>": <revoked_at>, …}` |
//! | POST | `/_emulator/resource/revocations` | `{"subject": "<oid, username or client id>"}` revokes its tokens issued so far (CAE); answers `{"subject": …, "revoked_at": …}` |
//! | DELETE | `/_emulator/resource/revocations` | forgets them |
//!
//! Users, device codes, refresh tokens and the authorize endpoint's switches: see
//! `admin/user_flows.rs`.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use http::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;

use super::serve::AppState;
use crate::apps::AppRegistration;
use crate::errors::json_response;
use crate::faults::InjectedFault;
use crate::scenario::ResourceScenario;
use crate::shared::Shared;

mod reply;
mod user_flows;

use reply::{bad_request, ok, to_json};

/// Upper bound on `"count"`, so a typo cannot allocate without limit.
const MAX_COUNT: usize = 100_000;

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/info", get(info))
        .route(
            "/faults",
            get(list_faults).post(add_faults).delete(clear_faults),
        )
        .route("/counters", get(counters))
        .route("/counters/reset", post(reset_counters))
        .route("/apps", get(list_apps).post(register_app))
        .route("/demo-app", post(demo_app))
        .route(
            "/token-requests",
            get(token_requests).delete(clear_token_requests),
        )
        .route("/jwks", get(jwks))
        .route(
            "/resource/scenario",
            get(resource_scenario)
                .post(set_resource_scenario)
                .delete(clear_resource_scenario),
        )
        .route(
            "/resource/revocations",
            get(revocations).post(revoke).delete(clear_revocations),
        )
        .merge(user_flows::router())
}

/// Everything a client needs to point at this emulator.
pub(crate) fn info_document(shared: &Shared) -> Value {
    json!({
        "base_url": shared.base_url,
        "port": shared.port,
        "tenant_id": shared.tenant_id,
        "tenant_domains": shared.directory.default_tenant().map(|t| t.domains.clone()).unwrap_or_default(),
        "authority": format!("{}/{}", shared.base_url, shared.tenant_id),
        "token_endpoint": format!("{}/{}/oauth2/v2.0/token", shared.base_url, shared.tenant_id),
        "resource_url": format!("{}/resource/", shared.base_url),
        "ca_path": shared.ca_path,
        "ca_pem": shared.ca_pem,
    })
}

async fn info(State(shared): AppState) -> Response {
    ok(&info_document(&shared))
}

async fn list_faults(State(shared): AppState) -> Response {
    ok(&to_json(&shared.faults.snapshot()))
}

/// Parses one fault object: the [`InjectedFault`] fields plus `"count"`.
fn parse_fault(value: Value) -> Result<(InjectedFault, usize), String> {
    let count = match value.get("count") {
        None | Some(Value::Null) => 1,
        Some(c) => c
            .as_u64()
            .and_then(|c| usize::try_from(c).ok())
            .filter(|c| *c <= MAX_COUNT)
            .ok_or_else(|| format!("count must be an integer from 0 to {MAX_COUNT}"))?,
    };
    let fault = serde_json::from_value::<InjectedFault>(value).map_err(|e| e.to_string())?;
    fault.validate()?;
    Ok((fault, count))
}

async fn add_faults(State(shared): AppState, body: Bytes) -> Response {
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad_request(format!("body is not JSON: {e}")),
    };
    let items = match value {
        Value::Array(items) => items,
        other => vec![other],
    };
    // Validate all before queueing any, so a bad entry leaves the queue unchanged.
    let mut parsed = Vec::with_capacity(items.len());
    for item in items {
        match parse_fault(item) {
            Ok(p) => parsed.push(p),
            Err(e) => return bad_request(format!("invalid fault: {e}")),
        }
    }
    let mut queued = 0usize;
    for (fault, count) in parsed {
        shared.faults.push(fault, count);
        queued += count;
    }
    ok(&json!({"queued": queued, "faults": to_json(&shared.faults.snapshot())}))
}

async fn clear_faults(State(shared): AppState) -> Response {
    shared.faults.clear();
    ok(&json!({"cleared": true}))
}

async fn counters(State(shared): AppState) -> Response {
    ok(&to_json(&shared.counters.snapshot()))
}

async fn reset_counters(State(shared): AppState) -> Response {
    shared.counters.reset();
    ok(&to_json(&shared.counters.snapshot()))
}

async fn list_apps(State(shared): AppState) -> Response {
    ok(&json!({"client_ids": shared.directory.app_ids()}))
}

async fn register_app(State(shared): AppState, body: Bytes) -> Response {
    let registration: AppRegistration = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad_request(format!("invalid app registration: {e}")),
    };
    match shared.directory.register(&registration) {
        Ok(()) => json_response(
            StatusCode::CREATED,
            &json!({"client_id": registration.client_id.trim()}),
        ),
        Err(e) => bad_request(e),
    }
}

async fn demo_app(State(shared): AppState) -> Response {
    ok(&to_json(&shared.directory.demo_app()))
}

async fn token_requests(State(shared): AppState) -> Response {
    ok(&to_json(&shared.recorder.snapshot()))
}

async fn clear_token_requests(State(shared): AppState) -> Response {
    shared.recorder.clear();
    ok(&json!({"cleared": true}))
}

async fn jwks(State(shared): AppState) -> Response {
    ok(&shared.signing_key.jwks(&shared.issuer(&shared.tenant_id)))
}

async fn resource_scenario(State(shared): AppState) -> Response {
    ok(&shared.scenario.get().describe())
}

/// The body of `POST /_emulator/resource/scenario`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioRequest {
    scenario: ResourceScenario,
}

async fn set_resource_scenario(State(shared): AppState, body: Bytes) -> Response {
    match serde_json::from_slice::<ScenarioRequest>(&body) {
        Ok(request) => ok(&shared
            .scenario
            .set(request.scenario, crate::clock::now_secs())
            .describe()),
        Err(e) => bad_request(format!(
            "expected {{\"scenario\": \"none\" | \"mfa_step_up\" | \"compliant_device\" | \
             \"cae_revocation\" | \"always_challenge\"}}: {e}"
        )),
    }
}

async fn clear_resource_scenario(State(shared): AppState) -> Response {
    ok(&shared
        .scenario
        .set(ResourceScenario::None, crate::clock::now_secs())
        .describe())
}

async fn revocations(State(shared): AppState) -> Response {
    ok(&Value::Object(shared.revocations.list()))
}

/// The body of `POST /_emulator/resource/revocations`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeRequest {
    subject: String,
}

async fn revoke(State(shared): AppState, body: Bytes) -> Response {
    match serde_json::from_slice::<RevokeRequest>(&body) {
        Ok(request) if !request.subject.trim().is_empty() => {
            let at = shared
                .revocations
                .revoke(request.subject.trim(), crate::clock::now_secs());
            ok(&json!({"subject": request.subject.trim(), "revoked_at": at}))
        }
        Ok(_) => bad_request("the subject is empty"),
        Err(e) => bad_request(format!(
            "expected {{\"subject\": \"<user oid, username or client id>\"}}: {e}"
        )),
    }
}

async fn clear_revocations(State(shared): AppState) -> Response {
    shared.revocations.clear();
    ok(&json!({}))
}
