//! Each step of the chain, built from the environment: either an app ready to
//! ask for tokens, or the reason the step cannot be used here.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::app::ConfidentialClientApplication;
use crate::authority::InstanceDiscovery;
use crate::cache::persist::FileStore;
use crate::credential::{ClientCertificate, ClientCredential};
use crate::error::{Error, ErrorKind, Result};
use crate::http::HttpConfig;
use crate::managed_identity::{
    ManagedIdentity, ManagedIdentityClient, ManagedIdentityRetryPolicy, ManagedIdentitySource,
};
use crate::provider::TokenProvider as _;
use crate::token::AuthenticationResult;
use crate::{Account, PublicClientApplication, TokenCache};

use super::environment::ChainEnvironment;
use super::files;

/// Where Microsoft Entra ID is when `AZURE_AUTHORITY_HOST` is unset.
pub(crate) const DEFAULT_AUTHORITY_HOST: &str = "https://login.microsoftonline.com";

/// The client id Azure Identity's shared token cache credential signs in
/// with (the Azure CLI's), so its cache entries are found under it.
pub(crate) const SHARED_CACHE_CLIENT_ID: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";

/// The step, as named in reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StepName {
    Environment,
    WorkloadIdentity,
    ManagedIdentity,
    SharedCache,
}

impl StepName {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            StepName::Environment => "environment",
            StepName::WorkloadIdentity => "workload identity",
            StepName::ManagedIdentity => "managed identity",
            StepName::SharedCache => "shared cache",
        }
    }
}

/// What a step holds once built.
#[derive(Debug)]
pub(crate) enum Step {
    /// Not configured here; the reason names what is missing.
    Unavailable(String),
    /// Configured, but its settings are wrong (reported when the chain runs).
    Misconfigured(String),
    Confidential(ConfidentialClientApplication),
    /// For IMDS, `probe` asks first until the step is chosen; then `client`.
    Managed {
        probe: Option<ManagedIdentityClient>,
        client: ManagedIdentityClient,
    },
    SharedCache {
        app: PublicClientApplication,
        username: Option<String>,
    },
}

/// The outcome of one attempt.
pub(crate) enum Attempt {
    Token(AuthenticationResult),
    Unavailable(String),
    Failed(Error),
}

/// What every app of the chain is built with besides the environment.
#[derive(Debug, Clone, Default)]
pub(crate) struct Settings {
    pub extra_root_pem: Option<Vec<u8>>,
    pub instance_discovery: Option<InstanceDiscovery>,
    pub shared_cache_path: Option<PathBuf>,
    pub shared_cache_client_id: Option<String>,
    pub managed_identity_retry_policy: Option<ManagedIdentityRetryPolicy>,
}

impl Settings {
    fn authority(&self, env: &ChainEnvironment, tenant: &str) -> String {
        let host = env
            .get("AZURE_AUTHORITY_HOST")
            .unwrap_or(DEFAULT_AUTHORITY_HOST)
            .trim_end_matches('/');
        format!("{host}/{tenant}")
    }

    fn confidential(
        &self,
        env: &ChainEnvironment,
        client_id: &str,
        tenant: &str,
        credential: ClientCredential,
    ) -> Result<ConfidentialClientApplication> {
        let mut builder = ConfidentialClientApplication::builder(client_id, credential)
            .authority(self.authority(env, tenant));
        if let Some(pem) = &self.extra_root_pem {
            builder = builder.extra_root_certificate_pem(pem.clone());
        }
        if let Some(discovery) = &self.instance_discovery {
            builder = builder.instance_discovery(discovery.clone());
        }
        builder.build()
    }
}

fn misconfigured(result: Result<Step>) -> Step {
    result.unwrap_or_else(|e| Step::Misconfigured(e.to_string()))
}

/// (a) `AZURE_CLIENT_ID` + `AZURE_TENANT_ID` + a secret or a certificate.
pub(crate) fn environment(env: &ChainEnvironment, settings: &Settings) -> Step {
    let (Some(client_id), Some(tenant)) = (env.get("AZURE_CLIENT_ID"), env.get("AZURE_TENANT_ID"))
    else {
        return Step::Unavailable("AZURE_CLIENT_ID or AZURE_TENANT_ID is not set".into());
    };
    let credential = if let Some(secret) = env.get("AZURE_CLIENT_SECRET") {
        ClientCredential::secret(secret)
    } else if let Some(path) = env.get("AZURE_CLIENT_CERTIFICATE_PATH") {
        match certificate(env, Path::new(path)) {
            Ok(cert) => ClientCredential::certificate(cert),
            Err(e) => return Step::Misconfigured(e.to_string()),
        }
    } else {
        return Step::Unavailable(
            "neither AZURE_CLIENT_SECRET nor AZURE_CLIENT_CERTIFICATE_PATH is set".into(),
        );
    };
    misconfigured(
        settings
            .confidential(env, client_id, tenant, credential)
            .map(Step::Confidential),
    )
}

