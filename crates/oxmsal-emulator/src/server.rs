//! The accept loop: TCP → TLS → HTTP/1.1, one task per connection.
//!
//! A manual loop (rather than `axum::serve`) so that TLS can be terminated here and
//! so that a handler can make the connection close without any response
//! ([`crate::Fault::DropConnection`]): the per-connection service turns a response
//! marked with [`DropConnectionMarker`] into a service error, on which hyper closes
//! the connection without writing anything.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use axum::Router;
use http::header::{HeaderValue, CONNECTION, CONTENT_TYPE};
use http::StatusCode;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::service::Service as _;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

use crate::faults::DropConnectionMarker;

/// A client that connects but never finishes the handshake is dropped after this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Same for a connection that never sends a complete request head.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest request body read (axum's own default for a `Bytes` body); a form
/// post to the token endpoint is a few KiB.
const MAX_BODY: usize = 2 * 1024 * 1024;

/// The error that makes hyper close a connection without a response.
#[derive(Debug)]
struct ConnectionDropped;

impl std::fmt::Display for ConnectionDropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for ConnectionDropped {}

/// Starts serving; aborting the returned task stops the listener and, because the
/// connection tasks live in a `JoinSet` it owns, every open connection too.
/// A request body not complete within `body_read_timeout` gets a 408 and the
/// connection is closed.
pub(crate) fn spawn(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    router: Router,
    body_read_timeout: Duration,
) -> JoinHandle<()> {
    tokio::spawn(accept_loop(
        listener,
        TlsAcceptor::from(tls),
        router,
        body_read_timeout,
    ))
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    router: Router,
    body_read_timeout: Duration,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(serve_connection(
                        stream,
                        acceptor.clone(),
                        router.clone(),
                        body_read_timeout,
                    ));
                }
                Err(error) => {
                    // E.g. out of file descriptors: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            // Reap finished connections so the set does not grow without bound.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve_connection(
    stream: TcpStream,
    acceptor: TlsAcceptor,
    router: Router,
    body_read_timeout: Duration,
) {
    // Small responses go out at once instead of waiting on Nagle + delayed ACK.
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "set_nodelay failed");
    }
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(error)) => {
            tracing::debug!(%error, "TLS handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!("TLS handshake timed out");
            return;
        }
    };
    let inner = TowerToHyperService::new(router);
    let service = hyper::service::service_fn(move |request: http::Request<Incoming>| {
        let inner = inner.clone();
        async move {
            let request = match read_body(request, body_read_timeout).await {
                Ok(request) => request,
                Err(refusal) => return Ok(refusal),
            };
            let response = inner
                .call(request)
                .await
                .map_err(|never: Infallible| match never {})?;
            if response
                .extensions()
                .get::<DropConnectionMarker>()
                .is_some()
            {
                return Err(ConnectionDropped);
            }
            Ok(response)
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        // Headers and body in one buffer, so each response leaves in one write.
        .writev(false);
    if let Err(error) = builder.serve_connection(TokioIo::new(tls), service).await {
        tracing::debug!(%error, "connection ended with an error");
    }
}

/// The request with its body read into memory, within `deadline` and
/// [`MAX_BODY`]: a client that sends half a body and stalls is answered 408
/// (and the connection closed) instead of holding a task forever.
async fn read_body(
    request: http::Request<Incoming>,
    deadline: Duration,
) -> Result<http::Request<Body>, Response> {
    let (parts, body) = request.into_parts();
    let read = tokio::time::timeout(deadline, Limited::new(body, MAX_BODY).collect()).await;
    match read {
        Ok(Ok(collected)) => Ok(http::Request::from_parts(
            parts,
            Body::from(collected.to_bytes()),
        )),
        Ok(Err(error)) if error.is::<LengthLimitError>() => Err(refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the request body is over {MAX_BODY} bytes"),
        )),
        Ok(Err(error)) => {
            tracing::debug!(%error, "reading a request body failed");
            Err(refusal(
                StatusCode::BAD_REQUEST,
                "the request body could not be read",
            ))
        }
        Err(_) => {
            tracing::debug!(?deadline, "a request body did not arrive in time");
            Err(refusal(
                StatusCode::REQUEST_TIMEOUT,
                &format!(
                    "the request body did not arrive within {} ms",
                    deadline.as_millis()
                ),
            ))
        }
    }
}

/// A JSON refusal that closes the connection (the rest of the body, if any, is
/// never read).
fn refusal(status: StatusCode, description: &str) -> Response {
    let body = serde_json::json!({"error": "invalid_request", "error_description": description});
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert(CONNECTION, HeaderValue::from_static("close"));
    response
}
