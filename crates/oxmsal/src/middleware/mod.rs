//! HTTP middleware that calls an API with oxmsal's tokens: [`BearerAuth`]
//! attaches `Authorization: Bearer <token>` from any
//! [`TokenProvider`](crate::provider::TokenProvider), and answers a claims
//! challenge exactly once.
//!
//! | feature | integration |
//! |---|---|
//! | `reqwest-middleware` | `impl reqwest_middleware::Middleware for BearerAuth` |
//! | `tower` | `impl tower_layer::Layer<S> for BearerAuth` (the `Layer` that `tower` re-exports), giving a [`BearerService`] over any `http` client service |
//!
//! What both do with a request:
//!
//! 1. A request that already has an `Authorization` header is sent as it is: no
//!    token is acquired, the caller's header is not replaced, and no challenge
//!    is answered (the middleware did not choose that credential).
//! 2. Otherwise a token for the configured scopes is attached (a sensitive
//!    header value: `http`'s `Debug` prints `Sensitive`; never logged).
//! 3. A `401` whose `WWW-Authenticate` carries a claims challenge with
//!    `error="insufficient_claims"` (Conditional Access step-up, Continuous
//!    Access Evaluation) gets one more attempt: a token acquired with the
//!    challenge's claims (the app merges its declared capabilities in), then
//!    the request again. Never a second retry: a repeated challenge is the
//!    reqwest-middleware's response as received, the tower service's
//!    [`RepeatedChallenge`] error. A request whose body cannot be cloned (a
//!    stream) is not retried: its `401` is returned as it came.
//! 4. A token that cannot be acquired is the error value, with oxmsal's
//!    [`Error`] inside (for a signed-in user who must sign in again,
//!    [`Error::requires_interaction`] is true).

use std::sync::Arc;

use http::header::{HeaderValue, AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderMap, StatusCode};

use crate::error::InvalidResponse;
use crate::provider::TokenProvider;
use crate::{ClaimsChallenge, Error};

#[cfg(feature = "reqwest-middleware")]
mod reqwest_layer;
#[cfg(feature = "tower")]
mod tower_layer;

#[cfg(feature = "tower")]
pub use tower_layer::{BearerService, RetryableBody};

/// Attaches bearer tokens from a [`TokenProvider`] to outgoing requests and
/// answers one claims challenge per request (see the [module](self) docs).
/// Cheap to clone: the provider is shared.
///
/// ```
/// use oxmsal::middleware::BearerAuth;
/// # fn run(app: oxmsal::ConfidentialClientApplication) {
/// let auth = BearerAuth::new(app, ["https://graph.microsoft.com/.default"]);
/// assert_eq!(auth.scopes(), ["https://graph.microsoft.com/.default"]);
/// # }
/// ```
#[derive(Clone)]
pub struct BearerAuth {
    provider: Arc<dyn TokenProvider>,
    scopes: Arc<[String]>,
}

