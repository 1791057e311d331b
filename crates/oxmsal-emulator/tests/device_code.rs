//! The device code flow (RFC 8628): device authorization, polling, and the
//! decisions (API, admin API, verification page), over real sockets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{client, expect_aad_error, input_value, payload, post_token};
use oxmsal_emulator::{
    Emulator, EmulatorConfig, EmulatorError, Fault, FaultTarget, DEFAULT_USERNAME,
    DEFAULT_USER_PASSWORD,
};
use serde_json::Value;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const SCOPE: &str = "openid profile offline_access api://demo/read";

async fn fast_emulator() -> Emulator {
    Emulator::start_with(EmulatorConfig::default().with_device_code_interval(Duration::ZERO))
        .await
        .unwrap()
}

/// Starts a device authorization for `client_id`.
async fn start(http: &reqwest::Client, emu: &Emulator, client_id: &str) -> Value {
    let response = http
        .post(emu.device_code_endpoint())
        .form(&[("client_id", client_id), ("scope", SCOPE)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn poll(
    http: &reqwest::Client,
    emu: &Emulator,
    client_id: &str,
    flow: &Value,
) -> reqwest::Response {
    post_token(
        http,
        emu,
        &[
            ("grant_type", DEVICE_GRANT),
            ("client_id", client_id),
            ("device_code", flow["device_code"].as_str().unwrap()),
            ("client_info", "1"),
        ],
    )
    .await
}

#[tokio::test]
async fn pending_then_approved() {
    let emu = fast_emulator().await;
    let app = emu.register_public_demo_app();
    let http = client(&emu);
    let flow = start(&http, &emu, &app.client_id).await;
    let user_code = flow["user_code"].as_str().unwrap().to_owned();
    assert_eq!(user_code.len(), 9);
    assert!(user_code
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()));
    assert_eq!(flow["verification_uri"], emu.verification_uri());
    assert_eq!(
        emu.verification_uri(),
        format!("{}/devicelogin", emu.base_url())
    );
    assert_eq!(flow["expires_in"], 900);
    assert_eq!(flow["interval"], 0);
    let message = flow["message"].as_str().unwrap();
    assert!(message.contains(&user_code) && message.contains("/devicelogin"));

    let body = expect_aad_error(
        poll(&http, &emu, &app.client_id, &flow).await,
        400,
        "authorization_pending",
        70016,
    )
    .await;
    assert!(body.get("suberror").is_none());

    let pending = emu.pending_device_codes();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].user_code, user_code);
    assert_eq!(pending[0].client_id, app.client_id);
    assert_eq!(pending[0].scope, SCOPE);
    assert!(pending[0].expires_at > common::now() + 800);

    assert!(matches!(
        emu.approve_device_code(&user_code, "nobody@contoso.onmicrosoft.com"),
        Err(EmulatorError::UnknownUser(_))
    ));
    assert!(matches!(
        emu.approve_device_code("AAAAAAAAA", DEFAULT_USERNAME),
        Err(EmulatorError::UnknownDeviceCode(_))
    ));
    // Typed the way people type it.
    let typed = format!("{}-{}", &user_code[..4], user_code[4..].to_lowercase());
    emu.approve_device_code(&typed, DEFAULT_USERNAME).unwrap();
    assert!(emu.pending_device_codes().is_empty());
    assert!(emu.deny_device_code(&user_code).is_err(), "already decided");

    let response = poll(&http, &emu, &app.client_id, &flow).await;
    assert_eq!(response.status(), 200);
    let tokens: Value = response.json().await.unwrap();
    assert_eq!(tokens["scope"], "api://demo/read openid profile");
    assert!(tokens["refresh_token"].is_string());
    assert!(tokens["client_info"].is_string());
    let id = payload(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["preferred_username"], DEFAULT_USERNAME);
    assert_eq!(id["aud"], app.client_id);

    // Redeemed: gone.
    expect_aad_error(
        poll(&http, &emu, &app.client_id, &flow).await,
        400,
        "bad_verification_code",
        70018,
    )
    .await;

    let counters = emu.counters();
    assert_eq!(counters.device_code_requests, 1);
    assert_eq!(counters.device_code_polls, 3);
    assert_eq!(counters.token_requests, 3);
    let recorded = emu.token_requests();
    assert_eq!(recorded.len(), 4, "device authorization is recorded too");
    assert!(recorded[0].path.ends_with("/oauth2/v2.0/devicecode"));
    assert!(recorded[1..]
        .iter()
        .all(|r| r.param("device_code") == Some("<redacted>")));
}

#[tokio::test]
async fn slow_down_when_polling_too_fast_or_injected() {
    // Default interval: 5 s.
    let emu = Emulator::start().await.unwrap();
    let app = emu.register_public_demo_app();
    let http = client(&emu);
    let flow = start(&http, &emu, &app.client_id).await;
    assert_eq!(flow["interval"], 5);
    expect_aad_error(
        poll(&http, &emu, &app.client_id, &flow).await,
        400,
        "authorization_pending",
        70016,
    )
    .await;
    let body = expect_aad_error(
        poll(&http, &emu, &app.client_id, &flow).await,
        400,
        "slow_down",
        70016,
    )
    .await;
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("5 seconds"));

    let emu = fast_emulator().await;
    let app = emu.register_public_demo_app();
    let http = client(&emu);
    let flow = start(&http, &emu, &app.client_id).await;
    emu.device_code_slow_down_next(2);
    for _ in 0..2 {
        expect_aad_error(
            poll(&http, &emu, &app.client_id, &flow).await,
            400,
            "slow_down",
            70016,
        )
        .await;
    }
    expect_aad_error(
        poll(&http, &emu, &app.client_id, &flow).await,
        400,
        "authorization_pending",
        70016,
    )
    .await;
}

