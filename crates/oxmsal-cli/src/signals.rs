//! SIGINT and SIGTERM end any command the same way: the command's future is
//! dropped (its lock files are released as they drop; every file write is a
//! temporary file renamed into place, done between two awaits, so a file is
//! left old or new, never half-written) and the CLI reports a Cancelled
//! error: exit 6, one JSON object on stdout.

use std::future::Future;

/// A future that resolves, with the signal's name, when SIGINT or SIGTERM
/// arrives. The handlers are installed by this call (so a signal that comes
/// before the future is first polled is not lost) and must be made inside
/// the runtime. Without handlers (they could not be installed) it never
/// resolves and the signals keep their default action.
pub fn interrupted() -> impl Future<Output = &'static str> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let handlers = signal(SignalKind::interrupt()).and_then(|interrupt| {
            signal(SignalKind::terminate()).map(|terminate| (interrupt, terminate))
        });
        async move {
            match handlers {
                Ok((mut interrupt, mut terminate)) => tokio::select! {
                    _ = interrupt.recv() => "SIGINT",
                    _ = terminate.recv() => "SIGTERM",
                },
                Err(_) => std::future::pending().await,
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            match tokio::signal::ctrl_c().await {
                Ok(()) => "Ctrl-C",
                Err(_) => std::future::pending().await,
            }
        }
    }
}
