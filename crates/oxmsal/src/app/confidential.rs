//! The confidential client application: daemons, web apps, web APIs.

use std::future::IntoFuture;
use std::sync::Arc;

use crate::cache::TokenCache;
use crate::credential::ClientCredential;
use crate::error::{Error, Result};
use crate::flow::client_credentials;
use crate::token::AuthenticationResult;

use super::requests::{collect, OnBehalfOfRequest, SilentRequest};
use super::AuthCodeFlowRequest;
use super::{AppBuilder, Confidential, TokenFuture};
use super::{LongRunningOnBehalfOfRequest, LongRunningProcessRequest};
use crate::client::AppCore;

/// An application that can keep a secret: it authenticates itself with a client
/// secret, a certificate or an assertion. `Send + Sync`: build it once and share
/// it (`Arc`) across tasks; its cache and discovery results are shared too.
///
/// ```no_run
/// use oxmsal::{ConfidentialClientApplication, credential::ClientCredential};
/// # async fn run() -> oxmsal::Result<()> {
/// let app = ConfidentialClientApplication::builder(
///         "00000000-0000-0000-0000-000000000001",
///         ClientCredential::secret(std::env::var("CLIENT_SECRET").unwrap_or_default()),
///     )
///     .authority("https://login.microsoftonline.com/contoso.onmicrosoft.com")
///     .build()?;
/// let token = app.acquire_token_for_client(["https://graph.microsoft.com/.default"]).await?;
/// println!("{}", token.token_source.as_str());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ConfidentialClientApplication {
    inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub core: AppCore,
    pub credential: ClientCredential,
}

impl ConfidentialClientApplication {
    /// Starts building an application with its client id and credential.
    ///
    /// ```
    /// use oxmsal::{ConfidentialClientApplication, credential::ClientCredential};
    /// let app = ConfidentialClientApplication::builder("id", ClientCredential::secret("s")).build().unwrap();
    /// assert_eq!(app.client_id(), "id");
    /// ```
    pub fn builder(
        client_id: impl Into<String>,
        credential: ClientCredential,
    ) -> AppBuilder<Confidential> {
        AppBuilder::confidential(client_id, credential)
    }

    pub(crate) fn from_parts(core: AppCore, credential: ClientCredential) -> Self {
        ConfidentialClientApplication {
            inner: Arc::new(Inner { core, credential }),
        }
    }

    /// The application (client) id.
    ///
    /// ```
    /// # use oxmsal::{ConfidentialClientApplication, credential::ClientCredential};
    /// # let app = ConfidentialClientApplication::builder("id", ClientCredential::secret("s")).build().unwrap();
    /// assert_eq!(app.client_id(), "id");
    /// ```
    pub fn client_id(&self) -> &str {
        &self.inner.core.client_id
    }

    /// The app's token cache (serialize it to persist it).
    ///
    /// ```
    /// # use oxmsal::{ConfidentialClientApplication, credential::ClientCredential};
    /// # let app = ConfidentialClientApplication::builder("id", ClientCredential::secret("s")).build().unwrap();
    /// let json = app.token_cache().serialize().unwrap();
    /// assert!(json.contains("AccessToken"));
    /// ```
    pub fn token_cache(&self) -> &TokenCache {
        &self.inner.core.cache
    }

    /// The accounts signed in to this app (web apps keep one per user
    /// session): the store's with a
    /// [`cache_persistence`](crate::app::AppBuilder::cache_persistence) store,
    /// a store that cannot be read being a [`Cache`](crate::ErrorKind::Cache)
    /// error; else the ones in memory. See
    /// [`PublicClientApplication::accounts`](crate::PublicClientApplication::accounts).
    ///
    /// ```
    /// # use oxmsal::{ConfidentialClientApplication, credential::ClientCredential};
    /// # let app = ConfidentialClientApplication::builder("id", ClientCredential::secret("s")).build().unwrap();
    /// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    /// assert!(rt.block_on(app.accounts())?.is_empty());
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    pub async fn accounts(&self) -> Result<Vec<crate::cache::Account>> {
        self.inner.core.accounts().await
    }

