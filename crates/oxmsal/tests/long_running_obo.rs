//! Long-running on-behalf-of against the emulator: a web API starts a session
//! with the user's token, and a background job (in this process or another
//! sharing the cache store) continues it with the session key alone, long
//! after that token expired.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use oxmsal::authority::InstanceDiscovery;
use oxmsal::cache::persist::{CachePersistence, FileStore};
use oxmsal::credential::ClientCredential;
use oxmsal::{
    Clock, ConfidentialClientApplication, ErrorKind, ManualClock, PublicClientApplication, Secret,
    TokenCache, TokenSource,
};
use oxmsal_emulator::{DemoApp, Emulator, DEFAULT_USERNAME, DEFAULT_USER_PASSWORD};

const GRAPH: &str = "https://graph.microsoft.com/.default";
/// Past both the user's incoming token and the downstream token (the
/// emulator's tokens live an hour).
const LATER: Duration = Duration::from_secs(2 * 3600);

struct Env {
    emulator: Emulator,
    demo: DemoApp,
    clock: ManualClock,
}

impl Env {
    async fn start() -> Env {
        let emulator = Emulator::start().await.unwrap();
        let demo = emulator.register_demo_app();
        Env {
            emulator,
            demo,
            clock: ManualClock::at(std::time::SystemTime::now()),
        }
    }

    fn connect<K>(&self, builder: oxmsal::app::AppBuilder<K>) -> oxmsal::app::AppBuilder<K> {
        builder
            .authority(self.emulator.authority())
            .extra_root_certificate_pem(self.emulator.ca_pem().as_bytes().to_vec())
            .instance_discovery(InstanceDiscovery::Endpoint(
                url::Url::parse(&self.emulator.base_url()).unwrap(),
            ))
            .clock(Arc::new(self.clock.clone()))
            // A new memory per app: each stands for another process.
            .token_cache(TokenCache::new())
    }

    /// The web API (and its background job): the demo confidential app.
    fn api(&self, store: Option<Arc<dyn CachePersistence>>) -> ConfidentialClientApplication {
        let credential = ClientCredential::secret(self.demo.secret.clone());
        let mut builder = self.connect(ConfidentialClientApplication::builder(
            self.demo.client_id.clone(),
            credential,
        ));
        if let Some(store) = store {
            builder = builder.cache_persistence(store);
        }
        builder.build().unwrap()
    }

    /// The user's token for the web API, as its caller sends it.
    async fn incoming(&self) -> oxmsal::AuthenticationResult {
        let client_id = self.emulator.register_public_demo_app().client_id;
        let app: PublicClientApplication = self
            .connect(PublicClientApplication::builder(client_id))
            .build()
            .unwrap();
        app.acquire_token_by_username_password(
            DEFAULT_USERNAME,
            Secret::new(DEFAULT_USER_PASSWORD),
            [format!("api://{}/access_as_user", self.demo.client_id)],
        )
        .await
        .unwrap()
    }
}

#[tokio::test]
async fn the_session_continues_with_its_refresh_token_after_the_incoming_token_expired() {
    let env = Env::start().await;
    let incoming = env.incoming().await;
    let api = env.api(None);
    let (started, key) = api
        .initiate_long_running_on_behalf_of(incoming.access_token.clone(), [GRAPH])
        .await
        .unwrap();
    assert_eq!(started.token_source, TokenSource::IdentityProvider);
    assert_ne!(
        key,
        incoming.access_token.expose_secret(),
        "a hash, not the token"
    );
    let sent = env.emulator.token_requests().pop().unwrap();
    assert_eq!(sent.params["requested_token_use"], "on_behalf_of");
    assert!(
        sent.params["scope"]
            .split(' ')
            .any(|s| s == "offline_access"),
        "the session needs a refresh token: {}",
        sent.params["scope"]
    );

    // The job, soon after: the session's access token.
    let soon = api
        .acquire_token_in_long_running_process(key.clone(), [GRAPH])
        .await
        .unwrap();
    assert_eq!(soon.token_source, TokenSource::Cache);
    assert_eq!(soon.access_token, started.access_token);

    // Hours later both tokens expired: the refresh token, not the assertion.
    env.clock.advance(LATER);
    assert!(env.clock.now_epoch() > incoming.expires_on);
    assert!(env.clock.now_epoch() > started.expires_on);
    let before = env.emulator.counters();
    let later = api
        .acquire_token_in_long_running_process(key.clone(), [GRAPH])
        .correlation_id("lro-job-1")
        .await
        .unwrap();
    assert_eq!(later.token_source, TokenSource::IdentityProvider);
    assert_ne!(later.access_token, started.access_token);
    let after = env.emulator.counters();
    assert_eq!(after.obo_grants, before.obo_grants, "no on-behalf-of grant");
    assert_eq!(after.refresh_token_grants, before.refresh_token_grants + 1);
    let sent = env.emulator.token_requests().pop().unwrap();
    assert_eq!(sent.params["grant_type"], "refresh_token");
    assert!(!sent.params.contains_key("assertion"));
    assert!(
        sent.params.contains_key("client_secret"),
        "the app's secret"
    );
    assert_eq!(sent.headers["client-request-id"], "lro-job-1");

    // The new token is filed under the session key: the next call is a hit.
    let again = api
        .acquire_token_in_long_running_process(key.clone(), [GRAPH])
        .await
        .unwrap();
    assert_eq!(again.token_source, TokenSource::Cache);
    assert_eq!(again.access_token, later.access_token);

    // force_refresh skips the cached token.
    let forced = api
        .acquire_token_in_long_running_process(key, [GRAPH])
        .force_refresh(true)
        .await
        .unwrap();
    assert_eq!(forced.token_source, TokenSource::IdentityProvider);
    assert_eq!(
        env.emulator.counters().refresh_token_grants,
        before.refresh_token_grants + 2
    );
}

