//! Azure Cloud Shell (as MSAL.NET reaches it): `POST $MSI_ENDPOINT` with the
//! form `resource=…` and `Metadata: true`. System-assigned only.

use http::Method;

use crate::error::{Error, Result};

use super::super::identity::ManagedIdentity;
use super::super::wire::{parse_endpoint, SourceRequest};
use super::super::{ManagedIdentityEnvironment, ManagedIdentitySource};
use super::resolved::Resolved;

pub(crate) fn resolve(
    env: &ManagedIdentityEnvironment,
    identity: &ManagedIdentity,
) -> Result<Resolved> {
    let source = ManagedIdentitySource::CloudShell;
    if identity.is_user_assigned() {
        return Err(Error::configuration(
            "Cloud Shell supports only the system-assigned managed identity",
        ));
    }
    let endpoint = env
        .get("MSI_ENDPOINT")
        .ok_or_else(|| Error::configuration("MSI_ENDPOINT is not set"))?;
    let endpoint = parse_endpoint(endpoint, "MSI_ENDPOINT", source)?;
    Ok(Resolved::new(source, endpoint))
}

pub(crate) fn request(resolved: &Resolved, resource: &str) -> SourceRequest {
    let mut request = SourceRequest::get(resolved.endpoint.clone(), &[]).header("metadata", "true");
    request.method = Method::POST;
    request.form = Some(vec![("resource", resource.to_owned())]);
    request
}
