//! A blocking face for programs without an async runtime (feature `blocking`),
//! for both application kinds and managed identity:
//! [`ConfidentialClientApplication`] (client credentials, silent,
//! on-behalf-of, web-app auth code), [`PublicClientApplication`] (accounts,
//! silent, device code, interactive, username/password) and
//! [`ManagedIdentityClient`].
//!
//! It wraps the async API instead of copying it: one small current-thread runtime
//! per wrapper drives the same futures the async API returns, so every option of
//! every request is available through `run` (for example
//! [`PublicClientApplication::run`]). Call it from a thread without a tokio
//! runtime; inside async code, await the async API instead (a call from inside
//! a runtime is refused with [`ErrorKind::Configuration`](crate::ErrorKind::Configuration)).
//!
//! ```no_run
//! let app = oxmsal::PublicClientApplication::builder("client-id")
//!     .authority("https://login.microsoftonline.com/organizations")
//!     .build()?;
//! let app = oxmsal::blocking::PublicClientApplication::new(app)?;
//! let token = match app.accounts()?.first() {
//!     Some(account) => app.acquire_token_silent(["User.Read"], account)?,
//!     None => {
//!         let flow = app.initiate_device_flow(["User.Read"])?;
//!         eprintln!("{}", flow.message);
//!         app.acquire_token_by_device_flow(&flow)?
//!     }
//! };
//! # let _ = token; Ok::<(), oxmsal::Error>(())
//! ```

mod confidential;
mod managed_identity;
mod public;

use std::future::Future;
use std::sync::Arc;

use crate::error::{Error, Result};

pub use confidential::ConfidentialClientApplication;
pub use managed_identity::ManagedIdentityClient;
pub use public::PublicClientApplication;

/// The current-thread runtime one wrapper (and its clones) drive requests on.
#[derive(Debug, Clone)]
struct Runtime(Arc<Owned>);

/// Shut down without waiting when dropped, so a wrapper dropped inside async
/// code (where a blocking shutdown would panic) goes quietly.
#[derive(Debug)]
struct Owned(Option<tokio::runtime::Runtime>);

impl Drop for Owned {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl Runtime {
    fn new() -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                Error::configuration(format!("cannot start a runtime for the blocking API: {e}"))
            })?;
        Ok(Runtime(Arc::new(Owned(Some(runtime)))))
    }

    /// Drives `request` to completion on this thread. Refused inside a tokio
    /// runtime, where blocking the thread would stall (tokio panics there).
    fn block_on<T>(&self, request: impl Future<Output = Result<T>>) -> Result<T> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::configuration(
                "the blocking API was called from inside an async runtime; await the async API (`inner()`) there instead",
            ));
        }
        match &self.0 .0 {
            Some(runtime) => runtime.block_on(request),
            None => Err(Error::configuration(
                "the blocking API's runtime has shut down",
            )),
        }
    }
}
