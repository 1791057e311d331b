//! The Azure Instance Metadata Service (VMs, scale sets, AKS):
//! `GET http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=…`
//! with `Metadata: true`; the base is overridable by
//! `AZURE_POD_IDENTITY_AUTHORITY_HOST`.

use crate::error::Result;

use super::super::identity::{IdParams, ManagedIdentity};
use super::super::wire::{parse_endpoint, SourceRequest};
use super::super::{ManagedIdentityEnvironment, ManagedIdentitySource};
use super::resolved::Resolved;

const DEFAULT_BASE: &str = "http://169.254.169.254";
const PATH: &str = "/metadata/identity/oauth2/token";
const API_VERSION: &str = "2018-02-01";

/// IMDS's id parameters.
pub(crate) const IDS: IdParams = IdParams {
    client_id: Some("client_id"),
    object_id: Some("object_id"),
    resource_id: Some("msi_res_id"),
};

pub(crate) fn resolve(
    env: &ManagedIdentityEnvironment,
    identity: &ManagedIdentity,
) -> Result<Resolved> {
    let (base, variable) = match env.get("AZURE_POD_IDENTITY_AUTHORITY_HOST") {
        Some(host) => (host, "AZURE_POD_IDENTITY_AUTHORITY_HOST"),
        None => (DEFAULT_BASE, "the IMDS address"),
    };
    let endpoint = format!("{}{PATH}", base.trim().trim_end_matches('/'));
    let endpoint = parse_endpoint(&endpoint, variable, ManagedIdentitySource::Imds)?;
    IDS.param(identity, "IMDS")?;
    Ok(Resolved::new(ManagedIdentitySource::Imds, endpoint))
}

pub(crate) fn request(
    resolved: &Resolved,
    identity: &ManagedIdentity,
    resource: &str,
) -> Result<SourceRequest> {
    let mut query = vec![("api-version", API_VERSION), ("resource", resource)];
    query.extend(IDS.param(identity, "IMDS")?);
    Ok(SourceRequest::get(resolved.endpoint.clone(), &query).header("metadata", "true"))
}
