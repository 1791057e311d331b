//! The blocking API (feature `blocking`) of both application kinds against the
//! emulator over HTTPS, called from plain threads. The emulator runs on this
//! test's own multi-thread runtime; each wrapper drives its requests on its own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use oxmsal::authority::InstanceDiscovery;
use oxmsal::blocking;
use oxmsal::credential::ClientCredential;
use oxmsal::{
    Browser, ConfidentialClientApplication, ErrorKind, ManualClock, PublicClientApplication,
    Secret, TokenSource,
};
use oxmsal_emulator::{DemoApp, Emulator, EmulatorConfig, DEFAULT_USERNAME, DEFAULT_USER_PASSWORD};

const DAEMON_SCOPE: &str = "api://demo/.default";
const USER_SCOPE: &str = "User.Read";

struct Env {
    runtime: tokio::runtime::Runtime,
    emulator: Arc<Emulator>,
}

impl Env {
    fn start() -> Env {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        // The device flow's polls run on a manual clock: the emulator must not
        // judge their pace by real time.
        let config = EmulatorConfig::default()
            .with_device_code_interval(Duration::from_secs(1))
            .with_device_code_interval_enforced(false);
        let emulator = Arc::new(runtime.block_on(Emulator::start_with(config)).unwrap());
        Env { runtime, emulator }
    }

    fn builder<K>(&self, builder: oxmsal::app::AppBuilder<K>) -> oxmsal::app::AppBuilder<K> {
        builder
            .authority(self.emulator.authority())
            .extra_root_certificate_pem(self.emulator.ca_pem().as_bytes().to_vec())
            .instance_discovery(InstanceDiscovery::Disabled)
    }

    fn daemon(&self, demo: &DemoApp) -> blocking::ConfidentialClientApplication {
        let app = self
            .builder(ConfidentialClientApplication::builder(
                demo.client_id.clone(),
                ClientCredential::secret(demo.secret.clone()),
            ))
            .build()
            .unwrap();
        blocking::ConfidentialClientApplication::new(app).unwrap()
    }

    /// A public app on a manual clock (device code polls do not wait).
    fn public(&self) -> blocking::PublicClientApplication {
        let client_id = self.emulator.register_public_demo_app().client_id;
        let app = self
            .builder(PublicClientApplication::builder(client_id))
            .clock(Arc::new(ManualClock::at(std::time::SystemTime::now())))
            .build()
            .unwrap();
        blocking::PublicClientApplication::new(app).unwrap()
    }

    /// What a browser does with auto sign-in: GET the authorize URL, read the
    /// redirect's parameters.
    fn browse(&self, auth_uri: &str) -> HashMap<String, String> {
        let ca = self.emulator.ca_pem().to_owned();
        let location = self.runtime.block_on(async move {
            let client = reqwest::Client::builder()
                .tls_certs_only([reqwest::Certificate::from_pem(ca.as_bytes()).unwrap()])
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .build()
                .unwrap();
            let response = client.get(auth_uri).send().await.unwrap();
            assert!(response.status().is_redirection(), "{}", response.status());
            response.headers()["location"].to_str().unwrap().to_owned()
        });
        url::Url::parse(&location)
            .unwrap()
            .query_pairs()
            .into_owned()
            .collect()
    }
}

#[test]
fn confidential_client_credentials_from_the_server_then_the_cache() {
    let env = Env::start();
    let app = env.daemon(&env.emulator.register_demo_app());
    let first = app.acquire_token_for_client([DAEMON_SCOPE]).unwrap();
    assert_eq!(first.token_source, TokenSource::IdentityProvider);
    let hit = app.acquire_token_for_client([DAEMON_SCOPE]).unwrap();
    assert_eq!(hit.token_source, TokenSource::Cache);
    assert_eq!(hit.access_token, first.access_token);
    let forced = app
        .run(|a| {
            a.acquire_token_for_client([DAEMON_SCOPE])
                .force_refresh(true)
        })
        .unwrap();
    assert_eq!(forced.token_source, TokenSource::IdentityProvider);
    assert_eq!(env.emulator.counters().client_credentials_grants, 2);

    let wrong = env.daemon(&oxmsal_emulator::DemoApp {
        secret: "wrong".into(),
        ..env.emulator.register_demo_app()
    });
    let err = wrong.acquire_token_for_client([DAEMON_SCOPE]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Service, "{err}");
}

#[test]
fn confidential_web_app_sign_in_accounts_silent_and_sign_out() {
    let env = Env::start();
    let app = env.daemon(&env.emulator.register_demo_app());
    let flow = app
        .initiate_auth_code_flow([USER_SCOPE], "http://localhost:8400")
        .unwrap();
    assert!(flow.auth_uri.contains("code_challenge="));
    // Auto sign-in on the emulator needs the user named: an option, through `run`.
    let flow = app
        .run(|a| {
            a.initiate_auth_code_flow([USER_SCOPE], "http://localhost:8400")
                .login_hint(DEFAULT_USERNAME)
        })
        .unwrap();
    let params = env.browse(&flow.auth_uri);
    let token = app.acquire_token_by_auth_code_flow(&flow, &params).unwrap();
    assert_eq!(token.token_source, TokenSource::IdentityProvider);

    let accounts = app.accounts().unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].username, DEFAULT_USERNAME);
    let hit = app
        .acquire_token_silent([USER_SCOPE], &accounts[0])
        .unwrap();
    assert_eq!(hit.token_source, TokenSource::Cache);
    assert_eq!(hit.access_token, token.access_token);

    assert!(app.remove_account(&accounts[0]).unwrap() > 0);
    assert!(app.accounts().unwrap().is_empty());
}

