//! How an emulator is set up before it starts.

use std::path::PathBuf;
use std::time::Duration;

use crate::{DEFAULT_TENANT_DOMAIN, DEFAULT_TENANT_ID};

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
    /// The default tenant's GUID; `None` means [`DEFAULT_TENANT_ID`].
    pub tenant_id: Option<String>,
    /// Domains that name the default tenant in URLs (e.g. `contoso.onmicrosoft.com`).
    pub tenant_domains: Vec<String>,
    /// Lifetime of issued access tokens (`expires_in`, `ext_expires_in`, `exp - iat`).
    pub access_token_lifetime: Duration,
    /// When set, token responses carry `refresh_in` with this many seconds.
    pub refresh_in: Option<Duration>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            port: None,
            state_dir: None,
            tenant_id: None,
            tenant_domains: vec![DEFAULT_TENANT_DOMAIN.to_owned()],
            // Entra's usual answer: one hour minus a second.
            access_token_lifetime: Duration::from_secs(3599),
            refresh_in: None,
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

    /// The default tenant's GUID after defaults are applied.
    pub(crate) fn effective_tenant_id(&self) -> &str {
        self.tenant_id.as_deref().unwrap_or(DEFAULT_TENANT_ID)
    }
}
