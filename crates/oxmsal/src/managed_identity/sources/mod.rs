//! One file per managed-identity source: where its endpoint is, how its
//! request is spelled. [`Resolved`] is checked when the client is built, so a
//! combination a source does not support fails before any request.

use crate::error::Result;

use super::environment::{ManagedIdentityEnvironment, ManagedIdentitySource};
use super::identity::ManagedIdentity;
use super::wire::SourceRequest;

pub(crate) mod app_service;
pub(crate) mod arc;
pub(crate) mod cloud_shell;
pub(crate) mod imds;
pub(crate) mod machine_learning;
mod resolved;
pub(crate) mod service_fabric;

pub(crate) use resolved::{Extras, Resolved};

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
