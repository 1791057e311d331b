//! Discovery metadata persisted with a `FileStore`: a fresh app (a new
//! process) finds its cached token without asking the emulator anything; past
//! 24 hours (by the app's clock) the metadata still finds the token, and a
//! request discovers again; with the provider down a still-valid token is
//! served even when that rediscovery fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use oxmsal::authority::InstanceDiscovery;
use oxmsal::cache::persist::FileStore;
use oxmsal::credential::ClientCredential;
use oxmsal::{
    ConfidentialClientApplication, ManualClock, PublicClientApplication, Secret, TokenCache,
    TokenSource,
};
use oxmsal_emulator::{
    Counters, DemoApp, Emulator, EmulatorConfig, DEFAULT_USERNAME, DEFAULT_USER_PASSWORD,
};
use serde_json::Value;

const SCOPE: &str = "api://demo/.default";
const USER_SCOPE: &str = "api://demo/read";
const DAY: Duration = Duration::from_secs(24 * 3600);

/// An app standing for a new process: its own memory, the shared file, and
/// a clock reading `now`. The CA is given as PEM, so it outlives the emulator.
fn daemon(
    authority: &str,
    base_url: &str,
    ca_pem: &str,
    demo: &DemoApp,
    cache: &Path,
    now: SystemTime,
) -> ConfidentialClientApplication {
    let base = url::Url::parse(base_url).unwrap();
    ConfidentialClientApplication::builder(
        demo.client_id.clone(),
        ClientCredential::secret(demo.secret.clone()),
    )
    .authority(authority)
    .extra_root_certificate_pem(ca_pem.as_bytes().to_vec())
    .instance_discovery(InstanceDiscovery::Endpoint(base))
    .token_cache(TokenCache::new())
    .cache_persistence(Arc::new(FileStore::new(cache)))
    .clock(Arc::new(ManualClock::at(now)))
    .build()
    .unwrap()
}

struct Env {
    emulator: Emulator,
    demo: DemoApp,
    authority: String,
    base_url: String,
    ca_pem: String,
    dir: tempfile::TempDir,
}

