//! Per-request builders shared by both application kinds. Each holds the app's
//! core and (for confidential apps) its credential, and is `.await`ed.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;

use crate::cache::Account;
use crate::credential::ClientCredential;
use crate::error::Result;
use crate::flow::auth_code::{AuthorizeOptions, ResponseMode};
use crate::flow::device_code::DeviceFlow;
use crate::flow::interactive::Browser;
use crate::flow::{device_code, interactive, on_behalf_of, silent};
use crate::request_options::RequestOptions;
use crate::token::AuthenticationResult;

use super::TokenFuture;
use crate::client::AppCore;

/// A boxed request future.
pub(crate) type Pending<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

pub(crate) use crate::correlation::new_id as new_correlation_id;

/// A silent request: a cached token or a refresh; `.await` it.
///
/// ```no_run
/// # async fn run(app: oxmsal::PublicClientApplication) -> oxmsal::Result<()> {
/// let account = app.accounts().await?.into_iter().next().expect("signed in before");
/// let token = app.acquire_token_silent(["User.Read"], &account).await?;
/// # let _ = token; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a request does nothing until awaited"]
pub struct SilentRequest<'a> {
    pub(crate) core: &'a AppCore,
    pub(crate) credential: Option<&'a ClientCredential>,
    pub(crate) params: silent::Params,
}

impl<'a> SilentRequest<'a> {
    pub(crate) fn new(
        core: &'a AppCore,
        credential: Option<&'a ClientCredential>,
        scopes: Vec<String>,
        account: &Account,
    ) -> Self {
        SilentRequest {
            core,
            credential,
            params: silent::Params {
                scopes,
                account: account.clone(),
                claims: None,
                force_refresh: false,
                tenant: None,
                correlation_id: new_correlation_id(),
                options: RequestOptions::new(),
            },
        }
    }

    /// A claims challenge: skips the cached access token and refreshes with it.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication, account: oxmsal::Account) -> oxmsal::Result<()> {
    /// let t = app.acquire_token_silent(["User.Read"], &account).claims(r#"{"access_token":{"acrs":{"essential":true,"value":"c1"}}}"#).await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn claims(mut self, claims: impl Into<String>) -> Self {
        self.params.claims = Some(claims.into());
        self
    }

    /// Skips the cached access token and refreshes.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication, account: oxmsal::Account) -> oxmsal::Result<()> {
    /// let t = app.acquire_token_silent(["User.Read"], &account).force_refresh(true).await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn force_refresh(mut self, force: bool) -> Self {
        self.params.force_refresh = force;
        self
    }

    /// Another tenant of the same cloud for this request only.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication, account: oxmsal::Account) -> oxmsal::Result<()> {
    /// let t = app.acquire_token_silent(["User.Read"], &account).tenant("fabrikam.com").await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.params.tenant = Some(tenant.into());
        self
    }

    /// Uses this `client-request-id`.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication, account: oxmsal::Account) -> oxmsal::Result<()> {
    /// let t = app.acquire_token_silent(["User.Read"], &account).correlation_id("abc").await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn correlation_id(mut self, id: impl Into<String>) -> Self {
        self.params.correlation_id = id.into();
        self
    }

    /// Extra query, form and header values for a refresh (see
    /// [`RequestOptions`]); as in MSAL for Python, a cached token still
    /// answers the request.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication, account: oxmsal::Account) -> oxmsal::Result<()> {
    /// let t = app.acquire_token_silent(["User.Read"], &account)
    ///     .request_options(oxmsal::RequestOptions::new().extra_header("x-gateway-route", "blue"))
    ///     .await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn request_options(mut self, options: RequestOptions) -> Self {
        self.params.options = options;
        self
    }
}

impl<'a> IntoFuture for SilentRequest<'a> {
    type Output = Result<AuthenticationResult>;
    type IntoFuture = TokenFuture<'a>;

    fn into_future(self) -> Self::IntoFuture {
        if let Err(err) = self.params.options.check_for_token_request() {
            return TokenFuture::ready(Err(err.with_correlation_id(self.params.correlation_id)));
        }
        match silent::hot_hit(self.core, &self.params) {
            Some(mut hit) => {
                hit.correlation_id = self.params.correlation_id.into();
                TokenFuture::ready(Ok(hit))
            }
            None => TokenFuture::waiting(silent::acquire(self.core, self.credential, self.params)),
        }
    }
}

