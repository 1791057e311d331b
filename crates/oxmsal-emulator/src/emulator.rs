//! [`Emulator`]: start, describe, steer and stop a running emulator.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::EmulatorConfig;
use crate::error::EmulatorError;
use crate::faults::{FaultQueue, InjectedFault};
use crate::keys::SigningKey;
use crate::scenario::{ResourceScenario, ScenarioCell};
use crate::sessions::Sessions;
use crate::shared::Shared;
use crate::state::{CounterCells, Counters, DemoApp, Directory, RecordedRequest, Recorder, Tenant};
use crate::users::UserStore;
use crate::{routes, server, state_files, tls, AppRegistration};

mod user_flows;

/// Code and device code lifetimes are capped here, so that `Instant + lifetime`
/// cannot overflow whatever a configuration says (a year is "forever" for a test).
const MAX_FLOW_LIFETIME: std::time::Duration = std::time::Duration::from_secs(365 * 86_400);

/// A running emulator. Dropping it stops the server (listener and open
/// connections) and removes its temporary directory.
pub struct Emulator {
    shared: Arc<Shared>,
    state_dir: PathBuf,
    /// Set when `state_dir` is ours to delete.
    owns_state_dir: bool,
    server: JoinHandle<()>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("base_url", &self.shared.base_url)
            .field("tenant_id", &self.shared.tenant_id)
            .field("state_dir", &self.state_dir)
            .finish_non_exhaustive()
    }
}

/// Writes a state file without following a link planted at its name.
fn write_file(dir: &Path, name: &str, contents: &[u8]) -> Result<(), EmulatorError> {
    state_files::write_replacing(dir, name, contents).map_err(|source| EmulatorError::Io {
        path: dir.join(name),
        source,
    })
}

impl Emulator {
    /// Starts an emulator with the default configuration on a free port.
    pub async fn start() -> Result<Emulator, EmulatorError> {
        Self::start_with(EmulatorConfig::default()).await
    }

