//! The authorization request, as a started flow or as a bare URL, and the
//! redemption of a code obtained elsewhere.

use std::future::IntoFuture;
use std::marker::PhantomData;

use url::Url;

use crate::credential::ClientCredential;
use crate::error::Result;
use crate::flow::auth_code::{self, AuthCodeFlow, AuthorizeOptions, Code, ResponseMode, UrlParams};
use crate::request_options::RequestOptions;
use crate::secret::Secret;
use crate::token::AuthenticationResult;

use super::requests::new_correlation_id;
use crate::client::AppCore;

/// What an [`AuthorizeRequest`] makes: a started flow (state, nonce and PKCE
/// made and kept for you) or only the URL (yours to make and keep).
pub trait AuthorizeOutput: sealed::Sealed {}

mod sealed {
    pub trait Sealed {}
}

/// An [`AuthorizeRequest`] that starts an [`AuthCodeFlow`].
#[derive(Debug)]
pub enum StartsFlow {}
/// An [`AuthorizeRequest`] that builds the authorization URL only.
#[derive(Debug)]
pub enum UrlOnly {}
impl sealed::Sealed for StartsFlow {}
impl sealed::Sealed for UrlOnly {}
impl AuthorizeOutput for StartsFlow {}
impl AuthorizeOutput for UrlOnly {}

/// Starts an authorization code flow; `.await` it for the [`AuthCodeFlow`].
///
/// ```no_run
/// # async fn run(app: oxmsal::PublicClientApplication) -> oxmsal::Result<()> {
/// let flow = app.initiate_auth_code_flow(["User.Read"], "http://localhost:8400")
///     .login_hint("alice@contoso.com").await?;
/// # let _ = flow; Ok(()) }
/// ```
pub type AuthCodeFlowRequest<'a> = AuthorizeRequest<'a, StartsFlow>;

/// Builds an authorization request URL with your own `state`, `nonce` and
/// PKCE challenge (MSAL's `get_authorization_request_url`); `.await` it.
/// Redeem the code with `acquire_token_by_authorization_code`.
///
/// ```no_run
/// # async fn run(app: oxmsal::ConfidentialClientApplication) -> oxmsal::Result<()> {
/// let url = app.authorization_request_url(["User.Read"], "https://app.example/cb")
///     .state("s-123").nonce("n-456").prompt("select_account").await?;
/// println!("{url}");
/// # Ok(()) }
/// ```
pub type AuthorizationUrlRequest<'a> = AuthorizeRequest<'a, UrlOnly>;

/// An authorization request: the options both forms share. See
/// [`AuthCodeFlowRequest`] and [`AuthorizationUrlRequest`].
///
/// ```no_run
/// # async fn run(app: oxmsal::PublicClientApplication) -> oxmsal::Result<()> {
/// let request: oxmsal::app::AuthorizeRequest<'_, oxmsal::app::StartsFlow> =
///     app.initiate_auth_code_flow(["User.Read"], "http://localhost").max_age(3600);
/// let flow = request.await?;
/// # let _ = flow; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a request does nothing until awaited"]
pub struct AuthorizeRequest<'a, K: AuthorizeOutput> {
    core: &'a AppCore,
    scopes: Vec<String>,
    redirect_uri: String,
    options: AuthorizeOptions,
    url: UrlParams,
    extra: RequestOptions,
    kind: PhantomData<K>,
}

impl<'a, K: AuthorizeOutput> AuthorizeRequest<'a, K> {
    pub(crate) fn new(core: &'a AppCore, scopes: Vec<String>, redirect_uri: String) -> Self {
        AuthorizeRequest {
            core,
            scopes,
            redirect_uri,
            options: AuthorizeOptions::default(),
            url: UrlParams::default(),
            extra: RequestOptions::new(),
            kind: PhantomData,
        }
    }

    /// Pre-fills the username.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication) -> oxmsal::Result<()> {
    /// let f = app.initiate_auth_code_flow(["User.Read"], "http://localhost").login_hint("alice@contoso.com").await?;
    /// # let _ = f; Ok(()) }
    /// ```
    pub fn login_hint(mut self, hint: impl Into<String>) -> Self {
        self.options.login_hint = Some(hint.into());
        self
    }

    /// Skips home realm discovery: `consumers`, `organizations` or a domain.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication) -> oxmsal::Result<()> {
    /// let f = app.initiate_auth_code_flow(["User.Read"], "http://localhost").domain_hint("contoso.com").await?;
    /// # let _ = f; Ok(()) }
    /// ```
    pub fn domain_hint(mut self, hint: impl Into<String>) -> Self {
        self.options.domain_hint = Some(hint.into());
        self
    }

