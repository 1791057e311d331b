//! One file per managed-identity source: where its endpoint is, how its
//! request is spelled. [`Resolved`] is checked when the client is built, so a
//! combination a source does not support fails before any request.

use std::path::PathBuf;

use url::Url;

use crate::error::Result;
use crate::secret::Secret;

use super::environment::{ManagedIdentityEnvironment, ManagedIdentitySource};
use super::identity::ManagedIdentity;
use super::wire::SourceRequest;

pub(crate) mod app_service;
pub(crate) mod arc;
pub(crate) mod cloud_shell;
pub(crate) mod imds;
pub(crate) mod machine_learning;
pub(crate) mod service_fabric;

/// A source with everything its requests need, read from the environment once.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub source: ManagedIdentitySource,
    pub endpoint: Url,
    /// `IDENTITY_HEADER` or `MSI_SECRET`.
    pub secret: Option<Secret>,
    /// Service Fabric's pinned server certificate (SHA-1 of its DER).
    pub thumbprint: Option<[u8; 20]>,
    /// Azure ML's `DEFAULT_IDENTITY_CLIENT_ID`, sent for the system identity.
    pub default_client_id: Option<String>,
    /// Azure Arc's key-file directory.
    pub arc_key_dir: Option<PathBuf>,
}

/// What a request carries beyond the resource.
#[derive(Debug, Default)]
pub(crate) struct Extras<'a> {
    /// Hex SHA-256 of a token the resource revoked (Service Fabric).
    pub token_sha256_to_refresh: Option<String>,
    /// The client's capabilities (Service Fabric's `xms_cc`).
    pub capabilities: &'a [String],
}

impl Resolved {
    fn new(source: ManagedIdentitySource, endpoint: Url) -> Self {
        Resolved {
            source,
            endpoint,
            secret: None,
            thumbprint: None,
            default_client_id: None,
            arc_key_dir: None,
        }
    }
}

/// Detects the source and checks the identity against what it supports.
pub(crate) fn resolve(
    env: &ManagedIdentityEnvironment,
    identity: &ManagedIdentity,
) -> Result<Resolved> {
    identity.validate()?;
    match env.source() {
        ManagedIdentitySource::ServiceFabric => service_fabric::resolve(env, identity),
        ManagedIdentitySource::AppService => app_service::resolve(env, identity),
        ManagedIdentitySource::MachineLearning => machine_learning::resolve(env, identity),
        ManagedIdentitySource::AzureArc => arc::resolve(env, identity),
        ManagedIdentitySource::CloudShell => cloud_shell::resolve(env, identity),
        ManagedIdentitySource::Imds => imds::resolve(env, identity),
    }
}

/// The (first) request for `resource`.
pub(crate) fn request(
    resolved: &Resolved,
    identity: &ManagedIdentity,
    resource: &str,
    extras: &Extras<'_>,
) -> Result<SourceRequest> {
    match resolved.source {
        ManagedIdentitySource::ServiceFabric => service_fabric::request(resolved, resource, extras),
        ManagedIdentitySource::AppService => app_service::request(resolved, identity, resource),
        ManagedIdentitySource::MachineLearning => {
            machine_learning::request(resolved, identity, resource)
        }
        ManagedIdentitySource::AzureArc => arc::request(resolved, identity, resource),
        ManagedIdentitySource::CloudShell => Ok(cloud_shell::request(resolved, resource)),
        ManagedIdentitySource::Imds => imds::request(resolved, identity, resource),
    }
}
