//! A credential chain for Azure-style environments: the first of four ways to
//! get a token that this host is set up for, as Azure Identity's
//! `DefaultAzureCredential` picks one.
//!
//! | step | used when | how |
//! |---|---|---|
//! | environment | `AZURE_CLIENT_ID`, `AZURE_TENANT_ID` and `AZURE_CLIENT_SECRET` or `AZURE_CLIENT_CERTIFICATE_PATH` are set | client credentials; the certificate is PEM (key and certificate) or PKCS#12 (`AZURE_CLIENT_CERTIFICATE_PASSWORD`), `AZURE_CLIENT_SEND_CERTIFICATE_CHAIN=true` sends `x5c` |
//! | workload identity | `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_CLIENT_ID`, `AZURE_TENANT_ID` are set | client credentials with the file's token as the client assertion, read again on every token request (Kubernetes rotates it) |
//! | managed identity | a managed-identity endpoint answers (IMDS, the source when nothing else is detected, is probed first: 1 s to connect, no retries) | [`ManagedIdentityClient`](crate::managed_identity::ManagedIdentityClient); user-assigned by `AZURE_CLIENT_ID` when set |
//! | shared cache | one account is signed in to the shared cache file (or the one named by `AZURE_USERNAME`) | silent acquisition as the Azure CLI's client id, from the file |
//!
//! The authority is `{AZURE_AUTHORITY_HOST}/{AZURE_TENANT_ID}`, the host
//! `https://login.microsoftonline.com` by default (tenant `organizations` for
//! the shared cache when no tenant is set).
//!
//! **The shared cache file** is the builder's
//! [`shared_cache_path`](CredentialChainBuilder::shared_cache_path), else
//! `<home>/.IdentityService/msal.cache` — the file Azure Identity's shared
//! token cache keeps when it is stored unencrypted (home is `HOME`, or
//! `USERPROFILE` on Windows). It is read as MSAL's unified cache, locked as
//! msal-extensions locks it ([`FileStore`](crate::cache::persist::FileStore)).
//!
//! **Once a step gives a token, every later call uses that step** (as
//! `DefaultAzureCredential` does), and its errors are returned as they are.
//! Until then, a step that is not set up here is skipped; a step that is set
//! up and fails ends the chain. The error then lists every step and why it
//! was skipped or failed (never a secret): kind `Configuration` when no step
//! could be used or a step's settings or credentials are wrong, `Transport`
//! (the step's error as its source) when the failure may pass on a retry,
//! `Cache` when the cache failed.

mod environment;
mod files;
mod steps;

use std::fmt;
use std::path::PathBuf;
use std::sync::OnceLock;

pub use environment::ChainEnvironment;

use crate::authority::InstanceDiscovery;
use crate::error::{Error, ErrorKind, Result};
use crate::managed_identity::ManagedIdentityRetryPolicy;
use crate::token::AuthenticationResult;
use steps::{Attempt, Settings, Step, StepName};

/// The chain: environment, workload identity, managed identity, shared cache.
/// See the [module docs](self).
///
/// ```
/// use oxmsal::chain::{ChainEnvironment, CredentialChain};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let emulator = oxmsal_emulator::Emulator::start().await?;
/// let demo = emulator.register_demo_app();
/// let env = ChainEnvironment::empty()
///     .var("AZURE_AUTHORITY_HOST", emulator.base_url())
///     .var("AZURE_TENANT_ID", emulator.tenant_id())
///     .var("AZURE_CLIENT_ID", demo.client_id.clone())
///     .var("AZURE_CLIENT_SECRET", demo.secret.clone());
/// let chain = CredentialChain::builder(env) // CredentialChain::from_process() in real use
///     .extra_root_certificate_pem(emulator.ca_pem().as_bytes().to_vec())
///     .instance_discovery(oxmsal::authority::InstanceDiscovery::Endpoint(emulator.base_url().parse()?))
///     .build();
/// let token = chain.get_token(["api://demo/.default"]).await?;
/// assert_eq!(chain.chosen_step(), Some("environment"));
/// # let _ = token; Ok(()) }
/// ```
pub struct CredentialChain {
    steps: Vec<(StepName, Step)>,
    chosen: OnceLock<usize>,
}

impl fmt::Debug for CredentialChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialChain")
            .field("steps", &self.steps)
            .field("chosen", &self.chosen_step())
            .finish()
    }
}

