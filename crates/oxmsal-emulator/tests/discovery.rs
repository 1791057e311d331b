//! Discovery, instance discovery, JWKS and TLS, over real sockets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::client;
use oxmsal_emulator::{Emulator, EmulatorConfig, DEFAULT_TENANT_ID};
use serde_json::{json, Value};

async fn get_json(client: &reqwest::Client, url: &str) -> (u16, Value) {
    let response = client.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn openid_configuration_for_a_tenant() {
    let emu = Emulator::start().await.unwrap();
    let http = client(&emu);
    let base = emu.base_url();
    assert_eq!(emu.tenant_id(), DEFAULT_TENANT_ID);
    assert_eq!(emu.authority(), format!("{base}/{DEFAULT_TENANT_ID}"));
    assert!(base.starts_with("https://localhost:"));
    assert!(!base.ends_with('/'));

    for tenant in [
        DEFAULT_TENANT_ID,
        "contoso.onmicrosoft.com",
        "CONTOSO.onmicrosoft.com",
    ] {
        for path in [
            "v2.0/.well-known/openid-configuration",
            ".well-known/openid-configuration",
        ] {
            let (status, doc) = get_json(&http, &format!("{base}/{tenant}/{path}")).await;
            assert_eq!(status, 200);
            let t = DEFAULT_TENANT_ID;
            assert_eq!(doc["issuer"], format!("{base}/{t}/v2.0"));
            assert_eq!(
                doc["token_endpoint"],
                format!("{base}/{t}/oauth2/v2.0/token")
            );
            assert_eq!(
                doc["authorization_endpoint"],
                format!("{base}/{t}/oauth2/v2.0/authorize")
            );
            assert_eq!(
                doc["device_authorization_endpoint"],
                format!("{base}/{t}/oauth2/v2.0/devicecode")
            );
            assert_eq!(doc["jwks_uri"], format!("{base}/{t}/discovery/v2.0/keys"));
            assert_eq!(
                doc["end_session_endpoint"],
                format!("{base}/{t}/oauth2/v2.0/logout")
            );
            assert_eq!(
                doc["id_token_signing_alg_values_supported"],
                json!(["RS256"])
            );
            for key in [
                "response_types_supported",
                "subject_types_supported",
                "token_endpoint_auth_methods_supported",
                "scopes_supported",
                "claims_supported",
            ] {
                assert!(doc[key].is_array(), "{key}");
            }
            for key in ["tenant_region_scope", "cloud_instance_name", "msgraph_host"] {
                assert!(doc[key].is_string(), "{key}");
            }
            // Every URL in the document points back at the emulator.
            for (key, value) in doc.as_object().unwrap() {
                if let Some(s) = value.as_str().filter(|s| s.starts_with("https://")) {
                    assert!(s.starts_with(&base), "{key} = {s}");
                }
            }
        }
    }
    assert_eq!(emu.counters().discovery_requests, 6);
}

#[tokio::test]
async fn openid_configuration_for_aliases_and_unknown_tenants() {
    let emu = Emulator::start().await.unwrap();
    let http = client(&emu);
    let base = emu.base_url();
    for alias in ["common", "organizations"] {
        let (status, doc) = get_json(
            &http,
            &format!("{base}/{alias}/v2.0/.well-known/openid-configuration"),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(doc["issuer"], format!("{base}/{{tenantid}}/v2.0"));
        assert_eq!(
            doc["token_endpoint"],
            format!("{base}/{alias}/oauth2/v2.0/token")
        );
        assert_eq!(
            doc["jwks_uri"],
            format!("{base}/{alias}/discovery/v2.0/keys")
        );
    }
    let (_, doc) = get_json(
        &http,
        &format!("{base}/consumers/v2.0/.well-known/openid-configuration"),
    )
    .await;
    assert_eq!(
        doc["token_endpoint"],
        format!("{base}/consumers/oauth2/v2.0/token")
    );
    assert_eq!(
        doc["issuer"],
        format!("{base}/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0")
    );

    let response = http
        .get(format!(
            "{base}/fabrikam.com/v2.0/.well-known/openid-configuration"
        ))
        .header("client-request-id", "11111111-2222-3333-4444-555555555555")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["client-request-id"],
        "11111111-2222-3333-4444-555555555555"
    );
    let body = common::expect_aad_error(response, 400, "invalid_tenant", 90002).await;
    assert_eq!(
        body["correlation_id"],
        "11111111-2222-3333-4444-555555555555"
    );
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("Tenant 'fabrikam.com' not found"));
}

