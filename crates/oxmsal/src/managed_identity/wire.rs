//! One managed-identity request on the wire: built per source, sent through
//! the app's transport with the managed-identity retry rules.

use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderName, HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use http::Method;
use url::Url;

use crate::clock::Clock;
use crate::error::{Error, ErrorKind, Result};
use crate::http::{HttpClient, HttpRequest, HttpResponse};
use crate::secret::Secret;

use super::retry::{Decision, Outcome, RetryState};
use super::{ManagedIdentityRetryPolicy, ManagedIdentitySource};

/// A request a source builds. Header values may be secrets (the identity
/// header, Arc's key): they are never logged.
#[derive(Debug)]
pub(crate) struct SourceRequest {
    pub method: Method,
    pub url: Url,
    pub headers: Vec<(HeaderName, Secret)>,
    /// A form body (Cloud Shell's POST).
    pub form: Option<Vec<(&'static str, String)>>,
}

impl SourceRequest {
    /// A GET of `url` with `query` appended.
    pub(crate) fn get(mut url: Url, query: &[(&str, &str)]) -> Self {
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter());
        }
        SourceRequest {
            method: Method::GET,
            url,
            headers: Vec::new(),
            form: None,
        }
    }

    /// Adds a header (lowercase static name).
    pub(crate) fn header(mut self, name: &'static str, value: impl Into<Secret>) -> Self {
        self.headers
            .push((HeaderName::from_static(name), value.into()));
        self
    }

    fn to_http(&self) -> Result<HttpRequest> {
        let uri: http::Uri =
            self.url.as_str().parse().map_err(|e| {
                Error::configuration(format!("invalid managed identity endpoint: {e}"))
            })?;
        let body = match &self.form {
            Some(fields) => url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(fields.iter())
                .finish()
                .into_bytes(),
            None => Vec::new(),
        };
        let mut request = http::Request::new(body);
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = uri;
        let headers = request.headers_mut();
        if self.form.is_some() {
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            );
        }
        for (name, value) in &self.headers {
            let mut value = HeaderValue::from_str(value.expose_secret()).map_err(|_| {
                Error::configuration(format!("the `{name}` header's value is not valid in HTTP"))
            })?;
            value.set_sensitive(true);
            headers.append(name.clone(), value);
        }
        Ok(request)
    }
}

/// Plain http is what the managed-identity endpoints speak, but only on the
/// host itself: a loopback address or the link-local IMDS range
/// (169.254.0.0/16). Anywhere else the endpoint must use https.
pub(crate) fn check_endpoint(url: &Url, source: ManagedIdentitySource) -> Result<()> {
    let host_local = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback() || ip.is_link_local(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    let shown = {
        let mut u = url.clone();
        u.set_query(None);
        u.to_string()
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if source == ManagedIdentitySource::ServiceFabric => Err(Error::configuration(format!(
            "the Service Fabric managed identity endpoint `{shown}` must use https"
        ))),
        "http" if host_local => Ok(()),
        "http" => Err(Error::configuration(format!(
            "the managed identity endpoint `{shown}` uses plain http to a host that is neither loopback nor link-local; use https"
        ))),
        other => Err(Error::configuration(format!(
            "the managed identity endpoint `{shown}` has unsupported scheme `{other}`"
        ))),
    }
}

/// Parses an endpoint from the environment.
pub(crate) fn parse_endpoint(
    text: &str,
    variable: &str,
    source: ManagedIdentitySource,
) -> Result<Url> {
    let url = Url::parse(text.trim())
        .map_err(|e| Error::configuration(format!("{variable} is not a valid URL ({e})")))?;
    check_endpoint(&url, source)?;
    Ok(url)
}

/// What came back, with the retries it took.
#[derive(Debug)]
pub(crate) struct Sent {
    pub response: HttpResponse,
    pub retries: u32,
    /// The answer was retriable but the retries ran out.
    pub exhausted: bool,
}

/// The transport and its rules, shared by every request of one client.
#[derive(Debug, Clone)]
pub(crate) struct Transport {
    pub client: Arc<dyn HttpClient>,
    pub clock: Arc<dyn Clock>,
    pub retry: ManagedIdentityRetryPolicy,
    pub source: ManagedIdentitySource,
}

impl Transport {
    /// Sends `request`, retrying per the source's rules through the clock.
    pub(crate) async fn send(&self, request: &SourceRequest, correlation_id: &str) -> Result<Sent> {
        check_endpoint(&request.url, self.source)?;
        let mut state = RetryState::new(self.retry, self.source);
        loop {
            let result = self.client.send(request.to_http()?).await;
            let (outcome, retry_after) = match &result {
                Ok(response) => (
                    Outcome::Status(response.status()),
                    retry_after(response, self.clock.as_ref()),
                ),
                Err(e) if e.kind() == ErrorKind::Transport => (Outcome::Transport, None),
                Err(_) => (Outcome::Status(http::StatusCode::OK), None),
            };
            let decision = state.decide(outcome, retry_after);
            let retries = state.retries();
            match decision {
                Decision::Retry(delay) => {
                    tracing::info!(
                        correlation_id,
                        source = self.source.as_str(),
                        retry = retries,
                        delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        outcome = ?outcome,
                        "managed identity request will be retried"
                    );
                    self.clock.sleep(delay).await;
                }
                Decision::GiveUp | Decision::Done => {
                    let exhausted = decision == Decision::GiveUp;
                    return match result {
                        Ok(response) => Ok(Sent {
                            response,
                            retries,
                            exhausted,
                        }),
                        Err(e) => Err(e.with_retries(retries)),
                    };
                }
            }
        }
    }
}

fn retry_after(response: &HttpResponse, clock: &dyn Clock) -> Option<Duration> {
    response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| crate::http::parse_retry_after(v, clock.now()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn plain_http_only_on_the_host() {
        let ok = |s: &str, source| check_endpoint(&Url::parse(s).unwrap(), source).is_ok();
        use ManagedIdentitySource::*;
        assert!(ok(
            "http://169.254.169.254/metadata/identity/oauth2/token",
            Imds
        ));
        assert!(ok("http://127.0.0.1:41741/msi/token", AppService));
        assert!(ok(
            "http://localhost:40342/metadata/identity/oauth2/token",
            AzureArc
        ));
        assert!(!ok("http://example.com/token", Imds));
        assert!(!ok("http://10.0.0.4/token", AppService));
        assert!(ok("https://example.com/token", AppService));
        assert!(!ok(
            "http://localhost:2377/metadata/identity/oauth2/token",
            ServiceFabric
        ));
        assert!(!ok("ftp://localhost/x", CloudShell));
    }
}
