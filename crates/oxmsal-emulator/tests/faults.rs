//! Every fault kind, over real sockets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{client, client_credentials, expect_aad_error};
use oxmsal_emulator::{Emulator, Fault, FaultBody, FaultTarget};
use serde_json::{json, Map, Value};

#[tokio::test]
async fn oauth_fault_is_served_verbatim_once() {
    let emu = Emulator::start().await.unwrap();
    let app = emu.register_demo_app();
    let http = client(&emu);
    let mut extra = Map::new();
    extra.insert("x_custom".into(), json!({"a": 1}));
    emu.inject(Fault::Oauth {
        status: 400,
        error: "invalid_grant".into(),
        error_description: "AADSTS50076: Due to a configuration change made by your administrator, you must use multi-factor authentication.".into(),
        error_codes: vec![50076],
        suberror: Some("basic_action".into()),
        claims: Some(r#"{"access_token":{"capolids":{"essential":true,"values":["x"]}}}"#.into()),
        retry_after: None,
        extra,
    });
    let response = client_credentials(&http, &emu, &app).await;
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("retry-after").is_none());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .starts_with("AADSTS50076: Due to"));
    assert_eq!(body["error_codes"], json!([50076]));
    assert_eq!(body["suberror"], "basic_action");
    assert_eq!(
        body["claims"],
        r#"{"access_token":{"capolids":{"essential":true,"values":["x"]}}}"#
    );
    assert_eq!(body["x_custom"], json!({"a": 1}));
    for key in ["timestamp", "trace_id", "correlation_id", "error_uri"] {
        assert!(body[key].is_string(), "{key}");
    }
    // Consumed: the next request succeeds.
    assert_eq!(client_credentials(&http, &emu, &app).await.status(), 200);

    // The helper form gets Entra's prefix and trace suffix (checked by expect_aad_error).
    emu.inject(Fault::oauth(
        "interaction_required",
        50079,
        "MFA enrollment required.",
    ));
    let body = expect_aad_error(
        client_credentials(&http, &emu, &app).await,
        400,
        "interaction_required",
        50079,
    )
    .await;
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .starts_with("AADSTS50079: MFA enrollment required.\r\nTrace ID: "));

    // A description that is not AADSTS-shaped is served exactly as given.
    emu.inject(Fault::Oauth {
        status: 400,
        error: "invalid_request".into(),
        error_description: "plain words".into(),
        error_codes: vec![],
        suberror: None,
        claims: None,
        retry_after: Some("2".into()),
        extra: Map::new(),
    });
    let response = client_credentials(&http, &emu, &app).await;
    assert_eq!(response.headers()["retry-after"], "2");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error_description"], "plain words");
    assert_eq!(body["error_codes"], json!([]));
    assert!(body.get("error_uri").is_none());

    let c = emu.counters();
    assert_eq!(
        (c.token_requests, c.faults_served, c.tokens_issued),
        (4, 3, 1)
    );
    let recorded = emu.token_requests();
    assert_eq!(recorded[0].fault.as_deref(), Some("oauth"));
    assert_eq!(recorded[0].status, Some(400));
    assert_eq!(recorded[1].fault, None);
}

#[tokio::test]
async fn throttle_carries_retry_after() {
    let emu = Emulator::start().await.unwrap();
    let app = emu.register_demo_app();
    let http = client(&emu);
    emu.inject(Fault::Throttle {
        retry_after: Some("7".into()),
    });
    emu.inject(Fault::Throttle {
        retry_after: Some("Wed, 21 Oct 2037 07:28:00 GMT".into()),
    });
    emu.inject(Fault::Throttle { retry_after: None });

    let response = client_credentials(&http, &emu, &app).await;
    assert_eq!(response.headers()["retry-after"], "7");
    expect_aad_error(response, 429, "temporarily_unavailable", 90055).await;

    let response = client_credentials(&http, &emu, &app).await;
    assert_eq!(response.status(), 429);
    assert_eq!(
        response.headers()["retry-after"],
        "Wed, 21 Oct 2037 07:28:00 GMT"
    );

    let response = client_credentials(&http, &emu, &app).await;
    assert_eq!(response.status(), 429);
    assert!(response.headers().get("retry-after").is_none());
    assert_eq!(emu.counters().faults_served, 3);
}

