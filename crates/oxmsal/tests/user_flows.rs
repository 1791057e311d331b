//! Every user flow end to end against the emulator over HTTPS.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use oxmsal::authority::InstanceDiscovery;
use oxmsal::credential::ClientCredential;
use oxmsal::{
    Browser, ErrorKind, ManualClock, PublicClientApplication, Secret, TokenCache, TokenSource,
};
use oxmsal_emulator::{
    AuthorizeOutcome, Emulator, EmulatorConfig, Fault, User, DEFAULT_USERNAME,
    DEFAULT_USER_PASSWORD,
};

const SCOPE: &str = "User.Read";

struct Env {
    emulator: Arc<Emulator>,
    clock: ManualClock,
    client_id: String,
}

async fn env_with(config: EmulatorConfig) -> Env {
    let emulator = Arc::new(Emulator::start_with(config).await.unwrap());
    let client_id = emulator.register_public_demo_app().client_id;
    Env {
        emulator,
        clock: ManualClock::at(std::time::SystemTime::now()),
        client_id,
    }
}

/// The client's clock is a manual one, so the emulator must not judge polling
/// speed by real time; `slow_down` is injected instead.
fn config() -> EmulatorConfig {
    EmulatorConfig::default()
        .with_device_code_interval(Duration::from_secs(1))
        .with_device_code_interval_enforced(false)
}

async fn env() -> Env {
    env_with(config()).await
}

impl Env {
    fn builder<K>(
        &self,
        b: oxmsal::app::AppBuilder<K>,
        cache: TokenCache,
    ) -> oxmsal::app::AppBuilder<K> {
        b.authority(self.emulator.authority())
            .extra_root_certificate_pem(self.emulator.ca_pem().as_bytes().to_vec())
            .instance_discovery(InstanceDiscovery::Endpoint(
                url::Url::parse(&self.emulator.base_url()).unwrap(),
            ))
            .clock(Arc::new(self.clock.clone()))
            .token_cache(cache)
    }

    fn app_for(&self, client_id: &str, cache: TokenCache) -> PublicClientApplication {
        self.builder(PublicClientApplication::builder(client_id), cache)
            .build()
            .unwrap()
    }

    fn app(&self) -> PublicClientApplication {
        self.app_for(&self.client_id, TokenCache::new())
    }

