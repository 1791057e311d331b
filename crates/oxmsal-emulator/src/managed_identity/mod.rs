//! [`ManagedIdentityEmulator`]: one managed-identity source's local endpoint,
//! selected by name, speaking that source's wire shape and errors — plain
//! http for IMDS, App Service, Azure ML, Azure Arc and Cloud Shell; HTTPS with
//! a self-signed certificate (pin it by [`thumbprint`](ManagedIdentityEmulator::thumbprint))
//! for Service Fabric. Azure Arc's challenge writes a real key file in a
//! directory the caller chooses.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::error::EmulatorError;

mod handler;
mod source;
mod state;
mod tls;

pub use source::MiSource;
pub use state::{
    MiRecordedRequest, MI_SYSTEM_CLIENT_ID, MI_USER_CLIENT_ID, MI_USER_OBJECT_ID,
    MI_USER_RESOURCE_ID,
};
use state::{MiState, Shared};

/// A managed identity the emulator knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MiIdentity {
    /// Its client (application) id.
    pub client_id: String,
    /// Its object (principal) id.
    pub object_id: String,
    /// Its Azure resource id.
    pub resource_id: String,
}

/// Starting options.
#[derive(Debug, Clone)]
pub struct ManagedIdentityEmulatorConfig {
    /// The source to play.
    pub source: MiSource,
    /// Where Azure Arc's key files are written (default: a new temporary directory).
    pub key_dir: Option<PathBuf>,
    /// Lifetime of issued tokens, seconds (default 86,400: MSAL refreshes at half).
    pub token_lifetime: u64,
    /// The port (default: any free one).
    pub port: Option<u16>,
    /// Azure Arc: name every key file `<name>.key` (default: a new random name
    /// per challenge), so a test can prepare that path.
    pub arc_key_name: Option<String>,
    /// Issue tokens signed by an [`Emulator`](crate::Emulator)'s key (its
    /// protected resource accepts them) instead of opaque `mi-…` strings.
    pub token_issuer: Option<crate::AccessTokenIssuer>,
}

impl ManagedIdentityEmulatorConfig {
    /// Defaults for `source`.
    pub fn new(source: MiSource) -> Self {
        ManagedIdentityEmulatorConfig {
            source,
            key_dir: None,
            token_lifetime: 86_400,
            port: None,
            arc_key_name: None,
            token_issuer: None,
        }
    }

    /// Tokens signed by `issuer` (see [`crate::Emulator::access_token_issuer`]).
    pub fn with_token_issuer(mut self, issuer: crate::AccessTokenIssuer) -> Self {
        self.token_issuer = Some(issuer);
        self
    }
}

/// A running managed-identity endpoint. Dropping it stops the server (and
/// removes the key directory it created).
#[derive(Debug)]
pub struct ManagedIdentityEmulator {
    shared: Arc<Shared>,
    base_url: String,
    thumbprint: Option<String>,
    owns_key_dir: bool,
    server: JoinHandle<()>,
}

impl ManagedIdentityEmulator {
    /// Starts `source`'s endpoint with the defaults.
    pub async fn start(source: MiSource) -> Result<Self, EmulatorError> {
        Self::start_with(ManagedIdentityEmulatorConfig::new(source)).await
    }

