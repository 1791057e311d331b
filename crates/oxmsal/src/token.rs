//! What a successful acquisition returns.

use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::cache::Account;
use crate::correlation::CorrelationId;
use crate::secret::Secret;

/// Where a token came from.
///
/// ```
/// assert_eq!(oxmsal::TokenSource::Cache.as_str(), "cache");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenSource {
    /// Fresh from the token endpoint.
    IdentityProvider,
    /// From the token cache, no request sent.
    Cache,
}

impl TokenSource {
    /// MSAL's name for it (`identity_provider` | `cache`).
    ///
    /// ```
    /// assert_eq!(oxmsal::TokenSource::IdentityProvider.as_str(), "identity_provider");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            TokenSource::IdentityProvider => "identity_provider",
            TokenSource::Cache => "cache",
        }
    }
}

/// The kind of an access token (`token_type`), nearly always `Bearer`.
///
/// Reads as a `str`; 16 bytes, and `Bearer` needs no allocation (a cache hit
/// moves its result several times, and under 128 bytes those moves are a few
/// register copies instead of a call to `memmove`).
///
/// ```
/// let t = oxmsal::TokenType::new("Bearer");
/// assert_eq!(t, "Bearer");
/// assert_eq!(t.len(), 6);
/// assert_eq!(oxmsal::TokenType::new("pop").to_string(), "pop");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TokenType(TokenTypeRepr);

#[derive(Clone, PartialEq, Eq, Hash)]
enum TokenTypeRepr {
    Bearer,
    Other(Box<str>),
}

impl TokenType {
    /// `Bearer`.
    ///
    /// ```
    /// assert_eq!(oxmsal::TokenType::BEARER, "Bearer");
    /// ```
    pub const BEARER: TokenType = TokenType(TokenTypeRepr::Bearer);

    /// A token type as the server or the cache wrote it.
    ///
    /// ```
    /// assert_eq!(oxmsal::TokenType::new("Bearer"), oxmsal::TokenType::BEARER);
    /// assert_eq!(oxmsal::TokenType::new("pop"), "pop");
    /// ```
    pub fn new(token_type: &str) -> Self {
        match token_type {
            "Bearer" => Self::BEARER,
            other => TokenType(TokenTypeRepr::Other(other.into())),
        }
    }

    /// The type's text.
    ///
    /// ```
    /// assert_eq!(oxmsal::TokenType::BEARER.as_str(), "Bearer");
    /// ```
    pub fn as_str(&self) -> &str {
        match &self.0 {
            TokenTypeRepr::Bearer => "Bearer",
            TokenTypeRepr::Other(text) => text,
        }
    }
}

impl std::ops::Deref for TokenType {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for TokenType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for TokenType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for TokenType {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for TokenType {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A token, with what is known about it.
///
/// The access token is a [`Secret`]: it never shows in `Debug` output.
///
/// ```no_run
/// # async fn run(app: oxmsal::ConfidentialClientApplication) -> oxmsal::Result<()> {
/// let result = app.acquire_token_for_client(["api://demo/.default"]).await?;
/// let header = format!("Bearer {}", result.access_token.expose_secret());
/// println!("expires at {} (from {})", result.expires_on, result.token_source.as_str());
/// # let _ = header; Ok(()) }
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct AuthenticationResult {
    /// The access token.
    pub access_token: Secret,
    /// Usually `Bearer` (then without an allocation).
    pub token_type: TokenType,
    /// Expiry, epoch seconds.
    pub expires_on: u64,
    /// Seconds from now until expiry, when the result was made.
    pub expires_in: u64,
    /// When to refresh proactively (from the server's `refresh_in`), epoch seconds.
    pub refresh_on: Option<u64>,
    /// The scopes the token is for (shared with the cache entry when it can be).
    pub scopes: Arc<[String]>,
    /// Where the token came from.
    pub token_source: TokenSource,
    /// The `client-request-id` the token was requested with, or the one the
    /// caller gave; for a token from the cache, a random one unless given.
    pub correlation_id: CorrelationId,
    /// The id token's claims (decoded, not validated), for user tokens — on
    /// cache hits too. Shared with the cache entry: a hit does not copy them.
    pub id_token_claims: Option<Arc<Map<String, Value>>>,
    /// The signed-in account, for user tokens — on cache hits too. (Behind an
    /// `Arc`: the result is moved several times on its way out, and an inline
    /// account made it three times larger.)
    pub account: Option<Arc<Account>>,
    /// The token endpoint's JSON, for tokens from the identity provider.
    /// Boxed: a hit has none, and a smaller result is cheaper to move.
    pub(crate) response: Option<Box<Map<String, Value>>>,
}

impl AuthenticationResult {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        access_token: Secret,
        token_type: &str,
        expires_on: u64,
        now: u64,
        refresh_on: Option<u64>,
        scopes: Arc<[String]>,
        token_source: TokenSource,
        correlation_id: CorrelationId,
        response: Option<Map<String, Value>>,
    ) -> Self {
        AuthenticationResult {
            access_token,
            token_type: TokenType::new(token_type),
            expires_on,
            expires_in: expires_on.saturating_sub(now),
            refresh_on,
            scopes,
            token_source,
            correlation_id,
            id_token_claims: None,
            account: None,
            response: response.map(Box::new),
        }
    }

