//! The state every request handler and the [`crate::Emulator`] handle share.

use std::path::PathBuf;
use std::time::Duration;

use crate::faults::FaultQueue;
use crate::keys::SigningKey;
use crate::scenario::ScenarioCell;
use crate::state::{CounterCells, Directory, Recorder, CONSUMERS_TENANT_ID};

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
}

impl Shared {
    /// The host names (without port) that reach this emulator, for instance
    /// discovery aliases and assertion audiences.
    pub(crate) const HOSTS: [&'static str; 2] = ["localhost", "127.0.0.1"];

    /// `{base}/{tenant}/v2.0`, Entra's v2 issuer form.
    pub(crate) fn issuer(&self, tenant_id: &str) -> String {
        format!("{}/{tenant_id}/v2.0", self.base_url)
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
