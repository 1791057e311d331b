//! The bearer-token middleware never logs a token, at TRACE from every crate
//! (its own binary: a thread-local subscriber beside other tests would see
//! callsites they disabled).
//!
//! `cargo test -p oxmsal --features reqwest-middleware,tower --test middleware_logs`
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{setup, Logs, SCOPE};
use oxmsal::credential::ClientCredential;
use oxmsal::middleware::BearerAuth;
use oxmsal_emulator::ResourceScenario;
use tower_layer::Layer;
use tower_service::Service;

const STEP_UP: &str = r#"{"access_token":{"acrs":{"essential":true,"value":"c1"}}}"#;

/// reqwest as a tower service, for the tower layer.
#[derive(Clone, Debug)]
struct ReqwestService(reqwest::Client);

impl Service<http::Request<String>> for ReqwestService {
    type Response = http::Response<reqwest::Body>;
    type Error = reqwest::Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, reqwest::Error>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), reqwest::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<String>) -> Self::Future {
        let client = self.0.clone();
        let request = reqwest::Request::try_from(request);
        Box::pin(async move { Ok(http::Response::from(client.execute(request?).await?)) })
    }
}

#[tokio::test]
async fn no_token_in_the_logs() {
    let buffer = Logs::default();
    let _guard = tracing::subscriber::set_default(buffer.subscriber(tracing::Level::TRACE));

    let s = setup().await;
    s.emulator
        .set_resource_scenario(ResourceScenario::MfaStepUp);
    let app = s
        .builder(ClientCredential::secret(s.demo.secret.clone()))
        .client_capabilities(["CP1"])
        .build()
        .unwrap();
    let http = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(s.emulator.ca_pem().as_bytes()).unwrap()])
        .no_proxy()
        .build()
        .unwrap();
    let client = reqwest_middleware::ClientBuilder::new(http.clone())
        .with(BearerAuth::new(app.clone(), [SCOPE]))
        .build();
    let response = client
        .get(s.emulator.resource_url("v1.0/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut service = BearerAuth::new(app.clone(), [SCOPE]).layer(ReqwestService(http));
    tracing::debug!(service = ?service, "the service's Debug");
    let request = http::Request::builder()
        .uri(s.emulator.resource_url("v1.0/me"))
        .body(String::new())
        .unwrap();
    assert_eq!(service.call(request).await.unwrap().status(), 200);

    // Both tokens the resource saw: the first (challenged) and the one with the claims.
    let plain = app.acquire_token_for_client([SCOPE]).await.unwrap();
    let stepped = app
        .acquire_token_for_client([SCOPE])
        .claims(STEP_UP)
        .await
        .unwrap();
    let logs = buffer.text();
    assert!(logs.contains("answering a claims challenge once"), "{logs}");
    for token in [&plain, &stepped] {
        let secret = token.access_token.expose_secret();
        let signature = secret.rsplit('.').next().unwrap();
        assert!(!logs.contains(signature), "a token in the logs");
    }
}
