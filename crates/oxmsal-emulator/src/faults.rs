//! Fault injection: what can go wrong, which requests it hits, and the FIFO queue.
//!
//! JSON (admin API `POST /_emulator/faults`) is the serde form of [`InjectedFault`]:
//! a [`Fault`] tagged by `"kind"`, plus optional `"target"` (default `"token"`) and,
//! for the admin API only, `"count"` (default 1). The admin API refuses a status
//! outside 100–599 and a header value (`retry_after`, `content_type`) holding a
//! control character:
//!
//! ```json
//! {"kind": "oauth", "error": "invalid_grant", "error_codes": [50076],
//!  "error_description": "AADSTS50076: MFA required", "suberror": "basic_action",
//!  "claims": "{\"access_token\":{\"capolids\":{\"essential\":true}}}", "count": 2}
//! {"kind": "throttle", "retry_after": "7", "target": "any"}
//! {"kind": "server_error", "status": 503, "body": "html"}
//! {"kind": "server_error", "status": 500, "body": {"text": "oops"}}
//! {"kind": "non_json", "status": 200, "content_type": "text/html", "body": "<html/>"}
//! {"kind": "truncated_json"}
//! {"kind": "delay", "millis": 3000, "target": "discovery"}
//! {"kind": "drop_connection"}
//! {"kind": "echo_form", "status": 400, "body": "oauth"}
//! {"kind": "echo_form", "status": 500, "body": "html"}
//! {"kind": "huge_body", "bytes": 268435456}
//! {"kind": "patch_json", "set": {"expires_in": 1e30, "id_token": "not-a-jwt"}}
//! ```

use std::collections::VecDeque;
use std::sync::Mutex;

use axum::body::Body;
use axum::response::Response;
use http::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use http::StatusCode;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::errors::{json_response, AadError, RequestCtx};
use crate::state::lock;

/// One way for the emulator to misbehave, served to one matching request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Fault {
    /// An OAuth error in Entra's JSON shape. `suberror`, `claims` and the `extra`
    /// keys are put in the body verbatim. `error_description` is verbatim, except
    /// that one starting with `AADSTS` and lacking `Trace ID:` gets Entra's
    /// `\r\nTrace ID: …\r\nCorrelation ID: …\r\nTimestamp: …` suffix, and an empty
    /// one becomes `AADSTSnnn: Injected fault.` with that suffix.
    Oauth {
        /// HTTP status (default 400).
        #[serde(default = "default_400")]
        status: u16,
        /// The OAuth `error` (e.g. `invalid_grant`, `interaction_required`).
        error: String,
        /// The `error_description`.
        #[serde(default)]
        error_description: String,
        /// The `error_codes` (e.g. `[50076]`).
        #[serde(default)]
        error_codes: Vec<u32>,
        /// The `suberror` (e.g. `basic_action`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        suberror: Option<String>,
        /// The `claims` challenge (a JSON string).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        claims: Option<String>,
        /// A `Retry-After` header value, verbatim.
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            deserialize_with = "string_or_number"
        )]
        retry_after: Option<String>,
        /// More body keys, verbatim (they override the generated ones).
        #[serde(default, skip_serializing_if = "Map::is_empty")]
        extra: Map<String, Value>,
    },
    /// HTTP 429 with an Entra-style `temporarily_unavailable` (AADSTS90055) body.
    Throttle {
        /// A `Retry-After` header value, verbatim (seconds or an HTTP-date).
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            deserialize_with = "string_or_number"
        )]
        retry_after: Option<String>,
    },
    /// A server-side failure (5xx), as a gateway or Entra itself would send it.
    ServerError {
        /// HTTP status (default 500).
        #[serde(default = "default_500")]
        status: u16,
        /// A `Retry-After` header value, verbatim.
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            deserialize_with = "string_or_number"
        )]
        retry_after: Option<String>,
        /// What the body looks like (default: a proxy's HTML page).
        #[serde(default)]
        body: FaultBody,
    },
    /// Any status with any body and content type.
    NonJson {
        /// HTTP status (default 200).
        #[serde(default = "default_200")]
        status: u16,
        /// `Content-Type` (default `text/html; charset=utf-8`).
        #[serde(default = "default_html")]
        content_type: String,
        /// The body.
        #[serde(default)]
        body: String,
    },
    /// HTTP 200, `application/json`, and the body the request would have had, cut in
    /// the middle (for a token request: a valid token response cut short).
    TruncatedJson,
    /// Wait, then answer normally.
    Delay {
        /// How long to wait, in milliseconds.
        millis: u64,
    },
    /// Close the connection without writing any response.
    DropConnection,
    /// The request's form sent back, as a misbehaving server or proxy does: the
    /// body as received (form-encoded) and its decoded `name=value` pairs, in an
    /// OAuth error's `error_description` or in an HTML page. For a client's
    /// redaction of what it sent.
    EchoForm {
        /// HTTP status (default 400).
        #[serde(default = "default_400")]
        status: u16,
        /// Where the echo goes (default: an OAuth error object).
        #[serde(default)]
        body: EchoBody,
    },
    /// A body of `bytes` bytes (JSON whitespace after a `{`), streamed in 64 KiB
    /// chunks and never held whole: for a client's response size cap.
    HugeBody {
        /// How many bytes the body has.
        bytes: u64,
        /// HTTP status (default 200).
        #[serde(default = "default_200")]
        status: u16,
        /// Whether to send `Content-Length` (default: chunked, length unknown
        /// until the end).
        #[serde(default)]
        content_length: bool,
    },
    /// The normal answer with top-level members of its JSON object replaced
    /// (a `null` removes one): an `expires_in` of 1e30, a malformed `id_token`.
    PatchJson {
        /// The members to set.
        set: Map<String, Value>,
    },
}

