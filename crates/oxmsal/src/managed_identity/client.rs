//! [`ManagedIdentityClient`] and its builder.

use std::borrow::Cow;
use std::future::IntoFuture;
use std::sync::Arc;
use std::time::Duration;

use crate::app::TokenFuture;
use crate::authority::discovery::Discovery;
use crate::authority::{Authority, InstanceDiscovery};
use crate::cache::persist::CachePersistence;
use crate::cache::TokenCache;
use crate::client::AppCore;
use crate::clock::{Clock, SystemClock};
use crate::error::Result;
use crate::http::{HttpClient, HttpConfig, ReqwestClient, RetryPolicy};
use crate::token::AuthenticationResult;

use super::flow::{self, Params};
use super::inner::Inner;
use super::sources;
use super::wire::Transport;
use super::{
    pinned_tls, ManagedIdentity, ManagedIdentityEnvironment, ManagedIdentityRetryPolicy,
    ManagedIdentitySource,
};

/// Tokens for a managed identity: no secret, from the host's local endpoint
/// (IMDS, App Service, Azure ML, Azure Arc, Cloud Shell or Service Fabric,
/// detected from the environment), cached in MSAL's format under the keys
/// MSAL for Python uses, so the two share cached tokens. `Send + Sync`: build
/// once, share.
///
/// ```no_run
/// use oxmsal::managed_identity::{ManagedIdentity, ManagedIdentityClient};
/// # async fn run() -> oxmsal::Result<()> {
/// let client = ManagedIdentityClient::builder(ManagedIdentity::SystemAssigned).build()?;
/// println!("source: {}", client.source());
/// let token = client.acquire_token_for_client("https://management.azure.com/.default").await?;
/// # let _ = token; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ManagedIdentityClient {
    inner: Arc<Inner>,
}

impl ManagedIdentityClient {
    /// Starts building a client for `identity`.
    ///
    /// ```
    /// use oxmsal::managed_identity::*;
    /// let client = ManagedIdentityClient::builder(ManagedIdentity::client_id("c"))
    ///     .environment(ManagedIdentityEnvironment::empty())
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(client.source(), ManagedIdentitySource::Imds);
    /// ```
    pub fn builder(identity: ManagedIdentity) -> ManagedIdentityClientBuilder {
        ManagedIdentityClientBuilder {
            identity,
            environment: None,
            http_config: HttpConfig::default(),
            http_client: None,
            clock: None,
            cache: None,
            persistence: None,
            capabilities: Vec::new(),
            retry: ManagedIdentityRetryPolicy::default(),
        }
    }

    /// Where this client's tokens come from.
    ///
    /// ```
    /// use oxmsal::managed_identity::*;
    /// let env = ManagedIdentityEnvironment::empty().var("MSI_ENDPOINT", "http://localhost:50342/oauth2/token");
    /// let client = ManagedIdentityClient::builder(ManagedIdentity::SystemAssigned).environment(env).build().unwrap();
    /// assert_eq!(client.source(), ManagedIdentitySource::CloudShell);
    /// ```
    pub fn source(&self) -> ManagedIdentitySource {
        self.inner.resolved.source
    }

    /// The identity asked for.
    ///
    /// ```
    /// use oxmsal::managed_identity::*;
    /// let client = ManagedIdentityClient::builder(ManagedIdentity::SystemAssigned)
    ///     .environment(ManagedIdentityEnvironment::empty()).build().unwrap();
    /// assert_eq!(client.identity(), &ManagedIdentity::SystemAssigned);
    /// ```
    pub fn identity(&self) -> &ManagedIdentity {
        &self.inner.identity
    }

    /// The client's token cache.
    ///
    /// ```
    /// use oxmsal::managed_identity::*;
    /// let client = ManagedIdentityClient::builder(ManagedIdentity::SystemAssigned)
    ///     .environment(ManagedIdentityEnvironment::empty()).build().unwrap();
    /// assert_eq!(client.token_cache().access_token_count(), 0);
    /// ```
    pub fn token_cache(&self) -> &TokenCache {
        &self.inner.core.cache
    }

