//! The admin API under /_emulator, over HTTP only (as the CLI and non-Rust tests use it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use base64::Engine as _;
use common::{assertion, client, JWT_BEARER};
use oxmsal_emulator::testing::client_certificate;
use oxmsal_emulator::{Counters, Emulator, RecordedRequest};
use serde_json::{json, Value};

#[tokio::test]
async fn drive_everything_over_http() {
    let emu = Emulator::start().await.unwrap();
    let http = client(&emu);
    let admin = |path: &str| format!("{}/_emulator/{path}", emu.base_url());

    let info: Value = http
        .get(admin("info"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["authority"], emu.authority());
    assert_eq!(info["tenant_id"], emu.tenant_id());
    assert_eq!(info["ca_pem"], emu.ca_pem());
    assert_eq!(info["token_endpoint"], emu.token_endpoint());

    // Register an app with a secret and a PEM certificate, another with base64 DER.
    let cert = client_certificate("admin api");
    let response = http
        .post(admin("apps"))
        .json(&json!({"client_id": "http-app", "secrets": ["pw"], "certificates": [cert.cert_pem]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let der_b64 = base64::engine::general_purpose::STANDARD.encode(&cert.cert_der);
    let response = http
        .post(admin("apps"))
        .json(&json!({"client_id": "der-app", "certificates": [der_b64]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let response = http
        .post(admin("apps"))
        .json(&json!({"client_id": "bad", "certificates": ["AAAA"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let apps: Value = http
        .get(admin("apps"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(apps["client_ids"], json!(["der-app", "http-app"]));

    let demo: Value = http
        .post(admin("demo-app"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(demo["client_id"], emu.register_demo_app().client_id);

    // Certificate credential for the app registered over HTTP.
    let form = |assertion: &str| {
        vec![
            ("grant_type".to_owned(), "client_credentials".to_owned()),
            ("client_id".to_owned(), "der-app".to_owned()),
            ("client_assertion_type".to_owned(), JWT_BEARER.to_owned()),
            ("client_assertion".to_owned(), assertion.to_owned()),
            ("scope".to_owned(), "api://x/.default".to_owned()),
        ]
    };
    let a = assertion(&cert, "der-app", &emu.token_endpoint(), false);
    let response = http
        .post(emu.token_endpoint())
        .form(&form(&a))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // Faults: one object with a count, then an array; a bad one changes nothing.
    let response = http
        .post(admin("faults"))
        .json(&json!({"kind": "throttle", "retry_after": 9, "count": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let queued: Value = response.json().await.unwrap();
    assert_eq!(queued["queued"], 2);
    let response = http
        .post(admin("faults"))
        .json(&json!([
            {"kind": "server_error", "status": 503, "body": "oauth", "target": "discovery"},
            {"kind": "oauth", "error": "invalid_client", "error_codes": [7000222], "status": 401}
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = http
        .post(admin("faults"))
        .json(&json!([{"kind": "delay", "millis": 1}, {"kind": "no_such_kind"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let pending: Value = http
        .get(admin("faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pending.as_array().unwrap().len(), 4);
    assert_eq!(
        pending[0],
        json!({"kind": "throttle", "retry_after": "9", "target": "token"})
    );
    assert_eq!(emu.pending_faults().len(), 4);

    let token = |http: reqwest::Client| {
        let endpoint = emu.token_endpoint();
        let a = assertion(&cert, "der-app", &endpoint, false);
        let f = form(&a);
        async move { http.post(endpoint).form(&f).send().await.unwrap() }
    };
    let r = token(http.clone()).await;
    assert_eq!(
        (
            r.status().as_u16(),
            r.headers()["retry-after"].to_str().unwrap()
        ),
        (429, "9")
    );
    assert_eq!(token(http.clone()).await.status(), 429);
    let r = token(http.clone()).await;
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error_codes"], json!([7000222]));
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .starts_with("AADSTS7000222: "));
    let discovery = format!("{}/v2.0/.well-known/openid-configuration", emu.authority());
    assert_eq!(http.get(&discovery).send().await.unwrap().status(), 503);

    // Clear.
    http.post(admin("faults"))
        .json(&json!({"kind": "drop_connection"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        http.delete(admin("faults")).send().await.unwrap().status(),
        200
    );
    assert!(emu.pending_faults().is_empty());

    // Counters: admin traffic is not counted.
    let counters: Counters = http
        .get(admin("counters"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counters, emu.counters());
    assert_eq!(counters.token_requests, 4);
    assert_eq!(counters.discovery_requests, 1);
    assert_eq!(counters.faults_served, 4);
    assert_eq!(counters.total_requests, 5);
    let reset: Counters = http
        .post(admin("counters/reset"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reset, Counters::default());

    // Recorded token requests, redacted.
    let recorded: Vec<RecordedRequest> = http
        .get(admin("token-requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(recorded.len(), 4);
    assert_eq!(recorded, emu.token_requests());
    assert!(recorded
        .iter()
        .all(|r| r.param("client_assertion") == Some("<redacted>")));
    assert_eq!(recorded[1].fault.as_deref(), Some("throttle"));
    assert_eq!(
        http.delete(admin("token-requests"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert!(emu.token_requests().is_empty());

    let jwks: Value = http
        .get(admin("jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks, emu.jwks());
    assert_eq!(emu.counters().total_requests, 0);

    assert_eq!(http.get(admin("nope")).send().await.unwrap().status(), 404);
    assert_eq!(emu.counters().total_requests, 0);
}