/// Where a [`Fault::EchoForm`] puts the echo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EchoBody {
    /// Entra's JSON error (`invalid_request`), the echo in `error_description`.
    #[default]
    Oauth,
    /// An HTML error page (`text/html`), the echo in its text.
    Html,
}

/// The body of a [`Fault::ServerError`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FaultBody {
    /// A small HTML error page such as a reverse proxy sends (`text/html`).
    #[default]
    Html,
    /// Entra's JSON error: `temporarily_unavailable`, AADSTS90033.
    Oauth,
    /// No body at all.
    Empty,
    /// This text, `text/plain`.
    Text(String),
}

/// Which requests a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FaultTarget {
    /// `POST …/oauth2/v2.0/token`.
    #[default]
    Token,
    /// `GET …/.well-known/openid-configuration`.
    Discovery,
    /// `GET …/discovery/instance`.
    InstanceDiscovery,
    /// `GET …/discovery/v2.0/keys`.
    Jwks,
    /// `POST …/oauth2/v2.0/devicecode` (device authorization; polls are `Token`).
    DeviceCode,
    /// Any of the above (admin requests are never faulted).
    Any,
}

/// A [`Fault`] with the requests it targets; what [`crate::Emulator::inject`] queues.
///
/// Any `Fault` converts into one targeting [`FaultTarget::Token`]; use [`Fault::on`]
/// for another target. Serialized flat: `{"kind": "throttle", "retry_after": "5",
/// "target": "discovery"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InjectedFault {
    /// What happens.
    #[serde(flatten)]
    pub fault: Fault,
    /// To which requests.
    #[serde(default)]
    pub target: FaultTarget,
}

impl From<Fault> for InjectedFault {
    fn from(fault: Fault) -> Self {
        InjectedFault {
            fault,
            target: FaultTarget::Token,
        }
    }
}

impl Fault {
    /// This fault, aimed at `target` requests instead of token requests.
    #[must_use]
    pub fn on(self, target: FaultTarget) -> InjectedFault {
        InjectedFault {
            fault: self,
            target,
        }
    }

