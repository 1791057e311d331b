//! Client credentials end to end against the emulator over HTTPS.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{setup, SCOPE};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use oxmsal::credential::{ClientCertificate, ClientCredential};
use oxmsal::{ErrorKind, TokenSource};
use oxmsal_emulator::testing::client_certificate;
use oxmsal_emulator::AppRegistration;

/// Verifies an access token's signature with the emulator's JWKS.
fn verify_with_jwks(emulator: &oxmsal_emulator::Emulator, token: &str) -> serde_json::Value {
    let jwks = emulator.jwks();
    let header = jsonwebtoken::decode_header(token).unwrap();
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"].as_str() == header.kid.as_deref())
        .expect("the token's kid is in the JWKS");
    let decoding =
        DecodingKey::from_rsa_components(key["n"].as_str().unwrap(), key["e"].as_str().unwrap())
            .unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_aud = false;
    jsonwebtoken::decode::<serde_json::Value>(token, &decoding, &validation)
        .expect("signature verifies against the JWKS")
        .claims
}

#[tokio::test]
async fn secret_credential_gets_a_verifiable_token_then_a_cache_hit() {
    let s = setup().await;
    let app = s.secret_app();
    let first = app.acquire_token_for_client([SCOPE]).await.unwrap();
    assert_eq!(first.token_source, TokenSource::IdentityProvider);
    let claims = verify_with_jwks(&s.emulator, first.access_token.expose_secret());
    assert_eq!(claims["azp"], s.demo.client_id.as_str());
    assert_eq!(claims["aud"], "api://demo");

    let second = app.acquire_token_for_client([SCOPE]).await.unwrap();
    assert_eq!(second.token_source, TokenSource::Cache);
    assert_eq!(second.access_token, first.access_token);
    assert_eq!(s.token_requests(), 1, "one token request in all");

    let json = first.to_msal_json();
    assert_eq!(json["token_type"], "Bearer");
    assert_eq!(json["token_source"], "identity_provider");
    assert!(json["expires_in"].as_u64().unwrap() > 3000);
    let hit = second.to_msal_json();
    assert_eq!(hit["token_source"], "cache");
    assert!(
        hit.get("ext_expires_in").is_none(),
        "a cache hit carries MSAL's reduced shape"
    );
}

