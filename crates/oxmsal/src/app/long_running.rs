//! The two requests of long-running on-behalf-of: starting a session with the
//! user's token, and continuing it later with the session key alone.

use std::future::IntoFuture;

use crate::client::AppCore;
use crate::credential::ClientCredential;
use crate::flow::{long_running_obo, on_behalf_of};
use crate::request_options::RequestOptions;
use crate::secret::Secret;
use crate::token::AuthenticationResult;

use super::requests::{new_correlation_id, Pending};
use super::TokenFuture;

/// Starts a long-running on-behalf-of session: an on-behalf-of grant whose
/// tokens (the downstream access token and the user's refresh token) are filed
/// under a session key; `.await` it for the token and the key. See
/// [`ConfidentialClientApplication::initiate_long_running_on_behalf_of`](crate::ConfidentialClientApplication::initiate_long_running_on_behalf_of).
///
/// ```no_run
/// # async fn run(app: oxmsal::ConfidentialClientApplication, incoming: String) -> oxmsal::Result<()> {
/// let (token, session_key) = app
///     .initiate_long_running_on_behalf_of(oxmsal::Secret::new(incoming), ["https://graph.microsoft.com/.default"])
///     .session_key("report-job-42")
///     .await?;
/// # let _ = (token, session_key); Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a request does nothing until awaited"]
pub struct LongRunningOnBehalfOfRequest<'a> {
    core: &'a AppCore,
    credential: &'a ClientCredential,
    params: on_behalf_of::Params,
    session_key: Option<String>,
}

impl<'a> LongRunningOnBehalfOfRequest<'a> {
    pub(crate) fn new(
        core: &'a AppCore,
        credential: &'a ClientCredential,
        assertion: Secret,
        scopes: Vec<String>,
    ) -> Self {
        LongRunningOnBehalfOfRequest {
            core,
            credential,
            params: on_behalf_of::Params {
                assertion,
                scopes,
                claims: None,
                tenant: None,
                force_refresh: false,
                options: RequestOptions::default(),
                correlation_id: new_correlation_id(),
            },
            session_key: None,
        }
    }

    /// Extra query, form and header values for the on-behalf-of grant (see
    /// [`RequestOptions`]).
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::ConfidentialClientApplication, incoming: oxmsal::Secret) -> oxmsal::Result<()> {
    /// let options = oxmsal::RequestOptions::new().extra_query_parameter("dc", "ESTS-PUB-WUS2");
    /// let (_, key) = app.initiate_long_running_on_behalf_of(incoming, ["api://downstream/.default"])
    ///     .request_options(options).await?;
    /// # let _ = key; Ok(()) }
    /// ```
    pub fn request_options(mut self, options: RequestOptions) -> Self {
        self.params.options = options;
        self
    }

    /// Files the session under this key instead of the incoming token's hash
    /// (a job id, say). A key already in use continues that session's cache.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::ConfidentialClientApplication, incoming: oxmsal::Secret) -> oxmsal::Result<()> {
    /// let (_, key) = app.initiate_long_running_on_behalf_of(incoming, ["api://downstream/.default"])
    ///     .session_key("job-42").await?;
    /// assert_eq!(key, "job-42");
    /// # Ok(()) }
    /// ```
    pub fn session_key(mut self, key: impl Into<String>) -> Self {
        self.session_key = Some(key.into());
        self
    }

    /// A claims request (JSON), e.g. from a downstream resource's claims
    /// challenge: skips the cached token and is sent with the request.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::ConfidentialClientApplication, incoming: oxmsal::Secret) -> oxmsal::Result<()> {
    /// let (t, _) = app.initiate_long_running_on_behalf_of(incoming, ["api://downstream/.default"])
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
    ///     let (t, _) = app.initiate_long_running_on_behalf_of(incoming, ["api://downstream/.default"])
    ///         .claims_challenge(&challenge).await?;
    /// #   let _ = t;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn claims_challenge(self, challenge: &crate::challenge::ClaimsChallenge) -> Self {
        self.claims(challenge.claims_json())
    }

    /// Another tenant of the same cloud; the session stays in it.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::ConfidentialClientApplication, incoming: oxmsal::Secret) -> oxmsal::Result<()> {
    /// let (t, _) = app.initiate_long_running_on_behalf_of(incoming, ["api://downstream/.default"])
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
    /// let (t, _) = app.initiate_long_running_on_behalf_of(incoming, ["api://downstream/.default"])
    ///     .correlation_id("3f1c…").await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn correlation_id(mut self, id: impl Into<String>) -> Self {
        self.params.correlation_id = id.into();
        self
    }
}