    /// Approves (or denies) the next device code as Alice from another task.
    fn answer_device_code_soon(&self, approve: bool) -> tokio::task::JoinHandle<()> {
        let emulator = self.emulator.clone();
        tokio::spawn(async move {
            for _ in 0..1000 {
                if let Some(code) = emulator.pending_device_codes().first() {
                    if approve {
                        emulator
                            .approve_device_code(&code.user_code, DEFAULT_USERNAME)
                            .unwrap();
                    } else {
                        emulator.deny_device_code(&code.user_code).unwrap();
                    }
                    return;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            panic!("no device code appeared");
        })
    }

    async fn sign_in_with_password(
        &self,
        app: &PublicClientApplication,
    ) -> oxmsal::AuthenticationResult {
        app.acquire_token_by_username_password(
            DEFAULT_USERNAME,
            Secret::new(DEFAULT_USER_PASSWORD),
            [SCOPE],
        )
        .await
        .unwrap()
    }

    /// What a browser does with auto sign-in: GET the authorize URL, read the redirect.
    async fn browse(&self, auth_uri: &str) -> url::Url {
        let client = reqwest::Client::builder()
            .tls_certs_only([
                reqwest::Certificate::from_pem(self.emulator.ca_pem().as_bytes()).unwrap(),
            ])
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap();
        let response = client.get(auth_uri).send().await.unwrap();
        assert!(
            response.status().is_redirection(),
            "status {}",
            response.status()
        );
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        url::Url::parse(&location).unwrap()
    }
}

fn query_map(url: &url::Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_code_sign_in_then_silent_hit_with_account() {
    let e = env().await;
    let app = e.app();
    let flow = app.initiate_device_flow([SCOPE]).await.unwrap();
    assert!(!flow.user_code.is_empty() && flow.message.contains(&flow.user_code));
    let approver = e.answer_device_code_soon(true);
    let token = app.acquire_token_by_device_flow(&flow).await.unwrap();
    approver.await.unwrap();
    assert_eq!(token.token_source, TokenSource::IdentityProvider);
    let account = token.account.clone().expect("the account");
    assert_eq!(account.username, DEFAULT_USERNAME);
    assert_eq!(
        token.id_token_claims.as_ref().unwrap()["preferred_username"],
        DEFAULT_USERNAME
    );
    assert_eq!(app.accounts().await.unwrap(), vec![(*account).clone()]);

    let hit = app.acquire_token_silent([SCOPE], &account).await.unwrap();
    assert_eq!(hit.token_source, TokenSource::Cache);
    assert_eq!(
        hit.account.as_ref(),
        Some(&account),
        "a cache hit carries the account"
    );
    assert!(hit.id_token_claims.is_some(), "and the id token claims");
    assert!(e.emulator.counters().device_code_polls >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_code_declined_expired_cancelled_slow_down() {
    let e = env_with(config().with_device_code_expires_in(Duration::from_secs(5))).await;
    let app = e.app();

    let flow = app.initiate_device_flow([SCOPE]).await.unwrap();
    let denier = e.answer_device_code_soon(false);
    let err = app.acquire_token_by_device_flow(&flow).await.unwrap_err();
    denier.await.unwrap();
    assert_eq!(err.kind(), ErrorKind::Service);
    assert_eq!(err.service().unwrap().error, "authorization_declined");

    // Nobody approves: the deadline (expires_in on the injected clock) ends it.
    let flow = app.initiate_device_flow([SCOPE]).await.unwrap();
    let err = app.acquire_token_by_device_flow(&flow).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled, "{err}");

    // The caller cancels.
    let flow = app.initiate_device_flow([SCOPE]).await.unwrap();
    let err = app
        .acquire_token_by_device_flow(&flow)
        .cancel_on(async {})
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled);

    // slow_down adds 5 s to the interval and polling goes on.
    let e = env().await;
    let app = e.app();
    let flow = app.initiate_device_flow([SCOPE]).await.unwrap();
    e.emulator.device_code_slow_down_next(2);
    let before = oxmsal::Clock::now_epoch(&e.clock);
    let approver = e.answer_device_code_soon(true);
    let token = app.acquire_token_by_device_flow(&flow).await.unwrap();
    approver.await.unwrap();
    assert!(token.account.is_some());
    assert!(
        oxmsal::Clock::now_epoch(&e.clock) - before >= 1 + 6 + 11,
        "intervals grew by 5 s per slow_down"
    );
}

#[tokio::test]
async fn auth_code_with_pkce_state_and_nonce() {
    let e = env().await;
    let app = e.app();
    let flow = app
        .initiate_auth_code_flow([SCOPE], "http://localhost:8400")
        .login_hint(DEFAULT_USERNAME)
        .await
        .unwrap();
    let auth = url::Url::parse(&flow.auth_uri).unwrap();
    let q = query_map(&auth);
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["state"], flow.state);
    assert!(q.contains_key("nonce"));
    let redirect = e.browse(&flow.auth_uri).await;
    assert_eq!(redirect.port(), Some(8400));
    let token = app
        .acquire_token_by_auth_code_flow(&flow, &query_map(&redirect))
        .await
        .unwrap();
    assert_eq!(token.account.unwrap().username, DEFAULT_USERNAME);
    let sent = e.emulator.token_requests().pop().unwrap();
    assert_eq!(sent.param("grant_type"), Some("authorization_code"));
    assert_eq!(sent.param("code_verifier"), Some("<redacted>"));

    // State mismatch: an error value, nothing sent.
    let flow = app
        .initiate_auth_code_flow([SCOPE], "http://localhost:8400")
        .login_hint(DEFAULT_USERNAME)
        .await
        .unwrap();
    let mut params = query_map(&e.browse(&flow.auth_uri).await);
    params.insert("state".into(), "forged".into());
    let before = e.emulator.counters().token_requests;
    let err = app
        .acquire_token_by_auth_code_flow(&flow, &params)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidResponse);
    assert!(err.to_string().contains("state mismatch"), "{err}");
    assert_eq!(e.emulator.counters().token_requests, before);

    // The user cancels: error=access_denied comes back as the server's error.
    e.emulator
        .set_authorize_outcome(AuthorizeOutcome::AccessDenied);
    let flow = app
        .initiate_auth_code_flow([SCOPE], "http://localhost:8400")
        .login_hint(DEFAULT_USERNAME)
        .await
        .unwrap();
    let params = query_map(&e.browse(&flow.auth_uri).await);
    let err = app
        .acquire_token_by_auth_code_flow(&flow, &params)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Service);
    assert_eq!(err.service().unwrap().error, "access_denied");

