//! Request options end to end against the emulator over HTTPS: extra query,
//! form and header values on the wire for every kind of grant, refused
//! collisions before any request.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::Arc;

use oxmsal::authority::InstanceDiscovery;
use oxmsal::credential::ClientCredential;
use oxmsal::{
    ConfidentialClientApplication, ErrorKind, ManualClock, PublicClientApplication, RequestOptions,
    Secret, TokenCache, TokenSource,
};
use oxmsal_emulator::{Emulator, RecordedRequest, DEFAULT_USERNAME, DEFAULT_USER_PASSWORD};

const APP_SCOPE: &str = "api://demo/.default";
const USER_SCOPE: &str = "User.Read";

struct Env {
    emulator: Arc<Emulator>,
    clock: ManualClock,
}

async fn env() -> Env {
    env_with(oxmsal_emulator::EmulatorConfig::default()).await
}

async fn env_with(config: oxmsal_emulator::EmulatorConfig) -> Env {
    Env {
        emulator: Arc::new(Emulator::start_with(config).await.unwrap()),
        clock: ManualClock::at(std::time::SystemTime::now()),
    }
}

impl Env {
    fn builder<K>(&self, b: oxmsal::app::AppBuilder<K>) -> oxmsal::app::AppBuilder<K> {
        b.authority(self.emulator.authority())
            .extra_root_certificate_pem(self.emulator.ca_pem().as_bytes().to_vec())
            .instance_discovery(InstanceDiscovery::Endpoint(
                url::Url::parse(&self.emulator.base_url()).unwrap(),
            ))
            .clock(Arc::new(self.clock.clone()))
            .token_cache(TokenCache::new())
    }

    fn confidential(&self) -> ConfidentialClientApplication {
        let demo = self.emulator.register_demo_app();
        self.builder(ConfidentialClientApplication::builder(
            demo.client_id,
            ClientCredential::secret(demo.secret),
        ))
        .build()
        .unwrap()
    }

    fn public(&self) -> PublicClientApplication {
        let client_id = self.emulator.register_public_demo_app().client_id;
        self.builder(PublicClientApplication::builder(client_id))
            .build()
            .unwrap()
    }

    /// A user's token for `api` (the incoming token of an on-behalf-of
    /// request), by the password grant.
    async fn incoming_for(&self, api: &ConfidentialClientApplication) -> Secret {
        self.public()
            .acquire_token_by_username_password(
                DEFAULT_USERNAME,
                Secret::new(DEFAULT_USER_PASSWORD),
                [format!("api://{}/access_as_user", api.client_id())],
            )
            .await
            .unwrap()
            .access_token
    }

    fn last_request(&self) -> RecordedRequest {
        self.emulator.token_requests().pop().unwrap()
    }

    /// What a browser does with auto sign-in: GET the authorize URL, read the redirect.
    async fn browse(&self, auth_uri: &str) -> HashMap<String, String> {
        let client = reqwest::Client::builder()
            .tls_certs_only([
                reqwest::Certificate::from_pem(self.emulator.ca_pem().as_bytes()).unwrap(),
            ])
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap();
        let response = client.get(auth_uri).send().await.unwrap();
        assert!(response.status().is_redirection(), "{}", response.status());
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        url::Url::parse(&location)
            .unwrap()
            .query_pairs()
            .into_owned()
            .collect()
    }
}

/// One of each, with a value long enough to be treated as a secret.
fn extras(tag: &str) -> RequestOptions {
    RequestOptions::new()
        .extra_query_parameter("dc", format!("ESTS-TEST-{tag}"))
        .extra_body_parameter("x_feature", format!("feature-{tag}"))
        .extra_header("X-Gateway-Route", format!("route-{tag}"))
}

/// The recorded request carries the three extras of [`extras`]`(tag)`.
fn assert_carries(request: &RecordedRequest, tag: &str) {
    assert_eq!(
        request.query.get("dc").map(String::as_str),
        Some(format!("ESTS-TEST-{tag}").as_str()),
        "query of {}",
        request.path
    );
    assert_eq!(
        request.param("x_feature"),
        Some(format!("feature-{tag}").as_str())
    );
    assert_eq!(
        request.header("x-gateway-route"),
        Some(format!("route-{tag}").as_str())
    );
}

