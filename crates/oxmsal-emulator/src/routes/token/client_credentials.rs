//! `grant_type=client_credentials` (RFC 6749 §4.4 as Entra does it).

use axum::response::Response;

use super::request::TokenRequest;
use super::{client_auth, issue};
use crate::errors::AadError;
use crate::state::TenantRef;

/// Validates and answers a client credentials request.
pub(crate) fn handle(req: &TokenRequest<'_>) -> Result<Response, AadError> {
    // App tokens need a real tenant; /common and /organizations cannot name one.
    let TenantRef::Specific(tenant) = req.tenant else {
        return Err(AadError::no_tenant_information());
    };
    let client = client_auth::authenticate(req, tenant)?;

    let scope = req
        .param("scope")
        .ok_or_else(|| AadError::missing_parameter("scope"))?;
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    let resource = match scopes.as_slice() {
        [only] => only.strip_suffix("/.default").filter(|r| !r.is_empty()),
        _ => None,
    }
    .ok_or_else(|| AadError::invalid_default_scope(scope))?;

    issue::app_token(req, tenant, &client, resource)
}