/// The certificate at `path`: PEM (key and certificate) or PKCS#12 (with
/// `AZURE_CLIENT_CERTIFICATE_PASSWORD`, else no password).
fn certificate(env: &ChainEnvironment, path: &Path) -> Result<ClientCertificate> {
    let bytes = files::read_mounted(
        path,
        "AZURE_CLIENT_CERTIFICATE_PATH",
        files::MAX_CERTIFICATE_FILE_BYTES,
    )?;
    let is_pem = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .is_some_and(|start| bytes[start..].starts_with(b"-----BEGIN"));
    let cert = if is_pem {
        ClientCertificate::from_pem(&bytes)?
    } else {
        let password = env.get("AZURE_CLIENT_CERTIFICATE_PASSWORD").unwrap_or("");
        ClientCertificate::from_pkcs12(&bytes, password)?
    };
    let send_chain = env
        .get("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN")
        .is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
    Ok(cert.with_x5c(send_chain))
}

/// (b) `AZURE_FEDERATED_TOKEN_FILE` + `AZURE_CLIENT_ID` + `AZURE_TENANT_ID`:
/// the file's token is the client assertion, read on every token request
/// (Kubernetes rotates it).
pub(crate) fn workload_identity(env: &ChainEnvironment, settings: &Settings) -> Step {
    let (Some(file), Some(client_id), Some(tenant)) = (
        env.get("AZURE_FEDERATED_TOKEN_FILE"),
        env.get("AZURE_CLIENT_ID"),
        env.get("AZURE_TENANT_ID"),
    ) else {
        return Step::Unavailable(
            "AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID or AZURE_TENANT_ID is not set".into(),
        );
    };
    let file = Arc::new(PathBuf::from(file));
    let credential = ClientCredential::assertion(move |_request| {
        let file = Arc::clone(&file);
        Box::pin(async move { files::read_federated_token(&file) })
    });
    misconfigured(
        settings
            .confidential(env, client_id, tenant, credential)
            .map(Step::Confidential),
    )
}

/// How long the first request to IMDS may take to connect: a host without
/// IMDS must not hold the chain up (Azure Identity probes IMDS briefly too).
const IMDS_PROBE_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// (c) Managed identity, from the managed-identity environment; user-assigned
/// when `AZURE_CLIENT_ID` is set (as in Azure Identity), else system-assigned.
///
/// IMDS is the source wherever nothing else is detected, so until the step is
/// chosen it is asked through a probe client first: a 1 s connect timeout and
/// no retries, so that a host without IMDS moves on at once. An answer, even
/// an error, shows IMDS is there: the regular client (its retries, the default
/// timeouts) then asks, and is the one used once the step is chosen. Both
/// share one token cache.
pub(crate) fn managed_identity(env: &ChainEnvironment, settings: &Settings) -> Step {
    let identity = match env.get("AZURE_CLIENT_ID") {
        Some(id) => ManagedIdentity::client_id(id),
        None => ManagedIdentity::SystemAssigned,
    };
    let mi_env = env.managed_identity_environment().clone();
    let imds = mi_env.source() == ManagedIdentitySource::Imds;
    let cache = TokenCache::new();
    let build = |probe: bool| {
        let mut config = HttpConfig::default();
        if let Some(pem) = &settings.extra_root_pem {
            config.extra_roots_pem.push(pem.clone());
        }
        let mut policy = settings.managed_identity_retry_policy.unwrap_or_default();
        if probe {
            config = config.connect_timeout(IMDS_PROBE_CONNECT_TIMEOUT);
            policy = ManagedIdentityRetryPolicy::off();
        }
        ManagedIdentityClient::builder(identity.clone())
            .environment(mi_env.clone())
            .token_cache(cache.clone())
            .http_config(config)
            .retry_policy(policy)
            .build()
    };
    let built = build(false).and_then(|client| {
        let probe = if imds { Some(build(true)?) } else { None };
        Ok(Step::Managed { probe, client })
    });
    misconfigured(built)
}

/// Where the shared cache is: the builder's path, else
/// `<home>/.IdentityService/msal.cache`.
fn shared_cache_path(env: &ChainEnvironment, settings: &Settings) -> Option<PathBuf> {
    settings.shared_cache_path.clone().or_else(|| {
        env.home_dir()
            .map(|home| home.join(".IdentityService").join("msal.cache"))
    })
}

