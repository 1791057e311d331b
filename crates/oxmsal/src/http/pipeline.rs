//! The choke point: headers, the https rule, retries, logging.

use std::sync::Arc;
use std::time::Instant;

use http::header::{HeaderName, HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use http::{Method, StatusCode};
use tracing::Instrument as _;
use url::Url;

use crate::clock::Clock;
use crate::error::{Error, ErrorKind, Result};

use super::{HttpClient, HttpRequest, HttpResponse, RetryPolicy};

/// What a request is for; decides telemetry ids and log fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestKind {
    /// OpenID Connect discovery.
    Discovery,
    /// Entra ID instance discovery.
    InstanceDiscovery,
    /// A token request; `api_id` is MSAL's telemetry id of the public API.
    Token { api_id: u32 },
}

impl RequestKind {
    fn name(self) -> &'static str {
        match self {
            RequestKind::Discovery => "discovery",
            RequestKind::InstanceDiscovery => "instance_discovery",
            RequestKind::Token { .. } => "token",
        }
    }
}

/// The library's own identification, sent as `x-client-sku` / `x-client-ver`.
const SKU: &str = "MSAL.Rust";
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Sends every request of one application.
#[derive(Debug, Clone)]
pub(crate) struct Pipeline {
    client: Arc<dyn HttpClient>,
    clock: Arc<dyn Clock>,
    retry: RetryPolicy,
    allow_http_loopback: bool,
}

/// One outgoing request, before the pipeline stamps it.
#[derive(Debug)]
pub(crate) struct Outgoing<'a> {
    pub method: Method,
    pub url: &'a Url,
    pub kind: RequestKind,
    pub correlation_id: &'a str,
    /// Form fields of a POST; values may be secrets and are never logged.
    pub form: Option<&'a [(&'a str, &'a str)]>,
    /// The caller's extra headers (names checked against
    /// [`is_reserved_header`] before the request was built).
    pub extra_headers: &'a [(String, String)],
}

impl Pipeline {
    pub(crate) fn new(
        client: Arc<dyn HttpClient>,
        clock: Arc<dyn Clock>,
        retry: RetryPolicy,
        allow_http_loopback: bool,
    ) -> Self {
        Pipeline {
            client,
            clock,
            retry,
            allow_http_loopback,
        }
    }

    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// `GET url`.
    pub(crate) async fn get(
        &self,
        url: &Url,
        kind: RequestKind,
        correlation_id: &str,
    ) -> Result<HttpResponse> {
        self.send(Outgoing {
            method: Method::GET,
            url,
            kind,
            correlation_id,
            form: None,
            extra_headers: &[],
        })
        .await
    }

    /// Sends a request, retrying per the policy. Any HTTP status is `Ok`.
    pub(crate) async fn send(&self, out: Outgoing<'_>) -> Result<HttpResponse> {
        check_scheme(out.url, self.allow_http_loopback)?;
        let body = match out.form {
            Some(fields) => url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(fields.iter())
                .finish()
                .into_bytes(),
            None => Vec::new(),
        };
        let span = tracing::info_span!(
            "oxmsal.http",
            correlation_id = out.correlation_id,
            kind = out.kind.name(),
            method = %out.method,
            endpoint = %endpoint_for_log(out.url),
        );
        let correlation_id = out.correlation_id.to_owned();
        async move {
            let mut attempt = 0u32;
            loop {
                let request = build_request(&out, &body)?;
                let started = Instant::now();
                let result = self.client.send(request).await;
                let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                let retry_reason = match &result {
                    Ok(response) => {
                        let status = response.status();
                        let has_retry_after = response.headers().contains_key(RETRY_AFTER);
                        tracing::info!(status = status.as_u16(), elapsed_ms, attempt, has_retry_after, "response");
                        if status.is_server_error() && !has_retry_after {
                            Some(format!("HTTP {}", status.as_u16()))
                        } else {
                            None
                        }
                    }
                    Err(e) => {
                        tracing::warn!(elapsed_ms, attempt, error = %e, "request failed");
                        (e.kind() == ErrorKind::Transport).then(|| "transport failure".to_owned())
                    }
                };
                match retry_reason {
                    Some(reason) if attempt < self.retry.max_retries => {
                        attempt += 1;
                        tracing::info!(attempt, delay_ms = u64::try_from(self.retry.delay.as_millis()).unwrap_or(u64::MAX), %reason, "retrying");
                        self.clock.sleep(self.retry.delay).await;
                    }
                    _ => {
                        return result.map_err(|e| e.with_correlation_id(correlation_id.clone()));
                    }
                }
            }
        }
        .instrument(span)
        .await
    }
}

