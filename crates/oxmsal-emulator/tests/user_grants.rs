//! Password (ROPC), refresh token (rotation, revocation, FOCI families) and
//! on-behalf-of grants, over real sockets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{auth_code_tokens, client, expect_aad_error, payload, post_token};
use oxmsal_emulator::{
    Emulator, EmulatorConfig, User, DEFAULT_USERNAME, DEFAULT_USER_OID, DEFAULT_USER_PASSWORD,
};
use serde_json::Value;

const SCOPE: &str = "openid profile offline_access api://demo/read";
const OBO: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

async fn ropc(
    emu: &Emulator,
    client_id: &str,
    username: &str,
    password: &str,
) -> reqwest::Response {
    post_token(
        &client(emu),
        emu,
        &[
            ("grant_type", "password"),
            ("client_id", client_id),
            ("username", username),
            ("password", password),
            ("scope", SCOPE),
            ("client_info", "1"),
        ],
    )
    .await
}

async fn refresh(emu: &Emulator, client_id: &str, token: &str, scope: &str) -> reqwest::Response {
    post_token(
        &client(emu),
        emu,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", client_id),
            ("refresh_token", token),
            ("scope", scope),
            ("client_info", "1"),
        ],
    )
    .await
}

#[tokio::test]
async fn password_grant() {
    let emu = Emulator::start_with(EmulatorConfig::default().with_default_user_password("hunter2"))
        .await
        .unwrap();
    let app = emu.register_public_demo_app();

    let response = ropc(&emu, &app.client_id, DEFAULT_USERNAME, "hunter2").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert!(body["refresh_token"].is_string() && body["id_token"].is_string());
    assert_eq!(
        payload(body["access_token"].as_str().unwrap())["oid"],
        DEFAULT_USER_OID
    );

    let r = ropc(
        &emu,
        &app.client_id,
        DEFAULT_USERNAME,
        DEFAULT_USER_PASSWORD,
    )
    .await;
    expect_aad_error(r, 400, "invalid_grant", 50126).await;
    let r = ropc(&emu, &app.client_id, "nobody@contoso.onmicrosoft.com", "x").await;
    let body = expect_aad_error(r, 400, "invalid_grant", 50034).await;
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains(emu.tenant_id()));

    let fed = emu
        .add_user(User::new("fed@fabrikam.example", "pw").with_federated(true))
        .unwrap();
    assert!(fed.oid.is_some());
    let r = ropc(&emu, &app.client_id, "fed@fabrikam.example", "pw").await;
    let body = expect_aad_error(r, 400, "invalid_grant", 50126).await;
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("federated"));

    let bob = emu
        .add_user(
            User::new("bob@contoso.onmicrosoft.com", "b0b")
                .with_display_name("Bob Builder")
                .with_oid("B0B00000-0000-4000-8000-000000000002"),
        )
        .unwrap();
    assert_eq!(
        bob.oid.as_deref(),
        Some("b0b00000-0000-4000-8000-000000000002")
    );
    let body: Value = ropc(&emu, &app.client_id, "BOB@contoso.onmicrosoft.com", "b0b")
        .await
        .json()
        .await
        .unwrap();
    let claims = payload(body["id_token"].as_str().unwrap());
    assert_eq!(claims["name"], "Bob Builder");
    assert_eq!(claims["oid"], "b0b00000-0000-4000-8000-000000000002");
    assert_eq!(claims["preferred_username"], "bob@contoso.onmicrosoft.com");
    assert_eq!(emu.users().len(), 3);

    // A confidential client may use it with its secret.
    let demo = emu.register_demo_app();
    let response = post_token(
        &client(&emu),
        &emu,
        &[
            ("grant_type", "password"),
            ("client_id", &demo.client_id),
            ("client_secret", &demo.secret),
            ("username", DEFAULT_USERNAME),
            ("password", "hunter2"),
            ("scope", "User.Read"),
        ],
    )
    .await;
    assert_eq!(response.status(), 200);

    assert_eq!(emu.counters().password_grants, 6);
    assert!(emu
        .token_requests()
        .iter()
        .all(|r| r.param("password") == Some("<redacted>")));

    // Home realm discovery, for clients that ask before ROPC.
    let realm = |user: &'static str| {
        let http = client(&emu);
        let url = format!("{}/common/userrealm/{user}?api-version=1.0", emu.base_url());
        async move {
            http.get(url)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        realm("alice@contoso.onmicrosoft.com").await["account_type"],
        "Managed"
    );
    assert_eq!(
        realm("fed@fabrikam.example").await["account_type"],
        "Federated"
    );
    assert_eq!(
        realm("x@elsewhere.example").await["account_type"],
        "Unknown"
    );
}