impl std::fmt::Debug for BearerAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerAuth")
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl BearerAuth {
    /// Tokens for `scopes` from `provider` (an app, a
    /// [`SignedInAccount`](crate::provider::SignedInAccount), a managed identity
    /// client, or an `Arc` of any of them).
    ///
    /// ```
    /// # fn run(client: oxmsal::managed_identity::ManagedIdentityClient) {
    /// let auth = oxmsal::middleware::BearerAuth::new(client, ["https://vault.azure.net"]);
    /// # let _ = auth; }
    /// ```
    pub fn new<P, I, S>(provider: P, scopes: I) -> Self
    where
        P: TokenProvider + 'static,
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        BearerAuth {
            provider: Arc::new(provider),
            scopes: scopes.into_iter().map(Into::into).collect(),
        }
    }

    /// The scopes every token is acquired for.
    ///
    /// ```
    /// # fn run(app: oxmsal::ConfidentialClientApplication) {
    /// let auth = oxmsal::middleware::BearerAuth::new(app, ["api://demo/.default"]);
    /// assert_eq!(auth.scopes().len(), 1);
    /// # }
    /// ```
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// Puts `Authorization: Bearer <token>` into `headers`, acquired with
    /// `claims` when a challenge asked for them.
    pub(crate) async fn authorize(
        &self,
        headers: &mut HeaderMap,
        claims: Option<&str>,
    ) -> Result<(), Error> {
        let token = self.provider.token(&self.scopes, claims).await?;
        let mut value =
            HeaderValue::try_from(format!("Bearer {}", token.access_token.expose_secret()))
                .map_err(|_| {
                    // The token itself stays out of the error.
                    Error::from_invalid_response(InvalidResponse::new(
                        200,
                        None,
                        b"",
                        "the access token holds characters an HTTP header cannot carry",
                    ))
                })?;
        value.set_sensitive(true);
        headers.insert(AUTHORIZATION, value);
        Ok(())
    }
}

/// The claims challenge of a `401` answer that asks for more claims
/// (`error="insufficient_claims"`); `None` for any other answer, and for a
/// header that does not parse (then the answer is returned as it came).
pub(crate) fn insufficient_claims(
    status: StatusCode,
    headers: &HeaderMap,
) -> Option<ClaimsChallenge> {
    if status != StatusCode::UNAUTHORIZED {
        return None;
    }
    let values = headers
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok());
    match ClaimsChallenge::from_header_values(values) {
        Ok(Some(challenge)) if challenge.error.as_deref() == Some("insufficient_claims") => {
            Some(challenge)
        }
        Ok(_) => None,
        Err(e) => {
            tracing::debug!(error = %e, "a 401's WWW-Authenticate does not parse; not retried");
            None
        }
    }
}

/// A resource answered the retry (sent with a token carrying the claims it
/// asked for) with another claims challenge; the tower service's error, so that
/// a misbehaving resource cannot make a client loop.
///
/// ```
/// let e = oxmsal::middleware::RepeatedChallenge { claims: "{}".into() };
/// assert!(e.to_string().contains("again"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepeatedChallenge {
    /// The decoded claims of the second challenge.
    pub claims: String,
}

impl std::fmt::Display for RepeatedChallenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the resource answered 401 insufficient_claims again after the token was acquired \
             with its claims challenge; not retried a second time (claims: {})",
            self.claims
        )
    }
}

impl std::error::Error for RepeatedChallenge {}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(WWW_AUTHENTICATE, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn only_insufficient_claims_401s_are_challenges() {
        let challenge = r#"Bearer realm="", error="insufficient_claims", claims="e30""#;
        let got = insufficient_claims(StatusCode::UNAUTHORIZED, &headers(&[challenge])).unwrap();
        assert_eq!(got.claims_json(), "{}");
        // Another status, another error, no claims, a header that does not parse.
        assert!(insufficient_claims(StatusCode::FORBIDDEN, &headers(&[challenge])).is_none());
        let invalid = r#"Bearer error="invalid_token", claims="e30""#;
        assert!(insufficient_claims(StatusCode::UNAUTHORIZED, &headers(&[invalid])).is_none());
        let bare = r#"Bearer error="insufficient_claims""#;
        assert!(insufficient_claims(StatusCode::UNAUTHORIZED, &headers(&[bare])).is_none());
        let broken = r#"Bearer error="insufficient_claims", claims="!!""#;
        assert!(insufficient_claims(StatusCode::UNAUTHORIZED, &headers(&[broken])).is_none());
        assert!(insufficient_claims(StatusCode::UNAUTHORIZED, &HeaderMap::new()).is_none());
        // Found among several values.
        let got = insufficient_claims(
            StatusCode::UNAUTHORIZED,
            &headers(&[r#"Basic realm="x""#, challenge]),
        );
        assert!(got.is_some());
    }
}
