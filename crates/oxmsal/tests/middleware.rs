//! The bearer-token middleware (`reqwest-middleware` and `tower`) against the
//! emulator's protected resource over HTTPS: a claims challenge answered once,
//! never a loop, token errors as values.
//!
//! `cargo test -p oxmsal --features reqwest-middleware,tower --test middleware`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use common::{setup, Setup, SCOPE};
use oxmsal::credential::ClientCredential;
use oxmsal::middleware::{BearerAuth, RepeatedChallenge, RetryableBody};
use oxmsal::provider::{SignedInAccount, TokenProvider};
use oxmsal::{ConfidentialClientApplication, ErrorKind, PublicClientApplication, Secret};
use oxmsal_emulator::ResourceScenario;
use serde_json::{json, Value};
use tower_layer::Layer;
use tower_service::Service;

fn http_client(s: &Setup) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(s.emulator.ca_pem().as_bytes()).unwrap()])
        .no_proxy()
        .build()
        .unwrap()
}

fn cp1_app(s: &Setup) -> ConfidentialClientApplication {
    s.builder(ClientCredential::secret(s.demo.secret.clone()))
        .client_capabilities(["CP1"])
        .build()
        .unwrap()
}

fn with_middleware(s: &Setup, auth: BearerAuth) -> reqwest_middleware::ClientWithMiddleware {
    reqwest_middleware::ClientBuilder::new(http_client(s))
        .with(auth)
        .build()
}

/// A tower service over reqwest: the HTTP client under the tower layer.
#[derive(Clone)]
struct ReqwestService(reqwest::Client);

impl<B: Into<reqwest::Body>> Service<http::Request<B>> for ReqwestService {
    type Response = http::Response<reqwest::Body>;
    type Error = reqwest::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, reqwest::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), reqwest::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let client = self.0.clone();
        let request = reqwest::Request::try_from(request);
        Box::pin(async move { Ok(http::Response::from(client.execute(request?).await?)) })
    }
}

/// A body that cannot be sent twice (like a stream).
struct OneShot(String);

impl RetryableBody for OneShot {
    fn try_clone(&self) -> Option<Self> {
        None
    }
}

impl From<OneShot> for reqwest::Body {
    fn from(body: OneShot) -> Self {
        body.0.into()
    }
}

fn tower_service(s: &Setup, auth: BearerAuth) -> oxmsal::middleware::BearerService<ReqwestService> {
    auth.layer(ReqwestService(http_client(s)))
}

fn get<B>(s: &Setup, body: B) -> http::Request<B> {
    http::Request::builder()
        .uri(s.emulator.resource_url("v1.0/me"))
        .body(body)
        .unwrap()
}

/// The `claims` of the token requests, in order.
fn claims_sent(s: &Setup) -> Vec<Option<Value>> {
    s.emulator
        .token_requests()
        .into_iter()
        .map(|r| r.claims)
        .collect()
}

fn counts(s: &Setup) -> (u64, u64) {
    let c = s.emulator.counters();
    (c.resource_requests, c.token_requests)
}

const STEP_UP: &str = r#"{"access_token":{"acrs":{"essential":true,"value":"c1"}}}"#;

/// The claims the retry's token request carries: the challenge with CP1 merged in.
fn step_up_with_cp1() -> Value {
    json!({"access_token": {"acrs": {"essential": true, "value": "c1"}, "xms_cc": {"values": ["CP1"]}}})
}

