//! The authorize endpoint over real sockets: error pages versus error redirects,
//! injected outcomes, and the sign-in page driven by form posts (redirects are
//! inspected, never followed).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{authorize, input_value, no_redirects, payload, pkce, post_token, redirect_params};
use oxmsal_emulator::{AuthorizeOutcome, Emulator, DEFAULT_USERNAME, DEFAULT_USER_PASSWORD};
use serde_json::Value;

const SCOPE: &str = "openid profile offline_access api://demo/read";

#[tokio::test]
async fn untrusted_redirects_get_a_page_others_an_error_redirect() {
    let emu = Emulator::start().await.unwrap();
    let app = emu.register_public_demo_app();
    let http = no_redirects(&emu);
    let req = |client_id: &str, redirect: &str, extra: &[(&str, &str)]| {
        let mut params = vec![
            ("client_id".to_owned(), client_id.to_owned()),
            ("response_type".to_owned(), "code".to_owned()),
            ("redirect_uri".to_owned(), redirect.to_owned()),
            ("scope".to_owned(), "openid".to_owned()),
            ("state".to_owned(), "st".to_owned()),
        ];
        for (k, v) in extra {
            params.retain(|(name, _)| name != k);
            params.push(((*k).to_owned(), (*v).to_owned()));
        }
        let http = http.clone();
        let url = emu.authorize_endpoint();
        async move { http.get(url).query(&params).send().await.unwrap() }
    };
    let page = |response: reqwest::Response, code: u32| async move {
        assert_eq!(response.status(), 400);
        assert!(response.headers().get("location").is_none());
        let html = response.text().await.unwrap();
        assert!(
            html.contains(&format!("id=\"error-code\">AADSTS{code}<")),
            "{html}"
        );
        html
    };
    let html = page(
        req(&app.client_id, "https://evil.example/cb", &[]).await,
        50011,
    )
    .await;
    assert!(html.contains("https://evil.example/cb"));
    page(
        req(&app.client_id, "https://localhost:8443", &[]).await,
        50011,
    )
    .await;
    page(
        req(
            "00000000-0000-0000-0000-00000000000f",
            "http://localhost",
            &[],
        )
        .await,
        700016,
    )
    .await;
    let response = http
        .get(format!(
            "{}/nope.example/oauth2/v2.0/authorize",
            emu.base_url()
        ))
        .send()
        .await
        .unwrap();
    page(response, 90002).await;
    emu.register_app(oxmsal_emulator::AppRegistration::new("no-uris").with_public_client(true))
        .unwrap();
    page(req("no-uris", "http://localhost", &[]).await, 500113).await;

    // Past the redirect URI check, errors go back to the app.
    let error = |response: reqwest::Response| {
        let (_, params) = redirect_params(&response);
        assert_eq!(params["state"], "st");
        assert!(params["error_uri"].contains("/error?code="));
        params
    };
    let p = error(
        req(
            &app.client_id,
            "http://localhost",
            &[("response_type", "token")],
        )
        .await,
    );
    assert_eq!(p["error"], "unsupported_response_type");
    let p = error(
        req(
            &app.client_id,
            "http://localhost",
            &[("code_challenge", "x"), ("code_challenge_method", "S512")],
        )
        .await,
    );
    assert_eq!(p["error"], "invalid_request");
    assert!(p["error_description"].starts_with("AADSTS9002313: "));
    // Consent may be asked for several resources at once (MSAL's extra
    // scopes to consent; tokens come one resource at a time), but each
    // resource's scopes must hold on their own.
    let p = error(
        req(
            &app.client_id,
            "http://localhost",
            &[("scope", "api://a/x api://b/.default api://b/y")],
        )
        .await,
    );
    assert_eq!(p["error"], "invalid_scope");
    assert!(
        p["error_description"].starts_with("AADSTS70011: "),
        "{}",
        p["error_description"]
    );
    assert!(p["error_description"].contains("\r\nTrace ID: "));
    let p = error(req(&app.client_id, "http://localhost", &[("prompt", "none")]).await);
    assert_eq!(p["error"], "login_required");
}