#[tokio::test]
async fn declined_expired_unknown_and_foreign_codes() {
    let emu = Emulator::start_with(
        EmulatorConfig::default()
            .with_device_code_interval(Duration::ZERO)
            .with_device_code_expires_in(Duration::from_secs(1)),
    )
    .await
    .unwrap();
    let app = emu.register_public_demo_app();
    let (family_app, _) = emu.register_family_apps();
    let http = client(&emu);

    let declined = start(&http, &emu, &app.client_id).await;
    assert_eq!(declined["expires_in"], 1);
    emu.deny_device_code(declined["user_code"].as_str().unwrap())
        .unwrap();
    expect_aad_error(
        poll(&http, &emu, &app.client_id, &declined).await,
        400,
        "authorization_declined",
        70000,
    )
    .await;

    let foreign = start(&http, &emu, &app.client_id).await;
    expect_aad_error(
        poll(&http, &emu, &family_app, &foreign).await,
        400,
        "invalid_grant",
        70000,
    )
    .await;

    let bogus = serde_json::json!({"device_code": "DAQABIQEAAAnope"});
    expect_aad_error(
        poll(&http, &emu, &app.client_id, &bogus).await,
        400,
        "bad_verification_code",
        70018,
    )
    .await;

    let expiring = start(&http, &emu, &app.client_id).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(emu.pending_device_codes().is_empty());
    assert!(emu
        .approve_device_code(expiring["user_code"].as_str().unwrap(), DEFAULT_USERNAME)
        .is_err());
    let body = expect_aad_error(
        poll(&http, &emu, &app.client_id, &expiring).await,
        400,
        "expired_token",
        70020,
    )
    .await;
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("expired"));

    // Device authorization refusals.
    let response = http
        .post(emu.device_code_endpoint())
        .form(&[("client_id", "unknown-app"), ("scope", "openid")])
        .send()
        .await
        .unwrap();
    expect_aad_error(response, 400, "unauthorized_client", 700016).await;
    let response = http
        .post(emu.device_code_endpoint())
        .form(&[("client_id", app.client_id.as_str())])
        .send()
        .await
        .unwrap();
    expect_aad_error(response, 400, "invalid_request", 900144).await;
}

#[tokio::test]
async fn confidential_apps_poll_with_their_secret_and_faults_apply() {
    let emu = fast_emulator().await;
    let app = emu.register_demo_app();
    let http = client(&emu);
    emu.inject(Fault::server_error(503).on(FaultTarget::DeviceCode));
    let response = http
        .post(emu.device_code_endpoint())
        .form(&[("client_id", app.client_id.as_str()), ("scope", SCOPE)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(emu.counters().faults_served, 1);

    let flow = start(&http, &emu, &app.client_id).await;
    emu.approve_device_code(flow["user_code"].as_str().unwrap(), DEFAULT_USERNAME)
        .unwrap();
    expect_aad_error(
        poll(&http, &emu, &app.client_id, &flow).await,
        401,
        "invalid_client",
        7000218,
    )
    .await;
    let response = post_token(
        &http,
        &emu,
        &[
            ("grant_type", DEVICE_GRANT),
            ("client_id", &app.client_id),
            ("client_secret", &app.secret),
            ("device_code", flow["device_code"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(
        response.status(),
        200,
        "the failed client auth did not consume the code"
    );
}

#[tokio::test]
async fn verification_page_over_http() {
    let emu = fast_emulator().await;
    let app = emu.register_public_demo_app();
    let http = client(&emu);
    let flow = start(&http, &emu, &app.client_id).await;
    let user_code = flow["user_code"].as_str().unwrap();

    let html = http
        .get(format!("{}?user_code={user_code}", emu.verification_uri()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for id in ["user-code", "username", "password", "approve", "deny"] {
        assert!(
            html.contains(&format!("id=\"{id}\"")),
            "#{id} missing: {html}"
        );
    }
    assert_eq!(input_value(&html, "user_code").unwrap(), user_code);

    let submit = |code: &str, user: &str, password: &str, action: &str| {
        let form = [
            ("user_code", code.to_owned()),
            ("username", user.to_owned()),
            ("password", password.to_owned()),
            ("action", action.to_owned()),
        ];
        let http = http.clone();
        let url = emu.verification_uri();
        async move {
            let response = http.post(url).form(&form).send().await.unwrap();
            assert_eq!(response.status(), 200);
            response.text().await.unwrap()
        }
    };
    let html = submit(user_code, DEFAULT_USERNAME, "wrong", "approve").await;
    assert!(html.contains("id=\"error\"") && html.contains("AADSTS50126"));
    let html = submit(
        "WRONGCODE",
        DEFAULT_USERNAME,
        DEFAULT_USER_PASSWORD,
        "approve",
    )
    .await;
    assert!(html.contains("AADSTS70018"));
    expect_aad_error(
        poll(&http, &emu, &app.client_id, &flow).await,
        400,
        "authorization_pending",
        70016,
    )
    .await;
    let html = submit(
        user_code,
        DEFAULT_USERNAME,
        DEFAULT_USER_PASSWORD,
        "approve",
    )
    .await;
    assert!(html.contains("id=\"result\""));
    assert!(html.contains("You have signed in to the oxmsal public demo app application"));
    assert_eq!(poll(&http, &emu, &app.client_id, &flow).await.status(), 200);

    let flow = start(&http, &emu, &app.client_id).await;
    let html = submit(flow["user_code"].as_str().unwrap(), "", "", "deny").await;
    assert!(html.contains("declined"));
    expect_aad_error(
        poll(&http, &emu, &app.client_id, &flow).await,
        400,
        "authorization_declined",
        70000,
    )
    .await;
}
