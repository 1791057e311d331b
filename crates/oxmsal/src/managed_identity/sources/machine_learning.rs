//! Azure Machine Learning compute:
//! `GET $MSI_ENDPOINT?api-version=2017-09-01&resource=…` with
//! `secret: $MSI_SECRET`. Only a client id names a user-assigned identity
//! (spelled `clientid`); the system identity is asked for with
//! `clientid=$DEFAULT_IDENTITY_CLIENT_ID` when that is set, as MSAL.NET does.

use crate::error::{Error, Result};
use crate::secret::Secret;

use super::super::identity::{IdParams, ManagedIdentity};
use super::super::wire::{parse_endpoint, SourceRequest};
use super::super::{ManagedIdentityEnvironment, ManagedIdentitySource};
use super::resolved::Resolved;

const API_VERSION: &str = "2017-09-01";

/// Azure ML's id parameters: a client id only.
pub(crate) const IDS: IdParams = IdParams {
    client_id: Some("clientid"),
    object_id: None,
    resource_id: None,
};

pub(crate) fn resolve(
    env: &ManagedIdentityEnvironment,
    identity: &ManagedIdentity,
) -> Result<Resolved> {
    let source = ManagedIdentitySource::MachineLearning;
    let endpoint = env
        .get("MSI_ENDPOINT")
        .ok_or_else(|| Error::configuration("MSI_ENDPOINT is not set"))?;
    let endpoint = parse_endpoint(endpoint, "MSI_ENDPOINT", source)?;
    IDS.param(identity, "Azure Machine Learning")?;
    let mut resolved = Resolved::new(source, endpoint);
    resolved.secret = env.get("MSI_SECRET").map(Secret::new);
    resolved.default_client_id = env.get("DEFAULT_IDENTITY_CLIENT_ID").map(str::to_owned);
    Ok(resolved)
}

pub(crate) fn request(
    resolved: &Resolved,
    identity: &ManagedIdentity,
    resource: &str,
) -> Result<SourceRequest> {
    let mut query = vec![("api-version", API_VERSION), ("resource", resource)];
    match IDS.param(identity, "Azure Machine Learning")? {
        Some(param) => query.push(param),
        None => {
            if let Some(id) = &resolved.default_client_id {
                query.push(("clientid", id));
            }
        }
    }
    let secret = resolved.secret.clone().unwrap_or_else(|| Secret::new(""));
    Ok(SourceRequest::get(resolved.endpoint.clone(), &query).header("secret", secret))
}
