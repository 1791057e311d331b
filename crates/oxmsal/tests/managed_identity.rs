//! Managed identity against the emulator: each source's request on the wire,
//! its answers and errors in the error model, the cache under MSAL for
//! Python's keys, single flight, refresh and the retry counts (injected clock).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::future::IntoFuture;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::managed_identity_env;
use oxmsal::managed_identity::{
    ManagedIdentity, ManagedIdentityClient, ManagedIdentityEnvironment, ManagedIdentityRetryPolicy,
    ManagedIdentitySource,
};
use oxmsal::{Clock, ErrorKind, ManualClock, TokenSource};
use oxmsal_emulator::managed_identity::{
    ManagedIdentityEmulator, ManagedIdentityEmulatorConfig, MiSource, MI_USER_CLIENT_ID,
    MI_USER_OBJECT_ID, MI_USER_RESOURCE_ID,
};

const RESOURCE: &str = "https://management.azure.com";
const SCOPE: &str = "https://management.azure.com/.default";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

struct Setup {
    emu: ManagedIdentityEmulator,
    clock: ManualClock,
}

async fn setup(source: MiSource) -> Setup {
    setup_with(ManagedIdentityEmulatorConfig::new(source)).await
}

async fn setup_with(config: ManagedIdentityEmulatorConfig) -> Setup {
    let emu = ManagedIdentityEmulator::start_with(config).await.unwrap();
    let epoch = now();
    emu.set_epoch(Some(epoch));
    Setup {
        emu,
        clock: ManualClock::at_epoch(epoch),
    }
}

impl Setup {
    fn client(&self, identity: ManagedIdentity) -> ManagedIdentityClient {
        self.client_in(identity, managed_identity_env(&self.emu))
    }

    fn client_in(
        &self,
        identity: ManagedIdentity,
        env: ManagedIdentityEnvironment,
    ) -> ManagedIdentityClient {
        ManagedIdentityClient::builder(identity)
            .environment(env)
            .clock(Arc::new(self.clock.clone()))
            .build()
            .unwrap()
    }
}

/// Where the client's next token for `SCOPE` comes from.
async fn source_of(client: &ManagedIdentityClient) -> TokenSource {
    client
        .acquire_token_for_client(SCOPE)
        .await
        .unwrap()
        .token_source
}

fn expected_source(source: MiSource) -> ManagedIdentitySource {
    source.as_str().parse().unwrap()
}