#[tokio::test]
async fn client_credentials_sends_extras_and_a_cached_token_still_answers() {
    let e = env().await;
    let app = e.confidential();
    let token = app
        .acquire_token_for_client([APP_SCOPE])
        .request_options(extras("cc"))
        .await
        .unwrap();
    assert_eq!(token.token_source, TokenSource::IdentityProvider);
    let sent = e.last_request();
    assert_eq!(sent.param("grant_type"), Some("client_credentials"));
    assert_carries(&sent, "cc");
    assert_eq!(
        sent.header("x-client-sku"),
        Some("MSAL.Rust"),
        "own headers kept"
    );

    // As in MSAL for Python: extras do not bypass the cache…
    let hit = app
        .acquire_token_for_client([APP_SCOPE])
        .request_options(extras("other"))
        .await
        .unwrap();
    assert_eq!(hit.token_source, TokenSource::Cache);
    // …force_refresh does, and the new extras go.
    app.acquire_token_for_client([APP_SCOPE])
        .request_options(extras("forced"))
        .force_refresh(true)
        .await
        .unwrap();
    assert_carries(&e.last_request(), "forced");
    assert_eq!(e.emulator.counters().client_credentials_grants, 2);
}

#[tokio::test]
async fn silent_refresh_password_and_refresh_token_grants_send_extras() {
    let e = env().await;
    let app = e.public();
    let signed_in = app
        .acquire_token_by_username_password(
            DEFAULT_USERNAME,
            Secret::new(DEFAULT_USER_PASSWORD),
            [USER_SCOPE],
        )
        .request_options(extras("ropc"))
        .await
        .unwrap();
    assert_eq!(e.last_request().param("grant_type"), Some("password"));
    assert_carries(&e.last_request(), "ropc");

    let account = signed_in.account.clone().unwrap();
    let hit = app
        .acquire_token_silent([USER_SCOPE], &account)
        .request_options(extras("hit"))
        .await
        .unwrap();
    assert_eq!(hit.token_source, TokenSource::Cache, "extras do not bypass");
    let refreshed = app
        .acquire_token_silent([USER_SCOPE], &account)
        .force_refresh(true)
        .request_options(extras("silent"))
        .await
        .unwrap();
    assert_eq!(refreshed.token_source, TokenSource::IdentityProvider);
    let sent = e.last_request();
    assert_eq!(sent.param("grant_type"), Some("refresh_token"));
    assert_carries(&sent, "silent");

    let rt = Secret::new(refreshed.to_msal_json()["refresh_token"].as_str().unwrap());
    app.acquire_token_by_refresh_token(rt, [USER_SCOPE])
        .request_options(extras("import"))
        .await
        .unwrap();
    assert_carries(&e.last_request(), "import");
}

#[tokio::test]
async fn on_behalf_of_sends_extras() {
    let e = env().await;
    let api = e.confidential();
    let incoming = e.incoming_for(&api).await;
    let token = api
        .acquire_token_on_behalf_of(incoming, ["https://graph.microsoft.com/.default"])
        .request_options(extras("obo"))
        .await
        .unwrap();
    assert_eq!(token.token_source, TokenSource::IdentityProvider);
    let sent = e.last_request();
    assert_eq!(sent.param("requested_token_use"), Some("on_behalf_of"));
    assert_carries(&sent, "obo");
}

/// Both requests of a long-running on-behalf-of session carry their extras.
#[tokio::test]
async fn long_running_on_behalf_of_sends_extras() {
    let e = env().await;
    let api = e.confidential();
    let incoming = e.incoming_for(&api).await;
    let (_, key) = api
        .initiate_long_running_on_behalf_of(incoming, ["https://graph.microsoft.com/.default"])
        .request_options(extras("lro-start"))
        .await
        .unwrap();
    assert_carries(&e.last_request(), "lro-start");
    let token = api
        .acquire_token_in_long_running_process(key, ["https://graph.microsoft.com/.default"])
        .force_refresh(true)
        .request_options(extras("lro-refresh"))
        .await
        .unwrap();
    assert_eq!(token.token_source, TokenSource::IdentityProvider);
    let sent = e.last_request();
    assert_eq!(sent.param("grant_type"), Some("refresh_token"));
    assert_carries(&sent, "lro-refresh");
}

