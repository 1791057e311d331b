//! `cache_persistence`: each flow loads the partition it reads and stores the
//! one it wrote, so apps with separate memory (other processes) share tokens;
//! sign-out edits the store; a failing store is a `Cache` error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use oxmsal::authority::InstanceDiscovery;
use oxmsal::cache::persist::{
    CachePersistence, Edit, FileStore, Fingerprint, PartitionKey, PersistFuture,
};
use oxmsal::credential::ClientCredential;
use oxmsal::{
    ConfidentialClientApplication, Error, ErrorKind, PublicClientApplication, Secret, TokenCache,
    TokenSource,
};
use oxmsal_emulator::{Emulator, DEFAULT_USERNAME, DEFAULT_USER_PASSWORD};

const SCOPE: &str = "api://demo/.default";
const USER_SCOPE: &str = "api://demo/read";

/// A partitioned store in memory that records what the apps asked of it.
#[derive(Debug, Default)]
struct Recording {
    documents: Mutex<HashMap<String, String>>,
    calls: Mutex<Vec<String>>,
}

impl Recording {
    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn document(&self, key: &str) -> Option<String> {
        self.documents.lock().unwrap().get(key).cloned()
    }
}

impl CachePersistence for Recording {
    fn load<'a>(&'a self, partition: &'a PartitionKey) -> PersistFuture<'a, Option<String>> {
        Box::pin(async move {
            let key = partition.storage_key();
            self.calls.lock().unwrap().push(format!("load {key}"));
            Ok(self.document(&key))
        })
    }

    fn update<'a>(&'a self, partition: &'a PartitionKey, edit: Edit<'a>) -> PersistFuture<'a, ()> {
        Box::pin(async move {
            let key = partition.storage_key();
            self.calls.lock().unwrap().push(format!("update {key}"));
            let mut documents = self.documents.lock().unwrap();
            let new = edit(documents.get(&key).map(String::as_str))?;
            documents.insert(key, new);
            Ok(())
        })
    }

    fn load_user_partitions(&self) -> PersistFuture<'_, Option<Vec<String>>> {
        Box::pin(async move {
            self.calls.lock().unwrap().push("load users".to_owned());
            let documents = self.documents.lock().unwrap();
            let users = documents.iter().filter(|(k, _)| k.starts_with("user-"));
            Ok(Some(users.map(|(_, d)| d.clone()).collect()))
        })
    }
}

/// A store whose back end is down.
#[derive(Debug)]
struct Down;

impl CachePersistence for Down {
    fn load<'a>(&'a self, _: &'a PartitionKey) -> PersistFuture<'a, Option<String>> {
        Box::pin(async { Err(Error::cache("the store is down", None)) })
    }

    fn update<'a>(&'a self, _: &'a PartitionKey, _: Edit<'a>) -> PersistFuture<'a, ()> {
        Box::pin(async { Err(Error::cache("the store is down", None)) })
    }
}

struct Env {
    emulator: Emulator,
}

impl Env {
    async fn start() -> Env {
        Env {
            emulator: Emulator::start().await.unwrap(),
        }
    }

    fn connect<K>(
        &self,
        builder: oxmsal::app::AppBuilder<K>,
        store: Arc<dyn CachePersistence>,
    ) -> oxmsal::app::AppBuilder<K> {
        let base = url::Url::parse(&self.emulator.base_url()).unwrap();
        builder
            .authority(self.emulator.authority())
            .extra_root_certificate_pem(self.emulator.ca_pem().as_bytes().to_vec())
            .instance_discovery(InstanceDiscovery::Endpoint(base))
            // A new memory per app: each stands for another process.
            .token_cache(TokenCache::new())
            .cache_persistence(store)
    }

    fn daemon(
        &self,
        demo: &oxmsal_emulator::DemoApp,
        store: Arc<dyn CachePersistence>,
    ) -> ConfidentialClientApplication {
        let credential = ClientCredential::secret(demo.secret.clone());
        self.connect(
            ConfidentialClientApplication::builder(demo.client_id.clone(), credential),
            store,
        )
        .build()
        .unwrap()
    }