#[tokio::test]
async fn every_source_system_assigned_on_the_wire_and_cached_under_msal_pythons_keys() {
    for source in MiSource::ALL {
        let s = setup(source).await;
        let client = s.client(ManagedIdentity::SystemAssigned);
        assert_eq!(client.source(), expected_source(source), "{source}");

        let token = client.acquire_token_for_client(SCOPE).await.unwrap();
        assert_eq!(
            token.token_source,
            TokenSource::IdentityProvider,
            "{source}"
        );
        assert!(token
            .access_token
            .expose_secret()
            .starts_with(&format!("mi-{source}-1-")));
        assert_eq!(
            token.expires_in, 86_400,
            "{source}: expires_in or expires_on normalised"
        );
        assert_eq!(
            token.refresh_on,
            Some(s.clock.now_epoch() + 43_200),
            "{source}: half-life refresh"
        );

        let requests = s.emu.requests();
        let first = &requests[0];
        let expected_path = match source {
            MiSource::AppService | MiSource::MachineLearning => "/msi/token",
            MiSource::CloudShell => "/oauth2/token",
            _ => "/metadata/identity/oauth2/token",
        };
        assert_eq!(first.path, expected_path, "{source}");
        match source {
            MiSource::CloudShell => {
                assert_eq!(first.method, "POST");
                assert_eq!(
                    first.form.get("resource").map(String::as_str),
                    Some(RESOURCE)
                );
                assert!(first.query.is_empty());
                assert_eq!(
                    first.headers.get("metadata").map(String::as_str),
                    Some("true")
                );
            }
            _ => {
                assert_eq!(first.method, "GET", "{source}");
                let version = match source {
                    MiSource::Imds => "2018-02-01",
                    MiSource::AppService => "2019-08-01",
                    MiSource::MachineLearning => "2017-09-01",
                    MiSource::AzureArc => "2020-06-01",
                    _ => "2019-07-01-preview",
                };
                let mut expected = std::collections::BTreeMap::new();
                expected.insert("api-version".to_owned(), version.to_owned());
                expected.insert("resource".to_owned(), RESOURCE.to_owned());
                assert_eq!(
                    first.query, expected,
                    "{source}: no id parameter for system-assigned"
                );
            }
        }
        let header = |name: &str| first.headers.get(name).cloned();
        match source {
            MiSource::Imds | MiSource::AzureArc => {
                assert_eq!(header("metadata").as_deref(), Some("true"))
            }
            MiSource::AppService => {
                assert_eq!(header("x-identity-header").as_deref(), Some(s.emu.secret()));
                assert_eq!(header("metadata").as_deref(), Some("true"));
            }
            MiSource::MachineLearning | MiSource::ServiceFabric => {
                assert_eq!(header("secret").as_deref(), Some(s.emu.secret()))
            }
            MiSource::CloudShell => {}
        }
        if source == MiSource::AzureArc {
            assert_eq!(requests.len(), 2, "challenge, then the answer");
            assert!(!first.headers.contains_key("authorization"));
            let answer = requests[1].headers.get("authorization").unwrap();
            assert!(answer.starts_with("Basic ") && answer.len() > "Basic ".len());
        } else {
            assert_eq!(requests.len(), 1, "{source}");
        }

        // The second call is a cache hit: nothing sent.
        let count = s.emu.request_count();
        let again = client.acquire_token_for_client(RESOURCE).await.unwrap();
        assert_eq!(again.token_source, TokenSource::Cache, "{source}");
        assert_eq!(
            again.access_token.expose_secret(),
            token.access_token.expose_secret()
        );
        assert_eq!(s.emu.request_count(), count, "{source}");

        let cache: serde_json::Value =
            serde_json::from_str(&client.token_cache().serialize().unwrap()).unwrap();
        // As MSAL for Python 1.39 writes a system-assigned identity's token:
        // `client_id` null, so the key's client id part is empty.
        let key = "-localhost-accesstoken--managed_identity-https://management.azure.com";
        let entry = &cache["AccessToken"][key];
        assert_eq!(entry["environment"], "localhost", "{source}: {cache}");
        assert_eq!(entry["realm"], "managed_identity");
        assert!(entry["client_id"].is_null());
        assert!(cache["AppMetadata"]["appmetadata-localhost-"]["client_id"].is_null());
        assert_eq!(entry["target"], RESOURCE);
        assert!(entry["home_account_id"].is_null());
    }
}

#[tokio::test]
async fn a_system_token_cached_under_the_intended_client_id_is_served_too() {
    let s = setup(MiSource::Imds).await;
    let client = s.client(ManagedIdentity::SystemAssigned);
    let expires = s.clock.now_epoch() + 3600;
    client
        .token_cache()
        .deserialize(&format!(
            r#"{{"AccessToken": {{"-localhost-accesstoken-system_assigned_managed_identity-managed_identity-https://management.azure.com": {{
                "credential_type": "AccessToken", "secret": "intended", "home_account_id": null,
                "environment": "localhost", "client_id": "SYSTEM_ASSIGNED_MANAGED_IDENTITY",
                "target": "https://management.azure.com", "realm": "managed_identity", "token_type": "Bearer",
                "cached_at": "{}", "expires_on": "{expires}", "extended_expires_on": "{expires}"}}}}}}"#,
            s.clock.now_epoch()
        ))
        .unwrap();
    let token = client.acquire_token_for_client(SCOPE).await.unwrap();
    assert_eq!(token.token_source, TokenSource::Cache);
    assert_eq!(token.access_token.expose_secret(), "intended");
    assert_eq!(s.emu.request_count(), 0);
}

