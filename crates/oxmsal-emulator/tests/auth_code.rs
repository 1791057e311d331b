//! The authorization code grant after auto sign-in: PKCE, nonce, client_info,
//! reply modes, code binding and client authentication, over real sockets
//! (redirects are inspected, never followed). The sign-in page: `authorize.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::{
    authorize, client, expect_aad_error, input_value, no_redirects, payload, pkce, post_token,
    redirect_params, verify_jwt,
};
use oxmsal_emulator::{Emulator, EmulatorConfig, DEFAULT_USERNAME, DEFAULT_USER_OID};
use serde_json::{json, Value};

const SCOPE: &str = "openid profile offline_access api://demo/read";

#[tokio::test]
async fn auto_sign_in_with_pkce_nonce_and_client_info() {
    let emu = Emulator::start().await.unwrap();
    let app = emu.register_public_demo_app();
    assert_eq!(app.redirect_uri, "http://localhost");
    let http = no_redirects(&emu);
    let pkce = pkce();
    // Any port on the loopback redirect URI.
    let redirect_uri = "http://localhost:8400/";
    let response = authorize(
        &http,
        &emu,
        &[
            ("client_id", app.client_id.as_str()),
            ("response_type", "code"),
            ("redirect_uri", redirect_uri),
            ("scope", SCOPE),
            ("state", "s-1"),
            ("nonce", "n-1"),
            ("code_challenge", &pkce.challenge),
            ("code_challenge_method", "S256"),
            ("login_hint", DEFAULT_USERNAME),
            ("client_info", "1"),
        ],
    )
    .await;
    let (location, params) = redirect_params(&response);
    assert!(location
        .as_str()
        .starts_with("http://localhost:8400/?code="));
    assert_eq!(params["state"], "s-1");
    let code = params["code"].clone();

    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", app.client_id.as_str()),
        ("code", code.as_str()),
        ("redirect_uri", redirect_uri),
        ("code_verifier", pkce.verifier.as_str()),
        ("scope", SCOPE),
        ("client_info", "1"),
    ];
    let response = post_token(&http, &emu, &form).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "api://demo/read openid profile");
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(body["ext_expires_in"], 3599);
    assert!(body["refresh_token"].as_str().unwrap().len() > 40);
    assert!(body.get("foci").is_none());

    // client_info: base64url JSON naming the account.
    let info = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(body["client_info"].as_str().unwrap())
        .unwrap();
    let info: Value = serde_json::from_slice(&info).unwrap();
    assert_eq!(
        info,
        json!({"uid": DEFAULT_USER_OID, "utid": emu.tenant_id()})
    );

    // The id token verifies against the JWKS served over HTTP.
    let jwks: Value = client(&emu)
        .get(format!("{}/discovery/v2.0/keys", emu.authority()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let issuer = format!("{}/v2.0", emu.authority());
    let id = verify_jwt(
        &jwks,
        body["id_token"].as_str().unwrap(),
        &app.client_id,
        &issuer,
    );
    assert_eq!(id["nonce"], "n-1");
    assert_eq!(id["preferred_username"], DEFAULT_USERNAME);
    assert_eq!(id["name"], "Alice");
    assert_eq!(id["oid"], DEFAULT_USER_OID);
    assert_eq!(id["tid"], emu.tenant_id());
    assert_eq!(id["ver"], "2.0");
    assert_eq!(
        id["exp"].as_u64().unwrap() - id["iat"].as_u64().unwrap(),
        3600
    );

    let at = verify_jwt(
        &jwks,
        body["access_token"].as_str().unwrap(),
        "api://demo",
        &issuer,
    );
    assert_eq!(at["scp"], "read");
    assert_eq!(at["idtyp"], "user");
    assert_eq!(at["azp"], app.client_id);
    assert_eq!(at["appid"], app.client_id);
    assert_eq!(at["azpacr"], "0");
    assert_eq!(at["oid"], DEFAULT_USER_OID);
    assert_eq!(at["upn"], DEFAULT_USERNAME);
    assert_eq!(at["sub"], id["sub"]);
    assert_ne!(at["sub"], DEFAULT_USER_OID, "sub is pairwise");

    // The protected resource accepts it.
    let resource = client(&emu)
        .get(emu.resource_url("me"))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resource.status(), 200);

    // Single use.
    let again = post_token(&http, &emu, &form).await;
    expect_aad_error(again, 400, "invalid_grant", 54005).await;

    let counters = emu.counters();
    assert_eq!(counters.authorize_requests, 1);
    assert_eq!(counters.authorization_code_grants, 2);
    assert_eq!(counters.tokens_issued, 1);

    let recorded = emu.token_requests();
    for name in ["code", "code_verifier"] {
        assert!(recorded.iter().all(|r| r.param(name) == Some("<redacted>")));
    }
    assert_eq!(recorded[0].param("client_info"), Some("1"));
}