    fn public(&self, client_id: &str, store: Arc<dyn CachePersistence>) -> PublicClientApplication {
        self.connect(PublicClientApplication::builder(client_id), store)
            .build()
            .unwrap()
    }

    /// Signs the emulator's default user in through `app` (username and password).
    async fn sign_in(app: &PublicClientApplication, scope: &str) -> oxmsal::AuthenticationResult {
        app.acquire_token_by_username_password(
            DEFAULT_USERNAME,
            Secret::new(DEFAULT_USER_PASSWORD),
            [scope],
        )
        .await
        .unwrap()
    }

    fn token_requests(&self) -> u64 {
        self.emulator.counters().token_requests
    }
}

#[tokio::test]
async fn client_credentials_load_and_store_the_app_partition() {
    let env = Env::start().await;
    let demo = env.emulator.register_demo_app();
    let store = Arc::new(Recording::default());
    let first = env
        .daemon(&demo, store.clone())
        .acquire_token_for_client([SCOPE])
        .await
        .unwrap();
    assert_eq!(first.token_source, TokenSource::IdentityProvider);
    let key = PartitionKey::App {
        client_id: demo.client_id.clone(),
        realm: env.emulator.tenant_id().to_owned(),
    }
    .storage_key();
    assert_eq!(
        store.calls(),
        vec![format!("load {key}"), format!("update {key}")]
    );

    let second = env
        .daemon(&demo, store.clone())
        .acquire_token_for_client([SCOPE])
        .await
        .unwrap();
    assert_eq!(second.token_source, TokenSource::Cache);
    assert_eq!(env.token_requests(), 1);
}

#[tokio::test]
async fn a_user_signed_in_by_one_app_is_silent_in_another_and_signed_out_everywhere() {
    let env = Env::start().await;
    let client_id = env.emulator.register_public_demo_app().client_id;
    let store = Arc::new(Recording::default());
    let signed_in = Env::sign_in(&env.public(&client_id, store.clone()), USER_SCOPE).await;
    let account = signed_in.account.clone().unwrap();
    let user = PartitionKey::User {
        home_account_id: account.home_account_id.clone(),
    }
    .storage_key();
    assert_eq!(store.calls(), vec![format!("update {user}")]);

    let other = env.public(&client_id, store.clone());
    let hit = other
        .acquire_token_silent([USER_SCOPE], &account)
        .await
        .unwrap();
    assert_eq!(hit.token_source, TokenSource::Cache);
    assert_eq!(hit.account.as_ref(), Some(&account));
    assert_eq!(env.token_requests(), 1);

    assert!(other.remove_account(&account).await.unwrap() > 0);
    let stored = store.document(&user).unwrap();
    assert!(
        !stored.contains(DEFAULT_USERNAME),
        "signed out in the store"
    );
    let err = env
        .public(&client_id, store.clone())
        .acquire_token_silent([USER_SCOPE], &account)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoCachedToken);
}

/// One process signs a user out while another still holds the user's tokens in
/// memory: the other's next load replaces the user's partition, so it neither
/// serves the tokens nor writes them back with its next write. `stored` reads
/// back what the store holds.
async fn sign_out_elsewhere_holds(store: Arc<dyn CachePersistence>, stored: impl Fn() -> String) {
    let env = Env::start().await;
    let client_id = env.emulator.register_public_demo_app().client_id;
    let remembers = env.public(&client_id, store.clone());
    let signed_in = Env::sign_in(&remembers, USER_SCOPE).await;
    let account = signed_in.account.unwrap();

    let elsewhere = env.public(&client_id, store.clone());
    assert!(elsewhere.remove_account(&account).await.unwrap() > 0);
    assert!(
        !stored().contains(DEFAULT_USERNAME),
        "signed out in the store"
    );
    assert!(
        remembers.accounts().await.unwrap().is_empty(),
        "the store's accounts, not the first app's memory"
    );
    assert_eq!(
        remembers.token_cache().account_count(),
        1,
        "still in the first app's memory"
    );

    let err = remembers
        .acquire_token_silent([USER_SCOPE], &account)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoCachedToken);
    assert!(remembers.accounts().await.unwrap().is_empty());
    // A write of the same user's partition by the first app.
    let again = Env::sign_in(&remembers, "api://other/read").await;
    assert_eq!(again.token_source, TokenSource::IdentityProvider);
    assert!(
        !stored().contains(signed_in.access_token.expose_secret()),
        "the signed-out access token is not written back"
    );
}

