//! `oxmsal login`: sign a user in and keep the account in the cache.

use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use oxmsal::{Browser, PublicClientApplication};
use serde_json::Value;

use crate::args::LoginArgs;
use crate::exit::Failure;
use crate::inputs;
use crate::session::Session;

pub async fn run(args: LoginArgs) -> Result<Value, Failure> {
    let password = match &args.password_env {
        Some(var) => Some(inputs::secret_from_env(var, "--password-env")?),
        None => None,
    };
    let session = Session::open(&args.connection).await?;
    // An unusable cache file fails now, not after the user has signed in.
    session.load_file().await?;
    let client_id = match (&args.connection.client_id, &session.emulator) {
        (Some(id), _) => id.clone(),
        (None, Some(emu)) => emu.register_public_demo_app().client_id,
        (None, None) => return Err(Failure::Usage("--client-id is required".into())),
    };
    let app = session
        .configure(PublicClientApplication::builder(client_id))?
        .build()?;
    let outcome = sign_in(&app, &args, password).await;
    let saved = session.save().await;
    crate::session::settle(outcome, saved)
}

async fn sign_in(
    app: &PublicClientApplication,
    args: &LoginArgs,
    password: Option<oxmsal::Secret>,
) -> Result<Value, Failure> {
    let scopes = args.scopes.clone();
    if let (Some(username), Some(password)) = (&args.username, password) {
        let result = app
            .acquire_token_by_username_password(username, password, scopes)
            .await?;
        return Ok(result.to_msal_json());
    }
    if args.interactive {
        let browser = if args.no_browser {
            Browser::Callback(Arc::new(|url: &str| {
                eprintln!("Open this URL in a browser to sign in:\n{url}");
            }))
        } else {
            Browser::System
        };
        let result = app
            .acquire_token_interactive(scopes)
            .browser(browser)
            .timeout(Duration::from_secs(args.timeout))
            .await?;
        return Ok(result.to_msal_json());
    }
    device_code(app, scopes).await
}

/// The device flow: the server's message on stderr, a spinner with the time
/// left; Ctrl-C (or SIGTERM) cancels.
async fn device_code(app: &PublicClientApplication, scopes: Vec<String>) -> Result<Value, Failure> {
    let flow = app.initiate_device_flow(scopes).await?;
    eprintln!("{}", flow.message);
    let spinner = ProgressBar::new_spinner();
    spinner.set_style(
        ProgressStyle::with_template("{spinner} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(flow.expires_in);
    let ticker = Ticker {
        spinner: spinner.clone(),
        task: tokio::spawn(async move {
            loop {
                let left = deadline
                    .saturating_duration_since(std::time::Instant::now())
                    .as_secs();
                spinner.set_message(format!(
                    "waiting for sign-in… {}:{:02} left",
                    left / 60,
                    left % 60
                ));
                spinner.tick();
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }),
    };
    // SIGINT and SIGTERM end the wait as they end every command (`signals`):
    // this future is dropped, and the ticker with it.
    let result = app.acquire_token_by_device_flow(&flow).await;
    drop(ticker);
    Ok(result?.to_msal_json())
}

/// The spinner's task: stopped, and the spinner cleared, when dropped —
/// also when the device flow's future is dropped on a signal.
struct Ticker {
    spinner: ProgressBar,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.task.abort();
        self.spinner.finish_and_clear();
    }
}