/// Starts a device code sign-in (the device authorization request); `.await`
/// it for the [`DeviceFlow`] whose `message` the user follows.
///
/// ```no_run
/// # async fn run(app: oxmsal::PublicClientApplication) -> oxmsal::Result<()> {
/// let flow = app.initiate_device_flow(["User.Read"])
///     .request_options(oxmsal::RequestOptions::new().extra_query_parameter("dc", "ESTS-PUB-WUS2"))
///     .await?;
/// eprintln!("{}", flow.message);
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a request does nothing until awaited"]
pub struct DeviceFlowInitiation<'a> {
    core: &'a AppCore,
    scopes: Vec<String>,
    options: RequestOptions,
}

impl<'a> DeviceFlowInitiation<'a> {
    pub(crate) fn new(core: &'a AppCore, scopes: Vec<String>) -> Self {
        DeviceFlowInitiation {
            core,
            scopes,
            options: RequestOptions::default(),
        }
    }

    /// Extra query, form and header values for the device authorization
    /// request (see [`RequestOptions`]).
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication) -> oxmsal::Result<()> {
    /// let flow = app.initiate_device_flow(["User.Read"])
    ///     .request_options(oxmsal::RequestOptions::new().extra_header("x-app-route", "eu"))
    ///     .await?;
    /// # let _ = flow; Ok(()) }
    /// ```
    pub fn request_options(mut self, options: RequestOptions) -> Self {
        self.options = options;
        self
    }
}

impl<'a> IntoFuture for DeviceFlowInitiation<'a> {
    type Output = Result<DeviceFlow>;
    type IntoFuture = Pending<'a, DeviceFlow>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            self.options.check_for_token_request()?;
            let scopes = crate::client::scopes::validate_sign_in_scopes(&self.scopes)?;
            device_code::initiate(self.core, scopes, &self.options, new_correlation_id()).await
        })
    }
}

/// Polls a device flow; `.await` it.
///
/// ```no_run
/// # async fn run(app: oxmsal::PublicClientApplication) -> oxmsal::Result<()> {
/// let flow = app.initiate_device_flow(["User.Read"]).await?;
/// eprintln!("{}", flow.message);
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// let token = app.acquire_token_by_device_flow(&flow).cancel_on(async move { let _ = stopped.await; }).await?;
/// # drop(stop); let _ = token; Ok(()) }
/// ```
#[must_use = "a request does nothing until awaited"]
pub struct DeviceFlowRequest<'a> {
    pub(crate) core: &'a AppCore,
    pub(crate) flow: &'a DeviceFlow,
    pub(crate) claims: Option<String>,
    pub(crate) cancel: Option<device_code::CancelSignal>,
    pub(crate) options: RequestOptions,
}

impl std::fmt::Debug for DeviceFlowRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceFlowRequest")
            .field("user_code", &self.flow.user_code)
            .field("cancellable", &self.cancel.is_some())
            .finish()
    }
}

impl DeviceFlowRequest<'_> {
    /// Stops polling (→ `Cancelled`) when `signal` completes.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication, flow: oxmsal::DeviceFlow) -> oxmsal::Result<()> {
    /// // e.g. a oneshot the app fires on Ctrl-C or when the user closes a dialog
    /// let (cancel, cancelled) = tokio::sync::oneshot::channel::<()>();
    /// let t = app.acquire_token_by_device_flow(&flow).cancel_on(async move { let _ = cancelled.await; }).await?;
    /// # drop(cancel);
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn cancel_on(mut self, signal: impl Future<Output = ()> + Send + 'static) -> Self {
        self.cancel = Some(Box::pin(signal));
        self
    }

    /// A claims request for the token.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication, flow: oxmsal::DeviceFlow) -> oxmsal::Result<()> {
    /// let t = app.acquire_token_by_device_flow(&flow).claims("{}").await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn claims(mut self, claims: impl Into<String>) -> Self {
        self.claims = Some(claims.into());
        self
    }

    /// Extra query, form and header values for the polls (see [`RequestOptions`]).
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication, flow: oxmsal::DeviceFlow) -> oxmsal::Result<()> {
    /// let t = app.acquire_token_by_device_flow(&flow)
    ///     .request_options(oxmsal::RequestOptions::new().extra_header("x-gateway-route", "blue"))
    ///     .await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn request_options(mut self, options: RequestOptions) -> Self {
        self.options = options;
        self
    }
}

impl<'a> IntoFuture for DeviceFlowRequest<'a> {
    type Output = Result<AuthenticationResult>;
    type IntoFuture = Pending<'a, AuthenticationResult>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            self.options.check_for_token_request()?;
            device_code::poll(
                self.core,
                self.flow,
                self.claims.as_deref(),
                self.cancel,
                &self.options,
            )
            .await
        })
    }
}

