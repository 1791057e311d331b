//! The one builder both application kinds share: every option is validated in
//! `build()`, before any request could be sent, and nothing touches the network.

use std::sync::Arc;
use std::time::Duration;

use crate::authority::discovery::Discovery;

use crate::authority::{Authority, InstanceDiscovery};
use crate::cache::persist::CachePersistence;
use crate::cache::TokenCache;
use crate::clock::{Clock, SystemClock};
use crate::credential::ClientCredential;
use crate::error::{Error, Result};
use crate::http::{HttpClient, HttpConfig, ReqwestClient, RetryPolicy, ThrottleStore};

use crate::client::AppCore;

/// The default authority when none is given.
pub(crate) const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com/common";

/// Marks a builder of a [`ConfidentialClientApplication`]; holds its credential.
#[derive(Debug)]
pub struct Confidential {
    pub(super) credential: ClientCredential,
}

/// Marks a builder of a [`crate::PublicClientApplication`].
#[derive(Debug)]
pub struct Public;

/// Builds an application. Options shared by every kind live here once.
///
/// ```
/// use oxmsal::{ConfidentialClientApplication, credential::ClientCredential};
/// let app = ConfidentialClientApplication::builder("00000000-0000-0000-0000-000000000001", ClientCredential::secret("s"))
///     .authority("https://login.microsoftonline.com/contoso.onmicrosoft.com")
///     .client_capabilities(["CP1"])
///     .build()
///     .unwrap();
/// # let _ = app;
/// ```
#[derive(Debug)]
pub struct AppBuilder<K> {
    kind: K,
    client_id: String,
    authority: Option<String>,
    oidc: bool,
    instance_discovery: InstanceDiscovery,
    allow_http_loopback: bool,
    http_config: HttpConfig,
    http_client: Option<Arc<dyn HttpClient>>,
    retry: RetryPolicy,
    clock: Option<Arc<dyn Clock>>,
    cache: Option<TokenCache>,
    persistence: Option<Arc<dyn CachePersistence>>,
    throttle: Option<ThrottleStore>,
    capabilities: Vec<String>,
    log_pii: bool,
}

impl<K> AppBuilder<K> {
    pub(crate) fn with_kind(client_id: impl Into<String>, kind: K) -> Self {
        AppBuilder {
            kind,
            client_id: client_id.into(),
            authority: None,
            oidc: false,
            instance_discovery: InstanceDiscovery::default(),
            allow_http_loopback: false,
            http_config: HttpConfig::default(),
            http_client: None,
            retry: RetryPolicy::default(),
            clock: None,
            cache: None,
            persistence: None,
            throttle: None,
            capabilities: Vec::new(),
            log_pii: false,
        }
    }

    /// An Entra ID (or ADFS, B2C, CIAM) authority, `https://host/tenant`.
    /// Default: `https://login.microsoftonline.com/common`.
    ///
    /// ```
    /// # use oxmsal::{ConfidentialClientApplication, credential::ClientCredential};
    /// let err = ConfidentialClientApplication::builder("id", ClientCredential::secret("s"))
    ///     .authority("http://login.microsoftonline.com/common").build().unwrap_err();
    /// assert_eq!(err.kind(), oxmsal::ErrorKind::Configuration);
    /// ```
    pub fn authority(mut self, authority: impl Into<String>) -> Self {
        self.authority = Some(authority.into());
        self.oidc = false;
        self
    }

    /// Any OpenID Connect issuer as the authority (no Entra ID specifics).
    ///
    /// ```
    /// # use oxmsal::{ConfidentialClientApplication, credential::ClientCredential};
    /// let app = ConfidentialClientApplication::builder("id", ClientCredential::secret("s"))
    ///     .oidc_authority("https://idp.example/tenant1").build().unwrap();
    /// # let _ = app;
    /// ```
    pub fn oidc_authority(mut self, issuer: impl Into<String>) -> Self {
        self.authority = Some(issuer.into());
        self.oidc = true;
        self
    }

