//! The user commands against a real emulator: login, accounts, token (silent),
//! logout, decode.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::BufRead as _;
use std::process::{Command, Stdio};

use common::{run_oxmsal, start_for_users, with};
use oxmsal_emulator::{DEFAULT_USERNAME, DEFAULT_USER_PASSWORD};

#[tokio::test]
async fn device_code_login_accounts_silent_refresh_logout() {
    let env = start_for_users().await;
    let login = with(
        env.user_args("login"),
        &["--device-code", "--scope", "User.Read"],
    );
    let (run, ()) = tokio::join!(env.run(login), env.approve_next_device_code());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json["token_source"], "identity_provider");
    assert!(
        run.stderr.contains("enter the code") || run.stderr.to_lowercase().contains("code"),
        "{}",
        run.stderr
    );

    let accounts = env.run(env.user_args("accounts")).await;
    assert_eq!(accounts.code, 0, "{}", accounts.stderr);
    let list = accounts.json.as_array().expect("a JSON array");
    assert_eq!(list.len(), 1);
    for key in ["username", "home_account_id", "environment", "realm"] {
        assert!(list[0][key].is_string(), "{key}");
    }
    assert_eq!(list[0]["username"], DEFAULT_USERNAME);

    let silent = env
        .run(with(env.user_args("token"), &["--scope", "User.Read"]))
        .await;
    assert_eq!(silent.code, 0, "{}", silent.stderr);
    assert_eq!(silent.json["token_source"], "cache");

    let before = env.emulator.counters().refresh_token_grants;
    let refreshed = env
        .run(with(env.user_args("token"), &["--scope", "Mail.Read"]))
        .await;
    assert_eq!(refreshed.code, 0, "{}", refreshed.stderr);
    assert_eq!(refreshed.json["token_source"], "identity_provider");
    assert_eq!(env.emulator.counters().refresh_token_grants, before + 1);

    let logout = env
        .run(with(
            env.user_args("logout"),
            &["--account", DEFAULT_USERNAME],
        ))
        .await;
    assert_eq!(logout.code, 0, "{}", logout.stderr);
    assert!(logout.json["removed_entries"].as_u64().unwrap() > 0);
    let after = env
        .run(with(env.user_args("token"), &["--scope", "User.Read"]))
        .await;
    assert_eq!(after.code, 1, "{}", after.stdout);
    assert_eq!(after.json["error"], "no_cached_token");
}

#[tokio::test]
async fn password_login_and_interaction_required() {
    let env = start_for_users().await;
    let args = with(
        env.user_args("login"),
        &["--username", DEFAULT_USERNAME, "--password-env", "PW"],
    );
    let ok = env
        .run_env(
            args.clone(),
            vec![("PW".into(), DEFAULT_USER_PASSWORD.into())],
        )
        .await;
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let bad = env.run_env(args, vec![("PW".into(), "nope".into())]).await;
    assert_eq!(bad.code, 1, "{}", bad.stderr);
    assert_eq!(bad.json["error"], "invalid_grant");
    assert!(!bad.stdout.contains("nope") && !bad.stderr.contains("nope"));

    // The refresh token is revoked: silent needs interaction, exit 1 with the server's error.
    env.emulator.revoke_refresh_tokens(DEFAULT_USERNAME);
    let run = env
        .run(with(env.user_args("token"), &["--scope", "Mail.Read"]))
        .await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.json["error"], "invalid_grant");
    assert_eq!(run.json["classification"], "");
}