impl CredentialChain {
    /// A chain over the process's environment, with the defaults.
    ///
    /// ```no_run
    /// # async fn run() -> oxmsal::Result<()> {
    /// let chain = oxmsal::chain::CredentialChain::from_process();
    /// let token = chain.get_token(["https://management.azure.com/.default"]).await?;
    /// # let _ = token; Ok(()) }
    /// ```
    pub fn from_process() -> Self {
        Self::builder(ChainEnvironment::from_process()).build()
    }

    /// Starts building a chain over `environment`.
    ///
    /// ```
    /// use oxmsal::chain::{ChainEnvironment, CredentialChain};
    /// let chain = CredentialChain::builder(ChainEnvironment::empty()).build();
    /// assert_eq!(chain.chosen_step(), None);
    /// ```
    pub fn builder(environment: ChainEnvironment) -> CredentialChainBuilder {
        CredentialChainBuilder {
            environment,
            settings: Settings::default(),
        }
    }

    /// The name of the step every call now uses (`environment`, `workload
    /// identity`, `managed identity`, `shared cache`), once one gave a token.
    ///
    /// ```
    /// # let chain = oxmsal::chain::CredentialChain::builder(oxmsal::chain::ChainEnvironment::empty()).build();
    /// assert_eq!(chain.chosen_step(), None);
    /// ```
    pub fn chosen_step(&self) -> Option<&'static str> {
        self.chosen
            .get()
            .and_then(|&i| self.steps.get(i))
            .map(|(name, _)| name.as_str())
    }

    /// A token for `scopes` from the chosen step, or from the first step that
    /// gives one (which is then chosen). See the [module docs](self) for the error.
    ///
    /// ```
    /// use oxmsal::chain::{ChainEnvironment, CredentialChain};
    /// use oxmsal::managed_identity::{ManagedIdentityEnvironment, ManagedIdentityRetryPolicy};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// // Nothing set up: IMDS is the managed-identity source, here at a closed port.
    /// let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    /// let env = ChainEnvironment::empty().managed_identity(
    ///     ManagedIdentityEnvironment::empty()
    ///         .var("AZURE_POD_IDENTITY_AUTHORITY_HOST", format!("http://{closed}"))
    ///         .himds_path("/nonexistent/himds"),
    /// );
    /// let chain = CredentialChain::builder(env)
    ///     .managed_identity_retry_policy(ManagedIdentityRetryPolicy::off())
    ///     .build();
    /// let err = chain.get_token(["https://vault.azure.net/.default"]).await.unwrap_err();
    /// assert_eq!(err.kind(), oxmsal::ErrorKind::Configuration);
    /// assert!(err.to_string().contains("workload identity: skipped"));
    /// # }
    /// ```
    pub async fn get_token<I, S>(&self, scopes: I) -> Result<AuthenticationResult>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let scopes: Vec<String> = scopes.into_iter().map(Into::into).collect();
        self.token_with(&scopes, None).await
    }

    async fn token_with(
        &self,
        scopes: &[String],
        claims: Option<&str>,
    ) -> Result<AuthenticationResult> {
        if let Some((_, step)) = self.chosen.get().and_then(|&i| self.steps.get(i)) {
            return step.acquire(scopes, claims).await;
        }
        let mut report = Vec::with_capacity(self.steps.len());
        for (i, (name, step)) in self.steps.iter().enumerate() {
            match step.attempt(scopes, claims).await {
                Attempt::Token(token) => {
                    let _ = self.chosen.set(i);
                    tracing::debug!(step = name.as_str(), "credential chain: step chosen");
                    return Ok(token);
                }
                Attempt::Unavailable(why) => {
                    report.push(format!("{}: skipped: {why}", name.as_str()));
                }
                Attempt::Failed(error) => {
                    report.push(format!("{}: failed: {error}", name.as_str()));
                    for (later, _) in self.steps.iter().skip(i + 1) {
                        report.push(format!("{}: not tried", later.as_str()));
                    }
                    return Err(failed(&report, error));
                }
            }
        }
        Err(Error::configuration(format!(
            "no credential of the chain is set up here: {}",
            report.join("; ")
        )))
    }
}

/// The chain's error when a step that is set up failed.
fn failed(report: &[String], error: Error) -> Error {
    let message = format!("the credential chain failed: {}", report.join("; "));
    if error.is_transient() {
        Error::transport(message, Some(Box::new(error)))
    } else if error.kind() == ErrorKind::Cache {
        Error::cache(message, Some(Box::new(error)))
    } else {
        Error::configuration(message)
    }
}

