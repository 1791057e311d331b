//! The user-flow part of the admin API, over HTTP only (as the CLI and non-Rust
//! tests use it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{authorize, client, expect_aad_error, no_redirects, post_token, redirect_params};
use oxmsal_emulator::{AuthorizeOutcome, Emulator, EmulatorConfig, DEFAULT_USERNAME};
use serde_json::{json, Value};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

#[tokio::test]
async fn drive_user_flows_over_http() {
    let emu =
        Emulator::start_with(EmulatorConfig::default().with_device_code_interval(Duration::ZERO))
            .await
            .unwrap();
    let http = client(&emu);
    let admin = |path: &str| format!("{}/_emulator/{path}", emu.base_url());
    let get = |path: &str| {
        let http = http.clone();
        let url = admin(path);
        async move {
            http.get(url)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let post = |path: &str, body: Value| {
        let http = http.clone();
        let url = admin(path);
        async move { http.post(url).json(&body).send().await.unwrap() }
    };

    // Users: listed without passwords; added with or without oid.
    let users = get("users").await;
    assert_eq!(users.as_array().unwrap().len(), 1);
    assert_eq!(users[0]["username"], DEFAULT_USERNAME);
    assert_eq!(users[0]["oid"], oxmsal_emulator::DEFAULT_USER_OID);
    assert!(users[0].get("password").is_none());
    let response = post(
        "users",
        json!({"username": "carol@contoso.onmicrosoft.com", "password": "c", "federated": true}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let carol: Value = response.json().await.unwrap();
    assert_eq!(carol["display_name"], "carol");
    assert_eq!(carol["federated"], true);
    assert!(carol["oid"].is_string());
    assert_eq!(
        post(
            "users",
            json!({"username": "x", "password": "y", "oid": "nope"})
        )
        .await
        .status(),
        400
    );
    assert_eq!(post("users", json!({"password": "y"})).await.status(), 400);
    assert_eq!(emu.users().len(), 2);

    // Demo apps.
    let public: Value = post("public-demo-app", Value::Null)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        public["client_id"],
        emu.register_public_demo_app().client_id
    );
    assert_eq!(public["redirect_uri"], "http://localhost");
    let family: Value = post("family-apps", Value::Null).await.json().await.unwrap();
    let (one, two) = emu.register_family_apps();
    assert_eq!(family["client_ids"], json!([one, two]));
    // Registering a public app with redirect URIs and a family over HTTP.
    let response = post(
        "apps",
        json!({"client_id": "http-public", "public_client": true,
               "redirect_uris": ["http://localhost/cb"], "family_id": "1"}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let response = post("apps", json!({"client_id": "bad", "redirect_uris": ["::"]})).await;
    assert_eq!(response.status(), 400);

    // Auto sign-in and the authorize outcome.
    assert_eq!(get("auto-sign-in").await, json!({"enabled": true}));
    assert_eq!(
        post("auto-sign-in", json!({"enabled": false}))
            .await
            .status(),
        200
    );
    assert!(!emu.auto_sign_in());
    assert_eq!(
        post("auto-sign-in", json!({"enabled": "yes"}))
            .await
            .status(),
        400
    );
    post("auto-sign-in", json!({"enabled": true})).await;
    let response = post("authorize/outcome", json!({"outcome": "access_denied"})).await;
    assert_eq!(response.status(), 200);
    assert_eq!(emu.authorize_outcome(), AuthorizeOutcome::AccessDenied);
    assert_eq!(
        get("authorize/outcome").await,
        json!({"outcome": "access_denied"})
    );
    let browser = no_redirects(&emu);
    let response = authorize(
        &browser,
        &emu,
        &[
            ("client_id", "http-public"),
            ("response_type", "code"),
            ("redirect_uri", "http://localhost:3000/cb"),
            ("scope", "openid"),
            ("login_hint", DEFAULT_USERNAME),
        ],
    )
    .await;
    assert_eq!(redirect_params(&response).1["error"], "access_denied");
    post("authorize/outcome", json!({"outcome": "consent_required"})).await;
    let response = http
        .delete(admin("authorize/outcome"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"outcome": "normal"})
    );
    assert_eq!(
        post("authorize/outcome", json!({"outcome": "nope"}))
            .await
            .status(),
        400
    );

    // Device codes: list, slow down, approve (default user), deny.
    let start = || {
        let http = http.clone();
        let url = emu.device_code_endpoint();
        let id = one.clone();
        async move {
            http.post(url)
                .form(&[
                    ("client_id", id.as_str()),
                    ("scope", "openid offline_access"),
                ])
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let poll = |flow: Value| {
        let http = http.clone();
        let emu = &emu;
        let id = one.clone();
        async move {
            post_token(
                &http,
                emu,
                &[
                    ("grant_type", DEVICE_GRANT),
                    ("client_id", &id),
                    ("device_code", flow["device_code"].as_str().unwrap()),
                ],
            )
            .await
        }
    };
    let flow = start().await;
    let code = flow["user_code"].as_str().unwrap();
    let pending = get("device-codes").await;
    assert_eq!(pending[0]["user_code"], code);
    assert_eq!(pending[0]["client_id"], one);
    post("device-codes/slow-down", json!({"count": 1})).await;
    expect_aad_error(poll(flow.clone()).await, 400, "slow_down", 70016).await;
    let response = post(
        &format!("device-codes/{code}/approve"),
        json!({"username": "nobody@x"}),
    )
    .await;
    assert_eq!(response.status(), 400);
    let response = post("device-codes/ZZZZZZZZZ/approve", Value::Null).await;
    assert_eq!(response.status(), 404);
    let response = http
        .post(admin(&format!("device-codes/{code}/approve")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "no body: the default user");
    let tokens: Value = poll(flow).await.json().await.unwrap();
    assert_eq!(tokens["foci"], "1");
    let flow = start().await;
    let code = flow["user_code"].as_str().unwrap();
    assert_eq!(
        post(&format!("device-codes/{code}/deny"), Value::Null)
            .await
            .status(),
        200
    );
    assert_eq!(
        post(&format!("device-codes/{code}/deny"), Value::Null)
            .await
            .status(),
        404
    );
    expect_aad_error(poll(flow).await, 400, "authorization_declined", 70000).await;

    // Refresh tokens: listed, revoked per user.
    let rts = get("refresh-tokens").await;
    assert_eq!(rts.as_array().unwrap().len(), 1);
    assert_eq!(rts[0]["username"], DEFAULT_USERNAME);
    assert_eq!(rts[0]["family_id"], "1");
    let response = post(
        &format!("users/{DEFAULT_USERNAME}/revoke-refresh-tokens"),
        Value::Null,
    )
    .await;
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"revoked": 1})
    );
    assert!(get("refresh-tokens").await[0]["revoked_at"].is_u64());

    // Counters carry the per-grant numbers.
    let counters = get("counters").await;
    assert_eq!(counters["authorize_requests"], 1);
    assert_eq!(counters["device_code_requests"], 2);
    assert_eq!(counters["device_code_polls"], 3);
    assert_eq!(counters["refresh_token_grants"], 0);
    assert_eq!(counters, serde_json::to_value(emu.counters()).unwrap());
}
