//! How an emulator is set up before it starts.

use std::path::PathBuf;
use std::time::Duration;

use crate::users::DEFAULT_USER_PASSWORD;
use crate::{DEFAULT_TENANT_DOMAIN, DEFAULT_TENANT_ID};

/// How long a request body may take to arrive unless configured otherwise.
pub(crate) const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Settings for [`crate::Emulator::start_with`].
///
/// Build it with [`EmulatorConfig::default`] and the `with_*` setters, or set the
/// public fields directly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmulatorConfig {
    /// TCP port on 127.0.0.1; `None` (the default) picks a free one.
    pub port: Option<u16>,
    /// Directory for `ca.pem` and `emulator.json`; created if missing and kept
    /// after the emulator stops. `None` uses a temporary directory removed on drop.
    pub state_dir: Option<PathBuf>,
    /// Whether `ca.pem` and `emulator.json` are written at all (default `true`).
    /// Off, the emulator touches no file: nothing is left behind however its
    /// process ends, and [`crate::Emulator::ca_path`] and
    /// [`crate::Emulator::state_dir`] are empty paths (use
    /// [`crate::Emulator::ca_pem`]).
    pub state_files: bool,
    /// The default tenant's GUID; `None` means [`DEFAULT_TENANT_ID`].
    pub tenant_id: Option<String>,
    /// Domains that name the default tenant in URLs (e.g. `contoso.onmicrosoft.com`).
    pub tenant_domains: Vec<String>,
    /// Lifetime of issued access tokens (`expires_in`, `ext_expires_in`, `exp - iat`).
    pub access_token_lifetime: Duration,
    /// When set, token responses carry `refresh_in` with this many seconds.
    pub refresh_in: Option<Duration>,
    /// Headless sign-in: an authorize request whose `login_hint` names a known user
    /// is answered at once with a code, without the sign-in page (default `true`;
    /// also [`crate::Emulator::set_auto_sign_in`]).
    pub auto_sign_in: bool,
    /// The password of the default user [`crate::DEFAULT_USERNAME`].
    pub default_user_password: String,
    /// How long a device code stays valid (`expires_in`; Entra: 900 s; at most a year).
    pub device_code_expires_in: Duration,
    /// The device code polling interval (`interval`; Entra: 5 s). Polls closer
    /// together than this get `slow_down`; zero turns that off.
    pub device_code_interval: Duration,
    /// Whether polls closer together than the interval (real time) get
    /// `slow_down`. Tests that drive the client with a manual clock turn it off
    /// and inject `slow_down` with [`crate::Emulator::device_code_slow_down_next`].
    pub device_code_enforce_interval: bool,
    /// How long an authorization code can be redeemed (Entra: 10 minutes; at most a year).
    pub authorization_code_lifetime: Duration,
    /// How long a request body may take to arrive once its head has (default
    /// 10 s); a slower one is answered 408 and its connection closed.
    pub body_read_timeout: Duration,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            port: None,
            state_dir: None,
            state_files: true,
            tenant_id: None,
            tenant_domains: vec![DEFAULT_TENANT_DOMAIN.to_owned()],
            // Entra's usual answer: one hour minus a second.
            access_token_lifetime: Duration::from_secs(3599),
            refresh_in: None,
            auto_sign_in: true,
            default_user_password: DEFAULT_USER_PASSWORD.to_owned(),
            device_code_expires_in: Duration::from_secs(900),
            device_code_interval: Duration::from_secs(5),
            device_code_enforce_interval: true,
            authorization_code_lifetime: Duration::from_secs(600),
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
        }
    }
}

impl EmulatorConfig {
    /// Listen on this port of 127.0.0.1 instead of a free one.
    #[must_use]
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Write `ca.pem` (and `emulator.json`) into this directory and keep them.
    #[must_use]
    pub fn with_state_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.state_dir = Some(dir.into());
        self
    }

    /// Write `ca.pem` and `emulator.json` (the default), or touch no file at all
    /// (an emulator embedded in a process that trusts [`crate::Emulator::ca_pem`]
    /// directly).
    ///
    /// ```
    /// let config = oxmsal_emulator::EmulatorConfig::default().with_state_files(false);
    /// assert!(!config.state_files);
    /// ```
    #[must_use]
    pub fn with_state_files(mut self, enabled: bool) -> Self {
        self.state_files = enabled;
        self
    }

    /// Use this GUID for the default tenant.
    #[must_use]
    pub fn with_tenant_id(mut self, tenant_id: impl Into<String>) -> Self {
        self.tenant_id = Some(tenant_id.into());
        self
    }

    /// Replace the domains that name the default tenant.
    #[must_use]
    pub fn with_tenant_domains<I, S>(mut self, domains: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tenant_domains = domains.into_iter().map(Into::into).collect();
        self
    }

    /// Issue access tokens valid for this long.
    #[must_use]
    pub fn with_access_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.access_token_lifetime = lifetime;
        self
    }

    /// Add `refresh_in` (whole seconds) to token responses.
    #[must_use]
    pub fn with_refresh_in(mut self, refresh_in: Duration) -> Self {
        self.refresh_in = Some(refresh_in);
        self
    }

    /// Turn headless sign-in (`login_hint` naming a known user skips the sign-in
    /// page) on or off.
    #[must_use]
    pub fn with_auto_sign_in(mut self, enabled: bool) -> Self {
        self.auto_sign_in = enabled;
        self
    }

    /// Give the default user this password instead of [`crate::DEFAULT_USER_PASSWORD`].
    #[must_use]
    pub fn with_default_user_password(mut self, password: impl Into<String>) -> Self {
        self.default_user_password = password.into();
        self
    }

    /// Device codes expire after this long (whole seconds are announced).
    #[must_use]
    pub fn with_device_code_expires_in(mut self, expires_in: Duration) -> Self {
        self.device_code_expires_in = expires_in;
        self
    }

    /// Announce (and enforce with `slow_down`) this polling interval; zero allows
    /// polling as fast as a test likes.
    #[must_use]
    pub fn with_device_code_interval(mut self, interval: Duration) -> Self {
        self.device_code_interval = interval;
        self
    }

    /// Whether polling faster than the interval (real time) is answered `slow_down`.
    #[must_use]
    pub fn with_device_code_interval_enforced(mut self, enforced: bool) -> Self {
        self.device_code_enforce_interval = enforced;
        self
    }

    /// Authorization codes expire after this long.
    #[must_use]
    pub fn with_authorization_code_lifetime(mut self, lifetime: Duration) -> Self {
        self.authorization_code_lifetime = lifetime;
        self
    }

    /// Cut a request body off (408, connection closed) when it has not fully
    /// arrived this long after the request head.
    ///
    /// ```
    /// let config = oxmsal_emulator::EmulatorConfig::default()
    ///     .with_body_read_timeout(std::time::Duration::from_millis(200));
    /// assert_eq!(config.body_read_timeout.as_millis(), 200);
    /// ```
    #[must_use]
    pub fn with_body_read_timeout(mut self, timeout: Duration) -> Self {
        self.body_read_timeout = timeout;
        self
    }

    /// The default tenant's GUID after defaults are applied.
    pub(crate) fn effective_tenant_id(&self) -> &str {
        self.tenant_id.as_deref().unwrap_or(DEFAULT_TENANT_ID)
    }
}
