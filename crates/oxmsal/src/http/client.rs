//! The transport: a trait so apps can bring their own, and the reqwest default.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::error::{Error, Result};

use super::{HttpRequest, HttpResponse};

/// The future an [`HttpClient`] returns.
pub type HttpFuture<'a> = Pin<Box<dyn Future<Output = Result<HttpResponse>> + Send + 'a>>;

/// Sends one HTTP request and reads the whole response.
///
/// Implementations report failures to reach the server or read its answer as
/// [`Error::transport`]; any HTTP status, 5xx included, is a response, not an error.
///
/// ```
/// use oxmsal::http::{HttpClient, HttpFuture, HttpRequest};
/// #[derive(Debug)]
/// struct AlwaysTeapot;
/// impl HttpClient for AlwaysTeapot {
///     fn send(&self, _request: HttpRequest) -> HttpFuture<'_> {
///         Box::pin(async { Ok(http::Response::builder().status(418).body(Vec::new()).unwrap()) })
///     }
/// }
/// ```
pub trait HttpClient: Send + Sync + fmt::Debug {
    /// Sends `request`.
    fn send(&self, request: HttpRequest) -> HttpFuture<'_>;
}

/// Settings of the default transport.
///
/// ```
/// use std::time::Duration;
/// let config = oxmsal::http::HttpConfig::default().request_timeout(Duration::from_secs(10));
/// # let _ = config;
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HttpConfig {
    /// Extra trusted root certificates (PEM), e.g. a local server's CA.
    pub extra_roots_pem: Vec<Vec<u8>>,
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Time allowed for a whole request, response body included.
    pub request_timeout: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            extra_roots_pem: Vec::new(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
        }
    }
}

impl HttpConfig {
    /// Trusts the certificates of a PEM bundle in addition to the system's roots.
    ///
    /// ```
    /// let config = oxmsal::http::HttpConfig::default().extra_root_pem(b"-----BEGIN CERTIFICATE-----...".to_vec());
    /// assert_eq!(config.extra_roots_pem.len(), 1);
    /// ```
    pub fn extra_root_pem(mut self, pem: Vec<u8>) -> Self {
        self.extra_roots_pem.push(pem);
        self
    }

    /// Sets the connect timeout.
    ///
    /// ```
    /// let c = oxmsal::http::HttpConfig::default().connect_timeout(std::time::Duration::from_secs(1));
    /// assert_eq!(c.connect_timeout.as_secs(), 1);
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the whole-request timeout.
    ///
    /// ```
    /// let c = oxmsal::http::HttpConfig::default().request_timeout(std::time::Duration::from_secs(5));
    /// assert_eq!(c.request_timeout.as_secs(), 5);
    /// ```
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }
}

/// The default transport: reqwest over rustls, the system's roots plus any extra ones.
///
/// ```
/// let client = oxmsal::http::ReqwestClient::new(&oxmsal::http::HttpConfig::default()).unwrap();
/// # let _ = client;
/// ```
#[derive(Debug, Clone)]
pub struct ReqwestClient {
    client: reqwest::Client,
}

impl ReqwestClient {
    /// Builds the client; a PEM root that does not parse is a configuration error.
    ///
    /// ```
    /// use oxmsal::http::{HttpConfig, ReqwestClient};
    /// let bad = HttpConfig::default().extra_root_pem(b"not pem".to_vec());
    /// assert!(ReqwestClient::new(&bad).is_err());
    /// ```
    pub fn new(config: &HttpConfig) -> Result<Self> {
        let mut roots = Vec::new();
        for pem in &config.extra_roots_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
                Error::configuration(format!("extra root certificate is not valid PEM: {e}"))
            })?;
            if certs.is_empty() {
                return Err(Error::configuration(
                    "extra root certificate file holds no PEM certificate",
                ));
            }
            roots.extend(certs);
        }
        let client = reqwest::Client::builder()
            .tls_certs_merge(roots)
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            // Redirects on a token endpoint would leak a POST body elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::configuration(format!("cannot build the HTTP client: {e}")))?;
        Ok(ReqwestClient { client })
    }
}

impl ReqwestClient {
    /// Wraps a reqwest client configured elsewhere (Service Fabric's pinned TLS).
    pub(crate) fn from_reqwest(client: reqwest::Client) -> Self {
        ReqwestClient { client }
    }
}

impl HttpClient for ReqwestClient {
    fn send(&self, request: HttpRequest) -> HttpFuture<'_> {
        Box::pin(async move {
            let request = reqwest::Request::try_from(request)
                .map_err(|e| Error::configuration(format!("invalid request: {e}")))?;
            let response = self
                .client
                .execute(request)
                .await
                .map_err(transport_error)?;
            let mut builder = http::Response::builder()
                .status(response.status())
                .version(response.version());
            if let Some(headers) = builder.headers_mut() {
                headers.extend(response.headers().clone());
            }
            let body = response.bytes().await.map_err(transport_error)?;
            builder
                .body(body.to_vec())
                .map_err(|e| Error::transport(format!("unreadable response: {e}"), None))
        })
    }
}

/// Names what failed in words a person can act on; the URL is left out (it is
/// logged by the pipeline) and no body is ever included.
fn transport_error(e: reqwest::Error) -> Error {
    let what = if e.is_timeout() {
        "the request timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the connection failed while reading the response"
    } else {
        "the request failed"
    };
    let mut detail = String::new();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    let message = if detail.is_empty() {
        what.to_owned()
    } else {
        format!("{what} ({detail})")
    };
    Error::transport(message, None)
}