    /// Starts an emulator. Must be called within a Tokio runtime; the server runs
    /// on that runtime until the `Emulator` is dropped.
    pub async fn start_with(config: EmulatorConfig) -> Result<Emulator, EmulatorError> {
        let tenant_id = uuid::Uuid::parse_str(config.effective_tenant_id())
            .map_err(|_| {
                EmulatorError::InvalidConfig(format!(
                    "tenant_id '{}' is not a GUID",
                    config.effective_tenant_id()
                ))
            })?
            .hyphenated()
            .to_string();

        // RSA key generation takes a noticeable moment; keep it off the async threads.
        let (tls, signing_key) = tokio::task::spawn_blocking(|| -> Result<_, EmulatorError> {
            Ok((tls::generate()?, SigningKey::generate()?))
        })
        .await
        .map_err(|e| EmulatorError::crypto("keys", e))??;

        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, config.port.unwrap_or(0)));
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| EmulatorError::Bind {
                addr: addr.to_string(),
                source,
            })?;
        let port = listener
            .local_addr()
            .map_err(|source| EmulatorError::Bind {
                addr: addr.to_string(),
                source,
            })?
            .port();
        let base_url = format!("https://localhost:{port}");

        let (state_dir, owns_state_dir) = match (&config.state_dir, config.state_files) {
            (_, false) => (PathBuf::new(), false),
            (Some(dir), true) => (dir.clone(), false),
            (None, true) => (
                std::env::temp_dir().join(format!("oxmsal-emulator-{}", uuid::Uuid::new_v4())),
                true,
            ),
        };
        let ca_path = if config.state_files {
            let created = if owns_state_dir {
                // A fresh, private directory: never one that someone else made first.
                state_files::create_private_dir(&state_dir)
            } else {
                std::fs::create_dir_all(&state_dir)
            };
            created.map_err(|source| EmulatorError::Io {
                path: state_dir.clone(),
                source,
            })?;
            write_file(&state_dir, "ca.pem", tls.ca_pem.as_bytes())?;
            state_dir.join("ca.pem")
        } else {
            PathBuf::new()
        };

        let tenant = Tenant {
            id: tenant_id.clone(),
            domains: config.tenant_domains.clone(),
        };
        let directory = Directory::new(vec![tenant.clone()]);
        let users = UserStore::new(&tenant_id, &config.default_user_password);
        let shared = Arc::new(Shared {
            base_url,
            port,
            tenant_id,
            ca_pem: tls.ca_pem,
            ca_path,
            access_token_lifetime: config.access_token_lifetime,
            refresh_in: config.refresh_in,
            directory,
            faults: FaultQueue::default(),
            counters: CounterCells::default(),
            recorder: Recorder::default(),
            signing_key,
            scenario: ScenarioCell::default(),
            revocations: Default::default(),
            users,
            sessions: Sessions::new(config.auto_sign_in),
            device_code_expires_in: config.device_code_expires_in.min(MAX_FLOW_LIFETIME),
            device_code_interval: config.device_code_interval,
            device_code_enforce_interval: config.device_code_enforce_interval,
            authorization_code_lifetime: config.authorization_code_lifetime.min(MAX_FLOW_LIFETIME),
            fallback_tenant: tenant,
        });
        // For tools that find the emulator through its state directory.
        let info = routes::admin::info_document(&shared);
        if config.state_files {
            write_file(
                &state_dir,
                "emulator.json",
                serde_json::to_string_pretty(&info)
                    .unwrap_or_default()
                    .as_bytes(),
            )?;
        }

        let server = server::spawn(
            listener,
            Arc::clone(&tls.server_config),
            routes::router(Arc::clone(&shared)),
            config.body_read_timeout,
        );
        tracing::info!(base_url = %shared.base_url, tenant = %shared.tenant_id, "emulator started");
        Ok(Emulator {
            shared,
            state_dir,
            owns_state_dir,
            server,
        })
    }

    /// `https://localhost:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.shared.port
    }

    /// PEM of the CA that signs the server's certificate; trust it in clients.
    pub fn ca_pem(&self) -> &str {
        &self.shared.ca_pem
    }

    /// The file holding [`Emulator::ca_pem`] (an empty path when the emulator
    /// writes no state files, see [`EmulatorConfig::with_state_files`]).
    pub fn ca_path(&self) -> &Path {
        &self.shared.ca_path
    }

    /// The directory holding `ca.pem` and `emulator.json` (an empty path when
    /// the emulator writes no state files).
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// The default tenant's GUID.
    pub fn tenant_id(&self) -> &str {
        &self.shared.tenant_id
    }

    /// `base_url/tenant_id`: the authority to configure clients with.
    pub fn authority(&self) -> String {
        format!("{}/{}", self.shared.base_url, self.shared.tenant_id)
    }

    /// The default tenant's v2 token endpoint.
    pub fn token_endpoint(&self) -> String {
        format!("{}/oauth2/v2.0/token", self.authority())
    }

    /// Registers (or replaces) an app.
    pub fn register_app(&self, app: AppRegistration) -> Result<(), EmulatorError> {
        self.shared.directory.register(&app)
    }

    /// A confidential app with a random client id and secret, registered on the
    /// first call; later calls return the same app.
    pub fn register_demo_app(&self) -> DemoApp {
        self.shared.directory.demo_app()
    }

    /// Queues a fault for the next matching request (by default a token request;
    /// see [`crate::Fault::on`]).
    pub fn inject(&self, fault: impl Into<InjectedFault>) {
        self.shared.faults.push(fault.into(), 1);
    }

    /// Queues a fault for the next `n` matching requests.
    pub fn inject_n(&self, fault: impl Into<InjectedFault>, n: usize) {
        self.shared.faults.push(fault.into(), n);
    }

    /// Forgets every queued fault.
    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    /// The faults still queued, oldest first.
    pub fn pending_faults(&self) -> Vec<InjectedFault> {
        self.shared.faults.snapshot()
    }

    /// A snapshot of the request counters.
    pub fn counters(&self) -> Counters {
        self.shared.counters.snapshot()
    }

    /// Zeroes the counters.
    pub fn reset_counters(&self) {
        self.shared.counters.reset();
    }

    /// The last (at most 1000) token requests, oldest first, secrets redacted.
    pub fn token_requests(&self) -> Vec<RecordedRequest> {
        self.shared.recorder.snapshot()
    }

    /// Forgets the recorded token requests.
    pub fn clear_token_requests(&self) {
        self.shared.recorder.clear();
    }

    /// The JWKS document (as served for the default tenant).
    pub fn jwks(&self) -> Value {
        self.shared
            .signing_key
            .jwks(&self.shared.issuer(&self.shared.tenant_id))
    }

    /// Activates a Conditional Access scenario on the protected resource
    /// (`/resource/…`), replacing the active one; [`ResourceScenario::None`] clears
    /// it. Setting [`ResourceScenario::CaeRevocation`] (again) records now as the
    /// revocation instant.
    pub fn set_resource_scenario(&self, scenario: ResourceScenario) {
        self.shared.scenario.set(scenario, crate::clock::now_secs());
    }

    /// The protected resource's active scenario.
    pub fn resource_scenario(&self) -> ResourceScenario {
        self.shared.scenario.get().scenario
    }

    /// When [`ResourceScenario::CaeRevocation`] is active, its revocation instant
    /// (epoch seconds): tokens with an earlier `iat` are refused.
    pub fn resource_revoked_at(&self) -> Option<u64> {
        self.shared.scenario.get().revoked_at()
    }

    /// A revocation event (Continuous Access Evaluation): the tokens issued so far
    /// to `subject` — a user (`oid`, `sub` or username) or an app (client id) —
    /// are refused by the protected resource, with a claims challenge for an
    /// `nbf` at or after the returned instant (epoch seconds) when the token
    /// carries the CP1 capability, else with `invalid_token`. A token requested
    /// with that challenge is accepted. Subjects match case-insensitively. The
    /// instant is the next second (tokens of this second count as issued
    /// before), and after a previous event of the subject at least one more.
    pub fn revoke_tokens(&self, subject: &str) -> u64 {
        self.shared
            .revocations
            .revoke(subject, crate::clock::now_secs())
    }

    /// Forgets every [`Emulator::revoke_tokens`] event.
    pub fn clear_revocations(&self) {
        self.shared.revocations.clear();
    }

    /// The URL of `path` on the protected resource, e.g. `resource_url("me")` is
    /// `https://localhost:PORT/resource/me` (a leading `/` in `path` is ignored).
    pub fn resource_url(&self, path: &str) -> String {
        format!(
            "{}/resource/{}",
            self.shared.base_url,
            path.trim_start_matches('/')
        )
    }

    /// The `kid` of the token signing key.
    pub fn signing_key_id(&self) -> &str {
        self.shared.signing_key.kid()
    }

    /// Signs app-only access tokens with this emulator's key, for another local
    /// endpoint whose tokens the protected resource must accept (a
    /// [`ManagedIdentityEmulator`](crate::managed_identity::ManagedIdentityEmulator)
    /// configured `with_token_issuer`).
    pub fn access_token_issuer(&self) -> AccessTokenIssuer {
        AccessTokenIssuer {
            shared: Arc::clone(&self.shared),
        }
    }
}