    /// Starts an endpoint (within a Tokio runtime).
    pub async fn start_with(config: ManagedIdentityEmulatorConfig) -> Result<Self, EmulatorError> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, config.port.unwrap_or(0)));
        let bind = |source| EmulatorError::Bind {
            addr: addr.to_string(),
            source,
        };
        let listener = TcpListener::bind(addr).await.map_err(bind)?;
        let port = listener.local_addr().map_err(bind)?.port();
        let (key_dir, owns_key_dir) = match config.key_dir {
            Some(dir) => (dir, false),
            None => (
                std::env::temp_dir()
                    .join(format!("oxmsal-mi-keys-{}", uuid::Uuid::new_v4().simple())),
                true,
            ),
        };
        std::fs::create_dir_all(&key_dir).map_err(|source| EmulatorError::Io {
            path: key_dir.clone(),
            source,
        })?;
        let shared = Arc::new(Shared {
            source: config.source,
            secret: uuid::Uuid::new_v4().simple().to_string(),
            key_dir,
            token_lifetime: config.token_lifetime,
            arc_key_name: config.arc_key_name,
            token_issuer: config.token_issuer,
            state: Mutex::new(MiState::default()),
        });
        let router = Router::new()
            .fallback(handler::handle)
            .with_state(Arc::clone(&shared));
        let (server, base_url, thumbprint) = if config.source == MiSource::ServiceFabric {
            let (tls, thumbprint) = tls::self_signed()?;
            (
                crate::server::spawn(
                    listener,
                    tls,
                    router,
                    crate::config::DEFAULT_BODY_READ_TIMEOUT,
                ),
                format!("https://127.0.0.1:{port}"),
                Some(thumbprint),
            )
        } else {
            let server = tokio::spawn(async move {
                if let Err(error) = axum::serve(listener, router).await {
                    tracing::warn!(%error, "managed identity emulator stopped");
                }
            });
            (server, format!("http://127.0.0.1:{port}"), None)
        };
        Ok(ManagedIdentityEmulator {
            shared,
            base_url,
            thumbprint,
            owns_key_dir,
            server,
        })
    }

    /// The source played.
    pub fn source(&self) -> MiSource {
        self.shared.source
    }

    /// `http://127.0.0.1:PORT` (`https://` for Service Fabric).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The token endpoint's URL.
    pub fn endpoint(&self) -> String {
        format!("{}{}", self.base_url, self.shared.source.path())
    }

    /// Service Fabric's certificate thumbprint (SHA-1, uppercase hex).
    pub fn thumbprint(&self) -> Option<&str> {
        self.thumbprint.as_deref()
    }

    /// The identity header's value (App Service, Azure ML, Service Fabric).
    pub fn secret(&self) -> &str {
        &self.shared.secret
    }

    /// Where Azure Arc's key files are written.
    pub fn key_dir(&self) -> &Path {
        &self.shared.key_dir
    }

    /// The environment variables that make MSAL (any language) detect this
    /// source and use this endpoint.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let endpoint = self.endpoint();
        match self.shared.source {
            MiSource::Imds => vec![("AZURE_POD_IDENTITY_AUTHORITY_HOST", self.base_url.clone())],
            MiSource::AppService => vec![
                ("IDENTITY_ENDPOINT", endpoint),
                ("IDENTITY_HEADER", self.shared.secret.clone()),
            ],
            MiSource::MachineLearning => vec![
                ("MSI_ENDPOINT", endpoint),
                ("MSI_SECRET", self.shared.secret.clone()),
            ],
            MiSource::AzureArc => vec![
                ("IDENTITY_ENDPOINT", endpoint),
                ("IMDS_ENDPOINT", self.base_url.clone()),
            ],
            MiSource::CloudShell => vec![("MSI_ENDPOINT", endpoint)],
            MiSource::ServiceFabric => vec![
                ("IDENTITY_ENDPOINT", endpoint),
                ("IDENTITY_HEADER", self.shared.secret.clone()),
                (
                    "IDENTITY_SERVER_THUMBPRINT",
                    self.thumbprint.clone().unwrap_or_default(),
                ),
            ],
        }
    }

    /// The user-assigned identity the endpoint knows.
    pub fn user_identity(&self) -> MiIdentity {
        MiIdentity {
            client_id: MI_USER_CLIENT_ID.into(),
            object_id: MI_USER_OBJECT_ID.into(),
            resource_id: MI_USER_RESOURCE_ID.into(),
        }
    }

    /// The next `count` requests answer `status` (410, 429, 500, …) with the
    /// source's error body, and `Retry-After: retry_after` when given.
    pub fn push_fault(&self, status: u16, count: usize, retry_after: Option<u64>) {
        let mut state = self.shared.state();
        for _ in 0..count {
            state.faults.push_back((status, retry_after));
        }
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<MiRecordedRequest> {
        self.shared.state().requests.clone()
    }

    /// How many requests were received.
    pub fn request_count(&self) -> usize {
        self.shared.state().requests.len()
    }

    /// How many tokens were issued.
    pub fn issued_count(&self) -> u64 {
        self.shared.state().issued
    }

    /// Issues tokens as if it were `epoch` (seconds); `None`: the real time.
    pub fn set_epoch(&self, epoch: Option<u64>) {
        self.shared.state().epoch = epoch;
    }
}

impl Drop for ManagedIdentityEmulator {
    fn drop(&mut self) {
        self.server.abort();
        if self.owns_key_dir {
            let _ = std::fs::remove_dir_all(&self.shared.key_dir);
        }
    }
}