#[tokio::test]
async fn refresh_tokens_rotate_and_can_be_revoked() {
    let emu = Emulator::start().await.unwrap();
    let app = emu.register_public_demo_app();
    let first = auth_code_tokens(&emu, &app.client_id, SCOPE).await;
    let rt1 = first["refresh_token"].as_str().unwrap().to_owned();
    emu.reset_counters();

    // Another resource with the same refresh token.
    let graph = "openid profile offline_access https://graph.microsoft.com/User.Read";
    let response = refresh(&emu, &app.client_id, &rt1, graph).await;
    assert_eq!(response.status(), 200);
    let second: Value = response.json().await.unwrap();
    let rt2 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rt1, rt2, "rotated");
    assert_eq!(
        second["scope"],
        "https://graph.microsoft.com/User.Read openid profile"
    );
    let at = payload(second["access_token"].as_str().unwrap());
    assert_eq!(at["aud"], "https://graph.microsoft.com");
    assert_eq!(at["scp"], "User.Read");
    assert_eq!(at["oid"], DEFAULT_USER_OID);
    assert!(second["id_token"].is_string() && second["client_info"].is_string());
    assert_eq!(
        emu.counters().refresh_token_grants,
        1,
        "exactly one refresh request"
    );

    // The old one stays valid (as with Entra); the rotation is on record.
    assert_eq!(
        refresh(&emu, &app.client_id, &rt1, SCOPE).await.status(),
        200
    );
    let infos = emu.refresh_tokens();
    assert_eq!(infos.len(), 3, "sign-in, then two refreshes");
    assert_eq!(infos[0].username, DEFAULT_USERNAME);
    assert_eq!(infos[0].client_id, app.client_id);
    assert_eq!((infos[0].redemptions, infos[0].rotated), (2, true));
    assert!(!infos[1].rotated);

    // Errors.
    let r = refresh(&emu, &app.client_id, "1.Anope", SCOPE).await;
    expect_aad_error(r, 400, "invalid_grant", 9002313).await;
    let r = post_token(
        &client(&emu),
        &emu,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &app.client_id),
            ("refresh_token", &rt2),
        ],
    )
    .await;
    expect_aad_error(r, 400, "invalid_request", 900144).await;
    let demo = emu.register_demo_app();
    let r = post_token(
        &client(&emu),
        &emu,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &demo.client_id),
            ("client_secret", &demo.secret),
            ("refresh_token", &rt2),
            ("scope", SCOPE),
        ],
    )
    .await;
    let body = expect_aad_error(r, 400, "invalid_grant", 70000).await;
    assert_eq!(body["suberror"], "client_mismatch");

    // Revocation.
    assert_eq!(
        emu.revoke_refresh_tokens("ALICE@contoso.onmicrosoft.com"),
        3
    );
    for token in [&rt1, &rt2] {
        let body = expect_aad_error(
            refresh(&emu, &app.client_id, token, SCOPE).await,
            400,
            "invalid_grant",
            50173,
        )
        .await;
        assert_eq!(body["suberror"], "bad_token");
        assert!(body["error_description"]
            .as_str()
            .unwrap()
            .contains("TokensValidFrom"));
    }
    assert!(emu.refresh_tokens().iter().all(|i| i.revoked_at.is_some()));
    let fresh = auth_code_tokens(&emu, &app.client_id, SCOPE).await;
    let response = refresh(
        &emu,
        &app.client_id,
        fresh["refresh_token"].as_str().unwrap(),
        SCOPE,
    )
    .await;
    assert_eq!(
        response.status(),
        200,
        "tokens issued after the revocation work"
    );
    assert!(emu
        .token_requests()
        .iter()
        .all(|r| r.param("refresh_token").is_none_or(|v| v == "<redacted>")));
}

#[tokio::test]
async fn family_refresh_tokens_cross_apps() {
    let emu = Emulator::start().await.unwrap();
    let (one, two) = emu.register_family_apps();
    let outsider = emu.register_public_demo_app();
    let first = auth_code_tokens(&emu, &one, SCOPE).await;
    assert_eq!(first["foci"], "1");
    let frt = first["refresh_token"].as_str().unwrap();

    let response = refresh(&emu, &two, frt, SCOPE).await;
    assert_eq!(response.status(), 200);
    let second: Value = response.json().await.unwrap();
    assert_eq!(second["foci"], "1");
    assert_eq!(
        payload(second["access_token"].as_str().unwrap())["azp"],
        two
    );
    assert_eq!(payload(second["id_token"].as_str().unwrap())["aud"], two);
    let infos = emu.refresh_tokens();
    assert_eq!(infos[1].client_id, two);
    assert_eq!(infos[1].family_id.as_deref(), Some("1"));

    // Outside the family: refused both ways.
    let body = expect_aad_error(
        refresh(&emu, &outsider.client_id, frt, SCOPE).await,
        400,
        "invalid_grant",
        70000,
    )
    .await;
    assert_eq!(body["suberror"], "client_mismatch");
    let own = auth_code_tokens(&emu, &outsider.client_id, SCOPE).await;
    assert!(own.get("foci").is_none());
    let r = refresh(&emu, &one, own["refresh_token"].as_str().unwrap(), SCOPE).await;
    expect_aad_error(r, 400, "invalid_grant", 70000).await;
}

