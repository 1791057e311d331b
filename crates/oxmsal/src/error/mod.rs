//! The error model: every failure is a value that keeps what the server said.
//!
//! An [`Error`] has a [`ErrorKind`] that tells the caller what class of thing went
//! wrong, and carries the details of that class: the identity platform's own
//! error object ([`ServiceError`], every key kept), a response that broke the
//! protocol ([`InvalidResponse`]), or a message for configuration, transport,
//! cache and cancellation failures. [`Error::to_msal_json`] gives the dict MSAL for
//! Python returns for the same outcome, so scripts in any language see one shape.
//!
//! No error value ever holds a token, a secret, a password or an assertion.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value};

pub mod action;

/// A boxed error source.
type Source = Box<dyn StdError + Send + Sync + 'static>;

/// The class of a failure; decides what the caller should do with it.
///
/// ```
/// use oxmsal::{Error, ErrorKind};
/// let err = Error::configuration("no scope given");
/// assert_eq!(err.kind(), ErrorKind::Configuration);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The identity platform answered with an OAuth2 error (RFC 6749 §5.2), or a
    /// 5xx/429 carrying one.
    Service,
    /// Refused locally: the server asked us to back off and the time has not passed.
    Throttled,
    /// DNS, connect, TLS, timeout: the request may not have reached the server.
    Transport,
    /// The server answered, but not with what the protocol promises (HTML, bad JSON).
    InvalidResponse,
    /// Caller misuse: bad authority, reserved scope, missing credential…
    Configuration,
    /// The token cache or its persistence back end failed (file, Redis).
    Cache,
    /// A flow was ended by the caller or by its deadline.
    Cancelled,
    /// No token for this request is in the cache (silent acquisition only).
    NoCachedToken,
}

impl ErrorKind {
    /// A short, stable, snake_case name of the kind.
    ///
    /// ```
    /// assert_eq!(oxmsal::ErrorKind::InvalidResponse.as_str(), "invalid_response");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Service => "service",
            ErrorKind::Throttled => "throttled",
            ErrorKind::Transport => "transport",
            ErrorKind::InvalidResponse => "invalid_response",
            ErrorKind::Configuration => "configuration",
            ErrorKind::Cache => "cache",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::NoCachedToken => "no_cached_token",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The identity platform's error object (RFC 6749 §5.2 plus Entra's fields),
/// with the HTTP status and `Retry-After` of the response that carried it.
///
/// Every key the server sent is kept in [`ServiceError::body`], in its order and
/// with its value unchanged; the typed fields are views of the common ones.
/// One exception, for errors oxmsal reads off a response: a server or proxy
/// that echoes the request back (`error_description: "… client_secret=…"`)
/// would put the client secret, password, refresh token, authorization code,
/// code verifier, assertion or device code in every log and terminal this error
/// reaches, so each of the values that request sent is replaced by `<redacted>`
/// — raw, form- or percent-encoded, JSON- or HTML-escaped — in every string of
/// the object (member names included) before it is kept. Nothing else changes.
///
/// ```
/// use oxmsal::ServiceError;
/// let body = r#"{"error":"invalid_grant","error_codes":[50076],"suberror":"basic_action","x":1}"#;
/// let err = ServiceError::from_body(400, body.as_bytes(), None).unwrap();
/// assert_eq!(err.error, "invalid_grant");
/// assert_eq!(err.aadsts(), Some(50076));
/// assert_eq!(err.body["x"], 1);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ServiceError {
    /// The `error` code, e.g. `invalid_grant`.
    pub error: String,
    /// `error_description`: human-readable, starts with `AADSTSnnnn:` on Entra ID.
    pub error_description: Option<String>,
    /// `error_codes`: the AADSTS numbers, most specific first.
    pub error_codes: Vec<u64>,
    /// `suberror`, e.g. `basic_action`, `consent_required`.
    pub suberror: Option<String>,
    /// `claims`: a claims challenge to pass to the next token request.
    pub claims: Option<String>,
    /// `correlation_id`: quote it when asking Microsoft support.
    pub correlation_id: Option<String>,
    /// `trace_id`.
    pub trace_id: Option<String>,
    /// `timestamp`, as the server wrote it.
    pub timestamp: Option<String>,
    /// `error_uri`.
    pub error_uri: Option<String>,
    /// The HTTP status of the response.
    pub http_status: u16,
    /// The response's `Retry-After`, when it had one.
    pub retry_after: Option<Duration>,
    /// The whole error object, every key as the server sent it.
    pub body: Map<String, Value>,
}

