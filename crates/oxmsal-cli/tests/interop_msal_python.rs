//! Cache files cross between oxmsal and MSAL for Python 1.39, both ways, against
//! the emulator: each serves the other's token with no request.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::{finish, interop_script, python, start, with};

/// Runs the MSAL Python driver on a blocking thread (the emulator keeps serving).
async fn msal_python(env: &common::Env, cache: &std::path::Path) -> common::Run {
    let mut cmd = Command::new(python());
    cmd.arg(interop_script("client_credentials.py"))
        .args(["--authority", &env.emulator.authority()])
        .args(["--client-id", &env.demo.client_id])
        .args(["--secret-env", "APP_SECRET"])
        .args(["--scope", "api://demo/.default"])
        .args(["--cache", cache.to_str().unwrap()])
        .args(["--ca", &env.ca()])
        .env("APP_SECRET", &env.demo.secret);
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("python runs"))
        .await
        .unwrap();
    finish(out)
}

#[tokio::test]
async fn msal_python_serves_a_token_from_a_cache_oxmsal_wrote() {
    let env = start().await;
    let cache = env.path("from-oxmsal.json");
    let run = env
        .run(with(
            env.token_args(),
            &["--cache", cache.to_str().unwrap()],
        ))
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(env.emulator.counters().token_requests, 1);

    let py = msal_python(&env, &cache).await;
    assert_eq!(
        py.code, 0,
        "MSAL Python failed: {} {}",
        py.stdout, py.stderr
    );
    assert_eq!(py.json["token_source"], "cache", "{}", py.stdout);
    assert_eq!(
        env.emulator.counters().token_requests,
        1,
        "MSAL Python sent no token request"
    );
}

#[tokio::test]
async fn oxmsal_serves_a_token_from_a_cache_msal_python_wrote() {
    let env = start().await;
    let cache = env.path("from-python.json");
    let py = msal_python(&env, &cache).await;
    assert_eq!(
        py.code, 0,
        "MSAL Python failed: {} {}",
        py.stdout, py.stderr
    );
    assert_eq!(py.json["token_source"], "identity_provider");
    assert_eq!(env.emulator.counters().token_requests, 1);

    let run = env
        .run(with(
            env.token_args(),
            &["--cache", cache.to_str().unwrap()],
        ))
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json["token_source"], "cache", "{}", run.stdout);
    assert_eq!(
        env.emulator.counters().token_requests,
        1,
        "oxmsal sent no token request"
    );
}

/// The public-client driver, optionally answering its device code as Alice.
async fn msal_python_public(env: &common::Env, mode: &str, scope: &str) -> common::Run {
    use std::io::BufRead as _;
    let client_id = env.emulator.register_public_demo_app().client_id;
    let mut cmd = Command::new(python());
    cmd.arg(interop_script("public_client.py"))
        .arg(mode)
        .args(["--authority", &env.emulator.authority()])
        .args(["--client-id", &client_id])
        .args(["--scope", scope])
        .args(["--cache", env.path("cache.json").to_str().unwrap()])
        .args(["--ca", &env.ca()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("python runs");
    let stdout = child.stdout.take().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let mut last = String::new();
    while let Some(line) = rx.recv().await {
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if let Some(code) = v["user_code"].as_str() {
            env.emulator
                .approve_device_code(code, oxmsal_emulator::DEFAULT_USERNAME)
                .unwrap();
        }
        last = line;
    }
    reader.join().unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let mut run = finish(out);
    run.json = serde_json::from_str(&last).unwrap_or_default();
    run.stdout = last;
    run
}

#[tokio::test]
async fn msal_python_finds_the_account_of_an_oxmsal_device_code_login() {
    let env = common::start_for_users().await;
    let login = with(
        env.user_args("login"),
        &["--device-code", "--scope", "User.Read"],
    );
    let (run, ()) = tokio::join!(env.run(login), env.approve_next_device_code());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let requests = env.emulator.counters().token_requests;

    let py = msal_python_public(&env, "silent", "User.Read").await;
    assert_eq!(
        py.code, 0,
        "MSAL Python failed: {} {}",
        py.stdout, py.stderr
    );
    assert_eq!(
        py.json["accounts"],
        serde_json::json!([oxmsal_emulator::DEFAULT_USERNAME]),
        "{}",
        py.stdout
    );
    assert_eq!(py.json["result"]["token_source"], "cache", "{}", py.stdout);
    assert_eq!(
        env.emulator.counters().token_requests,
        requests,
        "served from the cache"
    );
}

#[tokio::test]
async fn oxmsal_finds_and_refreshes_an_msal_python_sign_in() {
    let env = common::start_for_users().await;
    let py = msal_python_public(&env, "device-login", "User.Read").await;
    assert_eq!(
        py.code, 0,
        "MSAL Python failed: {} {}",
        py.stdout, py.stderr
    );
    assert!(
        py.json["result"]["access_token_len"].as_u64().is_some(),
        "{}",
        py.stdout
    );

    let accounts = env.run(env.user_args("accounts")).await;
    assert_eq!(
        accounts.json[0]["username"],
        oxmsal_emulator::DEFAULT_USERNAME,
        "{}",
        accounts.stdout
    );
    let hit = env
        .run(with(env.user_args("token"), &["--scope", "User.Read"]))
        .await;
    assert_eq!(hit.code, 0, "{}", hit.stderr);
    assert_eq!(hit.json["token_source"], "cache");
    let before = env.emulator.counters().refresh_token_grants;
    let refreshed = env
        .run(with(env.user_args("token"), &["--scope", "Mail.Read"]))
        .await;
    assert_eq!(refreshed.code, 0, "{}", refreshed.stderr);
    assert_eq!(refreshed.json["token_source"], "identity_provider");
    assert_eq!(
        env.emulator.counters().refresh_token_grants,
        before + 1,
        "refreshed with MSAL Python's refresh token"
    );
}
