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

use axum::Router;
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
pub(crate) fn spawn(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    router: Router,
) -> JoinHandle<()> {
    tokio::spawn(accept_loop(listener, TlsAcceptor::from(tls), router))
}

async fn accept_loop(listener: TcpListener, acceptor: TlsAcceptor, router: Router) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(serve_connection(stream, acceptor.clone(), router.clone()));
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

async fn serve_connection(stream: TcpStream, acceptor: TlsAcceptor, router: Router) {
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
    let service = hyper::service::service_fn(move |request| {
        let call = inner.call(request);
        async move {
            let response = call.await.map_err(|never: Infallible| match never {})?;
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