/// The URL without its query: queries can carry user input, never needed in a log.
fn endpoint_for_log(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// https everywhere; plain http only to a loopback host, and only when the app opted in.
pub(crate) fn check_scheme(url: &Url, allow_http_loopback: bool) -> Result<()> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if allow_http_loopback && is_loopback(url) => Ok(()),
        "http" if is_loopback(url) => Err(Error::configuration(format!(
            "`{}` uses plain http; allow it for loopback hosts with `allow_insecure_http_loopback(true)`",
            endpoint_for_log(url)
        ))),
        other => Err(Error::configuration(format!(
            "`{}` must use https (plain http is allowed only for loopback hosts); got scheme `{other}`",
            endpoint_for_log(url)
        ))),
    }
}

/// Whether the URL's host is a loopback name or address.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Headers the pipeline sets on every request, beside `client-request-id`,
/// the telemetry header and the form's `Content-Type`.
const FIXED_HEADERS: [(&str, &str); 5] = [
    ("return-client-request-id", "true"),
    ("x-client-sku", SKU),
    ("x-client-ver", VERSION),
    ("x-client-os", std::env::consts::OS),
    ("x-ms-lib-capability", "retry-after, h429"),
];

/// Whether a caller's extra header would stand in for one the pipeline sets
/// (or the transport frames the request with, or that authenticates it):
/// compared without regard to case, every `x-client-` header included.
pub(crate) fn is_reserved_header(name: &str) -> bool {
    const OTHERS: [&str; 7] = [
        "client-request-id",
        "x-client-current-telemetry",
        "content-type",
        "authorization",
        "host",
        "content-length",
        "transfer-encoding",
    ];
    let lower = name.to_ascii_lowercase();
    lower.starts_with("x-client-")
        || OTHERS.contains(&lower.as_str())
        || FIXED_HEADERS.iter().any(|(fixed, _)| *fixed == lower)
}

/// A header value the app chose (a correlation id, an extra header): visible
/// ASCII and spaces only. `http` alone would let a tab through; a CR/LF would
/// end the header.
pub(crate) fn checked_header_value(name: &str, value: &str) -> Result<HeaderValue> {
    let invalid = || {
        Error::configuration(format!(
            "header `{name}` value `{}` holds a control character or non-ASCII text",
            value.escape_debug()
        ))
    };
    if value.chars().any(|c| c.is_control() || !c.is_ascii()) {
        return Err(invalid());
    }
    HeaderValue::from_str(value).map_err(|_| invalid())
}

fn build_request(out: &Outgoing<'_>, body: &[u8]) -> Result<HttpRequest> {
    let invalid =
        |name: &str| Error::configuration(format!("header `{name}` has an invalid value"));
    let uri: http::Uri = out
        .url
        .as_str()
        .parse()
        .map_err(|e| Error::configuration(format!("invalid request: {e}")))?;
    let mut request = http::Request::new(body.to_vec());
    *request.method_mut() = out.method.clone();
    *request.uri_mut() = uri;
    // The fixed values are static: no copy of them per request.
    let headers = request.headers_mut();
    let correlation_id = checked_header_value("client-request-id", out.correlation_id)?;
    headers.append(HeaderName::from_static("client-request-id"), correlation_id);
    for (name, value) in FIXED_HEADERS {
        headers.append(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    if let RequestKind::Token { api_id } = out.kind {
        let telemetry = HeaderValue::from_str(&format!("4|{api_id},0|"))
            .map_err(|_| invalid("x-client-current-telemetry"))?;
        headers.append(
            HeaderName::from_static("x-client-current-telemetry"),
            telemetry,
        );
    }
    if out.form.is_some() {
        headers.append(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
    }
    for (name, value) in out.extra_headers {
        let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid(name))?;
        let value = checked_header_value(name, value)?;
        headers.append(header, value);
    }
    Ok(request)
}

/// Statuses the pipeline treats as "the server is struggling".
#[allow(dead_code)]
pub(crate) fn is_server_trouble(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn scheme_rule() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert!(check_scheme(&u("https://login.microsoftonline.com/x"), false).is_ok());
        assert!(check_scheme(&u("http://login.microsoftonline.com/x"), true).is_err());
        assert!(check_scheme(&u("http://localhost:8080/x"), false).is_err());
        assert!(check_scheme(&u("http://localhost:8080/x"), true).is_ok());
        assert!(check_scheme(&u("http://127.0.0.1:1/x"), true).is_ok());
        assert!(check_scheme(&u("http://[::1]:1/x"), true).is_ok());
        assert!(check_scheme(&u("ftp://localhost/x"), true).is_err());
    }

    #[test]
    fn header_values_with_control_characters_are_configuration_errors() {
        for bad in ["a\r\nx-injected: 1", "a\nb", "tab\there", "del\u{7f}", "é"] {
            let e = checked_header_value("client-request-id", bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Configuration, "{bad:?}");
        }
        assert!(checked_header_value("client-request-id", "my id-1").is_ok());
    }

    #[test]
    fn log_endpoint_drops_query() {
        let url = Url::parse("https://h/t/oauth2?code=secret#frag").unwrap();
        assert_eq!(endpoint_for_log(&url), "https://h/t/oauth2");
    }
}