#[tokio::test]
async fn several_accounts_need_account_flag() {
    let env = start_for_users().await;
    env.emulator
        .add_user(oxmsal_emulator::User::new(
            "bob@contoso.onmicrosoft.com",
            "pw-bob",
        ))
        .unwrap();
    for (user, pw) in [
        (DEFAULT_USERNAME, DEFAULT_USER_PASSWORD),
        ("bob@contoso.onmicrosoft.com", "pw-bob"),
    ] {
        let args = with(
            env.user_args("login"),
            &[
                "--username",
                user,
                "--password-env",
                "PW",
                "--scope",
                "User.Read",
            ],
        );
        let run = env.run_env(args, vec![("PW".into(), pw.into())]).await;
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    let ambiguous = env
        .run(with(env.user_args("token"), &["--scope", "User.Read"]))
        .await;
    assert_eq!(ambiguous.code, 2, "{}", ambiguous.stderr);
    let bob = env
        .run(with(
            env.user_args("token"),
            &[
                "--scope",
                "User.Read",
                "--account",
                "BOB@contoso.onmicrosoft.com",
            ],
        ))
        .await;
    assert_eq!(bob.code, 0, "{}", bob.stderr);
    assert_eq!(bob.json["token_source"], "cache");
}

#[tokio::test]
async fn interactive_no_browser_prints_the_url_and_completes() {
    let env = start_for_users().await;
    let args = with(
        env.user_args("login"),
        &["--interactive", "--no-browser", "--timeout", "60"],
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_oxmsal"))
        .args(&args)
        .env_remove("OXMSAL_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let url = tokio::task::spawn_blocking(move || {
        let mut lines = std::io::BufReader::new(stderr).lines();
        lines
            .find_map(|l| l.ok().filter(|l| l.starts_with("https://")))
            .expect("the URL on stderr")
    })
    .await
    .unwrap();
    // A browser with a remembered session: the emulator signs Alice in at once.
    let url = format!("{url}&login_hint={}", DEFAULT_USERNAME.replace('@', "%40"));
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(env.emulator.ca_pem().as_bytes()).unwrap()])
        .no_proxy()
        .build()
        .unwrap();
    let page = client.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("close this window"), "{page}");
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let run = common::finish(out);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json["token_source"], "identity_provider");
}

#[test]
fn decode_prints_header_and_claims() {
    let token = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6MX0.";
    let run = run_oxmsal(&["decode", token], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json["header"]["alg"], "none");
    assert_eq!(run.json["claims"]["sub"], "alice");
    let bad = run_oxmsal(&["decode", "not-a-jwt"], &[]);
    assert_eq!(bad.code, 2);
    assert_eq!(bad.stderr.trim().lines().count(), 1);
}

#[tokio::test]
async fn on_behalf_of_from_the_cli_with_a_cache_hit_the_second_time() {
    let env = start_for_users().await;
    let api_scope = format!("api://{}/access_as_user", env.demo.client_id);
    let args = with(
        env.user_args("login"),
        &[
            "--username",
            DEFAULT_USERNAME,
            "--password-env",
            "PW",
            "--scope",
            &api_scope,
        ],
    );
    let login = env
        .run_env(args, vec![("PW".into(), DEFAULT_USER_PASSWORD.into())])
        .await;
    assert_eq!(login.code, 0, "{}", login.stderr);
    let incoming = login.json["access_token"].as_str().unwrap().to_owned();

    let obo_cache = env.path("obo-cache.json").display().to_string();
    let obo_args = vec![
        "token".to_string(),
        "--authority".into(),
        env.emulator.authority(),
        "--client-id".into(),
        env.demo.client_id.clone(),
        "--secret-env".into(),
        "APP_SECRET".into(),
        "--on-behalf-of-env".into(),
        "INCOMING".into(),
        "--ca-cert".into(),
        env.ca(),
        "--no-instance-discovery".into(),
        "--cache".into(),
        obo_cache,
        "--scope".into(),
        "https://graph.microsoft.com/.default".into(),
    ];
    let vars = vec![
        ("APP_SECRET".to_string(), env.demo.secret.clone()),
        ("INCOMING".to_string(), incoming),
    ];
    let first = env.run_env(obo_args.clone(), vars.clone()).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(first.json["token_source"], "identity_provider");
    let second = env.run_env(obo_args, vars).await;
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(second.json["token_source"], "cache");
    assert_eq!(env.emulator.counters().obo_grants, 1);
}

/// Signs the default user in for `scope` (username and password); the access token.
async fn password_login(env: &common::Env, scope: &str) -> String {
    let args = with(
        env.user_args("login"),
        &[
            "--username",
            DEFAULT_USERNAME,
            "--password-env",
            "PW",
            "--scope",
            scope,
        ],
    );
    let login = env
        .run_env(args, vec![("PW".into(), DEFAULT_USER_PASSWORD.into())])
        .await;
    assert_eq!(login.code, 0, "{}", login.stderr);
    login.json["access_token"].as_str().unwrap().to_owned()
}

