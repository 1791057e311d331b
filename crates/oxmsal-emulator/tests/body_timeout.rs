//! A request body that stops half way is cut off: the emulator answers 408 and
//! closes the connection after its configured body-read timeout, and keeps
//! serving everyone else. Bodies over the cap are refused with 413.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use oxmsal_emulator::{Emulator, EmulatorConfig};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

/// The emulator's CA as DER.
fn ca_der(pem: &str) -> CertificateDer<'static> {
    let base64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    CertificateDer::from(
        base64::engine::general_purpose::STANDARD
            .decode(base64)
            .unwrap(),
    )
}

/// A raw TLS connection to the emulator, to send exactly the bytes a test wants.
async fn connect(emu: &Emulator) -> tokio_rustls::client::TlsStream<TcpStream> {
    let mut roots = RootCertStore::empty();
    roots.add(ca_der(emu.ca_pem())).unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect(("127.0.0.1", emu.port())).await.unwrap();
    TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap()
}

#[tokio::test]
async fn half_a_body_then_silence_gets_408_and_a_closed_connection() {
    let emu = Emulator::start_with(
        EmulatorConfig::default().with_body_read_timeout(Duration::from_millis(300)),
    )
    .await
    .unwrap();
    let path = format!("/{}/oauth2/v2.0/token", emu.tenant_id());
    let mut stalled = connect(&emu).await;
    stalled
        .write_all(
            format!(
                "POST {path} HTTP/1.1\r\nHost: localhost\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\n\
                 Content-Length: 200\r\n\r\ngrant_type=client_cre"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    stalled.flush().await.unwrap();

    // Meanwhile others are served.
    let app = emu.register_demo_app();
    let ok = common::client_credentials(&common::client(&emu), &emu, &app).await;
    assert_eq!(ok.status(), 200);

    // The bounded wait only keeps a regression from hanging the suite: the
    // emulator must answer and close well before it.
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stalled.read_to_end(&mut answer))
        .await
        .expect("the emulator cut the stalled request off")
        .ok();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert!(answer.contains("did not arrive within 300 ms"), "{answer}");
    assert_eq!(
        emu.counters().token_requests,
        1,
        "the stalled one never reached the endpoint"
    );
}

#[tokio::test]
async fn a_body_over_the_cap_is_refused() {
    let emu = Emulator::start().await.unwrap();
    let path = format!("/{}/oauth2/v2.0/token", emu.tenant_id());
    let mut connection = connect(&emu).await;
    // Announces more than it sends: exactly one byte over the 2 MiB cap arrives,
    // so the emulator has read everything sent when it refuses.
    let sent = 2 * 1024 * 1024 + 1;
    connection
        .write_all(
            format!(
                "POST {path} HTTP/1.1\r\nHost: localhost\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\n\
                 Content-Length: {}\r\n\r\n",
                3 * 1024 * 1024
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    connection.write_all(&vec![b'a'; sent]).await.unwrap();
    connection.flush().await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), connection.read_to_end(&mut answer))
        .await
        .expect("the emulator answered")
        .ok();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert_eq!(emu.counters().token_requests, 0);
}