    // Another flow's code: PKCE binds the code to its verifier.
    let a = app
        .initiate_auth_code_flow([SCOPE], "http://localhost:8400")
        .login_hint(DEFAULT_USERNAME)
        .await
        .unwrap();
    let b = app
        .initiate_auth_code_flow([SCOPE], "http://localhost:8400")
        .login_hint(DEFAULT_USERNAME)
        .await
        .unwrap();
    let mut params = query_map(&e.browse(&a.auth_uri).await);
    params.insert("state".into(), b.state.clone());
    let err = app
        .acquire_token_by_auth_code_flow(&b, &params)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Service);
    assert_eq!(err.aadsts(), Some(501481));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interactive_through_the_loopback_listener() {
    let e = env().await;
    // The wait for the browser runs on the app's clock; a manual clock would end
    // it at once, so this app keeps the real one (the timeout test below doesn't).
    let app = PublicClientApplication::builder(e.client_id.clone())
        .authority(e.emulator.authority())
        .extra_root_certificate_pem(e.emulator.ca_pem().as_bytes().to_vec())
        .instance_discovery(InstanceDiscovery::Disabled)
        .build()
        .unwrap();
    let ca = e.emulator.ca_pem().to_owned();
    // The "browser": follows the authorize redirect to the loopback listener.
    let browser = Browser::Callback(Arc::new(move |url: &str| {
        let url = url.to_owned();
        let ca = ca.clone();
        tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .tls_certs_only([reqwest::Certificate::from_pem(ca.as_bytes()).unwrap()])
                .no_proxy()
                .build()
                .unwrap();
            let page = client.get(&url).send().await.unwrap().text().await.unwrap();
            assert!(page.contains("close this window"), "{page}");
        });
    }));
    let token = app
        .acquire_token_interactive([SCOPE])
        .login_hint(DEFAULT_USERNAME)
        .browser(browser)
        .timeout(Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(token.account.unwrap().username, DEFAULT_USERNAME);

    // Nobody signs in: the timeout (on the injected clock, so at once) cancels.
    let err = e
        .app()
        .acquire_token_interactive([SCOPE])
        .browser(Browser::Callback(Arc::new(|_url: &str| {})))
        .timeout(Duration::from_secs(60))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled);
}

#[tokio::test]
async fn username_password_managed_wrong_and_federated() {
    let e = env().await;
    let app = e.app();
    let token = e.sign_in_with_password(&app).await;
    assert_eq!(token.account.unwrap().username, DEFAULT_USERNAME);

    let err = app
        .acquire_token_by_username_password(DEFAULT_USERNAME, Secret::new("wrong"), [SCOPE])
        .await
        .unwrap_err();
    assert_eq!(err.aadsts(), Some(50126));
    assert!(!err.to_string().contains("wrong"));

    e.emulator
        .add_user(User::new("fed@contoso.onmicrosoft.com", "pw").with_federated(true))
        .unwrap();
    let err = app
        .acquire_token_by_username_password(
            "fed@contoso.onmicrosoft.com",
            Secret::new("pw"),
            [SCOPE],
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Service);
    assert!(
        err.to_string().to_lowercase().contains("federated"),
        "{err}"
    );
}

#[tokio::test]
async fn refresh_token_import_creates_the_account() {
    let e = env().await;
    let first = e.sign_in_with_password(&e.app()).await;
    let rt = first.to_msal_json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let fresh = e.app();
    assert!(fresh.accounts().await.unwrap().is_empty());
    let token = fresh
        .acquire_token_by_refresh_token(Secret::new(rt), [SCOPE])
        .await
        .unwrap();
    assert_eq!(token.token_source, TokenSource::IdentityProvider);
    assert_eq!(fresh.accounts().await.unwrap().len(), 1);
}

