//! What a lookup asks for and what it returns.
//!
//! Queries borrow; results own their data (the cache lock is not held once a
//! lookup returns) and carry secrets only as [`Secret`].

use serde_json::{Map, Value};

use crate::secret::Secret;

/// Which access token to look for: see [`TokenCache::find_access_token`](super::TokenCache::find_access_token).
///
/// An entry matches when its home account, client and extended key equal the
/// query's, its environment is any of `environments` (host aliases), its realm
/// equals `realm` (any realm when `None`), and its `target` holds every requested
/// scope (case-insensitive). Identifiers compare case-insensitively, as the
/// schema's lowercased keys do.
///
/// ```
/// use oxmsal::cache::AccessTokenQuery;
/// let environments = vec!["login.microsoftonline.com".to_owned()];
/// let scopes = vec!["https://graph.microsoft.com/.default".to_owned()];
/// let query = AccessTokenQuery::new("my-client-id", &environments, &scopes).in_realm("contoso");
/// assert_eq!(query.realm, Some("contoso"));
/// assert_eq!(query.home_account_id, None); // an app-only token
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct AccessTokenQuery<'a> {
    /// The account's home account id; `None` for app-only (client credentials) tokens.
    pub home_account_id: Option<&'a str>,
    /// The authority host and its aliases; an entry under any of them matches.
    pub environments: &'a [String],
    /// The application's client id.
    pub client_id: &'a str,
    /// The tenant; `None` matches any tenant.
    pub realm: Option<&'a str>,
    /// The requested scopes; an empty list never matches.
    pub scopes: &'a [String],
    /// The extended cache key the token was stored with, if any.
    pub ext_cache_key: Option<&'a str>,
}

impl<'a> AccessTokenQuery<'a> {
    /// An app-only query in any realm; refine it with the `for_*`/`in_*`/`with_*` methods.
    ///
    /// ```
    /// let envs = vec!["login.microsoftonline.com".to_owned()];
    /// let scopes = vec!["User.Read".to_owned()];
    /// let q = oxmsal::cache::AccessTokenQuery::new("client", &envs, &scopes);
    /// assert_eq!(q.realm, None);
    /// ```
    pub fn new(client_id: &'a str, environments: &'a [String], scopes: &'a [String]) -> Self {
        AccessTokenQuery {
            home_account_id: None,
            environments,
            client_id,
            realm: None,
            scopes,
            ext_cache_key: None,
        }
    }

    /// Looks for the tokens of this home account.
    ///
    /// ```
    /// let envs = vec!["login.microsoftonline.com".to_owned()];
    /// let scopes = vec!["User.Read".to_owned()];
    /// let q = oxmsal::cache::AccessTokenQuery::new("client", &envs, &scopes).for_account("uid.utid");
    /// assert_eq!(q.home_account_id, Some("uid.utid"));
    /// ```
    pub fn for_account(mut self, home_account_id: &'a str) -> Self {
        self.home_account_id = Some(home_account_id);
        self
    }

    /// Looks in this tenant only.
    ///
    /// ```
    /// let envs = vec!["login.microsoftonline.com".to_owned()];
    /// let scopes = vec!["User.Read".to_owned()];
    /// let q = oxmsal::cache::AccessTokenQuery::new("client", &envs, &scopes).in_realm("contoso");
    /// assert_eq!(q.realm, Some("contoso"));
    /// ```
    pub fn in_realm(mut self, realm: &'a str) -> Self {
        self.realm = Some(realm);
        self
    }

    /// Looks for tokens stored with this extended cache key.
    ///
    /// ```
    /// let envs = vec!["login.microsoftonline.com".to_owned()];
    /// let scopes = vec!["User.Read".to_owned()];
    /// let q = oxmsal::cache::AccessTokenQuery::new("client", &envs, &scopes).with_ext_cache_key("k");
    /// assert_eq!(q.ext_cache_key, Some("k"));
    /// ```
    pub fn with_ext_cache_key(mut self, ext_cache_key: &'a str) -> Self {
        self.ext_cache_key = Some(ext_cache_key);
        self
    }
}

/// An access token found in the cache, with everything its entry says.
///
/// ```
/// use oxmsal::cache::{AccessTokenQuery, TokenCache};
/// let cache = TokenCache::new();
/// cache.deserialize(r#"{"AccessToken": {"-login.microsoftonline.com-accesstoken-c-t-s": {
///     "credential_type": "AccessToken", "secret": "at", "home_account_id": null,
///     "environment": "login.microsoftonline.com", "client_id": "c", "target": "s",
///     "realm": "t", "token_type": "Bearer", "cached_at": "1000",
///     "expires_on": "4600", "extended_expires_on": "4600"}}}"#).unwrap();
/// let envs = vec!["login.microsoftonline.com".to_owned()];
/// let scopes = vec!["s".to_owned()];
/// let hit = cache.find_access_token(&AccessTokenQuery::new("c", &envs, &scopes).in_realm("t"), 1000).unwrap();
/// assert_eq!(hit.secret.expose_secret(), "at");
/// assert_eq!(hit.expires_on, 4600);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CachedAccessToken {
    /// The entry's key in the `AccessToken` section.
    pub key: String,
    /// The token.
    pub secret: Secret,
    /// `token_type`, `Bearer` when the entry has none.
    pub token_type: String,
    /// Expiry, epoch seconds.
    pub expires_on: u64,
    /// Extended expiry (usable during an outage), epoch seconds.
    pub extended_expires_on: Option<u64>,
    /// When to refresh proactively (the server's `refresh_in`), epoch seconds.
    pub refresh_on: Option<u64>,
    /// When it was cached, epoch seconds.
    pub cached_at: u64,
    /// The granted scopes, space-separated.
    pub target: String,
    /// The account it belongs to; `None` for app-only tokens.
    pub home_account_id: Option<String>,
    /// The tenant.
    pub realm: String,
    /// The authority host it is stored under.
    pub environment: String,
    /// The client it was issued to.
    pub client_id: String,
}