impl ServiceError {
    /// Parses an OAuth2 error response body. `None` when the body is not a JSON
    /// object with a string `error` (then it is not an OAuth error at all).
    ///
    /// ```
    /// use oxmsal::ServiceError;
    /// assert!(ServiceError::from_body(500, b"<html>oops</html>", None).is_none());
    /// ```
    pub fn from_body(status: u16, body: &[u8], retry_after: Option<Duration>) -> Option<Self> {
        let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
            return None;
        };
        Self::from_map(status, map, retry_after)
    }

    /// Builds from an already parsed JSON object; `None` without a string `error`.
    ///
    /// ```
    /// use oxmsal::ServiceError;
    /// let map = serde_json::json!({"error": "invalid_client"});
    /// let map = map.as_object().unwrap().clone();
    /// assert_eq!(ServiceError::from_map(401, map, None).unwrap().http_status, 401);
    /// ```
    pub fn from_map(
        status: u16,
        body: Map<String, Value>,
        retry_after: Option<Duration>,
    ) -> Option<Self> {
        let error = body.get("error")?.as_str()?.to_owned();
        let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
        let error_codes = match body.get("error_codes") {
            Some(Value::Array(codes)) => codes
                .iter()
                .filter_map(|c| {
                    c.as_u64()
                        .or_else(|| c.as_str().and_then(|s| s.parse().ok()))
                })
                .collect(),
            _ => Vec::new(),
        };
        Some(ServiceError {
            error,
            error_description: text("error_description"),
            error_codes,
            suberror: text("suberror"),
            claims: text("claims"),
            correlation_id: text("correlation_id"),
            trace_id: text("trace_id"),
            timestamp: text("timestamp"),
            error_uri: text("error_uri"),
            http_status: status,
            retry_after,
            body,
        })
    }

    /// The first AADSTS code: from `error_codes`, else from `AADSTSnnnn` in the description.
    ///
    /// ```
    /// use oxmsal::ServiceError;
    /// let e = ServiceError::from_body(400, br#"{"error":"x","error_description":"AADSTS70011: bad scope"}"#, None).unwrap();
    /// assert_eq!(e.aadsts(), Some(70011));
    /// ```
    pub fn aadsts(&self) -> Option<u64> {
        if let Some(code) = self.error_codes.first() {
            return Some(*code);
        }
        let description = self.error_description.as_deref()?;
        let start = description.find("AADSTS")? + "AADSTS".len();
        let digits: String = description[start..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    }

    /// The first line of the description, without the trace/correlation trailer.
    fn short_description(&self) -> Option<&str> {
        let d = self.error_description.as_deref()?;
        let first = d.split(['\r', '\n']).next().unwrap_or(d);
        let cut = first.find(" Trace ID:").unwrap_or(first.len());
        Some(first[..cut].trim())
    }
}

/// A response that is not what the protocol promises: an HTML page from a proxy,
/// an empty body, JSON that does not parse, a success without a token.
///
/// ```
/// use oxmsal::InvalidResponse;
/// let r = InvalidResponse::new(502, Some("text/html".into()), b"<html>Bad gateway</html>", "not an OAuth response");
/// assert!(r.body_excerpt.contains("Bad gateway"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InvalidResponse {
    /// The HTTP status.
    pub http_status: u16,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// At most [`InvalidResponse::EXCERPT_LIMIT`] characters of the body, with
    /// anything that looks like a token redacted.
    pub body_excerpt: String,
    /// What was wrong with it.
    pub reason: String,
    /// The response's `Retry-After`, when it had one.
    pub retry_after: Option<Duration>,
}