    /// Whether and where Entra ID instance discovery runs.
    ///
    /// ```
    /// # use oxmsal::{ConfidentialClientApplication, credential::ClientCredential, authority::InstanceDiscovery};
    /// let b = ConfidentialClientApplication::builder("id", ClientCredential::secret("s"))
    ///     .instance_discovery(InstanceDiscovery::Disabled);
    /// # let _ = b;
    /// ```
    pub fn instance_discovery(mut self, setting: InstanceDiscovery) -> Self {
        self.instance_discovery = setting;
        self
    }

    /// Allows plain `http://` to loopback hosts (127.0.0.1, ::1, localhost) — for
    /// local test servers only. Every other host needs https regardless.
    ///
    /// ```
    /// # use oxmsal::{ConfidentialClientApplication, credential::ClientCredential};
    /// let app = ConfidentialClientApplication::builder("id", ClientCredential::secret("s"))
    ///     .authority("http://127.0.0.1:8080/tenant").allow_insecure_http_loopback(true).build();
    /// assert!(app.is_ok());
    /// ```
    pub fn allow_insecure_http_loopback(mut self, allow: bool) -> Self {
        self.allow_http_loopback = allow;
        self
    }

    /// Trusts an extra root certificate (PEM), e.g. a local server's CA.
    ///
    /// ```
    /// # use oxmsal::{ConfidentialClientApplication, credential::ClientCredential};
    /// let err = ConfidentialClientApplication::builder("id", ClientCredential::secret("s"))
    ///     .extra_root_certificate_pem(b"garbage".to_vec()).build().unwrap_err();
    /// assert_eq!(err.kind(), oxmsal::ErrorKind::Configuration);
    /// ```
    pub fn extra_root_certificate_pem(mut self, pem: Vec<u8>) -> Self {
        self.http_config.extra_roots_pem.push(pem);
        self
    }

    /// Transport settings (timeouts, roots) of the default HTTP client.
    ///
    /// ```
    /// # use oxmsal::{ConfidentialClientApplication, credential::ClientCredential, http::HttpConfig};
    /// let b = ConfidentialClientApplication::builder("id", ClientCredential::secret("s"))
    ///     .http_config(HttpConfig::default().request_timeout(std::time::Duration::from_secs(5)));
    /// # let _ = b;
    /// ```
    pub fn http_config(mut self, config: HttpConfig) -> Self {
        self.http_config = config;
        self
    }

    /// Replaces the transport (then `http_config` is not used).
    ///
    /// ```
    /// # use oxmsal::{ConfidentialClientApplication, credential::ClientCredential, http::*};
    /// let client = ReqwestClient::new(&HttpConfig::default()).unwrap();
    /// let b = ConfidentialClientApplication::builder("id", ClientCredential::secret("s"))
    ///     .http_client(std::sync::Arc::new(client));
    /// # let _ = b;
    /// ```
    pub fn http_client(mut self, client: Arc<dyn HttpClient>) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Which failed requests are retried (default: once, after 1 s).
    ///
    /// ```
    /// # use oxmsal::{ConfidentialClientApplication, credential::ClientCredential, http::RetryPolicy};
    /// let b = ConfidentialClientApplication::builder("id", ClientCredential::secret("s")).retry_policy(RetryPolicy::off());
    /// # let _ = b;
    /// ```
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The clock (default: the system clock). Tests inject a [`crate::ManualClock`].
    ///
    /// ```
    /// # use oxmsal::{ConfidentialClientApplication, credential::ClientCredential, ManualClock};
    /// let b = ConfidentialClientApplication::builder("id", ClientCredential::secret("s"))
    ///     .clock(std::sync::Arc::new(ManualClock::at_epoch(1_700_000_000)));
    /// # let _ = b;
    /// ```
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The token cache (default: a new in-memory cache). Share one cache between
    /// apps by passing clones.
    ///
    /// ```
    /// # use oxmsal::{ConfidentialClientApplication, credential::ClientCredential, cache::TokenCache};
    /// let cache = TokenCache::new();
    /// let b = ConfidentialClientApplication::builder("id", ClientCredential::secret("s")).token_cache(cache.clone());
    /// # let _ = b;
    /// ```
    pub fn token_cache(mut self, cache: TokenCache) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Shares the token cache with other processes (or machines) through a
    /// store: before each cache lookup the app loads the partition the request
    /// touches (the app's tokens in a tenant, a user's, an on-behalf-of
    /// assertion's) into its cache, and after each write it merges that
    /// partition into the store. A store failure is a
    /// [`Cache`](crate::ErrorKind::Cache) error (a store may choose to carry on
    /// instead, e.g. when a server is down). Default: none, the cache is in memory.
    ///
    /// `accounts()` lists the store's users
    /// ([`load_user_partitions`](CachePersistence::load_user_partitions)), so
    /// a new process finds who signed in before; a store that cannot be read
    /// is an error there, and so is a sign-out it cannot record.
    ///
    /// ```
    /// use std::sync::Arc;
    /// # use oxmsal::{ConfidentialClientApplication, credential::ClientCredential};
    /// use oxmsal::cache::persist::FileStore;
    /// let store = Arc::new(FileStore::new("/var/cache/my-daemon/tokens.json"));
    /// let app = ConfidentialClientApplication::builder("id", ClientCredential::secret("s"))
    ///     .cache_persistence(store)
    ///     .build()?;
    /// # let _ = app; Ok::<(), oxmsal::Error>(())
    /// ```
    pub fn cache_persistence(mut self, persistence: Arc<dyn CachePersistence>) -> Self {
        self.persistence = Some(persistence);
        self
    }