    /// A token for `resource` — a resource (`https://management.azure.com`) or
    /// its scope (`https://management.azure.com/.default`): from the cache
    /// when a token with 5 minutes or more left is there and not past its
    /// `refresh_on`, else from the source.
    ///
    /// ```no_run
    /// # async fn run(client: oxmsal::managed_identity::ManagedIdentityClient) -> oxmsal::Result<()> {
    /// let token = client.acquire_token_for_client("https://vault.azure.net").await?;
    /// # let _ = token; Ok(()) }
    /// ```
    pub fn acquire_token_for_client<'a>(
        &'a self,
        resource_or_scope: impl Into<Cow<'a, str>>,
    ) -> ManagedIdentityTokenRequest<'a> {
        ManagedIdentityTokenRequest {
            inner: &self.inner,
            params: Params {
                resource: resource_or_scope.into(),
                ..Default::default()
            },
        }
    }
}

/// A managed-identity token request; `.await` it (or call [`send`](Self::send)).
///
/// ```no_run
/// # async fn run(client: oxmsal::managed_identity::ManagedIdentityClient) -> oxmsal::Result<()> {
/// let request: oxmsal::managed_identity::ManagedIdentityTokenRequest<'_> =
///     client.acquire_token_for_client("https://storage.azure.com/.default");
/// let token = request.force_refresh(false).await?;
/// # let _ = token; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a request does nothing until awaited"]
pub struct ManagedIdentityTokenRequest<'a> {
    inner: &'a Inner,
    params: Params<'a>,
}

impl ManagedIdentityTokenRequest<'_> {
    /// A claims challenge (its JSON) from a resource that refused the cached
    /// token: the request bypasses the cache, and Service Fabric is told the
    /// refused token's SHA-256 (`token_sha256_to_refresh`).
    ///
    /// ```no_run
    /// # async fn run(client: oxmsal::managed_identity::ManagedIdentityClient) -> oxmsal::Result<()> {
    /// let token = client.acquire_token_for_client("https://vault.azure.net")
    ///     .claims_challenge(r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#)
    ///     .await?;
    /// # let _ = token; Ok(()) }
    /// ```
    pub fn claims_challenge(mut self, claims: impl Into<String>) -> Self {
        self.params.claims = Some(claims.into());
        self
    }

    /// The same from a parsed [`ClaimsChallenge`](crate::ClaimsChallenge).
    ///
    /// ```no_run
    /// # async fn run(client: oxmsal::managed_identity::ManagedIdentityClient, header: &str) -> oxmsal::Result<()> {
    /// if let Some(challenge) = oxmsal::ClaimsChallenge::from_www_authenticate(header)? {
    ///     let t = client.acquire_token_for_client("https://vault.azure.net").claims(&challenge).await?;
    /// #   let _ = t;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn claims(self, challenge: &crate::challenge::ClaimsChallenge) -> Self {
        self.claims_challenge(challenge.claims_json())
    }

    /// Skips the cache and always asks the source.
    ///
    /// ```no_run
    /// # async fn run(client: oxmsal::managed_identity::ManagedIdentityClient) -> oxmsal::Result<()> {
    /// let t = client.acquire_token_for_client("https://vault.azure.net").force_refresh(true).await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub fn force_refresh(mut self, force: bool) -> Self {
        self.params.force_refresh = force;
        self
    }

    /// The correlation id logged and returned (default: a new random one).
    ///
    /// ```no_run
    /// # async fn run(client: oxmsal::managed_identity::ManagedIdentityClient) -> oxmsal::Result<()> {
    /// let t = client.acquire_token_for_client("https://vault.azure.net").correlation_id("c0ffee").await?;
    /// assert_eq!(t.correlation_id, "c0ffee");
    /// # Ok(()) }
    /// ```
    pub fn correlation_id(mut self, id: impl Into<String>) -> Self {
        self.params.correlation_id = Some(id.into());
        self
    }

    /// Sends the request.
    ///
    /// ```no_run
    /// # async fn run(client: oxmsal::managed_identity::ManagedIdentityClient) -> oxmsal::Result<()> {
    /// let t = client.acquire_token_for_client("https://vault.azure.net").send().await?;
    /// # let _ = t; Ok(()) }
    /// ```
    pub async fn send(self) -> Result<AuthenticationResult> {
        self.into_future().await
    }
}

impl<'a> IntoFuture for ManagedIdentityTokenRequest<'a> {
    type Output = Result<AuthenticationResult>;
    type IntoFuture = TokenFuture<'a>;

