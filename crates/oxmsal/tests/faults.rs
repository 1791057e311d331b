//! Every fault the emulator can inject maps to its error kind, keeps what the
//! server said, and is retried only when that is safe.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{setup, SCOPE};
use oxmsal::credential::ClientCredential;
use oxmsal::http::{HttpConfig, RetryPolicy};
use oxmsal::{ErrorKind, TokenSource};
use oxmsal_emulator::{Fault, FaultBody, FaultTarget};
use serde_json::{json, Map, Value};

fn oauth_fault(status: u16, body: &Value) -> Fault {
    let map: Map<String, Value> = body.as_object().unwrap().clone();
    Fault::Oauth {
        status,
        error: map["error"].as_str().unwrap().to_owned(),
        error_description: map["error_description"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        error_codes: vec![],
        suberror: None,
        claims: None,
        retry_after: None,
        extra: map,
    }
}

#[tokio::test]
async fn aadsts_error_keeps_every_key_verbatim() {
    let s = setup().await;
    let app = s.secret_app();
    let body = json!({
        "error": "invalid_grant",
        "error_description": "AADSTS50076: Due to a configuration change made by your administrator, you must use multi-factor authentication. Trace ID: 0000aaaa-11bb-cccc-dd22-eeeeee333333 Correlation ID: 8f5c6e0e-0000-4000-8000-000000000001 Timestamp: 2026-11-25 12:00:00Z",
        "error_codes": [50076],
        "timestamp": "2026-11-25 12:00:00Z",
        "trace_id": "0000aaaa-11bb-cccc-dd22-eeeeee333333",
        "correlation_id": "8f5c6e0e-0000-4000-8000-000000000001",
        "error_uri": "https://login.microsoftonline.com/error?code=50076",
        "suberror": "basic_action",
        "claims": "{\"access_token\":{\"capolids\":{\"essential\":true,\"values\":[\"c1\"]}}}",
        "future_field": {"nested": [1, "two", null]}
    });
    s.emulator.inject(oauth_fault(400, &body));
    let err = app.acquire_token_for_client([SCOPE]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Service);
    assert_eq!(
        err.to_msal_json(),
        body,
        "the error object is the server's, key by key"
    );
    assert_eq!(err.aadsts(), Some(50076));
    assert!(err.requires_interaction());
    assert_eq!(err.claims_challenge(), body["claims"].as_str());
    let service = err.service().unwrap();
    assert_eq!(service.suberror.as_deref(), Some("basic_action"));
    assert_eq!(service.http_status, 400);
    let text = err.to_string();
    assert!(
        text.contains("AADSTS50076") && text.contains("8f5c6e0e-0000-4000-8000-000000000001"),
        "{text}"
    );
    assert_eq!(s.token_requests(), 1, "a 4xx is never retried");
}

#[tokio::test]
async fn wrong_secret_is_a_service_error_from_the_real_endpoint() {
    let s = setup().await;
    let app = s
        .builder(ClientCredential::secret("wrong"))
        .build()
        .unwrap();
    let err = app.acquire_token_for_client([SCOPE]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Service);
    assert_eq!(err.aadsts(), Some(7_000_215));
    assert_eq!(err.service().unwrap().http_status, 401);
    assert!(err.correlation_id().is_some());
    assert!(!format!("{err:?} {err}").contains(&s.demo.secret));
}

#[tokio::test]
async fn server_error_once_is_retried_into_a_token() {
    let s = setup().await;
    let app = s.secret_app();
    s.emulator.inject(Fault::ServerError {
        status: 503,
        retry_after: None,
        body: FaultBody::Html,
    });
    let t = app.acquire_token_for_client([SCOPE]).await.unwrap();
    assert_eq!(t.token_source, TokenSource::IdentityProvider);
    assert_eq!(s.token_requests(), 2);
}

#[tokio::test]
async fn dropped_connection_once_is_retried_into_a_token() {
    let s = setup().await;
    let app = s.secret_app();
    s.emulator.inject(Fault::DropConnection);
    let t = app.acquire_token_for_client([SCOPE]).await.unwrap();
    assert_eq!(t.token_source, TokenSource::IdentityProvider);
    assert_eq!(s.token_requests(), 2);
}

#[tokio::test]
async fn dropped_connection_without_retries_is_transport() {
    let s = setup().await;
    let app = s
        .builder(ClientCredential::secret(s.demo.secret.clone()))
        .retry_policy(RetryPolicy::off())
        .build()
        .unwrap();
    s.emulator.inject(Fault::DropConnection);
    let err = app.acquire_token_for_client([SCOPE]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport);
    assert!(err.is_transient());
    assert!(err.correlation_id().is_some());
    assert_eq!(err.to_msal_json()["error"], "transport_error");
}

#[tokio::test]
async fn html_500_every_time_is_invalid_response_after_one_retry() {
    let s = setup().await;
    let app = s.secret_app();
    s.emulator.inject_n(Fault::server_error(500), 5);
    let err = app.acquire_token_for_client([SCOPE]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidResponse);
    let r = err.invalid_response().unwrap();
    assert_eq!(r.http_status, 500);
    assert!(r
        .content_type
        .as_deref()
        .unwrap_or_default()
        .starts_with("text/html"));
    assert!(
        !r.body_excerpt.is_empty()
            && r.body_excerpt.len() <= 4 * oxmsal::InvalidResponse::EXCERPT_LIMIT
    );
    assert_eq!(s.token_requests(), 2);
    assert_eq!(err.to_msal_json()["error"], "invalid_response");
}

#[tokio::test]
async fn retry_after_is_honoured_not_retried() {
    let s = setup().await;
    let app = s.secret_app();
    s.emulator.inject(Fault::ServerError {
        status: 503,
        retry_after: Some("2".into()),
        body: FaultBody::Html,
    });
    let err = app.acquire_token_for_client([SCOPE]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidResponse);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
    assert_eq!(s.token_requests(), 1);

    s.emulator.inject(Fault::ServerError {
        status: 503,
        retry_after: Some("2".into()),
        body: FaultBody::Oauth,
    });
    let err = app
        .acquire_token_for_client(["api://other/.default"])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Service);
    assert_eq!(err.service().unwrap().http_status, 503);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
    assert_eq!(s.token_requests(), 2);
}