    /// Signs an account out of this app: its tokens for this client (and its
    /// family) and the account entry go, from memory and from the
    /// [`cache_persistence`](crate::app::AppBuilder::cache_persistence) store.
    /// Returns how many in-memory cache entries went.
    ///
    /// ```
    /// # use oxmsal::{ConfidentialClientApplication, credential::ClientCredential};
    /// let app = ConfidentialClientApplication::builder("c", ClientCredential::secret("s")).build()?;
    /// app.token_cache().deserialize(r#"{"Account": {"u.t-login.microsoftonline.com-t": {
    ///     "home_account_id": "u.t", "environment": "login.microsoftonline.com", "realm": "t",
    ///     "username": "alice", "authority_type": "MSSTS"}}}"#)?;
    /// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    /// let account = rt.block_on(app.accounts())?.remove(0);
    /// assert_eq!(rt.block_on(app.remove_account(&account))?, 1);
    /// assert!(rt.block_on(app.accounts())?.is_empty());
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    pub async fn remove_account(&self, account: &crate::cache::Account) -> Result<usize> {
        self.inner.core.remove_account(account).await
    }

    /// Removes the app's own tokens — those
    /// [`acquire_token_for_client`](Self::acquire_token_for_client) cached —
    /// from memory and from the
    /// [`cache_persistence`](crate::app::AppBuilder::cache_persistence) store
    /// (a store that cannot be written is an error); the next
    /// `acquire_token_for_client` asks the token endpoint. Users' tokens
    /// stay. Returns how many in-memory cache entries went (MSAL for
    /// Python's `remove_tokens_for_client`).
    ///
    /// ```
    /// # use oxmsal::{ConfidentialClientApplication, credential::ClientCredential};
    /// let app = ConfidentialClientApplication::builder("c", ClientCredential::secret("s")).build()?;
    /// app.token_cache().deserialize(r#"{"AccessToken": {"-login.microsoftonline.com-accesstoken-c-t-api://x/.default": {
    ///     "credential_type": "AccessToken", "secret": "at", "home_account_id": "",
    ///     "environment": "login.microsoftonline.com", "client_id": "c", "realm": "t",
    ///     "target": "api://x/.default", "cached_at": "0", "expires_on": "9999999999"}}}"#)?;
    /// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    /// assert_eq!(rt.block_on(app.remove_tokens_for_client())?, 1);
    /// assert_eq!(app.token_cache().access_token_count(), 0);
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    pub async fn remove_tokens_for_client(&self) -> Result<usize> {
        self.inner.core.remove_tokens_for_client().await
    }

