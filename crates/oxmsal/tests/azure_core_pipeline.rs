//! An Azure SDK for Rust pipeline (`azure_core`'s `Pipeline` with its
//! `BearerTokenAuthorizationPolicy`) authorized by oxmsal credentials, sending
//! requests over real sockets to the emulator's protected resource.
//!
//! `cargo test -p oxmsal --features azure-core --test azure_core_pipeline`

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use async_trait::async_trait;
use azure_core::credentials::TokenCredential;
use azure_core::http::headers::Headers;
use azure_core::http::policies::auth::BearerTokenAuthorizationPolicy;
use azure_core::http::policies::Policy;
use azure_core::http::{
    AsyncRawResponse, Body, ClientOptions, Context, HttpClient, Method, Pipeline, Request,
    StatusCode, Transport, Url,
};
use oxmsal::authority::InstanceDiscovery;
use oxmsal::azure::AccountCredential;
use oxmsal::chain::{ChainEnvironment, CredentialChain};
use oxmsal::credential::ClientCredential;
use oxmsal::managed_identity::{
    ManagedIdentity, ManagedIdentityClient, ManagedIdentityEnvironment,
};
use oxmsal::{PublicClientApplication, Secret};
use oxmsal_emulator::managed_identity::{
    ManagedIdentityEmulator, ManagedIdentityEmulatorConfig, MiSource,
};

const SCOPE: &str = "api://demo/.default";

/// azure_core's transport over reqwest 0.13 (oxmsal's), trusting the
/// emulator's CA: azure_core is built without its own reqwest transport.
#[derive(Debug)]
struct ReqwestTransport(reqwest::Client);

impl ReqwestTransport {
    fn trusting(ca_pem: &str) -> Self {
        let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap();
        ReqwestTransport(
            reqwest::Client::builder()
                .tls_certs_merge([ca])
                .build()
                .unwrap(),
        )
    }
}

#[async_trait]
impl HttpClient for ReqwestTransport {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let method = reqwest::Method::from_bytes(request.method().as_ref().as_bytes()).unwrap();
        let mut builder = self.0.request(method, request.url().as_str());
        for (name, value) in request.headers().iter() {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Body::Bytes(bytes) = request.body() {
            builder = builder.body(bytes.to_vec());
        }
        let response = builder
            .send()
            .await
            .map_err(|e| azure_core::Error::new(azure_core::error::ErrorKind::Io, e))?;
        let status = StatusCode::from(response.status().as_u16());
        let mut headers = Headers::new();
        for (name, value) in response.headers() {
            headers.insert(
                name.as_str().to_owned(),
                value.to_str().unwrap_or_default().to_owned(),
            );
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| azure_core::Error::new(azure_core::error::ErrorKind::Io, e))?;
        Ok(AsyncRawResponse::from_bytes(status, headers, body))
    }
}

/// What an Azure SDK client builds: a pipeline whose per-try policies include
/// the bearer-token policy over the given credential.
fn pipeline(ca_pem: &str, credential: Arc<dyn TokenCredential>, scope: &str) -> Pipeline {
    let auth: Arc<dyn Policy> = Arc::new(BearerTokenAuthorizationPolicy::new(credential, [scope]));
    let options = ClientOptions {
        transport: Some(Transport::new(Arc::new(ReqwestTransport::trusting(ca_pem)))),
        ..Default::default()
    };
    Pipeline::new(
        Some("oxmsal-test"),
        Some("0.1.0"),
        options,
        Vec::new(),
        vec![auth],
        None,
    )
}

/// The oxmsal error somewhere in `err`'s source chain.
fn oxmsal_error_in(err: &azure_core::Error) -> Option<&oxmsal::Error> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<oxmsal::Error>() {
            return Some(found);
        }
        current = e.source();
    }
    None
}