#[tokio::test]
async fn user_assigned_ids_in_each_sources_spelling() {
    let cases: [(MiSource, ManagedIdentity, &str, &str); 7] = [
        (
            MiSource::Imds,
            ManagedIdentity::client_id(MI_USER_CLIENT_ID),
            "client_id",
            MI_USER_CLIENT_ID,
        ),
        (
            MiSource::Imds,
            ManagedIdentity::object_id(MI_USER_OBJECT_ID),
            "object_id",
            MI_USER_OBJECT_ID,
        ),
        (
            MiSource::Imds,
            ManagedIdentity::resource_id(MI_USER_RESOURCE_ID),
            "msi_res_id",
            MI_USER_RESOURCE_ID,
        ),
        (
            MiSource::AppService,
            ManagedIdentity::client_id(MI_USER_CLIENT_ID),
            "client_id",
            MI_USER_CLIENT_ID,
        ),
        (
            MiSource::AppService,
            ManagedIdentity::object_id(MI_USER_OBJECT_ID),
            "object_id",
            MI_USER_OBJECT_ID,
        ),
        (
            MiSource::AppService,
            ManagedIdentity::resource_id(MI_USER_RESOURCE_ID),
            "mi_res_id",
            MI_USER_RESOURCE_ID,
        ),
        (
            MiSource::MachineLearning,
            ManagedIdentity::client_id(MI_USER_CLIENT_ID),
            "clientid",
            MI_USER_CLIENT_ID,
        ),
    ];
    for (source, identity, param, id) in cases {
        let s = setup(source).await;
        let client = s.client(identity.clone());
        let token = client.acquire_token_for_client(SCOPE).await.unwrap();
        assert!(
            token
                .access_token
                .expose_secret()
                .ends_with(MI_USER_CLIENT_ID),
            "{source} {param}"
        );
        let request = &s.emu.requests()[0];
        assert_eq!(
            request.query.get(param).map(String::as_str),
            Some(id),
            "{source} {param}"
        );
        assert_eq!(
            request.query.len(),
            3,
            "{source}: api-version, resource and the id only"
        );
        let cache = client.token_cache().serialize().unwrap();
        assert!(
            cache.contains(&format!("\"client_id\": \"{id}\""))
                || cache.contains(&format!("\"client_id\":\"{id}\"")),
            "{cache}"
        );
    }
}

#[tokio::test]
async fn unsupported_combinations_fail_before_any_request() {
    let shell = setup(MiSource::CloudShell).await;
    let err = ManagedIdentityClient::builder(ManagedIdentity::client_id("c"))
        .environment(managed_identity_env(&shell.emu))
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    let ml = setup(MiSource::MachineLearning).await;
    for identity in [
        ManagedIdentity::object_id("o"),
        ManagedIdentity::resource_id("/r"),
    ] {
        let err = ManagedIdentityClient::builder(identity)
            .environment(managed_identity_env(&ml.emu))
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Configuration);
    }
    assert_eq!(shell.emu.request_count() + ml.emu.request_count(), 0);
}

#[tokio::test]
async fn service_fabric_ignores_a_user_assigned_id_and_pins_its_certificate() {
    let s = setup(MiSource::ServiceFabric).await;
    let token = s
        .client(ManagedIdentity::client_id(MI_USER_CLIENT_ID))
        .acquire_token_for_client(SCOPE)
        .await
        .unwrap();
    assert_eq!(token.token_source, TokenSource::IdentityProvider);
    let request = &s.emu.requests()[0];
    assert_eq!(request.query.len(), 2, "no id sent: {:?}", request.query);

    // Another thumbprint: the handshake fails, nothing reaches the server.
    let wrong = managed_identity_env(&s.emu).var("IDENTITY_SERVER_THUMBPRINT", "00".repeat(20));
    let err = s
        .client_in(ManagedIdentity::SystemAssigned, wrong)
        .acquire_token_for_client(SCOPE)
        .force_refresh(true)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert_eq!(s.emu.request_count(), 1);

    // Plain http is refused for Service Fabric.
    let http = managed_identity_env(&s.emu).var(
        "IDENTITY_ENDPOINT",
        s.emu.endpoint().replace("https://", "http://"),
    );
    let err = ManagedIdentityClient::builder(ManagedIdentity::SystemAssigned)
        .environment(http)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
}

#[tokio::test]
async fn service_fabric_claims_challenge_names_the_revoked_token_and_sends_capabilities() {
    let s = setup(MiSource::ServiceFabric).await;
    let client = ManagedIdentityClient::builder(ManagedIdentity::SystemAssigned)
        .environment(managed_identity_env(&s.emu))
        .clock(Arc::new(s.clock.clone()))
        .client_capabilities(["CP1", "CP2"])
        .build()
        .unwrap();
    let first = client.acquire_token_for_client(SCOPE).await.unwrap();
    assert_eq!(
        s.emu.requests()[0].query.get("xms_cc").map(String::as_str),
        Some("CP1,CP2")
    );
    assert!(!s.emu.requests()[0]
        .query
        .contains_key("token_sha256_to_refresh"));

    let second = client
        .acquire_token_for_client(SCOPE)
        .claims_challenge(r#"{"access_token":{"nbf":{"essential":true,"value":"1"}}}"#)
        .await
        .unwrap();
    assert_eq!(second.token_source, TokenSource::IdentityProvider);
    assert_ne!(
        second.access_token.expose_secret(),
        first.access_token.expose_secret()
    );
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        first.access_token.expose_secret().as_bytes(),
    );
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        s.emu.requests()[1].query.get("token_sha256_to_refresh"),
        Some(&hex)
    );
}