/// Which refresh tokens to look for: see [`TokenCache::find_refresh_tokens`](super::TokenCache::find_refresh_tokens).
///
/// ```
/// use oxmsal::cache::RefreshTokenQuery;
/// let envs = vec!["login.microsoftonline.com".to_owned()];
/// let q = RefreshTokenQuery::new("uid.utid", &envs, "client").with_family("1");
/// assert_eq!(q.family_id, Some("1"));
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct RefreshTokenQuery<'a> {
    /// The account's home account id.
    pub home_account_id: &'a str,
    /// The authority host and its aliases.
    pub environments: &'a [String],
    /// The application's own refresh tokens are those issued to this client.
    pub client_id: &'a str,
    /// Also return family refresh tokens (FOCI) of this family, any client, first.
    pub family_id: Option<&'a str>,
}

impl<'a> RefreshTokenQuery<'a> {
    /// The client's own refresh tokens for an account.
    ///
    /// ```
    /// let envs = vec!["login.microsoftonline.com".to_owned()];
    /// let q = oxmsal::cache::RefreshTokenQuery::new("uid.utid", &envs, "client");
    /// assert_eq!(q.family_id, None);
    /// ```
    pub fn new(home_account_id: &'a str, environments: &'a [String], client_id: &'a str) -> Self {
        RefreshTokenQuery {
            home_account_id,
            environments,
            client_id,
            family_id: None,
        }
    }

    /// Also the family refresh tokens of `family_id` (`"1"`, the only family today).
    ///
    /// ```
    /// let envs = vec!["login.microsoftonline.com".to_owned()];
    /// let q = oxmsal::cache::RefreshTokenQuery::new("uid.utid", &envs, "client").with_family("1");
    /// assert_eq!(q.family_id, Some("1"));
    /// ```
    pub fn with_family(mut self, family_id: &'a str) -> Self {
        self.family_id = Some(family_id);
        self
    }
}

/// A refresh token found in the cache.
///
/// ```
/// use oxmsal::cache::{RefreshTokenQuery, TokenCache};
/// let cache = TokenCache::new();
/// cache.deserialize(r#"{"RefreshToken": {"u.t-login.microsoftonline.com-refreshtoken-c--s": {
///     "credential_type": "RefreshToken", "secret": "rt", "home_account_id": "u.t",
///     "environment": "login.microsoftonline.com", "client_id": "c", "target": "s",
///     "last_modification_time": "1000"}}}"#).unwrap();
/// let envs = vec!["login.microsoftonline.com".to_owned()];
/// let found = cache.find_refresh_tokens(&RefreshTokenQuery::new("u.t", &envs, "c"));
/// assert_eq!(found[0].secret.expose_secret(), "rt");
/// assert_eq!(found[0].family_id, None);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CachedRefreshToken {
    /// The entry's key in the `RefreshToken` section.
    pub key: String,
    /// The token.
    pub secret: Secret,
    /// The account it belongs to.
    pub home_account_id: Option<String>,
    /// The authority host it is stored under.
    pub environment: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The scopes it was issued with, space-separated.
    pub target: String,
    /// Its family (`"1"`) when it is a family refresh token.
    pub family_id: Option<String>,
    /// When it was stored, epoch seconds (0 when the entry does not say).
    pub last_modification_time: u64,
}

/// An id token found in the cache, with its claims decoded (not validated).
///
/// ```
/// use oxmsal::cache::TokenCache;
/// let cache = TokenCache::new();
/// cache.deserialize(r#"{"IdToken": {"u.t-login.microsoftonline.com-idtoken-c-t-": {
///     "credential_type": "IdToken", "secret": "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.",
///     "home_account_id": "u.t", "environment": "login.microsoftonline.com",
///     "realm": "t", "client_id": "c"}}}"#).unwrap();
/// let envs = vec!["login.microsoftonline.com".to_owned()];
/// let idt = cache.find_id_token("u.t", &envs, "c", Some("t")).unwrap();
/// assert_eq!(idt.claims.unwrap()["sub"], "alice");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CachedIdToken {
    /// The entry's key in the `IdToken` section.
    pub key: String,
    /// The raw id token.
    pub secret: Secret,
    /// The account it belongs to.
    pub home_account_id: Option<String>,
    /// The authority host it is stored under.
    pub environment: String,
    /// The tenant.
    pub realm: String,
    /// The client it was issued to.
    pub client_id: String,
    /// Its claims; `None` when the stored token is not a decodable JWT.
    pub claims: Option<Map<String, Value>>,
}

/// What the cache knows about an application: its family, if any.
///
/// ```
/// use oxmsal::cache::TokenCache;
/// let cache = TokenCache::new();
/// cache.deserialize(r#"{"AppMetadata": {"appmetadata-login.microsoftonline.com-c": {
///     "client_id": "c", "environment": "login.microsoftonline.com", "family_id": "1"}}}"#).unwrap();
/// let envs = vec!["login.microsoftonline.com".to_owned()];
/// assert_eq!(cache.find_app_metadata(&envs, "c").unwrap().family_id.as_deref(), Some("1"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppMetadata {
    /// The application's client id.
    pub client_id: String,
    /// The authority host.
    pub environment: String,
    /// `"1"` when the application is in the Microsoft family (FOCI).
    pub family_id: Option<String>,
}
