//! What names a partition of the cache in a store, and what tells a stored
//! partition changed: below the stores and the cache that both use them.

/// Which slice of the cache a request touches.
///
/// ```
/// use oxmsal::cache::persist::PartitionKey;
/// let user = PartitionKey::User { home_account_id: "UID.UTID".into() };
/// assert_eq!(user.storage_key(), "user-uid.utid");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PartitionKey {
    /// An application's own tokens (client credentials) in one tenant.
    App {
        /// The application (client) id.
        client_id: String,
        /// The tenant the tokens were issued in.
        realm: String,
    },
    /// A signed-in user's tokens, account and id tokens, every client and tenant.
    User {
        /// The account's home account id (`{uid}.{utid}`).
        home_account_id: String,
    },
    /// The downstream tokens obtained on behalf of one incoming assertion.
    OnBehalfOf {
        /// The hash of the incoming assertion the tokens are keyed by.
        assertion_hash: String,
    },
}

impl PartitionKey {
    /// A name for the partition in a store: `app-{client_id}-{realm}`,
    /// `user-{home_account_id}` or `obo-{assertion_hash}`, lowercased (cache
    /// identifiers compare case-insensitively).
    ///
    /// ```
    /// use oxmsal::cache::persist::PartitionKey;
    /// let obo = PartitionKey::OnBehalfOf { assertion_hash: "AbC".into() };
    /// assert_eq!(obo.storage_key(), "obo-abc");
    /// ```
    pub fn storage_key(&self) -> String {
        let key = match self {
            PartitionKey::App { client_id, realm } => format!("app-{client_id}-{realm}"),
            PartitionKey::User { home_account_id } => format!("user-{home_account_id}"),
            PartitionKey::OnBehalfOf { assertion_hash } => format!("obo-{assertion_hash}"),
        };
        key.to_lowercase()
    }
}

/// What [`CachePersistence::fingerprint`] returns: any text that changes
/// whenever the stored document may have changed.
///
/// ```
/// use oxmsal::cache::persist::Fingerprint;
/// assert_eq!(Fingerprint::new("v1"), Fingerprint::new("v1"));
/// assert_ne!(Fingerprint::new("v1"), Fingerprint::new("v2"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// A fingerprint made of `text` (a version number, an ETag, file metadata…).
    ///
    /// ```
    /// let fp = oxmsal::cache::persist::Fingerprint::new(format!("etag-{}", 7));
    /// # let _ = fp;
    /// ```
    pub fn new(text: impl Into<String>) -> Self {
        Fingerprint(text.into())
    }
}
