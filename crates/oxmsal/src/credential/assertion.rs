//! The assertion callback's input and output.

use std::future::Future;
use std::pin::Pin;

use crate::error::Result;
use crate::secret::Secret;

/// What an assertion callback is asked for.
///
/// ```
/// let r = oxmsal::credential::AssertionRequest::new("client", "https://login.example/t/oauth2/v2.0/token");
/// assert_eq!(r.client_id, "client");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AssertionRequest {
    /// The app's client id (the assertion's `iss` and `sub`).
    pub client_id: String,
    /// The token endpoint (the assertion's `aud`).
    pub audience: String,
}

impl AssertionRequest {
    /// Builds a request (used by tests of callbacks).
    ///
    /// ```
    /// let r = oxmsal::credential::AssertionRequest::new("c", "a");
    /// assert_eq!(r.audience, "a");
    /// ```
    pub fn new(client_id: impl Into<String>, audience: impl Into<String>) -> Self {
        AssertionRequest {
            client_id: client_id.into(),
            audience: audience.into(),
        }
    }
}

/// The future an assertion callback returns.
pub type AssertionFuture = Pin<Box<dyn Future<Output = Result<Secret>> + Send>>;