#[test]
fn confidential_on_behalf_of_from_the_server_then_the_cache() {
    let env = Env::start();
    let demo = env.emulator.register_demo_app();
    let incoming = env
        .public()
        .acquire_token_by_username_password(
            DEFAULT_USERNAME,
            Secret::new(DEFAULT_USER_PASSWORD),
            [format!("api://{}/access_as_user", demo.client_id)],
        )
        .unwrap();
    let api = env.daemon(&demo);
    let downstream = api
        .acquire_token_on_behalf_of(
            incoming.access_token.clone(),
            ["https://graph.microsoft.com/.default"],
        )
        .unwrap();
    assert_eq!(downstream.token_source, TokenSource::IdentityProvider);
    let again = api
        .acquire_token_on_behalf_of(
            incoming.access_token,
            ["https://graph.microsoft.com/.default"],
        )
        .unwrap();
    assert_eq!(again.token_source, TokenSource::Cache);
    assert_eq!(env.emulator.counters().obo_grants, 1);
}

#[test]
fn public_username_password_accounts_silent_and_sign_out() {
    let env = Env::start();
    let app = env.public();
    assert!(app.accounts().unwrap().is_empty());
    let token = app
        .acquire_token_by_username_password(
            DEFAULT_USERNAME,
            Secret::new(DEFAULT_USER_PASSWORD),
            [USER_SCOPE],
        )
        .unwrap();
    assert_eq!(token.token_source, TokenSource::IdentityProvider);

    let accounts = app.accounts().unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].username, DEFAULT_USERNAME);
    let hit = app
        .acquire_token_silent([USER_SCOPE], &accounts[0])
        .unwrap();
    assert_eq!(hit.token_source, TokenSource::Cache);
    let refreshed = app
        .run(|a| {
            a.acquire_token_silent([USER_SCOPE], &accounts[0])
                .force_refresh(true)
        })
        .unwrap();
    assert_eq!(refreshed.token_source, TokenSource::IdentityProvider);

    let err = app
        .acquire_token_by_username_password(DEFAULT_USERNAME, Secret::new("wrong"), [USER_SCOPE])
        .unwrap_err();
    assert_eq!(err.aadsts(), Some(50126), "{err}");

    assert!(app.remove_account(&accounts[0]).unwrap() > 0);
    assert!(app.accounts().unwrap().is_empty());
}

#[test]
fn public_device_code_initiate_then_complete() {
    let env = Env::start();
    let app = env.public();
    let flow = app.initiate_device_flow([USER_SCOPE]).unwrap();
    assert!(flow.message.contains(&flow.user_code));
    // The user approves from another device while this thread polls.
    let emulator = env.emulator.clone();
    let user_code = flow.user_code.clone();
    let approver = std::thread::spawn(move || {
        for _ in 0..1000 {
            if emulator
                .pending_device_codes()
                .iter()
                .any(|c| c.user_code == user_code)
            {
                emulator
                    .approve_device_code(&user_code, DEFAULT_USERNAME)
                    .unwrap();
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!("no device code appeared");
    });
    let token = app.acquire_token_by_device_flow(&flow).unwrap();
    approver.join().unwrap();
    assert_eq!(token.token_source, TokenSource::IdentityProvider);
    assert_eq!(token.account.unwrap().username, DEFAULT_USERNAME);
    assert_eq!(app.accounts().unwrap().len(), 1);
}

#[test]
fn public_interactive_through_run_with_a_browser_callback() {
    let env = Env::start();
    let client_id = env.emulator.register_public_demo_app().client_id;
    // The real clock: the wait for the browser runs on the app's clock.
    let app = env
        .builder(PublicClientApplication::builder(client_id))
        .build()
        .unwrap();
    let app = blocking::PublicClientApplication::new(app).unwrap();
    let ca = env.emulator.ca_pem().to_owned();
    // The callback runs on the wrapper's runtime: the "browser" is a task there.
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
        .run(|a| {
            a.acquire_token_interactive([USER_SCOPE])
                .login_hint(DEFAULT_USERNAME)
                .browser(browser)
                .timeout(Duration::from_secs(30))
        })
        .unwrap();
    assert_eq!(token.account.unwrap().username, DEFAULT_USERNAME);
    assert_eq!(app.accounts().unwrap().len(), 1);
}

#[test]
fn called_inside_an_async_runtime_is_a_configuration_error_not_a_panic() {
    let env = Env::start();
    let daemon = env.daemon(&env.emulator.register_demo_app());
    let public = env.public();
    let (daemon_err, public_err) = env.runtime.block_on(async {
        (
            daemon.acquire_token_for_client([DAEMON_SCOPE]).unwrap_err(),
            public.initiate_device_flow([USER_SCOPE]).unwrap_err(),
        )
    });
    assert_eq!(daemon_err.kind(), ErrorKind::Configuration, "{daemon_err}");
    assert!(
        daemon_err.to_string().contains("async runtime"),
        "{daemon_err}"
    );
    assert_eq!(public_err.kind(), ErrorKind::Configuration, "{public_err}");
    // Dropped inside async code: no panic either.
    env.runtime.block_on(async move {
        drop(daemon);
        drop(public);
    });
}
