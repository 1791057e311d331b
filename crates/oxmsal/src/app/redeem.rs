//! Requests that redeem what the caller holds: a started auth code flow and
//! its redirect, a username and password, a refresh token from elsewhere.

use std::collections::HashMap;
use std::future::IntoFuture;

use crate::client::scopes::validate_sign_in_scopes;
use crate::credential::ClientCredential;
use crate::error::Result;
use crate::flow::auth_code::{self, AuthCodeFlow};
use crate::flow::{refresh_token, username_password};
use crate::request_options::RequestOptions;
use crate::secret::Secret;
use crate::token::AuthenticationResult;

use super::requests::{new_correlation_id, Pending};
use crate::client::AppCore;

/// Redeems a started [`AuthCodeFlow`] with its redirect's parameters (checks
/// `state` and the id token's `nonce`); `.await` it.
///
/// ```no_run
/// # async fn run(app: oxmsal::ConfidentialClientApplication, flow: oxmsal::AuthCodeFlow, params: std::collections::HashMap<String, String>) -> oxmsal::Result<()> {
/// let token = app.acquire_token_by_auth_code_flow(&flow, &params)
///     .request_options(oxmsal::RequestOptions::new().extra_header("x-gateway-route", "blue"))
///     .await?;
/// # let _ = token; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a request does nothing until awaited"]
pub struct AuthCodeFlowRedemption<'a> {
    core: &'a AppCore,
    credential: Option<&'a ClientCredential>,
    flow: &'a AuthCodeFlow,
    response: &'a HashMap<String, String>,
    options: RequestOptions,
}

impl<'a> AuthCodeFlowRedemption<'a> {
    pub(crate) fn new(
        core: &'a AppCore,
        credential: Option<&'a ClientCredential>,
        flow: &'a AuthCodeFlow,
        response: &'a HashMap<String, String>,
    ) -> Self {
        AuthCodeFlowRedemption {
            core,
            credential,
            flow,
            response,
            options: RequestOptions::new(),
        }
    }

    /// Extra query, form and header values for the token request (see
    /// [`RequestOptions`]).
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication, flow: oxmsal::AuthCodeFlow, params: std::collections::HashMap<String, String>) -> oxmsal::Result<()> {
    /// let t = app.acquire_token_by_auth_code_flow(&flow, &params)
    ///     .request_options(oxmsal::RequestOptions::new().extra_query_parameter("dc", "ESTS-PUB-WUS2-AZ1-FD000-TEST1"))
    ///     .await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn request_options(mut self, options: RequestOptions) -> Self {
        self.options = options;
        self
    }
}

impl<'a> IntoFuture for AuthCodeFlowRedemption<'a> {
    type Output = Result<AuthenticationResult>;
    type IntoFuture = Pending<'a, AuthenticationResult>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            self.options.check_for_token_request()?;
            auth_code::acquire(
                self.core,
                self.credential,
                self.flow,
                self.response,
                &new_correlation_id(),
                &self.options,
            )
            .await
        })
    }
}

/// Username and password (ROPC); `.await` it.
///
/// ```no_run
/// # async fn run(app: oxmsal::PublicClientApplication) -> oxmsal::Result<()> {
/// let pw = oxmsal::Secret::new(std::env::var("PW").unwrap_or_default());
/// let token = app.acquire_token_by_username_password("alice@contoso.com", pw, ["User.Read"])
///     .request_options(oxmsal::RequestOptions::new().extra_body_parameter("x_feature", "on"))
///     .await?;
/// # let _ = token; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a request does nothing until awaited"]
pub struct UsernamePasswordRequest<'a> {
    core: &'a AppCore,
    username: String,
    password: Secret,
    scopes: Vec<String>,
    options: RequestOptions,
}

impl<'a> UsernamePasswordRequest<'a> {
    pub(crate) fn new(
        core: &'a AppCore,
        username: String,
        password: Secret,
        scopes: Vec<String>,
    ) -> Self {
        UsernamePasswordRequest {
            core,
            username,
            password,
            scopes,
            options: RequestOptions::new(),
        }
    }

    /// Extra query, form and header values for the token request (see
    /// [`RequestOptions`]).
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication, pw: oxmsal::Secret) -> oxmsal::Result<()> {
    /// let t = app.acquire_token_by_username_password("alice@contoso.com", pw, ["User.Read"])
    ///     .request_options(oxmsal::RequestOptions::new().extra_header("x-gateway-route", "blue"))
    ///     .await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn request_options(mut self, options: RequestOptions) -> Self {
        self.options = options;
        self
    }
}

impl<'a> IntoFuture for UsernamePasswordRequest<'a> {
    type Output = Result<AuthenticationResult>;
    type IntoFuture = Pending<'a, AuthenticationResult>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let scopes = validate_sign_in_scopes(&self.scopes)?;
            self.options.check_for_token_request()?;
            username_password::acquire(
                self.core,
                None,
                &self.username,
                self.password,
                &scopes,
                None,
                &new_correlation_id(),
                &self.options,
            )
            .await
        })
    }
}

/// Imports a refresh token obtained elsewhere; `.await` it.
///
/// ```no_run
/// # async fn run(app: oxmsal::PublicClientApplication) -> oxmsal::Result<()> {
/// let rt = oxmsal::Secret::new(std::env::var("OLD_RT").unwrap_or_default());
/// let token = app.acquire_token_by_refresh_token(rt, ["User.Read"])
///     .request_options(oxmsal::RequestOptions::new().extra_header("x-gateway-route", "blue"))
///     .await?;
/// # let _ = token; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a request does nothing until awaited"]
pub struct RefreshTokenRequest<'a> {
    core: &'a AppCore,
    refresh_token: Secret,
    scopes: Vec<String>,
    options: RequestOptions,
}

impl<'a> RefreshTokenRequest<'a> {
    pub(crate) fn new(core: &'a AppCore, refresh_token: Secret, scopes: Vec<String>) -> Self {
        RefreshTokenRequest {
            core,
            refresh_token,
            scopes,
            options: RequestOptions::new(),
        }
    }

    /// Extra query, form and header values for the token request (see
    /// [`RequestOptions`]).
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::PublicClientApplication, rt: oxmsal::Secret) -> oxmsal::Result<()> {
    /// let t = app.acquire_token_by_refresh_token(rt, ["User.Read"])
    ///     .request_options(oxmsal::RequestOptions::new().extra_body_parameter("x_feature", "on"))
    ///     .await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn request_options(mut self, options: RequestOptions) -> Self {
        self.options = options;
        self
    }
}

impl<'a> IntoFuture for RefreshTokenRequest<'a> {
    type Output = Result<AuthenticationResult>;
    type IntoFuture = Pending<'a, AuthenticationResult>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let scopes = validate_sign_in_scopes(&self.scopes)?;
            self.options.check_for_token_request()?;
            refresh_token::acquire(
                self.core,
                None,
                self.refresh_token,
                &scopes,
                &new_correlation_id(),
                &self.options,
            )
            .await
        })
    }
}
