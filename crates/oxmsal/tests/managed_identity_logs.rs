//! A managed-identity cache hit's correlation id is the one its log names
//! (drawn when the subscriber reads it), or the one the caller gave. Its own
//! binary: the test installs a subscriber (see `common::Logs`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{managed_identity_env, Logs};
use oxmsal::managed_identity::{ManagedIdentity, ManagedIdentityClient};
use oxmsal::TokenSource;
use oxmsal_emulator::managed_identity::{ManagedIdentityEmulator, MiSource};

const SCOPE: &str = "https://management.azure.com/.default";

#[tokio::test]
async fn a_hits_correlation_id_is_the_one_logged_or_the_one_given() {
    let emu = ManagedIdentityEmulator::start(MiSource::Imds)
        .await
        .unwrap();
    let client = ManagedIdentityClient::builder(ManagedIdentity::SystemAssigned)
        .environment(managed_identity_env(&emu))
        .build()
        .unwrap();
    client.acquire_token_for_client(SCOPE).await.unwrap();
    // Twice: the first hit reads the cache, the second the client's memory.
    for _ in 0..2 {
        let logs = Logs::default();
        let hit = {
            let _guard = tracing::subscriber::set_default(logs.subscriber(tracing::Level::INFO));
            client.acquire_token_for_client(SCOPE).await.unwrap()
        };
        assert_eq!(hit.token_source, TokenSource::Cache);
        let logged = logs.text();
        assert!(
            logged.contains(&format!("correlation_id=\"{}\"", hit.correlation_id)),
            "the log names the result's id {}: {logged}",
            hit.correlation_id
        );
    }
    let given = client
        .acquire_token_for_client(SCOPE)
        .correlation_id("c0ffee")
        .await
        .unwrap();
    assert_eq!(
        (given.token_source, given.correlation_id.as_str()),
        (TokenSource::Cache, "c0ffee")
    );
    assert_eq!(emu.request_count(), 1);
}
