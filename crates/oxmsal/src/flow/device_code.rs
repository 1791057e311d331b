//! The device authorization grant (RFC 8628): sign in on another device.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde_json::Value;

use crate::authority::Authority;
use crate::client::AppCore;
use crate::error::{Error, ErrorKind, InvalidResponse, Result};
use crate::http::{json_object_or_error, Outgoing, RequestKind};
use crate::request_options::RequestOptions;
use crate::secret::Secret;
use crate::token::AuthenticationResult;

use super::token_request::DEVICE_CODE_GRANT;
use super::user_token::{redeem, request_scopes, SaveMode, UserGrant};

/// MSAL's telemetry id of the device flow.
const API_ID: u32 = 671;
/// RFC 8628 §3.5: add five seconds on `slow_down`.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// A started device flow: show [`message`](Self::message) to the user, then poll.
///
/// ```
/// # fn show(flow: &oxmsal::DeviceFlow) {
/// eprintln!("{}", flow.message);
/// eprintln!("code {} at {}", flow.user_code, flow.verification_uri);
/// # }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DeviceFlow {
    /// The code the user types.
    pub user_code: String,
    /// Where the user types it.
    pub verification_uri: String,
    /// The server's instructions, ready to print.
    pub message: String,
    /// Seconds the code lives, as the server said.
    pub expires_in: u64,
    /// Epoch seconds after which polling stops (`Cancelled`).
    pub expires_at: u64,
    /// Seconds between polls.
    pub interval: u64,
    /// The scopes asked for.
    pub scopes: Vec<String>,
    pub(crate) device_code: Secret,
    pub(crate) authority: Authority,
    pub(crate) correlation_id: String,
}

/// Asks the device authorization endpoint for a user code.
pub(crate) async fn initiate(
    core: &AppCore,
    scopes: Vec<String>,
    options: &RequestOptions,
    correlation_id: String,
) -> Result<DeviceFlow> {
    let authority = core.authority.clone();
    let endpoints = core.endpoints(&authority, &correlation_id).await?;
    let url = match &endpoints.device_authorization_endpoint {
        Some(url) => url.clone(),
        None => endpoints
            .token_endpoint
            .join("devicecode")
            .map_err(|e| Error::configuration(format!("no device authorization endpoint: {e}")))?,
    };
    let url = options.with_query(url);
    let scope = request_scopes(&scopes);
    let mut fields = vec![
        ("client_id", core.client_id.as_str()),
        ("scope", scope.as_str()),
    ];
    fields.extend(options.body().iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let response = core
        .pipeline
        .send(Outgoing {
            method: http::Method::POST,
            url: &url,
            kind: RequestKind::Token { api_id: API_ID },
            correlation_id: &correlation_id,
            form: Some(&fields),
            extra_headers: options.headers(),
        })
        .await?;
    let sent = options.sent_secrets(&fields);
    let body = json_object_or_error(&response, core.clock.as_ref(), &sent)
        .map_err(|e| e.with_correlation_id(correlation_id.clone()))?;
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
    let number = |k: &str| match body.get(k) {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    };
    let bad = |what: &str| {
        Error::from_invalid_response(InvalidResponse::new(
            response.status().as_u16(),
            Some("application/json".into()),
            b"",
            format!("device authorization response without {what}"),
        ))
        .with_correlation_id(correlation_id.clone())
    };
    let user_code = text("user_code").ok_or_else(|| bad("`user_code`"))?;
    let device_code = text("device_code").ok_or_else(|| bad("`device_code`"))?;
    // Entra ID v1 said `verification_url`; accept both.
    let verification_uri = text("verification_uri")
        .or_else(|| text("verification_url"))
        .ok_or_else(|| bad("`verification_uri`"))?;
    let expires_in = number("expires_in").ok_or_else(|| bad("a numeric `expires_in`"))?;
    let interval = number("interval").unwrap_or(5);
    let message = text("message").unwrap_or_else(|| {
        format!("To sign in, open {verification_uri} and enter the code {user_code}.")
    });
    tracing::info!(
        correlation_id = correlation_id.as_str(),
        expires_in,
        interval,
        "device flow started"
    );
    Ok(DeviceFlow {
        user_code,
        verification_uri,
        message,
        expires_in,
        expires_at: core.clock.now_epoch().saturating_add(expires_in),
        interval,
        scopes,
        device_code: Secret::new(device_code),
        authority,
        correlation_id,
    })
}

/// A caller's cancel signal.
pub(crate) type CancelSignal = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Polls until the user approves, declines, the code expires, or the caller cancels.
pub(crate) async fn poll(
    core: &AppCore,
    flow: &DeviceFlow,
    claims: Option<&str>,
    mut cancel: Option<CancelSignal>,
    options: &RequestOptions,
) -> Result<AuthenticationResult> {
    let endpoints = core
        .endpoints(&flow.authority, &flow.correlation_id)
        .await?;
    let mut interval = Duration::from_secs(flow.interval);
    loop {
        let now = core.clock.now_epoch();
        if now >= flow.expires_at {
            return Err(Error::cancelled(format!(
                "the device code expired after {} s without sign-in",
                flow.expires_in
            ))
            .with_correlation_id(flow.correlation_id.clone()));
        }
        let wait = core.clock.sleep(interval);
        match cancel.as_mut() {
            Some(signal) => {
                tokio::select! {
                    () = wait => {}
                    () = signal => {
                        return Err(Error::cancelled("the device flow was cancelled by the caller")
                            .with_correlation_id(flow.correlation_id.clone()));
                    }
                }
            }
            None => wait.await,
        }
        let grant = UserGrant {
            api_id: API_ID,
            grant_type: DEVICE_CODE_GRANT,
            fields: vec![("device_code", flow.device_code.clone())],
            scopes: &flow.scopes,
            claims,
            expected_nonce: None,
            save: SaveMode::SignIn,
            ext_cache_key: None,
            rotates: None,
            correlation_id: &flow.correlation_id,
            options,
        };
        match redeem(core, None, &flow.authority, &endpoints, grant).await {
            Ok(result) => return Ok(result),
            Err(err) if err.kind() == ErrorKind::Service => {
                let code = err.service().map(|s| s.error.as_str()).unwrap_or_default();
                match code {
                    "authorization_pending" => {}
                    "slow_down" => {
                        interval += SLOW_DOWN_STEP;
                        tracing::info!(
                            interval_s = interval.as_secs(),
                            "slow_down: polling less often"
                        );
                    }
                    _ => return Err(err),
                }
            }
            Err(err) => return Err(err),
        }
    }
}