#[tokio::test]
async fn server_error_bodies() {
    let emu = Emulator::start().await.unwrap();
    let app = emu.register_demo_app();
    let http = client(&emu);

    emu.inject(Fault::server_error(502));
    let response = client_credentials(&http, &emu, &app).await;
    assert_eq!(response.status(), 502);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(response.text().await.unwrap().contains("502 Bad Gateway"));

    emu.inject(Fault::ServerError {
        status: 503,
        retry_after: Some("3".into()),
        body: FaultBody::Oauth,
    });
    let response = client_credentials(&http, &emu, &app).await;
    assert_eq!(response.headers()["retry-after"], "3");
    expect_aad_error(response, 503, "temporarily_unavailable", 90033).await;

    emu.inject(Fault::ServerError {
        status: 504,
        retry_after: None,
        body: FaultBody::Empty,
    });
    let response = client_credentials(&http, &emu, &app).await;
    assert_eq!(response.status(), 504);
    assert!(response.bytes().await.unwrap().is_empty());

    emu.inject(Fault::ServerError {
        status: 500,
        retry_after: None,
        body: FaultBody::Text("boom".into()),
    });
    let response = client_credentials(&http, &emu, &app).await;
    assert_eq!(response.status(), 500);
    assert_eq!(response.text().await.unwrap(), "boom");
}

#[tokio::test]
async fn non_json_and_truncated_json() {
    let emu = Emulator::start().await.unwrap();
    let app = emu.register_demo_app();
    let http = client(&emu);

    emu.inject(Fault::NonJson {
        status: 200,
        content_type: "text/html".into(),
        body: "<html>Sign in to the captive portal</html>".into(),
    });
    let response = client_credentials(&http, &emu, &app).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/html");
    assert_eq!(
        response.text().await.unwrap(),
        "<html>Sign in to the captive portal</html>"
    );

    emu.inject(Fault::TruncatedJson);
    let response = client_credentials(&http, &emu, &app).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let text = response.text().await.unwrap();
    assert!(text.starts_with('{'), "{text}");
    assert!(text.contains("\"access_token\":\"ey"), "{text}");
    assert!(serde_json::from_str::<Value>(&text).is_err());
}

#[tokio::test]
async fn drop_connection_gives_a_transport_error() {
    let emu = Emulator::start().await.unwrap();
    let app = emu.register_demo_app();
    let http = client(&emu);
    // Warm the connection pool, so the drop hits a reused connection too.
    assert_eq!(client_credentials(&http, &emu, &app).await.status(), 200);

    emu.inject(Fault::DropConnection);
    let err = http
        .post(emu.token_endpoint())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", app.client_id.as_str()),
            ("client_secret", app.secret.as_str()),
            ("scope", "api://resource/.default"),
        ])
        .send()
        .await
        .expect_err("a dropped connection is not a response");
    assert!(err.status().is_none());
    assert!(!err.is_timeout(), "{err:?}");

    // The next request gets through on a new connection.
    assert_eq!(client_credentials(&http, &emu, &app).await.status(), 200);
    let c = emu.counters();
    assert_eq!(
        (c.token_requests, c.faults_served, c.tokens_issued),
        (3, 1, 2)
    );
    let recorded = emu.token_requests();
    assert_eq!(recorded[1].status, None);
    assert_eq!(recorded[1].fault.as_deref(), Some("drop_connection"));
}

#[tokio::test]
async fn delay_then_normal_answer() {
    let emu = Emulator::start().await.unwrap();
    let app = emu.register_demo_app();
    let http = client(&emu);
    emu.inject(Fault::Delay { millis: 400 });
    let started = Instant::now();
    let response = client_credentials(&http, &emu, &app).await;
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(response.status(), 200);

    // A client with a shorter timeout gives up.
    emu.inject(Fault::Delay { millis: 2_000 });
    let impatient = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(emu.ca_pem().as_bytes()).unwrap()])
        .no_proxy()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = client_credentials_err(&impatient, &emu, &app).await;
    assert!(err.is_timeout(), "{err:?}");
}

async fn client_credentials_err(
    http: &reqwest::Client,
    emu: &Emulator,
    app: &oxmsal_emulator::DemoApp,
) -> reqwest::Error {
    http.post(emu.token_endpoint())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", app.client_id.as_str()),
            ("client_secret", app.secret.as_str()),
            ("scope", "api://resource/.default"),
        ])
        .send()
        .await
        .unwrap_err()
}