    /// `prompt` (`login`, `consent`, `select_account`, `none`, `create`).
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication) -> oxmsal::Result<()> {
    /// let f = app.initiate_auth_code_flow(["User.Read"], "http://localhost").prompt("select_account").await?;
    /// # let _ = f; Ok(()) }
    /// ```
    pub fn prompt(mut self, prompt: impl Into<String>) -> Self {
        self.options.prompt = Some(prompt.into());
        self
    }

    /// OpenID Connect `max_age`: if the user signed in actively longer ago
    /// than this many seconds, they sign in again.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication) -> oxmsal::Result<()> {
    /// let f = app.initiate_auth_code_flow(["User.Read"], "http://localhost").max_age(600).await?;
    /// # let _ = f; Ok(()) }
    /// ```
    pub fn max_age(mut self, seconds: u64) -> Self {
        self.options.max_age = Some(seconds);
        self
    }

    /// A claims request (JSON) for the sign-in, e.g. from a claims challenge;
    /// the app's client capabilities are merged in.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication) -> oxmsal::Result<()> {
    /// let f = app.initiate_auth_code_flow(["User.Read"], "http://localhost").claims("{}").await?;
    /// # let _ = f; Ok(()) }
    /// ```
    pub fn claims(mut self, claims: impl Into<String>) -> Self {
        self.options.claims = Some(claims.into());
        self
    }

    /// Scopes of other resources the user consents to in the same sign-in;
    /// their tokens come later from `acquire_token_silent`.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication) -> oxmsal::Result<()> {
    /// let f = app.initiate_auth_code_flow(["User.Read"], "http://localhost")
    ///     .extra_scopes_to_consent(["https://storage.azure.com/user_impersonation"]).await?;
    /// # let _ = f; Ok(()) }
    /// ```
    pub fn extra_scopes_to_consent<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.options.extra_scopes_to_consent = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// How the code comes back (default `query`).
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication) -> oxmsal::Result<()> {
    /// let f = app.initiate_auth_code_flow(["User.Read"], "https://app.example/cb").response_mode(oxmsal::ResponseMode::FormPost).await?;
    /// # let _ = f; Ok(()) }
    /// ```
    pub fn response_mode(mut self, mode: ResponseMode) -> Self {
        self.options.response_mode = mode;
        self
    }

    /// Extra query parameters for the authorization URL (see
    /// [`RequestOptions`]); form parameters and headers are refused (a URL
    /// carries neither), as are the parameters oxmsal sets itself.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication) -> oxmsal::Result<()> {
    /// let f = app.initiate_auth_code_flow(["User.Read"], "http://localhost")
    ///     .request_options(oxmsal::RequestOptions::new().extra_query_parameter("dc", "ESTS-PUB-WUS2-AZ1-FD000-TEST1"))
    ///     .await?;
    /// # let _ = f; Ok(()) }
    /// ```
    pub fn request_options(mut self, options: RequestOptions) -> Self {
        self.extra = options;
        self
    }
}

impl AuthorizeRequest<'_, UrlOnly> {
    /// The `state` the redirect must echo (yours to check).
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::ConfidentialClientApplication) -> oxmsal::Result<()> {
    /// let url = app.authorization_request_url(["User.Read"], "https://app.example/cb").state("s-123").await?;
    /// # let _ = url; Ok(()) }
    /// ```
    pub fn state(mut self, state: impl Into<String>) -> Self {
        self.url.state = Some(state.into());
        self
    }

    /// The `nonce` the id token must carry (pass it again when redeeming).
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::ConfidentialClientApplication) -> oxmsal::Result<()> {
    /// let url = app.authorization_request_url(["User.Read"], "https://app.example/cb").nonce("n-456").await?;
    /// # let _ = url; Ok(()) }
    /// ```
    pub fn nonce(mut self, nonce: impl Into<String>) -> Self {
        self.url.nonce = Some(nonce.into());
        self
    }

    /// The PKCE code challenge (RFC 7636 `S256`: base64url of the SHA-256 of
    /// your verifier); pass the verifier when redeeming.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::ConfidentialClientApplication) -> oxmsal::Result<()> {
    /// let url = app.authorization_request_url(["User.Read"], "https://app.example/cb")
    ///     .code_challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM").await?;
    /// # let _ = url; Ok(()) }
    /// ```
    pub fn code_challenge(mut self, challenge: impl Into<String>) -> Self {
        self.url.code_challenge = Some(challenge.into());
        self
    }
}

impl<'a> IntoFuture for AuthorizeRequest<'a, StartsFlow> {
    type Output = Result<AuthCodeFlow>;
    type IntoFuture = super::requests::Pending<'a, AuthCodeFlow>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            self.extra.check_for_authorization_url()?;
            let id = new_correlation_id();
            auth_code::initiate(
                self.core,
                &self.scopes,
                &self.redirect_uri,
                self.options,
                &self.extra,
                &id,
            )
            .await
        })
    }
}

