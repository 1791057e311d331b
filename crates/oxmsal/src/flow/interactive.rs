//! Interactive sign-in: the system browser (or the app's own way of showing a
//! URL) and a loopback redirect listener.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::client::AppCore;
use crate::credential::ClientCredential;
use crate::error::{Error, Result};
use crate::request_options::RequestOptions;
use crate::token::AuthenticationResult;

use super::auth_code::{self, AuthorizeOptions};
use super::loopback::Loopback;

/// How the authorization URL reaches the user.
///
/// ```
/// use std::sync::Arc;
/// let print = oxmsal::Browser::Callback(Arc::new(|url: &str| eprintln!("Open {url}")));
/// # let _ = print;
/// ```
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum Browser {
    /// Open the system's default browser (`xdg-open`, `open`, `start`).
    #[default]
    System,
    /// Hand the URL to the app (print it, or drive a browser in a test).
    Callback(Arc<dyn Fn(&str) + Send + Sync>),
}

impl fmt::Debug for Browser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Browser::System => f.write_str("Browser::System"),
            Browser::Callback(_) => f.write_str("Browser::Callback(..)"),
        }
    }
}

/// Options of one interactive request.
#[derive(Debug, Clone)]
pub(crate) struct Params {
    pub scopes: Vec<String>,
    pub port: u16,
    pub timeout: Duration,
    pub browser: Browser,
    pub authorize: AuthorizeOptions,
    pub correlation_id: String,
    /// Query parameters go on the authorization URL and the token request;
    /// form parameters and headers on the token request.
    pub options: RequestOptions,
}

pub(crate) async fn acquire(
    core: &AppCore,
    credential: Option<&ClientCredential>,
    params: Params,
) -> Result<AuthenticationResult> {
    let loopback = Loopback::bind(params.port).await?;
    let redirect_uri = loopback.redirect_uri();
    let flow = auth_code::initiate(
        core,
        &params.scopes,
        &redirect_uri,
        params.authorize,
        &params.options,
        &params.correlation_id,
    )
    .await?;
    open(&params.browser, &flow.auth_uri)?;
    tracing::info!(
        correlation_id = params.correlation_id.as_str(),
        redirect_uri = redirect_uri.as_str(),
        "waiting for the browser redirect"
    );
    let response = tokio::select! {
        received = loopback.receive(&flow.state) => received?,
        () = core.clock.sleep(params.timeout) => {
            return Err(Error::cancelled(format!(
                "no sign-in completed within {} s", params.timeout.as_secs()
            )).with_correlation_id(params.correlation_id.clone()));
        }
    };
    auth_code::acquire(
        core,
        credential,
        &flow,
        &response,
        &params.correlation_id,
        &params.options,
    )
    .await
}

fn open(browser: &Browser, url: &str) -> Result<()> {
    match browser {
        Browser::Callback(show) => {
            show(url);
            Ok(())
        }
        Browser::System => {
            let mut command = if cfg!(target_os = "macos") {
                std::process::Command::new("open")
            } else if cfg!(windows) {
                let mut c = std::process::Command::new("cmd");
                c.args(["/C", "start", ""]);
                c
            } else {
                std::process::Command::new("xdg-open")
            };
            command
                .arg(url)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .map(|_| ())
                .map_err(|e| {
                    Error::configuration(format!(
                        "cannot open a browser ({e}); show the URL yourself with Browser::Callback"
                    ))
                })
        }
    }
}
