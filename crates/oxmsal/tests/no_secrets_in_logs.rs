//! Logs at TRACE, from oxmsal and every crate under it, never show a token, a
//! secret or an assertion — on success and on failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{setup, Logs, SCOPE};
use oxmsal::credential::{ClientCertificate, ClientCredential};
use oxmsal_emulator::testing::client_certificate;
use oxmsal_emulator::{AppRegistration, Fault};

#[tokio::test]
async fn trace_output_holds_no_secret() {
    let buffer = Logs::default();
    let _guard = tracing::subscriber::set_default(buffer.subscriber(tracing::Level::TRACE));

    let s = setup().await;
    let mut secrets = vec![s.demo.secret.clone()];

    let app = s.secret_app();
    let token = app.acquire_token_for_client([SCOPE]).await.unwrap();
    secrets.push(token.access_token.expose_secret().to_owned());
    app.acquire_token_for_client([SCOPE]).await.unwrap();
    s.emulator.inject(Fault::TruncatedJson);
    let err = app
        .acquire_token_for_client([SCOPE])
        .force_refresh(true)
        .await
        .unwrap_err();
    tracing::error!("{err} {err:?}");
    s.emulator.inject(Fault::oauth(
        "invalid_client",
        7_000_215,
        "Invalid client secret provided.",
    ));
    let err = app
        .acquire_token_for_client([SCOPE])
        .force_refresh(true)
        .await
        .unwrap_err();
    tracing::error!("{err} {err:?}");

    let cert = client_certificate("logs");
    s.emulator
        .register_app(AppRegistration::new("log-app").with_certificate_der(cert.cert_der.clone()))
        .unwrap();
    let cert_app = s
        .builder(ClientCredential::certificate(
            ClientCertificate::from_pem(cert.combined_pem().as_bytes()).unwrap(),
        ))
        .build()
        .unwrap();
    // The demo client id is the builder's; a cert for another app is refused — fine, it still signs.
    let _ = cert_app.acquire_token_for_client([SCOPE]).await;
    for r in s.emulator.token_requests() {
        assert!(r.param("client_secret").is_none_or(|v| v == "<redacted>"));
    }

    let logs = buffer.text();
    assert!(
        logs.contains("oxmsal.http"),
        "the pipeline logged: {}",
        &logs[..logs.len().min(2000)]
    );
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret or token reached the logs"
        );
    }
    // No JWT (access token or client assertion) of any kind.
    assert!(!logs.contains("eyJ"), "a JWT reached the logs");
    let key_body: String = cert.key_pem.lines().nth(1).unwrap_or_default().to_owned();
    assert!(!logs.contains(&key_body));
}

/// Logs name users only when the app opted in.
#[tokio::test]
async fn usernames_are_logged_only_with_pii_opt_in() {
    use oxmsal::authority::InstanceDiscovery;
    use oxmsal::{PublicClientApplication, Secret};
    use oxmsal_emulator::{DEFAULT_USERNAME, DEFAULT_USER_PASSWORD};

    let emulator = oxmsal_emulator::Emulator::start().await.unwrap();
    let client_id = emulator.register_public_demo_app().client_id;
    for pii in [false, true] {
        let buffer = Logs::default();
        let _guard = tracing::subscriber::set_default(buffer.subscriber(tracing::Level::TRACE));
        let app = PublicClientApplication::builder(client_id.clone())
            .authority(emulator.authority())
            .extra_root_certificate_pem(emulator.ca_pem().as_bytes().to_vec())
            .instance_discovery(InstanceDiscovery::Disabled)
            .enable_pii_logging(pii)
            .build()
            .unwrap();
        let token = app
            .acquire_token_by_username_password(
                DEFAULT_USERNAME,
                Secret::new(DEFAULT_USER_PASSWORD),
                ["User.Read"],
            )
            .await
            .unwrap();
        app.acquire_token_silent(["User.Read"], token.account.as_ref().unwrap())
            .await
            .unwrap();
        let logs = buffer.text();
        assert!(logs.contains("user token acquired"), "{logs}");
        assert_eq!(logs.contains(DEFAULT_USERNAME), pii, "pii={pii}: {logs}");
        assert!(!logs.contains(DEFAULT_USER_PASSWORD));
        assert!(!logs.contains(token.access_token.expose_secret()));
    }
}
