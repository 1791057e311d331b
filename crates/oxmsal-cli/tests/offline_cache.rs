//! A cache hit in a new `oxmsal` process needs no identity provider: the
//! discovery metadata kept beside the cache file tells it where its tokens
//! are. With the emulator running it sends nothing; stopped, the cached token
//! (even one past its `refresh_on`) is still served.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{run_oxmsal, start, start_for_users, with, Run};
use oxmsal_emulator::{
    Counters, Emulator, EmulatorConfig, DEFAULT_USERNAME, DEFAULT_USER_PASSWORD,
};

/// Runs the binary off the runtime's thread with `APP_SECRET` set.
async fn run(args: Vec<String>, secret: &str) -> Run {
    let secret = secret.to_owned();
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        run_oxmsal(&refs, &[("APP_SECRET", &secret)])
    })
    .await
    .unwrap()
}

/// Stops the emulator and waits until its port refuses connections (its CA
/// file goes with it: `ca_copy` keeps one for the next runs).
async fn stop(emulator: Emulator, ca_copy: &Path) {
    std::fs::copy(emulator.ca_path(), ca_copy).unwrap();
    let port = emulator.port();
    drop(emulator);
    for _ in 0..500 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the emulator still accepts connections");
}

/// `args` with the value of `--ca-cert` replaced.
fn with_ca(mut args: Vec<String>, ca: &Path) -> Vec<String> {
    let at = args.iter().position(|a| a == "--ca-cert").unwrap() + 1;
    args[at] = ca.display().to_string();
    args
}

#[tokio::test]
async fn a_new_process_serves_its_cached_app_token_without_any_request() {
    let env = start().await;
    let cache = env.path("cache.json");
    let args = with(env.token_args(), &["--cache", cache.to_str().unwrap()]);
    let first = env.run(args.clone()).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(first.json["token_source"], "identity_provider");
    assert!(env.path("cache.json.metadata.json").is_file());

    env.emulator.reset_counters();
    let second = env.run(args.clone()).await;
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(second.json["token_source"], "cache");
    assert_eq!(second.json["access_token"], first.json["access_token"]);
    assert_eq!(
        env.emulator.counters(),
        Counters::default(),
        "no request at all"
    );

    // The identity provider unreachable: the valid cached token still comes.
    let ca = env.path("ca-copy.pem");
    let secret = env.demo.secret.clone();
    stop(env.emulator, &ca).await;
    let offline = run(with_ca(args, &ca), &secret).await;
    assert_eq!(offline.code, 0, "{}", offline.stderr);
    assert_eq!(offline.json["token_source"], "cache");
    assert_eq!(offline.json["access_token"], first.json["access_token"]);
}

#[tokio::test]
async fn a_refresh_due_app_token_falls_back_to_itself_with_the_provider_down() {
    // refresh_in 0: every token is past its refresh_on as soon as it is cached.
    let config = EmulatorConfig::default().with_refresh_in(Duration::ZERO);
    let emulator = Emulator::start_with(config).await.unwrap();
    let demo = emulator.register_demo_app();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache.json");
    let args = with(
        vec![
            "token".into(),
            "--authority".into(),
            emulator.authority(),
            "--client-id".into(),
            demo.client_id.clone(),
            "--secret-env".into(),
            "APP_SECRET".into(),
            "--ca-cert".into(),
            emulator.ca_path().display().to_string(),
            "--no-instance-discovery".into(),
            "--scope".into(),
            "api://demo/.default".into(),
        ],
        &["--cache", cache.to_str().unwrap()],
    );
    let first = run(args.clone(), &demo.secret).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    // Running, the provider is asked again: the token is due for refresh.
    let refreshed = run(args.clone(), &demo.secret).await;
    assert_eq!(refreshed.code, 0, "{}", refreshed.stderr);
    assert_eq!(refreshed.json["token_source"], "identity_provider");
    assert_eq!(emulator.counters().client_credentials_grants, 2);

    let ca = dir.path().join("ca-copy.pem");
    stop(emulator, &ca).await;
    let offline = run(with_ca(args, &ca), &demo.secret).await;
    assert_eq!(offline.code, 0, "{}", offline.stderr);
    assert_eq!(offline.json["token_source"], "cache");
    assert_eq!(offline.json["access_token"], refreshed.json["access_token"]);
}

#[tokio::test]
async fn a_signed_in_users_token_is_served_offline_without_any_request() {
    let env = start_for_users().await;
    let login = with(
        env.user_args("login"),
        &[
            "--username",
            DEFAULT_USERNAME,
            "--password-env",
            "PW",
            "--scope",
            "User.Read",
        ],
    );
    let signed_in = env
        .run_env(login, vec![("PW".into(), DEFAULT_USER_PASSWORD.into())])
        .await;
    assert_eq!(signed_in.code, 0, "{}", signed_in.stderr);

    let token = with(env.user_args("token"), &["--scope", "User.Read"]);
    env.emulator.reset_counters();
    let hit = env.run_env(token.clone(), vec![]).await;
    assert_eq!(hit.code, 0, "{}", hit.stderr);
    assert_eq!(hit.json["token_source"], "cache");
    assert_eq!(
        env.emulator.counters(),
        Counters::default(),
        "no request at all"
    );

    let ca = env.path("ca-copy.pem");
    stop(env.emulator, &ca).await;
    let offline = run(with_ca(token, &ca), "").await;
    assert_eq!(offline.code, 0, "{}", offline.stderr);
    assert_eq!(offline.json["token_source"], "cache");
    assert_eq!(offline.json["access_token"], hit.json["access_token"]);
}

#[tokio::test]
async fn a_planted_metadata_file_is_ignored_and_rediscovered() {
    let env = start().await;
    let cache = env.path("cache.json");
    let args = with(env.token_args(), &["--cache", cache.to_str().unwrap()]);
    let first = env.run(args.clone()).await;
    assert_eq!(first.code, 0, "{}", first.stderr);

    // Someone points the token endpoint elsewhere: the entry is not trusted.
    let metadata = env.path("cache.json.metadata.json");
    let text = std::fs::read_to_string(&metadata).unwrap();
    let authority = env.emulator.authority();
    let planted = text.replace(
        &format!("\"token_endpoint\":\"{authority}"),
        "\"token_endpoint\":\"https://evil.example",
    );
    assert_ne!(planted, text);
    std::fs::write(&metadata, planted).unwrap();
    env.emulator.reset_counters();
    let second = env
        .run_env(
            args.clone(),
            vec![
                ("APP_SECRET".into(), env.demo.secret.clone()),
                ("OXMSAL_LOG".into(), "warn".into()),
            ],
        )
        .await;
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(second.json["token_source"], "cache");
    assert!(
        second
            .stderr
            .contains("persisted discovery metadata ignored"),
        "{}",
        second.stderr
    );
    assert_eq!(env.emulator.counters().discovery_requests, 1);
    // Rediscovered and written again: the next process needs no request.
    env.emulator.reset_counters();
    let third = env.run(args).await;
    assert_eq!(third.json["token_source"], "cache", "{}", third.stderr);
    assert_eq!(env.emulator.counters(), Counters::default());
}