#[tokio::test]
async fn identity_not_found_in_each_sources_error_shape() {
    let cases = [
        (
            MiSource::Imds,
            ManagedIdentity::client_id("nobody"),
            "invalid_request",
            "Identity not found",
        ),
        (
            MiSource::AppService,
            ManagedIdentity::client_id("nobody"),
            "invalid_scope",
            "400, No User Assigned",
        ),
        (
            MiSource::MachineLearning,
            ManagedIdentity::client_id("nobody"),
            "invalid_scope",
            "400, No User Assigned",
        ),
    ];
    for (source, identity, error, description) in cases {
        let s = setup(source).await;
        let err = s
            .client(identity)
            .acquire_token_for_client(SCOPE)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Service, "{source}: {err}");
        let service = err.service().unwrap();
        assert_eq!(service.error, error, "{source}");
        assert_eq!(service.http_status, 400);
        assert!(
            service
                .error_description
                .as_deref()
                .unwrap()
                .starts_with(description),
            "{source}: {service:?}"
        );
        assert_eq!(err.retries(), 0, "4xx is not retried");
    }
    // Service Fabric's own shape: a wrong secret header.
    let s = setup(MiSource::ServiceFabric).await;
    let env = managed_identity_env(&s.emu).var("IDENTITY_HEADER", "wrong");
    let err = s
        .client_in(ManagedIdentity::SystemAssigned, env)
        .acquire_token_for_client(SCOPE)
        .await
        .unwrap_err();
    assert_eq!(err.service().unwrap().error, "unauthorized_client", "{err}");
    assert!(err
        .service()
        .unwrap()
        .error_description
        .as_deref()
        .unwrap()
        .contains("SecretHeaderNotFound"));
}

#[tokio::test]
async fn arc_user_assigned_answer_without_the_identity_is_an_error() {
    let s = setup(MiSource::AzureArc).await;
    let err = s
        .client(ManagedIdentity::client_id(MI_USER_CLIENT_ID))
        .acquire_token_for_client(SCOPE)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidResponse, "{err}");
    assert!(err.to_string().contains("system-assigned"), "{err}");
    assert_eq!(
        s.emu.requests()[0]
            .query
            .get("client_id")
            .map(String::as_str),
        Some(MI_USER_CLIENT_ID)
    );
}

async fn arc_with_key_name(
    lib_dir: &std::path::Path,
    emu_dir: &std::path::Path,
) -> (Setup, ManagedIdentityClient) {
    let mut config = ManagedIdentityEmulatorConfig::new(MiSource::AzureArc);
    config.key_dir = Some(emu_dir.to_owned());
    config.arc_key_name = Some("fixed".into());
    let s = setup_with(config).await;
    let env = managed_identity_env(&s.emu).arc_key_directory(lib_dir);
    let client = s.client_in(ManagedIdentity::SystemAssigned, env);
    (s, client)
}

#[tokio::test]
async fn arc_key_files_that_are_links_outside_or_too_large_are_refused_and_nothing_is_sent() {
    // A key file outside the directory the library reads: refused.
    let lib = tempfile::tempdir().unwrap();
    let emu = tempfile::tempdir().unwrap();
    let (s, client) = arc_with_key_name(lib.path(), emu.path()).await;
    let err = client.acquire_token_for_client(SCOPE).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration, "{err}");
    assert!(err.to_string().contains("nothing sent"), "{err}");
    assert_eq!(s.emu.request_count(), 1, "only the challenged request");

    // A symbolic link in the directory (to the real key): refused.
    std::os::unix::fs::symlink(emu.path().join("fixed.key"), lib.path().join("fixed.key")).unwrap();
    let err = client.acquire_token_for_client(SCOPE).await.unwrap_err();
    assert!(err.to_string().contains("symbolic link"), "{err}");
    assert_eq!(s.emu.request_count(), 2);
    drop(s);

    // More than 4096 bytes: refused before reading.
    let lib = tempfile::tempdir().unwrap();
    std::fs::write(lib.path().join("fixed.key"), vec![b'k'; 4097]).unwrap();
    let (s, client) = arc_with_key_name(lib.path(), emu.path()).await;
    let err = client.acquire_token_for_client(SCOPE).await.unwrap_err();
    assert!(err.to_string().contains("4097 bytes"), "{err}");
    assert_eq!(s.emu.request_count(), 1);

    // The same directory: accepted.
    let same = tempfile::tempdir().unwrap();
    let (s, client) = arc_with_key_name(same.path(), same.path()).await;
    client.acquire_token_for_client(SCOPE).await.unwrap();
    assert_eq!(s.emu.request_count(), 2);
}