#[tokio::test]
async fn another_instance_sharing_a_file_store_continues_the_session() {
    let env = Env::start().await;
    let incoming = env.incoming().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.json");
    let store = || -> Option<Arc<dyn CachePersistence>> { Some(Arc::new(FileStore::new(&path))) };
    let (started, key) = env
        .api(store())
        .initiate_long_running_on_behalf_of(incoming.access_token, [GRAPH])
        .session_key("report-job-42")
        .await
        .unwrap();
    assert_eq!(key, "report-job-42");

    // Another process: the session's access token from the store.
    let requests = env.emulator.counters().token_requests;
    let job = env.api(store());
    let hit = job
        .acquire_token_in_long_running_process("report-job-42", [GRAPH])
        .await
        .unwrap();
    assert_eq!(hit.token_source, TokenSource::Cache);
    assert_eq!(hit.access_token, started.access_token);
    assert_eq!(env.emulator.counters().token_requests, requests);

    // Later, a fresh process finds the session by its expired token in the
    // store and redeems the session's refresh token...
    env.clock.advance(LATER);
    let refreshed = env
        .api(store())
        .acquire_token_in_long_running_process("report-job-42", [GRAPH])
        .await
        .unwrap();
    assert_eq!(refreshed.token_source, TokenSource::IdentityProvider);
    assert_eq!(env.emulator.counters().obo_grants, 1);
    assert_eq!(env.emulator.counters().refresh_token_grants, 1);

    // ...and a third process finds the new token in the store.
    let third = env
        .api(store())
        .acquire_token_in_long_running_process("report-job-42", [GRAPH])
        .await
        .unwrap();
    assert_eq!(third.token_source, TokenSource::Cache);
    assert_eq!(third.access_token, refreshed.access_token);
}

#[tokio::test]
async fn an_unknown_session_key_is_no_cached_token() {
    let env = Env::start().await;
    let api = env.api(None);
    let err = api
        .acquire_token_in_long_running_process("no-such-session", [GRAPH])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoCachedToken, "{err}");
    assert!(
        err.to_string()
            .contains("initiate_long_running_on_behalf_of"),
        "{err}"
    );
    let err = api
        .acquire_token_in_long_running_process(" ", [GRAPH])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration, "{err}");
    assert_eq!(env.emulator.counters().token_requests, 0);
}

#[tokio::test]
async fn a_revoked_refresh_token_is_the_service_error_asking_for_the_user() {
    let env = Env::start().await;
    let incoming = env.incoming().await;
    let api = env.api(None);
    let (_, key) = api
        .initiate_long_running_on_behalf_of(incoming.access_token, [GRAPH])
        .await
        .unwrap();
    env.clock.advance(LATER);
    assert!(env.emulator.revoke_refresh_tokens(DEFAULT_USERNAME) > 0);
    let err = api
        .acquire_token_in_long_running_process(key, [GRAPH])
        .correlation_id("lro-revoked")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Service, "{err}");
    assert!(err.requires_interaction(), "{err}");
    assert_eq!(err.service().unwrap().error, "invalid_grant");
    assert_eq!(err.correlation_id(), Some("lro-revoked"));
    assert_eq!(env.emulator.counters().obo_grants, 1);
}