impl InvalidResponse {
    /// How many characters of a body an error keeps.
    pub const EXCERPT_LIMIT: usize = 512;

    /// Describes a bad response; the body is cut and redacted here.
    ///
    /// ```
    /// use oxmsal::InvalidResponse;
    /// let r = InvalidResponse::new(200, None, br#"{"access_token":"eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.sig"#, "truncated JSON");
    /// assert!(!r.body_excerpt.contains("eyJhbGciOiJub25lIn0"));
    /// ```
    pub fn new(
        status: u16,
        content_type: Option<String>,
        body: &[u8],
        reason: impl Into<String>,
    ) -> Self {
        InvalidResponse {
            http_status: status,
            content_type,
            body_excerpt: crate::redact::excerpt(body, Self::EXCERPT_LIMIT),
            reason: reason.into(),
            retry_after: None,
        }
    }

    /// [`InvalidResponse::new`], with the secrets the request sent masked in
    /// the excerpt in every spelling (see `crate::redact`).
    pub(crate) fn redacted(
        status: u16,
        content_type: Option<String>,
        body: &[u8],
        reason: impl Into<String>,
        sent: &crate::redact::SentSecrets,
    ) -> Self {
        InvalidResponse {
            body_excerpt: crate::redact::excerpt_with(body, Self::EXCERPT_LIMIT, sent),
            ..Self::new(status, content_type, b"", reason)
        }
    }

    /// The same, remembering the response's `Retry-After`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let r = oxmsal::InvalidResponse::new(503, None, b"", "empty body").with_retry_after(Some(Duration::from_secs(2)));
    /// assert_eq!(r.retry_after, Some(Duration::from_secs(2)));
    /// ```
    pub fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.retry_after = retry_after;
        self
    }
}

/// Everything an [`Error`] holds.
#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    message: String,
    service: Option<ServiceError>,
    invalid_response: Option<InvalidResponse>,
    throttled_for: Option<Duration>,
    correlation_id: Option<String>,
    source: Option<Source>,
    /// Returned by silent acquisition: MSAL adds `classification` to such errors.
    silent: bool,
    /// Retries made before this error was returned (managed identity).
    retries: u32,
}

/// An oxmsal failure. See the [module docs](self) and [`ErrorKind`].
///
/// ```
/// use oxmsal::{Error, ErrorKind};
/// let err = Error::configuration("`scopes` must not be empty");
/// assert_eq!(err.kind(), ErrorKind::Configuration);
/// assert_eq!(err.to_msal_json()["error"], "invalid_configuration");
/// ```
pub struct Error {
    inner: Box<Inner>,
}

