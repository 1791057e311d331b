//! The fault API refuses what could not go on the wire as asked: statuses
//! outside 100–599 and header values with control characters get 400, and a
//! refused batch queues nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::client;
use oxmsal_emulator::Emulator;
use serde_json::{json, Value};

#[tokio::test]
async fn bad_statuses_and_header_values_are_refused() {
    let emu = Emulator::start().await.unwrap();
    let http = client(&emu);
    let faults = format!("{}/_emulator/faults", emu.base_url());
    let refused = [
        json!({"kind": "server_error", "status": 0}),
        json!({"kind": "server_error", "status": 99}),
        json!({"kind": "server_error", "status": 600}),
        json!({"kind": "oauth", "error": "invalid_grant", "status": 1000}),
        json!({"kind": "non_json", "status": 99}),
        json!({"kind": "echo_form", "status": 700}),
        json!({"kind": "huge_body", "bytes": 10, "status": 0}),
        json!({"kind": "throttle", "retry_after": "5\r\nX-Injected: 1"}),
        json!({"kind": "oauth", "error": "invalid_grant", "retry_after": "5\n"}),
        json!({"kind": "server_error", "status": 503, "retry_after": "1\u{0}"}),
        json!({"kind": "non_json", "content_type": "text/html\r\nSet-Cookie: a=b"}),
        json!({"kind": "non_json", "content_type": "text/html\tx"}),
        json!({"kind": "non_json", "content_type": "text/html; charset=\u{7f}"}),
        // One bad entry in a batch refuses the whole batch.
        json!([{"kind": "delay", "millis": 1}, {"kind": "server_error", "status": 42}]),
    ];
    for body in refused {
        let response = http.post(&faults).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 400, "{body}");
        let error: Value = response.json().await.unwrap();
        assert!(
            error["error_description"]
                .as_str()
                .unwrap()
                .starts_with("invalid fault:"),
            "{error}"
        );
    }
    let pending: Value = http
        .get(&faults)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pending, json!([]), "nothing refused was queued");

    // The edges of the range, and ordinary header values, are accepted and served.
    let accepted = json!([
        {"kind": "server_error", "status": 599, "retry_after": 7, "body": "empty"},
        {"kind": "non_json", "status": 100, "content_type": "text/plain; charset=utf-8", "body": "x"},
        {"kind": "throttle", "retry_after": "Wed, 21 Oct 2015 07:28:00 GMT"}
    ]);
    let response = http.post(&faults).json(&accepted).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let app = emu.register_demo_app();
    let response = common::client_credentials(&http, &emu, &app).await;
    assert_eq!(response.status(), 599);
    assert_eq!(response.headers()["retry-after"], "7");
}