#[tokio::test]
async fn configured_tenant_and_domains() {
    let tenant = "00000000-1111-2222-3333-444444444444";
    let emu = Emulator::start_with(
        EmulatorConfig::default()
            .with_tenant_id(tenant.to_uppercase())
            .with_tenant_domains(["fabrikam.example"]),
    )
    .await
    .unwrap();
    assert_eq!(emu.tenant_id(), tenant);
    let http = client(&emu);
    let base = emu.base_url();
    let (status, doc) = get_json(
        &http,
        &format!("{base}/fabrikam.example/v2.0/.well-known/openid-configuration"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(doc["issuer"], format!("{base}/{tenant}/v2.0"));
    let (status, _) = get_json(
        &http,
        &format!("{base}/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration"),
    )
    .await;
    assert_eq!(status, 400);

    let bad = Emulator::start_with(EmulatorConfig::default().with_tenant_id("not-a-guid")).await;
    assert!(matches!(
        bad,
        Err(oxmsal_emulator::EmulatorError::InvalidConfig(_))
    ));
}

#[tokio::test]
async fn instance_discovery() {
    let emu = Emulator::start().await.unwrap();
    let http = client(&emu);
    let base = emu.base_url();
    let authorize = format!("{}/oauth2/v2.0/authorize", emu.authority());
    let response = http
        .get(format!("{base}/common/discovery/instance"))
        .query(&[
            ("api-version", "1.1"),
            ("authorization_endpoint", authorize.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let doc: Value = response.json().await.unwrap();
    assert_eq!(
        doc["tenant_discovery_endpoint"],
        format!("{}/v2.0/.well-known/openid-configuration", emu.authority())
    );
    assert_eq!(doc["api-version"], "1.1");
    // Off port 443 the network names carry the port: a client that sends its
    // requests to `preferred_network` must reach the emulator.
    let port = url::Url::parse(&base).unwrap().port().unwrap();
    assert_ne!(port, 443);
    assert_eq!(
        doc["metadata"],
        json!([{"preferred_network": format!("localhost:{port}"), "preferred_cache": "localhost",
                "aliases": [format!("localhost:{port}"), format!("127.0.0.1:{port}"), "localhost", "127.0.0.1"]}])
    );

    // A host the emulator does not serve is an unknown instance, as on Entra.
    let response = http
        .get(format!("{base}/common/discovery/instance"))
        .query(&[
            ("api-version", "1.1"),
            (
                "authorization_endpoint",
                "https://login.example.com/common/oauth2/v2.0/authorize",
            ),
        ])
        .send()
        .await
        .unwrap();
    common::expect_aad_error(response, 400, "invalid_instance", 50049).await;
    assert_eq!(emu.counters().instance_discovery_requests, 2);
    assert_eq!(emu.counters().discovery_requests, 0);
}

#[tokio::test]
async fn jwks_document() {
    let emu = Emulator::start().await.unwrap();
    let http = client(&emu);
    let (status, served) =
        get_json(&http, &format!("{}/discovery/v2.0/keys", emu.authority())).await;
    assert_eq!(status, 200);
    assert_eq!(served, emu.jwks());
    let key = &served["keys"][0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["kid"], emu.signing_key_id());
    assert_eq!(key["e"], "AQAB");
    let n = key["n"].as_str().unwrap();
    assert!(!n.contains('=') && !n.contains('+') && !n.contains('/'));
    assert_eq!(n.len(), 342, "2048-bit modulus in base64url");
    assert!(key["x5c"][0].is_string());
    let (status, common_keys) = get_json(
        &http,
        &format!("{}/common/discovery/v2.0/keys", emu.base_url()),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(common_keys["keys"][0]["n"], key["n"]);
    assert_eq!(emu.counters().jwks_requests, 2);
}

#[tokio::test]
async fn ca_file_verifies_the_leaf_and_nothing_else_does() {
    let emu = Emulator::start().await.unwrap();
    let ca_path = emu.ca_path().to_owned();
    let pem = std::fs::read(&ca_path).unwrap();
    assert_eq!(pem, emu.ca_pem().as_bytes());
    assert!(emu.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));

    let url = format!("{}/v2.0/.well-known/openid-configuration", emu.authority());
    let from_file = common::client_trusting(&pem);
    assert_eq!(from_file.get(&url).send().await.unwrap().status(), 200);
    // By IP too: the leaf names 127.0.0.1.
    let by_ip = url.replace("localhost", "127.0.0.1");
    assert_eq!(from_file.get(&by_ip).send().await.unwrap().status(), 200);

    // Another emulator's CA does not vouch for this one.
    let other = Emulator::start().await.unwrap();
    let wrong = common::client_trusting(other.ca_pem().as_bytes());
    let err = wrong.get(&url).send().await.unwrap_err();
    assert!(err.is_connect() || err.is_request(), "{err:?}");

    // The temporary state directory goes away with the emulator.
    let dir = emu.state_dir().to_owned();
    assert!(dir.join("emulator.json").exists());
    drop(emu);
    assert!(!ca_path.exists());
    assert!(!dir.exists());
}

#[tokio::test]
async fn state_dir_is_kept_and_drop_stops_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let emu = Emulator::start_with(EmulatorConfig::default().with_state_dir(dir.path()))
        .await
        .unwrap();
    assert_eq!(emu.ca_path(), dir.path().join("ca.pem"));
    let info: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("emulator.json")).unwrap()).unwrap();
    assert_eq!(info["base_url"], emu.base_url());
    assert_eq!(info["authority"], emu.authority());
    let port = emu.port();
    let http = client(&emu);
    drop(emu);
    assert!(dir.path().join("ca.pem").exists());
    // Give the aborted listener a moment to close.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let err = http
        .get(format!(
            "https://localhost:{port}/common/discovery/instance"
        ))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
}

#[test]
fn emulator_is_send_and_sync_and_starts_from_any_task() {
    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_send<T: Send>(_: &T) {}
    assert_send_sync::<Emulator>();
    assert_send(&Emulator::start());
}
