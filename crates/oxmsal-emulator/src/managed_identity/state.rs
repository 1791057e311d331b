//! The identities the endpoint knows and what it remembers, below the handler
//! that answers requests and the server that starts it.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use super::source::MiSource;

/// The system-assigned identity's client id.
pub const MI_SYSTEM_CLIENT_ID: &str = "7e0ea3c5-0000-4000-8000-00000000000a";
/// The one user-assigned identity the emulator knows.
pub const MI_USER_CLIENT_ID: &str = "7e0ea3c5-0000-4000-8000-0000000000c1";
/// Its object id.
pub const MI_USER_OBJECT_ID: &str = "7e0ea3c5-0000-4000-8000-0000000000b1";
/// Its resource id.
pub const MI_USER_RESOURCE_ID: &str =
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/emulated";

/// One request the endpoint received.
#[derive(Debug, Clone, Default)]
pub struct MiRecordedRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// The path.
    pub path: String,
    /// The query's parameters.
    pub query: BTreeMap<String, String>,
    /// The headers, names lowercase.
    pub headers: BTreeMap<String, String>,
    /// A form body's fields.
    pub form: BTreeMap<String, String>,
}

/// What the endpoint remembers between requests.
#[derive(Debug, Default)]
pub(crate) struct MiState {
    pub faults: VecDeque<(u16, Option<u64>)>,
    pub requests: Vec<MiRecordedRequest>,
    pub issued: u64,
    pub arc_keys: HashSet<String>,
    pub epoch: Option<u64>,
}

/// What the handler is given: the source's settings and its state.
#[derive(Debug)]
pub(crate) struct Shared {
    pub source: MiSource,
    pub secret: String,
    pub key_dir: PathBuf,
    pub token_lifetime: u64,
    pub arc_key_name: Option<String>,
    /// Signs the tokens like the main emulator's, when set.
    pub token_issuer: Option<crate::AccessTokenIssuer>,
    pub state: Mutex<MiState>,
}

impl Shared {
    pub(crate) fn state(&self) -> std::sync::MutexGuard<'_, MiState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
