//! The credential chain against the emulator over real sockets: each step
//! picked by the (injected) environment, the federated token file read again
//! on every token request, the choice kept, and the report when nothing is set
//! up or a step fails.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::sync::Arc;

use jsonwebtoken::Algorithm;
use oxmsal::authority::InstanceDiscovery;
use oxmsal::cache::persist::FileStore;
use oxmsal::chain::{ChainEnvironment, CredentialChain, CredentialChainBuilder};
use oxmsal::managed_identity::ManagedIdentityEnvironment;
use oxmsal::{ErrorKind, PublicClientApplication, Secret, TokenSource};
use oxmsal_emulator::managed_identity::{ManagedIdentityEmulator, MiSource};
use oxmsal_emulator::testing::{client_certificate, ClientCertificate};
use oxmsal_emulator::{AppRegistration, Emulator};

const SCOPE: &str = "api://demo/.default";

/// A managed-identity environment with nothing in it but IMDS at a port
/// nobody listens on: the managed-identity step finds no endpoint at once.
fn no_managed_identity() -> ManagedIdentityEnvironment {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    ManagedIdentityEnvironment::empty()
        .var(
            "AZURE_POD_IDENTITY_AUTHORITY_HOST",
            format!("http://{closed}"),
        )
        .himds_path("/nonexistent/oxmsal-test/himds")
}

/// The emulator as the authority host, no managed identity, no home.
fn base_env(emulator: &Emulator) -> ChainEnvironment {
    ChainEnvironment::empty()
        .var("AZURE_AUTHORITY_HOST", emulator.base_url())
        .var("AZURE_TENANT_ID", emulator.tenant_id())
        .managed_identity(no_managed_identity())
}

fn chain(emulator: &Emulator, env: ChainEnvironment) -> CredentialChainBuilder {
    CredentialChain::builder(env)
        .extra_root_certificate_pem(emulator.ca_pem().as_bytes().to_vec())
        .instance_discovery(InstanceDiscovery::Endpoint(
            emulator.base_url().parse().unwrap(),
        ))
}

#[tokio::test]
async fn an_environment_secret_is_the_first_step_and_stays_chosen() {
    let s = common::setup().await;
    let env = base_env(&s.emulator)
        .var("AZURE_CLIENT_ID", s.demo.client_id.clone())
        .var("AZURE_CLIENT_SECRET", s.demo.secret.clone());
    let chain = chain(&s.emulator, env).build();
    let token = chain.get_token([SCOPE]).await.unwrap();
    assert_eq!(token.token_source, TokenSource::IdentityProvider);
    assert_eq!(chain.chosen_step(), Some("environment"));
    let again = chain.get_token([SCOPE]).await.unwrap();
    assert_eq!(again.token_source, TokenSource::Cache);
    assert_eq!(s.token_requests(), 1);
    let sent = &s.emulator.token_requests()[0];
    assert_eq!(sent.param("grant_type"), Some("client_credentials"));
    assert_eq!(sent.param("client_id"), Some(s.demo.client_id.as_str()));
}

