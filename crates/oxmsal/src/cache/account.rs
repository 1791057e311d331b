//! The signed-in identities a cache knows.

/// A signed-in identity, as the cache's `Account` section records it: one per
/// home account, authority host and tenant.
///
/// Accounts come from [`TokenCache::accounts`](super::TokenCache::accounts) and are
/// passed back to silent acquisition and to
/// [`TokenCache::remove_account`](super::TokenCache::remove_account).
///
/// ```
/// use oxmsal::cache::TokenCache;
/// let cache = TokenCache::new();
/// cache.deserialize(r#"{"Account": {"uid.utid-login.microsoftonline.com-utid": {
///     "home_account_id": "uid.utid", "environment": "login.microsoftonline.com",
///     "realm": "utid", "local_account_id": "uid", "username": "alice@contoso.com",
///     "authority_type": "MSSTS"}}}"#).unwrap();
/// let account = &cache.accounts()[0];
/// assert_eq!(account.username, "alice@contoso.com");
/// assert_eq!(account.local_account_id.as_deref(), Some("uid"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Account {
    /// `{uid}.{utid}` from the token response's `client_info` (Entra ID), or the
    /// id token's `sub` for other providers. Stable across tenants.
    pub home_account_id: String,
    /// The authority host, e.g. `login.microsoftonline.com`.
    pub environment: String,
    /// The tenant of the authority the account signed in through.
    pub realm: String,
    /// The id token's `oid`, else its `sub`.
    pub local_account_id: Option<String>,
    /// The id token's `preferred_username`, else `upn`; empty when unknown.
    pub username: String,
    /// `MSSTS` (Entra ID, Microsoft accounts), `ADFS`, or `Generic`.
    pub authority_type: String,
    /// The grant that established the account (`authorization_code`,
    /// `urn:ietf:params:oauth:grant-type:device_code`, `password`…), when recorded.
    pub account_source: Option<String>,
}
