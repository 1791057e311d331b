//! OIDC discovery, instance discovery and JWKS, in Entra's shapes.

use axum::extract::{Path, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode, Uri};
use serde_json::{json, Value};

use super::serve::{serve_with_faults, AppState};
use crate::errors::{json_response, AadError, RequestCtx};
use crate::faults::RequestKind;
use crate::query::query_param;
use crate::shared::Shared;
use crate::state::{TenantRef, CONSUMERS_TENANT_ID};

/// For a tenant segment: the tenant part of endpoint paths and of the issuer.
/// Entra keeps `common`/`organizations`/`consumers` in endpoint paths, puts the
/// literal `{tenantid}` in the issuer for the first two, and the personal-account
/// tenant's GUID for `consumers`.
fn tenant_parts(tenant: TenantRef<'_>) -> (String, String) {
    match tenant {
        TenantRef::Specific(t) => (t.id.clone(), t.id.clone()),
        TenantRef::Alias("consumers") => ("consumers".into(), CONSUMERS_TENANT_ID.into()),
        TenantRef::Alias(alias) => (alias.into(), "{tenantid}".into()),
    }
}

fn ok_json(ctx: &RequestCtx, body: &Value) -> Response {
    let mut response = json_response(StatusCode::OK, body);
    ctx.decorate(&mut response);
    response
}

fn openid_document(shared: &Shared, tenant: TenantRef<'_>) -> Value {
    let (path, issuer_tenant) = tenant_parts(tenant);
    let base = &shared.base_url;
    let oauth = format!("{base}/{path}/oauth2/v2.0");
    let host = format!("localhost:{}", shared.port);
    json!({
        "token_endpoint": format!("{oauth}/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/{path}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": shared.issuer(&issuer_tenant),
        "request_uri_parameter_supported": false,
        // Entra points at Microsoft Graph here; the emulator keeps every URL local.
        "userinfo_endpoint": format!("{base}/oidc/userinfo"),
        "authorization_endpoint": format!("{oauth}/authorize"),
        "device_authorization_endpoint": format!("{oauth}/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{oauth}/logout"),
        "claims_supported": [
            "sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
            "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username",
            "name", "tid", "ver", "at_hash", "c_hash", "email"
        ],
        "kerberos_endpoint": format!("{base}/{path}/kerberos"),
        "tenant_region_scope": match tenant { TenantRef::Specific(_) => json!("NA"), TenantRef::Alias(_) => Value::Null },
        "cloud_instance_name": "localhost",
        "cloud_graph_host_name": host,
        "msgraph_host": host,
        "rbac_url": base,
    })
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration` (and the v1/ADFS-style path).
pub(crate) async fn openid_configuration(
    State(shared): AppState,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    shared.count(Some(RequestKind::Discovery));
    let ctx = RequestCtx::new(&headers, &uri, &shared.base_url);
    let (response, _) = serve_with_faults(&shared, RequestKind::Discovery, &ctx, || async {
        match shared.directory.resolve(&tenant) {
            Some(t) => ok_json(&ctx, &openid_document(&shared, t)),
            None => AadError::tenant_not_found(&tenant, "invalid_tenant").into_response(&ctx),
        }
    })
    .await;
    response
}

/// Whether `host` (no port) reaches this emulator.
fn is_local_host(host: &str) -> bool {
    Shared::HOSTS.contains(&host) || host == "[::1]" || host == "::1"
}

/// `host:port` off the default https port: a client that sends its requests to
/// `preferred_network` (as some MSALs do) must reach this emulator, not port 443.
fn network_name(port: u16, host: &str) -> String {
    if port == 443 {
        host.to_owned()
    } else {
        format!("{host}:{port}")
    }
}

/// The names that reach this emulator: `host:port` (off 443) for clients that
/// compare the authority's host and port, then the bare host names for clients
/// that compare the host alone (the cache's `environment` has no port).
fn aliases(port: u16) -> Vec<String> {
    let mut names: Vec<String> = Shared::HOSTS
        .iter()
        .map(|host| network_name(port, host))
        .collect();
    if port != 443 {
        names.extend(Shared::HOSTS.iter().map(|host| (*host).to_owned()));
    }
    names
}

fn instance_document(shared: &Shared, path_tenant: &str, uri: &Uri) -> Result<Value, AadError> {
    let mut tenant = path_tenant.to_owned();
    if let Some(endpoint) = query_param(uri, "authorization_endpoint") {
        let url = url::Url::parse(&endpoint).map_err(|_| AadError::unknown_instance())?;
        if !url.host_str().is_some_and(is_local_host) {
            return Err(AadError::unknown_instance());
        }
        if let Some(first) = url.path_segments().and_then(|mut s| s.next()) {
            if !first.is_empty() {
                tenant = first.to_owned();
            }
        }
    }
    Ok(json!({
        "tenant_discovery_endpoint": format!("{}/{tenant}/v2.0/.well-known/openid-configuration", shared.base_url),
        "api-version": "1.1",
        "metadata": [{
            "preferred_network": network_name(shared.port, "localhost"),
            "preferred_cache": "localhost",
            "aliases": aliases(shared.port),
        }],
    }))
}

/// `GET /{tenant}/discovery/instance?api-version=1.1&authorization_endpoint=…`.
pub(crate) async fn instance_discovery(
    State(shared): AppState,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    shared.count(Some(RequestKind::InstanceDiscovery));
    let ctx = RequestCtx::new(&headers, &uri, &shared.base_url);
    let (response, _) =
        serve_with_faults(&shared, RequestKind::InstanceDiscovery, &ctx, || async {
            match instance_document(&shared, &tenant, &uri) {
                Ok(doc) => ok_json(&ctx, &doc),
                Err(e) => e.into_response(&ctx),
            }
        })
        .await;
    response
}

/// `GET /{tenant}/discovery/v2.0/keys`.
pub(crate) async fn jwks(
    State(shared): AppState,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    shared.count(Some(RequestKind::Jwks));
    let ctx = RequestCtx::new(&headers, &uri, &shared.base_url);
    let (response, _) = serve_with_faults(&shared, RequestKind::Jwks, &ctx, || async {
        match shared.directory.resolve(&tenant) {
            Some(t) => {
                let (_, issuer_tenant) = tenant_parts(t);
                ok_json(
                    &ctx,
                    &shared.signing_key.jwks(&shared.issuer(&issuer_tenant)),
                )
            }
            None => AadError::tenant_not_found(&tenant, "invalid_tenant").into_response(&ctx),
        }
    })
    .await;
    response
}

#[cfg(test)]
mod tests {
    use super::{aliases, network_name};

    #[test]
    fn names_carry_the_port_off_443_only() {
        assert_eq!(network_name(443, "localhost"), "localhost");
        assert_eq!(network_name(8443, "localhost"), "localhost:8443");
        assert_eq!(aliases(443), ["localhost", "127.0.0.1"]);
        assert_eq!(
            aliases(8443),
            ["localhost:8443", "127.0.0.1:8443", "localhost", "127.0.0.1"]
        );
    }
}
