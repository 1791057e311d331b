//! The token endpoint (client credentials) over real sockets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{
    assertion, assertion_with, client, client_credentials, expect_aad_error, now, post_token,
    JWT_BEARER,
};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use oxmsal_emulator::testing::client_certificate;
use oxmsal_emulator::{AppRegistration, Emulator, EmulatorConfig};
use serde_json::{json, Value};

/// Verifies `token` with the key from the served JWKS, independently of the emulator.
fn verify_with_jwks(jwks: &Value, token: &str, audience: &str, issuer: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    let kid = header.kid.unwrap();
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("kid in JWKS");
    let decoding =
        DecodingKey::from_rsa_components(key["n"].as_str().unwrap(), key["e"].as_str().unwrap())
            .unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[issuer]);
    jsonwebtoken::decode::<Value>(token, &decoding, &validation)
        .unwrap()
        .claims
}

#[tokio::test]
async fn client_secret_issues_a_verifiable_token() {
    let emu = Emulator::start().await.unwrap();
    let app = emu.register_demo_app();
    assert_eq!(app, emu.register_demo_app());
    let http = client(&emu);
    let response = client_credentials(&http, &emu, &app).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store, no-cache");
    assert!(response.headers().contains_key("client-request-id"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(body["ext_expires_in"], 3599);
    assert!(body.get("refresh_in").is_none());

    // Fetch the JWKS over HTTP, as a resource server would.
    let jwks: Value = http
        .get(format!("{}/discovery/v2.0/keys", emu.authority()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let issuer = format!("{}/v2.0", emu.authority());
    let claims = verify_with_jwks(
        &jwks,
        body["access_token"].as_str().unwrap(),
        "api://resource",
        &issuer,
    );
    assert_eq!(claims["tid"], emu.tenant_id());
    assert_eq!(claims["azp"], app.client_id);
    assert_eq!(claims["appid"], app.client_id);
    assert_eq!(claims["azpacr"], "1");
    assert_eq!(claims["idtyp"], "app");
    assert_eq!(claims["ver"], "2.0");
    assert_eq!(claims["roles"], json!([]));
    assert_eq!(claims["oid"], claims["sub"]);
    assert!(uuid::Uuid::parse_str(claims["oid"].as_str().unwrap()).is_ok());
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        3599
    );
    assert!(claims["uti"].is_string());
    assert!(claims.get("xms_cc").is_none());

    // The same app gets the same oid, a new uti.
    let again: Value = client_credentials(&http, &emu, &app)
        .await
        .json()
        .await
        .unwrap();
    let claims2 = verify_with_jwks(
        &jwks,
        again["access_token"].as_str().unwrap(),
        "api://resource",
        &issuer,
    );
    assert_eq!(claims2["oid"], claims["oid"]);
    assert_ne!(claims2["uti"], claims["uti"]);

    let counters = emu.counters();
    assert_eq!(counters.token_requests, 2);
    assert_eq!(counters.tokens_issued, 2);
    assert_eq!(counters.jwks_requests, 1);
    assert_eq!(counters.total_requests, 3);
}

#[tokio::test]
async fn client_secret_basic_and_configured_lifetimes() {
    let emu = Emulator::start_with(
        EmulatorConfig::default()
            .with_access_token_lifetime(Duration::from_secs(600))
            .with_refresh_in(Duration::from_secs(300)),
    )
    .await
    .unwrap();
    emu.register_app(AppRegistration::new("basic-app").with_secret("s3cret:with/odd&chars"))
        .unwrap();
    let http = client(&emu);
    let response = http
        .post(emu.token_endpoint())
        .basic_auth("basic-app", Some("s3cret%3Awith%2Fodd%26chars"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "https://graph.example/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["expires_in"], 600);
    assert_eq!(body["refresh_in"], 300);
}

#[tokio::test]
async fn certificate_assertions() {
    let emu = Emulator::start().await.unwrap();
    let cert = client_certificate("oxmsal test app");
    let other = client_certificate("someone else");
    emu.register_app(
        AppRegistration::new("cert-app")
            .with_certificate_der(cert.cert_der.clone())
            .with_display_name("Cert App"),
    )
    .unwrap();
    let http = client(&emu);
    let endpoint = emu.token_endpoint();
    let send = |assertion: String| {
        let http = http.clone();
        let endpoint = endpoint.clone();
        async move {
            http.post(endpoint)
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", "cert-app"),
                    ("client_assertion_type", JWT_BEARER),
                    ("client_assertion", assertion.as_str()),
                    ("scope", "api://resource/.default"),
                ])
                .send()
                .await
                .unwrap()
        }
    };

    // PS256 + x5t#S256, audience = the token endpoint.
    let response = send(assertion(&cert, "cert-app", &endpoint, false)).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let claims = verify_with_jwks(
        &emu.jwks(),
        body["access_token"].as_str().unwrap(),
        "api://resource",
        &format!("{}/v2.0", emu.authority()),
    );
    assert_eq!(claims["azpacr"], "2");
    assert_eq!(claims["app_displayname"], "Cert App");

    // RS256 + legacy x5t, audience naming the tenant by domain and host by IP.
    let aud = format!(
        "https://127.0.0.1:{}/contoso.onmicrosoft.com/oauth2/v2.0/token",
        emu.port()
    );
    assert_eq!(
        send(assertion(&cert, "cert-app", &aud, true))
            .await
            .status(),
        200
    );

    // Signed by another key but naming the registered certificate.
    let mut forged = assertion(&other, "cert-app", &endpoint, false);
    let good = assertion(&cert, "cert-app", &endpoint, false);
    let good_header = good.split('.').next().unwrap();
    let rest = forged.split_once('.').unwrap().1.to_owned();
    forged = format!("{good_header}.{rest}");
    let body = expect_aad_error(send(forged).await, 401, "invalid_client", 700027).await;
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("signature"));

    // An unregistered certificate.
    let body = expect_aad_error(
        send(assertion(&other, "cert-app", &endpoint, false)).await,
        401,
        "invalid_client",
        700027,
    )
    .await;
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains(&other.x5t_s256()));

    // Wrong audience.
    let body = expect_aad_error(
        send(assertion(
            &cert,
            "cert-app",
            "https://localhost/other/oauth2/v2.0/token",
            false,
        ))
        .await,
        401,
        "invalid_client",
        700027,
    )
    .await;
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("audience"));

    // iss/sub not the client.
    expect_aad_error(
        send(assertion(&cert, "someone-else", &endpoint, false)).await,
        401,
        "invalid_client",
        700021,
    )
    .await;

    // Expired long ago.
    let expired = assertion_with(
        &cert,
        &json!({"aud": endpoint, "iss": "cert-app", "sub": "cert-app",
                "exp": now() - 3600, "iat": now() - 4200}),
        false,
    );
    expect_aad_error(send(expired).await, 401, "invalid_client", 700024).await;

    // Garbage.
    expect_aad_error(
        send("not-a-jwt".into()).await,
        401,
        "invalid_client",
        700027,
    )
    .await;

    // The recorded request keeps the assertion out.
    let recorded = emu.token_requests();
    assert!(recorded
        .iter()
        .all(|r| r.param("client_assertion") == Some("<redacted>")));
    assert_eq!(recorded[0].status, Some(200));
}

