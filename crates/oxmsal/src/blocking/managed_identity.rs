//! The blocking wrapper of [`crate::managed_identity::ManagedIdentityClient`].

use std::future::IntoFuture;

use crate::error::Result;
use crate::token::AuthenticationResult;

use super::Runtime;

/// A blocking wrapper of [`crate::managed_identity::ManagedIdentityClient`].
///
/// ```no_run
/// use oxmsal::managed_identity::{ManagedIdentity, ManagedIdentityClient};
/// let client = ManagedIdentityClient::builder(ManagedIdentity::SystemAssigned).build()?;
/// let client = oxmsal::blocking::ManagedIdentityClient::new(client)?;
/// let token = client.acquire_token_for_client("https://management.azure.com/.default")?;
/// // any request option, through the async builder:
/// let token = client.run(|c| c.acquire_token_for_client("https://vault.azure.net").force_refresh(true))?;
/// # let _ = token; Ok::<(), oxmsal::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ManagedIdentityClient {
    client: crate::managed_identity::ManagedIdentityClient,
    runtime: Runtime,
}

impl ManagedIdentityClient {
    /// Wraps a client, starting a current-thread runtime for it.
    ///
    /// ```
    /// use oxmsal::managed_identity::*;
    /// let client = ManagedIdentityClient::builder(ManagedIdentity::SystemAssigned)
    ///     .environment(ManagedIdentityEnvironment::empty()).build().unwrap();
    /// let blocking = oxmsal::blocking::ManagedIdentityClient::new(client).unwrap();
    /// assert_eq!(blocking.inner().source(), ManagedIdentitySource::Imds);
    /// ```
    pub fn new(client: crate::managed_identity::ManagedIdentityClient) -> Result<Self> {
        Ok(ManagedIdentityClient {
            client,
            runtime: Runtime::new()?,
        })
    }

    /// The async client inside.
    ///
    /// ```
    /// use oxmsal::managed_identity::*;
    /// # let client = ManagedIdentityClient::builder(ManagedIdentity::SystemAssigned)
    /// #     .environment(ManagedIdentityEnvironment::empty()).build().unwrap();
    /// let blocking = oxmsal::blocking::ManagedIdentityClient::new(client).unwrap();
    /// assert_eq!(blocking.inner().token_cache().access_token_count(), 0);
    /// ```
    pub fn inner(&self) -> &crate::managed_identity::ManagedIdentityClient {
        &self.client
    }

    /// Runs any request of the async API to completion.
    ///
    /// ```no_run
    /// # fn f(client: oxmsal::blocking::ManagedIdentityClient) -> oxmsal::Result<()> {
    /// let token = client.run(|c| c.acquire_token_for_client("https://vault.azure.net").correlation_id("c0ffee"))?;
    /// # let _ = token; Ok(()) }
    /// ```
    pub fn run<'a, F, R, T>(&'a self, request: F) -> Result<T>
    where
        F: FnOnce(&'a crate::managed_identity::ManagedIdentityClient) -> R,
        R: IntoFuture<Output = Result<T>>,
    {
        self.runtime.block_on(request(&self.client).into_future())
    }

    /// [`crate::managed_identity::ManagedIdentityClient::acquire_token_for_client`], blocking.
    ///
    /// ```no_run
    /// # fn f(client: oxmsal::blocking::ManagedIdentityClient) -> oxmsal::Result<()> {
    /// let token = client.acquire_token_for_client("https://management.azure.com/.default")?;
    /// # let _ = token; Ok(()) }
    /// ```
    pub fn acquire_token_for_client(
        &self,
        resource_or_scope: impl Into<String>,
    ) -> Result<AuthenticationResult> {
        self.run(|client| client.acquire_token_for_client(resource_or_scope.into()))
    }
}