#[tokio::test]
async fn targets_counts_and_clearing() {
    let emu = Emulator::start().await.unwrap();
    let app = emu.register_demo_app();
    let http = client(&emu);
    let discovery = format!("{}/v2.0/.well-known/openid-configuration", emu.authority());
    let keys = format!("{}/discovery/v2.0/keys", emu.authority());

    // A discovery fault leaves token requests alone.
    emu.inject(Fault::server_error(503).on(FaultTarget::Discovery));
    assert_eq!(client_credentials(&http, &emu, &app).await.status(), 200);
    assert_eq!(http.get(&discovery).send().await.unwrap().status(), 503);
    assert_eq!(http.get(&discovery).send().await.unwrap().status(), 200);

    // inject_n serves n times; Any hits whatever comes next.
    emu.inject_n(
        Fault::Throttle {
            retry_after: Some("1".into()),
        }
        .on(FaultTarget::Any),
        2,
    );
    assert_eq!(http.get(&keys).send().await.unwrap().status(), 429);
    assert_eq!(client_credentials(&http, &emu, &app).await.status(), 429);
    assert_eq!(client_credentials(&http, &emu, &app).await.status(), 200);

    // Truncated discovery document.
    emu.inject(Fault::TruncatedJson.on(FaultTarget::Discovery));
    let text = http
        .get(&discovery)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err());

    // Instance discovery target.
    emu.inject(Fault::DropConnection.on(FaultTarget::InstanceDiscovery));
    let instance = format!(
        "{}/common/discovery/instance?api-version=1.1",
        emu.base_url()
    );
    assert!(http.get(&instance).send().await.is_err());
    assert_eq!(http.get(&instance).send().await.unwrap().status(), 200);

    emu.inject_n(Fault::server_error(500), 5);
    assert_eq!(emu.pending_faults().len(), 5);
    emu.clear_faults();
    assert!(emu.pending_faults().is_empty());
    assert_eq!(client_credentials(&http, &emu, &app).await.status(), 200);

    let c = emu.counters();
    assert_eq!(c.token_requests, 4);
    assert_eq!(c.discovery_requests, 3);
    assert_eq!(c.jwks_requests, 1);
    assert_eq!(c.instance_discovery_requests, 2);
    assert_eq!(c.faults_served, 5);
    assert_eq!(c.total_requests, 10);
    emu.reset_counters();
    assert_eq!(emu.counters(), oxmsal_emulator::Counters::default());
}

#[tokio::test]
async fn echo_form_sends_the_request_back_as_json_or_html() {
    let emu = Emulator::start().await.unwrap();
    let app = emu.register_demo_app();
    let http = client(&emu);
    emu.inject(Fault::EchoForm {
        status: 400,
        body: oxmsal_emulator::EchoBody::Oauth,
    });
    let response = client_credentials(&http, &emu, &app).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    let description = body["error_description"].as_str().unwrap();
    let form_secret: String = url::form_urlencoded::byte_serialize(app.secret.as_bytes()).collect();
    assert!(
        description.contains(&format!("client_secret={form_secret}")),
        "{description}"
    );
    assert!(
        description.contains(&format!("client_secret={}", app.secret)),
        "{description}"
    );

    emu.inject(Fault::EchoForm {
        status: 500,
        body: oxmsal_emulator::EchoBody::Html,
    });
    let response = client_credentials(&http, &emu, &app).await;
    assert_eq!(response.status(), 500);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = response.text().await.unwrap();
    assert!(
        html.contains(&format!("client_secret={}", app.secret)),
        "{html}"
    );
    assert_eq!(
        emu.token_requests().last().unwrap().fault.as_deref(),
        Some("echo_form")
    );
}

#[tokio::test]
async fn huge_body_is_streamed_with_or_without_a_length() {
    let emu = Emulator::start().await.unwrap();
    let app = emu.register_demo_app();
    let http = client(&emu);
    for content_length in [false, true] {
        emu.inject(Fault::HugeBody {
            bytes: 5 * 65_536 + 7,
            status: 200,
            content_length,
        });
        let mut response = client_credentials(&http, &emu, &app).await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers().get("content-length").is_some(),
            content_length
        );
        let mut total = 0usize;
        let mut first = None;
        while let Some(chunk) = response.chunk().await.unwrap() {
            first.get_or_insert(chunk[0]);
            total += chunk.len();
        }
        assert_eq!(total, 5 * 65_536 + 7);
        assert_eq!(first, Some(b'{'));
    }
}

#[tokio::test]
async fn patch_json_replaces_and_removes_members_of_the_normal_answer() {
    let emu = Emulator::start().await.unwrap();
    let app = emu.register_demo_app();
    let http = client(&emu);
    let mut set = Map::new();
    set.insert("expires_in".into(), json!(1e30));
    set.insert("token_type".into(), Value::Null);
    emu.inject(Fault::PatchJson { set });
    let response = client_credentials(&http, &emu, &app).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["expires_in"], json!(1e30));
    assert!(body.get("token_type").is_none());
    assert!(body["access_token"].is_string());
}
