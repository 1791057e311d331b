//! The public client application: CLIs, desktop and mobile apps — anything that
//! cannot keep a secret and acts for a signed-in user.

use std::collections::HashMap;
use std::sync::Arc;

use super::AuthCodeFlowRequest;
use crate::cache::{Account, TokenCache};
use crate::error::Result;
use crate::flow::auth_code::AuthCodeFlow;
use crate::flow::device_code::DeviceFlow;
use crate::secret::Secret;

use super::redeem::{AuthCodeFlowRedemption, RefreshTokenRequest, UsernamePasswordRequest};
use super::requests::{
    collect, DeviceFlowInitiation, DeviceFlowRequest, InteractiveRequest, SilentRequest,
};
use super::{AppBuilder, Public};
use crate::client::AppCore;

/// An application without a credential, acting for users. `Send + Sync`: build
/// it once and share it; clones share the cache and discovery.
///
/// ```no_run
/// use oxmsal::PublicClientApplication;
/// # async fn run() -> oxmsal::Result<()> {
/// let app = PublicClientApplication::builder("00000000-0000-0000-0000-000000000002")
///     .authority("https://login.microsoftonline.com/organizations")
///     .build()?;
/// let token = match app.accounts().await?.first() {
///     Some(account) => app.acquire_token_silent(["User.Read"], account).await?,
///     None => {
///         let flow = app.initiate_device_flow(["User.Read"]).await?;
///         eprintln!("{}", flow.message);
///         app.acquire_token_by_device_flow(&flow).await?
///     }
/// };
/// # let _ = token; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PublicClientApplication {
    core: Arc<AppCore>,
}

impl PublicClientApplication {
    /// Starts building an application with its client id.
    ///
    /// ```
    /// let app = oxmsal::PublicClientApplication::builder("id").build().unwrap();
    /// assert_eq!(app.client_id(), "id");
    /// ```
    pub fn builder(client_id: impl Into<String>) -> AppBuilder<Public> {
        AppBuilder::public(client_id)
    }

    pub(crate) fn from_core(core: AppCore) -> Self {
        PublicClientApplication {
            core: Arc::new(core),
        }
    }

    /// The application (client) id.
    ///
    /// ```
    /// # let app = oxmsal::PublicClientApplication::builder("id").build().unwrap();
    /// assert_eq!(app.client_id(), "id");
    /// ```
    pub fn client_id(&self) -> &str {
        &self.core.client_id
    }

    /// The app's token cache.
    ///
    /// ```
    /// # let app = oxmsal::PublicClientApplication::builder("id").build().unwrap();
    /// assert_eq!(app.token_cache().account_count(), 0);
    /// ```
    pub fn token_cache(&self) -> &TokenCache {
        &self.core.cache
    }

    /// The accounts signed in to this app's authority host (any alias known
    /// so far). With a [`cache_persistence`](crate::app::AppBuilder::cache_persistence)
    /// store they are the store's — a new process finds the users an earlier
    /// one signed in, and not those another one signed out — and a store that
    /// cannot be read (a Redis outage, an unreadable file) is a
    /// [`Cache`](crate::ErrorKind::Cache) error, never an empty list. Without
    /// one, the accounts in memory.
    ///
    /// ```
    /// # let app = oxmsal::PublicClientApplication::builder("id").build().unwrap();
    /// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    /// assert!(rt.block_on(app.accounts())?.is_empty());
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    pub async fn accounts(&self) -> Result<Vec<Account>> {
        self.core.accounts().await
    }

    /// Signs an account out of this app: its tokens for this client (and its
    /// family) and the account entry go, from memory and from the
    /// [`cache_persistence`](crate::app::AppBuilder::cache_persistence) store
    /// (a store that cannot be written is an error, outage or not). Returns
    /// how many in-memory cache entries went.
    ///
    /// ```
    /// let app = oxmsal::PublicClientApplication::builder("c").build()?;
    /// app.token_cache().deserialize(r#"{"Account": {"u.t-login.microsoftonline.com-t": {
    ///     "home_account_id": "u.t", "environment": "login.microsoftonline.com", "realm": "t",
    ///     "username": "alice", "authority_type": "MSSTS"}}}"#)?;
    /// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    /// for account in rt.block_on(app.accounts())? {
    ///     rt.block_on(app.remove_account(&account))?;
    /// }
    /// assert!(rt.block_on(app.accounts())?.is_empty());
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    pub async fn remove_account(&self, account: &Account) -> Result<usize> {
        self.core.remove_account(account).await
    }