/// The error after the retries, the setup, and the seconds the retries waited.
async fn retries_of(
    source: MiSource,
    status: u16,
    faults: usize,
    retry_after: Option<u64>,
) -> (oxmsal::Error, Setup, u64) {
    let s = setup(source).await;
    s.emu.push_fault(status, faults, retry_after);
    let start = s.clock.now_epoch();
    let err = s
        .client(ManagedIdentity::SystemAssigned)
        .acquire_token_for_client(SCOPE)
        .await
        .unwrap_err();
    let waited = s.clock.now_epoch() - start;
    (err, s, waited)
}

#[tokio::test]
async fn imds_retry_counts_with_the_injected_clock() {
    // 410: every 10 s until 70 s have passed: 7 retries, 8 requests.
    let (err, s, waited) = retries_of(MiSource::Imds, 410, 100, None).await;
    assert_eq!(err.retries(), 7, "{err}");
    assert_eq!(s.emu.request_count(), 8);
    assert_eq!(waited, 70);
    assert_eq!(err.service().unwrap().http_status, 410);
    assert!(err.to_string().contains("after 7 retries"), "{err}");

    // 500 and 429: exponential (1 + 2 + 4 s), 3 retries.
    for status in [500, 429] {
        let (err, s, waited) = retries_of(MiSource::Imds, status, 100, None).await;
        assert_eq!(err.retries(), 3, "{status}: {err}");
        assert_eq!(waited, 1 + 2 + 4);
        assert_eq!(s.emu.request_count(), 4);
        assert_eq!(err.service().unwrap().http_status, status);
    }
    // Retry-After honoured.
    let (err, _, waited) = retries_of(MiSource::Imds, 429, 100, Some(20)).await;
    assert_eq!(err.retries(), 3);
    assert_eq!(waited, 3 * 20);

    // Recovery: two 500s, then a token.
    let s = setup(MiSource::Imds).await;
    s.emu.push_fault(500, 2, None);
    let token = s
        .client(ManagedIdentity::SystemAssigned)
        .acquire_token_for_client(SCOPE)
        .await
        .unwrap();
    assert_eq!(token.token_source, TokenSource::IdentityProvider);
    assert_eq!(s.emu.request_count(), 3);

    // Off: one request.
    let s = setup(MiSource::Imds).await;
    s.emu.push_fault(410, 100, None);
    let client = ManagedIdentityClient::builder(ManagedIdentity::SystemAssigned)
        .environment(managed_identity_env(&s.emu))
        .clock(Arc::new(s.clock.clone()))
        .retry_policy(ManagedIdentityRetryPolicy::off())
        .build()
        .unwrap();
    assert_eq!(
        client
            .acquire_token_for_client(SCOPE)
            .await
            .unwrap_err()
            .retries(),
        0
    );
    assert_eq!(s.emu.request_count(), 1);
}

#[tokio::test]
async fn other_sources_retry_5xx_only() {
    let (err, s, _) = retries_of(MiSource::AppService, 500, 100, None).await;
    assert_eq!(err.retries(), 3);
    assert_eq!(s.emu.request_count(), 4);
    assert_eq!(err.service().unwrap().body["statusCode"], 500);
    for status in [429, 410] {
        let (err, s, _) = retries_of(MiSource::AppService, status, 100, None).await;
        assert_eq!(err.retries(), 0, "{status}");
        assert_eq!(s.emu.request_count(), 1);
    }
}