#[tokio::test]
async fn form_post_and_fragment_replies() {
    let emu = Emulator::start().await.unwrap();
    let app = emu.register_public_demo_app();
    let http = no_redirects(&emu);
    let base = [
        ("client_id", app.client_id.as_str()),
        ("response_type", "code"),
        ("redirect_uri", "http://127.0.0.1:9/cb"),
        ("scope", "openid User.Read"),
        ("state", "a&b<c>"),
        ("login_hint", "ALICE@contoso.onmicrosoft.com"),
    ];
    // The demo app registers `http://127.0.0.1` too: any port, but the path must match.
    let response = authorize(&http, &emu, &base).await;
    assert_eq!(response.status(), 400, "path /cb is not registered");

    let mut params = base.to_vec();
    params[2] = ("redirect_uri", "http://127.0.0.1:9");
    params.push(("response_mode", "form_post"));
    let response = authorize(&http, &emu, &params).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let page = response.text().await.unwrap();
    assert!(page.contains("action=\"http://127.0.0.1:9/\""), "{page}");
    assert!(page.contains("document.forms[0].submit()"));
    assert!(input_value(&page, "state").unwrap() == "a&amp;b&lt;c&gt;");
    let code = input_value(&page, "code").unwrap();
    let response = post_token(
        &http,
        &emu,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &app.client_id),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9"),
        ],
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    // The authorize request's scopes apply when the token request has none.
    assert_eq!(body["scope"], "User.Read openid");
    assert!(body.get("refresh_token").is_none(), "no offline_access");
    assert!(body.get("client_info").is_none(), "not asked for");
    assert_eq!(
        payload(body["access_token"].as_str().unwrap())["aud"],
        "https://graph.microsoft.com"
    );

    params.pop();
    params.push(("response_mode", "fragment"));
    let response = authorize(&http, &emu, &params).await;
    let (location, fragment) = redirect_params(&response);
    assert!(location.query().is_none());
    assert_eq!(fragment["state"], "a&b<c>");
    assert!(fragment.contains_key("code"));
}

