//! A correlation id sent as the `client-request-id` query parameter (some MSALs
//! send it there) is honoured like the header: echoed in the response header and
//! the error body, and recorded.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{client, expect_aad_error};
use oxmsal_emulator::Emulator;

const FROM_QUERY: &str = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9";
const FROM_HEADER: &str = "99999999-8888-7777-6666-555555555555";

#[tokio::test]
async fn the_query_parameter_is_echoed_and_recorded() {
    let emu = Emulator::start().await.unwrap();
    let app = emu.register_demo_app();
    let http = client(&emu);
    let response = http
        .post(format!(
            "{}?client-request-id={FROM_QUERY}",
            emu.token_endpoint()
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", app.client_id.as_str()),
            ("client_secret", "wrong"),
            ("scope", "api://resource/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["client-request-id"], FROM_QUERY);
    let body = expect_aad_error(response, 401, "invalid_client", 7000215).await;
    assert_eq!(body["correlation_id"], FROM_QUERY);
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains(&format!("Correlation ID: {FROM_QUERY}")));
    let recorded = emu.token_requests();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].correlation_id, FROM_QUERY);

    // Discovery too (a GET whose query carries other parameters).
    let response = http
        .get(format!("{}/common/discovery/instance", emu.base_url()))
        .query(&[
            ("api-version", "1.1"),
            ("client-request-id", FROM_QUERY),
            (
                "authorization_endpoint",
                &format!("{}/oauth2/v2.0/authorize", emu.authority()),
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["client-request-id"], FROM_QUERY);
}

#[tokio::test]
async fn the_header_wins_and_unusable_values_are_replaced() {
    let emu = Emulator::start().await.unwrap();
    let http = client(&emu);
    let discovery = format!(
        "{}/common/v2.0/.well-known/openid-configuration",
        emu.base_url()
    );

    let response = http
        .get(format!("{discovery}?client-request-id={FROM_QUERY}"))
        .header("client-request-id", FROM_HEADER)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["client-request-id"], FROM_HEADER);

    // An unusable header falls back to the query parameter.
    let response = http
        .get(format!("{discovery}?client-request-id={FROM_QUERY}"))
        .header("client-request-id", "not an id!")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["client-request-id"], FROM_QUERY);

    // A value that is not id-like (here with CR/LF) is never echoed: a fresh GUID.
    let response = http
        .get(format!(
            "{discovery}?client-request-id=abc%0D%0AX-Injected:%201"
        ))
        .send()
        .await
        .unwrap();
    let echoed = response.headers()["client-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(echoed).is_ok(), "{echoed}");
    assert!(response.headers().get("x-injected").is_none());
}
