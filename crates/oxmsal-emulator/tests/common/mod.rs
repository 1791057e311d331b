//! Shared helpers for the emulator's socket-level tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use oxmsal_emulator::testing::ClientCertificate;
use oxmsal_emulator::{DemoApp, Emulator};
use serde_json::{json, Value};

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A client that trusts only the emulator's CA and ignores proxy settings.
pub fn client(emulator: &Emulator) -> reqwest::Client {
    client_trusting(emulator.ca_pem().as_bytes())
}

pub fn client_trusting(ca_pem: &[u8]) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca_pem).unwrap()])
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// POSTs a form to the default tenant's token endpoint.
pub async fn post_token(
    client: &reqwest::Client,
    emulator: &Emulator,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client
        .post(emulator.token_endpoint())
        .form(form)
        .send()
        .await
        .unwrap()
}

pub async fn client_credentials(
    client: &reqwest::Client,
    emulator: &Emulator,
    app: &DemoApp,
) -> reqwest::Response {
    post_token(
        client,
        emulator,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &app.client_id),
            ("client_secret", &app.secret),
            ("scope", "api://resource/.default"),
        ],
    )
    .await
}

/// A client assertion signed with `cert`'s key (PS256 + x5t#S256, or RS256 + x5t).
pub fn assertion(cert: &ClientCertificate, client_id: &str, aud: &str, legacy: bool) -> String {
    assertion_with(
        cert,
        &json!({
            "aud": aud,
            "iss": client_id,
            "sub": client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "iat": now(),
            "nbf": now(),
            "exp": now() + 600,
        }),
        legacy,
    )
}

pub fn assertion_with(cert: &ClientCertificate, claims: &Value, legacy: bool) -> String {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let mut header = Header::new(if legacy {
        Algorithm::RS256
    } else {
        Algorithm::PS256
    });
    if legacy {
        header.x5t = Some(cert.x5t());
    } else {
        header.x5t_s256 = Some(cert.x5t_s256());
    }
    let key = EncodingKey::from_rsa_pem(cert.key_pem.as_bytes()).unwrap();
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

/// Asserts the Entra error shape and returns the body.
pub async fn expect_aad_error(
    response: reqwest::Response,
    status: u16,
    error: &str,
    code: u32,
) -> Value {
    assert_eq!(response.status().as_u16(), status, "status");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_codes"], json!([code]), "{body}");
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.starts_with(&format!("AADSTS{code}: ")),
        "{description}"
    );
    for key in ["timestamp", "trace_id", "correlation_id", "error_uri"] {
        assert!(body[key].is_string(), "{key} missing in {body}");
    }
    assert!(description.contains(&format!(
        "\r\nTrace ID: {}",
        body["trace_id"].as_str().unwrap()
    )));
    assert!(description.contains(&format!(
        "\r\nCorrelation ID: {}",
        body["correlation_id"].as_str().unwrap()
    )));
    assert!(description.contains("\r\nTimestamp: "));
    assert!(body["error_uri"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/error?code={code}")));
    body
}