impl<'a> IntoFuture for LongRunningOnBehalfOfRequest<'a> {
    type Output = crate::Result<(AuthenticationResult, String)>;
    type IntoFuture = Pending<'a, (AuthenticationResult, String)>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            self.params.options.check_for_token_request()?;
            let key = match self.session_key {
                Some(key) if key.trim().is_empty() => {
                    return Err(crate::Error::configuration(
                        "the long-running on-behalf-of session key is empty",
                    ))
                }
                Some(key) => key,
                None => on_behalf_of::assertion_hash(&self.params.assertion),
            };
            let result =
                on_behalf_of::acquire_under(self.core, self.credential, self.params, &key).await?;
            Ok((result, key))
        })
    }
}

/// A token in a long-running on-behalf-of session, found by its session key:
/// the session's cached access token, else one redeemed with the session's
/// refresh token; `.await` it. See
/// [`ConfidentialClientApplication::acquire_token_in_long_running_process`](crate::ConfidentialClientApplication::acquire_token_in_long_running_process).
///
/// ```no_run
/// # async fn run(app: oxmsal::ConfidentialClientApplication, session_key: String) -> oxmsal::Result<()> {
/// let token = app
///     .acquire_token_in_long_running_process(session_key, ["https://graph.microsoft.com/.default"])
///     .await?;
/// # let _ = token; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a request does nothing until awaited"]
pub struct LongRunningProcessRequest<'a> {
    core: &'a AppCore,
    credential: &'a ClientCredential,
    params: long_running_obo::Params,
}

impl<'a> LongRunningProcessRequest<'a> {
    pub(crate) fn new(
        core: &'a AppCore,
        credential: &'a ClientCredential,
        session_key: String,
        scopes: Vec<String>,
    ) -> Self {
        LongRunningProcessRequest {
            core,
            credential,
            params: long_running_obo::Params {
                session_key,
                scopes,
                claims: None,
                force_refresh: false,
                options: RequestOptions::default(),
                correlation_id: new_correlation_id(),
            },
        }
    }

    /// Extra query, form and header values for the refresh (see
    /// [`RequestOptions`]); a cached token still answers the request.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::ConfidentialClientApplication, key: String) -> oxmsal::Result<()> {
    /// let options = oxmsal::RequestOptions::new().extra_header("x-job", "nightly");
    /// let t = app.acquire_token_in_long_running_process(key, ["api://downstream/.default"])
    ///     .request_options(options).await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn request_options(mut self, options: RequestOptions) -> Self {
        self.params.options = options;
        self
    }

    /// Skips the cached access token and redeems the session's refresh token.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::ConfidentialClientApplication, key: String) -> oxmsal::Result<()> {
    /// let t = app.acquire_token_in_long_running_process(key, ["api://downstream/.default"])
    ///     .force_refresh(true).await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn force_refresh(mut self, force: bool) -> Self {
        self.params.force_refresh = force;
        self
    }

    /// A claims request (JSON), e.g. from a downstream resource's claims
    /// challenge: skips the cached access token and is sent with the refresh.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::ConfidentialClientApplication, key: String) -> oxmsal::Result<()> {
    /// let t = app.acquire_token_in_long_running_process(key, ["api://downstream/.default"])
    ///     .claims(r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#).await?;
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
    /// # async fn run(app: oxmsal::ConfidentialClientApplication, key: String, header: &str) -> oxmsal::Result<()> {
    /// if let Some(challenge) = oxmsal::ClaimsChallenge::from_www_authenticate(header)? {
    ///     let t = app.acquire_token_in_long_running_process(key, ["api://downstream/.default"])
    ///         .claims_challenge(&challenge).await?;
    /// #   let _ = t;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn claims_challenge(self, challenge: &crate::challenge::ClaimsChallenge) -> Self {
        self.claims(challenge.claims_json())
    }

    /// Uses this `client-request-id` instead of a new random one.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::ConfidentialClientApplication, key: String) -> oxmsal::Result<()> {
    /// let t = app.acquire_token_in_long_running_process(key, ["api://downstream/.default"])
    ///     .correlation_id("3f1c…").await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn correlation_id(mut self, id: impl Into<String>) -> Self {
        self.params.correlation_id = id.into();
        self
    }
}

impl<'a> IntoFuture for LongRunningProcessRequest<'a> {
    type Output = crate::Result<AuthenticationResult>;
    type IntoFuture = TokenFuture<'a>;

    fn into_future(self) -> Self::IntoFuture {
        if let Err(err) = self.params.options.check_for_token_request() {
            return TokenFuture::ready(Err(err.with_correlation_id(self.params.correlation_id)));
        }
        TokenFuture::waiting(long_running_obo::acquire(
            self.core,
            self.credential,
            self.params,
        ))
    }
}