#[tokio::test]
async fn auth_code_url_flow_and_code_redemption_send_extras() {
    let e = env().await;
    let app = e.confidential();
    let url_extra = RequestOptions::new().extra_query_parameter("dc", "ESTS-URL");
    let flow = app
        .initiate_auth_code_flow([USER_SCOPE], "http://localhost:5000")
        .login_hint(DEFAULT_USERNAME)
        .request_options(url_extra.clone())
        .await
        .unwrap();
    let auth = url::Url::parse(&flow.auth_uri).unwrap();
    let query: HashMap<String, String> = auth.query_pairs().into_owned().collect();
    assert_eq!(query["dc"], "ESTS-URL");
    assert_eq!(query["state"], flow.state, "own parameters kept");

    let redirect = e.browse(&flow.auth_uri).await;
    app.acquire_token_by_auth_code_flow(&flow, &redirect)
        .request_options(extras("flow"))
        .await
        .unwrap();
    let sent = e.last_request();
    assert_eq!(sent.param("grant_type"), Some("authorization_code"));
    assert_carries(&sent, "flow");

    // A bare URL and a code redeemed by hand.
    let url = app
        .authorization_request_url([USER_SCOPE], "http://localhost:5000")
        .login_hint(DEFAULT_USERNAME)
        .state("s-1")
        .request_options(url_extra)
        .await
        .unwrap();
    assert!(url.query_pairs().any(|(k, v)| k == "dc" && v == "ESTS-URL"));
    let redirect = e.browse(url.as_str()).await;
    app.acquire_token_by_authorization_code(
        Secret::new(redirect["code"].as_str()),
        [USER_SCOPE],
        "http://localhost:5000",
    )
    .request_options(extras("code"))
    .await
    .unwrap();
    assert_carries(&e.last_request(), "code");
}

