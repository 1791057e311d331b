//! `oxmsal challenge` decodes the claims challenges Microsoft Graph and ARM send.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine as _;
use common::run_oxmsal;
use serde_json::json;

fn b64(v: &serde_json::Value, padded: bool) -> String {
    let text = v.to_string();
    if padded {
        base64::engine::general_purpose::STANDARD.encode(text)
    } else {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
    }
}

#[test]
fn graph_cae_challenge() {
    // The documented Microsoft Graph CAE header (Microsoft Learn, "Claims challenges, claims requests and client capabilities").
    let header = r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwgInZhbHVlIjoiMTYwNDEwNjY1MSJ9fX0=""#;
    let run = run_oxmsal(&["challenge", header], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.json,
        json!({"access_token":{"nbf":{"essential":true,"value":"1604106651"}}})
    );
}

#[test]
fn arm_revoked_session_without_padding_and_with_pop_first() {
    let claims = json!({"access_token":{"nbf":{"essential":true,"value":"1603742800"}}});
    let header = format!(
        r#"PoP realm="", authorization_uri="https://login.windows.net/", nonce="abc", Bearer authorization_uri="https://login.windows.net/", error="invalid_token", error_description="User session has been revoked", claims="{}""#,
        b64(&claims, false)
    );
    let run = run_oxmsal(&["challenge", &header], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json, claims);
}

#[test]
fn conditional_access_auth_context() {
    let claims = json!({"access_token":{"acrs":{"essential":true,"value":"c1"}}});
    let header = format!(
        r#"Bearer error="insufficient_claims", claims="{}""#,
        b64(&claims, true)
    );
    let run = run_oxmsal(&["challenge", &header], &[]);
    assert_eq!(run.json, claims);
}

#[test]
fn malformed_or_claimless_headers_exit_2() {
    for header in [
        "Bearer realm=\"unterminated",
        "Bearer realm=\"\"",
        ",,,",
        "Bearer claims=\"%%%\"",
    ] {
        let run = run_oxmsal(&["challenge", header], &[]);
        assert_eq!(run.code, 2, "{header}: {}", run.stdout);
        assert_eq!(run.json["error"], "invalid_configuration");
        assert_eq!(run.stderr.trim().lines().count(), 1);
    }
}
