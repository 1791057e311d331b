//! A resource's 401 claims challenge flows back into the next token request:
//! parse → acquire with claims and CP1 → the resource accepts the new token.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{setup, SCOPE};
use oxmsal::credential::ClientCredential;
use oxmsal::{ClaimsChallenge, TokenSource};
use oxmsal_emulator::ResourceScenario;
use serde_json::json;

async fn call_resource(s: &common::Setup, token: &str) -> reqwest::Response {
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(s.emulator.ca_pem().as_bytes()).unwrap()])
        .no_proxy()
        .build()
        .unwrap();
    client
        .get(s.emulator.resource_url("me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

fn www_authenticate(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("www-authenticate")
        .expect("a 401 carries a challenge")
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn step_up_challenge_round_trip_with_cp1() {
    let s = setup().await;
    let app = s
        .builder(ClientCredential::secret(s.demo.secret.clone()))
        .client_capabilities(["CP1"])
        .build()
        .unwrap();
    let old = app.acquire_token_for_client([SCOPE]).await.unwrap();
    assert_eq!(
        call_resource(&s, old.access_token.expose_secret())
            .await
            .status(),
        200
    );

    s.emulator
        .set_resource_scenario(ResourceScenario::MfaStepUp);
    let refused = call_resource(&s, old.access_token.expose_secret()).await;
    assert_eq!(refused.status(), 401);
    let challenge = ClaimsChallenge::from_www_authenticate(&www_authenticate(&refused))
        .unwrap()
        .expect("an insufficient_claims challenge");
    assert_eq!(challenge.error.as_deref(), Some("insufficient_claims"));

    let before = s.token_requests();
    let fresh = app
        .acquire_token_for_client([SCOPE])
        .claims_challenge(&challenge)
        .await
        .unwrap();
    assert_eq!(
        fresh.token_source,
        TokenSource::IdentityProvider,
        "the cached token was bypassed"
    );
    assert_eq!(s.token_requests(), before + 1);
    let sent = s.emulator.token_requests().pop().unwrap();
    assert_eq!(
        sent.claims.unwrap(),
        json!({"access_token":{"acrs":{"essential":true,"value":"c1"},"xms_cc":{"values":["CP1"]}}}),
        "request claims = challenge with xms_cc merged"
    );
    assert_eq!(
        call_resource(&s, fresh.access_token.expose_secret())
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn cae_revocation_challenge_round_trip() {
    let s = setup().await;
    let app = s
        .builder(ClientCredential::secret(s.demo.secret.clone()))
        .client_capabilities(["CP1"])
        .build()
        .unwrap();
    let old = app.acquire_token_for_client([SCOPE]).await.unwrap();
    // The revocation must be strictly after the old token was issued.
    let issued = std::time::SystemTime::now();
    while std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        == issued
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    s.emulator
        .set_resource_scenario(ResourceScenario::CaeRevocation);
    let refused = call_resource(&s, old.access_token.expose_secret()).await;
    assert_eq!(refused.status(), 401);
    let challenge = ClaimsChallenge::from_www_authenticate(&www_authenticate(&refused))
        .unwrap()
        .unwrap();
    let fresh = app
        .acquire_token_for_client([SCOPE])
        .claims_challenge(&challenge)
        .await
        .unwrap();
    assert_eq!(fresh.token_source, TokenSource::IdentityProvider);
    assert_eq!(
        call_resource(&s, fresh.access_token.expose_secret())
            .await
            .status(),
        200
    );
}