impl<'a> IntoFuture for AuthorizeRequest<'a, UrlOnly> {
    type Output = Result<Url>;
    type IntoFuture = super::requests::Pending<'a, Url>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            self.extra.check_for_authorization_url()?;
            let id = new_correlation_id();
            auth_code::authorization_url(
                self.core,
                &self.scopes,
                &self.redirect_uri,
                &self.options,
                self.url,
                &self.extra,
                &id,
            )
            .await
        })
    }
}

/// Redeems an authorization code obtained elsewhere (your own redirect
/// handling); `.await` it.
///
/// ```no_run
/// # async fn run(app: oxmsal::ConfidentialClientApplication, code: String) -> oxmsal::Result<()> {
/// let token = app
///     .acquire_token_by_authorization_code(oxmsal::Secret::new(code), ["User.Read"], "https://app.example/cb")
///     .pkce_verifier(oxmsal::Secret::new("the verifier"))
///     .nonce("n-456")
///     .await?;
/// # let _ = token; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a request does nothing until awaited"]
pub struct AuthorizationCodeRequest<'a> {
    core: &'a AppCore,
    credential: Option<&'a ClientCredential>,
    code: Secret,
    scopes: Vec<String>,
    redirect_uri: String,
    verifier: Option<Secret>,
    nonce: Option<String>,
    claims: Option<String>,
    correlation_id: Option<String>,
    options: RequestOptions,
}

impl<'a> AuthorizationCodeRequest<'a> {
    pub(crate) fn new(
        core: &'a AppCore,
        credential: Option<&'a ClientCredential>,
        code: Secret,
        scopes: Vec<String>,
        redirect_uri: String,
    ) -> Self {
        AuthorizationCodeRequest {
            core,
            credential,
            code,
            scopes,
            redirect_uri,
            verifier: None,
            nonce: None,
            claims: None,
            correlation_id: None,
            options: RequestOptions::new(),
        }
    }

    /// The PKCE verifier whose challenge the authorization request sent.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication, code: oxmsal::Secret) -> oxmsal::Result<()> {
    /// let t = app.acquire_token_by_authorization_code(code, ["User.Read"], "http://localhost")
    ///     .pkce_verifier(oxmsal::Secret::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")).await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn pkce_verifier(mut self, verifier: Secret) -> Self {
        self.verifier = Some(verifier);
        self
    }

    /// The nonce the authorization request sent: the id token must carry it.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication, code: oxmsal::Secret) -> oxmsal::Result<()> {
    /// let t = app.acquire_token_by_authorization_code(code, ["User.Read"], "http://localhost").nonce("n-456").await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn nonce(mut self, nonce: impl Into<String>) -> Self {
        self.nonce = Some(nonce.into());
        self
    }

    /// A claims request (JSON) sent with the code; capabilities merged in.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication, code: oxmsal::Secret) -> oxmsal::Result<()> {
    /// let t = app.acquire_token_by_authorization_code(code, ["User.Read"], "http://localhost").claims("{}").await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn claims(mut self, claims: impl Into<String>) -> Self {
        self.claims = Some(claims.into());
        self
    }

    /// Uses this `client-request-id` instead of a new random one.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication, code: oxmsal::Secret) -> oxmsal::Result<()> {
    /// let t = app.acquire_token_by_authorization_code(code, ["User.Read"], "http://localhost").correlation_id("c-1").await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn correlation_id(mut self, id: impl Into<String>) -> Self {
        self.correlation_id = Some(id.into());
        self
    }

    /// Extra query, form and header values for the token request (see
    /// [`RequestOptions`]).
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication, code: oxmsal::Secret) -> oxmsal::Result<()> {
    /// let t = app.acquire_token_by_authorization_code(code, ["User.Read"], "http://localhost")
    ///     .request_options(oxmsal::RequestOptions::new().extra_header("x-gateway-route", "blue"))
    ///     .await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn request_options(mut self, options: RequestOptions) -> Self {
        self.options = options;
        self
    }
}

impl<'a> IntoFuture for AuthorizationCodeRequest<'a> {
    type Output = Result<AuthenticationResult>;
    type IntoFuture = super::requests::Pending<'a, AuthenticationResult>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            self.options.check_for_token_request()?;
            let id = self.correlation_id.unwrap_or_else(new_correlation_id);
            let code = Code {
                code: self.code,
                scopes: &self.scopes,
                redirect_uri: &self.redirect_uri,
                code_verifier: self.verifier,
                nonce: self.nonce.as_deref(),
                claims: self.claims.as_deref(),
                options: &self.options,
            };
            auth_code::redeem_code(self.core, self.credential, code, &id).await
        })
    }
}