#[tokio::test]
async fn code_binding_failures() {
    let emu = Emulator::start_with(
        EmulatorConfig::default().with_authorization_code_lifetime(Duration::from_secs(1)),
    )
    .await
    .unwrap();
    let app = emu.register_public_demo_app();
    let (other, _) = emu.register_family_apps();
    let http = no_redirects(&emu);
    let pkce = pkce();
    let code = || {
        let http = http.clone();
        let app = app.client_id.clone();
        let challenge = pkce.challenge.clone();
        let emu = &emu;
        async move {
            let response = authorize(
                &http,
                emu,
                &[
                    ("client_id", app.as_str()),
                    ("response_type", "code"),
                    ("redirect_uri", "http://localhost:5000"),
                    ("scope", SCOPE),
                    ("code_challenge", &challenge),
                    ("code_challenge_method", "S256"),
                    ("login_hint", DEFAULT_USERNAME),
                ],
            )
            .await;
            redirect_params(&response).1["code"].clone()
        }
    };
    let redeem =
        |client_id: String, code: String, redirect: &'static str, verifier: Option<String>| {
            let http = http.clone();
            let emu = &emu;
            async move {
                let mut form = vec![
                    ("grant_type", "authorization_code".to_owned()),
                    ("client_id", client_id),
                    ("code", code),
                    ("redirect_uri", redirect.to_owned()),
                    ("scope", SCOPE.to_owned()),
                ];
                if let Some(v) = verifier {
                    form.push(("code_verifier", v));
                }
                http.post(emu.token_endpoint())
                    .form(&form)
                    .send()
                    .await
                    .unwrap()
            }
        };
    let id = app.client_id.clone();
    let r = redeem(
        id.clone(),
        code().await,
        "http://localhost:5000",
        Some("wrong".into()),
    )
    .await;
    let body = expect_aad_error(r, 400, "invalid_grant", 501481).await;
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("code_challenge"));
    let r = redeem(id.clone(), code().await, "http://localhost:5000", None).await;
    expect_aad_error(r, 400, "invalid_grant", 501481).await;
    let r = redeem(
        id.clone(),
        code().await,
        "http://localhost:5001",
        Some(pkce.verifier.clone()),
    )
    .await;
    expect_aad_error(r, 400, "invalid_grant", 70000).await;
    let r = redeem(
        other,
        code().await,
        "http://localhost:5000",
        Some(pkce.verifier.clone()),
    )
    .await;
    expect_aad_error(r, 400, "invalid_grant", 70000).await;
    let r = redeem(id.clone(), "0.Anope".into(), "http://localhost:5000", None).await;
    expect_aad_error(r, 400, "invalid_grant", 70000).await;
    let r = redeem(id.clone(), String::new(), "http://localhost:5000", None).await;
    expect_aad_error(r, 400, "invalid_request", 900144).await;

    // A failed PKCE check burns the code, as with Entra.
    let burnt = code().await;
    redeem(id.clone(), burnt.clone(), "http://localhost:5000", None).await;
    let r = redeem(
        id.clone(),
        burnt,
        "http://localhost:5000",
        Some(pkce.verifier.clone()),
    )
    .await;
    expect_aad_error(r, 400, "invalid_grant", 54005).await;

    // Expiry.
    let stale = code().await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = redeem(
        id.clone(),
        stale,
        "http://localhost:5000",
        Some(pkce.verifier.clone()),
    )
    .await;
    expect_aad_error(r, 400, "invalid_grant", 70008).await;
    let r = redeem(
        id,
        code().await,
        "http://localhost:5000",
        Some(pkce.verifier.clone()),
    )
    .await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn client_authentication_per_app_type() {
    let emu = Emulator::start().await.unwrap();
    let confidential = emu.register_demo_app();
    let public = emu.register_public_demo_app();
    let http = no_redirects(&emu);
    let code_for = |client_id: String| {
        let http = http.clone();
        let emu = &emu;
        async move {
            let response = authorize(
                &http,
                emu,
                &[
                    ("client_id", client_id.as_str()),
                    ("response_type", "code"),
                    ("redirect_uri", "http://localhost"),
                    ("scope", "openid offline_access api://x/y"),
                    ("login_hint", DEFAULT_USERNAME),
                ],
            )
            .await;
            redirect_params(&response).1["code"].clone()
        }
    };
    let redeem = |client_id: String, code: String, secret: Option<String>| {
        let http = http.clone();
        let emu = &emu;
        async move {
            let mut form = vec![
                ("grant_type", "authorization_code".to_owned()),
                ("client_id", client_id),
                ("code", code),
                ("redirect_uri", "http://localhost".to_owned()),
            ];
            if let Some(s) = secret {
                form.push(("client_secret", s));
            }
            http.post(emu.token_endpoint())
                .form(&form)
                .send()
                .await
                .unwrap()
        }
    };
    // A confidential app needs its credential; the code survives the failed attempt.
    let code = code_for(confidential.client_id.clone()).await;
    let r = redeem(confidential.client_id.clone(), code.clone(), None).await;
    expect_aad_error(r, 401, "invalid_client", 7000218).await;
    let r = redeem(
        confidential.client_id.clone(),
        code,
        Some(confidential.secret.clone()),
    )
    .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        payload(body["access_token"].as_str().unwrap())["azpacr"],
        "1"
    );

    // A public-only app must not send a secret.
    let code = code_for(public.client_id.clone()).await;
    let r = redeem(public.client_id.clone(), code, Some("whatever".into())).await;
    expect_aad_error(r, 401, "invalid_client", 700025).await;
}