impl Error {
    fn build(kind: ErrorKind, message: String) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                message,
                service: None,
                invalid_response: None,
                throttled_for: None,
                correlation_id: None,
                source: None,
                silent: false,
                retries: 0,
            }),
        }
    }

    /// A caller mistake, reported before any request is sent.
    ///
    /// ```
    /// let e = oxmsal::Error::configuration("bad authority");
    /// assert_eq!(e.to_string(), "configuration error: bad authority");
    /// ```
    pub fn configuration(message: impl Into<String>) -> Self {
        Self::build(ErrorKind::Configuration, message.into())
    }

    /// The identity platform's error.
    ///
    /// ```
    /// use oxmsal::{Error, ServiceError};
    /// let s = ServiceError::from_body(400, br#"{"error":"invalid_scope"}"#, None).unwrap();
    /// assert_eq!(Error::from_service(s).service().unwrap().error, "invalid_scope");
    /// ```
    pub fn from_service(service: ServiceError) -> Self {
        let mut err = Self::build(ErrorKind::Service, String::new());
        err.inner.correlation_id = service.correlation_id.clone();
        err.inner.service = Some(service);
        err
    }

    /// A response that broke the protocol.
    ///
    /// ```
    /// use oxmsal::{Error, ErrorKind, InvalidResponse};
    /// let e = Error::from_invalid_response(InvalidResponse::new(502, None, b"", "empty body"));
    /// assert_eq!(e.kind(), ErrorKind::InvalidResponse);
    /// ```
    pub fn from_invalid_response(response: InvalidResponse) -> Self {
        let mut err = Self::build(ErrorKind::InvalidResponse, String::new());
        err.inner.invalid_response = Some(response);
        err
    }

    /// A failure to reach the server or to read its answer.
    ///
    /// ```
    /// let e = oxmsal::Error::transport("connection refused", None);
    /// assert!(e.is_transient());
    /// ```
    pub fn transport(message: impl Into<String>, source: Option<Source>) -> Self {
        let mut err = Self::build(ErrorKind::Transport, message.into());
        err.inner.source = source;
        err
    }

    /// A failure of the token cache or its persistence.
    ///
    /// ```
    /// let e = oxmsal::Error::cache("cannot read /tmp/x: permission denied", None);
    /// assert_eq!(e.kind(), oxmsal::ErrorKind::Cache);
    /// ```
    pub fn cache(message: impl Into<String>, source: Option<Source>) -> Self {
        let mut err = Self::build(ErrorKind::Cache, message.into());
        err.inner.source = source;
        err
    }

    /// A flow ended by the caller or by its deadline.
    ///
    /// ```
    /// let e = oxmsal::Error::cancelled("the device code expired");
    /// assert_eq!(e.kind(), oxmsal::ErrorKind::Cancelled);
    /// ```
    pub fn cancelled(message: impl Into<String>) -> Self {
        Self::build(ErrorKind::Cancelled, message.into())
    }

    /// Silent acquisition found nothing usable in the cache.
    ///
    /// ```
    /// let e = oxmsal::Error::no_cached_token("no account matches");
    /// assert_eq!(e.kind(), oxmsal::ErrorKind::NoCachedToken);
    /// ```
    pub fn no_cached_token(message: impl Into<String>) -> Self {
        Self::build(ErrorKind::NoCachedToken, message.into())
    }

    /// A request refused locally because an earlier identical one was told to back
    /// off; `original` is that earlier outcome, `remaining` the time still to wait.
    ///
    /// ```
    /// use std::time::Duration;
    /// use oxmsal::{Error, ErrorKind, ServiceError};
    /// let s = ServiceError::from_body(429, br#"{"error":"temporarily_unavailable"}"#, None).unwrap();
    /// let e = Error::throttled(&Error::from_service(s), Duration::from_secs(30));
    /// assert_eq!(e.kind(), ErrorKind::Throttled);
    /// assert_eq!(e.retry_after(), Some(Duration::from_secs(30)));
    /// ```
    pub fn throttled(original: &Error, remaining: Duration) -> Self {
        let mut err = Self::build(ErrorKind::Throttled, original.inner.message.clone());
        err.inner.service = original.inner.service.clone();
        err.inner.invalid_response = original.inner.invalid_response.clone();
        err.inner.correlation_id = original.inner.correlation_id.clone();
        err.inner.throttled_for = Some(remaining);
        err
    }

    /// Attaches the `client-request-id` of the request that failed.
    ///
    /// ```
    /// let e = oxmsal::Error::transport("timed out", None).with_correlation_id("abc");
    /// assert_eq!(e.correlation_id(), Some("abc"));
    /// ```
    pub fn with_correlation_id(mut self, id: impl Into<String>) -> Self {
        if self.inner.correlation_id.is_none() {
            self.inner.correlation_id = Some(id.into());
        }
        self
    }

    /// The same error with every spelling of `sent`'s secrets masked in what it
    /// keeps of a response (the service's error object, the body excerpt).
    pub(crate) fn scrubbed(mut self, sent: &crate::redact::SentSecrets) -> Self {
        if let Some(service) = self.inner.service.take() {
            let mut body = Value::Object(service.body.clone());
            sent.scrub_json(&mut body);
            self.inner.service = match body {
                Value::Object(map) => {
                    ServiceError::from_map(service.http_status, map, service.retry_after)
                }
                _ => None,
            };
        }
        if let Some(r) = self.inner.invalid_response.as_mut() {
            r.body_excerpt = crate::redact::redact_with(&r.body_excerpt, sent);
        }
        self
    }

    /// Records how many retries were made before giving up with this error.
    pub(crate) fn with_retries(mut self, retries: u32) -> Self {
        self.inner.retries = retries;
        self
    }

    /// How many times the request was retried before this error was returned
    /// (managed identity retries; 0 when it was not retried).
    ///
    /// ```
    /// assert_eq!(oxmsal::Error::transport("refused", None).retries(), 0);
    /// ```
    pub fn retries(&self) -> u32 {
        self.inner.retries
    }

    /// Marks an error returned by silent acquisition (its MSAL JSON then carries
    /// `classification`).
    pub(crate) fn in_silent_context(mut self) -> Self {
        self.inner.silent = true;
        self
    }

    /// The class of failure.
    ///
    /// ```
    /// assert_eq!(oxmsal::Error::cancelled("x").kind(), oxmsal::ErrorKind::Cancelled);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The identity platform's error object, for `Service` (and `Throttled` when the
    /// remembered answer was one).
    ///
    /// ```
    /// assert!(oxmsal::Error::cancelled("x").service().is_none());
    /// ```
    pub fn service(&self) -> Option<&ServiceError> {
        self.inner.service.as_ref()
    }

    /// The offending response, for `InvalidResponse` (and `Throttled` when the
    /// remembered answer was one).
    ///
    /// ```
    /// assert!(oxmsal::Error::cancelled("x").invalid_response().is_none());
    /// ```
    pub fn invalid_response(&self) -> Option<&InvalidResponse> {
        self.inner.invalid_response.as_ref()
    }

    /// The first AADSTS code of the service error.
    ///
    /// ```
    /// use oxmsal::{Error, ServiceError};
    /// let s = ServiceError::from_body(400, br#"{"error":"invalid_grant","error_codes":[50076]}"#, None).unwrap();
    /// assert_eq!(Error::from_service(s).aadsts(), Some(50076));
    /// ```
    pub fn aadsts(&self) -> Option<u64> {
        self.service().and_then(ServiceError::aadsts)
    }

    /// The claims challenge the server sent with its error, to pass to the next request.
    ///
    /// ```
    /// use oxmsal::{Error, ServiceError};
    /// let s = ServiceError::from_body(400, br#"{"error":"invalid_grant","claims":"{}"}"#, None).unwrap();
    /// assert_eq!(Error::from_service(s).claims_challenge(), Some("{}"));
    /// ```
    pub fn claims_challenge(&self) -> Option<&str> {
        self.service().and_then(|s| s.claims.as_deref())
    }

    /// How long to wait before trying again: the time left for `Throttled`, else
    /// the response's `Retry-After`.
    ///
    /// ```
    /// assert_eq!(oxmsal::Error::cancelled("x").retry_after(), None);
    /// ```
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        if let Some(d) = self.inner.throttled_for {
            return Some(d);
        }
        self.service()
            .and_then(|s| s.retry_after)
            .or_else(|| self.invalid_response().and_then(|r| r.retry_after))
    }

    /// Whether the same request may succeed later without any change: transport
    /// failures, 5xx, 429, `temporarily_unavailable`, and throttled calls.
    ///
    /// ```
    /// assert!(!oxmsal::Error::configuration("x").is_transient());
    /// ```
    pub fn is_transient(&self) -> bool {
        match self.kind() {
            ErrorKind::Transport | ErrorKind::Throttled => true,
            ErrorKind::Service => self.service().is_some_and(|s| {
                s.http_status >= 500
                    || s.http_status == 429
                    || s.error == "temporarily_unavailable"
                    || s.error == "server_error"
            }),
            ErrorKind::InvalidResponse => self
                .invalid_response()
                .is_some_and(|r| r.http_status >= 500 || r.http_status == 429),
            _ => false,
        }
    }

    /// The `client-request-id` of the failed request, or the server's `correlation_id`.
    ///
    /// ```
    /// assert_eq!(oxmsal::Error::cancelled("x").correlation_id(), None);
    /// ```
    pub fn correlation_id(&self) -> Option<&str> {
        self.inner.correlation_id.as_deref()
    }

    /// The dict MSAL for Python returns for the same outcome: the server's error
    /// object verbatim for `Service` and `Throttled`; for the failures MSAL raises
    /// instead, an object in the same shape with an oxmsal `error` code
    /// (`invalid_response`, `transport_error`, `invalid_configuration`,
    /// `cache_error`, `cancelled`, `no_cached_token`).
    ///
    /// ```
    /// let e = oxmsal::Error::transport("connection refused", None);
    /// assert_eq!(e.to_msal_json()["error"], "transport_error");
    /// ```
    pub fn to_msal_json(&self) -> Value {
        if let Some(s) = self.service() {
            let mut body = s.body.clone();
            if self.inner.silent {
                if let Some(classification) = self.classification() {
                    body.insert("classification".into(), Value::from(classification));
                }
            }
            return Value::Object(body);
        }
        let mut map = Map::new();
        let code = match self.kind() {
            ErrorKind::InvalidResponse | ErrorKind::Throttled => "invalid_response",
            ErrorKind::Transport => "transport_error",
            ErrorKind::Configuration => "invalid_configuration",
            ErrorKind::Cache => "cache_error",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::NoCachedToken => "no_cached_token",
            ErrorKind::Service => "service_error",
        };
        map.insert("error".into(), Value::from(code));
        map.insert("error_description".into(), Value::from(self.describe()));
        if let Some(r) = self.invalid_response() {
            map.insert("http_status".into(), Value::from(r.http_status));
            if let Some(ct) = &r.content_type {
                map.insert("content_type".into(), Value::from(ct.as_str()));
            }
            map.insert("body_excerpt".into(), Value::from(r.body_excerpt.as_str()));
        }
        if let Some(d) = self.retry_after() {
            map.insert("retry_after".into(), Value::from(d.as_secs()));
        }
        if let Some(id) = self.correlation_id() {
            map.insert("correlation_id".into(), Value::from(id));
        }
        Value::Object(map)
    }

    /// What happened, in one line, without the kind prefix.
    fn describe(&self) -> String {
        if let Some(r) = self.invalid_response() {
            let ct = r.content_type.as_deref().unwrap_or("no content type");
            return format!("{} (HTTP {}, {ct})", r.reason, r.http_status);
        }
        let mut text = self.inner.message.clone();
        if let Some(source) = &self.inner.source {
            if text.is_empty() {
                text = source.to_string();
            } else {
                text = format!("{text}: {source}");
            }
        }
        text
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.inner.kind)
            .field("message", &self.inner.message)
            .field("service", &self.inner.service)
            .field("invalid_response", &self.inner.invalid_response)
            .field("throttled_for", &self.inner.throttled_for)
            .field("correlation_id", &self.inner.correlation_id)
            .field("source", &self.inner.source)
            .field("retries", &self.inner.retries)
            .finish()
    }
}