/// Options for a [`CredentialChain`]; [`build`](Self::build) never fails: a
/// step's wrong settings are reported when the chain runs.
///
/// ```
/// let chain = oxmsal::chain::CredentialChain::builder(oxmsal::chain::ChainEnvironment::empty())
///     .shared_cache_path("/home/alice/.IdentityService/msal.cache")
///     .build();
/// # let _ = chain;
/// ```
#[derive(Debug)]
#[must_use]
pub struct CredentialChainBuilder {
    environment: ChainEnvironment,
    settings: Settings,
}

impl CredentialChainBuilder {
    /// An extra trusted root for every step's requests (a private CA, an emulator).
    ///
    /// ```
    /// # let b = oxmsal::chain::CredentialChain::builder(oxmsal::chain::ChainEnvironment::empty());
    /// let b = b.extra_root_certificate_pem(b"-----BEGIN CERTIFICATE-----...".to_vec());
    /// # let _ = b;
    /// ```
    pub fn extra_root_certificate_pem(mut self, pem: Vec<u8>) -> Self {
        self.settings.extra_root_pem = Some(pem);
        self
    }

    /// Instance discovery for the apps of the environment, workload identity
    /// and shared cache steps (default: enabled).
    ///
    /// ```
    /// # let b = oxmsal::chain::CredentialChain::builder(oxmsal::chain::ChainEnvironment::empty());
    /// let b = b.instance_discovery(oxmsal::authority::InstanceDiscovery::Disabled);
    /// # let _ = b;
    /// ```
    pub fn instance_discovery(mut self, setting: InstanceDiscovery) -> Self {
        self.settings.instance_discovery = Some(setting);
        self
    }

    /// The shared cache file (default `<home>/.IdentityService/msal.cache`).
    ///
    /// ```
    /// # let b = oxmsal::chain::CredentialChain::builder(oxmsal::chain::ChainEnvironment::empty());
    /// let b = b.shared_cache_path("/tmp/msal.cache");
    /// # let _ = b;
    /// ```
    pub fn shared_cache_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.settings.shared_cache_path = Some(path.into());
        self
    }

    /// The client id the shared cache's account signed in with (default: the
    /// Azure CLI's, `04b07795-8ddb-461a-bbee-02f9e1bf7b46`, as Azure Identity).
    ///
    /// ```
    /// # let b = oxmsal::chain::CredentialChain::builder(oxmsal::chain::ChainEnvironment::empty());
    /// let b = b.shared_cache_client_id("11111111-1111-1111-1111-111111111111");
    /// # let _ = b;
    /// ```
    pub fn shared_cache_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.settings.shared_cache_client_id = Some(client_id.into());
        self
    }

    /// The managed-identity step's retry policy (default: the client's). The
    /// IMDS probe made before the step is chosen never retries.
    ///
    /// ```
    /// # let b = oxmsal::chain::CredentialChain::builder(oxmsal::chain::ChainEnvironment::empty());
    /// let b = b.managed_identity_retry_policy(oxmsal::managed_identity::ManagedIdentityRetryPolicy::off());
    /// # let _ = b;
    /// ```
    pub fn managed_identity_retry_policy(mut self, policy: ManagedIdentityRetryPolicy) -> Self {
        self.settings.managed_identity_retry_policy = Some(policy);
        self
    }

    /// The chain, each step built from the environment (no request yet).
    ///
    /// ```
    /// let chain = oxmsal::chain::CredentialChain::builder(oxmsal::chain::ChainEnvironment::empty()).build();
    /// # let _ = chain;
    /// ```
    pub fn build(self) -> CredentialChain {
        let env = &self.environment;
        let settings = &self.settings;
        CredentialChain {
            steps: vec![
                (StepName::Environment, steps::environment(env, settings)),
                (
                    StepName::WorkloadIdentity,
                    steps::workload_identity(env, settings),
                ),
                (
                    StepName::ManagedIdentity,
                    steps::managed_identity(env, settings),
                ),
                (StepName::SharedCache, steps::shared_cache(env, settings)),
            ],
            chosen: OnceLock::new(),
        }
    }
}

/// The chain as a token source for the middleware: a claims challenge goes to
/// the step the chain chose (or to each step tried).
impl crate::provider::TokenProvider for CredentialChain {
    fn token<'a>(
        &'a self,
        scopes: &'a [String],
        claims: Option<&'a str>,
    ) -> crate::provider::TokenProviderFuture<'a> {
        Box::pin(self.token_with(scopes, claims))
    }
}
