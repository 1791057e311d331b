//! The managed-identity emulator on the wire, spoken to with a plain HTTP
//! client: each source's checks and error shapes, Arc's key-file challenge,
//! injected faults.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use oxmsal_emulator::managed_identity::{ManagedIdentityEmulator, MiSource};
use serde_json::Value;

async fn get(url: &str, headers: &[(&str, &str)]) -> (u16, reqwest::header::HeaderMap, Value) {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut request = client.get(url);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

#[tokio::test]
async fn imds_requires_the_metadata_header_and_the_api_version() {
    let emu = ManagedIdentityEmulator::start(MiSource::Imds)
        .await
        .unwrap();
    let base = format!("{}?resource=https://vault.azure.net", emu.endpoint());
    let (status, _, body) = get(&format!("{base}&api-version=2018-02-01"), &[]).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_request");
    let (status, _, _) = get(
        &format!("{base}&api-version=2019-01-01"),
        &[("Metadata", "true")],
    )
    .await;
    assert_eq!(status, 400);
    let (status, _, body) = get(
        &format!("{base}&api-version=2018-02-01"),
        &[("Metadata", "true")],
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        body["expires_in"].is_string(),
        "IMDS sends numbers as strings: {body}"
    );
    assert_eq!(body["resource"], "https://vault.azure.net");
}

#[tokio::test]
async fn app_service_and_service_fabric_error_shapes() {
    let emu = ManagedIdentityEmulator::start(MiSource::AppService)
        .await
        .unwrap();
    let url = format!("{}?api-version=2019-08-01&resource=r", emu.endpoint());
    let (status, _, body) = get(&url, &[("X-IDENTITY-HEADER", "wrong")]).await;
    assert_eq!(status, 401);
    assert_eq!(body["statusCode"], 401);
    assert!(body["message"].is_string());
    let (status, _, body) = get(&url, &[("X-IDENTITY-HEADER", emu.secret())]).await;
    assert_eq!(status, 200);
    assert!(body["expires_on"].is_u64(), "{body}");
}

#[tokio::test]
async fn arc_challenges_with_a_key_file_and_accepts_its_content() {
    let dir = tempfile::tempdir().unwrap();
    let mut config =
        oxmsal_emulator::managed_identity::ManagedIdentityEmulatorConfig::new(MiSource::AzureArc);
    config.key_dir = Some(dir.path().to_owned());
    let emu = ManagedIdentityEmulator::start_with(config).await.unwrap();
    let url = format!("{}?api-version=2020-06-01&resource=r", emu.endpoint());
    let (status, headers, _) = get(&url, &[("Metadata", "true")]).await;
    assert_eq!(status, 401);
    let challenge = headers["www-authenticate"].to_str().unwrap();
    let path = challenge.strip_prefix("Basic realm=").unwrap();
    assert!(path.starts_with(dir.path().to_str().unwrap()) && path.ends_with(".key"));
    let key = std::fs::read_to_string(path).unwrap();
    let (status, _, _) = get(
        &url,
        &[("Metadata", "true"), ("Authorization", "Basic nope")],
    )
    .await;
    assert_eq!(status, 401);
    let auth = format!("Basic {key}");
    let (status, _, body) = get(&url, &[("Metadata", "true"), ("Authorization", &auth)]).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn injected_faults_answer_in_the_sources_shape_with_retry_after() {
    let emu = ManagedIdentityEmulator::start(MiSource::Imds)
        .await
        .unwrap();
    emu.push_fault(429, 1, Some(7));
    emu.push_fault(410, 1, None);
    let url = format!("{}?api-version=2018-02-01&resource=r", emu.endpoint());
    let (status, headers, body) = get(&url, &[("Metadata", "true")]).await;
    assert_eq!(status, 429);
    assert_eq!(headers["retry-after"], "7");
    assert!(body["error"].is_string());
    let (status, _, _) = get(&url, &[("Metadata", "true")]).await;
    assert_eq!(status, 410);
    let (status, _, _) = get(&url, &[("Metadata", "true")]).await;
    assert_eq!(status, 200);
    assert_eq!(emu.request_count(), 3);
}
