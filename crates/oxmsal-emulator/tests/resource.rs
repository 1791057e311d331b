//! The protected resource (`/resource/…`) and its claims challenges, over real sockets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine as _;
use common::{client, expect_aad_error, now, post_token};
use oxmsal_emulator::{DemoApp, Emulator, EmulatorConfig, ResourceScenario};
use serde_json::{json, Value};

/// A client credentials token for the demo app, with an optional `claims` parameter.
async fn token(
    http: &reqwest::Client,
    emu: &Emulator,
    app: &DemoApp,
    claims: Option<&str>,
) -> String {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_id", app.client_id.as_str()),
        ("client_secret", app.secret.as_str()),
        ("scope", "https://graph.example/.default"),
    ];
    if let Some(claims) = claims {
        form.push(("claims", claims));
    }
    let response = post_token(http, emu, &form).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

async fn call(http: &reqwest::Client, url: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = http.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// The payload of a JWT, unverified.
fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// `claims` signed RS256 by a key that is not the emulator's.
fn client_certificate_token(claims: &Value) -> String {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let cert = oxmsal_emulator::testing::client_certificate("impostor");
    let key = EncodingKey::from_rsa_pem(cert.key_pem.as_bytes()).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &key).unwrap()
}

/// A `quoted="value"` parameter of a `WWW-Authenticate` header (values here have no escapes).
fn param<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    let start = header.find(&format!("{name}=\""))? + name.len() + 2;
    let len = header[start..].find('"')?;
    Some(&header[start..start + len])
}

/// Asserts a 401 with Graph's body and returns the `WWW-Authenticate` header.
async fn expect_401(response: reqwest::Response, emu: &Emulator, error: &str) -> String {
    assert_eq!(response.status(), 401);
    let header = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    let prefix = format!(
        "Bearer realm=\"\", authorization_uri=\"{}/common/oauth2/authorize\", error=\"{error}\"",
        emu.base_url()
    );
    assert!(header.starts_with(&prefix), "{header}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["error"]["code"], "InvalidAuthenticationToken",
        "{body}"
    );
    assert!(body["error"]["message"].is_string(), "{body}");
    header
}

/// Asserts an `insufficient_claims` challenge for exactly `expected` (as JSON text)
/// and returns the decoded challenge.
async fn expect_challenge(response: reqwest::Response, emu: &Emulator, expected: &str) -> Value {
    let header = expect_401(response, emu, "insufficient_claims").await;
    assert_eq!(
        header,
        format!(
            "Bearer realm=\"\", authorization_uri=\"{}/common/oauth2/authorize\", \
             error=\"insufficient_claims\", claims=\"{}\"",
            emu.base_url(),
            STANDARD_NO_PAD.encode(expected)
        )
    );
    let claims = param(&header, "claims").unwrap();
    assert!(!claims.ends_with('='), "sent without padding");
    let padded = format!("{claims}{}", "=".repeat((4 - claims.len() % 4) % 4));
    let decoded: Value = serde_json::from_slice(&STANDARD.decode(padded).unwrap()).unwrap();
    assert_eq!(decoded, serde_json::from_str::<Value>(expected).unwrap());
    decoded
}