    /// The throttling memory (default: a new one per app). Share or persist it to
    /// keep honouring a server's "back off" across apps or processes.
    ///
    /// ```
    /// # use oxmsal::{ConfidentialClientApplication, credential::ClientCredential, http::ThrottleStore};
    /// let store = ThrottleStore::new();
    /// let b = ConfidentialClientApplication::builder("id", ClientCredential::secret("s")).throttle_store(store.clone());
    /// # let _ = b;
    /// ```
    pub fn throttle_store(mut self, store: ThrottleStore) -> Self {
        self.throttle = Some(store);
        self
    }

    /// Lets logs name users (usernames, account ids). Off by default; tokens,
    /// secrets, assertions and passwords are never logged either way.
    ///
    /// ```
    /// # use oxmsal::PublicClientApplication;
    /// let b = PublicClientApplication::builder("id").enable_pii_logging(true);
    /// # let _ = b;
    /// ```
    pub fn enable_pii_logging(mut self, enabled: bool) -> Self {
        self.log_pii = enabled;
        self
    }

    /// Client capabilities, e.g. `CP1` ("this app handles claims challenges"),
    /// merged into every request's `claims`.
    ///
    /// ```
    /// # use oxmsal::{ConfidentialClientApplication, credential::ClientCredential};
    /// let err = ConfidentialClientApplication::builder("id", ClientCredential::secret("s"))
    ///     .client_capabilities([""]).build().unwrap_err();
    /// assert_eq!(err.kind(), oxmsal::ErrorKind::Configuration);
    /// ```
    pub fn client_capabilities<I, S>(mut self, capabilities: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.capabilities = capabilities.into_iter().map(Into::into).collect();
        self
    }

