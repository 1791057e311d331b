//! What every source's request is built from: the source as resolved from
//! the environment, and what a request carries beyond the resource.

use std::path::PathBuf;

use url::Url;

use crate::managed_identity::environment::ManagedIdentitySource;
use crate::secret::Secret;

/// A source with everything its requests need, read from the environment once.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub source: ManagedIdentitySource,
    pub endpoint: Url,
    /// `IDENTITY_HEADER` or `MSI_SECRET`.
    pub secret: Option<Secret>,
    /// Service Fabric's pinned server certificate (SHA-1 of its DER).
    pub thumbprint: Option<[u8; 20]>,
    /// Azure ML's `DEFAULT_IDENTITY_CLIENT_ID`, sent for the system identity.
    pub default_client_id: Option<String>,
    /// Azure Arc's key-file directory.
    pub arc_key_dir: Option<PathBuf>,
}

/// What a request carries beyond the resource.
#[derive(Debug, Default)]
pub(crate) struct Extras<'a> {
    /// Hex SHA-256 of a token the resource revoked (Service Fabric).
    pub token_sha256_to_refresh: Option<String>,
    /// The client's capabilities (Service Fabric's `xms_cc`).
    pub capabilities: &'a [String],
}

impl Resolved {
    pub(crate) fn new(source: ManagedIdentitySource, endpoint: Url) -> Self {
        Resolved {
            source,
            endpoint,
            secret: None,
            thumbprint: None,
            default_client_id: None,
            arc_key_dir: None,
        }
    }
}