#[tokio::test]
async fn on_behalf_of() {
    let emu = Emulator::start_with(
        EmulatorConfig::default().with_access_token_lifetime(Duration::from_secs(2)),
    )
    .await
    .unwrap();
    let api = emu.register_demo_app();
    let front = emu.register_public_demo_app();
    let user_token = |scope: String| {
        let emu = &emu;
        let front = front.client_id.clone();
        async move {
            let body = auth_code_tokens(emu, &front, &scope).await;
            body["access_token"].as_str().unwrap().to_owned()
        }
    };
    let exchange = |assertion: String, secret: Option<String>| {
        let http = client(&emu);
        let url = emu.token_endpoint();
        let api = api.client_id.clone();
        async move {
            let mut form = vec![
                ("grant_type", OBO.to_owned()),
                ("client_id", api),
                ("requested_token_use", "on_behalf_of".to_owned()),
                ("assertion", assertion),
                (
                    "scope",
                    "openid offline_access https://graph.microsoft.com/User.Read".to_owned(),
                ),
                ("client_info", "1".to_owned()),
            ];
            if let Some(secret) = secret {
                form.push(("client_secret", secret));
            }
            http.post(url).form(&form).send().await.unwrap()
        }
    };
    let secret = Some(api.secret.clone());

    let incoming = user_token(format!("openid api://{}/access_as_user", api.client_id)).await;
    let response = exchange(incoming.clone(), secret.clone()).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let id = payload(body["id_token"].as_str().unwrap());
    assert_eq!(
        (id["aud"].as_str(), id["oid"].as_str()),
        (Some(api.client_id.as_str()), Some(DEFAULT_USER_OID))
    );
    // Kept for later: a long-running job redeems it after the assertion expired.
    let obo_refresh_token = body["refresh_token"].as_str().unwrap().to_owned();
    let at = payload(body["access_token"].as_str().unwrap());
    assert_eq!(at["oid"], DEFAULT_USER_OID);
    assert_eq!(at["aud"], "https://graph.microsoft.com");
    assert_eq!(at["azp"], api.client_id);
    assert_eq!(at["azpacr"], "1");
    assert_eq!(at["idtyp"], "user");

    // The client id itself as audience works too.
    let by_id = user_token(format!("{}/access_as_user", api.client_id)).await;
    assert_eq!(exchange(by_id, secret.clone()).await.status(), 200);

    // Refusals.
    let r = exchange(incoming.clone(), None).await;
    expect_aad_error(r, 401, "invalid_client", 7000218).await;
    let elsewhere = user_token("api://someone-else/read".into()).await;
    let body = expect_aad_error(
        exchange(elsewhere, secret.clone()).await,
        400,
        "invalid_grant",
        50013,
    )
    .await;
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("audience"));
    let app_only: Value = post_token(
        &client(&emu),
        &emu,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &api.client_id),
            ("client_secret", &api.secret),
            ("scope", &format!("api://{}/.default", api.client_id)),
        ],
    )
    .await
    .json()
    .await
    .unwrap();
    let r = exchange(
        app_only["access_token"].as_str().unwrap().to_owned(),
        secret.clone(),
    )
    .await;
    expect_aad_error(r, 400, "invalid_grant", 50013).await;
    let r = exchange("not.a.jwt".into(), secret.clone()).await;
    expect_aad_error(r, 400, "invalid_grant", 50013).await;
    let mut forged = incoming.clone();
    forged.push('A');
    let r = exchange(forged, secret.clone()).await;
    expect_aad_error(r, 400, "invalid_grant", 50013).await;

    tokio::time::sleep(Duration::from_millis(2100)).await;
    let r = exchange(incoming, secret).await;
    expect_aad_error(r, 400, "invalid_grant", 500133).await;

    // Long-running on-behalf-of: the grant's refresh token outlives the
    // assertion; the middle tier redeems it with its secret (only).
    let redeem = |secret: Option<&str>| {
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("client_id", api.client_id.as_str()),
            ("refresh_token", obo_refresh_token.as_str()),
            (
                "scope",
                "openid offline_access https://graph.microsoft.com/User.Read",
            ),
            ("client_info", "1"),
        ];
        if let Some(secret) = secret {
            form.push(("client_secret", secret));
        }
        client(&emu).post(emu.token_endpoint()).form(&form).send()
    };
    let r = redeem(None).await.unwrap();
    expect_aad_error(r, 401, "invalid_client", 7000218).await;
    let r = redeem(Some(&api.secret)).await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let at = payload(body["access_token"].as_str().unwrap());
    assert_eq!(at["oid"], DEFAULT_USER_OID);
    assert_eq!(at["aud"], "https://graph.microsoft.com");
    assert_eq!(at["azp"], api.client_id);
    let front_redeems = refresh(
        &emu,
        &front.client_id,
        &obo_refresh_token,
        "https://graph.microsoft.com/User.Read",
    )
    .await;
    expect_aad_error(front_redeems, 400, "invalid_grant", 70000).await;

    assert_eq!(emu.counters().obo_grants, 8);
    assert!(emu
        .token_requests()
        .iter()
        .filter(|r| r.param("grant_type") == Some(OBO))
        .all(|r| r.param("assertion") == Some("<redacted>")));
}