    fn into_future(mut self) -> Self::IntoFuture {
        match flow::hot_hit(self.inner, &mut self.params) {
            Some(hit) => TokenFuture::ready(Ok(hit)),
            None => TokenFuture::waiting(flow::acquire(self.inner, self.params)),
        }
    }
}

/// Builds a [`ManagedIdentityClient`]; every option is checked in
/// [`build`](Self::build), before any request.
///
/// ```
/// use std::sync::Arc;
/// use oxmsal::managed_identity::*;
/// let client = ManagedIdentityClient::builder(ManagedIdentity::object_id("o"))
///     .environment(ManagedIdentityEnvironment::empty())
///     .clock(Arc::new(oxmsal::ManualClock::at_epoch(1_700_000_000)))
///     .retry_policy(ManagedIdentityRetryPolicy::off())
///     .build()
///     .unwrap();
/// # let _ = client;
/// ```
#[derive(Debug)]
pub struct ManagedIdentityClientBuilder {
    identity: ManagedIdentity,
    environment: Option<ManagedIdentityEnvironment>,
    http_config: HttpConfig,
    http_client: Option<Arc<dyn HttpClient>>,
    clock: Option<Arc<dyn Clock>>,
    cache: Option<TokenCache>,
    persistence: Option<Arc<dyn CachePersistence>>,
    capabilities: Vec<String>,
    retry: ManagedIdentityRetryPolicy,
}

impl ManagedIdentityClientBuilder {
    /// The environment to detect the source from (default: the process's).
    ///
    /// ```
    /// use oxmsal::managed_identity::*;
    /// let b = ManagedIdentityClient::builder(ManagedIdentity::SystemAssigned)
    ///     .environment(ManagedIdentityEnvironment::empty().var("MSI_ENDPOINT", "http://localhost:50342/oauth2/token"));
    /// # let _ = b;
    /// ```
    pub fn environment(mut self, environment: ManagedIdentityEnvironment) -> Self {
        self.environment = Some(environment);
        self
    }

    /// Transport settings (timeouts, extra roots) of the default HTTP client.
    ///
    /// ```
    /// use oxmsal::managed_identity::*;
    /// let b = ManagedIdentityClient::builder(ManagedIdentity::SystemAssigned)
    ///     .http_config(oxmsal::http::HttpConfig::default().request_timeout(std::time::Duration::from_secs(5)));
    /// # let _ = b;
    /// ```
    pub fn http_config(mut self, config: HttpConfig) -> Self {
        self.http_config = config;
        self
    }

    /// Trusts an extra root certificate (PEM) for an https endpoint.
    ///
    /// ```
    /// use oxmsal::managed_identity::*;
    /// let err = ManagedIdentityClient::builder(ManagedIdentity::SystemAssigned)
    ///     .environment(ManagedIdentityEnvironment::empty())
    ///     .extra_root_certificate_pem(b"garbage".to_vec()).build().unwrap_err();
    /// assert_eq!(err.kind(), oxmsal::ErrorKind::Configuration);
    /// ```
    pub fn extra_root_certificate_pem(mut self, pem: Vec<u8>) -> Self {
        self.http_config.extra_roots_pem.push(pem);
        self
    }

    /// Replaces the transport. Not used for Service Fabric, whose transport
    /// pins the server certificate itself.
    ///
    /// ```
    /// use oxmsal::managed_identity::*;
    /// let client = oxmsal::http::ReqwestClient::new(&Default::default()).unwrap();
    /// let b = ManagedIdentityClient::builder(ManagedIdentity::SystemAssigned).http_client(std::sync::Arc::new(client));
    /// # let _ = b;
    /// ```
    pub fn http_client(mut self, client: Arc<dyn HttpClient>) -> Self {
        self.http_client = Some(client);
        self
    }

