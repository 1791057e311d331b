//! The blocking wrapper of [`crate::PublicClientApplication`].

use std::future::IntoFuture;

use crate::cache::Account;
use crate::error::Result;
use crate::flow::device_code::DeviceFlow;
use crate::secret::Secret;
use crate::token::AuthenticationResult;

use super::Runtime;

/// A blocking wrapper of [`crate::PublicClientApplication`]: desktop apps and
/// CLIs without an async runtime.
///
/// ```no_run
/// let app = oxmsal::PublicClientApplication::builder("client-id")
///     .authority("https://login.microsoftonline.com/organizations")
///     .build()?;
/// let app = oxmsal::blocking::PublicClientApplication::new(app)?;
/// let token = app.acquire_token_interactive(["User.Read"])?;
/// // any request option, through the async builder:
/// let token = app.run(|a| a.acquire_token_interactive(["User.Read"]).login_hint("alice@contoso.com"))?;
/// # let _ = token; Ok::<(), oxmsal::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct PublicClientApplication {
    app: crate::app::PublicClientApplication,
    runtime: Runtime,
}

impl PublicClientApplication {
    /// Wraps an application, starting a current-thread runtime for it.
    ///
    /// ```
    /// let app = oxmsal::PublicClientApplication::builder("id").build()?;
    /// let blocking = oxmsal::blocking::PublicClientApplication::new(app)?;
    /// assert_eq!(blocking.inner().client_id(), "id");
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    pub fn new(app: crate::app::PublicClientApplication) -> Result<Self> {
        Ok(PublicClientApplication {
            app,
            runtime: Runtime::new()?,
        })
    }

    /// The async application inside.
    ///
    /// ```
    /// # let app = oxmsal::PublicClientApplication::builder("id").build()?;
    /// # let blocking = oxmsal::blocking::PublicClientApplication::new(app)?;
    /// let json = blocking.inner().token_cache().serialize()?;
    /// # let _ = json; Ok::<(), oxmsal::Error>(())
    /// ```
    pub fn inner(&self) -> &crate::app::PublicClientApplication {
        &self.app
    }

    /// Runs any request of the async API to completion.
    ///
    /// ```no_run
    /// # fn f(app: oxmsal::blocking::PublicClientApplication, account: oxmsal::Account) -> oxmsal::Result<()> {
    /// let token = app.run(|a| a.acquire_token_silent(["User.Read"], &account).force_refresh(true))?;
    /// # let _ = token; Ok(()) }
    /// ```
    pub fn run<'a, F, R, T>(&'a self, request: F) -> Result<T>
    where
        F: FnOnce(&'a crate::app::PublicClientApplication) -> R,
        R: IntoFuture<Output = Result<T>>,
    {
        self.runtime.block_on(request(&self.app).into_future())
    }

    /// [`crate::PublicClientApplication::accounts`]: the accounts signed in to
    /// this app.
    ///
    /// ```
    /// # let app = oxmsal::PublicClientApplication::builder("id").build()?;
    /// let app = oxmsal::blocking::PublicClientApplication::new(app)?;
    /// assert!(app.accounts()?.is_empty());
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    pub fn accounts(&self) -> Result<Vec<Account>> {
        self.run(|app| app.accounts())
    }

    /// [`crate::PublicClientApplication::remove_account`], blocking: signs the
    /// account out of this app; returns how many cache entries went.
    ///
    /// ```
    /// let app = oxmsal::PublicClientApplication::builder("c").build()?;
    /// app.token_cache().deserialize(r#"{"Account": {"u.t-login.microsoftonline.com-t": {
    ///     "home_account_id": "u.t", "environment": "login.microsoftonline.com", "realm": "t",
    ///     "username": "alice", "authority_type": "MSSTS"}}}"#)?;
    /// let app = oxmsal::blocking::PublicClientApplication::new(app)?;
    /// for account in app.accounts()? {
    ///     app.remove_account(&account)?;
    /// }
    /// assert!(app.accounts()?.is_empty());
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    pub fn remove_account(&self, account: &Account) -> Result<usize> {
        self.run(|app| app.remove_account(account))
    }

    /// [`crate::PublicClientApplication::acquire_token_silent`], blocking: a
    /// token without user interaction, from the cache or by a refresh.
    ///
    /// ```no_run
    /// # fn f(app: oxmsal::blocking::PublicClientApplication) -> oxmsal::Result<()> {
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

    /// [`crate::PublicClientApplication::initiate_device_flow`], blocking:
    /// starts a device code sign-in; show its `message`, then complete it with
    /// [`acquire_token_by_device_flow`](Self::acquire_token_by_device_flow).
    ///
    /// ```no_run
    /// # fn f(app: oxmsal::blocking::PublicClientApplication) -> oxmsal::Result<()> {
    /// let flow = app.initiate_device_flow(["User.Read"])?;
    /// eprintln!("{}", flow.message);
    /// let token = app.acquire_token_by_device_flow(&flow)?;
    /// # let _ = token; Ok(()) }
    /// ```
    pub fn initiate_device_flow<I, S>(&self, scopes: I) -> Result<DeviceFlow>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.run(|app| app.initiate_device_flow(scopes))
    }

    /// [`crate::PublicClientApplication::acquire_token_by_device_flow`],
    /// blocking: polls until the user signs in, declines, or the code expires.
    ///
    /// ```no_run
    /// # fn f(app: oxmsal::blocking::PublicClientApplication, flow: oxmsal::DeviceFlow) -> oxmsal::Result<()> {
    /// let token = app.acquire_token_by_device_flow(&flow)?;
    /// # let _ = token; Ok(()) }
    /// ```
    pub fn acquire_token_by_device_flow(&self, flow: &DeviceFlow) -> Result<AuthenticationResult> {
        self.run(|app| app.acquire_token_by_device_flow(flow))
    }

    /// [`crate::PublicClientApplication::acquire_token_interactive`], blocking:
    /// the system browser and a loopback redirect listener. Options (port,
    /// timeout, how the URL is shown) through [`run`](Self::run).
    ///
    /// ```no_run
    /// # fn f(app: oxmsal::blocking::PublicClientApplication) -> oxmsal::Result<()> {
    /// let token = app.acquire_token_interactive(["User.Read"])?;
    /// # let _ = token; Ok(()) }
    /// ```
    pub fn acquire_token_interactive<I, S>(&self, scopes: I) -> Result<AuthenticationResult>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.run(|app| app.acquire_token_interactive(scopes))
    }

    /// [`crate::PublicClientApplication::acquire_token_by_username_password`],
    /// blocking (ROPC: managed accounts only, no MFA; prefer the device code or
    /// interactive flows).
    ///
    /// ```no_run
    /// # fn f(app: oxmsal::blocking::PublicClientApplication) -> oxmsal::Result<()> {
    /// let pw = oxmsal::Secret::new(std::env::var("PW").unwrap_or_default());
    /// let token = app.acquire_token_by_username_password("alice@contoso.com", pw, ["User.Read"])?;
    /// # let _ = token; Ok(()) }
    /// ```
    pub fn acquire_token_by_username_password<I, S>(
        &self,
        username: &str,
        password: Secret,
        scopes: I,
    ) -> Result<AuthenticationResult>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.run(|app| app.acquire_token_by_username_password(username, password, scopes))
    }
}