    /// A result for a cache entry: a hit (`response` None) or the entry just
    /// written from the token endpoint's `response`.
    pub(crate) fn from_cached(
        at: &crate::cache::CachedAccessToken,
        token_source: TokenSource,
        now: u64,
        correlation_id: CorrelationId,
        response: Option<Map<String, Value>>,
    ) -> Self {
        Self::new(
            at.secret.clone(),
            &at.token_type,
            at.expires_on,
            now,
            at.refresh_on,
            at.target.split(' ').map(str::to_owned).collect(),
            token_source,
            correlation_id,
            response,
        )
    }

    /// A result for a cache hit, read straight from the entry (no intermediate
    /// copy); its `correlation_id` is a random one drawn when read, unless
    /// the caller sets one.
    pub(crate) fn from_entry(
        at: &crate::cache::AccessTokenEntry,
        token_source: TokenSource,
        now: u64,
    ) -> Self {
        Self::new(
            crate::cache::secret_of(&at.raw),
            &at.shared.token_type,
            at.expires_on,
            now,
            at.refresh_on,
            // The entry's normalized scopes when they spell the target as is
            // (`api://…/.default`, lowercase scopes): no allocation on a hit.
            if at.shared.target_is_scopes {
                Arc::clone(&at.shared.scopes)
            } else {
                at.shared.target.split(' ').map(str::to_owned).collect()
            },
            token_source,
            CorrelationId::default(),
            None,
        )
    }

    /// Whether the token is past its `refresh_on` at `now` (still valid, but
    /// to be refreshed rather than served).
    pub(crate) fn refresh_due(&self, now: u64) -> bool {
        self.refresh_on.is_some_and(|r| now >= r)
    }

    /// Attaches who the token is for.
    pub(crate) fn with_identity(
        mut self,
        account: Option<Account>,
        id_token_claims: Option<Arc<Map<String, Value>>>,
    ) -> Self {
        self.account = account.map(Arc::new);
        self.id_token_claims = id_token_claims;
        self
    }

    /// The dict MSAL for Python returns for the same outcome: the server's token
    /// response plus `token_source` (and `id_token_claims`, `refresh_on`) for a fresh
    /// token; `access_token`, `token_type`, `expires_in`, `token_source`
    /// (`refresh_on`) for a cache hit. It holds the access token in clear text.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::ConfidentialClientApplication) -> oxmsal::Result<()> {
    /// let json = app.acquire_token_for_client(["api://demo/.default"]).await?.to_msal_json();
    /// assert!(json["access_token"].is_string());
    /// # Ok(()) }
    /// ```
    pub fn to_msal_json(&self) -> Value {
        let mut map = match &self.response {
            Some(response) => Map::clone(response),
            None => {
                let mut m = Map::new();
                m.insert(
                    "access_token".into(),
                    Value::from(self.access_token.expose_secret()),
                );
                m.insert("token_type".into(), Value::from(&*self.token_type));
                m.insert("expires_in".into(), Value::from(self.expires_in));
                m
            }
        };
        map.insert(
            "token_source".into(),
            Value::from(self.token_source.as_str()),
        );
        if let Some(claims) = &self.id_token_claims {
            map.insert("id_token_claims".into(), Value::Object(Map::clone(claims)));
        }
        if let Some(refresh_on) = self.refresh_on {
            map.insert("refresh_on".into(), Value::from(refresh_on));
        }
        Value::Object(map)
    }
}

impl fmt::Debug for AuthenticationResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthenticationResult")
            .field("access_token", &self.access_token)
            .field("token_type", &self.token_type)
            .field("expires_on", &self.expires_on)
            .field("refresh_on", &self.refresh_on)
            .field("scopes", &self.scopes)
            .field("token_source", &self.token_source)
            .field("correlation_id", &self.correlation_id)
            .field(
                "account",
                &self.account.as_ref().map(|a| &a.home_account_id),
            )
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cache hit moves its result several times; past 128 bytes each move
    /// is a `memmove` call (measured: the client-credentials hit ~8 % slower
    /// at 136 bytes). A new field must keep it within, or say why not here.
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn a_result_fits_in_128_bytes() {
        assert!(std::mem::size_of::<AuthenticationResult>() <= 128);
        assert_eq!(std::mem::size_of::<TokenType>(), 16);
    }

    #[test]
    fn token_types_read_as_text() {
        assert_eq!(TokenType::new("Bearer"), TokenType::BEARER);
        assert_eq!(TokenType::new("pop"), "pop");
        assert_ne!(TokenType::new("pop"), TokenType::BEARER);
        assert_eq!(format!("{:?}", TokenType::BEARER), "\"Bearer\"");
    }
}
