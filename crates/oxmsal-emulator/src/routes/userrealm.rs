//! `GET /{tenant}/userrealm/{username}?api-version=1.0`: home realm discovery,
//! which MSALs call before the password grant to learn whether an account is
//! managed (ROPC goes to Entra) or federated (the password goes to the federated
//! identity provider over WS-Trust).
//!
//! The emulator answers per user: a known federated user is `Federated`, other
//! known users and users of the tenant's domains are `Managed`, anyone else is
//! `Unknown`. It serves no WS-Trust endpoint; the federated answer lets a client
//! detect the case and choose another flow.

use axum::extract::{Path, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use serde_json::json;

use super::serve::AppState;
use crate::errors::{json_response, RequestCtx};

/// The handler.
pub(crate) async fn user_realm(
    State(shared): AppState,
    Path((_tenant, username)): Path<(String, String)>,
    headers: HeaderMap,
    uri: http::Uri,
) -> Response {
    shared.count(None);
    let ctx = RequestCtx::new(&headers, &uri, &shared.base_url);
    let domain = username
        .rsplit_once('@')
        .map(|(_, d)| d)
        .unwrap_or_default();
    let user = shared.users.get(&username);
    let tenant_domain = shared
        .user_tenant()
        .domains
        .iter()
        .any(|d| d.eq_ignore_ascii_case(domain));
    let base = &shared.base_url;
    let body = match user {
        Some(u) if u.federated => json!({
            "ver": "1.0",
            "account_type": "Federated",
            "domain_name": domain,
            "federation_protocol": "WSTrust",
            "federation_metadata_url": format!("{base}/adfs/services/trust/mex"),
            "federation_active_auth_url": format!("{base}/adfs/services/trust/2005/usernamemixed"),
            "cloud_instance_name": "localhost",
            "cloud_audience_urn": "urn:federation:MicrosoftOnline",
        }),
        Some(_) => managed(domain),
        None if tenant_domain => managed(domain),
        None => {
            json!({"ver": "1.0", "account_type": "Unknown", "cloud_instance_name": "localhost"})
        }
    };
    let mut response = json_response(StatusCode::OK, &body);
    ctx.decorate(&mut response);
    response
}

fn managed(domain: &str) -> serde_json::Value {
    json!({
        "ver": "1.0",
        "account_type": "Managed",
        "domain_name": domain,
        "cloud_instance_name": "localhost",
        "cloud_audience_urn": "urn:federation:MicrosoftOnline",
    })
}