    /// Validates every option and assembles the shared core.
    pub(super) fn build_core(self, confidential: bool) -> Result<(K, AppCore)> {
        let client_id = self.client_id.trim().to_owned();
        if client_id.is_empty() {
            return Err(Error::configuration("`client_id` must not be empty"));
        }
        check_single_token("`client_id`", &client_id)?;
        let authority_text = self.authority.as_deref().unwrap_or(DEFAULT_AUTHORITY);
        let authority = if self.oidc {
            Authority::oidc(authority_text)?
        } else {
            Authority::parse(authority_text)?
        };
        crate::http::check_scheme(authority.url(), self.allow_http_loopback)?;
        check_capabilities(&self.capabilities)?;
        let clock: Arc<dyn Clock> = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let client: Arc<dyn HttpClient> = match self.http_client {
            Some(client) => client,
            None => Arc::new(ReqwestClient::new(&self.http_config)?),
        };
        let core = AppCore {
            client_id,
            authority,
            pipeline: crate::http::Pipeline::new(
                client,
                clock.clone(),
                self.retry,
                self.allow_http_loopback,
            ),
            discovery: Discovery::new(self.instance_discovery, self.persistence.clone()),
            cache: self.cache.unwrap_or_default(),
            persistence: self.persistence,
            capabilities: self.capabilities,
            clock,
            throttle: self.throttle.unwrap_or_default(),
            // MSAL for Python's default back-off without Retry-After: 5 s for
            // confidential clients, 60 s for public ones.
            default_throttle: Duration::from_secs(if confidential { 5 } else { 60 }),
            refresh_locks: Default::default(),
            log_pii: self.log_pii,
            app_token_keys: Default::default(),
            own_endpoints: Default::default(),
        };
        Ok((self.kind, core))
    }
}

/// An identifier that goes into every form, cache key and log line (a client
/// id, a capability): one token, no spaces or control characters (a CR/LF
/// would split a line or a header). Every app kind checks with this.
pub(crate) fn check_single_token(what: &str, value: &str) -> Result<()> {
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::configuration(format!(
            "{what} `{}` holds whitespace or a control character",
            value.escape_debug()
        )));
    }
    Ok(())
}

/// Client capabilities (`CP1`…): none empty, each a single token.
pub(crate) fn check_capabilities(capabilities: &[String]) -> Result<()> {
    if let Some(bad) = capabilities.iter().find(|c| c.trim().is_empty()) {
        return Err(Error::configuration(format!(
            "client capability `{bad}` is empty"
        )));
    }
    capabilities
        .iter()
        .try_for_each(|c| check_single_token("client capability", c))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use crate::app::{ConfidentialClientApplication, PublicClientApplication};
    use crate::credential::ClientCredential;
    use crate::error::ErrorKind;

    #[test]
    fn client_ids_and_capabilities_with_control_characters_are_refused() {
        for bad in ["abc\r\nx-injected: 1", "a b", "a\tb", "a\u{0}b"] {
            let e = PublicClientApplication::builder(bad).build().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Configuration, "{bad:?}");
            let e = ConfidentialClientApplication::builder(bad, ClientCredential::secret("s"))
                .build()
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Configuration, "{bad:?}");
            let e = PublicClientApplication::builder("id")
                .client_capabilities(["CP1", bad])
                .build()
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Configuration, "{bad:?}");
        }
        // Surrounding whitespace of a client id is trimmed, as before.
        assert_eq!(
            PublicClientApplication::builder(" api://app \n")
                .build()
                .unwrap()
                .client_id(),
            "api://app"
        );
        assert!(PublicClientApplication::builder("id")
            .client_capabilities(["CP1", "llt"])
            .build()
            .is_ok());
    }

    #[test]
    fn a_bad_tenant_in_the_authority_is_refused() {
        for bad in [
            "https://login.microsoftonline.com/a%20b",
            "https://login.microsoftonline.com/..",
        ] {
            let e = PublicClientApplication::builder("id")
                .authority(bad)
                .build()
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Configuration, "{bad}");
        }
    }

    #[test]
    fn the_managed_identity_client_checks_ids_and_capabilities_the_same_way() {
        use crate::managed_identity::{
            ManagedIdentity, ManagedIdentityClient, ManagedIdentityEnvironment,
        };
        let build = |identity, capability: &str| {
            ManagedIdentityClient::builder(identity)
                .environment(ManagedIdentityEnvironment::empty())
                .client_capabilities([capability])
                .build()
        };
        for bad in ["abc\r\nx-injected: 1", "a b"] {
            let e = build(ManagedIdentity::client_id(bad), "CP1").unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Configuration, "{bad:?}");
            let e = build(ManagedIdentity::SystemAssigned, bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Configuration, "{bad:?}");
        }
        assert!(build(ManagedIdentity::client_id("c"), "CP1").is_ok());
    }
}