    /// An HTTP 400 OAuth error with one AADSTS code; the served description is
    /// `AADSTSnnn: {description}` plus Entra's trace suffix.
    pub fn oauth(error: impl Into<String>, code: u32, description: impl AsRef<str>) -> Self {
        Fault::Oauth {
            status: 400,
            error: error.into(),
            error_description: format!("AADSTS{code}: {}", description.as_ref()),
            error_codes: vec![code],
            suberror: None,
            claims: None,
            retry_after: None,
            extra: Map::new(),
        }
    }

    /// A server error with an HTML body and no `Retry-After`.
    pub fn server_error(status: u16) -> Self {
        Fault::ServerError {
            status,
            retry_after: None,
            body: FaultBody::Html,
        }
    }

    /// The `"kind"` tag, for logs and [`crate::RecordedRequest::fault`].
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Oauth { .. } => "oauth",
            Fault::Throttle { .. } => "throttle",
            Fault::ServerError { .. } => "server_error",
            Fault::NonJson { .. } => "non_json",
            Fault::TruncatedJson => "truncated_json",
            Fault::Delay { .. } => "delay",
            Fault::DropConnection => "drop_connection",
            Fault::EchoForm { .. } => "echo_form",
            Fault::HugeBody { .. } => "huge_body",
            Fault::PatchJson { .. } => "patch_json",
        }
    }
}

impl InjectedFault {
    /// Refuses what could not go on the wire as asked: a status outside
    /// 100–599, or a header value (`retry_after`, `content_type`) with a control
    /// character (CR/LF would split the response's headers).
    pub(crate) fn validate(&self) -> Result<(), String> {
        let (status, headers): (Option<u16>, Vec<(&str, &str)>) = match &self.fault {
            Fault::Oauth {
                status,
                retry_after,
                ..
            } => (Some(*status), retry_after_header(retry_after.as_deref())),
            Fault::ServerError {
                status,
                retry_after,
                ..
            } => (Some(*status), retry_after_header(retry_after.as_deref())),
            Fault::Throttle { retry_after } => (None, retry_after_header(retry_after.as_deref())),
            Fault::NonJson {
                status,
                content_type,
                ..
            } => (Some(*status), vec![("content_type", content_type.as_str())]),
            Fault::EchoForm { status, .. } | Fault::HugeBody { status, .. } => {
                (Some(*status), Vec::new())
            }
            Fault::TruncatedJson
            | Fault::Delay { .. }
            | Fault::DropConnection
            | Fault::PatchJson { .. } => (None, Vec::new()),
        };
        if let Some(status) = status.filter(|s| !(100..=599).contains(s)) {
            return Err(format!("status must be from 100 to 599, not {status}"));
        }
        for (name, value) in headers {
            if let Some(bad) = value.chars().find(|c| c.is_control()) {
                return Err(format!(
                    "{name} must not hold control characters (found U+{:04X})",
                    u32::from(bad)
                ));
            }
            if HeaderValue::from_str(value).is_err() {
                return Err(format!("{name} is not a valid HTTP header value"));
            }
        }
        Ok(())
    }
}

fn retry_after_header(value: Option<&str>) -> Vec<(&'static str, &str)> {
    value.map(|v| ("retry_after", v)).into_iter().collect()
}

fn default_200() -> u16 {
    200
}
fn default_400() -> u16 {
    400
}
fn default_500() -> u16 {
    500
}
fn default_html() -> String {
    "text/html; charset=utf-8".into()
}

/// Accepts `"5"`, `5` or `null` for a Retry-After value, since JSON callers will
/// write seconds as a number.
fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(other) => {
            return Err(serde::de::Error::custom(format!(
                "retry_after must be a string or a number, not {other}"
            )))
        }
    })
}

/// The kind of request being served, to match against [`FaultTarget`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestKind {
    Token,
    Discovery,
    InstanceDiscovery,
    Jwks,
    DeviceCode,
}

