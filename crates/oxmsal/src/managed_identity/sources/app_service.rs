//! Azure App Service and Azure Functions:
//! `GET $IDENTITY_ENDPOINT?api-version=2019-08-01&resource=…` with
//! `X-IDENTITY-HEADER: $IDENTITY_HEADER` (and `Metadata: true`); answers carry `expires_on`.

use crate::error::{Error, Result};
use crate::secret::Secret;

use super::super::identity::{IdParams, ManagedIdentity};
use super::super::wire::{parse_endpoint, SourceRequest};
use super::super::{ManagedIdentityEnvironment, ManagedIdentitySource};
use super::resolved::Resolved;

const API_VERSION: &str = "2019-08-01";

/// App Service's id parameters.
pub(crate) const IDS: IdParams = IdParams {
    client_id: Some("client_id"),
    object_id: Some("object_id"),
    resource_id: Some("mi_res_id"),
};

pub(crate) fn resolve(
    env: &ManagedIdentityEnvironment,
    identity: &ManagedIdentity,
) -> Result<Resolved> {
    let source = ManagedIdentitySource::AppService;
    let endpoint = env
        .get("IDENTITY_ENDPOINT")
        .ok_or_else(|| Error::configuration("IDENTITY_ENDPOINT is not set"))?;
    let endpoint = parse_endpoint(endpoint, "IDENTITY_ENDPOINT", source)?;
    IDS.param(identity, "App Service")?;
    let mut resolved = Resolved::new(source, endpoint);
    resolved.secret = env.get("IDENTITY_HEADER").map(Secret::new);
    Ok(resolved)
}

pub(crate) fn request(
    resolved: &Resolved,
    identity: &ManagedIdentity,
    resource: &str,
) -> Result<SourceRequest> {
    let mut query = vec![("api-version", API_VERSION), ("resource", resource)];
    query.extend(IDS.param(identity, "App Service")?);
    let header = resolved.secret.clone().unwrap_or_else(|| Secret::new(""));
    // `Metadata: true` is not needed by App Service, but Azure Automation
    // (the same protocol) wants it; MSAL for Python sends it too.
    Ok(SourceRequest::get(resolved.endpoint.clone(), &query)
        .header("x-identity-header", header)
        .header("metadata", "true"))
}