async fn get(pipeline: &Pipeline, url: &str) -> StatusCode {
    let mut request = Request::new(Url::parse(url).unwrap(), Method::Get);
    pipeline
        .send(&Context::new(), &mut request, None)
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn a_confidential_app_authorizes_an_azure_core_pipeline() {
    let s = common::setup().await;
    let app = s.secret_app();
    let pipeline = pipeline(s.emulator.ca_pem(), Arc::new(app), SCOPE);

    let url = s.emulator.resource_url("/v1.0/me");
    assert_eq!(get(&pipeline, &url).await, StatusCode::Ok);
    assert_eq!(get(&pipeline, &url).await, StatusCode::Ok);
    let counters = s.emulator.counters();
    assert_eq!(counters.resource_requests, 2);
    // The policy keeps the token; one token request in all.
    assert_eq!(counters.token_requests, 1);
}

#[tokio::test]
async fn a_public_app_and_its_account_authorize_an_azure_core_pipeline() {
    let s = common::setup().await;
    let public = s.emulator.register_public_demo_app();
    let app = PublicClientApplication::builder(public.client_id.clone())
        .authority(s.emulator.authority())
        .extra_root_certificate_pem(s.emulator.ca_pem().as_bytes().to_vec())
        .instance_discovery(InstanceDiscovery::Endpoint(
            s.emulator.base_url().parse().unwrap(),
        ))
        .build()
        .unwrap();
    let signed_in = app
        .acquire_token_by_username_password(
            oxmsal_emulator::DEFAULT_USERNAME,
            Secret::new(oxmsal_emulator::DEFAULT_USER_PASSWORD),
            ["User.Read"],
        )
        .await
        .unwrap();
    let account = (*signed_in.account.unwrap()).clone();
    let credential = AccountCredential::new(app, account);
    let pipeline = pipeline(s.emulator.ca_pem(), Arc::new(credential), "User.Read");
    let before = s.emulator.counters().token_requests;
    assert_eq!(
        get(&pipeline, &s.emulator.resource_url("/v1.0/me")).await,
        StatusCode::Ok
    );
    // Silent: the signed-in user's cached token, no request.
    assert_eq!(s.emulator.counters().token_requests, before);
}

#[tokio::test]
async fn the_credential_chain_authorizes_an_azure_core_pipeline() {
    let s = common::setup().await;
    let env = ChainEnvironment::empty()
        .var("AZURE_AUTHORITY_HOST", s.emulator.base_url())
        .var("AZURE_TENANT_ID", s.emulator.tenant_id())
        .var("AZURE_CLIENT_ID", s.demo.client_id.clone())
        .var("AZURE_CLIENT_SECRET", s.demo.secret.clone());
    let chain = CredentialChain::builder(env)
        .extra_root_certificate_pem(s.emulator.ca_pem().as_bytes().to_vec())
        .instance_discovery(InstanceDiscovery::Endpoint(
            s.emulator.base_url().parse().unwrap(),
        ))
        .build();
    let pipeline = pipeline(s.emulator.ca_pem(), Arc::new(chain), SCOPE);
    assert_eq!(
        get(&pipeline, &s.emulator.resource_url("/subscriptions")).await,
        StatusCode::Ok
    );
}

/// The managed identity emulator, signing with the emulator's key so that
/// the protected resource accepts its tokens.
#[tokio::test]
async fn the_managed_identity_client_authorizes_an_azure_core_pipeline() {
    let s = common::setup().await;
    let mi = ManagedIdentityEmulator::start_with(
        ManagedIdentityEmulatorConfig::new(MiSource::AppService)
            .with_token_issuer(s.emulator.access_token_issuer()),
    )
    .await
    .unwrap();
    let env = mi.env().into_iter().fold(
        ManagedIdentityEnvironment::empty().himds_path("/nonexistent/oxmsal-test/himds"),
        |env, (name, value)| env.var(name, value),
    );
    let client = ManagedIdentityClient::builder(ManagedIdentity::SystemAssigned)
        .environment(env)
        .build()
        .unwrap();
    let credential: Arc<dyn TokenCredential> = Arc::new(client);
    let pipeline = pipeline(
        s.emulator.ca_pem(),
        Arc::clone(&credential),
        "https://vault.azure.net/.default",
    );
    assert_eq!(
        get(&pipeline, &s.emulator.resource_url("/secrets/db")).await,
        StatusCode::Ok
    );
    assert_eq!(mi.request_count(), 1);
    assert_eq!(s.emulator.counters().token_requests, 0);

    // Managed identity takes one scope; more is the caller's mistake.
    let err = credential
        .get_token(&["https://vault.azure.net/.default", "other"], None)
        .await
        .unwrap_err();
    assert_eq!(*err.kind(), azure_core::error::ErrorKind::Credential);
    let oxmsal_err = err.downcast_ref::<oxmsal::Error>().unwrap();
    assert_eq!(oxmsal_err.kind(), oxmsal::ErrorKind::Configuration);
}

#[tokio::test]
async fn an_oxmsal_failure_is_an_azure_core_credential_error_with_the_oxmsal_error_inside() {
    let s = common::setup().await;
    let app = s
        .builder(ClientCredential::secret("wrong-secret-value"))
        .build()
        .unwrap();
    let pipeline = pipeline(s.emulator.ca_pem(), Arc::new(app), SCOPE);
    let mut request = Request::new(
        Url::parse(&s.emulator.resource_url("/v1.0/me")).unwrap(),
        Method::Get,
    );
    let err = pipeline
        .send(&Context::new(), &mut request, None)
        .await
        .unwrap_err();
    assert_eq!(*err.kind(), azure_core::error::ErrorKind::Credential);
    // azure_core's retry policy wraps the credential's error with context.
    let oxmsal_err = oxmsal_error_in(&err).expect("the oxmsal error is in the source chain");
    assert_eq!(oxmsal_err.service().unwrap().error, "invalid_client");
    assert!(!format!("{err} {err:?}").contains("wrong-secret-value"));
    // The resource was never called without a token.
    assert_eq!(s.emulator.counters().resource_requests, 0);
}