#[tokio::test]
async fn silent_refreshes_past_refresh_on_and_falls_back_on_failure() {
    let e = env_with(config().with_refresh_in(Duration::from_secs(600))).await;
    let app = e.app();
    let first = e.sign_in_with_password(&app).await;
    let account = first.account.clone().unwrap();
    assert!(first.refresh_on.is_some());

    e.clock.advance(Duration::from_secs(601));
    // Refresh fails twice (retry included): the still-valid token is served.
    e.emulator.inject_n(Fault::server_error(500), 2);
    let fallback = app.acquire_token_silent([SCOPE], &account).await.unwrap();
    assert_eq!(fallback.token_source, TokenSource::Cache);
    assert_eq!(fallback.access_token, first.access_token);
    assert_eq!(e.emulator.counters().refresh_token_grants, 2);

    // The throttle remembers the 500 for 60 s (public client); past it, a refresh.
    e.clock.advance(Duration::from_secs(61));
    let refreshed = app.acquire_token_silent([SCOPE], &account).await.unwrap();
    assert_eq!(refreshed.token_source, TokenSource::IdentityProvider);
    assert_ne!(refreshed.access_token, first.access_token);
    assert_eq!(e.emulator.counters().refresh_token_grants, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_silent_calls_refresh_once() {
    let e = env_with(config().with_refresh_in(Duration::from_secs(600))).await;
    let app = e.app();
    let account = e.sign_in_with_password(&app).await.account.unwrap();
    e.clock.advance(Duration::from_secs(601));
    let before = e.emulator.counters().refresh_token_grants;
    let mut tasks = Vec::new();
    for _ in 0..1000 {
        let app = app.clone();
        let account = account.clone();
        tasks.push(tokio::spawn(async move {
            app.acquire_token_silent([SCOPE], &account).await
        }));
    }
    for t in tasks {
        t.await.unwrap().expect("every caller gets a token");
    }
    assert_eq!(
        e.emulator.counters().refresh_token_grants - before,
        1,
        "exactly one refresh request"
    );
}

#[tokio::test]
async fn revoked_refresh_token_needs_interaction_and_is_kept() {
    let e = env().await;
    let app = e.app();
    let account = e.sign_in_with_password(&app).await.account.unwrap();
    let rts = app.token_cache().refresh_token_count();
    e.emulator.revoke_refresh_tokens(DEFAULT_USERNAME);
    let err = app
        .acquire_token_silent([SCOPE], &account)
        .force_refresh(true)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Service);
    assert!(err.requires_interaction(), "{err}");
    let json = err.to_msal_json();
    assert_eq!(json["suberror"], "bad_token");
    assert_eq!(json["classification"], "", "MSAL's silent classification");
    assert_eq!(
        app.token_cache().refresh_token_count(),
        rts,
        "invalid_grant keeps the refresh token"
    );
}

/// Two refresh-token entries holding one token (a refresh for another scope
/// writes its own entry): once the token is revoked, the user is asked to
/// sign in again after one refusal; the same token is not sent again (it
/// would be refused again, and the throttle would answer "throttled").
#[tokio::test]
async fn a_revoked_refresh_token_in_two_entries_is_sent_once() {
    let e = env().await;
    let app = e.app();
    let account = e.sign_in_with_password(&app).await.account.unwrap();
    let other = app
        .acquire_token_silent(["Mail.Read"], &account)
        .await
        .unwrap();
    assert_eq!(other.token_source, TokenSource::IdentityProvider);
    assert_eq!(
        app.token_cache().refresh_token_count(),
        2,
        "one entry per target"
    );
    e.emulator.revoke_refresh_tokens(DEFAULT_USERNAME);
    let before = e.emulator.counters().refresh_token_grants;
    let err = app
        .acquire_token_silent(["Files.Read"], &account)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Service, "{err}");
    assert!(err.requires_interaction(), "{err}");
    assert_eq!(e.emulator.counters().refresh_token_grants, before + 1);
}

#[tokio::test]
async fn no_cached_token_and_remove_account() {
    let e = env().await;
    let app = e.app();
    let account = e.sign_in_with_password(&app).await.account.unwrap();
    assert!(app.remove_account(&account).await.unwrap() > 0);
    assert!(app.accounts().await.unwrap().is_empty());
    let err = app
        .acquire_token_silent([SCOPE], &account)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoCachedToken);
    assert_eq!(err.to_msal_json()["error"], "no_cached_token");
}