    /// A user token without interaction (web-app accounts): cache or refresh.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::ConfidentialClientApplication, account: oxmsal::Account) -> oxmsal::Result<()> {
    /// let token = app.acquire_token_silent(["User.Read"], &account).await?;
    /// # let _ = token; Ok(()) }
    /// ```
    pub fn acquire_token_silent<I, S>(
        &self,
        scopes: I,
        account: &crate::cache::Account,
    ) -> SilentRequest<'_>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        SilentRequest::new(
            &self.inner.core,
            Some(&self.inner.credential),
            collect(scopes),
            account,
        )
    }

    /// Starts a web app's authorization code flow (PKCE, state, nonce).
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::ConfidentialClientApplication) -> oxmsal::Result<()> {
    /// let flow = app.initiate_auth_code_flow(["User.Read"], "https://app.example/callback").await?;
    /// // redirect the user to flow.auth_uri, keep `flow` in the session
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
        AuthCodeFlowRequest::new(&self.inner.core, collect(scopes), redirect_uri.into())
    }

    /// The authorization request URL alone, with your own `state`, `nonce`
    /// and PKCE challenge (when you keep the sign-in state yourself); redeem
    /// the code with [`acquire_token_by_authorization_code`](Self::acquire_token_by_authorization_code).
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::ConfidentialClientApplication) -> oxmsal::Result<()> {
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
        crate::app::AuthorizationUrlRequest::new(
            &self.inner.core,
            collect(scopes),
            redirect_uri.into(),
        )
    }

    /// Redeems an authorization code your own redirect handling received
    /// (MSAL's `acquire_token_by_authorization_code`); add the PKCE verifier
    /// and nonce if the authorization request sent their counterparts.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::ConfidentialClientApplication, code: String) -> oxmsal::Result<()> {
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
            &self.inner.core,
            Some(&self.inner.credential),
            code,
            collect(scopes),
            redirect_uri.into(),
        )
    }

    /// Redeems the redirect's parameters (checks `state` and `nonce`).
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::ConfidentialClientApplication, flow: oxmsal::AuthCodeFlow, params: std::collections::HashMap<String, String>) -> oxmsal::Result<()> {
    /// let token = app.acquire_token_by_auth_code_flow(&flow, &params).await?;
    /// # let _ = token; Ok(()) }
    /// ```
    pub fn acquire_token_by_auth_code_flow<'a>(
        &'a self,
        flow: &'a crate::flow::auth_code::AuthCodeFlow,
        response: &'a std::collections::HashMap<String, String>,
    ) -> crate::app::AuthCodeFlowRedemption<'a> {
        crate::app::AuthCodeFlowRedemption::new(
            &self.inner.core,
            Some(&self.inner.credential),
            flow,
            response,
        )
    }

    /// On-behalf-of: exchanges the access token your API received (`assertion`)
    /// for a downstream token for the same user. Cached per assertion: a second
    /// call with the same assertion is a cache hit.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::ConfidentialClientApplication, incoming: String) -> oxmsal::Result<()> {
    /// let token = app.acquire_token_on_behalf_of(oxmsal::Secret::new(incoming), ["https://graph.microsoft.com/.default"]).await?;
    /// # let _ = token; Ok(()) }
    /// ```
    pub fn acquire_token_on_behalf_of<I, S>(
        &self,
        assertion: crate::secret::Secret,
        scopes: I,
    ) -> OnBehalfOfRequest<'_>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        OnBehalfOfRequest::new(
            &self.inner.core,
            &self.inner.credential,
            assertion,
            collect(scopes),
        )
    }

    /// Starts a long-running on-behalf-of session (MSAL.NET's
    /// `InitiateLongRunningProcessInWebApi`), for a background job that acts
    /// for the user after their request, and their token, are gone: an
    /// on-behalf-of grant whose downstream token and refresh token are filed
    /// under a session key. Resolves to the token and the key: the incoming
    /// token's hash unless [`session_key`](LongRunningOnBehalfOfRequest::session_key)
    /// chose one. Continue with
    /// [`acquire_token_in_long_running_process`](Self::acquire_token_in_long_running_process).
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::ConfidentialClientApplication, incoming: String) -> oxmsal::Result<()> {
    /// let (token, session_key) = app
    ///     .initiate_long_running_on_behalf_of(oxmsal::Secret::new(incoming), ["https://graph.microsoft.com/.default"])
    ///     .await?;
    /// # let _ = (token, session_key); Ok(()) }
    /// ```
    pub fn initiate_long_running_on_behalf_of<I, S>(
        &self,
        assertion: crate::secret::Secret,
        scopes: I,
    ) -> LongRunningOnBehalfOfRequest<'_>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        LongRunningOnBehalfOfRequest::new(
            &self.inner.core,
            &self.inner.credential,
            assertion,
            collect(scopes),
        )
    }

    /// A token in a long-running on-behalf-of session (MSAL.NET's
    /// `AcquireTokenInLongRunningProcess`), found by its session key alone:
    /// the session's cached access token unless it is due for refresh, else
    /// one redeemed with the session's refresh token (no incoming token
    /// needed; it may have expired long ago). An unknown key is a
    /// [`NoCachedToken`](crate::ErrorKind::NoCachedToken) error; a refused
    /// refresh token is the service's error, whose
    /// [`requires_interaction`](crate::Error::requires_interaction) means the
    /// user must call the web API again to start a new session. With a shared
    /// cache store, another process can continue the session.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::ConfidentialClientApplication, session_key: String) -> oxmsal::Result<()> {
    /// let token = app
    ///     .acquire_token_in_long_running_process(session_key, ["https://graph.microsoft.com/.default"])
    ///     .await?;
    /// # let _ = token; Ok(()) }
    /// ```
    pub fn acquire_token_in_long_running_process<I, S>(
        &self,
        session_key: impl Into<String>,
        scopes: I,
    ) -> LongRunningProcessRequest<'_>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        LongRunningProcessRequest::new(
            &self.inner.core,
            &self.inner.credential,
            session_key.into(),
            collect(scopes),
        )
    }

    /// A token for the app itself (client credentials grant): from the cache when
    /// a valid one is there, else from the token endpoint. `scopes` is usually one
    /// `{resource}/.default`.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::ConfidentialClientApplication) -> oxmsal::Result<()> {
    /// let token = app
    ///     .acquire_token_for_client(["api://demo/.default"])
    ///     .tenant("contoso.onmicrosoft.com")
    ///     .await?;
    /// # let _ = token; Ok(()) }
    /// ```
    pub fn acquire_token_for_client<I, S>(&self, scopes: I) -> ClientCredentialsRequest<'_>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ClientCredentialsRequest {
            app: &self.inner,
            params: client_credentials::Params {
                scopes: scopes.into_iter().map(Into::into).collect(),
                ..Default::default()
            },
        }
    }
}

/// A client-credentials request; `.await` it (or call [`send`](Self::send)).
#[derive(Debug)]
#[must_use = "a request does nothing until awaited"]
pub struct ClientCredentialsRequest<'a> {
    app: &'a Inner,
    params: client_credentials::Params,
}