    /// A token without user interaction: the cache, or a refresh.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication, account: oxmsal::Account) -> oxmsal::Result<()> {
    /// let token = app.acquire_token_silent(["User.Read"], &account).await?;
    /// # let _ = token; Ok(()) }
    /// ```
    pub fn acquire_token_silent<I, S>(&self, scopes: I, account: &Account) -> SilentRequest<'_>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        SilentRequest::new(&self.core, None, collect(scopes), account)
    }

    /// Starts a device code sign-in; show its `message`, then poll with
    /// [`acquire_token_by_device_flow`](Self::acquire_token_by_device_flow).
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication) -> oxmsal::Result<()> {
    /// let flow = app.initiate_device_flow(["User.Read"]).await?;
    /// eprintln!("{}", flow.message);
    /// # Ok(()) }
    /// ```
    pub fn initiate_device_flow<I, S>(&self, scopes: I) -> DeviceFlowInitiation<'_>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        DeviceFlowInitiation::new(&self.core, collect(scopes))
    }

    /// Polls a device flow until the user signs in, declines, or it expires.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication, flow: oxmsal::DeviceFlow) -> oxmsal::Result<()> {
    /// let token = app.acquire_token_by_device_flow(&flow).await?;
    /// # let _ = token; Ok(()) }
    /// ```
    pub fn acquire_token_by_device_flow<'a>(
        &'a self,
        flow: &'a DeviceFlow,
    ) -> DeviceFlowRequest<'a> {
        DeviceFlowRequest {
            core: &self.core,
            flow,
            claims: None,
            cancel: None,
            options: crate::RequestOptions::new(),
        }
    }

    /// Starts an authorization code flow with PKCE for `redirect_uri`.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication) -> oxmsal::Result<()> {
    /// let flow = app.initiate_auth_code_flow(["User.Read"], "http://localhost:8400").await?;
    /// # let _ = flow; Ok(()) }
    /// ```
    pub fn initiate_auth_code_flow<I, S>(
        &self,
        scopes: I,
        redirect_uri: impl Into<String>,
    ) -> AuthCodeFlowRequest<'_>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        AuthCodeFlowRequest::new(&self.core, collect(scopes), redirect_uri.into())
    }

    /// The authorization request URL alone, with your own `state`, `nonce`
    /// and PKCE challenge (when you keep the sign-in state yourself); redeem
    /// the code with [`acquire_token_by_authorization_code`](Self::acquire_token_by_authorization_code).
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication) -> oxmsal::Result<()> {
    /// let url = app.authorization_request_url(["User.Read"], "https://app.example/cb").state("s-1").await?;
    /// # let _ = url; Ok(()) }
    /// ```
    pub fn authorization_request_url<I, S>(
        &self,
        scopes: I,
        redirect_uri: impl Into<String>,
    ) -> crate::app::AuthorizationUrlRequest<'_>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        crate::app::AuthorizationUrlRequest::new(&self.core, collect(scopes), redirect_uri.into())
    }

    /// Redeems an authorization code your own redirect handling received
    /// (MSAL's `acquire_token_by_authorization_code`); add the PKCE verifier
    /// and nonce if the authorization request sent their counterparts.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication, code: String) -> oxmsal::Result<()> {
    /// let token = app
    ///     .acquire_token_by_authorization_code(oxmsal::Secret::new(code), ["User.Read"], "https://app.example/cb")
    ///     .await?;
    /// # let _ = token; Ok(()) }
    /// ```
    pub fn acquire_token_by_authorization_code<I, S>(
        &self,
        code: crate::Secret,
        scopes: I,
        redirect_uri: impl Into<String>,
    ) -> crate::app::AuthorizationCodeRequest<'_>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        crate::app::AuthorizationCodeRequest::new(
            &self.core,
            None,
            code,
            collect(scopes),
            redirect_uri.into(),
        )
    }

    /// Redeems the redirect's query or form parameters for a started flow;
    /// checks `state` and the id token's `nonce`.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication, flow: oxmsal::AuthCodeFlow, params: std::collections::HashMap<String, String>) -> oxmsal::Result<()> {
    /// let token = app.acquire_token_by_auth_code_flow(&flow, &params).await?;
    /// # let _ = token; Ok(()) }
    /// ```
    pub fn acquire_token_by_auth_code_flow<'a>(
        &'a self,
        flow: &'a AuthCodeFlow,
        response: &'a HashMap<String, String>,
    ) -> AuthCodeFlowRedemption<'a> {
        AuthCodeFlowRedemption::new(&self.core, None, flow, response)
    }

    /// Signs in through a browser and a loopback redirect listener.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication) -> oxmsal::Result<()> {
    /// let token = app.acquire_token_interactive(["User.Read"]).await?;
    /// # let _ = token; Ok(()) }
    /// ```
    pub fn acquire_token_interactive<I, S>(&self, scopes: I) -> InteractiveRequest<'_>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        InteractiveRequest::new(&self.core, collect(scopes))
    }

    /// Username and password (ROPC): managed accounts only, no MFA. Prefer the
    /// device code or interactive flows.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication) -> oxmsal::Result<()> {
    /// let pw = oxmsal::Secret::new(std::env::var("PW").unwrap_or_default());
    /// let token = app.acquire_token_by_username_password("alice@contoso.com", pw, ["User.Read"]).await?;
    /// # let _ = token; Ok(()) }
    /// ```
    pub fn acquire_token_by_username_password<I, S>(
        &self,
        username: &str,
        password: Secret,
        scopes: I,
    ) -> UsernamePasswordRequest<'_>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        UsernamePasswordRequest::new(&self.core, username.to_owned(), password, collect(scopes))
    }

    /// Imports a refresh token obtained elsewhere; the account lands in the cache.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication) -> oxmsal::Result<()> {
    /// let rt = oxmsal::Secret::new(std::env::var("OLD_RT").unwrap_or_default());
    /// let token = app.acquire_token_by_refresh_token(rt, ["User.Read"]).await?;
    /// # let _ = token; Ok(()) }
    /// ```
    pub fn acquire_token_by_refresh_token<I, S>(
        &self,
        refresh_token: Secret,
        scopes: I,
    ) -> RefreshTokenRequest<'_>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RefreshTokenRequest::new(&self.core, refresh_token, collect(scopes))
    }
}

// Built here, beside the application it builds, so that the builder needs
// neither application kind.
impl AppBuilder<Public> {
    pub(crate) fn public(client_id: impl Into<String>) -> Self {
        Self::with_kind(client_id, Public)
    }

    /// Builds the application. Fails with a `Configuration` error on any bad
    /// option; never touches the network.
    ///
    /// ```
    /// assert!(oxmsal::PublicClientApplication::builder(" ").build().is_err());
    /// ```
    pub fn build(self) -> Result<PublicClientApplication> {
        let (_, core) = self.build_core(false)?;
        Ok(PublicClientApplication::from_core(core))
    }
}