#[tokio::test]
async fn a_thousand_callers_on_a_cold_cache_send_one_request() {
    let s = setup(MiSource::Imds).await;
    let client = s.client(ManagedIdentity::SystemAssigned);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..1000 {
        let client = client.clone();
        tasks.spawn(async move {
            client
                .acquire_token_for_client(SCOPE)
                .await
                .map(|t| t.access_token.expose_secret().to_owned())
        });
    }
    let mut tokens = std::collections::HashSet::new();
    while let Some(result) = tasks.join_next().await {
        tokens.insert(result.unwrap().unwrap());
    }
    assert_eq!(tokens.len(), 1);
    assert_eq!(s.emu.request_count(), 1);
}

#[tokio::test]
async fn past_refresh_on_a_failed_refresh_serves_the_still_valid_token() {
    let s = setup(MiSource::AppService).await;
    let client = s.client(ManagedIdentity::SystemAssigned);
    let first = client.acquire_token_for_client(SCOPE).await.unwrap();
    s.clock.advance(Duration::from_secs(43_201));
    s.emu.push_fault(500, 100, None);
    let fallback = client.acquire_token_for_client(SCOPE).await.unwrap();
    assert_eq!(fallback.token_source, TokenSource::Cache);
    assert_eq!(
        fallback.access_token.expose_secret(),
        first.access_token.expose_secret()
    );
    assert_eq!(
        s.emu.request_count(),
        1 + 4,
        "the refresh was tried, with its retries"
    );

    // Once the source answers, the refresh replaces it.
    let s2 = setup(MiSource::Imds).await;
    let client = s2.client(ManagedIdentity::SystemAssigned);
    let first = client.acquire_token_for_client(SCOPE).await.unwrap();
    s2.clock.advance(Duration::from_secs(43_201));
    s2.emu.set_epoch(Some(s2.clock.now_epoch()));
    let refreshed = client.acquire_token_for_client(SCOPE).await.unwrap();
    assert_eq!(refreshed.token_source, TokenSource::IdentityProvider);
    assert_ne!(
        refreshed.access_token.expose_secret(),
        first.access_token.expose_secret()
    );
}

#[tokio::test]
async fn a_token_within_five_minutes_of_expiry_is_not_served() {
    let mut config = ManagedIdentityEmulatorConfig::new(MiSource::Imds);
    config.token_lifetime = 3600;
    let s = setup_with(config).await;
    let client = s.client(ManagedIdentity::SystemAssigned);
    let first = client.acquire_token_for_client(SCOPE).await.unwrap();
    assert_eq!(first.refresh_on, None, "under 2 h: no half-life refresh");
    s.clock.advance(Duration::from_secs(3600 - 301));
    assert_eq!(source_of(&client).await, TokenSource::Cache);
    s.clock.advance(Duration::from_secs(2));
    assert_eq!(source_of(&client).await, TokenSource::IdentityProvider);
    assert_eq!(s.emu.request_count(), 2);
}

#[tokio::test]
async fn a_hit_remembered_by_the_client_ends_with_the_cache_entry_or_its_refresh_on() {
    let s = setup(MiSource::Imds).await;
    let client = s.client(ManagedIdentity::SystemAssigned);
    let source = |t: oxmsal::AuthenticationResult| t.token_source;
    let first = client.acquire_token_for_client(SCOPE).await.unwrap();
    assert_eq!(first.token_source, TokenSource::IdentityProvider);
    // Served from the cache, then from the client's memory of that answer.
    for _ in 0..3 {
        let hit = client.acquire_token_for_client(RESOURCE).await.unwrap();
        assert_eq!(hit.token_source, TokenSource::Cache);
        assert_eq!(
            hit.access_token.expose_secret(),
            first.access_token.expose_secret()
        );
        assert_eq!(hit.correlation_id.len(), 36, "each hit gets its own id");
    }
    // The cache emptied (another client sharing it signed out, a test reset
    // it): the remembered answer goes with it.
    client.token_cache().clear();
    let fresh = client.acquire_token_for_client(SCOPE).await.unwrap();
    assert_eq!(fresh.token_source, TokenSource::IdentityProvider);
    assert_eq!(s.emu.request_count(), 2);
    assert_eq!(
        source(client.acquire_token_for_client(SCOPE).await.unwrap()),
        TokenSource::Cache
    );
    assert_eq!(
        source(client.acquire_token_for_client(SCOPE).await.unwrap()),
        TokenSource::Cache
    );
    // Past `refresh_on` (half of the emulator's 24 h lifetime) it is not
    // served either, though the cache still holds it.
    s.clock.advance(Duration::from_secs(
        fresh.refresh_on.unwrap() - s.clock.now_epoch(),
    ));
    s.emu.set_epoch(Some(s.clock.now_epoch()));
    assert_eq!(
        source(client.acquire_token_for_client(SCOPE).await.unwrap()),
        TokenSource::IdentityProvider
    );
    assert_eq!(s.emu.request_count(), 3);
}

