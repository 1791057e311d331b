//! The transport: a trait so apps can bring their own, and the reqwest default.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::error::{Error, InvalidResponse, Result};

use super::{HttpRequest, HttpResponse};

/// The future an [`HttpClient`] returns.
pub type HttpFuture<'a> = Pin<Box<dyn Future<Output = Result<HttpResponse>> + Send + 'a>>;

/// Sends one HTTP request and reads the whole response.
///
/// Implementations report failures to reach the server or read its answer as
/// [`Error::transport`]; any HTTP status, 5xx included, is a response, not an error.
/// They should bound what they read, as [`ReqwestClient`] does with
/// [`HttpConfig::max_response_bytes`]: the server decides a body's length.
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
    /// Most bytes of a response body read; a longer body is an
    /// `InvalidResponse` naming this cap, and its rest is never read
    /// ([`HttpConfig::DEFAULT_MAX_RESPONSE_BYTES`] by default).
    pub max_response_bytes: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            extra_roots_pem: Vec::new(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_response_bytes: Self::DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

impl HttpConfig {
    /// The default response size cap: 1 MiB. The identity platform's answers
    /// are a few KiB (a token response with its tokens is under 20 KiB, an
    /// OpenID configuration about 2 KiB); a body a thousand times that is not
    /// one of them, and reading it whole would let any server or proxy on
    /// the path decide how much memory the app uses.
    ///
    /// ```
    /// use oxmsal::http::HttpConfig;
    /// assert_eq!(HttpConfig::default().max_response_bytes, HttpConfig::DEFAULT_MAX_RESPONSE_BYTES);
    /// ```
    pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1 << 20;

    /// Sets the response size cap (see [`HttpConfig::max_response_bytes`]).
    ///
    /// ```
    /// let c = oxmsal::http::HttpConfig::default().max_response_bytes(64 * 1024);
    /// assert_eq!(c.max_response_bytes, 65_536);
    /// ```
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

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
    /// Built on the first request, shared by clones: building it loads the
    /// system's root certificates (milliseconds), which a process answered
    /// from its cache never needs.
    client: Arc<OnceLock<std::result::Result<reqwest::Client, String>>>,
    roots: Vec<reqwest::Certificate>,
    connect_timeout: Duration,
    request_timeout: Duration,
    max_response_bytes: usize,
}

impl ReqwestClient {
    /// Checks the extra roots (a PEM root that does not parse is a
    /// configuration error, at once); the client itself is built on the first
    /// request.
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
        Ok(ReqwestClient {
            client: Arc::new(OnceLock::new()),
            roots,
            connect_timeout: config.connect_timeout,
            request_timeout: config.request_timeout,
            max_response_bytes: config.max_response_bytes,
        })
    }

    /// The reqwest client, built on first use.
    fn client(&self) -> Result<&reqwest::Client> {
        self.client
            .get_or_init(|| {
                reqwest::Client::builder()
                    .tls_certs_merge(self.roots.clone())
                    .connect_timeout(self.connect_timeout)
                    .timeout(self.request_timeout)
                    // Redirects on a token endpoint would leak a POST body elsewhere.
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .map_err(|e| format!("cannot build the HTTP client: {e}"))
            })
            .as_ref()
            .map_err(|e| Error::configuration(e.clone()))
    }
}

impl ReqwestClient {
    /// Wraps a reqwest client configured elsewhere (Service Fabric's pinned
    /// TLS), reading bodies under `config`'s cap.
    pub(crate) fn from_reqwest(client: reqwest::Client, config: &HttpConfig) -> Self {
        ReqwestClient {
            client: Arc::new(OnceLock::from(Ok(client))),
            roots: Vec::new(),
            connect_timeout: config.connect_timeout,
            request_timeout: config.request_timeout,
            max_response_bytes: config.max_response_bytes,
        }
    }
}

impl HttpClient for ReqwestClient {
    fn send(&self, request: HttpRequest) -> HttpFuture<'_> {
        Box::pin(async move {
            let request = reqwest::Request::try_from(request)
                .map_err(|e| Error::configuration(format!("invalid request: {e}")))?;
            let mut response = self
                .client()?
                .execute(request)
                .await
                .map_err(transport_error)?;
            let mut builder = http::Response::builder()
                .status(response.status())
                .version(response.version());
            if let Some(headers) = builder.headers_mut() {
                headers.extend(response.headers().clone());
            }
            let body = read_capped(&mut response, self.max_response_bytes).await?;
            builder
                .body(body)
                .map_err(|e| Error::transport(format!("unreadable response: {e}"), None))
        })
    }
}

/// The body, chunk by chunk, up to `cap` bytes: a longer one (announced by
/// `Content-Length` or found while reading) is an `InvalidResponse` naming the
/// cap, and what is left of it is never read, so memory stays bounded.
async fn read_capped(response: &mut reqwest::Response, cap: usize) -> Result<Vec<u8>> {
    let too_large = |response: &reqwest::Response| {
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Error::from_invalid_response(InvalidResponse::new(
            response.status().as_u16(),
            content_type,
            b"",
            format!(
                "the response body is larger than the {cap}-byte cap \
                 (`HttpConfig::max_response_bytes`); the rest was not read"
            ),
        ))
    };
    let announced = response.content_length();
    if announced.is_some_and(|len| len > u64::try_from(cap).unwrap_or(u64::MAX)) {
        return Err(too_large(response));
    }
    let expected = announced
        .and_then(|len| usize::try_from(len).ok())
        .unwrap_or(0)
        .min(cap);
    let mut body = Vec::with_capacity(expected);
    while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
        if chunk.len() > cap - body.len() {
            return Err(too_large(response));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_client_is_built_on_the_first_request_and_shared_by_clones() {
        let client = ReqwestClient::new(&HttpConfig::default()).unwrap();
        assert!(
            client.client.get().is_none(),
            "nothing built for a cache hit"
        );
        let clone = client.clone();
        client.client().unwrap();
        assert!(clone.client.get().is_some());
    }
}