impl fmt::Display for Error {
    /// What happened and what to do, with the AADSTS code and correlation id.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind() {
            ErrorKind::Service => {
                if let Some(s) = self.service() {
                    write!(f, "the identity platform returned `{}`", s.error)?;
                    if let Some(sub) = &s.suberror {
                        write!(f, " ({sub})")?;
                    }
                    write!(f, " with HTTP {}", s.http_status)?;
                    if let Some(d) = s.short_description() {
                        write!(f, ": {d}")?;
                    }
                }
            }
            ErrorKind::Throttled => {
                let secs = self.inner.throttled_for.map(|d| d.as_secs()).unwrap_or(0);
                write!(
                    f,
                    "not sent: the server asked to back off; try again in {secs} s"
                )?;
                if let Some(s) = self.service() {
                    write!(
                        f,
                        " (it answered `{}` with HTTP {})",
                        s.error, s.http_status
                    )?;
                } else if let Some(r) = self.invalid_response() {
                    write!(f, " (it answered HTTP {})", r.http_status)?;
                }
            }
            ErrorKind::InvalidResponse => {
                write!(f, "invalid response from the server: {}", self.describe())?
            }
            ErrorKind::Transport => write!(f, "could not reach the server: {}", self.describe())?,
            ErrorKind::Configuration => write!(f, "configuration error: {}", self.describe())?,
            ErrorKind::Cache => write!(f, "token cache error: {}", self.describe())?,
            ErrorKind::Cancelled => write!(f, "cancelled: {}", self.describe())?,
            ErrorKind::NoCachedToken => write!(f, "no cached token: {}", self.describe())?,
        }
        if let Some(retry) = self.service().and_then(|s| s.retry_after) {
            if self.kind() == ErrorKind::Service {
                write!(f, "; retry after {} s", retry.as_secs())?;
            }
        }
        if self.inner.retries > 0 {
            write!(f, " (after {} retries)", self.inner.retries)?;
        }
        if let Some(id) = self.correlation_id() {
            write!(f, " [correlation id {id}]")?;
        }
        Ok(())
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static))
    }
}

