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