#[tokio::test]
async fn a_sign_out_elsewhere_is_not_undone_by_an_app_that_remembers_the_user() {
    let store = Arc::new(Recording::default());
    let documents = store.clone();
    sign_out_elsewhere_holds(store, move || {
        documents
            .documents
            .lock()
            .unwrap()
            .values()
            .cloned()
            .collect()
    })
    .await;
}

#[tokio::test]
async fn a_sign_out_elsewhere_holds_through_a_shared_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.json");
    sign_out_elsewhere_holds(Arc::new(FileStore::new(&path)), || {
        std::fs::read_to_string(&path).unwrap_or_default()
    })
    .await;
}

#[tokio::test]
async fn a_silent_refresh_stores_the_rotated_refresh_token() {
    let env = Env::start().await;
    let client_id = env.emulator.register_public_demo_app().client_id;
    let store = Arc::new(Recording::default());
    let app = env.public(&client_id, store.clone());
    let signed_in = Env::sign_in(&app, USER_SCOPE).await;
    let account = signed_in.account.unwrap();
    let before = store
        .document(&format!("user-{}", account.home_account_id))
        .unwrap();

    // Another scope: no access token for it, so a refresh (the emulator rotates).
    let other = env.public(&client_id, store.clone());
    let refreshed = other
        .acquire_token_silent(["api://other/read"], &account)
        .await
        .unwrap();
    assert_eq!(refreshed.token_source, TokenSource::IdentityProvider);
    let after = store
        .document(&format!("user-{}", account.home_account_id))
        .unwrap();
    assert_ne!(before, after);

    // A third app refreshes with what the second stored.
    let third = env.public(&client_id, store.clone());
    let again = third
        .acquire_token_silent(["api://third/read"], &account)
        .await
        .unwrap();
    assert_eq!(again.token_source, TokenSource::IdentityProvider);
}

#[tokio::test]
async fn on_behalf_of_tokens_live_in_the_assertion_partition() {
    let env = Env::start().await;
    let demo = env.emulator.register_demo_app();
    let public_id = env.emulator.register_public_demo_app().client_id;
    let incoming = env
        .public(&public_id, Arc::new(Recording::default()))
        .acquire_token_by_username_password(
            DEFAULT_USERNAME,
            Secret::new(DEFAULT_USER_PASSWORD),
            [format!("api://{}/access_as_user", demo.client_id)],
        )
        .await
        .unwrap();
    let store = Arc::new(Recording::default());
    let downstream = env
        .daemon(&demo, store.clone())
        .acquire_token_on_behalf_of(
            incoming.access_token.clone(),
            ["https://graph.microsoft.com/.default"],
        )
        .await
        .unwrap();
    assert_eq!(downstream.token_source, TokenSource::IdentityProvider);
    let calls = store.calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls.iter().all(|c| c.contains(" obo-")), "{calls:?}");

    let again = env
        .daemon(&demo, store.clone())
        .acquire_token_on_behalf_of(
            incoming.access_token,
            ["https://graph.microsoft.com/.default"],
        )
        .await
        .unwrap();
    assert_eq!(again.token_source, TokenSource::Cache);
    assert_eq!(env.emulator.counters().obo_grants, 1);
}