/// An interactive sign-in through a browser and a loopback redirect; `.await` it.
///
/// ```no_run
/// # async fn run(app: oxmsal::PublicClientApplication) -> oxmsal::Result<()> {
/// let token = app.acquire_token_interactive(["User.Read"])
///     .timeout(std::time::Duration::from_secs(120))
///     .await?;
/// # let _ = token; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a request does nothing until awaited"]
pub struct InteractiveRequest<'a> {
    pub(crate) core: &'a AppCore,
    pub(crate) credential: Option<&'a ClientCredential>,
    pub(crate) params: interactive::Params,
}

impl<'a> InteractiveRequest<'a> {
    pub(crate) fn new(core: &'a AppCore, scopes: Vec<String>) -> Self {
        InteractiveRequest {
            core,
            credential: None,
            params: interactive::Params {
                scopes,
                port: 0,
                timeout: Duration::from_secs(300),
                browser: Browser::System,
                authorize: AuthorizeOptions::default(),
                correlation_id: new_correlation_id(),
                options: RequestOptions::new(),
            },
        }
    }

    /// The loopback port (default: a free one).
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication) -> oxmsal::Result<()> {
    /// let t = app.acquire_token_interactive(["User.Read"]).port(8400).await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn port(mut self, port: u16) -> Self {
        self.params.port = port;
        self
    }

    /// How long to wait for the user (default 5 minutes; then `Cancelled`).
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication) -> oxmsal::Result<()> {
    /// let t = app.acquire_token_interactive(["User.Read"]).timeout(std::time::Duration::from_secs(60)).await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.params.timeout = timeout;
        self
    }

    /// How the URL reaches the user (default: the system browser).
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication) -> oxmsal::Result<()> {
    /// let print = oxmsal::Browser::Callback(std::sync::Arc::new(|url: &str| eprintln!("Open {url}")));
    /// let t = app.acquire_token_interactive(["User.Read"]).browser(print).await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn browser(mut self, browser: Browser) -> Self {
        self.params.browser = browser;
        self
    }

    /// Pre-fills the username.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication) -> oxmsal::Result<()> {
    /// let t = app.acquire_token_interactive(["User.Read"]).login_hint("alice@contoso.com").await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn login_hint(mut self, hint: impl Into<String>) -> Self {
        self.params.authorize.login_hint = Some(hint.into());
        self
    }

    /// `prompt` (`login`, `consent`, `select_account`).
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication) -> oxmsal::Result<()> {
    /// let t = app.acquire_token_interactive(["User.Read"]).prompt("login").await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn prompt(mut self, prompt: impl Into<String>) -> Self {
        self.params.authorize.prompt = Some(prompt.into());
        self
    }

    /// A claims challenge for the sign-in.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication) -> oxmsal::Result<()> {
    /// let t = app.acquire_token_interactive(["User.Read"]).claims("{}").await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn claims(mut self, claims: impl Into<String>) -> Self {
        self.params.authorize.claims = Some(claims.into());
        self
    }

    /// How the code comes back to the listener (default `query`).
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication) -> oxmsal::Result<()> {
    /// let t = app.acquire_token_interactive(["User.Read"]).response_mode(oxmsal::ResponseMode::FormPost).await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn response_mode(mut self, mode: ResponseMode) -> Self {
        self.params.authorize.response_mode = mode;
        self
    }

    /// Extra values (see [`RequestOptions`]): query parameters on the
    /// authorization URL and the token request, form parameters and headers
    /// on the token request.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication) -> oxmsal::Result<()> {
    /// let t = app.acquire_token_interactive(["User.Read"])
    ///     .request_options(oxmsal::RequestOptions::new().extra_query_parameter("dc", "ESTS-PUB-WUS2-AZ1-FD000-TEST1"))
    ///     .await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn request_options(mut self, options: RequestOptions) -> Self {
        self.params.options = options;
        self
    }
}

impl<'a> IntoFuture for InteractiveRequest<'a> {
    type Output = Result<AuthenticationResult>;
    type IntoFuture = Pending<'a, AuthenticationResult>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            self.params.options.check_for_token_request()?;
            interactive::acquire(self.core, self.credential, self.params).await
        })
    }
}

