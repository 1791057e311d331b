//! The blocking wrapper of [`crate::ConfidentialClientApplication`].

use std::collections::HashMap;
use std::future::IntoFuture;

use crate::cache::Account;
use crate::error::Result;
use crate::flow::auth_code::AuthCodeFlow;
use crate::secret::Secret;
use crate::token::AuthenticationResult;

use super::Runtime;

/// A blocking wrapper of [`crate::ConfidentialClientApplication`]: daemons, web
/// apps and web APIs without an async runtime.
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
    app: crate::app::ConfidentialClientApplication,
    runtime: Runtime,
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
    pub fn new(app: crate::app::ConfidentialClientApplication) -> Result<Self> {
        Ok(ConfidentialClientApplication {
            app,
            runtime: Runtime::new()?,
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
    pub fn inner(&self) -> &crate::app::ConfidentialClientApplication {
        &self.app
    }

    /// Runs any request of the async API to completion.
    ///
    /// ```no_run
    /// # fn f(app: oxmsal::blocking::ConfidentialClientApplication) -> oxmsal::Result<()> {
    /// let token = app.run(|a| a.acquire_token_for_client(["api://demo/.default"]).tenant("fabrikam.com"))?;
    /// # let _ = token; Ok(()) }
    /// ```
    pub fn run<'a, F, R, T>(&'a self, request: F) -> Result<T>
    where
        F: FnOnce(&'a crate::app::ConfidentialClientApplication) -> R,
        R: IntoFuture<Output = Result<T>>,
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

    /// [`crate::ConfidentialClientApplication::accounts`]: the accounts signed
    /// in to this app (web apps).
    ///
    /// ```
    /// # use oxmsal::{credential::ClientCredential, ConfidentialClientApplication};
    /// # let app = ConfidentialClientApplication::builder("id", ClientCredential::secret("s")).build().unwrap();
    /// let app = oxmsal::blocking::ConfidentialClientApplication::new(app)?;
    /// assert!(app.accounts()?.is_empty());
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    pub fn accounts(&self) -> Result<Vec<Account>> {
        self.run(|app| app.accounts())
    }

    /// [`crate::ConfidentialClientApplication::remove_account`], blocking.
    ///
    /// ```
    /// # use oxmsal::{credential::ClientCredential, ConfidentialClientApplication};
    /// # let app = ConfidentialClientApplication::builder("c", ClientCredential::secret("s")).build()?;
    /// app.token_cache().deserialize(r#"{"Account": {"u.t-login.microsoftonline.com-t": {
    ///     "home_account_id": "u.t", "environment": "login.microsoftonline.com", "realm": "t",
    ///     "username": "alice", "authority_type": "MSSTS"}}}"#)?;
    /// let app = oxmsal::blocking::ConfidentialClientApplication::new(app)?;
    /// for account in app.accounts()? {
    ///     app.remove_account(&account)?;
    /// }
    /// assert!(app.accounts()?.is_empty());
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    pub fn remove_account(&self, account: &Account) -> Result<usize> {
        self.run(|app| app.remove_account(account))
    }

    /// [`crate::ConfidentialClientApplication::remove_tokens_for_client`],
    /// blocking: the app's own tokens go; returns how many.
    ///
    /// ```
    /// # use oxmsal::{credential::ClientCredential, ConfidentialClientApplication};
    /// # let app = ConfidentialClientApplication::builder("c", ClientCredential::secret("s")).build()?;
    /// let app = oxmsal::blocking::ConfidentialClientApplication::new(app)?;
    /// assert_eq!(app.remove_tokens_for_client()?, 0);
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    pub fn remove_tokens_for_client(&self) -> Result<usize> {
        self.run(|app| app.remove_tokens_for_client())
    }

    /// [`crate::ConfidentialClientApplication::acquire_token_silent`], blocking:
    /// a signed-in user's token from the cache, or a refresh.
    ///
    /// ```no_run
    /// # fn f(app: oxmsal::blocking::ConfidentialClientApplication) -> oxmsal::Result<()> {
    /// if let Some(account) = app.accounts()?.first() {
    ///     let token = app.acquire_token_silent(["User.Read"], account)?;
    ///     # let _ = token;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn acquire_token_silent<I, S>(
        &self,
        scopes: I,
        account: &Account,
    ) -> Result<AuthenticationResult>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.run(|app| app.acquire_token_silent(scopes, account))
    }

    /// [`crate::ConfidentialClientApplication::acquire_token_on_behalf_of`],
    /// blocking: a downstream token for the user whose token your API received.
    ///
    /// ```no_run
    /// # fn f(app: oxmsal::blocking::ConfidentialClientApplication, incoming: String) -> oxmsal::Result<()> {
    /// let token = app.acquire_token_on_behalf_of(
    ///     oxmsal::Secret::new(incoming),
    ///     ["https://graph.microsoft.com/.default"],
    /// )?;
    /// # let _ = token; Ok(()) }
    /// ```
    pub fn acquire_token_on_behalf_of<I, S>(
        &self,
        assertion: Secret,
        scopes: I,
    ) -> Result<AuthenticationResult>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.run(|app| app.acquire_token_on_behalf_of(assertion, scopes))
    }

    /// [`crate::ConfidentialClientApplication::initiate_auth_code_flow`],
    /// blocking: a web app's sign-in URL (PKCE, state, nonce).
    ///
    /// ```no_run
    /// # fn f(app: oxmsal::blocking::ConfidentialClientApplication) -> oxmsal::Result<()> {
    /// let flow = app.initiate_auth_code_flow(["User.Read"], "https://app.example/callback")?;
    /// // redirect the user to flow.auth_uri, keep `flow` in the session
    /// # let _ = flow; Ok(()) }
    /// ```
    pub fn initiate_auth_code_flow<I, S>(
        &self,
        scopes: I,
        redirect_uri: impl Into<String>,
    ) -> Result<AuthCodeFlow>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.run(|app| app.initiate_auth_code_flow(scopes, redirect_uri))
    }

    /// [`crate::ConfidentialClientApplication::acquire_token_by_auth_code_flow`],
    /// blocking: redeems the redirect's parameters (checks `state` and `nonce`).
    ///
    /// ```no_run
    /// # fn f(app: oxmsal::blocking::ConfidentialClientApplication, flow: oxmsal::AuthCodeFlow, params: std::collections::HashMap<String, String>) -> oxmsal::Result<()> {
    /// let token = app.acquire_token_by_auth_code_flow(&flow, &params)?;
    /// # let _ = token; Ok(()) }
    /// ```
    pub fn acquire_token_by_auth_code_flow(
        &self,
        flow: &AuthCodeFlow,
        response: &HashMap<String, String>,
    ) -> Result<AuthenticationResult> {
        self.run(|app| app.acquire_token_by_auth_code_flow(flow, response))
    }
}
