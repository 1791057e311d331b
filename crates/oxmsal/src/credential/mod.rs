//! How a confidential client proves who it is: a secret, a certificate, or a
//! signed assertion obtained from elsewhere (a federated token) on every request.

mod assertion;
mod certificate;

pub use assertion::{AssertionFuture, AssertionRequest};
pub use certificate::ClientCertificate;

use std::fmt;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::secret::Secret;

/// The `client_assertion_type` of a JWT client assertion.
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

type AssertionCallback = dyn Fn(AssertionRequest) -> AssertionFuture + Send + Sync;

/// A confidential client's credential.
///
/// ```
/// use oxmsal::credential::ClientCredential;
/// let by_secret = ClientCredential::secret("s3cret");
/// assert!(format!("{by_secret:?}").contains("redacted"));
/// let federated = ClientCredential::assertion(|_req| Box::pin(async {
///     Ok(oxmsal::Secret::new(std::fs::read_to_string("/var/run/secrets/token").unwrap_or_default()))
/// }));
/// # let _ = federated;
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub enum ClientCredential {
    /// A client secret.
    Secret(Secret),
    /// A certificate whose key signs an assertion per request.
    Certificate(Arc<ClientCertificate>),
    /// A callback that returns a signed assertion (e.g. a Kubernetes federated
    /// token), called for every token request so rotated tokens are picked up.
    Assertion(Arc<AssertionCallback>),
}

impl ClientCredential {
    /// A client secret.
    ///
    /// ```
    /// let c = oxmsal::credential::ClientCredential::secret(String::from("x"));
    /// # let _ = c;
    /// ```
    pub fn secret(secret: impl Into<Secret>) -> Self {
        ClientCredential::Secret(secret.into())
    }

    /// A certificate credential.
    ///
    /// ```no_run
    /// use oxmsal::credential::{ClientCertificate, ClientCredential};
    /// let pem = std::fs::read("app.pem").unwrap();
    /// let cred = ClientCredential::certificate(ClientCertificate::from_pem(&pem).unwrap());
    /// ```
    pub fn certificate(certificate: ClientCertificate) -> Self {
        ClientCredential::Certificate(Arc::new(certificate))
    }

    /// An assertion callback, invoked once per token request.
    ///
    /// ```
    /// use oxmsal::{credential::ClientCredential, Secret};
    /// let c = ClientCredential::assertion(|req| {
    ///     let audience = req.audience.clone();
    ///     Box::pin(async move { Ok(Secret::new(format!("assertion-for-{audience}"))) })
    /// });
    /// # let _ = c;
    /// ```
    pub fn assertion<F>(callback: F) -> Self
    where
        F: Fn(AssertionRequest) -> AssertionFuture + Send + Sync + 'static,
    {
        ClientCredential::Assertion(Arc::new(callback))
    }

    /// The form fields that authenticate the client on one token request.
    pub(crate) async fn form_fields(
        &self,
        request: AssertionRequest,
        adfs: bool,
        now: u64,
    ) -> Result<Vec<(&'static str, Secret)>> {
        match self {
            ClientCredential::Secret(secret) => {
                if secret.is_empty() {
                    return Err(Error::configuration("the client secret is empty"));
                }
                Ok(vec![("client_secret", secret.clone())])
            }
            ClientCredential::Certificate(cert) => {
                let assertion =
                    cert.sign_assertion(&request.audience, &request.client_id, now, adfs)?;
                Ok(vec![
                    ("client_assertion_type", Secret::new(JWT_BEARER)),
                    ("client_assertion", assertion),
                ])
            }
            ClientCredential::Assertion(callback) => {
                let assertion = callback(request).await?;
                if assertion.is_empty() {
                    return Err(Error::configuration(
                        "the assertion callback returned an empty assertion",
                    ));
                }
                Ok(vec![
                    ("client_assertion_type", Secret::new(JWT_BEARER)),
                    ("client_assertion", assertion),
                ])
            }
        }
    }
}

impl fmt::Debug for ClientCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientCredential::Secret(_) => f.write_str("ClientCredential::Secret(<redacted>)"),
            ClientCredential::Certificate(c) => f
                .debug_tuple("ClientCredential::Certificate")
                .field(c)
                .finish(),
            ClientCredential::Assertion(_) => {
                f.write_str("ClientCredential::Assertion(<callback>)")
            }
        }
    }
}