#[tokio::test]
async fn family_refresh_token_serves_another_family_app() {
    let e = env().await;
    let (first, second) = e.emulator.register_family_apps();
    let cache = TokenCache::new();
    let app1 = e.app_for(&first, cache.clone());
    let account = e.sign_in_with_password(&app1).await.account.unwrap();
    let app2 = e.app_for(&second, cache);
    let before = e.emulator.counters().refresh_token_grants;
    let token = app2.acquire_token_silent([SCOPE], &account).await.unwrap();
    assert_eq!(token.token_source, TokenSource::IdentityProvider);
    assert_eq!(e.emulator.counters().refresh_token_grants - before, 1);
    let sent = e.emulator.token_requests().pop().unwrap();
    assert_eq!(sent.param("client_id"), Some(second.as_str()));
}

#[tokio::test]
async fn confidential_web_app_auth_code_silent_and_on_behalf_of() {
    let e = env().await;
    let demo = e.emulator.register_demo_app();
    let web = e
        .builder(
            oxmsal::ConfidentialClientApplication::builder(
                demo.client_id.clone(),
                ClientCredential::secret(demo.secret.clone()),
            ),
            TokenCache::new(),
        )
        .build()
        .unwrap();
    let flow = web
        .initiate_auth_code_flow([SCOPE], "http://localhost:5000")
        .login_hint(DEFAULT_USERNAME)
        .await
        .unwrap();
    let redirect = e.browse(&flow.auth_uri).await;
    let token = web
        .acquire_token_by_auth_code_flow(&flow, &query_map(&redirect))
        .await
        .unwrap();
    let account = token.account.clone().unwrap();
    assert_eq!(web.accounts().await.unwrap(), vec![(*account).clone()]);
    let hit = web.acquire_token_silent([SCOPE], &account).await.unwrap();
    assert_eq!(hit.token_source, TokenSource::Cache);

    // A user calls the web API with a token for it; the API goes on behalf of them.
    let client = e.app();
    let api_scope = format!("api://{}/access_as_user", demo.client_id);
    let incoming = client
        .acquire_token_by_username_password(
            DEFAULT_USERNAME,
            Secret::new(DEFAULT_USER_PASSWORD),
            [api_scope],
        )
        .await
        .unwrap();
    let assertion = incoming.access_token.clone();
    let downstream = web
        .acquire_token_on_behalf_of(assertion.clone(), ["https://graph.microsoft.com/.default"])
        .await
        .unwrap();
    assert_eq!(downstream.token_source, TokenSource::IdentityProvider);
    let again = web
        .acquire_token_on_behalf_of(assertion.clone(), ["https://graph.microsoft.com/.default"])
        .await
        .unwrap();
    assert_eq!(
        again.token_source,
        TokenSource::Cache,
        "same assertion, cache hit"
    );
    assert_eq!(e.emulator.counters().obo_grants, 1);

    // A claims request skips the cache and goes with the grant; every option is taken.
    let claims = r#"{"access_token":{"acrs":{"essential":true,"value":"c1"}}}"#;
    let stepped_up = web
        .acquire_token_on_behalf_of(assertion.clone(), ["https://graph.microsoft.com/.default"])
        .claims(claims)
        .tenant(oxmsal_emulator::DEFAULT_TENANT_DOMAIN)
        .correlation_id("obo-step-up")
        .await
        .unwrap();
    assert_eq!(stepped_up.token_source, TokenSource::IdentityProvider);
    assert_eq!(e.emulator.counters().obo_grants, 2);
    let sent = e.emulator.token_requests().pop().unwrap();
    assert_eq!(sent.params["requested_token_use"], "on_behalf_of");
    assert_eq!(sent.claims.unwrap()["access_token"]["acrs"]["value"], "c1");
    assert_eq!(sent.headers["client-request-id"], "obo-step-up");
}