#[tokio::test]
async fn refusals_have_entra_bodies() {
    let emu = Emulator::start().await.unwrap();
    let app = emu.register_demo_app();
    let http = client(&emu);

    // Wrong secret, with the caller's correlation id echoed.
    let correlation = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
    let response = http
        .post(emu.token_endpoint())
        .header("client-request-id", correlation)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", app.client_id.as_str()),
            ("client_secret", "wrong"),
            ("scope", "api://resource/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["client-request-id"], correlation);
    let body = expect_aad_error(response, 401, "invalid_client", 7000215).await;
    assert_eq!(body["correlation_id"], correlation);
    let description = body["error_description"].as_str().unwrap();
    assert!(description.starts_with("AADSTS7000215: Invalid client secret provided."));
    assert!(description.contains(&format!("Correlation ID: {correlation}")));
    assert_eq!(
        body["error_uri"],
        format!("{}/error?code=7000215", emu.base_url())
    );
    let ts = body["timestamp"].as_str().unwrap();
    assert_eq!(ts.len(), "2024-01-01 00:00:00Z".len());
    assert!(ts.ends_with('Z'));

    // Unknown app.
    let response = post_token(
        &http,
        &emu,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "11111111-0000-0000-0000-000000000000"),
            ("client_secret", "x"),
            ("scope", "api://resource/.default"),
        ],
    )
    .await;
    let body = expect_aad_error(response, 400, "unauthorized_client", 700016).await;
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("Application with identifier '11111111-0000-0000-0000-000000000000' was not found in the directory"));

    // Bad scopes.
    for scope in [
        "api://resource",
        "api://a/.default api://b/.default",
        "/.default",
        "openid",
    ] {
        let response = post_token(
            &http,
            &emu,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &app.client_id),
                ("client_secret", &app.secret),
                ("scope", scope),
            ],
        )
        .await;
        expect_aad_error(response, 400, "invalid_scope", 1002012).await;
    }

    // No credential.
    let response = post_token(
        &http,
        &emu,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &app.client_id),
            ("scope", "api://resource/.default"),
        ],
    )
    .await;
    expect_aad_error(response, 401, "invalid_client", 7000218).await;

    // Missing grant type; unsupported grant type.
    let response = post_token(&http, &emu, &[("client_id", &app.client_id)]).await;
    expect_aad_error(response, 400, "invalid_request", 900144).await;
    let response = post_token(&http, &emu, &[("grant_type", "urn:example:magic")]).await;
    let body = expect_aad_error(response, 400, "unsupported_grant_type", 70003).await;
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("urn:example:magic"));

    // Client credentials need a tenant.
    for alias in ["common", "organizations"] {
        let response = http
            .post(format!("{}/{alias}/oauth2/v2.0/token", emu.base_url()))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", app.client_id.as_str()),
                ("client_secret", app.secret.as_str()),
                ("scope", "api://resource/.default"),
            ])
            .send()
            .await
            .unwrap();
        expect_aad_error(response, 400, "invalid_request", 50059).await;
    }

    // Unknown tenant on the token endpoint.
    let response = http
        .post(format!("{}/nope.example/oauth2/v2.0/token", emu.base_url()))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    expect_aad_error(response, 400, "invalid_request", 90002).await;

    // Malformed claims.
    let response = post_token(
        &http,
        &emu,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &app.client_id),
            ("client_secret", &app.secret),
            ("scope", "api://resource/.default"),
            ("claims", "{not json"),
        ],
    )
    .await;
    expect_aad_error(response, 400, "invalid_request", 50117).await;

    assert_eq!(emu.counters().tokens_issued, 0);
}