/// A hit is answered when the `.await` starts, without a request; everything
/// a hit must not answer still reaches the token endpoint.
#[tokio::test]
async fn cache_hits_and_what_bypasses_them() {
    let s = common::setup_with(
        oxmsal_emulator::EmulatorConfig::default()
            .with_refresh_in(std::time::Duration::from_secs(600)),
    )
    .await;
    let app = s.secret_app();
    let first = app.acquire_token_for_client([SCOPE]).await.unwrap();
    assert_eq!(first.token_source, TokenSource::IdentityProvider);
    assert_eq!(s.token_requests(), 1);

    // A hit keeps the caller's correlation id and shares the cached scopes.
    let hit = app
        .acquire_token_for_client([SCOPE])
        .correlation_id("corr-1")
        .send()
        .await
        .unwrap();
    assert_eq!(hit.token_source, TokenSource::Cache);
    assert_eq!(hit.correlation_id, "corr-1");
    assert_eq!(*hit.scopes, [SCOPE.to_owned()]);
    assert_eq!(hit.token_type, "Bearer");
    // Scopes as the caller wrote them: another case, padding.
    let hit = app
        .acquire_token_for_client([" API://Demo/.default "])
        .await
        .unwrap();
    assert_eq!(hit.token_source, TokenSource::Cache);
    // A fresh correlation id per hit otherwise.
    let (a, b) = (
        app.acquire_token_for_client([SCOPE]).await.unwrap(),
        app.acquire_token_for_client([SCOPE]).await.unwrap(),
    );
    assert_ne!(a.correlation_id, b.correlation_id);
    assert_eq!(
        uuid::Uuid::parse_str(&a.correlation_id)
            .unwrap()
            .get_version_num(),
        4
    );
    assert_eq!(s.token_requests(), 1, "hits send nothing");

    // A mistake is still reported, hit or not.
    let err = app.acquire_token_for_client(["openid"]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);

    // force_refresh and claims reach the server.
    let forced = app
        .acquire_token_for_client([SCOPE])
        .force_refresh(true)
        .await
        .unwrap();
    assert_eq!(forced.token_source, TokenSource::IdentityProvider);
    let claimed = app
        .acquire_token_for_client([SCOPE])
        .claims(r#"{"access_token":{"xms_cc":{"values":["cp1"]}}}"#)
        .await
        .unwrap();
    assert_eq!(claimed.token_source, TokenSource::IdentityProvider);
    assert_eq!(s.token_requests(), 3);

    // Past refresh_on: refreshed, not served.
    s.clock.advance(std::time::Duration::from_secs(601));
    let refreshed = app.acquire_token_for_client([SCOPE]).await.unwrap();
    assert_eq!(refreshed.token_source, TokenSource::IdentityProvider);
    assert_eq!(s.token_requests(), 4);
    let hit = app.acquire_token_for_client([SCOPE]).await.unwrap();
    assert_eq!(hit.token_source, TokenSource::Cache);
    assert_eq!(s.token_requests(), 4);
}

#[tokio::test]
async fn request_carries_wire_details() {
    let s = setup().await;
    let app = s.secret_app();
    let token = app
        .acquire_token_for_client([SCOPE])
        .correlation_id("11111111-2222-3333-4444-555555555555")
        .await
        .unwrap();
    assert_eq!(token.correlation_id, "11111111-2222-3333-4444-555555555555");
    let recorded = s.emulator.token_requests();
    let r = recorded.last().unwrap();
    assert_eq!(r.param("grant_type"), Some("client_credentials"));
    assert_eq!(r.param("client_info"), Some("1"));
    assert_eq!(r.param("scope"), Some(SCOPE));
    assert_eq!(r.param("client_secret"), Some("<redacted>"));
    assert_eq!(
        r.header("client-request-id"),
        Some("11111111-2222-3333-4444-555555555555")
    );
    assert_eq!(r.header("x-client-sku"), Some("MSAL.Rust"));
    assert!(r.header("x-client-ver").is_some());
    assert_eq!(r.header("x-ms-lib-capability"), Some("retry-after, h429"));
}

#[tokio::test]
async fn pem_and_pfx_certificates_get_tokens() {
    let s = setup().await;
    let cert = client_certificate("oxmsal-test");
    s.emulator
        .register_app(AppRegistration::new("cert-app").with_certificate_der(cert.cert_der.clone()))
        .unwrap();

    let pem = ClientCertificate::from_pem(cert.combined_pem().as_bytes()).unwrap();
    assert_eq!(pem.thumbprint_sha256(), cert.x5t_s256());
    let app = oxmsal::ConfidentialClientApplication::builder(
        "cert-app",
        ClientCredential::certificate(pem),
    );
    let app = common_builder(&s, app).build().unwrap();
    let token = app.acquire_token_for_client([SCOPE]).await.unwrap();
    verify_with_jwks(&s.emulator, token.access_token.expose_secret());
    let r = s.emulator.token_requests().pop().unwrap();
    assert_eq!(
        r.param("client_assertion_type"),
        Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    );

    let pfx = ClientCertificate::from_pkcs12(&cert.pfx("pfx-password"), "pfx-password").unwrap();
    let app = oxmsal::ConfidentialClientApplication::builder(
        "cert-app",
        ClientCredential::certificate(pfx.with_x5c(true)),
    );
    let app = common_builder(&s, app).build().unwrap();
    let token = app.acquire_token_for_client([SCOPE]).await.unwrap();
    assert_eq!(token.token_source, TokenSource::IdentityProvider);

    assert!(ClientCertificate::from_pkcs12(&cert.pfx("pfx-password"), "wrong").is_err());
    let other = client_certificate("other");
    let mismatched = format!("{}{}", other.key_pem, cert.cert_pem);
    let err = ClientCertificate::from_pem(mismatched.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("does not belong"), "{err}");
}

#[tokio::test]
async fn assertion_callback_is_called_per_request() {
    let s = setup().await;
    let cert = client_certificate("cb");
    s.emulator
        .register_app(AppRegistration::new("cb-app").with_certificate_der(cert.cert_der.clone()))
        .unwrap();
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = calls.clone();
    let key_pem = cert.key_pem.clone();
    let x5t_s256 = cert.x5t_s256();
    // A "federated" issuer outside the library: the test signs the assertion itself.
    let credential = ClientCredential::assertion(move |req| {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let assertion = sign_externally(&key_pem, &x5t_s256, &req);
        Box::pin(async move { Ok(assertion) })
    });
    let app = common_builder(
        &s,
        oxmsal::ConfidentialClientApplication::builder("cb-app", credential),
    )
    .build()
    .unwrap();
    app.acquire_token_for_client([SCOPE]).await.unwrap();
    app.acquire_token_for_client([SCOPE])
        .force_refresh(true)
        .await
        .unwrap();
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert_eq!(s.token_requests(), 2);
}

fn sign_externally(
    key_pem: &str,
    x5t_s256: &str,
    req: &oxmsal::credential::AssertionRequest,
) -> oxmsal::Secret {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut header = jsonwebtoken::Header::new(Algorithm::PS256);
    header.x5t_s256 = Some(x5t_s256.to_owned());
    let claims = serde_json::json!({
        "aud": req.audience, "iss": req.client_id, "sub": req.client_id,
        "iat": now, "nbf": now, "exp": now + 300, "jti": "test-jti",
    });
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(key_pem.as_bytes()).unwrap();
    oxmsal::Secret::new(jsonwebtoken::encode(&header, &claims, &key).unwrap())
}

fn common_builder(
    s: &common::Setup,
    b: oxmsal::app::AppBuilder<oxmsal::app::Confidential>,
) -> oxmsal::app::AppBuilder<oxmsal::app::Confidential> {
    b.authority(s.emulator.authority())
        .extra_root_certificate_pem(s.emulator.ca_pem().as_bytes().to_vec())
        .instance_discovery(oxmsal::authority::InstanceDiscovery::Disabled)
        .clock(std::sync::Arc::new(s.clock.clone()))
}

#[tokio::test]
async fn claims_bypass_the_cache_and_capabilities_are_merged() {
    let s = setup().await;
    let app = s
        .builder(ClientCredential::secret(s.demo.secret.clone()))
        .client_capabilities(["CP1"])
        .build()
        .unwrap();
    app.acquire_token_for_client([SCOPE]).await.unwrap();
    let cached = app.acquire_token_for_client([SCOPE]).await.unwrap();
    assert_eq!(
        cached.token_source,
        TokenSource::Cache,
        "capabilities alone do not bypass the cache"
    );
    let first = s.emulator.token_requests().pop().unwrap();
    assert_eq!(
        first.claims.unwrap(),
        serde_json::json!({"access_token":{"xms_cc":{"values":["CP1"]}}})
    );

    let challenged = app
        .acquire_token_for_client([SCOPE])
        .claims(r#"{"access_token":{"nbf":{"essential":true,"value":"1604106651"}}}"#)
        .await
        .unwrap();
    assert_eq!(challenged.token_source, TokenSource::IdentityProvider);
    let r = s.emulator.token_requests().pop().unwrap();
    assert_eq!(
        r.claims.unwrap(),
        serde_json::json!({"access_token":{"nbf":{"essential":true,"value":"1604106651"},"xms_cc":{"values":["CP1"]}}})
    );
    assert_eq!(s.token_requests(), 2);
}

#[tokio::test]
async fn tenant_override_by_domain_uses_the_tenant_realm() {
    let s = setup().await;
    let app = s.secret_app();
    let t = app
        .acquire_token_for_client([SCOPE])
        .tenant(oxmsal_emulator::DEFAULT_TENANT_DOMAIN)
        .await
        .unwrap();
    assert_eq!(t.token_source, TokenSource::IdentityProvider);
    let cache = app.token_cache().serialize().unwrap();
    assert!(
        cache.contains(s.emulator.tenant_id()),
        "realm is the discovered tenant id"
    );
}

#[tokio::test]
async fn misuse_fails_before_any_request() {
    let s = setup().await;
    let app = s.secret_app();
    for scopes in [
        vec![],
        vec!["openid"],
        vec!["api://demo/.default", "offline_access"],
        vec!["profile"],
    ] {
        let err = app
            .acquire_token_for_client(scopes.clone())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Configuration, "{scopes:?}");
    }
    let err = app
        .acquire_token_for_client([SCOPE])
        .tenant("bad/tenant")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    let err = app
        .acquire_token_for_client([SCOPE])
        .claims("not json")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    assert_eq!(s.emulator.counters().total_requests, 0);
}

#[tokio::test]
async fn expiry_uses_the_injected_clock() {
    let s = setup().await;
    let app = s.secret_app();
    app.acquire_token_for_client([SCOPE]).await.unwrap();
    // 3599 s lifetime: usable while at least 300 s remain.
    s.clock.advance(std::time::Duration::from_secs(3599 - 301));
    let hit = app.acquire_token_for_client([SCOPE]).await.unwrap();
    assert_eq!(hit.token_source, TokenSource::Cache);
    s.clock.advance(std::time::Duration::from_secs(2));
    let fresh = app.acquire_token_for_client([SCOPE]).await.unwrap();
    assert_eq!(fresh.token_source, TokenSource::IdentityProvider);
    assert_eq!(s.token_requests(), 2);
}

/// A service starting: a thousand callers on a cold cache, one token
/// request; the others are served the token it cached.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_cold_callers_send_one_token_request() {
    let s = setup().await;
    let app = s.secret_app();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..1000 {
        let app = app.clone();
        tasks.spawn(async move {
            let token = app.acquire_token_for_client([SCOPE]).await.unwrap();
            (
                token.access_token.expose_secret().to_owned(),
                token.token_source,
            )
        });
    }
    let mut tokens = std::collections::HashSet::new();
    let mut from_the_server = 0;
    while let Some(joined) = tasks.join_next().await {
        let (token, source) = joined.unwrap();
        tokens.insert(token);
        from_the_server += usize::from(source == TokenSource::IdentityProvider);
    }
    assert_eq!(tokens.len(), 1);
    assert_eq!(from_the_server, 1);
    assert_eq!(s.token_requests(), 1);

    // Claims requests bypass the cache: each reaches the server.
    let before = s.token_requests();
    let claims = r#"{"access_token":{"nbf":{"essential":true,"value":"1"}}}"#;
    let (a, b) = tokio::join!(
        app.acquire_token_for_client([SCOPE]).claims(claims).send(),
        app.acquire_token_for_client([SCOPE]).claims(claims).send(),
    );
    assert_eq!(a.unwrap().token_source, TokenSource::IdentityProvider);
    assert_eq!(b.unwrap().token_source, TokenSource::IdentityProvider);
    assert_eq!(
        s.token_requests(),
        before + 2,
        "a claims request always reaches the server"
    );
}