/// A web API under load: a thousand concurrent on-behalf-of calls with one
/// incoming token send one grant; past `refresh_on` the token is refreshed
/// (and still served when the refresh fails); `force_refresh` skips the cache.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_behalf_of_single_flight_refresh_on_and_force_refresh() {
    let e = env_with(config().with_refresh_in(Duration::from_secs(600))).await;
    let demo = e.emulator.register_demo_app();
    let api = e
        .builder(
            oxmsal::ConfidentialClientApplication::builder(
                demo.client_id.clone(),
                ClientCredential::secret(demo.secret.clone()),
            ),
            TokenCache::new(),
        )
        .build()
        .unwrap();
    let incoming = e
        .app()
        .acquire_token_by_username_password(
            DEFAULT_USERNAME,
            Secret::new(DEFAULT_USER_PASSWORD),
            [format!("api://{}/access_as_user", demo.client_id)],
        )
        .await
        .unwrap()
        .access_token;
    const GRAPH: &str = "https://graph.microsoft.com/.default";

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..1000 {
        let (api, incoming) = (api.clone(), incoming.clone());
        tasks.spawn(async move {
            let t = api
                .acquire_token_on_behalf_of(incoming, [GRAPH])
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
    assert_eq!(e.emulator.counters().obo_grants, 1);

    let obo = || api.acquire_token_on_behalf_of(incoming.clone(), [GRAPH]);
    let cached = obo().await.unwrap();
    assert_eq!(cached.token_source, TokenSource::Cache);

    // Past refresh_on, the refresh fails: the still-valid token is served.
    e.clock.advance(Duration::from_secs(601));
    e.emulator.inject_n(Fault::server_error(500), 2);
    let fallback = obo().await.unwrap();
    assert_eq!(fallback.token_source, TokenSource::Cache);
    assert_eq!(fallback.access_token, cached.access_token);
    assert_eq!(
        e.emulator.counters().obo_grants,
        3,
        "the refresh and its retry"
    );

    // Once the server answers (and the throttle's 60 s are over), a new token.
    e.clock.advance(Duration::from_secs(61));
    let refreshed = obo().await.unwrap();
    assert_eq!(refreshed.token_source, TokenSource::IdentityProvider);
    assert_ne!(refreshed.access_token, cached.access_token);
    assert_eq!(obo().await.unwrap().token_source, TokenSource::Cache);

    let forced = obo().force_refresh(true).await.unwrap();
    assert_eq!(forced.token_source, TokenSource::IdentityProvider);
    assert_eq!(e.emulator.counters().obo_grants, 5);
}

impl Env {
    fn web_app(&self, demo: &oxmsal_emulator::DemoApp) -> oxmsal::ConfidentialClientApplication {
        self.builder(
            oxmsal::ConfidentialClientApplication::builder(
                demo.client_id.clone(),
                ClientCredential::secret(demo.secret.clone()),
            ),
            TokenCache::new(),
        )
        .build()
        .unwrap()
    }
}

/// A web app's two requests land on different instances: the flow started
/// in one is kept as JSON (a session store) and finished by another.
#[tokio::test]
async fn an_auth_code_flow_kept_as_json_is_finished_by_another_instance() {
    let e = env().await;
    let demo = e.emulator.register_demo_app();
    let first = e.web_app(&demo);
    let flow = first
        .initiate_auth_code_flow([SCOPE], "http://localhost:5000")
        .login_hint(DEFAULT_USERNAME)
        .domain_hint("contoso.com")
        .max_age(600)
        .extra_scopes_to_consent(["api://other/read"])
        .await
        .unwrap();
    let auth = url::Url::parse(&flow.auth_uri).unwrap();
    let q = query_map(&auth);
    assert_eq!(q["domain_hint"], "contoso.com");
    assert_eq!(q["max_age"], "600");
    assert!(
        q["scope"].split(' ').any(|s| s == "api://other/read"),
        "{}",
        q["scope"]
    );
    let saved = flow.to_json();
    let json: serde_json::Value = serde_json::from_str(&saved).unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(json["client_id"], demo.client_id.as_str());
    assert_eq!(json["state"], flow.state.as_str());
    assert_eq!(
        json["expires_on"].as_u64().unwrap(),
        oxmsal::Clock::now_epoch(&e.clock) + 3600
    );
    drop(first);

    let redirect = e.browse(&flow.auth_uri).await;
    let second = e.web_app(&demo);
    let restored: oxmsal::AuthCodeFlow = serde_json::from_str(&saved).unwrap();
    let token = second
        .acquire_token_by_auth_code_flow(&restored, &query_map(&redirect))
        .await
        .unwrap();
    assert_eq!(token.token_source, TokenSource::IdentityProvider);
    assert_eq!(token.account.unwrap().username, DEFAULT_USERNAME);
    let sent = e.emulator.token_requests().pop().unwrap();
    assert_eq!(sent.params["grant_type"], "authorization_code");
    assert!(
        sent.params.contains_key("code_verifier"),
        "the verifier came through the JSON"
    );
}

#[tokio::test]
async fn a_restored_flow_must_be_this_apps_and_unexpired() {
    let e = env().await;
    let demo = e.emulator.register_demo_app();
    let web = e.web_app(&demo);
    let flow = web
        .initiate_auth_code_flow([SCOPE], "http://localhost:5000")
        .login_hint(DEFAULT_USERNAME)
        .await
        .unwrap();
    let redirect = query_map(&e.browse(&flow.auth_uri).await);
    let before = e.emulator.token_requests().len();

    // Another app (another client id) may not redeem it with its credential.
    let other = oxmsal_emulator::DemoApp {
        client_id: "00000000-0000-4000-8000-00000000beef".into(),
        ..demo.clone()
    };
    let err = e
        .web_app(&other)
        .acquire_token_by_auth_code_flow(&flow, &redirect)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration, "{err}");

    // Malformed or foreign JSON is a Configuration error, never a panic.
    let mut json: serde_json::Value = serde_json::from_str(&flow.to_json()).unwrap();
    for bad in [r#"{"version":2}"#.to_owned(), "[]".to_owned(), {
        json["code_verifier"] = "".into();
        json.to_string()
    }] {
        let err = oxmsal::AuthCodeFlow::from_json(&bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Configuration, "{bad}: {err}");
    }

    // An hour later the flow is over.
    e.clock.advance(Duration::from_secs(3600));
    let err = web
        .acquire_token_by_auth_code_flow(&flow, &redirect)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration, "{err}");
    assert!(err.to_string().contains("expired"), "{err}");
    assert_eq!(
        e.emulator.token_requests().len(),
        before,
        "nothing was sent"
    );
}