/// `Result<T, oxmsal::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn service_error_keeps_every_key_in_order() {
        let body = br#"{"error":"invalid_grant","error_description":"AADSTS50076: MFA. Trace ID: t Correlation ID: c","error_codes":[50076],"suberror":"basic_action","claims":"{\"a\":1}","future_key":{"n":[1,2]}}"#;
        let s = ServiceError::from_body(400, body, None).unwrap();
        let json = Error::from_service(s).to_msal_json();
        let original: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(json, original);
        let keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys.last().map(String::as_str), Some("future_key"));
    }

    #[test]
    fn display_names_code_and_correlation_but_not_the_trailer() {
        let body = br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Trace ID: t1 Correlation ID: c1 Timestamp: now","error_codes":[7000215],"correlation_id":"c1"}"#;
        let e = Error::from_service(ServiceError::from_body(401, body, None).unwrap());
        let text = e.to_string();
        assert!(text.contains("AADSTS7000215"), "{text}");
        assert!(text.contains("[correlation id c1]"), "{text}");
        assert!(!text.contains("Trace ID"), "{text}");
    }

    #[test]
    fn scrubbed_masks_the_sent_secrets_in_what_is_kept() {
        let mut sent = crate::redact::SentSecrets::none();
        sent.add("pa ss");
        let body = br#"{"error":"invalid_request","error_description":"got password=pa+ss","x":["pa ss"]}"#;
        let service = Error::from_service(ServiceError::from_body(400, body, None).unwrap());
        let throttled = Error::throttled(&service, Duration::from_secs(5)).scrubbed(&sent);
        let shown = format!("{} {} {throttled:?}", throttled, throttled.to_msal_json());
        assert!(
            !shown.contains("pa+ss") && !shown.contains("pa ss"),
            "{shown}"
        );
        assert_eq!(throttled.service().unwrap().error, "invalid_request");
        let invalid = Error::from_invalid_response(InvalidResponse::new(
            500,
            None,
            b"<pre>pa%20ss</pre>",
            "html",
        ))
        .scrubbed(&sent);
        assert_eq!(
            invalid.invalid_response().unwrap().body_excerpt,
            "<pre><redacted></pre>"
        );
    }

    #[test]
    fn non_oauth_bodies_are_not_service_errors() {
        assert!(ServiceError::from_body(400, b"[]", None).is_none());
        assert!(ServiceError::from_body(400, br#"{"error":5}"#, None).is_none());
        assert!(ServiceError::from_body(400, b"", None).is_none());
    }
}