impl Env {
    async fn start(config: EmulatorConfig) -> Env {
        let emulator = Emulator::start_with(config).await.unwrap();
        Env {
            demo: emulator.register_demo_app(),
            authority: emulator.authority(),
            base_url: emulator.base_url(),
            ca_pem: emulator.ca_pem().to_owned(),
            emulator,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn cache(&self) -> std::path::PathBuf {
        self.dir.path().join("cache.json")
    }

    fn app(&self, now: SystemTime) -> ConfidentialClientApplication {
        daemon(
            &self.authority,
            &self.base_url,
            &self.ca_pem,
            &self.demo,
            &self.cache(),
            now,
        )
    }

    fn metadata(&self) -> Value {
        let text =
            std::fs::read_to_string(self.dir.path().join("cache.json.metadata.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }
}

/// Tokens that outlive the clock moving a day ahead.
fn long_lived() -> EmulatorConfig {
    EmulatorConfig::default().with_access_token_lifetime(2 * DAY)
}

#[tokio::test]
async fn a_fresh_app_finds_its_token_without_any_request() {
    let env = Env::start(EmulatorConfig::default()).await;
    let now = SystemTime::now();
    let first = env
        .app(now)
        .acquire_token_for_client([SCOPE])
        .await
        .unwrap();
    assert_eq!(first.token_source, TokenSource::IdentityProvider);

    // The cache file holds MSAL's sections only: MSAL for Python reads it as ever.
    let cache: Value =
        serde_json::from_str(&std::fs::read_to_string(env.cache()).unwrap()).unwrap();
    for key in cache.as_object().unwrap().keys() {
        assert!(
            [
                "AccessToken",
                "RefreshToken",
                "IdToken",
                "Account",
                "AppMetadata"
            ]
            .contains(&key.as_str()),
            "{key}"
        );
    }
    let entry = &env.metadata()["authorities"][&env.authority];
    assert_eq!(
        entry["instance_discovery"],
        format!("endpoint {}/", env.base_url)
    );

    env.emulator.reset_counters();
    let hit = env
        .app(now)
        .acquire_token_for_client([SCOPE])
        .await
        .unwrap();
    assert_eq!(hit.token_source, TokenSource::Cache);
    assert_eq!(hit.access_token, first.access_token);
    assert_eq!(
        env.emulator.counters(),
        Counters::default(),
        "no request at all"
    );
}

#[tokio::test]
async fn stale_metadata_finds_the_token_and_a_request_discovers_again() {
    let env = Env::start(long_lived()).await;
    let then = SystemTime::now();
    env.app(then)
        .acquire_token_for_client([SCOPE])
        .await
        .unwrap();
    let fetched_at = env.metadata()["authorities"][&env.authority]["fetched_at"].clone();

    let day_later = then + DAY + Duration::from_secs(60);
    env.emulator.reset_counters();
    let app = env.app(day_later);
    let hit = app.acquire_token_for_client([SCOPE]).await.unwrap();
    assert_eq!(hit.token_source, TokenSource::Cache);
    assert_eq!(
        env.emulator.counters(),
        Counters::default(),
        "a hit needs no request"
    );

    // A request to the provider first discovers again: stale endpoints are
    // never sent to.
    let fresh = app
        .acquire_token_for_client([SCOPE])
        .force_refresh(true)
        .await
        .unwrap();
    assert_eq!(fresh.token_source, TokenSource::IdentityProvider);
    let counters = env.emulator.counters();
    assert_eq!(counters.discovery_requests, 1);
    assert_eq!(counters.instance_discovery_requests, 1);
    let refetched = env.metadata()["authorities"][&env.authority]["fetched_at"].clone();
    assert_ne!(refetched, fetched_at);
}

#[tokio::test]
async fn provider_down_and_stale_metadata_serve_the_refresh_due_token() {
    let env = Env::start(long_lived().with_refresh_in(Duration::from_secs(3600))).await;
    let then = SystemTime::now();
    let first = env
        .app(then)
        .acquire_token_for_client([SCOPE])
        .await
        .unwrap();
    let Env {
        emulator,
        demo,
        authority,
        base_url,
        ca_pem,
        dir,
    } = env;
    let port = emulator.port();
    drop(emulator);
    for _ in 0..500 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // A day on: past refresh_on, still valid, metadata stale, provider gone.
    let day_later = then + DAY + Duration::from_secs(60);
    let app = daemon(
        &authority,
        &base_url,
        &ca_pem,
        &demo,
        &dir.path().join("cache.json"),
        day_later,
    );
    let served = app.acquire_token_for_client([SCOPE]).await.unwrap();
    assert_eq!(served.token_source, TokenSource::Cache);
    assert_eq!(served.access_token, first.access_token);
}

#[tokio::test]
async fn a_metadata_file_for_another_host_is_not_used() {
    let env = Env::start(EmulatorConfig::default()).await;
    let now = SystemTime::now();
    env.app(now)
        .acquire_token_for_client([SCOPE])
        .await
        .unwrap();
    let path = env.dir.path().join("cache.json.metadata.json");
    let mut doc = env.metadata();
    doc["authorities"][&env.authority]["token_endpoint"] =
        "https://127.0.0.1:1/evil/oauth2/v2.0/token".into();
    std::fs::write(&path, doc.to_string()).unwrap();

    env.emulator.reset_counters();
    let fresh = env
        .app(now)
        .acquire_token_for_client([SCOPE])
        .force_refresh(true)
        .await
        .unwrap();
    assert_eq!(fresh.token_source, TokenSource::IdentityProvider);
    let counters = env.emulator.counters();
    assert_eq!(counters.discovery_requests, 1, "rediscovered");
    assert_eq!(counters.token_requests, 1, "sent to the emulator");
    assert_ne!(
        env.metadata()["authorities"][&env.authority]["token_endpoint"],
        "https://127.0.0.1:1/evil/oauth2/v2.0/token"
    );
}

/// The same for a signed-in user's token (silent): a day on by the app's
/// clock, past `refresh_on` and with the provider gone, the cached token.
#[tokio::test]
async fn silent_with_stale_metadata_and_the_provider_down_serves_the_cached_token() {
    let env = Env::start(long_lived().with_refresh_in(Duration::from_secs(3600))).await;
    let client_id = env.emulator.register_public_demo_app().client_id;
    let then = SystemTime::now();
    let public = |now: SystemTime| {
        PublicClientApplication::builder(client_id.clone())
            .authority(env.authority.as_str())
            .extra_root_certificate_pem(env.ca_pem.as_bytes().to_vec())
            .instance_discovery(InstanceDiscovery::Endpoint(
                url::Url::parse(&env.base_url).unwrap(),
            ))
            .token_cache(TokenCache::new())
            .cache_persistence(Arc::new(FileStore::new(env.cache())))
            .clock(Arc::new(ManualClock::at(now)))
            .build()
            .unwrap()
    };
    let signed_in = public(then)
        .acquire_token_by_username_password(
            DEFAULT_USERNAME,
            Secret::new(DEFAULT_USER_PASSWORD),
            [USER_SCOPE],
        )
        .await
        .unwrap();
    let account = signed_in.account.clone().unwrap();

    env.emulator.reset_counters();
    let hit = public(then)
        .acquire_token_silent([USER_SCOPE], &account)
        .await
        .unwrap();
    assert_eq!(hit.token_source, TokenSource::Cache);
    assert_eq!(
        env.emulator.counters(),
        Counters::default(),
        "no request at all"
    );

    let port = env.emulator.port();
    let day_later = then + DAY + Duration::from_secs(60);
    let app = public(day_later);
    drop(env.emulator);
    for _ in 0..500 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let served = app
        .acquire_token_silent([USER_SCOPE], &account)
        .await
        .unwrap();
    assert_eq!(served.token_source, TokenSource::Cache);
    assert_eq!(served.access_token, signed_in.access_token);
}

/// The metadata file is opened as the cache's own files are: one another user
/// owns, one writable by everyone, or a link in its place is not trusted (the
/// app discovers again), and a link's target is never written through.
#[cfg(unix)]
#[tokio::test]
async fn a_metadata_file_this_user_does_not_own_or_a_link_is_not_trusted() {
    use std::os::unix::fs::PermissionsExt as _;
    let env = Env::start(EmulatorConfig::default()).await;
    let now = SystemTime::now();
    env.app(now)
        .acquire_token_for_client([SCOPE])
        .await
        .unwrap();
    let path = env.dir.path().join("cache.json.metadata.json");
    let good = std::fs::read(&path).unwrap();

    // Each plant: the next fresh app must discover again (one discovery request).
    let plants: [(&str, &dyn Fn()); 3] = [
        ("owned by another user", &|| {
            std::fs::write(&path, &good).unwrap();
            std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
        }),
        ("writable by everyone", &|| {
            std::fs::remove_file(&path).unwrap();
            std::fs::write(&path, &good).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        }),
        ("a symbolic link", &|| {
            std::fs::remove_file(&path).unwrap();
            let target = env.dir.path().join("victim");
            std::fs::write(&target, &good).unwrap();
            std::os::unix::fs::symlink(&target, &path).unwrap();
        }),
    ];
    for (what, plant) in plants {
        plant();
        env.emulator.reset_counters();
        let hit = env
            .app(now)
            .acquire_token_for_client([SCOPE])
            .await
            .unwrap();
        assert_eq!(hit.token_source, TokenSource::Cache, "{what}");
        assert_eq!(
            env.emulator.counters().discovery_requests,
            1,
            "{what}: the file was not trusted, so the app discovered again"
        );
    }
    // The link was replaced by a file of this user's; its target is unchanged.
    assert!(!std::fs::symlink_metadata(&path).unwrap().is_symlink());
    assert_eq!(std::fs::read(env.dir.path().join("victim")).unwrap(), good);
}