/// `--claims`, `--claims-challenge` and `--tenant` reach the on-behalf-of
/// request: the emulator records them on the jwt-bearer grant it received.
#[tokio::test]
async fn on_behalf_of_sends_claims_and_tenant() {
    use base64::Engine as _;
    let env = start_for_users().await;
    let incoming = password_login(
        &env,
        &format!("api://{}/access_as_user", env.demo.client_id),
    )
    .await;
    // The app's authority names no tenant: the request's path shows `--tenant`.
    let organizations = format!("{}/organizations", env.emulator.base_url());
    let obo = |extra: &[&str]| {
        with(
            vec![
                "token".into(),
                "--authority".into(),
                organizations.clone(),
                "--client-id".into(),
                env.demo.client_id.clone(),
                "--secret-env".into(),
                "APP_SECRET".into(),
                "--on-behalf-of-env".into(),
                "INCOMING".into(),
                "--ca-cert".into(),
                env.ca(),
                "--no-instance-discovery".into(),
                "--no-cache".into(),
                "--scope".into(),
                "https://graph.microsoft.com/.default".into(),
            ],
            extra,
        )
    };
    let vars = vec![
        ("APP_SECRET".to_string(), env.demo.secret.clone()),
        ("INCOMING".to_string(), incoming),
    ];
    let claims = r#"{"access_token":{"acrs":{"essential":true,"value":"c1"}}}"#;
    let tenant = oxmsal_emulator::DEFAULT_TENANT_DOMAIN;
    let run = env
        .run_env(obo(&["--claims", claims, "--tenant", tenant]), vars.clone())
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let sent = env.emulator.token_requests().pop().unwrap();
    assert_eq!(sent.params["requested_token_use"], "on_behalf_of");
    assert_eq!(sent.tenant, env.emulator.tenant_id(), "{}", sent.path);
    let got = sent.claims.expect("claims sent");
    assert_eq!(got["access_token"]["acrs"]["value"], "c1", "{got}");

    let encoded = base64::engine::general_purpose::STANDARD.encode(claims);
    let header = format!(r#"Bearer realm="", error="insufficient_claims", claims="{encoded}""#);
    let run = env
        .run_env(obo(&["--claims-challenge", &header]), vars)
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let sent = env.emulator.token_requests().pop().unwrap();
    assert_eq!(sent.params["requested_token_use"], "on_behalf_of");
    let got = sent.claims.expect("the challenge's claims sent");
    assert_eq!(got["access_token"]["acrs"]["value"], "c1", "{got}");
}

/// `--account` names a signed-in user: with a client credential (an app
/// token, or on-behalf-of) it would be dropped, so it is refused before
/// anything is sent.
#[tokio::test]
async fn account_with_a_client_credential_is_refused() {
    let env = common::start().await;
    let args = with(env.token_args(), &["--account", "alice@example.com"]);
    let run = env
        .run_env(args, vec![("APP_SECRET".into(), env.demo.secret.clone())])
        .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    let said = run.json["error_description"].as_str().unwrap_or_default();
    assert!(said.contains("--account"), "{}", run.stdout);
    assert_eq!(env.emulator.counters().token_requests, 0);
}

/// `accounts --client-id` lists the accounts holding that app's tokens and
/// `accounts --authority` those of its host; without them, every account.
#[tokio::test]
async fn accounts_are_filtered_by_client_id_and_authority() {
    let env = start_for_users().await;
    password_login(&env, "User.Read").await;
    let count = |run: &common::Run| run.json.as_array().map(Vec::len);

    let mine = env.run(env.user_args("accounts")).await;
    assert_eq!(mine.code, 0, "{}", mine.stderr);
    assert_eq!(count(&mine), Some(1), "{}", mine.stdout);

    let cache = env.path("cache.json").display().to_string();
    let list = |extra: &[&str]| {
        let mut args = vec!["accounts", "--cache", &cache];
        args.extend_from_slice(extra);
        run_oxmsal(&args, &[])
    };
    let everything = list(&[]);
    assert_eq!(count(&everything), Some(1), "{}", everything.stdout);
    let other_app = list(&["--client-id", "00000000-0000-0000-0000-00000000beef"]);
    assert_eq!(other_app.code, 0, "{}", other_app.stderr);
    assert_eq!(count(&other_app), Some(0), "{}", other_app.stdout);
    let other_host = list(&["--authority", "https://login.microsoftonline.com/common"]);
    assert_eq!(other_host.code, 0, "{}", other_host.stderr);
    assert_eq!(count(&other_host), Some(0), "{}", other_host.stdout);
    let this_host = list(&["--authority", &env.emulator.authority()]);
    assert_eq!(count(&this_host), Some(1), "{}", this_host.stdout);
}