impl<'a> ClientCredentialsRequest<'a> {
    /// A claims request (JSON), e.g. from a resource's claims challenge. It
    /// bypasses the cached token; the app's client capabilities are merged in.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::ConfidentialClientApplication) -> oxmsal::Result<()> {
    /// let t = app.acquire_token_for_client(["api://demo/.default"])
    ///     .claims(r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#).await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn claims(mut self, claims: impl Into<String>) -> Self {
        self.params.claims = Some(claims.into());
        self
    }

    /// A claims challenge parsed from a resource's `WWW-Authenticate` header; the
    /// same as [`claims`](Self::claims) with its decoded JSON.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::ConfidentialClientApplication, header: &str) -> oxmsal::Result<()> {
    /// if let Some(challenge) = oxmsal::ClaimsChallenge::from_www_authenticate(header)? {
    ///     let t = app.acquire_token_for_client(["api://demo/.default"]).claims_challenge(&challenge).await?;
    /// #   let _ = t;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn claims_challenge(self, challenge: &crate::challenge::ClaimsChallenge) -> Self {
        self.claims(challenge.claims_json())
    }

    /// Another tenant of the same cloud for this request only.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::ConfidentialClientApplication) -> oxmsal::Result<()> {
    /// let t = app.acquire_token_for_client(["api://demo/.default"]).tenant("fabrikam.com").await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.params.tenant = Some(tenant.into());
        self
    }

    /// Skips the cache lookup and always asks the token endpoint.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::ConfidentialClientApplication) -> oxmsal::Result<()> {
    /// let t = app.acquire_token_for_client(["api://demo/.default"]).force_refresh(true).await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn force_refresh(mut self, force: bool) -> Self {
        self.params.force_refresh = force;
        self
    }

    /// Uses this `client-request-id` instead of a new random one.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::ConfidentialClientApplication) -> oxmsal::Result<()> {
    /// let t = app.acquire_token_for_client(["api://demo/.default"]).correlation_id("3f1c…").await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn correlation_id(mut self, id: impl Into<String>) -> Self {
        self.params.correlation_id = Some(id.into());
        self
    }

    /// Extra query, form and header values for the token request (see
    /// [`RequestOptions`](crate::RequestOptions)); a cached token still
    /// answers the request.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::ConfidentialClientApplication) -> oxmsal::Result<()> {
    /// let t = app.acquire_token_for_client(["api://demo/.default"])
    ///     .request_options(oxmsal::RequestOptions::new().extra_query_parameter("dc", "ESTS-PUB-WUS2-AZ1-FD000-TEST1"))
    ///     .await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn request_options(mut self, options: crate::RequestOptions) -> Self {
        self.params.options = options;
        self
    }

    /// Sends the request.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::ConfidentialClientApplication) -> oxmsal::Result<()> {
    /// let t = app.acquire_token_for_client(["api://demo/.default"]).send().await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub async fn send(self) -> Result<AuthenticationResult> {
        self.into_future().await
    }
}

impl<'a> IntoFuture for ClientCredentialsRequest<'a> {
    type Output = Result<AuthenticationResult>;
    type IntoFuture = TokenFuture<'a>;

    fn into_future(mut self) -> Self::IntoFuture {
        let core = &self.app.core;
        if let Err(err) = self.params.options.check_for_token_request() {
            return TokenFuture::ready(Err(err));
        }
        match client_credentials::hot_hit(core, &mut self.params) {
            Some(hit) => TokenFuture::ready(Ok(hit)),
            None => TokenFuture::waiting(client_credentials::acquire(
                core,
                &self.app.credential,
                self.params,
            )),
        }
    }
}

// Built here, beside the application it builds, so that the builder needs
// neither application kind.
impl AppBuilder<Confidential> {
    pub(crate) fn confidential(client_id: impl Into<String>, credential: ClientCredential) -> Self {
        Self::with_kind(client_id, Confidential { credential })
    }

    /// Builds the application. Fails with a `Configuration` error on any bad
    /// option; never touches the network.
    ///
    /// ```
    /// # use oxmsal::{ConfidentialClientApplication, credential::ClientCredential};
    /// assert!(ConfidentialClientApplication::builder("", ClientCredential::secret("s")).build().is_err());
    /// ```
    pub fn build(self) -> Result<ConfidentialClientApplication> {
        let (kind, core) = self.build_core(true)?;
        if let ClientCredential::Secret(secret) = &kind.credential {
            if secret.is_empty() {
                return Err(Error::configuration("the client secret is empty"));
            }
        }
        Ok(ConfidentialClientApplication::from_parts(
            core,
            kind.credential,
        ))
    }
}