#[tokio::test]
async fn an_environment_certificate_pem_or_pfx_gets_a_token() {
    let s = common::setup().await;
    let cert = client_certificate("chain-cert");
    s.emulator
        .register_app(
            AppRegistration::new("chain-cert-app").with_certificate_der(cert.cert_der.clone()),
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("app.pem");
    std::fs::write(&pem, cert.combined_pem()).unwrap();
    let pfx = dir.path().join("app.pfx");
    std::fs::write(&pfx, cert.pfx("pfx-password")).unwrap();

    for (path, password) in [(&pem, None), (&pfx, Some("pfx-password"))] {
        let mut env = base_env(&s.emulator)
            .var("AZURE_CLIENT_ID", "chain-cert-app")
            .var("AZURE_CLIENT_CERTIFICATE_PATH", path.to_str().unwrap());
        if let Some(password) = password {
            env = env.var("AZURE_CLIENT_CERTIFICATE_PASSWORD", password);
        }
        let chain = chain(&s.emulator, env).build();
        chain.get_token([SCOPE]).await.unwrap();
        assert_eq!(chain.chosen_step(), Some("environment"));
    }
    let sent = s.emulator.token_requests();
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|r| r.param("client_assertion_type")
        == Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")));
}

/// A federated token as Kubernetes would project it: a JWT for the app,
/// signed by `cert`'s key, for the emulator's token endpoint.
fn federated_token(cert: &ClientCertificate, client_id: &str, audience: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut header = jsonwebtoken::Header::new(Algorithm::PS256);
    header.x5t_s256 = Some(cert.x5t_s256());
    let claims = serde_json::json!({
        "aud": audience, "iss": client_id, "sub": client_id,
        "iat": now, "nbf": now, "exp": now + 600, "jti": uuid::Uuid::new_v4().to_string(),
    });
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(cert.key_pem.as_bytes()).unwrap();
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

#[tokio::test]
async fn workload_identity_reads_the_token_file_on_every_token_request() {
    let s = common::setup().await;
    let registered = client_certificate("workload");
    let stranger = client_certificate("stranger");
    s.emulator
        .register_app(
            AppRegistration::new("workload-app").with_certificate_der(registered.cert_der.clone()),
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("azure-identity-token");
    let write = |cert: &ClientCertificate| {
        std::fs::write(
            &file,
            federated_token(cert, "workload-app", &s.emulator.token_endpoint()),
        )
        .unwrap()
    };
    write(&registered);
    let env = base_env(&s.emulator)
        .var("AZURE_CLIENT_ID", "workload-app")
        .var("AZURE_FEDERATED_TOKEN_FILE", file.to_str().unwrap());
    let chain = chain(&s.emulator, env).build();
    chain.get_token([SCOPE]).await.unwrap();
    assert_eq!(chain.chosen_step(), Some("workload identity"));

    // The file now holds a token the emulator refuses: the next request reads it.
    write(&stranger);
    let err = chain.get_token(["api://other/.default"]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Service, "{err}");
    // And a good one again.
    write(&registered);
    chain.get_token(["api://other/.default"]).await.unwrap();
    assert_eq!(s.token_requests(), 3);
    let sent = s.emulator.token_requests();
    assert!(sent.iter().all(|r| r.param("client_assertion_type")
        == Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")));
}

#[tokio::test]
async fn managed_identity_is_used_when_the_host_has_an_endpoint() {
    let s = common::setup().await;
    let mi = ManagedIdentityEmulator::start(MiSource::AppService)
        .await
        .unwrap();
    let mi_env = mi.env().into_iter().fold(
        ManagedIdentityEnvironment::empty().himds_path("/nonexistent/oxmsal-test/himds"),
        |env, (name, value)| env.var(name, value),
    );
    let env = base_env(&s.emulator).managed_identity(mi_env);
    let chain = chain(&s.emulator, env).build();
    let token = chain
        .get_token(["https://vault.azure.net/.default"])
        .await
        .unwrap();
    assert!(token
        .access_token
        .expose_secret()
        .starts_with("mi-app_service-"));
    assert_eq!(chain.chosen_step(), Some("managed identity"));
    assert_eq!(mi.request_count(), 1);
    assert_eq!(s.token_requests(), 0);
}

/// Signs the emulator's user in through a public app whose cache is the file
/// at `path`, as the Azure CLI's client id.
async fn sign_in_to_shared_cache(emulator: &Emulator, path: &Path) {
    let app = PublicClientApplication::builder(SHARED_CACHE_CLIENT_ID)
        .authority(emulator.authority())
        .extra_root_certificate_pem(emulator.ca_pem().as_bytes().to_vec())
        .instance_discovery(InstanceDiscovery::Endpoint(
            emulator.base_url().parse().unwrap(),
        ))
        .cache_persistence(Arc::new(FileStore::new(path)))
        .build()
        .unwrap();
    app.acquire_token_by_username_password(
        oxmsal_emulator::DEFAULT_USERNAME,
        Secret::new(oxmsal_emulator::DEFAULT_USER_PASSWORD),
        ["User.Read"],
    )
    .await
    .unwrap();
}

const SHARED_CACHE_CLIENT_ID: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";

#[tokio::test]
async fn the_shared_cache_account_is_the_last_step() {
    let s = common::setup().await;
    s.emulator
        .register_app(AppRegistration::new(SHARED_CACHE_CLIENT_ID).with_public_client(true))
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    // The default path: <home>/.IdentityService/msal.cache.
    let path = home.path().join(".IdentityService").join("msal.cache");
    sign_in_to_shared_cache(&s.emulator, &path).await;
    let requests_before = s.token_requests();

    let env = base_env(&s.emulator).home(home.path());
    let chain = chain(&s.emulator, env).build();
    let token = chain.get_token(["User.Read"]).await.unwrap();
    assert_eq!(chain.chosen_step(), Some("shared cache"));
    assert_eq!(token.token_source, TokenSource::Cache);
    assert_eq!(
        token.account.unwrap().username,
        oxmsal_emulator::DEFAULT_USERNAME
    );
    // A scope not in the cache: the refresh token from the file.
    let other = chain.get_token(["Mail.Read"]).await.unwrap();
    assert_eq!(other.token_source, TokenSource::IdentityProvider);
    assert_eq!(s.token_requests(), requests_before + 1);
    assert_eq!(
        s.emulator
            .token_requests()
            .last()
            .unwrap()
            .param("grant_type"),
        Some("refresh_token")
    );

    // AZURE_USERNAME naming nobody in the cache: the step is skipped.
    let env = base_env(&s.emulator)
        .home(home.path())
        .var("AZURE_USERNAME", "nobody@contoso.com");
    let err = chain_err(&s.emulator, env).await;
    assert!(
        err.contains("shared cache: skipped: no account in the cache has the username"),
        "{err}"
    );
}

async fn chain_err(emulator: &Emulator, env: ChainEnvironment) -> String {
    let err = chain(emulator, env)
        .build()
        .get_token([SCOPE])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    err.to_string()
}

#[tokio::test]
async fn nothing_set_up_reports_every_step_and_why() {
    let s = common::setup().await;
    let home = tempfile::tempdir().unwrap();
    let env = base_env(&s.emulator).home(home.path());
    let chain = chain(&s.emulator, env).build();
    let err = chain.get_token([SCOPE]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    let text = err.to_string();
    for expected in [
        "environment: skipped: AZURE_CLIENT_ID or AZURE_TENANT_ID is not set",
        "workload identity: skipped: AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID or AZURE_TENANT_ID is not set",
        "managed identity: skipped: no endpoint answered",
        "shared cache: skipped: no account is signed in to the cache",
    ] {
        assert!(text.contains(expected), "{expected:?} not in {text}");
    }
    assert_eq!(chain.chosen_step(), None);
    assert_eq!(s.token_requests(), 0);
}

#[tokio::test]
async fn a_step_that_fails_ends_the_chain_and_the_report_shows_no_secret() {
    let s = common::setup().await;
    let env = base_env(&s.emulator)
        .var("AZURE_CLIENT_ID", s.demo.client_id.clone())
        .var("AZURE_CLIENT_SECRET", "wrong-secret-value");
    let chain = chain(&s.emulator, env).build();
    let err = chain.get_token([SCOPE]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    let text = format!("{err} {err:?}");
    assert!(
        text.contains("environment: failed: the identity platform returned `invalid_client`"),
        "{text}"
    );
    assert!(text.contains("workload identity: not tried"), "{text}");
    assert!(text.contains("shared cache: not tried"), "{text}");
    assert!(!text.contains("wrong-secret-value"), "{text}");
    assert_eq!(chain.chosen_step(), None);

    // A certificate file that is a link out of its directory is refused, nothing sent.
    let elsewhere = tempfile::tempdir().unwrap();
    let target = elsewhere.path().join("real.pem");
    std::fs::write(&target, client_certificate("l").combined_pem()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("link.pem");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&target, &link).unwrap();
    #[cfg(unix)]
    {
        let before = s.token_requests();
        let env = base_env(&s.emulator)
            .var("AZURE_CLIENT_ID", "x")
            .var("AZURE_CLIENT_CERTIFICATE_PATH", link.to_str().unwrap());
        let text = chain_err(&s.emulator, env).await;
        assert!(text.contains("environment: failed"), "{text}");
        assert!(text.contains("is a symbolic link"), "{text}");
        assert_eq!(s.token_requests(), before);
    }
}

/// A TCP endpoint that accepts connections and closes them at once, counting them.
fn closing_endpoint() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(stream);
        }
    });
    (format!("http://{addr}"), accepted)
}

#[tokio::test]
async fn imds_is_probed_once_without_retries_before_the_chain_moves_on() {
    let s = common::setup().await;
    let (imds, accepted) = closing_endpoint();
    let home = tempfile::tempdir().unwrap();
    let env = base_env(&s.emulator).home(home.path()).managed_identity(
        ManagedIdentityEnvironment::empty()
            .var("AZURE_POD_IDENTITY_AUTHORITY_HOST", imds)
            .himds_path("/nonexistent/oxmsal-test/himds"),
    );
    let err = chain(&s.emulator, env)
        .build()
        .get_token([SCOPE])
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("managed identity: skipped: no endpoint answered"),
        "{text}"
    );
    assert!(text.contains("shared cache: skipped"), "{text}");
    // One connection: the probe is not retried.
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_imds_probe_answered_with_an_error_hands_over_to_the_retrying_client() {
    let s = common::setup().await;
    let mi = ManagedIdentityEmulator::start(MiSource::Imds)
        .await
        .unwrap();
    mi.push_fault(500, 1, None);
    let mi_env = mi.env().into_iter().fold(
        ManagedIdentityEnvironment::empty().himds_path("/nonexistent/oxmsal-test/himds"),
        |env, (name, value)| env.var(name, value),
    );
    let chain = chain(&s.emulator, base_env(&s.emulator).managed_identity(mi_env)).build();
    let token = chain
        .get_token(["https://vault.azure.net/.default"])
        .await
        .unwrap();
    assert!(token.access_token.expose_secret().starts_with("mi-imds-"));
    assert_eq!(chain.chosen_step(), Some("managed identity"));
    // The probe's 500, then the regular client's request.
    assert_eq!(mi.request_count(), 2);
}

#[tokio::test]
async fn a_step_failing_for_a_passing_reason_is_a_transport_error_keeping_it_as_source() {
    let s = common::setup().await;
    // More 503s than the app's retries: the step fails with a transient error.
    s.emulator
        .inject_n(oxmsal_emulator::Fault::server_error(503), 10);
    let env = base_env(&s.emulator)
        .var("AZURE_CLIENT_ID", s.demo.client_id.clone())
        .var("AZURE_CLIENT_SECRET", s.demo.secret.clone());
    let err = chain(&s.emulator, env)
        .build()
        .get_token([SCOPE])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert!(err.is_transient());
    assert!(err.to_string().contains("environment: failed"), "{err}");
    let source = std::error::Error::source(&err)
        .and_then(|e| e.downcast_ref::<oxmsal::Error>())
        .expect("the step's error is the source");
    assert!(source.is_transient());
}

/// The chain as a [`TokenProvider`](oxmsal::provider::TokenProvider) (what the
/// middleware takes): a claims challenge reaches the chosen step's request.
#[tokio::test]
async fn the_chain_as_a_token_provider_passes_claims_to_the_chosen_step() {
    use oxmsal::provider::TokenProvider;
    let s = common::setup().await;
    let env = base_env(&s.emulator)
        .var("AZURE_CLIENT_ID", s.demo.client_id.clone())
        .var("AZURE_CLIENT_SECRET", s.demo.secret.clone());
    let chain = chain(&s.emulator, env).build();
    let scopes = [SCOPE.to_owned()];
    let first = chain.token(&scopes, None).await.unwrap();
    assert_eq!(first.token_source, TokenSource::IdentityProvider);
    let claims = r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#;
    let fresh = chain.token(&scopes, Some(claims)).await.unwrap();
    assert_eq!(
        fresh.token_source,
        TokenSource::IdentityProvider,
        "claims skip the cache"
    );
    assert_eq!(s.token_requests(), 2);
    let sent = s.emulator.token_requests().pop().unwrap();
    assert_eq!(
        sent.claims.unwrap()["access_token"]["nbf"]["value"],
        "1700000000"
    );
}