#[tokio::test]
async fn claims_capabilities_and_recorded_requests() {
    let emu = Emulator::start().await.unwrap();
    let app = emu.register_demo_app();
    let http = client(&emu);
    let claims = r#"{"access_token":{"xms_cc":{"values":["CP1"]},"nbf":{"essential":true,"value":"1604106651"}}}"#;
    let response = http
        .post(emu.token_endpoint())
        .header("client-request-id", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")
        .header("x-client-sku", "oxmsal.rust")
        .header("x-client-ver", "0.1.0")
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", app.client_id.as_str()),
            ("client_secret", app.secret.as_str()),
            ("scope", "api://resource/.default"),
            ("client_info", "1"),
            ("claims", claims),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let token_claims = verify_with_jwks(
        &emu.jwks(),
        body["access_token"].as_str().unwrap(),
        "api://resource",
        &format!("{}/v2.0", emu.authority()),
    );
    assert_eq!(token_claims["xms_cc"], json!(["CP1"]));

    let recorded = emu.token_requests();
    assert_eq!(recorded.len(), 1);
    let r = &recorded[0];
    assert_eq!(r.param("client_secret"), Some("<redacted>"));
    assert_eq!(r.param("client_id"), Some(app.client_id.as_str()));
    assert_eq!(r.param("client_info"), Some("1"));
    assert_eq!(
        r.header("client-request-id"),
        Some("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")
    );
    assert_eq!(r.header("X-Client-SKU"), Some("oxmsal.rust"));
    assert_eq!(r.correlation_id, "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
    assert_eq!(
        r.claims.as_ref().unwrap()["access_token"]["xms_cc"]["values"],
        json!(["CP1"])
    );
    assert_eq!(r.status, Some(200));
    assert_eq!(r.fault, None);
    assert_eq!(r.tenant, emu.tenant_id());
    assert!(r.path.ends_with("/oauth2/v2.0/token"));
    assert!(r.time <= std::time::SystemTime::now());

    emu.clear_token_requests();
    assert!(emu.token_requests().is_empty());
}
