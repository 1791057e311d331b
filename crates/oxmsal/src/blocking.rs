//! A blocking face for programs without an async runtime (feature `blocking`).
//!
//! It wraps the async API instead of copying it: one small current-thread runtime
//! per wrapper drives the same futures the async API returns, so every option of
//! every request is available through [`ConfidentialClientApplication::run`].
//! Do not call it from inside an async runtime (tokio refuses nested `block_on`).

use std::future::IntoFuture;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::token::AuthenticationResult;

/// A blocking wrapper of [`crate::ConfidentialClientApplication`].
///
/// ```no_run
/// use oxmsal::{credential::ClientCredential, ConfidentialClientApplication};
/// let app = ConfidentialClientApplication::builder("id", ClientCredential::secret("s"))
///     .authority("https://login.microsoftonline.com/contoso.com")
///     .build()?;
/// let app = oxmsal::blocking::ConfidentialClientApplication::new(app)?;
/// let token = app.acquire_token_for_client(["api://demo/.default"])?;
/// // any request option, through the async builder:
/// let token = app.run(|a| a.acquire_token_for_client(["api://demo/.default"]).force_refresh(true))?;
/// # let _ = token; Ok::<(), oxmsal::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ConfidentialClientApplication {
    app: crate::ConfidentialClientApplication,
    runtime: Arc<tokio::runtime::Runtime>,
}

impl ConfidentialClientApplication {
    /// Wraps an application, starting a current-thread runtime for it.
    ///
    /// ```
    /// # use oxmsal::{credential::ClientCredential, ConfidentialClientApplication};
    /// let app = ConfidentialClientApplication::builder("id", ClientCredential::secret("s")).build().unwrap();
    /// let blocking = oxmsal::blocking::ConfidentialClientApplication::new(app).unwrap();
    /// assert_eq!(blocking.inner().client_id(), "id");
    /// ```
    pub fn new(app: crate::ConfidentialClientApplication) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                Error::configuration(format!("cannot start a runtime for the blocking API: {e}"))
            })?;
        Ok(ConfidentialClientApplication {
            app,
            runtime: Arc::new(runtime),
        })
    }

    /// The async application inside.
    ///
    /// ```
    /// # use oxmsal::{credential::ClientCredential, ConfidentialClientApplication};
    /// # let app = ConfidentialClientApplication::builder("id", ClientCredential::secret("s")).build().unwrap();
    /// # let blocking = oxmsal::blocking::ConfidentialClientApplication::new(app).unwrap();
    /// let json = blocking.inner().token_cache().serialize().unwrap();
    /// # let _ = json;
    /// ```
    pub fn inner(&self) -> &crate::ConfidentialClientApplication {
        &self.app
    }

    /// Runs any request of the async API to completion.
    ///
    /// ```no_run
    /// # fn f(app: oxmsal::blocking::ConfidentialClientApplication) -> oxmsal::Result<()> {
    /// let token = app.run(|a| a.acquire_token_for_client(["api://demo/.default"]).tenant("fabrikam.com"))?;
    /// # let _ = token; Ok(()) }
    /// ```
    pub fn run<'a, F, R>(&'a self, request: F) -> R::Output
    where
        F: FnOnce(&'a crate::ConfidentialClientApplication) -> R,
        R: IntoFuture,
    {
        self.runtime.block_on(request(&self.app).into_future())
    }

    /// [`crate::ConfidentialClientApplication::acquire_token_for_client`], blocking.
    ///
    /// ```no_run
    /// # fn f(app: oxmsal::blocking::ConfidentialClientApplication) -> oxmsal::Result<()> {
    /// let token = app.acquire_token_for_client(["api://demo/.default"])?;
    /// # let _ = token; Ok(()) }
    /// ```
    pub fn acquire_token_for_client<I, S>(&self, scopes: I) -> Result<AuthenticationResult>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.run(|app| app.acquire_token_for_client(scopes))
    }
}

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
    runtime: Arc<tokio::runtime::Runtime>,
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
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                Error::configuration(format!("cannot start a runtime for the blocking API: {e}"))
            })?;
        Ok(ManagedIdentityClient {
            client,
            runtime: Arc::new(runtime),
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
    pub fn run<'a, F, R>(&'a self, request: F) -> R::Output
    where
        F: FnOnce(&'a crate::managed_identity::ManagedIdentityClient) -> R,
        R: IntoFuture,
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
        self.run(|client| client.acquire_token_for_client(resource_or_scope))
    }
}
