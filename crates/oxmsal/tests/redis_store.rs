//! `RedisStore` against a real redis-server (one per test, on a free loopback
//! port) and, for the app-level tests, the emulator.
#![cfg(feature = "cache-redis")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod redis_server;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{setup, SCOPE};
use oxmsal::cache::persist::merge_documents;
use oxmsal::cache::persist::redis::{FailurePolicy, RedisStore};
use oxmsal::cache::persist::{CachePersistence, PartitionKey};
use oxmsal::cache::TokenCache;
use oxmsal::credential::ClientCredential;
use oxmsal::http::ThrottleStore;
use oxmsal::{ErrorKind, TokenSource};
use redis_server::RedisServer;
use serde_json::{json, Value};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn app_partition(client: &str) -> PartitionKey {
    PartitionKey::App {
        client_id: client.into(),
        realm: "contoso".into(),
    }
}

/// An edit adding one access-token entry `name` expiring at `expires_on`.
fn add_entry(old: Option<&str>, name: &str, expires_on: u64) -> oxmsal::Result<String> {
    let mut doc: Value = match old {
        Some(text) => serde_json::from_str(text).expect("the stored document is JSON"),
        None => json!({"AccessToken": {}}),
    };
    doc["AccessToken"][name] = json!({
        "credential_type": "AccessToken", "secret": format!("secret-{name}"),
        "home_account_id": null, "environment": "login.example", "client_id": "c",
        "target": format!("scope-{name}"), "realm": "contoso", "token_type": "Bearer",
        "cached_at": now().to_string(),
        "expires_on": expires_on.to_string(), "extended_expires_on": expires_on.to_string(),
    });
    Ok(doc.to_string())
}

fn ttl_of(server: &RedisServer, key: &str) -> i64 {
    server.query(&["TTL", key]).parse().unwrap()
}

