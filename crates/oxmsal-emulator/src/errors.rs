//! Entra-shaped OAuth error bodies (`AADSTSnnn`) and the per-request correlation
//! data they carry.
//!
//! Entra's body: `error`, `error_description` ("AADSTSnnn: text\r\nTrace ID: …\r\n
//! Correlation ID: …\r\nTimestamp: …"), `error_codes`, `timestamp`, `trace_id`,
//! `correlation_id`, `error_uri`. The `\r\n` separators are Entra's own.

use axum::body::Body;
use axum::response::Response;
use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, PRAGMA};
use http::{HeaderMap, StatusCode};
use serde_json::{json, Map, Value};

use crate::clock;

mod user_flows;

/// A client's correlation id, trimmed, when it is id-like: it is echoed into a
/// header and JSON, so nothing else gets through.
fn usable_correlation_id(sent: &str) -> Option<String> {
    let sent = sent.trim();
    (!sent.is_empty()
        && sent.len() <= 128
        && sent.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    .then(|| sent.to_owned())
}

/// Correlation data of one request, shared by its response headers and error body.
#[derive(Debug, Clone)]
pub(crate) struct RequestCtx {
    /// The client's `client-request-id` when it sent a usable one, else a fresh GUID.
    pub correlation_id: String,
    /// A fresh GUID per request (Entra's `trace_id` / `x-ms-request-id`).
    pub trace_id: String,
    /// Request arrival, epoch seconds.
    pub now: u64,
    /// `https://localhost:PORT`.
    pub base_url: String,
}

impl RequestCtx {
    /// The correlation id comes from the `client-request-id` header, else from
    /// the `client-request-id` query parameter (some MSALs send it there), else
    /// it is a fresh GUID.
    pub(crate) fn new(headers: &HeaderMap, uri: &http::Uri, base_url: &str) -> Self {
        let correlation_id = headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .and_then(usable_correlation_id)
            .or_else(|| {
                crate::query::query_param(uri, "client-request-id")
                    .as_deref()
                    .and_then(usable_correlation_id)
            })
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        RequestCtx {
            correlation_id,
            trace_id: uuid::Uuid::new_v4().to_string(),
            now: clock::now_secs(),
            base_url: base_url.to_owned(),
        }
    }

    /// Entra's timestamp of this request.
    pub(crate) fn timestamp(&self) -> String {
        clock::entra_timestamp(self.now)
    }

    /// Adds the headers Entra puts on every response it produces itself.
    pub(crate) fn decorate(&self, response: &mut Response) {
        let headers = response.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&self.correlation_id) {
            headers.insert("client-request-id", v);
        }
        if let Ok(v) = HeaderValue::from_str(&self.trace_id) {
            headers.insert("x-ms-request-id", v);
        }
    }

    /// `text\r\nTrace ID: …\r\nCorrelation ID: …\r\nTimestamp: …`, Entra's description suffix.
    pub(crate) fn describe(&self, text: &str) -> String {
        format!(
            "{text}\r\nTrace ID: {}\r\nCorrelation ID: {}\r\nTimestamp: {}",
            self.trace_id,
            self.correlation_id,
            self.timestamp()
        )
    }

    /// An Entra error body with a verbatim `error_description`.
    pub(crate) fn error_body(
        &self,
        error: &str,
        error_description: String,
        error_codes: &[u32],
    ) -> Map<String, Value> {
        let mut body = Map::new();
        body.insert("error".into(), json!(error));
        body.insert("error_description".into(), json!(error_description));
        body.insert("error_codes".into(), json!(error_codes));
        body.insert("timestamp".into(), json!(self.timestamp()));
        body.insert("trace_id".into(), json!(self.trace_id));
        body.insert("correlation_id".into(), json!(self.correlation_id));
        if let Some(code) = error_codes.first() {
            body.insert(
                "error_uri".into(),
                json!(format!("{}/error?code={code}", self.base_url)),
            );
        }
        body
    }
}

/// A JSON response with the no-cache headers Entra sends on token and error responses.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// One AADSTS error: HTTP status, OAuth `error`, code and message (without the
/// `AADSTSnnn: ` prefix and the trace suffix, which are added when rendered).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AadError {
    pub status: StatusCode,
    pub error: &'static str,
    pub code: u32,
    pub message: String,
    /// Entra's `suberror` (e.g. `bad_token`), telling clients what to do next.
    pub suberror: Option<&'static str>,
}

impl AadError {
    pub(crate) fn new(
        status: StatusCode,
        error: &'static str,
        code: u32,
        message: impl Into<String>,
    ) -> Self {
        AadError {
            status,
            error,
            code,
            message: message.into(),
            suberror: None,
        }
    }

    /// The same error with a `suberror`.
    #[must_use]
    pub(crate) fn with_suberror(mut self, suberror: &'static str) -> Self {
        self.suberror = Some(suberror);
        self
    }

    /// `AADSTSnnn: message`, the first line of the description.
    pub(crate) fn headline(&self) -> String {
        format!("AADSTS{}: {}", self.code, self.message)
    }