/// (d) The account signed in to the shared cache file.
pub(crate) fn shared_cache(env: &ChainEnvironment, settings: &Settings) -> Step {
    let Some(path) = shared_cache_path(env, settings) else {
        return Step::Unavailable("no shared cache path and no home directory".into());
    };
    let client_id = settings
        .shared_cache_client_id
        .as_deref()
        .unwrap_or(SHARED_CACHE_CLIENT_ID);
    let tenant = env.get("AZURE_TENANT_ID").unwrap_or("organizations");
    let mut builder = PublicClientApplication::builder(client_id)
        .authority(settings.authority(env, tenant))
        .cache_persistence(Arc::new(FileStore::new(path)));
    if let Some(pem) = &settings.extra_root_pem {
        builder = builder.extra_root_certificate_pem(pem.clone());
    }
    if let Some(discovery) = &settings.instance_discovery {
        builder = builder.instance_discovery(discovery.clone());
    }
    misconfigured(builder.build().map(|app| Step::SharedCache {
        app,
        username: env.get("AZURE_USERNAME").map(str::to_owned),
    }))
}

impl Step {
    /// One attempt at a token for `scopes` (with `claims`, a fresh one
    /// carrying them).
    pub(crate) async fn attempt(&self, scopes: &[String], claims: Option<&str>) -> Attempt {
        match self {
            Step::Unavailable(why) => Attempt::Unavailable(why.clone()),
            Step::Misconfigured(why) => Attempt::Failed(Error::configuration(why.clone())),
            Step::Confidential(app) => match app.token(scopes, claims).await {
                Ok(token) => Attempt::Token(token),
                Err(e) => Attempt::Failed(e),
            },
            Step::Managed { probe, client } => {
                let first = probe.as_ref().unwrap_or(client);
                match first.token(scopes, claims).await {
                    Ok(token) => Attempt::Token(token),
                    // Nothing answered: no managed identity endpoint on this host.
                    Err(e) if e.kind() == ErrorKind::Transport => {
                        Attempt::Unavailable(format!("no endpoint answered ({e})"))
                    }
                    // The probe was answered, so the endpoint is there: the
                    // regular client (with its retries) asks again.
                    Err(_) if probe.is_some() => match client.token(scopes, claims).await {
                        Ok(token) => Attempt::Token(token),
                        Err(e) => Attempt::Failed(e),
                    },
                    Err(e) => Attempt::Failed(e),
                }
            }
            Step::SharedCache { app, username } => {
                let account = match shared_account(app, username.as_deref()).await {
                    Ok(account) => account,
                    Err(attempt) => return attempt,
                };
                let mut request = app.acquire_token_silent(scopes, &account);
                if let Some(claims) = claims {
                    request = request.claims(claims);
                }
                match request.await {
                    Ok(token) => Attempt::Token(token),
                    Err(e) if e.kind() == ErrorKind::NoCachedToken => {
                        Attempt::Unavailable(format!("the account has no usable token ({e})"))
                    }
                    Err(e) => Attempt::Failed(e),
                }
            }
        }
    }

    /// A token once this step was chosen: the step's own error when it fails.
    pub(crate) async fn acquire(
        &self,
        scopes: &[String],
        claims: Option<&str>,
    ) -> Result<AuthenticationResult> {
        if let Step::Managed { client, .. } = self {
            return client.token(scopes, claims).await;
        }
        match self.attempt(scopes, claims).await {
            Attempt::Token(token) => Ok(token),
            Attempt::Failed(e) => Err(e),
            Attempt::Unavailable(why) => Err(Error::configuration(why)),
        }
    }
}

/// The one account of the shared cache (or the one named by `AZURE_USERNAME`).
async fn shared_account(
    app: &PublicClientApplication,
    username: Option<&str>,
) -> std::result::Result<Account, Attempt> {
    let accounts = app.accounts().await.map_err(Attempt::Failed)?;
    let mut matching = accounts
        .into_iter()
        .filter(|a| username.is_none_or(|u| a.username.eq_ignore_ascii_case(u)));
    match (matching.next(), matching.next()) {
        (Some(account), None) => Ok(account),
        (None, _) => Err(Attempt::Unavailable(match username {
            Some(_) => "no account in the cache has the username of AZURE_USERNAME".into(),
            None => "no account is signed in to the cache".into(),
        })),
        (Some(_), Some(_)) => Err(Attempt::Unavailable(
            "several accounts are signed in to the cache; set AZURE_USERNAME to choose".into(),
        )),
    }
}
