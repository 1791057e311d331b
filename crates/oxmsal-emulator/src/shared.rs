//! The state every request handler and the [`crate::Emulator`] handle share.

use std::path::PathBuf;
use std::time::Duration;

use crate::faults::FaultQueue;
use crate::keys::SigningKey;
use crate::revocation::Revocations;
use crate::scenario::ScenarioCell;
use crate::sessions::Sessions;
use crate::state::{CounterCells, Directory, Recorder, Tenant, CONSUMERS_TENANT_ID};
use crate::users::UserStore;

/// Everything behind one `Arc`.
pub(crate) struct Shared {
    /// `https://localhost:PORT`, no trailing slash.
    pub base_url: String,
    pub port: u16,
    /// The default tenant's GUID.
    pub tenant_id: String,
    /// PEM of the CA that signs the TLS leaf.
    pub ca_pem: String,
    /// Where that PEM is written.
    pub ca_path: PathBuf,
    pub access_token_lifetime: Duration,
    pub refresh_in: Option<Duration>,
    pub directory: Directory,
    pub faults: FaultQueue,
    pub counters: CounterCells,
    pub recorder: Recorder,
    pub signing_key: SigningKey,
    /// The protected resource's Conditional Access scenario.
    pub scenario: ScenarioCell,
    /// Continuous Access Evaluation revocation events, by subject.
    pub revocations: Revocations,
    /// The default tenant's users.
    pub users: UserStore,
    /// Sign-ins, codes, device codes and refresh tokens of the user flows.
    pub sessions: Sessions,
    pub device_code_expires_in: Duration,
    pub device_code_interval: Duration,
    /// Whether too-fast polls get `slow_down`.
    pub device_code_enforce_interval: bool,
    pub authorization_code_lifetime: Duration,
    /// [`Shared::user_tenant`] when the directory has no tenant (never, in practice).
    pub fallback_tenant: Tenant,
}

impl Shared {
    /// The host names (without port) that reach this emulator, for instance
    /// discovery aliases and assertion audiences.
    pub(crate) const HOSTS: [&'static str; 2] = ["localhost", "127.0.0.1"];

    /// `{base}/{tenant}/v2.0`, Entra's v2 issuer form.
    pub(crate) fn issuer(&self, tenant_id: &str) -> String {
        format!("{}/{tenant_id}/v2.0", self.base_url)
    }

    /// The tenant users belong to (the default one). The emulator has no personal
    /// accounts, so user flows on `/common`, `/organizations` and `/consumers` sign
    /// in this tenant's users too.
    pub(crate) fn user_tenant(&self) -> &Tenant {
        match self.directory.default_tenant() {
            Some(tenant) => tenant,
            // The emulator always starts with a tenant; this only keeps the function total.
            None => &self.fallback_tenant,
        }
    }

    /// Every issuer this emulator's tokens (and discovery documents) name: each
    /// tenant's and the personal-account tenant's.
    pub(crate) fn issuers(&self) -> Vec<String> {
        self.directory
            .tenants()
            .iter()
            .map(|t| t.id.as_str())
            .chain([CONSUMERS_TENANT_ID])
            .map(|id| self.issuer(id))
            .collect()
    }
}