/// An on-behalf-of request: a downstream token for the user of an incoming
/// access token, from the cache (per incoming assertion) or the token
/// endpoint; `.await` it.
///
/// ```no_run
/// # async fn run(app: oxmsal::ConfidentialClientApplication, incoming: String) -> oxmsal::Result<()> {
/// let token = app
///     .acquire_token_on_behalf_of(oxmsal::Secret::new(incoming), ["https://graph.microsoft.com/.default"])
///     .tenant("fabrikam.com")
///     .await?;
/// # let _ = token; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a request does nothing until awaited"]
pub struct OnBehalfOfRequest<'a> {
    core: &'a AppCore,
    credential: &'a ClientCredential,
    params: on_behalf_of::Params,
}

impl<'a> OnBehalfOfRequest<'a> {
    pub(crate) fn new(
        core: &'a AppCore,
        credential: &'a ClientCredential,
        assertion: crate::secret::Secret,
        scopes: Vec<String>,
    ) -> Self {
        OnBehalfOfRequest {
            core,
            credential,
            params: on_behalf_of::Params {
                assertion,
                scopes,
                claims: None,
                tenant: None,
                force_refresh: false,
                correlation_id: new_correlation_id(),
                options: RequestOptions::new(),
            },
        }
    }

    /// Skips the cached token and asks the token endpoint.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::ConfidentialClientApplication, incoming: oxmsal::Secret) -> oxmsal::Result<()> {
    /// let t = app.acquire_token_on_behalf_of(incoming, ["api://downstream/.default"])
    ///     .force_refresh(true).await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn force_refresh(mut self, force: bool) -> Self {
        self.params.force_refresh = force;
        self
    }

    /// A claims request (JSON), e.g. from a downstream resource's claims
    /// challenge: skips the cached token and is sent with the request.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::ConfidentialClientApplication, incoming: oxmsal::Secret) -> oxmsal::Result<()> {
    /// let t = app.acquire_token_on_behalf_of(incoming, ["api://downstream/.default"])
    ///     .claims(r#"{"access_token":{"acrs":{"essential":true,"value":"c1"}}}"#).await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn claims(mut self, claims: impl Into<String>) -> Self {
        self.params.claims = Some(claims.into());
        self
    }

    /// A claims challenge parsed from a resource's `WWW-Authenticate` header;
    /// the same as [`claims`](Self::claims) with its decoded JSON.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::ConfidentialClientApplication, incoming: oxmsal::Secret, header: &str) -> oxmsal::Result<()> {
    /// if let Some(challenge) = oxmsal::ClaimsChallenge::from_www_authenticate(header)? {
    ///     let t = app.acquire_token_on_behalf_of(incoming, ["api://downstream/.default"])
    ///         .claims_challenge(&challenge).await?;
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
    /// # async fn run(app: oxmsal::ConfidentialClientApplication, incoming: oxmsal::Secret) -> oxmsal::Result<()> {
    /// let t = app.acquire_token_on_behalf_of(incoming, ["api://downstream/.default"])
    ///     .tenant("fabrikam.com").await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.params.tenant = Some(tenant.into());
        self
    }

    /// Uses this `client-request-id` instead of a new random one.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::ConfidentialClientApplication, incoming: oxmsal::Secret) -> oxmsal::Result<()> {
    /// let t = app.acquire_token_on_behalf_of(incoming, ["api://downstream/.default"])
    ///     .correlation_id("3f1c…").await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn correlation_id(mut self, id: impl Into<String>) -> Self {
        self.params.correlation_id = id.into();
        self
    }

    /// Extra query, form and header values for the token request (see
    /// [`RequestOptions`]); a cached token still answers the request.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::ConfidentialClientApplication, incoming: oxmsal::Secret) -> oxmsal::Result<()> {
    /// let t = app.acquire_token_on_behalf_of(incoming, ["api://downstream/.default"])
    ///     .request_options(oxmsal::RequestOptions::new().extra_body_parameter("x_feature", "on"))
    ///     .await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn request_options(mut self, options: RequestOptions) -> Self {
        self.params.options = options;
        self
    }
}

impl<'a> IntoFuture for OnBehalfOfRequest<'a> {
    type Output = Result<AuthenticationResult>;
    type IntoFuture = TokenFuture<'a>;

    fn into_future(self) -> Self::IntoFuture {
        if let Err(err) = self.params.options.check_for_token_request() {
            return TokenFuture::ready(Err(err.with_correlation_id(self.params.correlation_id)));
        }
        TokenFuture::waiting(on_behalf_of::acquire(
            self.core,
            self.credential,
            self.params,
        ))
    }
}

/// The scopes a caller passed, as owned strings.
pub(crate) fn collect<I, S>(scopes: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    scopes.into_iter().map(Into::into).collect()
}