#[tokio::test]
async fn apps_sharing_a_file_store_share_tokens() {
    let env = Env::start().await;
    let demo = env.emulator.register_demo_app();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.json");
    let first = env
        .daemon(&demo, Arc::new(FileStore::new(&path)))
        .acquire_token_for_client([SCOPE])
        .await
        .unwrap();
    assert_eq!(first.token_source, TokenSource::IdentityProvider);
    let second = env
        .daemon(&demo, Arc::new(FileStore::new(&path)))
        .acquire_token_for_client([SCOPE])
        .await
        .unwrap();
    assert_eq!(second.token_source, TokenSource::Cache);
    let saved = TokenCache::new();
    saved
        .deserialize(&std::fs::read_to_string(&path).unwrap())
        .unwrap();
    assert_eq!(saved.access_token_count(), 1);
}

#[tokio::test]
async fn a_failing_store_is_a_cache_error() {
    let env = Env::start().await;
    let demo = env.emulator.register_demo_app();
    let err = env
        .daemon(&demo, Arc::new(Down))
        .acquire_token_for_client([SCOPE])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cache);
    assert!(err.to_string().contains("the store is down"), "{err}");
    assert_eq!(env.token_requests(), 0, "nothing sent without the cache");
}

/// A file store that counts the loads that read the file.
#[derive(Debug)]
struct CountingFile {
    inner: FileStore,
    loads: AtomicUsize,
}

impl CachePersistence for CountingFile {
    fn load<'a>(&'a self, partition: &'a PartitionKey) -> PersistFuture<'a, Option<String>> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.inner.load(partition)
    }

    fn fingerprint<'a>(
        &'a self,
        partition: &'a PartitionKey,
    ) -> PersistFuture<'a, Option<Fingerprint>> {
        self.inner.fingerprint(partition)
    }

    fn update<'a>(&'a self, partition: &'a PartitionKey, edit: Edit<'a>) -> PersistFuture<'a, ()> {
        self.inner.update(partition, edit)
    }
}

#[tokio::test]
async fn a_file_unchanged_since_it_was_loaded_is_not_read_again() {
    let env = Env::start().await;
    let demo = env.emulator.register_demo_app();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.json");
    // Every write here is oxmsal's: the file's metadata is trusted at once
    // (no 2 s wait after a write).
    let store = Arc::new(CountingFile {
        inner: FileStore::new(&path),
        loads: AtomicUsize::new(0),
    });
    let app = env.daemon(&demo, store.clone());
    let first = app.acquire_token_for_client([SCOPE]).await.unwrap();
    assert_eq!(first.token_source, TokenSource::IdentityProvider);
    assert_eq!(store.loads.load(Ordering::SeqCst), 1);

    // The first hit reads the file the token was written to (the cache changed
    // since it was loaded); the next ones only look at its metadata.
    for _ in 0..20 {
        let hit = app.acquire_token_for_client([SCOPE]).await.unwrap();
        assert_eq!(hit.token_source, TokenSource::Cache);
    }
    assert_eq!(store.loads.load(Ordering::SeqCst), 2);

    // Another process empties the file: the next call reads it, finds no
    // token and asks the server.
    let app_partition = PartitionKey::App {
        client_id: demo.client_id.clone(),
        realm: env.emulator.tenant_id().to_owned(),
    };
    FileStore::new(&path)
        .update(&app_partition, &|_| Ok("{}".to_owned()))
        .await
        .unwrap();
    let after = app.acquire_token_for_client([SCOPE]).await.unwrap();
    assert_eq!(after.token_source, TokenSource::IdentityProvider);
    assert_eq!(store.loads.load(Ordering::SeqCst), 3);
    assert_eq!(env.token_requests(), 2);
}