#[tokio::test]
async fn validates_tokens() {
    let emu = Emulator::start().await.unwrap();
    let app = emu.register_demo_app();
    let http = client(&emu);
    let url = emu.resource_url("/v1.0/me");
    assert_eq!(url, format!("{}/resource/v1.0/me", emu.base_url()));

    // No token, an empty one, another scheme, garbage.
    let header = expect_401(call(&http, &url, None).await, &emu, "invalid_token").await;
    assert_eq!(
        param(&header, "error_description"),
        Some("Access token is empty.")
    );
    expect_401(call(&http, &url, Some("")).await, &emu, "invalid_token").await;
    let basic = http
        .get(&url)
        .basic_auth("a", Some("b"))
        .send()
        .await
        .unwrap();
    expect_401(basic, &emu, "invalid_token").await;
    expect_401(
        call(&http, &url, Some("not.a.jwt")).await,
        &emu,
        "invalid_token",
    )
    .await;

    // A valid token, with one byte of its payload changed, and one signed by another key.
    let good = token(&http, &emu, &app, None).await;
    let (head, rest) = good.split_once('.').unwrap();
    let (body, signature) = rest.split_once('.').unwrap();
    let mut claims = payload(&good);
    claims["roles"] = json!(["Admin"]);
    let tampered = format!(
        "{head}.{}.{signature}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    assert_ne!(body, tampered.split('.').nth(1).unwrap());
    let header = expect_401(
        call(&http, &url, Some(&tampered)).await,
        &emu,
        "invalid_token",
    )
    .await;
    assert!(
        param(&header, "error_description")
            .unwrap()
            .contains("Signature"),
        "{header}"
    );
    let forged = client_certificate_token(&claims);
    expect_401(
        call(&http, &url, Some(&forged)).await,
        &emu,
        "invalid_token",
    )
    .await;

    let response = call(&http, &url, Some(&good)).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("client-request-id"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["ok"], true);
    assert_eq!(body["path"], "/resource/v1.0/me");
    assert_eq!(body["aud"], "https://graph.example");
    assert_eq!(body["azp"], app.client_id);
    assert_eq!(body["claims_seen"], payload(&good));

    // Any path and method under /resource, the bare prefix too.
    for path in ["", "/", "subscriptions/1/resourceGroups?api-version=2"] {
        assert_eq!(
            call(&http, &emu.resource_url(path), Some(&good))
                .await
                .status(),
            200
        );
    }
    let response = http
        .post(format!("{}/resource", emu.base_url()))
        .bearer_auth(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["path"], "/resource");

    let counters = emu.counters();
    assert_eq!(counters.resource_requests, 11);
    assert_eq!(counters.resource_challenges, 0);
    assert_eq!(counters.token_requests, 1);
    assert_eq!(counters.total_requests, 12);
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    // A zero lifetime makes every token expire the second it is issued.
    let emu =
        Emulator::start_with(EmulatorConfig::default().with_access_token_lifetime(Duration::ZERO))
            .await
            .unwrap();
    let app = emu.register_demo_app();
    let http = client(&emu);
    let expired = token(&http, &emu, &app, None).await;
    let header = expect_401(
        call(&http, &emu.resource_url("x"), Some(&expired)).await,
        &emu,
        "invalid_token",
    )
    .await;
    assert!(
        param(&header, "error_description")
            .unwrap()
            .contains("expired"),
        "{header}"
    );
}

#[tokio::test]
async fn step_up_scenarios_challenge_until_the_context_is_asked_for() {
    let emu = Emulator::start().await.unwrap();
    let app = emu.register_demo_app();
    let http = client(&emu);
    let url = emu.resource_url("v1.0/me");
    let plain = token(&http, &emu, &app, None).await;

    for (scenario, context) in [
        (ResourceScenario::MfaStepUp, "c1"),
        (ResourceScenario::CompliantDevice, "c2"),
    ] {
        emu.set_resource_scenario(scenario);
        assert_eq!(emu.resource_scenario(), scenario);
        let expected =
            format!(r#"{{"access_token":{{"acrs":{{"essential":true,"value":"{context}"}}}}}}"#);
        let challenge =
            expect_challenge(call(&http, &url, Some(&plain)).await, &emu, &expected).await;

        // The challenge goes back as `claims`, with CP1 merged in as oxmsal does.
        let mut request = challenge.clone();
        request["access_token"]["xms_cc"] = json!({"values": ["CP1"]});
        let stepped_up = token(&http, &emu, &app, Some(&request.to_string())).await;
        assert_eq!(payload(&stepped_up)["acrs"], json!([context]));
        assert_eq!(payload(&stepped_up)["xms_cc"], json!(["CP1"]));
        let response = call(&http, &url, Some(&stepped_up)).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["claims_seen"]["acrs"], json!([context]));
    }

    // `values` works too, and a token for c1 does not satisfy c2.
    let both = token(
        &http,
        &emu,
        &app,
        Some(r#"{"access_token":{"acrs":{"essential":true,"values":["c1","c2"]}}}"#),
    )
    .await;
    assert_eq!(call(&http, &url, Some(&both)).await.status(), 200);
    let c1_only = token(
        &http,
        &emu,
        &app,
        Some(r#"{"access_token":{"acrs":{"value":"c1"}}}"#),
    )
    .await;
    assert_eq!(call(&http, &url, Some(&c1_only)).await.status(), 401);

    emu.set_resource_scenario(ResourceScenario::None);
    assert_eq!(call(&http, &url, Some(&plain)).await.status(), 200);
    assert_eq!(emu.counters().resource_challenges, 3);
}

/// Waits until the wall clock's second changes, so that what happens next is
/// strictly later (in epoch seconds) than what happened before.
async fn next_second() {
    let start = now();
    while now() == start {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn cae_revocation_challenges_only_cp1_clients() {
    let emu = Emulator::start().await.unwrap();
    let app = emu.register_demo_app();
    let http = client(&emu);
    let url = emu.resource_url("v1.0/me");
    let cp1_claims = r#"{"access_token":{"xms_cc":{"values":["CP1"]}}}"#;
    let capable = token(&http, &emu, &app, Some(cp1_claims)).await;
    let legacy = token(&http, &emu, &app, None).await;
    assert_eq!(call(&http, &url, Some(&capable)).await.status(), 200);

    next_second().await;
    emu.set_resource_scenario(ResourceScenario::CaeRevocation);
    let revoked_at = emu.resource_revoked_at().unwrap();
    assert!(revoked_at > payload(&capable)["iat"].as_u64().unwrap());

    let expected =
        format!(r#"{{"access_token":{{"nbf":{{"essential":true,"value":"{revoked_at}"}}}}}}"#);
    let challenge =
        expect_challenge(call(&http, &url, Some(&capable)).await, &emu, &expected).await;

    // Without CP1: a plain invalid_token, no claims.
    let header = expect_401(
        call(&http, &url, Some(&legacy)).await,
        &emu,
        "invalid_token",
    )
    .await;
    assert!(param(&header, "claims").is_none(), "{header}");

    // The answer to the challenge (CP1 merged in) is accepted.
    let mut request = challenge;
    request["access_token"]["xms_cc"] = json!({"values": ["CP1"]});
    let fresh = token(&http, &emu, &app, Some(&request.to_string())).await;
    let claims = payload(&fresh);
    assert!(claims["iat"].as_u64().unwrap() >= revoked_at);
    assert!(claims["nbf"].as_u64().unwrap() >= revoked_at);
    assert_eq!(call(&http, &url, Some(&fresh)).await.status(), 200);
    assert_eq!(emu.counters().resource_challenges, 1);

    // A requested nbf up to 5 minutes ahead raises iat/nbf; further is refused.
    let ahead = now() + 120;
    let raised = token(
        &http,
        &emu,
        &app,
        Some(&format!(
            r#"{{"access_token":{{"nbf":{{"essential":true,"value":"{ahead}"}}}}}}"#
        )),
    )
    .await;
    assert_eq!(payload(&raised)["iat"], ahead);
    assert_eq!(payload(&raised)["nbf"], ahead);
    assert_eq!(call(&http, &url, Some(&raised)).await.status(), 200);
    let too_far = format!(
        r#"{{"access_token":{{"nbf":{{"essential":true,"value":"{}"}}}}}}"#,
        now() + 3600
    );
    let response = post_token(
        &http,
        &emu,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &app.client_id),
            ("client_secret", &app.secret),
            ("scope", "https://graph.example/.default"),
            ("claims", &too_far),
        ],
    )
    .await;
    expect_aad_error(response, 400, "invalid_request", 50117).await;
}

#[tokio::test]
async fn admin_api_sets_and_clears_scenarios() {
    let emu = Emulator::start().await.unwrap();
    let http = client(&emu);
    let admin = format!("{}/_emulator/resource/scenario", emu.base_url());
    let get = || async {
        let response = http.get(&admin).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.json::<Value>().await.unwrap()
    };
    assert_eq!(get().await, json!({"scenario": "none"}));

    let response = http
        .post(&admin)
        .json(&json!({"scenario": "mfa_step_up"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"scenario": "mfa_step_up"})
    );
    assert_eq!(get().await, json!({"scenario": "mfa_step_up"}));
    assert_eq!(emu.resource_scenario(), ResourceScenario::MfaStepUp);
    assert_eq!(emu.resource_revoked_at(), None);

    let before = now();
    let body: Value = http
        .post(&admin)
        .json(&json!({"scenario": "cae_revocation"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["scenario"], "cae_revocation");
    let revoked_at = body["revoked_at"].as_u64().unwrap();
    assert!(revoked_at >= before && revoked_at <= now());
    assert_eq!(emu.resource_revoked_at(), Some(revoked_at));
    assert_eq!(get().await, body);

    for bad in [json!({"scenario": "mfa"}), json!({}), json!("none")] {
        let response = http.post(&admin).json(&bad).send().await.unwrap();
        assert_eq!(response.status(), 400, "{bad}");
    }
    assert_eq!(emu.resource_scenario(), ResourceScenario::CaeRevocation);

    let response = http.delete(&admin).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"scenario": "none"})
    );
    assert_eq!(emu.resource_scenario(), ResourceScenario::None);

    emu.set_resource_scenario(ResourceScenario::CompliantDevice);
    assert_eq!(get().await, json!({"scenario": "compliant_device"}));

    // Admin traffic is not counted.
    assert_eq!(emu.counters().total_requests, 0);
    assert_eq!(emu.counters().resource_requests, 0);
}

#[tokio::test]
async fn revocation_event_refuses_the_tokens_issued_so_far() {
    let emu = Emulator::start().await.unwrap();
    let app = emu.register_demo_app();
    let other = DemoApp {
        client_id: "0b0b0b0b-0000-4000-8000-000000000002".into(),
        secret: "other-secret".into(),
    };
    emu.register_app(
        oxmsal_emulator::AppRegistration::new(&other.client_id).with_secret(&other.secret),
    )
    .unwrap();
    let http = client(&emu);
    let url = emu.resource_url("v1.0/me");
    let cp1_claims = r#"{"access_token":{"xms_cc":{"values":["CP1"]}}}"#;
    let capable = token(&http, &emu, &app, Some(cp1_claims)).await;
    let legacy = token(&http, &emu, &app, None).await;
    let bystander = token(&http, &emu, &other, Some(cp1_claims)).await;
    assert_eq!(call(&http, &url, Some(&capable)).await.status(), 200);

    // The admin API revokes the app's tokens, issued in this very second included.
    let admin = format!("{}/_emulator/resource/revocations", emu.base_url());
    let body: Value = http
        .post(&admin)
        .json(&json!({"subject": app.client_id.to_uppercase()}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let revoked_at = body["revoked_at"].as_u64().unwrap();
    assert!(revoked_at > payload(&capable)["iat"].as_u64().unwrap());
    let listed: Value = http.get(&admin).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed, json!({app.client_id.to_lowercase(): revoked_at}));

    let expected =
        format!(r#"{{"access_token":{{"nbf":{{"essential":true,"value":"{revoked_at}"}}}}}}"#);
    let challenge =
        expect_challenge(call(&http, &url, Some(&capable)).await, &emu, &expected).await;
    let header = expect_401(
        call(&http, &url, Some(&legacy)).await,
        &emu,
        "invalid_token",
    )
    .await;
    assert!(param(&header, "claims").is_none(), "{header}");
    // Another app's token is not affected.
    assert_eq!(call(&http, &url, Some(&bystander)).await.status(), 200);

    // The token requested with the challenge (CP1 merged in) carries it and is accepted.
    let mut request = challenge;
    request["access_token"]["xms_cc"] = json!({"values": ["CP1"]});
    let fresh = token(&http, &emu, &app, Some(&request.to_string())).await;
    assert_eq!(payload(&fresh)["nbf"], revoked_at);
    assert_eq!(call(&http, &url, Some(&fresh)).await.status(), 200);
    let counters = emu.counters();
    assert_eq!(
        (counters.resource_requests, counters.resource_challenges),
        (5, 1)
    );
    assert_eq!(counters.token_requests, 4);

    // Revoking a user by username, then forgetting every revocation.
    assert!(emu.revoke_tokens(oxmsal_emulator::DEFAULT_USERNAME) >= revoked_at);
    let response = http.delete(&admin).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(call(&http, &url, Some(&legacy)).await.status(), 200);
    for bad in [json!({"subject": " "}), json!({}), json!({"subject": 1})] {
        let response = http.post(&admin).json(&bad).send().await.unwrap();
        assert_eq!(response.status(), 400, "{bad}");
    }
}

#[tokio::test]
async fn always_challenge_refuses_even_a_satisfying_token() {
    let emu = Emulator::start().await.unwrap();
    let app = emu.register_demo_app();
    let http = client(&emu);
    let url = emu.resource_url("v1.0/me");
    emu.set_resource_scenario(ResourceScenario::AlwaysChallenge);
    let expected = r#"{"access_token":{"acrs":{"essential":true,"value":"c1"}}}"#;
    let plain = token(&http, &emu, &app, None).await;
    expect_challenge(call(&http, &url, Some(&plain)).await, &emu, expected).await;
    let stepped_up = token(&http, &emu, &app, Some(expected)).await;
    assert_eq!(payload(&stepped_up)["acrs"], json!(["c1"]));
    expect_challenge(call(&http, &url, Some(&stepped_up)).await, &emu, expected).await;
}