#[tokio::test]
async fn reqwest_middleware_answers_a_step_up_challenge_once() {
    let s = setup().await;
    s.emulator
        .set_resource_scenario(ResourceScenario::MfaStepUp);
    let client = with_middleware(&s, BearerAuth::new(cp1_app(&s), [SCOPE]));
    let response = client
        .post(s.emulator.resource_url("v1.0/me"))
        .body("{\"a\":1}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(body["claims_seen"]["acrs"], json!(["c1"]));
    assert_eq!(counts(&s), (2, 2));
    let sent = claims_sent(&s);
    assert_eq!(
        sent[0],
        Some(json!({"access_token": {"xms_cc": {"values": ["CP1"]}}}))
    );
    assert_eq!(sent[1], Some(step_up_with_cp1()));
    assert_eq!(s.emulator.counters().resource_challenges, 1);
}

#[tokio::test]
async fn tower_layer_answers_a_step_up_challenge_once() {
    let s = setup().await;
    s.emulator
        .set_resource_scenario(ResourceScenario::MfaStepUp);
    let mut service = tower_service(&s, BearerAuth::new(cp1_app(&s), [SCOPE]));
    let response = service.call(get(&s, String::new())).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(counts(&s), (2, 2));
    assert_eq!(claims_sent(&s)[1], Some(step_up_with_cp1()));
}

#[tokio::test]
async fn a_cae_revocation_is_answered_with_the_challenge_claims() {
    let s = setup().await;
    let app = cp1_app(&s);
    let client = with_middleware(&s, BearerAuth::new(app.clone(), [SCOPE]));
    let mut service = tower_service(&s, BearerAuth::new(app, [SCOPE]));
    let url = s.emulator.resource_url("v1.0/me");
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    assert_eq!(counts(&s), (1, 1));

    // The app's sessions are revoked: the cached token is challenged, a token
    // with the challenge's nbf is acquired once, and accepted.
    let revoked_at = s.emulator.revoke_tokens(&s.demo.client_id);
    let response = client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(body["claims_seen"]["nbf"], revoked_at);
    assert_eq!(counts(&s), (3, 2));
    let nbf = json!({"essential": true, "value": revoked_at.to_string()});
    assert_eq!(
        claims_sent(&s)[1],
        Some(json!({"access_token": {"nbf": nbf, "xms_cc": {"values": ["CP1"]}}}))
    );

    // Again through tower, after a second event.
    let revoked_at = s.emulator.revoke_tokens(&s.demo.client_id);
    let response = service.call(get(&s, String::new())).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(counts(&s), (5, 3));
    assert_eq!(
        claims_sent(&s)[2].as_ref().unwrap()["access_token"]["nbf"]["value"],
        revoked_at.to_string()
    );
}

#[tokio::test]
async fn a_resource_that_keeps_challenging_is_tried_twice_only() {
    let s = setup().await;
    s.emulator
        .set_resource_scenario(ResourceScenario::AlwaysChallenge);
    let client = with_middleware(&s, BearerAuth::new(cp1_app(&s), [SCOPE]));
    let response = client
        .get(s.emulator.resource_url("v1.0/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401, "the second 401 as received");
    assert!(response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("insufficient_claims"));
    assert_eq!(counts(&s), (2, 2));

    s.emulator.reset_counters();
    let mut service = tower_service(&s, BearerAuth::new(cp1_app(&s), [SCOPE]));
    let err = service.call(get(&s, String::new())).await.unwrap_err();
    let repeated = err
        .downcast_ref::<RepeatedChallenge>()
        .expect("the tower error");
    assert_eq!(
        serde_json::from_str::<Value>(&repeated.claims).unwrap(),
        serde_json::from_str::<Value>(STEP_UP).unwrap()
    );
    assert_eq!(counts(&s), (2, 2));
}

#[tokio::test]
async fn a_body_that_cannot_be_cloned_gets_the_401_back() {
    let s = setup().await;
    s.emulator
        .set_resource_scenario(ResourceScenario::MfaStepUp);
    let mut service = tower_service(&s, BearerAuth::new(cp1_app(&s), [SCOPE]));
    let response = service.call(get(&s, OneShot("{}".into()))).await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(counts(&s), (1, 1));
}

#[tokio::test]
async fn a_request_with_its_own_authorization_is_sent_as_it_is() {
    let s = setup().await;
    let client = with_middleware(&s, BearerAuth::new(cp1_app(&s), [SCOPE]));
    let response = client
        .get(s.emulator.resource_url("v1.0/me"))
        .bearer_auth("caller-chosen")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401, "the caller's token, not replaced");
    assert_eq!(counts(&s), (1, 0));

    let mut service = tower_service(&s, BearerAuth::new(cp1_app(&s), [SCOPE]));
    let mut request = get(&s, String::new());
    request.headers_mut().insert(
        http::header::AUTHORIZATION,
        "Bearer caller-chosen".parse().unwrap(),
    );
    assert_eq!(service.call(request).await.unwrap().status(), 401);
    assert_eq!(counts(&s), (2, 0));
}

/// The emulator's user signed in (by password) to a new public app with CP1.
async fn signed_in_user(s: &Setup) -> SignedInAccount {
    let public = s.emulator.register_public_demo_app();
    let app = PublicClientApplication::builder(public.client_id.clone())
        .authority(s.emulator.authority())
        .extra_root_certificate_pem(s.emulator.ca_pem().as_bytes().to_vec())
        .instance_discovery(oxmsal::authority::InstanceDiscovery::Endpoint(
            url::Url::parse(&s.emulator.base_url()).unwrap(),
        ))
        .client_capabilities(["CP1"])
        .build()
        .unwrap();
    let token = app
        .acquire_token_by_username_password(
            oxmsal_emulator::DEFAULT_USERNAME,
            Secret::new(oxmsal_emulator::DEFAULT_USER_PASSWORD),
            ["User.Read"],
        )
        .await
        .unwrap();
    SignedInAccount::new(app, oxmsal::Account::clone(&token.account.unwrap()))
}

#[tokio::test]
async fn interaction_required_is_the_error_value() {
    let s = setup().await;
    // Two apps, since an app remembers (throttles) the refusal that follows.
    let user = signed_in_user(&s).await;
    let other = signed_in_user(&s).await;
    let client = with_middleware(&s, BearerAuth::new(user.clone(), ["User.Read"]));
    let mut service = tower_service(&s, BearerAuth::new(other.clone(), ["User.Read"]));
    let url = s.emulator.resource_url("v1.0/me");
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    assert_eq!(
        service.call(get(&s, String::new())).await.unwrap().status(),
        200
    );

    // The user's sessions end: the token is challenged and the refresh token refused.
    s.emulator
        .revoke_refresh_tokens(oxmsal_emulator::DEFAULT_USERNAME);
    s.emulator.revoke_tokens(oxmsal_emulator::DEFAULT_USERNAME);
    s.emulator.reset_counters();
    let err = client.get(&url).send().await.unwrap_err();
    let reqwest_middleware::Error::Middleware(inner) = err else {
        panic!("a middleware error: {err}");
    };
    let err = inner
        .downcast_ref::<oxmsal::Error>()
        .expect("oxmsal's error");
    assert!(err.requires_interaction(), "{err}");
    assert_eq!(err.kind(), ErrorKind::Service);
    assert_eq!(counts(&s), (1, 1));

    let err = service.call(get(&s, String::new())).await.unwrap_err();
    let err = err.downcast_ref::<oxmsal::Error>().expect("oxmsal's error");
    assert!(err.requires_interaction(), "{err}");
    assert_eq!(counts(&s), (2, 2));
}

/// A tower service standing in for the resource: records the `Authorization`
/// header it was sent and answers 200.
#[derive(Clone, Default)]
struct Recorder(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl Service<http::Request<String>> for Recorder {
    type Response = http::Response<String>;
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<String>) -> Self::Future {
        let header = request.headers()[http::header::AUTHORIZATION]
            .to_str()
            .unwrap()
            .to_owned();
        self.0.lock().unwrap().push(header);
        std::future::ready(Ok(http::Response::new(String::new())))
    }
}

#[tokio::test]
async fn managed_identity_tokens_for_the_scopes_resource() {
    use oxmsal::managed_identity::{
        ManagedIdentity, ManagedIdentityClient, ManagedIdentityEnvironment,
    };
    use oxmsal_emulator::managed_identity::{ManagedIdentityEmulator, MiSource};

    let emu = ManagedIdentityEmulator::start(MiSource::Imds)
        .await
        .unwrap();
    let env = emu
        .env()
        .into_iter()
        .fold(ManagedIdentityEnvironment::empty(), |env, (k, v)| {
            env.var(k, v)
        });
    let client = ManagedIdentityClient::builder(ManagedIdentity::SystemAssigned)
        .environment(env)
        .build()
        .unwrap();
    let recorder = Recorder::default();
    let mut service = BearerAuth::new(client.clone(), ["https://vault.azure.net/.default"])
        .layer(recorder.clone());
    let response = service
        .call(http::Request::new(String::new()))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let sent = recorder.0.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].starts_with("Bearer mi-imds-"), "{sent:?}");
    let requests = emu.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].query.get("resource").map(String::as_str),
        Some("https://vault.azure.net")
    );

    // More than one scope is a configuration error, before any request.
    let err = client
        .token(&["a".into(), "b".into()], None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    assert_eq!(emu.requests().len(), 1);
}