#[tokio::test]
async fn a_token_removed_from_the_cache_is_not_served_from_any_threads_memory() {
    let s = setup(MiSource::Imds).await;
    let client = s.client(ManagedIdentity::SystemAssigned);
    let first = client.acquire_token_for_client(SCOPE).await.unwrap();
    // Remembered by this thread and by another one.
    let other = client.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        for _ in 0..2 {
            let hit = rt
                .block_on(other.acquire_token_for_client(SCOPE).into_future())
                .unwrap();
            assert_eq!(hit.token_source, TokenSource::Cache);
        }
    })
    .join()
    .unwrap();
    assert_eq!(source_of(&client).await, TokenSource::Cache);
    drop(first);
    client.token_cache().clear();
    let after = client.acquire_token_for_client(SCOPE).await.unwrap();
    assert_eq!(after.token_source, TokenSource::IdentityProvider);
    assert_eq!(s.emu.request_count(), 2);
}

#[cfg(feature = "blocking")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_blocking_client_gets_and_caches_a_token() {
    let s = setup(MiSource::Imds).await;
    let client = s.client(ManagedIdentity::SystemAssigned);
    // A plain thread: the blocking API refuses to run inside a runtime's
    // context (which `spawn_blocking` threads have).
    let sources = tokio::task::spawn_blocking(move || {
        std::thread::spawn(move || blocking_pair(client))
            .join()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(sources, (TokenSource::IdentityProvider, TokenSource::Cache));
    assert_eq!(s.emu.request_count(), 1);
}

#[cfg(feature = "blocking")]
fn blocking_pair(
    client: oxmsal::managed_identity::ManagedIdentityClient,
) -> (TokenSource, TokenSource) {
    {
        let client = oxmsal::blocking::ManagedIdentityClient::new(client).unwrap();
        let first = client.acquire_token_for_client(SCOPE).unwrap();
        let second = client
            .run(|c| {
                c.acquire_token_for_client(RESOURCE)
                    .correlation_id("c0ffee")
            })
            .unwrap();
        assert_eq!(second.correlation_id, "c0ffee");
        (first.token_source, second.token_source)
    }
}

#[tokio::test]
async fn transport_failures_are_retried_then_reported_with_the_count() {
    // A port nothing listens on: connection refused, every time.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let clock = ManualClock::at_epoch(now());
    let start = clock.now_epoch();
    let env = ManagedIdentityEnvironment::empty()
        .himds_path("/nonexistent/oxmsal-test/himds")
        .var(
            "IDENTITY_ENDPOINT",
            format!("http://127.0.0.1:{closed}/msi/token"),
        )
        .var("IDENTITY_HEADER", "h");
    let err = ManagedIdentityClient::builder(ManagedIdentity::SystemAssigned)
        .environment(env)
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap()
        .acquire_token_for_client(SCOPE)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert_eq!(err.retries(), 3);
    assert_eq!(
        clock.now_epoch() - start,
        1 + 2 + 4,
        "waited on the injected clock"
    );
    assert!(err.to_string().contains("after 3 retries"), "{err}");
}

#[tokio::test]
async fn an_absolute_expires_on_is_counted_from_when_the_answer_came() {
    // App Service sends `expires_on`; two 500s make the client wait 1 + 2 s
    // (the emulator's own clock stands still).
    let s = setup(MiSource::AppService).await;
    let issued_at = s.clock.now_epoch();
    s.emu.push_fault(500, 2, None);
    let token = s
        .client(ManagedIdentity::SystemAssigned)
        .acquire_token_for_client(SCOPE)
        .await
        .unwrap();
    assert_eq!(s.clock.now_epoch(), issued_at + 3);
    assert_eq!(token.expires_on, issued_at + 86_400);
    assert_eq!(token.expires_in, 86_400 - 3);
}
