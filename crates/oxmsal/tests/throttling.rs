//! Client-side throttling against the emulator: a server's "back off" is honoured
//! locally, with no request sent, and only for the same request.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{setup, SCOPE};
use oxmsal::credential::ClientCredential;
use oxmsal::http::ThrottleStore;
use oxmsal::{ErrorKind, TokenSource};
use oxmsal_emulator::{Fault, FaultBody};
use serde_json::json;

#[tokio::test]
async fn retry_after_429_blocks_the_same_call_only() {
    let s = setup().await;
    let app = s.secret_app();
    s.emulator.inject(Fault::Throttle {
        retry_after: Some("30".into()),
    });
    let first = app.acquire_token_for_client([SCOPE]).await.unwrap_err();
    assert_eq!(first.kind(), ErrorKind::Service);
    assert_eq!(s.token_requests(), 1);

    let second = app.acquire_token_for_client([SCOPE]).await.unwrap_err();
    assert_eq!(second.kind(), ErrorKind::Throttled);
    assert_eq!(second.retry_after(), Some(Duration::from_secs(30)));
    assert_eq!(
        second.to_msal_json(),
        first.to_msal_json(),
        "the remembered answer, verbatim"
    );
    assert!(second.to_string().contains("try again in 30 s"), "{second}");
    assert_eq!(s.token_requests(), 1, "no request was sent");

    let other = app
        .acquire_token_for_client(["api://other/.default"])
        .await
        .unwrap();
    assert_eq!(other.token_source, TokenSource::IdentityProvider);
    assert_eq!(s.token_requests(), 2);

    s.clock.advance(Duration::from_secs(30));
    let later = app.acquire_token_for_client([SCOPE]).await.unwrap();
    assert_eq!(later.token_source, TokenSource::IdentityProvider);
}

#[tokio::test]
async fn http_date_retry_after_is_understood() {
    let s = setup().await;
    let app = s.secret_app();
    // From the app's clock: the wall clock has moved on since setup (under load, by more
    // than the second an HTTP-date rounds away).
    let at = oxmsal::Clock::now(&s.clock) + Duration::from_secs(120);
    s.emulator.inject(Fault::ServerError {
        status: 503,
        retry_after: Some(httpdate::fmt_http_date(at)),
        body: FaultBody::Oauth,
    });
    let err = app.acquire_token_for_client([SCOPE]).await.unwrap_err();
    let wait = err.retry_after().unwrap();
    assert!(
        wait > Duration::from_secs(100) && wait <= Duration::from_secs(120),
        "{wait:?}"
    );
    let again = app.acquire_token_for_client([SCOPE]).await.unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Throttled);
    assert_eq!(s.token_requests(), 1);
}

#[tokio::test]
async fn invalid_grant_400_is_remembered_with_every_key() {
    let s = setup().await;
    let app = s.secret_app();
    let body = json!({
        "error": "invalid_grant",
        "error_description": "AADSTS50173: The provided grant has expired due to it being revoked.",
        "error_codes": [50173],
        "suberror": "bad_token",
        "claims": "{\"access_token\":{\"nbf\":{\"essential\":true,\"value\":\"1700000000\"}}}",
        "timestamp": "2026-11-25 12:00:00Z",
        "trace_id": "t",
        "correlation_id": "c",
        "error_uri": "https://login.microsoftonline.com/error?code=50173"
    });
    s.emulator.inject(Fault::Oauth {
        status: 400,
        error: "invalid_grant".into(),
        error_description: body["error_description"].as_str().unwrap().into(),
        error_codes: vec![50173],
        suberror: None,
        claims: None,
        retry_after: None,
        extra: body.as_object().unwrap().clone(),
    });
    let first = app
        .acquire_token_for_client([SCOPE])
        .force_refresh(true)
        .await
        .unwrap_err();
    let second = app
        .acquire_token_for_client([SCOPE])
        .force_refresh(true)
        .await
        .unwrap_err();
    assert_eq!(first.kind(), ErrorKind::Service);
    assert_eq!(second.kind(), ErrorKind::Throttled);
    assert_eq!(first.to_msal_json(), body);
    assert_eq!(second.to_msal_json(), body);
    assert_eq!(s.token_requests(), 1);

    // A changed request (new claims) is a new request.
    let third = app
        .acquire_token_for_client([SCOPE])
        .claims(body["claims"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(third.token_source, TokenSource::IdentityProvider);
    s.clock.advance(Duration::from_secs(60));
    app.acquire_token_for_client([SCOPE])
        .force_refresh(true)
        .await
        .unwrap();
    assert_eq!(s.token_requests(), 3);
}

#[tokio::test]
async fn a_shared_store_carries_the_back_off_to_another_app() {
    let s = setup().await;
    let store = ThrottleStore::new();
    let app1 = s
        .builder(ClientCredential::secret(s.demo.secret.clone()))
        .throttle_store(store.clone())
        .build()
        .unwrap();
    s.emulator.inject(Fault::Throttle {
        retry_after: Some("10".into()),
    });
    app1.acquire_token_for_client([SCOPE]).await.unwrap_err();

    let restored = ThrottleStore::new();
    restored.deserialize(&store.serialize().unwrap()).unwrap();
    let app2 = s
        .builder(ClientCredential::secret(s.demo.secret.clone()))
        .throttle_store(restored)
        .build()
        .unwrap();
    let err = app2.acquire_token_for_client([SCOPE]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Throttled);
    assert_eq!(s.token_requests(), 1);
}

#[tokio::test]
async fn retries_sit_below_throttling() {
    let s = setup().await;
    let app = s.secret_app();
    // 503 once without Retry-After: retried, token; nothing remembered.
    s.emulator.inject(Fault::server_error(503));
    app.acquire_token_for_client([SCOPE]).await.unwrap();
    app.acquire_token_for_client([SCOPE])
        .force_refresh(true)
        .await
        .unwrap();
    assert_eq!(s.token_requests(), 3);
}
