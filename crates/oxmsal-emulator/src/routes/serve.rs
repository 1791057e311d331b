//! What every handler shares, below the router that wires them: the state
//! type, request counting, the fault hook, and form parsing.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use http::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use http::StatusCode;

use crate::errors::RequestCtx;
use crate::faults::{self, Fault, RequestKind};
use crate::shared::Shared;
use crate::state::CounterCells;

/// State handed to every handler.
pub(crate) type AppState = State<Arc<Shared>>;

impl Shared {
    /// Counts one non-admin request of this kind.
    pub(crate) fn count(&self, kind: Option<RequestKind>) {
        let c = &self.counters;
        CounterCells::bump(&c.total_requests);
        if let Some(kind) = kind {
            CounterCells::bump(match kind {
                RequestKind::Token => &c.token_requests,
                RequestKind::Discovery => &c.discovery_requests,
                RequestKind::InstanceDiscovery => &c.instance_discovery_requests,
                RequestKind::Jwks => &c.jwks_requests,
                RequestKind::DeviceCode => &c.device_code_requests,
            });
        }
    }
}

/// Answers with `normal`, unless a fault is queued for this kind of request.
/// Returns the response and the kind of fault served, if any.
pub(crate) async fn serve_with_faults<F, Fut>(
    shared: &Shared,
    kind: RequestKind,
    ctx: &RequestCtx,
    normal: F,
) -> (Response, Option<&'static str>)
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Response>,
{
    serve_with_faults_echoing(shared, kind, ctx, b"", normal).await
}

/// [`serve_with_faults`] for a request whose body (`raw`) an `echo_form`
/// fault sends back.
pub(crate) async fn serve_with_faults_echoing<F, Fut>(
    shared: &Shared,
    kind: RequestKind,
    ctx: &RequestCtx,
    raw: &[u8],
    normal: F,
) -> (Response, Option<&'static str>)
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Response>,
{
    let Some(fault) = shared.faults.take(kind) else {
        return (normal().await, None);
    };
    CounterCells::bump(&shared.counters.faults_served);
    let name = fault.kind();
    tracing::debug!(fault = name, ?kind, correlation_id = %ctx.correlation_id, "serving a fault");
    let response = match fault {
        Fault::Delay { millis } => {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            normal().await
        }
        Fault::TruncatedJson => truncate(normal().await).await,
        Fault::DropConnection => faults::drop_connection_response(),
        Fault::EchoForm { status, body } => faults::echo_form(status, body, raw, ctx),
        Fault::PatchJson { set } => faults::patch_json(normal().await, set).await,
        other => faults::render(other, ctx),
    };
    (response, Some(name))
}

/// The same response with status 200, `application/json`, and half of its body.
async fn truncate(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    // Bodies here are small JSON documents built in memory; the cap only guards.
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let cut = bytes.slice(0..bytes.len() / 2);
    parts.status = StatusCode::OK;
    parts.headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    parts.headers.remove(CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(cut))
}

/// A form body's parameters (the last value wins when a name repeats).
pub(crate) fn parse_form(body: &[u8]) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}