#[tokio::test]
async fn injected_outcomes_are_one_shot() {
    let emu = Emulator::start().await.unwrap();
    let app = emu.register_public_demo_app();
    let http = no_redirects(&emu);
    let go = || async {
        authorize(
            &http,
            &emu,
            &[
                ("client_id", app.client_id.as_str()),
                ("response_type", "code"),
                ("redirect_uri", "http://localhost"),
                ("scope", "openid"),
                ("state", "xyz"),
                ("login_hint", DEFAULT_USERNAME),
            ],
        )
        .await
    };
    emu.set_authorize_outcome(AuthorizeOutcome::AccessDenied);
    assert_eq!(emu.authorize_outcome(), AuthorizeOutcome::AccessDenied);
    let (_, p) = redirect_params(&go().await);
    assert_eq!(p["error"], "access_denied");
    assert_eq!(p["error_subcode"], "cancel");
    assert_eq!(p["state"], "xyz");
    assert!(p["error_description"].starts_with("AADSTS65004: "));
    assert!(!p.contains_key("code"));
    assert_eq!(emu.authorize_outcome(), AuthorizeOutcome::Normal);
    let (_, p) = redirect_params(&go().await);
    assert!(p.contains_key("code"));

    for (outcome, error) in [
        (AuthorizeOutcome::ConsentRequired, "consent_required"),
        (
            AuthorizeOutcome::InteractionRequired,
            "interaction_required",
        ),
        (AuthorizeOutcome::LoginRequired, "login_required"),
    ] {
        emu.set_authorize_outcome(outcome);
        let (_, p) = redirect_params(&go().await);
        assert_eq!(p["error"], error);
    }
}

#[tokio::test]
async fn sign_in_page_over_http() {
    let emu = Emulator::start().await.unwrap();
    let app = emu.register_public_demo_app();
    let http = no_redirects(&emu);
    let pkce = pkce();
    let params = [
        ("client_id", app.client_id.as_str()),
        ("response_type", "code"),
        ("redirect_uri", "http://localhost:7000"),
        ("scope", SCOPE),
        ("state", "page-state"),
        ("nonce", "page-nonce"),
        ("code_challenge", pkce.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    // No login_hint: the page.
    let response = authorize(&http, &emu, &params).await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    for id in ["username", "password", "sign-in", "deny"] {
        assert!(
            html.contains(&format!("id=\"{id}\"")),
            "#{id} missing: {html}"
        );
    }
    assert!(html.contains("oxmsal public demo app"));
    let flow = input_value(&html, "flow").unwrap();
    let action = format!("{}/oauth2/v2.0/authorize/login", emu.authority());
    let post = |form: Vec<(&'static str, String)>| {
        let http = http.clone();
        let action = action.clone();
        async move { http.post(action).form(&form).send().await.unwrap() }
    };
    let attempt = |user: &str, password: &str| {
        vec![
            ("flow", flow.clone()),
            ("username", user.to_owned()),
            ("password", password.to_owned()),
            ("action", "sign_in".to_owned()),
        ]
    };

    let response = post(attempt(DEFAULT_USERNAME, "wrong")).await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("id=\"error\""));
    assert!(html.contains("AADSTS50126: Error validating credentials"));
    assert_eq!(input_value(&html, "username").unwrap(), DEFAULT_USERNAME);
    let html = post(attempt("nobody@contoso.onmicrosoft.com", "x"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("AADSTS50034: "));

    let response = post(attempt(
        "Alice@Contoso.onmicrosoft.com",
        DEFAULT_USER_PASSWORD,
    ))
    .await;
    let (_, p) = redirect_params(&response);
    assert_eq!(p["state"], "page-state");
    let response = post_token(
        &http,
        &emu,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &app.client_id),
            ("code", &p["code"]),
            ("redirect_uri", "http://localhost:7000"),
            ("code_verifier", &pkce.verifier),
            ("scope", SCOPE),
        ],
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        payload(body["id_token"].as_str().unwrap())["nonce"],
        "page-nonce"
    );

    // The form cannot be replayed.
    let response = post(attempt(DEFAULT_USERNAME, DEFAULT_USER_PASSWORD)).await;
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("AADSTS9002313"));

    // Cancel.
    let html = authorize(&http, &emu, &params).await.text().await.unwrap();
    let flow = input_value(&html, "flow").unwrap();
    let response = post(vec![("flow", flow), ("action", "deny".to_owned())]).await;
    let (_, p) = redirect_params(&response);
    assert_eq!(p["error"], "access_denied");
    assert_eq!(p["state"], "page-state");

    // With auto sign-in off, a login_hint only prefills the page.
    emu.set_auto_sign_in(false);
    let mut hinted = params.to_vec();
    hinted.push(("login_hint", DEFAULT_USERNAME));
    let response = authorize(&http, &emu, &hinted).await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert_eq!(input_value(&html, "username").unwrap(), DEFAULT_USERNAME);
    assert_eq!(emu.counters().authorize_requests, 3);
}
