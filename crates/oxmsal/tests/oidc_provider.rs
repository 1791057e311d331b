//! oxmsal against the npm `oidc-provider` 9.x — a certified OpenID Provider, not
//! Entra ID — as a generic OIDC authority (`oidc_authority`), over real HTTPS
//! sockets: the auth code flow with PKCE (its login and consent pages driven
//! headlessly), the refresh token grant, the device code flow and client
//! credentials. The server is `interop/oidc-provider/server.mjs`; its npm
//! dependencies are installed by scripts/test. A missing `node` or
//! `node_modules` fails these tests, it never skips them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod oidc;

use std::time::Duration;

use oidc::{
    query_map, Browser, Landing, OidcProvider, API_RESOURCE, API_SCOPE, DAEMON_CLIENT_ID,
    DAEMON_CLIENT_SECRET, PUBLIC_CLIENT_ID, REDIRECT_URI,
};
use oxmsal::credential::ClientCredential;
use oxmsal::{
    AuthenticationResult, ConfidentialClientApplication, ErrorKind, PublicClientApplication,
    TokenSource,
};

/// The public client of the provider, trusting the test CA.
fn public_app(provider: &OidcProvider) -> PublicClientApplication {
    PublicClientApplication::builder(PUBLIC_CLIENT_ID)
        .oidc_authority(provider.issuer.clone())
        .extra_root_certificate_pem(provider.ca_pem())
        .build()
        .unwrap()
}

fn daemon_app(provider: &OidcProvider, secret: &str) -> ConfidentialClientApplication {
    ConfidentialClientApplication::builder(DAEMON_CLIENT_ID, ClientCredential::secret(secret))
        .oidc_authority(provider.issuer.clone())
        .extra_root_certificate_pem(provider.ca_pem())
        .build()
        .unwrap()
}