impl FaultTarget {
    fn matches(self, kind: RequestKind) -> bool {
        matches!(
            (self, kind),
            (FaultTarget::Any, _)
                | (FaultTarget::Token, RequestKind::Token)
                | (FaultTarget::Discovery, RequestKind::Discovery)
                | (
                    FaultTarget::InstanceDiscovery,
                    RequestKind::InstanceDiscovery
                )
                | (FaultTarget::Jwks, RequestKind::Jwks)
                | (FaultTarget::DeviceCode, RequestKind::DeviceCode)
        )
    }
}

/// Queued faults, first in first out per matching request.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    queue: Mutex<VecDeque<InjectedFault>>,
}

impl FaultQueue {
    pub(crate) fn push(&self, fault: InjectedFault, n: usize) {
        let mut q = lock(&self.queue);
        for _ in 0..n {
            q.push_back(fault.clone());
        }
    }

    pub(crate) fn clear(&self) {
        lock(&self.queue).clear();
    }

    pub(crate) fn snapshot(&self) -> Vec<InjectedFault> {
        lock(&self.queue).iter().cloned().collect()
    }

    /// Removes and returns the oldest fault aimed at `kind` requests.
    pub(crate) fn take(&self, kind: RequestKind) -> Option<Fault> {
        let mut q = lock(&self.queue);
        let index = q.iter().position(|f| f.target.matches(kind))?;
        q.remove(index).map(|f| f.fault)
    }
}

/// Marker put in a response's extensions: the connection layer closes the
/// connection instead of writing the response.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DropConnectionMarker;

/// A response that is never written; see [`DropConnectionMarker`].
pub(crate) fn drop_connection_response() -> Response {
    let mut response = Response::new(Body::empty());
    response.extensions_mut().insert(DropConnectionMarker);
    response
}

/// The fault's status; one outside 100–599 (only reachable through the Rust
/// API, the admin API refuses it) is served as 500.
fn status(code: u16) -> StatusCode {
    Some(code)
        .filter(|c| (100..=599).contains(c))
        .and_then(|c| StatusCode::from_u16(c).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn with_retry_after(mut response: Response, retry_after: Option<&str>) -> Response {
    if let Some(v) = retry_after.and_then(|v| HeaderValue::from_str(v).ok()) {
        response.headers_mut().insert(RETRY_AFTER, v);
    }
    response
}

fn plain(status: StatusCode, content_type: &str, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(CONTENT_TYPE, v);
    }
    response
}

/// The response for a fault that replaces the normal answer entirely
/// (not `Delay`, `TruncatedJson` or `DropConnection`, which the caller handles).
pub(crate) fn render(fault: Fault, ctx: &RequestCtx) -> Response {
    match fault {
        Fault::Oauth {
            status: code,
            error,
            error_description,
            error_codes,
            suberror,
            claims,
            retry_after,
            extra,
        } => {
            // Entra always ends AADSTS descriptions with the trace suffix; add it when
            // the caller wrote only the "AADSTSnnn: text" part. Anything else is verbatim.
            let description = if error_description.is_empty() {
                let code = error_codes.first().copied().unwrap_or(0);
                ctx.describe(&format!("AADSTS{code}: Injected fault."))
            } else if error_description.starts_with("AADSTS")
                && !error_description.contains("Trace ID:")
            {
                ctx.describe(&error_description)
            } else {
                error_description
            };
            let mut body = ctx.error_body(&error, description, &error_codes);
            if let Some(s) = suberror {
                body.insert("suberror".into(), Value::String(s));
            }
            if let Some(c) = claims {
                body.insert("claims".into(), Value::String(c));
            }
            body.extend(extra);
            let mut response = json_response(status(code), &Value::Object(body));
            ctx.decorate(&mut response);
            with_retry_after(response, retry_after.as_deref())
        }
        Fault::Throttle { retry_after } => with_retry_after(
            AadError::throttled().into_response(ctx),
            retry_after.as_deref(),
        ),
        Fault::ServerError {
            status: code,
            retry_after,
            body,
        } => {
            let code = status(code);
            let response = match body {
                FaultBody::Html => {
                    let title = format!(
                        "{} {}",
                        code.as_u16(),
                        code.canonical_reason().unwrap_or("Error")
                    );
                    plain(
                        code,
                        "text/html",
                        format!(
                            "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n\
                             <center><h1>{title}</h1></center>\r\n<hr><center>proxy</center>\r\n\
                             </body>\r\n</html>\r\n"
                        ),
                    )
                }
                FaultBody::Oauth => AadError::transient(code).into_response(ctx),
                FaultBody::Empty => {
                    let mut r = Response::new(Body::empty());
                    *r.status_mut() = code;
                    r
                }
                FaultBody::Text(text) => plain(code, "text/plain; charset=utf-8", text),
            };
            with_retry_after(response, retry_after.as_deref())
        }
        Fault::NonJson {
            status: code,
            content_type,
            body,
        } => plain(status(code), &content_type, body),
        Fault::HugeBody {
            bytes,
            status: code,
            content_length,
        } => {
            let mut response = Response::new(Body::new(HugeBody {
                left: bytes,
                announce: content_length,
                started: false,
            }));
            *response.status_mut() = status(code);
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            );
            response
        }
        Fault::EchoForm { status: code, body } => echo_form(code, body, b"", ctx),
        // Handled by the caller; answering 500 keeps this total.
        Fault::TruncatedJson
        | Fault::Delay { .. }
        | Fault::DropConnection
        | Fault::PatchJson { .. } => {
            AadError::transient(StatusCode::INTERNAL_SERVER_ERROR).into_response(ctx)
        }
    }
}