/// Every builder refuses a name oxmsal sets itself, with a Configuration
/// error and not a single request (discovery included).
#[tokio::test]
async fn collisions_are_refused_before_any_request() {
    let e = env().await;
    let cc = e.confidential();
    let public = e.public();
    let cache = TokenCache::new();
    cache
        .deserialize(
            r#"{"Account": {"u.t-login.microsoftonline.com-t": {"home_account_id": "u.t",
            "environment": "login.microsoftonline.com", "realm": "t", "username": "alice",
            "authority_type": "MSSTS"}}}"#,
        )
        .unwrap();
    let account = cache.accounts().remove(0);
    let bodies = [
        "grant_type",
        "client_id",
        "scope",
        "claims",
        "client_assertion",
        "client_assertion_type",
        "client_secret",
        "code",
        "code_verifier",
        "refresh_token",
        "assertion",
        "redirect_uri",
        "client_info",
        "Client_Secret",
    ];
    let headers = [
        "Authorization",
        "content-type",
        "Client-Request-Id",
        "x-client-sku",
        "x-client-ver",
        "return-client-request-id",
        "Host",
        "Content-Length",
    ];
    let mut refused: Vec<RequestOptions> = Vec::new();
    for name in bodies {
        refused.push(RequestOptions::new().extra_body_parameter(name, "x"));
        refused.push(RequestOptions::new().extra_query_parameter(name, "x"));
    }
    for name in headers {
        refused.push(RequestOptions::new().extra_header(name, "x"));
    }
    refused.push(RequestOptions::new().extra_header("x-a", "a\r\nx-injected: 1"));
    refused.push(RequestOptions::new().extra_header("bad name", "v"));

    let assertion = Secret::new("e30.e30.sig");
    let flow_json = serde_json::json!({
        "version": 1, "client_id": cc.client_id(), "authority": e.emulator.authority(),
        "auth_uri": "https://x", "state": "s", "redirect_uri": "http://localhost:5000",
        "scopes": [USER_SCOPE], "nonce": "n", "code_verifier": "v", "expires_on": u64::MAX
    });
    let flow = oxmsal::AuthCodeFlow::from_json(&flow_json.to_string()).unwrap();
    let redirect: HashMap<String, String> = [("state", "s"), ("code", "c")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    for options in refused {
        let o = || options.clone();
        let outcomes = [
            cc.acquire_token_for_client([APP_SCOPE])
                .request_options(o())
                .await,
            cc.acquire_token_silent([USER_SCOPE], &account)
                .request_options(o())
                .await,
            cc.acquire_token_on_behalf_of(assertion.clone(), [APP_SCOPE])
                .request_options(o())
                .await,
            cc.acquire_token_by_auth_code_flow(&flow, &redirect)
                .request_options(o())
                .await,
            cc.acquire_token_by_authorization_code(
                Secret::new("c"),
                [USER_SCOPE],
                "http://localhost:5000",
            )
            .request_options(o())
            .await,
            public
                .acquire_token_by_username_password("alice", Secret::new("pw"), [USER_SCOPE])
                .request_options(o())
                .await,
            public
                .acquire_token_by_refresh_token(Secret::new("rt"), [USER_SCOPE])
                .request_options(o())
                .await,
            public
                .acquire_token_interactive([USER_SCOPE])
                .browser(oxmsal::Browser::Callback(Arc::new(|_: &str| {
                    panic!("no browser for refused options")
                })))
                .request_options(o())
                .await,
        ];
        for (i, outcome) in outcomes.into_iter().enumerate() {
            let err = outcome.expect_err(&format!("builder {i} refuses {options:?}"));
            assert_eq!(err.kind(), ErrorKind::Configuration, "builder {i}: {err}");
        }
        for url in [
            cc.initiate_auth_code_flow([USER_SCOPE], "http://localhost:5000")
                .request_options(o())
                .await
                .map(|_| ()),
            cc.authorization_request_url([USER_SCOPE], "http://localhost:5000")
                .request_options(o())
                .await
                .map(|_| ()),
        ] {
            assert_eq!(url.unwrap_err().kind(), ErrorKind::Configuration);
        }
    }
    // An authorization URL takes query parameters only.
    let err = cc
        .authorization_request_url([USER_SCOPE], "http://localhost:5000")
        .request_options(RequestOptions::new().extra_body_parameter("x_feature", "on"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    for name in [
        "state",
        "nonce",
        "code_challenge",
        "response_type",
        "prompt",
    ] {
        let err = cc
            .authorization_request_url([USER_SCOPE], "http://localhost:5000")
            .request_options(RequestOptions::new().extra_query_parameter(name, "x"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Configuration, "{name}");
    }
    assert_eq!(e.emulator.counters().total_requests, 0, "nothing was sent");
}

/// Long extra values are the request's secrets: an error that echoes the
/// form shows them masked; short ones are left alone.
#[tokio::test]
async fn long_extra_values_are_masked_in_errors() {
    let e = env().await;
    let app = e.confidential();
    e.emulator.inject(oxmsal_emulator::Fault::EchoForm {
        status: 400,
        body: oxmsal_emulator::EchoBody::Oauth,
    });
    let err = app
        .acquire_token_for_client([APP_SCOPE])
        .request_options(
            RequestOptions::new()
                .extra_body_parameter("x_key", "extra-secret-value-123")
                .extra_body_parameter("x_short", "abc"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Service);
    assert_eq!(
        e.last_request().param("x_key"),
        Some("extra-secret-value-123"),
        "sent as given"
    );
    let shown = format!("{err} {err:?} {}", err.to_msal_json());
    assert!(shown.contains("x_key"), "the echo is there: {shown}");
    assert!(!shown.contains("extra-secret-value-123"), "{shown}");
    assert!(shown.contains("x_short=abc"), "{shown}");
}

/// The transport, with every request body kept: what really went out.
#[derive(Debug)]
struct Recording {
    inner: oxmsal::http::ReqwestClient,
    bodies: std::sync::Mutex<Vec<Vec<u8>>>,
    /// Each request's URL and headers, in order.
    heads: std::sync::Mutex<Vec<(String, http::HeaderMap)>>,
}

impl oxmsal::http::HttpClient for Recording {
    fn send(&self, request: oxmsal::http::HttpRequest) -> oxmsal::http::HttpFuture<'_> {
        self.bodies.lock().unwrap().push(request.body().clone());
        let head = (request.uri().to_string(), request.headers().clone());
        self.heads.lock().unwrap().push(head);
        self.inner.send(request)
    }
}

impl Recording {
    fn new(e: &Env) -> Self {
        Recording {
            inner: oxmsal::http::ReqwestClient::new(
                &oxmsal::http::HttpConfig::default()
                    .extra_root_pem(e.emulator.ca_pem().as_bytes().to_vec()),
            )
            .unwrap(),
            bodies: std::sync::Mutex::new(Vec::new()),
            heads: std::sync::Mutex::new(Vec::new()),
        }
    }

    fn last_assertion_claims(&self) -> serde_json::Value {
        let body = self.bodies.lock().unwrap().last().unwrap().clone();
        let form: HashMap<String, String> =
            url::form_urlencoded::parse(&body).into_owned().collect();
        let payload = form["client_assertion"]
            .split('.')
            .nth(1)
            .unwrap()
            .to_owned();
        use base64::Engine as _;
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap();
        serde_json::from_slice(&json).unwrap()
    }
}

/// A certificate's assertion carries the extra claims and the audience
/// override (the issuer, which the emulator accepts like Entra ID); an
/// audience the server does not accept shows the override is what is signed.
#[tokio::test]
async fn certificate_assertion_with_extra_claims_and_audience_override() {
    use oxmsal::credential::ClientCertificate;
    let e = env().await;
    let cert = oxmsal_emulator::testing::client_certificate("claims");
    e.emulator
        .register_app(
            oxmsal_emulator::AppRegistration::new("claims-app")
                .with_certificate_der(cert.cert_der.clone()),
        )
        .unwrap();
    let recording = Arc::new(Recording::new(&e));
    let app_with = |audience: String| {
        let mut claims = serde_json::Map::new();
        claims.insert("client_ip".into(), "192.0.2.10".into());
        let certificate = ClientCertificate::from_pem(cert.combined_pem().as_bytes())
            .unwrap()
            .with_claims(claims)
            .unwrap()
            .with_audience(audience)
            .unwrap();
        e.builder(ConfidentialClientApplication::builder(
            "claims-app",
            ClientCredential::certificate(certificate),
        ))
        .http_client(recording.clone())
        .build()
        .unwrap()
    };

    let issuer = format!("{}/v2.0", e.emulator.authority().trim_end_matches('/'));
    let token = app_with(issuer.clone())
        .acquire_token_for_client([APP_SCOPE])
        .await
        .unwrap();
    assert_eq!(token.token_source, TokenSource::IdentityProvider);
    let claims = recording.last_assertion_claims();
    assert_eq!(claims["aud"], issuer.as_str());
    assert_eq!(claims["client_ip"], "192.0.2.10");
    assert_eq!(claims["iss"], "claims-app");

    let err = app_with("https://elsewhere.example/".into())
        .acquire_token_for_client([APP_SCOPE])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Service, "{err}");
    assert_eq!(
        recording.last_assertion_claims()["aud"],
        "https://elsewhere.example/"
    );
}

/// The app's own tokens go (users' stay); the next client credentials call
/// goes to the token endpoint.
#[tokio::test]
async fn remove_tokens_for_client_then_the_server_is_asked_again() {
    let e = env().await;
    let api = e.confidential();
    let first = api.acquire_token_for_client([APP_SCOPE]).await.unwrap();
    assert_eq!(first.token_source, TokenSource::IdentityProvider);
    // A user's token in the same cache (on-behalf-of) is not the app's own.
    let incoming = e.incoming_for(&api).await;
    let obo = || {
        api.acquire_token_on_behalf_of(incoming.clone(), ["https://graph.microsoft.com/.default"])
    };
    obo().await.unwrap();
    let hit = api.acquire_token_for_client([APP_SCOPE]).await.unwrap();
    assert_eq!(hit.token_source, TokenSource::Cache);

    assert_eq!(api.remove_tokens_for_client().await.unwrap(), 1);
    assert_eq!(api.remove_tokens_for_client().await.unwrap(), 0, "gone");
    let again = api.acquire_token_for_client([APP_SCOPE]).await.unwrap();
    assert_eq!(again.token_source, TokenSource::IdentityProvider);
    assert_eq!(e.emulator.counters().client_credentials_grants, 2);
    assert_eq!(
        obo().await.unwrap().token_source,
        TokenSource::Cache,
        "the user's token stays"
    );
}

/// With a persistence store, the removal reaches the store: a process that
/// never saw the token removes it, and a third one asks the server again.
#[tokio::test]
async fn remove_tokens_for_client_reaches_the_persistence_store() {
    let e = env().await;
    let demo = e.emulator.register_demo_app();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(oxmsal::cache::persist::FileStore::new(
        dir.path().join("cache.json"),
    ));
    let process = || {
        e.builder(ConfidentialClientApplication::builder(
            demo.client_id.clone(),
            ClientCredential::secret(demo.secret.clone()),
        ))
        .cache_persistence(store.clone())
        .build()
        .unwrap()
    };
    let first = process();
    first.acquire_token_for_client([APP_SCOPE]).await.unwrap();
    let hit = process()
        .acquire_token_for_client([APP_SCOPE])
        .await
        .unwrap();
    assert_eq!(
        hit.token_source,
        TokenSource::Cache,
        "shared through the store"
    );

    assert_eq!(process().remove_tokens_for_client().await.unwrap(), 1);
    let fresh = process()
        .acquire_token_for_client([APP_SCOPE])
        .await
        .unwrap();
    assert_eq!(fresh.token_source, TokenSource::IdentityProvider);
    assert_eq!(e.emulator.counters().client_credentials_grants, 2);
}

/// The device authorization request (`initiate_device_flow`) carries its extras.
#[tokio::test]
async fn the_device_authorization_request_sends_extras() {
    let e = env().await;
    let recording = Arc::new(Recording::new(&e));
    let client_id = e.emulator.register_public_demo_app().client_id;
    let app = e
        .builder(PublicClientApplication::builder(client_id))
        .http_client(recording.clone())
        .build()
        .unwrap();
    let flow = app
        .initiate_device_flow([USER_SCOPE])
        .request_options(extras("device-start"))
        .await
        .unwrap();
    assert!(!flow.user_code.is_empty());
    let (url, headers) = recording.heads.lock().unwrap().last().unwrap().clone();
    assert!(
        url.contains("devicecode") && url.contains("dc=ESTS-TEST-device-start"),
        "{url}"
    );
    assert_eq!(headers["x-gateway-route"], "route-device-start");
    let body = recording.bodies.lock().unwrap().last().unwrap().clone();
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    assert_eq!(form["x_feature"], "feature-device-start");

    // A collision is refused before any request.
    let before = recording.heads.lock().unwrap().len();
    let err = app
        .initiate_device_flow([USER_SCOPE])
        .request_options(RequestOptions::new().extra_body_parameter("client_id", "x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), oxmsal::ErrorKind::Configuration, "{err}");
    assert_eq!(recording.heads.lock().unwrap().len(), before);
}

/// The device flow's polls and an interactive sign-in carry the extras too;
/// the interactive request's query parameters reach the authorization URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_flow_and_interactive_send_extras() {
    // The client's clock is a manual one: the emulator must not judge
    // polling speed by real time.
    let e = env_with(
        oxmsal_emulator::EmulatorConfig::default()
            .with_device_code_interval(std::time::Duration::from_secs(1))
            .with_device_code_interval_enforced(false),
    )
    .await;
    let app = e.public();
    let flow = app.initiate_device_flow([USER_SCOPE]).await.unwrap();
    let emulator = e.emulator.clone();
    let user_code = flow.user_code.clone();
    let approver = tokio::spawn(async move {
        emulator
            .approve_device_code(&user_code, DEFAULT_USERNAME)
            .unwrap();
    });
    approver.await.unwrap();
    app.acquire_token_by_device_flow(&flow)
        .request_options(extras("device"))
        .await
        .unwrap();
    let sent = e.last_request();
    assert_eq!(
        sent.param("grant_type"),
        Some("urn:ietf:params:oauth:grant-type:device_code")
    );
    assert_carries(&sent, "device");

    // Interactive: the wait for the browser runs on the app's clock, so this
    // app keeps the real one.
    let client_id = e.emulator.register_public_demo_app().client_id;
    let app = PublicClientApplication::builder(client_id)
        .authority(e.emulator.authority())
        .extra_root_certificate_pem(e.emulator.ca_pem().as_bytes().to_vec())
        .instance_discovery(InstanceDiscovery::Disabled)
        .build()
        .unwrap();
    let ca = e.emulator.ca_pem().to_owned();
    let seen = Arc::new(std::sync::Mutex::new(String::new()));
    let shown = seen.clone();
    let browser = oxmsal::Browser::Callback(Arc::new(move |url: &str| {
        *shown.lock().unwrap() = url.to_owned();
        let (url, ca) = (url.to_owned(), ca.clone());
        tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .tls_certs_only([reqwest::Certificate::from_pem(ca.as_bytes()).unwrap()])
                .no_proxy()
                .build()
                .unwrap();
            client.get(&url).send().await.unwrap();
        });
    }));
    app.acquire_token_interactive([USER_SCOPE])
        .login_hint(DEFAULT_USERNAME)
        .browser(browser)
        .timeout(std::time::Duration::from_secs(30))
        .request_options(extras("interactive"))
        .await
        .unwrap();
    let auth = url::Url::parse(&seen.lock().unwrap()).unwrap();
    assert!(auth
        .query_pairs()
        .any(|(k, v)| k == "dc" && v == "ESTS-TEST-interactive"));
    let sent = e.last_request();
    assert_eq!(sent.param("grant_type"), Some("authorization_code"));
    assert_carries(&sent, "interactive");
}