/// A hundred tasks continuing one session after its token expired send one
/// refresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_in_one_session_share_one_refresh() {
    let env = Env::start().await;
    let incoming = env.incoming().await;
    let api = env.api(None);
    let (_, key) = api
        .initiate_long_running_on_behalf_of(incoming.access_token, [GRAPH])
        .await
        .unwrap();
    env.clock.advance(LATER);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let (api, key) = (api.clone(), key.clone());
        tasks.spawn(async move {
            let t = api
                .acquire_token_in_long_running_process(key, [GRAPH])
                .await
                .unwrap();
            t.access_token.expose_secret().to_owned()
        });
    }
    let mut tokens = std::collections::HashSet::new();
    while let Some(token) = tasks.join_next().await {
        tokens.insert(token.unwrap());
    }
    assert_eq!(tokens.len(), 1);
    assert_eq!(env.emulator.counters().refresh_token_grants, 1);
}

/// A session started in a per-request tenant (the app's authority is
/// `organizations`) is continued there; a claims request skips the cached
/// token and goes with the refresh.
#[tokio::test]
async fn the_session_stays_in_its_tenant_and_claims_go_with_the_refresh() {
    let env = Env::start().await;
    let incoming = env.incoming().await;
    let credential = ClientCredential::secret(env.demo.secret.clone());
    let api = env
        .connect(ConfidentialClientApplication::builder(
            env.demo.client_id.clone(),
            credential,
        ))
        .authority(format!("{}/organizations", env.emulator.base_url()))
        .build()
        .unwrap();
    let tenant = oxmsal_emulator::DEFAULT_TENANT_ID;
    let (started, key) = api
        .initiate_long_running_on_behalf_of(incoming.access_token, [GRAPH])
        .tenant(tenant)
        .await
        .unwrap();
    assert_eq!(env.emulator.token_requests().pop().unwrap().tenant, tenant);
    let hit = api
        .acquire_token_in_long_running_process(key.clone(), [GRAPH])
        .await
        .unwrap();
    assert_eq!(hit.token_source, TokenSource::Cache);
    assert_eq!(hit.access_token, started.access_token);

    env.clock.advance(LATER);
    let refreshed = api
        .acquire_token_in_long_running_process(key.clone(), [GRAPH])
        .await
        .unwrap();
    assert_eq!(refreshed.token_source, TokenSource::IdentityProvider);
    let sent = env.emulator.token_requests().pop().unwrap();
    assert_eq!(sent.params["grant_type"], "refresh_token");
    assert_eq!(
        sent.tenant, tenant,
        "the session's tenant, not organizations"
    );
    let hit = api
        .acquire_token_in_long_running_process(key.clone(), [GRAPH])
        .await
        .unwrap();
    assert_eq!(hit.token_source, TokenSource::Cache);
    assert_eq!(hit.access_token, refreshed.access_token);

    let claims = r#"{"access_token":{"acrs":{"essential":true,"value":"c1"}}}"#;
    let stepped_up = api
        .acquire_token_in_long_running_process(key, [GRAPH])
        .claims(claims)
        .await
        .unwrap();
    assert_eq!(stepped_up.token_source, TokenSource::IdentityProvider);
    let sent = env.emulator.token_requests().pop().unwrap();
    assert_eq!(sent.params["grant_type"], "refresh_token");
    assert_eq!(sent.claims.unwrap()["access_token"]["acrs"]["value"], "c1");
    assert_eq!(env.emulator.counters().obo_grants, 1);
}

/// A hundred requests starting the same session send one on-behalf-of grant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_starts_of_one_session_share_one_grant() {
    let env = Env::start().await;
    let incoming = env.incoming().await;
    let api = env.api(None);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let (api, incoming) = (api.clone(), incoming.access_token.clone());
        tasks.spawn(async move {
            let (t, key) = api
                .initiate_long_running_on_behalf_of(incoming, [GRAPH])
                .await
                .unwrap();
            (t.access_token.expose_secret().to_owned(), key)
        });
    }
    let mut started = std::collections::HashSet::new();
    while let Some(outcome) = tasks.join_next().await {
        started.insert(outcome.unwrap());
    }
    assert_eq!(started.len(), 1);
    assert_eq!(env.emulator.counters().obo_grants, 1);
}