/// Mints app-only access tokens signed by an [`Emulator`]'s key, so that its
/// protected resource (`/resource/...`) accepts them.
#[derive(Clone)]
pub struct AccessTokenIssuer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for AccessTokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessTokenIssuer")
            .field("issuer", &self.shared.issuer(&self.shared.tenant_id))
            .finish()
    }
}

impl AccessTokenIssuer {
    /// An app-only access token for `audience` naming `client_id`, issued at
    /// `now` (epoch seconds) and valid for `lifetime` seconds.
    pub fn issue(
        &self,
        client_id: &str,
        audience: &str,
        now: u64,
        lifetime: u64,
    ) -> Result<String, EmulatorError> {
        let tenant = &self.shared.tenant_id;
        let oid = crate::ids::stable_guid(&["managed-identity", tenant, client_id]);
        let claims = serde_json::json!({
            "aud": audience,
            "iss": self.shared.issuer(tenant),
            "appid": client_id,
            "azp": client_id,
            "idtyp": "app",
            "oid": oid,
            "sub": oid,
            "tid": tenant,
            "iat": now,
            "nbf": now,
            "exp": now.saturating_add(lifetime),
            "uti": crate::ids::unique_token_id(),
            "ver": "2.0",
        });
        self.shared.signing_key.sign(&claims)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.server.abort();
        if self.owns_state_dir {
            // Best effort: a leftover temp dir is harmless.
            let _ = std::fs::remove_dir_all(&self.state_dir);
        }
    }
}