    /// The clock (default: the system clock); expiry and retry waits use it.
    ///
    /// ```
    /// use oxmsal::managed_identity::*;
    /// let b = ManagedIdentityClient::builder(ManagedIdentity::SystemAssigned)
    ///     .clock(std::sync::Arc::new(oxmsal::ManualClock::at_epoch(0)));
    /// # let _ = b;
    /// ```
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The token cache (default: a new in-memory one).
    ///
    /// ```
    /// use oxmsal::managed_identity::*;
    /// let b = ManagedIdentityClient::builder(ManagedIdentity::SystemAssigned)
    ///     .token_cache(oxmsal::TokenCache::new());
    /// # let _ = b;
    /// ```
    pub fn token_cache(mut self, cache: TokenCache) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Shares the cache through a store (a file, Redis), as the other apps do.
    ///
    /// ```
    /// use oxmsal::managed_identity::*;
    /// let store = std::sync::Arc::new(oxmsal::cache::persist::FileStore::new("/var/cache/app/tokens.json"));
    /// let b = ManagedIdentityClient::builder(ManagedIdentity::SystemAssigned).cache_persistence(store);
    /// # let _ = b;
    /// ```
    pub fn cache_persistence(mut self, persistence: Arc<dyn CachePersistence>) -> Self {
        self.persistence = Some(persistence);
        self
    }

    /// Client capabilities (e.g. `CP1`); Service Fabric receives them as `xms_cc`.
    ///
    /// ```
    /// use oxmsal::managed_identity::*;
    /// let err = ManagedIdentityClient::builder(ManagedIdentity::SystemAssigned)
    ///     .environment(ManagedIdentityEnvironment::empty())
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

    /// Which answers are retried, and how long apart.
    ///
    /// ```
    /// use oxmsal::managed_identity::*;
    /// let b = ManagedIdentityClient::builder(ManagedIdentity::SystemAssigned)
    ///     .retry_policy(ManagedIdentityRetryPolicy::new(5, std::time::Duration::from_secs(2)));
    /// # let _ = b;
    /// ```
    pub fn retry_policy(mut self, policy: ManagedIdentityRetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Detects the source and checks every option. A combination the source
    /// does not support (a user-assigned identity on Cloud Shell, an id kind
    /// the source lacks, a malformed endpoint or thumbprint) is a
    /// `Configuration` error here; nothing touches the network.
    ///
    /// ```
    /// use oxmsal::managed_identity::*;
    /// let env = ManagedIdentityEnvironment::empty().var("MSI_ENDPOINT", "http://localhost:50342/oauth2/token");
    /// let err = ManagedIdentityClient::builder(ManagedIdentity::client_id("c")).environment(env).build().unwrap_err();
    /// assert_eq!(err.kind(), oxmsal::ErrorKind::Configuration);
    /// ```
    pub fn build(self) -> Result<ManagedIdentityClient> {
        let environment = self
            .environment
            .unwrap_or_else(ManagedIdentityEnvironment::from_process);
        let resolved = sources::resolve(&environment, &self.identity)?;
        crate::app::builder::check_capabilities(&self.capabilities)?;
        let clock: Arc<dyn Clock> = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let client: Arc<dyn HttpClient> = match (resolved.thumbprint, self.http_client) {
            (Some(thumbprint), _) => pinned_tls::client(&self.http_config, thumbprint)?,
            (None, Some(client)) => client,
            (None, None) => Arc::new(ReqwestClient::new(&self.http_config)?),
        };
        let transport = Transport {
            client: Arc::clone(&client),
            clock: Arc::clone(&clock),
            retry: self.retry,
            source: resolved.source,
        };
        // The shared app core carries the cache, its persistence and the
        // single-flight locks; its authority only names MSAL's cache
        // coordinates for managed identity (`localhost`, `managed_identity`).
        let authority =
            Authority::parse(&format!("https://{}/{}", flow::ENVIRONMENT, flow::REALM))?;
        let core = AppCore {
            client_id: self.identity.cache_client_id().to_owned(),
            authority,
            pipeline: crate::http::Pipeline::new(
                client,
                Arc::clone(&clock),
                RetryPolicy::off(),
                false,
            ),
            discovery: Discovery::new(InstanceDiscovery::default(), None),
            cache: self.cache.unwrap_or_default(),
            persistence: self.persistence,
            capabilities: self.capabilities,
            clock,
            throttle: Default::default(),
            default_throttle: Duration::from_secs(5),
            refresh_locks: Default::default(),
            log_pii: false,
            app_token_keys: Default::default(),
            own_endpoints: Default::default(),
        };
        Ok(ManagedIdentityClient {
            inner: Arc::new(Inner {
                core,
                lookup_keys: flow::lookup_keys(&self.identity),
                recent: Default::default(),
                identity: self.identity,
                resolved,
                transport,
            }),
        })
    }
}