/// The answer of a [`Fault::EchoForm`] to a request whose body was `raw`.
pub(crate) fn echo_form(code: u16, body: EchoBody, raw: &[u8], ctx: &RequestCtx) -> Response {
    let received = String::from_utf8_lossy(raw);
    let decoded: Vec<String> = url::form_urlencoded::parse(raw)
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let decoded = decoded.join(" ");
    match body {
        EchoBody::Oauth => {
            let description = ctx.describe(&format!(
                "AADSTS900144: The request could not be parsed. Received: {received} Decoded: {decoded}"
            ));
            let body = ctx.error_body("invalid_request", description, &[900_144]);
            let mut response = json_response(status(code), &Value::Object(body));
            ctx.decorate(&mut response);
            response
        }
        EchoBody::Html => plain(
            status(code),
            "text/html; charset=utf-8",
            format!(
                "<html><body><h1>Request rejected</h1><p>Received:</p><pre>{received}</pre>\
                 <p>Decoded:</p><pre>{decoded}</pre></body></html>"
            ),
        ),
    }
}

/// The normal answer with `set`'s members put into its JSON object (a `null`
/// removes the member); a body that is not a JSON object is left as it is.
pub(crate) async fn patch_json(response: Response, set: Map<String, Value>) -> Response {
    let (mut parts, body) = response.into_parts();
    // Normal answers are small JSON documents built in memory; the cap only guards.
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let patched = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(mut map)) => {
            for (key, value) in set {
                if value.is_null() {
                    map.remove(&key);
                } else {
                    map.insert(key, value);
                }
            }
            Value::Object(map).to_string().into_bytes()
        }
        _ => bytes.to_vec(),
    };
    parts.headers.remove(http::header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(patched))
}

/// A body produced chunk by chunk: a `{` and then spaces, `left` bytes in all.
struct HugeBody {
    left: u64,
    /// Whether to announce the length (`Content-Length`) instead of chunking.
    announce: bool,
    started: bool,
}

/// The spaces of a [`HugeBody`], one static chunk shared by every frame sent.
static SPACES: [u8; 64 * 1024] = [b' '; 64 * 1024];