/// The auth code flow with PKCE, its pages driven by a headless browser.
async fn sign_in_with_auth_code(
    provider: &OidcProvider,
    app: &PublicClientApplication,
    login: &str,
) -> AuthenticationResult {
    // OpenID Connect Core §11: `offline_access` (a refresh token) is granted
    // only with prompt=consent; oxmsal asks for it on every sign-in.
    let flow = app
        .initiate_auth_code_flow([API_SCOPE], REDIRECT_URI)
        .prompt("consent")
        .await
        .unwrap();
    let auth_uri = url::Url::parse(&flow.auth_uri).unwrap();
    assert!(
        auth_uri
            .as_str()
            .starts_with(&format!("{}/auth?", provider.issuer)),
        "the authorization endpoint comes from discovery: {auth_uri}"
    );
    let query = query_map(&auth_uri);
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["scope"], "api.read offline_access openid profile");

    let mut browser = Browser::new(provider);
    let first = browser.get(&flow.auth_uri).await;
    let landing = browser.complete_sign_in(first, login, None).await;
    assert_eq!(
        browser.submitted,
        ["login", "consent"],
        "{:#?}",
        browser.trail
    );
    let Landing::LeftProvider(redirect) = landing else {
        panic!("the sign-in did not redirect to the app: {landing:?}");
    };
    assert!(
        redirect.as_str().starts_with(REDIRECT_URI),
        "redirected to the registered redirect URI: {redirect}"
    );
    let params = query_map(&redirect);
    assert_eq!(params.get("state"), Some(&flow.state));
    assert!(params.contains_key("code"), "{redirect}");
    // RFC 9207: the provider names itself in the response.
    assert_eq!(params.get("iss"), Some(&provider.issuer));

    // A redirect claiming another issuer is refused before the code is redeemed.
    let mut forged = params.clone();
    forged.insert("iss".into(), "https://evil.example/tenant1".into());
    let err = app
        .acquire_token_by_auth_code_flow(&flow, &forged)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), oxmsal::ErrorKind::InvalidResponse);
    assert!(err.to_string().contains("issuer mismatch"), "{err}");

    app.acquire_token_by_auth_code_flow(&flow, &params)
        .await
        .unwrap_or_else(|e| panic!("redeeming the code failed: {e}\n{}", provider.stderr()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_code_flow_with_pkce_signs_in_and_caches_the_account() {
    let provider = OidcProvider::start();
    let app = public_app(&provider);

    let result = sign_in_with_auth_code(&provider, &app, "alice").await;
    assert_eq!(result.token_source, TokenSource::IdentityProvider);
    assert_eq!(result.token_type, "Bearer");
    assert_eq!(*result.scopes, [API_SCOPE.to_owned()]);
    assert!(
        (3500..=3600).contains(&result.expires_in),
        "{}",
        result.expires_in
    );

    // A JWT access token for the API, signed by the provider.
    let at = provider
        .verify(result.access_token.expose_secret(), API_RESOURCE)
        .await;
    assert_eq!(at["sub"], "alice");
    assert_eq!(at["client_id"], PUBLIC_CLIENT_ID);
    assert_eq!(at["scope"], API_SCOPE);

    // The id token: verified here, and its claims in the result.
    let json = result.to_msal_json();
    let id_token = json["id_token"]
        .as_str()
        .expect("an id token in the response");
    let verified = provider.verify(id_token, PUBLIC_CLIENT_ID).await;
    let claims = result.id_token_claims.as_ref().expect("id token claims");
    assert_eq!(**claims, verified);
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["preferred_username"], "alice@oidc.test");
    assert!(claims["nonce"].is_string(), "the nonce oxmsal checked");
    assert!(
        json["refresh_token"].is_string(),
        "offline_access was granted"
    );

    // The account: `sub` as the home account id (no client_info here), the
    // issuer's host as the environment, its path segment as the realm.
    let account = result.account.clone().expect("an account in the result");
    assert_eq!(account.home_account_id, "alice");
    assert_eq!(account.environment, "localhost");
    assert_eq!(account.realm, "tenant1");
    assert_eq!(account.username, "alice@oidc.test");
    assert_eq!(account.local_account_id.as_deref(), Some("alice"));
    assert_eq!(account.authority_type, "Generic");
    assert_eq!(
        account.account_source.as_deref(),
        Some("authorization_code")
    );
    assert_eq!(app.accounts().await.unwrap(), vec![(*account).clone()]);
    let cache = app.token_cache();
    assert_eq!(
        (
            cache.access_token_count(),
            cache.refresh_token_count(),
            cache.id_token_count()
        ),
        (1, 1, 1)
    );

    // The cached token serves a silent request without the network.
    let token_posts = provider.requests("POST", "/token").await;
    let hit = app
        .acquire_token_silent([API_SCOPE], &account)
        .await
        .unwrap();
    assert_eq!(hit.token_source, TokenSource::Cache);
    assert_eq!(hit.access_token, result.access_token);
    assert_eq!(hit.account.as_ref(), Some(&account));
    assert_eq!(hit.id_token_claims.as_ref(), Some(claims));
    assert_eq!(provider.requests("POST", "/token").await, token_posts);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_refresh_redeems_and_rotates_the_refresh_token() {
    let provider = OidcProvider::start();
    let app = public_app(&provider);
    let signed_in = sign_in_with_auth_code(&provider, &app, "bob").await;
    let account = app
        .accounts()
        .await
        .unwrap()
        .pop()
        .expect("the signed-in account");
    let first_rt = signed_in.to_msal_json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let refreshed = app
        .acquire_token_silent([API_SCOPE], &account)
        .force_refresh(true)
        .await
        .unwrap_or_else(|e| panic!("refresh failed: {e}\n{}", provider.stderr()));
    assert_eq!(refreshed.token_source, TokenSource::IdentityProvider);
    assert_ne!(refreshed.access_token, signed_in.access_token);
    assert_eq!(*refreshed.scopes, [API_SCOPE.to_owned()]);
    let at = provider
        .verify(refreshed.access_token.expose_secret(), API_RESOURCE)
        .await;
    assert_eq!(at["sub"], "bob");
    // The same account (its `account_source` aside: a refresh result reports
    // `refresh_token` while the cache keeps the grant that signed it in).
    let same = refreshed.account.as_ref().expect("the account");
    assert_eq!(
        (
            &same.home_account_id,
            &same.environment,
            &same.realm,
            &same.username
        ),
        (
            &account.home_account_id,
            &account.environment,
            &account.realm,
            &account.username
        )
    );
    assert_eq!(
        app.accounts().await.unwrap(),
        vec![account.clone()],
        "the cached account is unchanged"
    );
    let json = refreshed.to_msal_json();
    assert!(json["id_token"].is_string(), "a refreshed id token");
    let second_rt = json["refresh_token"]
        .as_str()
        .expect("a rotated refresh token");
    assert_ne!(
        second_rt, first_rt,
        "public clients get rotated refresh tokens"
    );

    // The provider consumed the first refresh token (reusing it would revoke
    // the grant): a second refresh works only if oxmsal kept the rotated one.
    let again = app
        .acquire_token_silent([API_SCOPE], &account)
        .force_refresh(true)
        .await
        .unwrap_or_else(|e| panic!("second refresh failed: {e}\n{}", provider.stderr()));
    assert_eq!(again.token_source, TokenSource::IdentityProvider);
    assert_ne!(again.access_token, refreshed.access_token);
    let cache = app.token_cache();
    assert_eq!(
        (
            cache.access_token_count(),
            cache.refresh_token_count(),
            cache.account_count()
        ),
        (1, 1, 1),
        "refreshes replace entries, they do not add"
    );

    // And without force_refresh the newest token comes from the cache.
    let hit = app
        .acquire_token_silent([API_SCOPE], &account)
        .await
        .unwrap();
    assert_eq!(hit.token_source, TokenSource::Cache);
    assert_eq!(hit.access_token, again.access_token);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_code_flow_signs_in_while_the_app_polls() {
    let provider = OidcProvider::start();
    let app = public_app(&provider);
    let flow = app.initiate_device_flow([API_SCOPE]).await.unwrap();
    assert_eq!(flow.verification_uri, format!("{}/device", provider.issuer));
    assert_eq!(flow.interval, 1, "the server announces a 1 s interval");
    assert_eq!(flow.expires_in, 600);
    assert!(flow.message.contains(&flow.user_code), "{}", flow.message);

    let polling = {
        let (app, flow) = (app.clone(), flow.clone());
        tokio::spawn(async move { app.acquire_token_by_device_flow(&flow).await })
    };

    // Let the first poll happen before the user signs in: the provider answers
    // `authorization_pending` and the app must keep polling.
    let waiting = std::time::Instant::now();
    while provider.requests("POST", "/token").await == 0 {
        assert!(
            waiting.elapsed() < Duration::from_secs(20),
            "the app never polled\n{}",
            provider.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!polling.is_finished(), "nobody has signed in yet");

    // The user, on "another device": the code, a confirmation, login, consent.
    let mut browser = Browser::new(&provider);
    let first = browser.get(&flow.verification_uri).await;
    let landing = browser
        .complete_sign_in(first, "carol", Some(&flow.user_code))
        .await;
    let Landing::Page(done) = landing else {
        panic!("the device sign-in left the provider: {landing:?}");
    };
    assert!(done.body.contains("Sign-in Success"), "{}", done.body);
    assert_eq!(
        browser.submitted,
        ["user_code", "confirm", "login", "consent"],
        "{:#?}",
        browser.trail
    );

    let result = tokio::time::timeout(Duration::from_secs(30), polling)
        .await
        .unwrap_or_else(|_| panic!("polling did not finish\n{}", provider.stderr()))
        .unwrap()
        .unwrap_or_else(|e| panic!("the device flow failed: {e}\n{}", provider.stderr()));
    assert_eq!(result.token_source, TokenSource::IdentityProvider);
    let at = provider
        .verify(result.access_token.expose_secret(), API_RESOURCE)
        .await;
    assert_eq!(at["sub"], "carol");
    assert_eq!(at["scope"], API_SCOPE);
    let account = result.account.clone().expect("an account");
    assert_eq!(account.home_account_id, "carol");
    assert_eq!(account.username, "carol@oidc.test");
    assert_eq!(
        account.account_source.as_deref(),
        Some("urn:ietf:params:oauth:grant-type:device_code")
    );
    assert!(result.to_msal_json()["refresh_token"].is_string());
    assert_eq!(app.accounts().await.unwrap(), vec![(*account).clone()]);
    assert!(
        provider.requests("POST", "/token").await >= 2,
        "polled past `authorization_pending`"
    );

    // The device flow's refresh token works too.
    let refreshed = app
        .acquire_token_silent([API_SCOPE], &account)
        .force_refresh(true)
        .await
        .unwrap_or_else(|e| panic!("refresh failed: {e}\n{}", provider.stderr()));
    assert_eq!(refreshed.token_source, TokenSource::IdentityProvider);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_token_then_a_cache_hit() {
    let provider = OidcProvider::start();
    let app = daemon_app(&provider, DAEMON_CLIENT_SECRET);

    let first = app
        .acquire_token_for_client([API_SCOPE])
        .await
        .unwrap_or_else(|e| panic!("client credentials failed: {e}\n{}", provider.stderr()));
    assert_eq!(first.token_source, TokenSource::IdentityProvider);
    assert_eq!(*first.scopes, [API_SCOPE.to_owned()]);
    assert!(first.account.is_none(), "an app-only token");
    let at = provider
        .verify(first.access_token.expose_secret(), API_RESOURCE)
        .await;
    assert_eq!(at["sub"], DAEMON_CLIENT_ID);
    assert_eq!(at["client_id"], DAEMON_CLIENT_ID);
    assert_eq!(at["scope"], API_SCOPE);
    assert_eq!(provider.requests("POST", "/token").await, 1);

    let second = app.acquire_token_for_client([API_SCOPE]).await.unwrap();
    assert_eq!(second.token_source, TokenSource::Cache);
    assert_eq!(second.access_token, first.access_token);
    assert_eq!(
        provider.requests("POST", "/token").await,
        1,
        "no second request"
    );

    // A wrong secret is the provider's OAuth error, as a value.
    let wrong = daemon_app(&provider, "not-the-secret");
    let err = wrong
        .acquire_token_for_client([API_SCOPE])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Service, "{err}");
    assert_eq!(err.service().unwrap().error, "invalid_client");
}