#[tokio::test]
async fn throttle_429_is_a_service_error_with_retry_after() {
    let s = setup().await;
    let app = s.secret_app();
    s.emulator.inject(Fault::Throttle {
        retry_after: Some("30".into()),
    });
    let err = app.acquire_token_for_client([SCOPE]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Service);
    assert_eq!(err.service().unwrap().http_status, 429);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
    assert!(err.is_transient());
}

#[tokio::test]
async fn truncated_json_and_non_json_are_invalid_responses() {
    let s = setup().await;
    let app = s.secret_app();
    s.emulator.inject(Fault::TruncatedJson);
    let err = app.acquire_token_for_client([SCOPE]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidResponse);
    let excerpt = &err.invalid_response().unwrap().body_excerpt;
    assert!(
        !excerpt.contains("eyJ"),
        "no token fragment in the error: {excerpt}"
    );

    s.emulator.inject(Fault::NonJson {
        status: 200,
        content_type: "text/plain".into(),
        body: "hello".into(),
    });
    let err = app.acquire_token_for_client([SCOPE]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidResponse);
    assert_eq!(s.token_requests(), 2);
}

#[tokio::test]
async fn discovery_failures_are_values_and_not_remembered() {
    let s = setup().await;
    let app = s.secret_app();
    s.emulator.inject(
        Fault::NonJson {
            status: 404,
            content_type: "text/html".into(),
            body: "<h1>nope</h1>".into(),
        }
        .on(FaultTarget::Discovery),
    );
    let err = app.acquire_token_for_client([SCOPE]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidResponse);
    assert_eq!(s.token_requests(), 0);
    let t = app.acquire_token_for_client([SCOPE]).await.unwrap();
    assert_eq!(t.token_source, TokenSource::IdentityProvider);
}

#[tokio::test]
async fn slow_server_times_out_as_transport() {
    let s = setup().await;
    let app = s
        .builder(ClientCredential::secret(s.demo.secret.clone()))
        .http_config(HttpConfig::default().request_timeout(Duration::from_millis(300)))
        .extra_root_certificate_pem(s.emulator.ca_pem().as_bytes().to_vec())
        .retry_policy(RetryPolicy::off())
        .build()
        .unwrap();
    s.emulator.inject(Fault::Delay { millis: 3_000 });
    let err = app.acquire_token_for_client([SCOPE]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport);
    assert!(err.to_string().contains("timed out"), "{err}");
}

#[tokio::test]
async fn a_body_over_the_cap_is_an_invalid_response_naming_it() {
    let s = setup().await;
    let capped = |cap: Option<usize>| {
        let config = match cap {
            Some(cap) => HttpConfig::default().max_response_bytes(cap),
            None => HttpConfig::default(),
        };
        s.builder(ClientCredential::secret(s.demo.secret.clone()))
            .http_config(config)
            .extra_root_certificate_pem(s.emulator.ca_pem().as_bytes().to_vec())
            .build()
            .unwrap()
    };
    for (cap, bytes) in [(Some(64 * 1024), 64 * 1024 + 1), (None, (1 << 20) + 1)] {
        let app = capped(cap);
        let named = cap.unwrap_or(HttpConfig::DEFAULT_MAX_RESPONSE_BYTES);
        for content_length in [false, true] {
            s.emulator.inject(Fault::HugeBody {
                bytes,
                status: 200,
                content_length,
            });
            let err = app.acquire_token_for_client([SCOPE]).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidResponse, "{err}");
            assert!(
                err.to_string().contains(&format!("{named}-byte cap")),
                "{err}"
            );
            assert_eq!(err.invalid_response().unwrap().http_status, 200);
        }
    }
    // A body under the cap is read as before.
    let app = capped(Some(64 * 1024));
    let mut set = Map::new();
    set.insert("padding".into(), Value::from("x".repeat(32 * 1024)));
    s.emulator.inject(Fault::PatchJson { set });
    app.acquire_token_for_client([SCOPE]).await.unwrap();
}