impl hyper::body::Body for HugeBody {
    type Data = axum::body::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        if self.left == 0 {
            return std::task::Poll::Ready(None);
        }
        let chunk = if self.started {
            let n = usize::try_from(self.left)
                .unwrap_or(usize::MAX)
                .min(SPACES.len());
            axum::body::Bytes::from_static(&SPACES[..n])
        } else {
            self.started = true;
            axum::body::Bytes::from_static(b"{")
        };
        self.left = self
            .left
            .saturating_sub(u64::try_from(chunk.len()).unwrap_or(u64::MAX));
        std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        if self.announce {
            hyper::body::SizeHint::with_exact(self.left)
        } else {
            hyper::body::SizeHint::default()
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use serde_json::json;

    #[test]
    fn json_round_trip_with_target_and_defaults() {
        let f: InjectedFault =
            serde_json::from_value(json!({"kind": "throttle", "retry_after": 5, "target": "any"}))
                .unwrap();
        assert_eq!(
            f,
            Fault::Throttle {
                retry_after: Some("5".into())
            }
            .on(FaultTarget::Any)
        );
        let back = serde_json::to_value(&f).unwrap();
        assert_eq!(
            back,
            json!({"kind": "throttle", "retry_after": "5", "target": "any"})
        );

        let f: InjectedFault = serde_json::from_value(json!({"kind": "drop_connection"})).unwrap();
        assert_eq!(f, InjectedFault::from(Fault::DropConnection));
        assert_eq!(
            serde_json::to_value(&f).unwrap(),
            json!({"kind": "drop_connection", "target": "token"})
        );

        let f: InjectedFault = serde_json::from_value(
            json!({"kind": "server_error", "status": 503, "body": {"text": "x"}}),
        )
        .unwrap();
        assert_eq!(
            f.fault,
            Fault::ServerError {
                status: 503,
                retry_after: None,
                body: FaultBody::Text("x".into())
            }
        );
        let f: InjectedFault = serde_json::from_value(json!({"kind": "server_error"})).unwrap();
        assert_eq!(f.fault, Fault::server_error(500));

        let f: InjectedFault = serde_json::from_value(json!({
            "kind": "oauth", "error": "invalid_grant", "error_codes": [50076],
            "extra": {"foo": 1}
        }))
        .unwrap();
        let Fault::Oauth { status, extra, .. } = f.fault else {
            panic!("not oauth")
        };
        assert_eq!(status, 400);
        assert_eq!(extra["foo"], 1);

        let f: InjectedFault =
            serde_json::from_value(json!({"kind": "echo_form", "body": "html"})).unwrap();
        assert_eq!(
            f.fault,
            Fault::EchoForm {
                status: 400,
                body: EchoBody::Html
            }
        );
        let f: InjectedFault =
            serde_json::from_value(json!({"kind": "huge_body", "bytes": 268_435_456_u64})).unwrap();
        assert_eq!(
            f.fault,
            Fault::HugeBody {
                bytes: 256 << 20,
                status: 200,
                content_length: false
            }
        );
        let f: InjectedFault = serde_json::from_value(
            json!({"kind": "patch_json", "set": {"expires_in": 1e30}, "target": "any"}),
        )
        .unwrap();
        assert_eq!(f.fault.kind(), "patch_json");
        assert!(serde_json::from_value::<InjectedFault>(json!({"kind": "huge_body"})).is_err());
        assert!(serde_json::from_value::<InjectedFault>(json!({"kind": "nope"})).is_err());
        assert!(serde_json::from_value::<InjectedFault>(json!({"kind": "delay"})).is_err());
    }

    #[test]
    fn queue_is_fifo_per_target() {
        let q = FaultQueue::default();
        q.push(Fault::server_error(500).on(FaultTarget::Discovery), 1);
        q.push(Fault::server_error(501).into(), 2);
        q.push(Fault::server_error(502).on(FaultTarget::Any), 1);
        assert_eq!(q.take(RequestKind::Token), Some(Fault::server_error(501)));
        assert_eq!(q.take(RequestKind::Jwks), Some(Fault::server_error(502)));
        assert_eq!(
            q.take(RequestKind::Discovery),
            Some(Fault::server_error(500))
        );
        assert_eq!(q.take(RequestKind::Discovery), None);
        assert_eq!(q.take(RequestKind::Token), Some(Fault::server_error(501)));
        assert_eq!(q.take(RequestKind::Token), None);
    }
}