/// The README's quick start in two processes: the second finds the user the
/// first signed in (its memory starts empty), and a sign-out by a third holds
/// for a fourth. A file that is not a cache is an error, not "nobody".
#[tokio::test]
async fn accounts_in_a_new_process_come_from_the_file_store() {
    let env = Env::start().await;
    let client_id = env.emulator.register_public_demo_app().client_id;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.json");
    let process = || env.public(&client_id, Arc::new(FileStore::new(&path)));
    let signed_in = Env::sign_in(&process(), USER_SCOPE).await;
    let account = signed_in.account.unwrap();

    let fresh = process();
    let accounts = fresh.accounts().await.unwrap();
    assert_eq!(accounts, vec![(*account).clone()]);
    let hit = fresh
        .acquire_token_silent([USER_SCOPE], &accounts[0])
        .await
        .unwrap();
    assert_eq!(hit.token_source, TokenSource::Cache);

    assert!(process().remove_account(&account).await.unwrap() > 0);
    assert!(process().accounts().await.unwrap().is_empty());

    std::fs::write(&path, "not a token cache").unwrap();
    let err = process().accounts().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cache, "{err}");
}

/// The same through a store of one document per partition: every user
/// partition is listed, and only those.
#[tokio::test]
async fn accounts_in_a_new_process_come_from_every_user_partition() {
    let env = Env::start().await;
    let client_id = env.emulator.register_public_demo_app().client_id;
    let store = Arc::new(Recording::default());
    let signed_in = Env::sign_in(&env.public(&client_id, store.clone()), USER_SCOPE).await;
    let account = signed_in.account.unwrap();

    let fresh = env.public(&client_id, store.clone());
    assert_eq!(fresh.token_cache().account_count(), 0);
    assert_eq!(fresh.accounts().await.unwrap(), vec![(*account).clone()]);
    assert!(store.calls().contains(&"load users".to_owned()));
}

/// Another MSAL's fields in the shared file (`name`, `tenantProfiles`, here
/// written by editing the JSON) survive the same user signing in again in a
/// new process, and a silent refresh in another.
#[tokio::test]
async fn signing_in_again_keeps_fields_another_library_wrote_in_the_file() {
    let env = Env::start().await;
    let client_id = env.emulator.register_public_demo_app().client_id;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.json");
    let process = || env.public(&client_id, Arc::new(FileStore::new(&path)));
    let first = Env::sign_in(&process(), USER_SCOPE).await;
    let account = first.account.unwrap();

    let sections = [
        "Account",
        "RefreshToken",
        "IdToken",
        "AccessToken",
        "AppMetadata",
    ];
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for section in sections {
        for entry in doc[section].as_object_mut().unwrap().values_mut() {
            entry["tenantProfiles"] = serde_json::json!([{"tenantId": "t", "isHomeTenant": true}]);
        }
    }
    for entry in doc["Account"].as_object_mut().unwrap().values_mut() {
        entry["name"] = "Alice Example".into();
    }
    std::fs::write(&path, doc.to_string()).unwrap();

    let again = Env::sign_in(&process(), USER_SCOPE).await;
    assert_ne!(
        again.access_token.expose_secret(),
        first.access_token.expose_secret()
    );
    let refreshed = process()
        .acquire_token_silent([USER_SCOPE], &account)
        .force_refresh(true)
        .await
        .unwrap();
    assert_eq!(refreshed.token_source, TokenSource::IdentityProvider);

    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for section in sections {
        let entries = doc[section].as_object().unwrap();
        assert!(!entries.is_empty(), "{section}");
        for entry in entries.values() {
            assert!(entry["tenantProfiles"].is_array(), "{section}: {entry}");
        }
    }
    let accounts = doc["Account"].as_object().unwrap();
    assert!(
        accounts.values().all(|a| a["name"] == "Alice Example"),
        "{doc}"
    );
    let ats = doc["AccessToken"].as_object().unwrap();
    assert!(
        ats.values()
            .any(|at| at["secret"] == refreshed.access_token.expose_secret()),
        "the new token is the one stored"
    );
}