/// The app keeps its own state: the URL with its state, nonce and PKCE
/// challenge, then the code redeemed with the verifier and nonce.
#[tokio::test]
async fn an_authorization_url_then_a_code_redeemed_with_its_verifier() {
    let e = env().await;
    let demo = e.emulator.register_demo_app();
    let web = e.web_app(&demo);
    // RFC 7636 appendix B's pair.
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let url = web
        .authorization_request_url([SCOPE], "http://localhost:5000")
        .state("s-123")
        .nonce("n-456")
        .code_challenge(challenge)
        .login_hint(DEFAULT_USERNAME)
        .prompt("select_account")
        .await
        .unwrap();
    let q = query_map(&url);
    assert_eq!(q["state"], "s-123");
    assert_eq!(q["nonce"], "n-456");
    assert_eq!(q["code_challenge"], challenge);
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["prompt"], "select_account");
    let redirect = query_map(&e.browse(url.as_str()).await);
    assert_eq!(redirect["state"], "s-123");
    let code = Secret::new(redirect["code"].clone());

    // The wrong nonce: the id token is refused (nothing cached).
    let err = web
        .acquire_token_by_authorization_code(code.clone(), [SCOPE], "http://localhost:5000")
        .pkce_verifier(Secret::new(verifier))
        .nonce("not-the-nonce")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidResponse, "{err}");
    assert!(web.accounts().await.unwrap().is_empty());

    let url = web
        .authorization_request_url([SCOPE], "http://localhost:5000")
        .nonce("n-789")
        .code_challenge(challenge)
        .login_hint(DEFAULT_USERNAME)
        .await
        .unwrap();
    let code = Secret::new(query_map(&e.browse(url.as_str()).await)["code"].clone());
    let token = web
        .acquire_token_by_authorization_code(code, [SCOPE], "http://localhost:5000")
        .pkce_verifier(Secret::new(verifier))
        .nonce("n-789")
        .correlation_id("web-1")
        .await
        .unwrap();
    assert_eq!(token.token_source, TokenSource::IdentityProvider);
    // (The emulator checked the verifier against the challenge: a wrong one
    // is invalid_grant.)
    let sent = e.emulator.token_requests().pop().unwrap();
    assert!(sent.params.contains_key("code_verifier"));
    assert_eq!(sent.headers["client-request-id"], "web-1");
    assert_eq!(web.accounts().await.unwrap().len(), 1);
}
