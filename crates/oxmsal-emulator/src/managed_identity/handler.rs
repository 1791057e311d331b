//! The one handler: checks a request against the source's wire shape and
//! answers as that source would.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use super::source::MiSource;
use super::state::{
    MiRecordedRequest, Shared, MI_SYSTEM_CLIENT_ID, MI_USER_CLIENT_ID, MI_USER_OBJECT_ID,
    MI_USER_RESOURCE_ID,
};

fn pairs(text: &str) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(text.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn error(source: MiSource, status: u16, code: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (
        status,
        Json(source.error_body(status.as_u16(), code, message)),
    )
        .into_response()
}

/// The canned answer of an injected fault.
fn fault(source: MiSource, status: u16, retry_after: Option<u64>) -> Response {
    let (code, message) = match status {
        410 => ("gone", "IMDS is being updated; try again later"),
        429 => ("too_many_requests", "Too many requests"),
        500 => ("internal_error", "An unexpected error occurred"),
        503 => ("service_unavailable", "The service is unavailable"),
        _ => ("injected_fault", "Injected fault"),
    };
    let mut response = error(source, status, code, message);
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert("retry-after", HeaderValue::from(seconds));
    }
    response
}

pub(crate) async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let source = shared.source;
    let recorded = MiRecordedRequest {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: pairs(uri.query().unwrap_or("")),
        headers: headers
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect(),
        form: if method == Method::POST {
            pairs(&String::from_utf8_lossy(&body))
        } else {
            BTreeMap::new()
        },
    };
    let injected = {
        let mut state = shared.state();
        state.requests.push(recorded.clone());
        state.faults.pop_front()
    };
    if let Some((status, retry_after)) = injected {
        return fault(source, status, retry_after);
    }
    let req = recorded;
    if req.path != source.path() {
        return error(source, 404, "not_found", "no such endpoint");
    }
    if req.method != source.method() {
        return error(source, 405, "invalid_request", "method not allowed");
    }
    if let Some(version) = source.api_version() {
        if req.query.get("api-version").map(String::as_str) != Some(version) {
            return error(source, 400, "invalid_request", "unsupported api-version");
        }
    }
    let header = |name: &str| req.headers.get(name).map(String::as_str);
    match source {
        MiSource::Imds | MiSource::AzureArc | MiSource::CloudShell => {
            if header("metadata") != Some("true") {
                return error(
                    source,
                    400,
                    "invalid_request",
                    "Required metadata header not specified",
                );
            }
        }
        MiSource::AppService => {
            if header("x-identity-header") != Some(shared.secret.as_str()) {
                return error(
                    source,
                    401,
                    "unauthorized",
                    "The X-IDENTITY-HEADER is missing or wrong",
                );
            }
        }
        MiSource::MachineLearning => {
            if header("secret") != Some(shared.secret.as_str()) {
                return error(
                    source,
                    401,
                    "unauthorized",
                    "The secret header is missing or wrong",
                );
            }
        }
        MiSource::ServiceFabric => {
            if header("secret") != Some(shared.secret.as_str()) {
                return error(
                    source,
                    401,
                    "SecretHeaderNotFound",
                    "Secret is not found in the request headers.",
                );
            }
        }
    }
    let resource = if source == MiSource::CloudShell {
        req.form.get("resource")
    } else {
        req.query.get("resource")
    };
    let Some(resource) = resource.filter(|r| !r.is_empty()).cloned() else {
        return error(
            source,
            400,
            "ArgumentNullOrEmpty",
            "The resource parameter is missing",
        );
    };

    if source == MiSource::AzureArc {
        match header("authorization").and_then(|a| a.strip_prefix("Basic ")) {
            None => return arc_challenge(&shared),
            Some(key) if shared.state().arc_keys.contains(key) => {}
            Some(_) => {
                return error(
                    source,
                    401,
                    "invalid_request",
                    "The key does not match the challenge",
                )
            }
        }
    }

    // Which identity: the user-assigned one when named by any of its ids
    // (in this source's spelling), else the system-assigned one. Arc and
    // Service Fabric ignore ids (the agent / cluster decides).
    let mut client_id = MI_SYSTEM_CLIENT_ID;
    if !matches!(source, MiSource::AzureArc | MiSource::ServiceFabric) {
        let known = [MI_USER_CLIENT_ID, MI_USER_OBJECT_ID, MI_USER_RESOURCE_ID];
        for (param, known) in source.id_params().into_iter().zip(known) {
            let Some(param) = param else { continue };
            if let Some(asked) = req.query.get(param) {
                if !asked.eq_ignore_ascii_case(known) {
                    return identity_not_found(source);
                }
                client_id = MI_USER_CLIENT_ID;
            }
        }
    }

    let (now, n) = {
        let mut state = shared.state();
        state.issued += 1;
        let now = state.epoch.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        });
        (now, state.issued)
    };
    let token = match &shared.token_issuer {
        None => format!("mi-{}-{n}-{client_id}", source.as_str()),
        Some(issuer) => match issuer.issue(client_id, &resource, now, shared.token_lifetime) {
            Ok(token) => token,
            Err(e) => {
                return error(
                    source,
                    500,
                    "internal_error",
                    &format!("cannot sign the token: {e}"),
                )
            }
        },
    };
    let body: Value = source.token_body(&token, &resource, client_id, now, shared.token_lifetime);
    (StatusCode::OK, Json(body)).into_response()
}

fn identity_not_found(source: MiSource) -> Response {
    match source {
        MiSource::ServiceFabric => error(source, 404, "ManagedIdentityNotFound", "Identity not found"),
        MiSource::AppService | MiSource::MachineLearning => error(
            source,
            400,
            "invalid_request",
            "No User Assigned or Delegated Managed Identity found for specified ClientId/ResourceId/PrincipalId.",
        ),
        _ => error(source, 400, "invalid_request", "Identity not found"),
    }
}

/// Writes a fresh key file and names it in the challenge, as the agent does.
fn arc_challenge(shared: &Shared) -> Response {
    let key = uuid::Uuid::new_v4().simple().to_string();
    let name = shared
        .arc_key_name
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let path = shared.key_dir.join(format!("{name}.key"));
    let written = std::fs::File::create(&path).and_then(|mut f| f.write_all(key.as_bytes()));
    if let Err(e) = written {
        return error(
            MiSource::AzureArc,
            500,
            "internal_error",
            &format!("cannot write the key file: {e}"),
        );
    }
    shared.state().arc_keys.insert(key);
    let mut response = error(
        MiSource::AzureArc,
        401,
        "unauthorized",
        "Basic authentication required",
    );
    if let Ok(value) = HeaderValue::from_str(&format!("Basic realm={}", path.display())) {
        response.headers_mut().insert("www-authenticate", value);
    }
    response
}