    /// The rendered JSON body.
    pub(crate) fn body(&self, ctx: &RequestCtx) -> Value {
        let description = ctx.describe(&self.headline());
        let mut body = ctx.error_body(self.error, description, &[self.code]);
        if let Some(suberror) = self.suberror {
            body.insert("suberror".into(), json!(suberror));
        }
        Value::Object(body)
    }

    /// The full response, headers included.
    pub(crate) fn into_response(self, ctx: &RequestCtx) -> Response {
        let mut response = json_response(self.status, &self.body(ctx));
        ctx.decorate(&mut response);
        response
    }

    // ---- the catalogue: Entra's codes and wording, one constructor each ----

    /// AADSTS90002: unknown tenant. Discovery answers `invalid_tenant`; the token
    /// endpoint answers `invalid_request` (as Entra does).
    pub(crate) fn tenant_not_found(tenant: &str, error: &'static str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            error,
            90002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID \
                 and are signing into the correct cloud. Check with your subscription \
                 administrator, this may happen if there are no active subscriptions for the tenant."
            ),
        )
    }

    /// AADSTS900144: a required form parameter is missing.
    pub(crate) fn missing_parameter(name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            format!("The request body must contain the following parameter: '{name}'."),
        )
    }

    /// AADSTS70003: grant type not supported (by Entra, or not yet by the emulator).
    pub(crate) fn unsupported_grant(grant: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type '{grant}'."),
        )
    }

    /// AADSTS700016: unknown client id.
    pub(crate) fn app_not_found(client_id: &str, directory: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory \
                 '{directory}'. This can happen if the application has not been installed by the \
                 administrator of the tenant or consented to by any user in the tenant. You may \
                 have sent your authentication request to the wrong tenant."
            ),
        )
    }

    /// AADSTS7000215: wrong client secret.
    pub(crate) fn invalid_secret(client_id: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is \
                 the client secret value, not the client secret ID, for a secret added to app \
                 '{client_id}'."
            ),
        )
    }

    /// AADSTS7000218: no client credential at all.
    pub(crate) fn missing_credential() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or \
             'client_secret'.",
        )
    }

    /// AADSTS700027: the client assertion's key or signature was rejected.
    pub(crate) fn assertion_signature(reason: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            700027,
            format!("Client assertion contains an invalid signature. [Reason - {reason}]"),
        )
    }

    /// AADSTS700027 as well (Entra uses it for most assertion defects): the
    /// assertion is malformed or its claims are wrong.
    pub(crate) fn invalid_assertion(reason: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            700027,
            format!("Client assertion is invalid. [Reason - {reason}]"),
        )
    }

    /// AADSTS700021: the assertion's `iss`/`sub` is not the `client_id` sent.
    pub(crate) fn assertion_client_mismatch() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            700021,
            "Client assertion application identifier doesn't match 'client_id' parameter.",
        )
    }

    /// AADSTS700024: the client assertion is expired or not yet valid.
    pub(crate) fn assertion_time_range(reason: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            700024,
            format!("Client assertion is not within its valid time range. {reason}"),
        )
    }

    /// AADSTS1002012: client credentials need exactly one `{resource}/.default` scope.
    pub(crate) fn invalid_default_scope(scope: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            format!(
                "The provided value for scope {scope} is not valid. Client credential flows must \
                 have a scope value with /.default suffixed to the resource identifier \
                 (application ID URI)."
            ),
        )
    }

    /// AADSTS50059: client credentials against `/common` or `/organizations`, where no
    /// tenant can be inferred (Entra's answer for that case).
    pub(crate) fn no_tenant_information() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            50059,
            "No tenant-identifying information found in either the request or implied by any \
             provided credentials.",
        )
    }

    /// AADSTS50117: the `claims` parameter is not a JSON object.
    pub(crate) fn invalid_claims(detail: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            50117,
            format!("The claims request parameter could not be parsed as a JSON object: {detail}"),
        )
    }

    /// The `claims` parameter is JSON but asks for something unusable (a non-string
    /// `acrs`, an `nbf` too far in the future). Entra's code for these cases is not
    /// documented; the emulator reuses 50117, its code for a bad `claims` parameter.
    pub(crate) fn invalid_claims_value(detail: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            50117,
            format!("The claims request parameter is invalid: {detail}"),
        )
    }

    /// AADSTS50049: instance discovery for a host the emulator does not serve.
    pub(crate) fn unknown_instance() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_instance",
            50049,
            "Unknown or invalid instance.",
        )
    }

    /// AADSTS90055: the emulator's throttling answer (Entra's "too many requests").
    pub(crate) fn throttled() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "temporarily_unavailable",
            90055,
            "There are too many incoming requests. Please try again later.",
        )
    }

    /// AADSTS90033: a transient server-side failure.
    pub(crate) fn transient(status: StatusCode) -> Self {
        Self::new(
            status,
            "temporarily_unavailable",
            90033,
            "A transient error has occurred. Please try again.",
        )
    }
}