#[tokio::test]
async fn load_update_round_trip() {
    let server = RedisServer::start(&[]);
    let store = RedisStore::new(&server.url()).unwrap();
    let p = app_partition("round-trip");
    assert_eq!(store.load(&p).await.unwrap(), None, "nothing stored yet");

    let exp = now() + 3600;
    store
        .update(&p, &|old| add_entry(old, "a", exp))
        .await
        .unwrap();
    store
        .update(&p, &|old| add_entry(old, "b", exp))
        .await
        .unwrap();
    let doc: Value = serde_json::from_str(&store.load(&p).await.unwrap().unwrap()).unwrap();
    let entries = doc["AccessToken"].as_object().unwrap();
    assert_eq!(entries.len(), 2, "the second update saw the first: {doc}");
    assert_eq!(server.query(&["EXISTS", &store.key_of(&p)]), "1");
    assert!(store.key_of(&p).starts_with("oxmsal:"));

    // Partitions do not see each other.
    assert_eq!(store.load(&app_partition("other")).await.unwrap(), None);
    // An edit's own error reaches the caller and writes nothing.
    let err = store
        .update(&p, &|_| Err(oxmsal::Error::cache("cannot merge", None)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cache);
    assert_eq!(store.failures(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_updates_lose_nothing() {
    const WRITERS: usize = 400;
    // Eight stores stand for eight processes (each its own connection and local
    // queue), so writers race each other in Redis, not only in one process.
    const STORES: usize = 8;
    let server = RedisServer::start(&[]);
    let stores: Vec<Arc<RedisStore>> = (0..STORES)
        .map(|_| Arc::new(RedisStore::new(&server.url()).unwrap()))
        .collect();
    let p = app_partition("concurrent");
    let exp = now() + 3600;
    let started = std::time::Instant::now();
    let tasks: Vec<_> = (0..WRITERS)
        .map(|i| {
            let store = stores[i % STORES].clone();
            let p = p.clone();
            tokio::spawn(async move {
                // What a flow does after saving a token: merge its partition
                // into whatever is stored by then.
                let ours = add_entry(None, &format!("entry-{i}"), exp).unwrap();
                store
                    .update(&p, &|stored| merge_documents(stored, &ours))
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let elapsed = started.elapsed();
    let doc: Value = serde_json::from_str(&stores[0].load(&p).await.unwrap().unwrap()).unwrap();
    let entries = doc["AccessToken"].as_object().unwrap();
    assert_eq!(entries.len(), WRITERS, "every writer's entry is there");
    for i in 0..WRITERS {
        assert!(
            entries.contains_key(&format!("entry-{i}")),
            "entry-{i} lost"
        );
    }
    let failures: u64 = stores.iter().map(|s| s.failures()).sum();
    let conflicts: u64 = stores.iter().map(|s| s.conflicts()).sum();
    assert_eq!(failures, 0);
    eprintln!("{WRITERS} updates through {STORES} stores in {elapsed:?}, {conflicts} compare-and-set conflicts retried");
}

#[tokio::test]
async fn load_all_lists_this_prefix_only() {
    let server = RedisServer::start(&[]);
    // Glob characters in the prefix match literally.
    let store = RedisStore::builder(&server.url())
        .key_prefix("t[1]*:")
        .build()
        .unwrap();
    for client in ["a", "b", "c"] {
        let p = app_partition(client);
        store
            .update(&p, &|old| add_entry(old, client, now() + 600))
            .await
            .unwrap();
    }
    server.query(&["SET", "t1x:app-z-contoso", "{}"]);
    server.query(&["SET", "oxmsal:app-y-contoso", "{}"]);
    let mut docs = store.load_all().await.unwrap();
    docs.sort();
    assert_eq!(docs.len(), 3, "{docs:?}");
    assert!(docs[0].contains("secret-a") && docs[2].contains("secret-c"));

    // Redis gone: nothing, counted (ServeFromMemory).
    drop(server);
    assert!(store.load_all().await.unwrap().is_empty());
    assert_eq!(store.failures(), 1);
}

#[tokio::test]
async fn ttl_follows_the_tokens() {
    let server = RedisServer::start(&[]);
    let store = RedisStore::new(&server.url()).unwrap();
    let p = app_partition("ttl");
    let key = store.key_of(&p);

    // Access tokens only: until the latest one expires.
    store
        .update(&p, &|old| add_entry(old, "short", now() + 600))
        .await
        .unwrap();
    store
        .update(&p, &|old| add_entry(old, "long", now() + 3600))
        .await
        .unwrap();
    let ttl = ttl_of(&server, &key);
    assert!((3590..=3600).contains(&ttl), "TTL {ttl}");

    // A refresh token: about 90 days.
    store
        .update(&p, &|old| {
            let mut doc: Value = serde_json::from_str(old.unwrap()).unwrap();
            doc["RefreshToken"] = json!({"rt": {"credential_type": "RefreshToken", "secret": "r"}});
            Ok(doc.to_string())
        })
        .await
        .unwrap();
    let ttl = ttl_of(&server, &key);
    let ninety_days = 90 * 24 * 3600;
    assert!((ninety_days - 10..=ninety_days).contains(&ttl), "TTL {ttl}");

    // Expired tokens only: a short positive TTL, never 0 or none (-1).
    store
        .update(&p, &|_| add_entry(None, "expired", now() - 100))
        .await
        .unwrap();
    let ttl = ttl_of(&server, &key);
    assert!((1..=60).contains(&ttl), "TTL {ttl}");

    // Nothing left: the key goes.
    store
        .update(&p, &|_| Ok(r#"{"AccessToken": {}}"#.to_owned()))
        .await
        .unwrap();
    assert_eq!(server.query(&["EXISTS", &key]), "0");
    assert_eq!(store.failures(), 0);
}

#[tokio::test]
async fn prefix_and_password_and_redaction() {
    let server = RedisServer::start(&["--requirepass", "s3cr3t-pw"]);
    let url = format!("redis://:s3cr3t-pw@127.0.0.1:{}/2", server.port);
    let store = RedisStore::builder(&url)
        .key_prefix("tenant-a:")
        .build()
        .unwrap();
    let p = app_partition("auth");
    store
        .update(&p, &|old| add_entry(old, "a", now() + 600))
        .await
        .unwrap();
    let key = store.key_of(&p);
    assert!(key.starts_with("tenant-a:"), "{key}");
    let out = server.cli_auth(Some("s3cr3t-pw"), &["-n", "2", "EXISTS", &key]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1");
    assert!(!format!("{store:?} {store}").contains("s3cr3t-pw"));

    // A wrong password: the failure names neither password.
    let wrong = format!("redis://:not-the-pw@127.0.0.1:{}/2", server.port);
    let strict = RedisStore::builder(&wrong)
        .failure_policy(FailurePolicy::Fail)
        .build()
        .unwrap();
    let err = strict.load(&p).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cache);
    let text = format!("{err} {err:?}");
    assert!(
        !text.contains("not-the-pw") && !text.contains("s3cr3t-pw"),
        "{text}"
    );
    assert_eq!(strict.failures(), 1);
}

#[tokio::test]
async fn redis_vanishing_mid_run_falls_back_to_memory() {
    let mut server = RedisServer::start(&[]);
    let s = setup().await;
    let store = Arc::new(
        RedisStore::builder(&server.url())
            .operation_timeout(Duration::from_millis(500))
            .build()
            .unwrap(),
    );
    let app = s
        .builder(ClientCredential::secret(s.demo.secret.clone()))
        .cache_persistence(store.clone())
        .build()
        .unwrap();
    let first = app.acquire_token_for_client([SCOPE]).await.unwrap();
    assert_eq!(first.token_source, TokenSource::IdentityProvider);
    // The partition and the discovery metadata.
    assert_eq!(server.query(&["DBSIZE"]), "2", "persisted to Redis");

    server.kill();
    let started = std::time::Instant::now();
    let hit = app.acquire_token_for_client([SCOPE]).await.unwrap();
    assert_eq!(hit.token_source, TokenSource::Cache, "served from memory");
    assert_eq!(hit.access_token, first.access_token);
    // Past the token's life: a new one from the emulator, still without Redis.
    s.clock.advance(Duration::from_secs(2 * 3600));
    let fresh = app.acquire_token_for_client([SCOPE]).await.unwrap();
    assert_eq!(fresh.token_source, TokenSource::IdentityProvider);
    assert_eq!(s.token_requests(), 2);
    assert!(store.failures() > 0);
    eprintln!(
        "two acquisitions with Redis down in {:?}; {} failures counted",
        started.elapsed(),
        store.failures()
    );

    // The strict policy turns the same outage into a Cache error.
    let strict = Arc::new(
        RedisStore::builder(&server.url())
            .failure_policy(FailurePolicy::Fail)
            .build()
            .unwrap(),
    );
    let strict_app = s
        .builder(ClientCredential::secret(s.demo.secret.clone()))
        .cache_persistence(strict.clone())
        .build()
        .unwrap();
    let err = strict_app
        .acquire_token_for_client([SCOPE])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cache, "{err}");
    assert!(strict.failures() > 0);
}

#[tokio::test]
async fn two_apps_share_tokens_through_one_store() {
    let server = RedisServer::start(&[]);
    let s = setup().await;
    let store: Arc<dyn CachePersistence> = Arc::new(RedisStore::new(&server.url()).unwrap());
    let app = |cache: TokenCache| {
        s.builder(ClientCredential::secret(s.demo.secret.clone()))
            .token_cache(cache)
            .cache_persistence(store.clone())
            .build()
            .unwrap()
    };
    let (one, two) = (app(TokenCache::new()), app(TokenCache::new()));
    let first = one.acquire_token_for_client([SCOPE]).await.unwrap();
    assert_eq!(first.token_source, TokenSource::IdentityProvider);
    let second = two.acquire_token_for_client([SCOPE]).await.unwrap();
    assert_eq!(
        second.token_source,
        TokenSource::Cache,
        "the first app's token"
    );
    assert_eq!(second.access_token, first.access_token);
    assert_eq!(s.token_requests(), 1, "no new token request");
}

/// The discovery metadata under its own key: a new app finds the token with
/// no request, and `load_all` lists partitions only.
#[tokio::test]
async fn discovery_metadata_has_its_own_key_and_a_new_app_sends_nothing() {
    let server = RedisServer::start(&[]);
    let s = setup().await;
    let redis = Arc::new(RedisStore::new(&server.url()).unwrap());
    let store: Arc<dyn CachePersistence> = redis.clone();
    let app = || {
        s.builder(ClientCredential::secret(s.demo.secret.clone()))
            .token_cache(TokenCache::new())
            .cache_persistence(store.clone())
            .build()
            .unwrap()
    };
    let first = app().acquire_token_for_client([SCOPE]).await.unwrap();
    assert_eq!(first.token_source, TokenSource::IdentityProvider);

    let key = redis.metadata_key();
    assert_eq!(key, "oxmsal:metadata");
    let metadata: Value = serde_json::from_str(&server.query(&["GET", &key])).unwrap();
    assert!(
        metadata["authorities"][s.emulator.authority()]["token_endpoint"].is_string(),
        "{metadata}"
    );
    assert!(ttl_of(&server, &key) > 0, "the key expires");
    assert_eq!(
        redis.load_all().await.unwrap().len(),
        1,
        "one partition, no metadata"
    );

    s.emulator.reset_counters();
    let second = app().acquire_token_for_client([SCOPE]).await.unwrap();
    assert_eq!(second.token_source, TokenSource::Cache);
    assert_eq!(second.access_token, first.access_token);
    assert_eq!(
        s.emulator.counters(),
        oxmsal_emulator::Counters::default(),
        "no request at all"
    );
}

/// `rediss://` with a private CA given as an extra root.
#[tokio::test]
async fn tls_with_an_extra_root_ca() {
    let dir = tempfile::tempdir().unwrap();
    let (ca_pem, cert_pem, key_pem) = tls_material();
    let (ca, cert, key) = (
        dir.path().join("ca.pem"),
        dir.path().join("cert.pem"),
        dir.path().join("key.pem"),
    );
    std::fs::write(&ca, &ca_pem).unwrap();
    std::fs::write(&cert, cert_pem).unwrap();
    std::fs::write(&key, key_pem).unwrap();
    let server = RedisServer::start_tls(redis_server::TlsFiles {
        cert: &cert,
        key: &key,
        ca: &ca,
    });
    let url = format!("rediss://127.0.0.1:{}/0", server.port);

    let store = RedisStore::builder(&url)
        .extra_root_certificate_pem(ca_pem.into_bytes())
        .failure_policy(FailurePolicy::Fail)
        .build()
        .unwrap();
    let p = app_partition("tls");
    store
        .update(&p, &|old| add_entry(old, "a", now() + 600))
        .await
        .unwrap();
    assert!(store.load(&p).await.unwrap().unwrap().contains("secret-a"));

    // Without the CA the server is not trusted.
    let untrusting = RedisStore::builder(&url)
        .failure_policy(FailurePolicy::Fail)
        .build()
        .unwrap();
    assert_eq!(
        untrusting.load(&p).await.unwrap_err().kind(),
        ErrorKind::Cache
    );
}

/// A CA and a leaf for 127.0.0.1 it signs (a self-signed leaf cannot be a
/// rustls trust anchor).
fn tls_material() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, SanType};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, &ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf_params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    leaf_params
        .subject_alt_names
        .push(SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
    (ca.pem(), leaf.pem(), leaf_key.serialize_pem())
}

/// A throttle state remembering one 429 for `request` until `until`.
fn throttled(request: &str, until: u64) -> ThrottleStore {
    let state = ThrottleStore::new();
    let entry = json!({"until": until, "since": until - 30, "outcome":
        {"kind": "service", "status": 429, "body": {"error": "too_many_requests"}}});
    state
        .deserialize(&json!({ request: entry }).to_string())
        .unwrap();
    state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttle_state_is_shared_merged_and_expires_with_the_last_back_off() {
    let server = RedisServer::start(&[]);
    // Eight processes, each with its own back-off, save at the same moment.
    let stores: Vec<Arc<RedisStore>> = (0..8)
        .map(|_| Arc::new(RedisStore::new(&server.url()).unwrap()))
        .collect();
    let t = now();
    let tasks: Vec<_> = stores
        .iter()
        .enumerate()
        .map(|(i, store)| {
            let store = store.clone();
            tokio::spawn(async move {
                let own = throttled(&format!("request-{i}"), t + 100 + i as u64);
                store.save_throttle(&own, t).await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let store = &stores[0];
    let key = store.throttle_key();
    assert_eq!(key, "oxmsal:throttle");

    // A new process learns all eight; the key lives as long as the last one.
    let all = ThrottleStore::new();
    store.load_throttle(&all, t).await.unwrap();
    assert_eq!(all.len(), 8, "no saver lost another's back-off");
    let ttl = ttl_of(&server, &key);
    assert!((100..=107).contains(&ttl), "TTL {ttl}");
    // What has run out by the time of loading is left out.
    let later = ThrottleStore::new();
    store.load_throttle(&later, t + 105).await.unwrap();
    assert_eq!(later.len(), 2);
    // It is no cache partition: listing them skips it.
    assert!(store.load_all().await.unwrap().is_empty());
    // Once every back-off has run out, saving removes the key.
    store
        .save_throttle(&ThrottleStore::new(), t + 1000)
        .await
        .unwrap();
    assert_eq!(server.query(&["EXISTS", &key]), "0");

    // Not a throttle state: a Cache error naming the key, which stays as it is.
    server.query(&["SET", &key, "[1, 2]"]);
    let err = store
        .load_throttle(&ThrottleStore::new(), t)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cache);
    assert!(err.to_string().contains("oxmsal:throttle"), "{err}");
    let err = store
        .save_throttle(&throttled("request-x", t + 50), t)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cache);
    assert_eq!(server.query(&["GET", &key]), "[1, 2]");

    // Redis gone: serving from memory goes on, the failure counted; a store
    // told to fail says so.
    let strict = RedisStore::builder(&server.url())
        .failure_policy(FailurePolicy::Fail)
        .build()
        .unwrap();
    drop(server);
    let before = store.failures();
    store
        .save_throttle(&throttled("request-y", t + 50), t)
        .await
        .unwrap();
    store.load_throttle(&ThrottleStore::new(), t).await.unwrap();
    assert_eq!(store.failures(), before + 2);
    let err = strict
        .save_throttle(&throttled("request-z", t + 50), t)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cache);
}

/// `accounts()` of an app in a new process (empty memory) lists the users in
/// Redis, and a sign-out is seen by the next process. With Redis down, which
/// accounts exist cannot be answered from memory: listing and signing out
/// are `Cache` errors even under the default `ServeFromMemory` policy.
#[tokio::test]
async fn accounts_come_from_redis_and_an_outage_is_an_error() {
    use oxmsal::{PublicClientApplication, Secret};
    use oxmsal_emulator::{DEFAULT_USERNAME, DEFAULT_USER_PASSWORD};

    let mut server = RedisServer::start(&[]);
    let s = setup().await;
    let client_id = s.emulator.register_public_demo_app().client_id;
    let url = server.url();
    let process = || {
        let store = RedisStore::builder(&url)
            .operation_timeout(Duration::from_millis(500))
            .build()
            .unwrap();
        PublicClientApplication::builder(client_id.clone())
            .authority(s.emulator.authority())
            .extra_root_certificate_pem(s.emulator.ca_pem().as_bytes().to_vec())
            .instance_discovery(oxmsal::authority::InstanceDiscovery::Endpoint(
                url::Url::parse(&s.emulator.base_url()).unwrap(),
            ))
            .token_cache(TokenCache::new())
            .cache_persistence(Arc::new(store))
            .build()
            .unwrap()
    };
    let signed_in = process()
        .acquire_token_by_username_password(
            DEFAULT_USERNAME,
            Secret::new(DEFAULT_USER_PASSWORD),
            ["api://demo/read"],
        )
        .await
        .unwrap();
    let account = signed_in.account.unwrap();
    // Another app's partition and the throttle key are not users.
    server.query(&["SET", "oxmsal:throttle", "{}"]);
    server.query(&["SET", "oxmsal:app-x-contoso", "{}"]);

    let fresh = process();
    assert_eq!(fresh.token_cache().account_count(), 0);
    assert_eq!(fresh.accounts().await.unwrap(), vec![(*account).clone()]);
    assert!(process().remove_account(&account).await.unwrap() > 0);
    assert!(process().accounts().await.unwrap().is_empty());

    let remembers = process();
    assert!(remembers.accounts().await.unwrap().is_empty());
    server.kill();
    let err = process().accounts().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cache, "{err}");
    let err = remembers.remove_account(&account).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cache, "{err}");
}

/// The password given apart from the URL (`RedisStoreBuilder::password`)
/// authenticates, characters a URL must escape included, and shows nowhere;
/// given in both places it is a configuration error.
#[tokio::test]
async fn the_password_apart_from_the_url() {
    const PASSWORD: &str = "p@ss:w/rd%20#?";
    let server = RedisServer::start(&["--requirepass", PASSWORD]);
    let url = format!("redis://127.0.0.1:{}/0", server.port);
    let store = RedisStore::builder(&url)
        .password(oxmsal::Secret::new(PASSWORD))
        .failure_policy(FailurePolicy::Fail)
        .build()
        .unwrap();
    let p = app_partition("apart");
    store
        .update(&p, &|old| add_entry(old, "a", now() + 600))
        .await
        .unwrap();
    assert!(store.load(&p).await.unwrap().is_some());
    let out = server.cli_auth(Some(PASSWORD), &["EXISTS", &store.key_of(&p)]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1");
    let shown = format!("{store:?} {store}");
    assert!(
        !shown.contains("p@ss") && !shown.contains("p%40ss"),
        "{shown}"
    );

    // A wrong one: the error names no password.
    let wrong = RedisStore::builder(&url)
        .password(oxmsal::Secret::new("wr0ng-pw"))
        .failure_policy(FailurePolicy::Fail)
        .build()
        .unwrap();
    let err = wrong.load(&p).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cache);
    assert!(!format!("{err} {err:?}").contains("wr0ng-pw"), "{err:?}");

    let twice = format!("redis://:in-url-pw@127.0.0.1:{}/0", server.port);
    let err = RedisStore::builder(&twice)
        .password(oxmsal::Secret::new("apart-pw"))
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    let text = format!("{err} {err:?}");
    assert!(
        !text.contains("in-url-pw") && !text.contains("apart-pw"),
        "{text}"
    );
}

/// A value over the store's cap — planted, or an edit that would grow past
/// it — is a `Cache` error naming the cap, even under `ServeFromMemory`,
/// and the value in Redis is left as it was.
#[tokio::test]
async fn a_value_over_the_cap_is_a_cache_error_and_left_untouched() {
    let server = RedisServer::start(&[]);
    let store = RedisStore::builder(&server.url())
        .max_value_size(1024)
        .build()
        .unwrap();
    let p = app_partition("capped");
    let key = store.key_of(&p);
    let planted = format!(
        r#"{{"AccessToken": {{}}, "Padding": "{}"}}"#,
        "x".repeat(2048)
    );
    server.query(&["SET", &key, &planted, "EX", "3600"]);

    let err = store.load(&p).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cache);
    assert!(err.to_string().contains("1024"), "{err}");
    let err = store
        .update(&p, &|old| add_entry(old, "a", now() + 600))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cache, "{err}");
    let user = PartitionKey::User {
        home_account_id: "u.t".into(),
    };
    server.query(&["SET", &store.key_of(&user), &planted]);
    let err = store.load_user_partitions().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cache, "{err}");
    assert_eq!(server.query(&["GET", &key]), planted, "left as it was");
    assert_eq!(store.failures(), 0, "not an outage");

    // An edit growing a small value past the cap writes nothing.
    let small = app_partition("grows");
    store
        .update(&small, &|old| add_entry(old, "a", now() + 600))
        .await
        .unwrap();
    let before = store.load(&small).await.unwrap().unwrap();
    let err = store
        .update(&small, &|_| Ok(planted.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cache, "{err}");
    assert_eq!(store.load(&small).await.unwrap().unwrap(), before);
}
