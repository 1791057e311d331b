//! `oxmsal token --cache redis://…`: processes sharing a token cache through a
//! real redis-server, and carrying on when Redis goes away.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "../../oxmsal/tests/redis_server/mod.rs"]
mod redis_server;

use common::{start, with};
use oxmsal_emulator::Fault;
use redis_server::RedisServer;

#[tokio::test]
async fn two_processes_share_tokens_through_redis() {
    let server = RedisServer::start(&[]);
    let env = start().await;
    let args = with(env.token_args(), &["--cache", &server.url()]);

    let first = env.run(args.clone()).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(first.json["token_source"], "identity_provider");
    assert_eq!(server.query(&["DBSIZE"]), "2", "the token is in Redis");
    assert_eq!(
        server.query(&["EXISTS", "oxmsal:metadata"]),
        "1",
        "and the discovery metadata, under its own key"
    );

    let second = env.run(args).await;
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(
        second.json["token_source"], "cache",
        "the first process's token"
    );
    assert_eq!(second.json["access_token"], first.json["access_token"]);
    assert_eq!(env.emulator.counters().token_requests, 1);
    assert_eq!(
        env.emulator.counters().discovery_requests,
        1,
        "the second process discovered nothing"
    );
    // Nothing on disk next to the test (no cache file, no throttle file).
    assert_eq!(std::fs::read_dir(env.dir.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn a_cache_hit_leaves_the_throttle_state_in_redis_alone() {
    let server = RedisServer::start(&[]);
    let env = start().await;
    let args = with(env.token_args(), &["--cache", &server.url()]);
    let first = env.run(args.clone()).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    // A state no run would leave (saving an empty state deletes the key):
    // any save rewrites or deletes it.
    server.query(&["SET", "oxmsal:throttle", "{}"]);

    let hit = env.run(args).await;
    assert_eq!(hit.code, 0, "{}", hit.stderr);
    assert_eq!(hit.json["token_source"], "cache");
    assert_eq!(server.query(&["GET", "oxmsal:throttle"]), "{}");
}

#[tokio::test]
async fn a_back_off_is_shared_through_redis_and_refuses_the_next_run_with_exit_4() {
    let server = RedisServer::start(&[]);
    let env = start().await;
    let args = with(env.token_args(), &["--cache", &server.url()]);
    env.emulator.inject(Fault::Throttle {
        retry_after: Some("30".into()),
    });
    let first = env.run(args.clone()).await;
    assert_eq!(first.code, 1, "{}", first.stderr);
    assert_eq!(env.emulator.counters().token_requests, 1);
    let ttl: i64 = server.query(&["TTL", "oxmsal:throttle"]).parse().unwrap();
    assert!(
        (1..=30).contains(&ttl),
        "the back-off is in Redis: TTL {ttl}"
    );

    let second = env.run(args).await;
    assert_eq!(second.code, 4, "{}", second.stderr);
    assert_eq!(second.json, first.json, "the remembered answer");
    assert_eq!(
        env.emulator.counters().token_requests,
        1,
        "nothing was sent"
    );
    assert_eq!(std::fs::read_dir(env.dir.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn redis_down_still_gets_a_token_and_never_shows_the_password() {
    const PASSWORD: &str = "cli-r3dis-pw";
    let mut server = RedisServer::start(&["--requirepass", PASSWORD]);
    let env = start().await;
    let url = format!("redis://:{PASSWORD}@127.0.0.1:{}/0", server.port);
    let args = with(env.token_args(), &["--cache", &url]);
    // Logs on, so a leak through a warning would show.
    let logs = vec![
        ("APP_SECRET".to_owned(), env.demo.secret.clone()),
        ("OXMSAL_LOG".to_owned(), "debug".to_owned()),
    ];

    let up = env.run_env(args.clone(), logs.clone()).await;
    assert_eq!(up.code, 0, "{}", up.stderr);
    assert_eq!(up.json["token_source"], "identity_provider");

    server.kill();
    let started = std::time::Instant::now();
    let down = env.run_env(args, logs).await;
    let elapsed = started.elapsed();
    assert_eq!(down.code, 0, "{}", down.stderr);
    assert!(down.json["access_token"]
        .as_str()
        .unwrap()
        .starts_with("eyJ"));
    // A new process has nothing in memory: the token came from the emulator.
    assert_eq!(down.json["token_source"], "identity_provider");
    assert_eq!(env.emulator.counters().token_requests, 2);
    assert!(
        down.stderr.contains("Redis"),
        "the outage is logged: {}",
        down.stderr
    );
    eprintln!("token with Redis down in {elapsed:?}");

    for run in [&up, &down] {
        assert!(!run.stdout.contains(PASSWORD), "stdout: {}", run.stdout);
        assert!(!run.stderr.contains(PASSWORD), "stderr: {}", run.stderr);
    }
}

#[test]
fn accounts_are_listed_from_every_partition_in_redis() {
    let server = RedisServer::start(&[]);
    let account = r#"{"Account": {"u.t-login.example-t": {"home_account_id": "u.t",
        "environment": "login.example", "realm": "t", "username": "alice@example.com",
        "authority_type": "MSSTS", "local_account_id": "oid"}}}"#;
    server.query(&["SET", "oxmsal:user-u.t", account]);
    server.query(&["SET", "someone-else:user-x.y", account]);
    let run = common::run_oxmsal(&["accounts", "--cache", &server.url()], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let accounts = run.json.as_array().unwrap();
    assert_eq!(accounts.len(), 1, "{}", run.stdout);
    assert_eq!(accounts[0]["username"], "alice@example.com");
}

#[test]
fn logout_removes_the_account_from_redis() {
    let server = RedisServer::start(&[]);
    let account = r#"{"Account": {"u.t-login.example-t": {"home_account_id": "u.t",
        "environment": "login.example", "realm": "t", "username": "alice@example.com",
        "authority_type": "MSSTS", "local_account_id": "oid"}}}"#;
    server.query(&["SET", "oxmsal:user-u.t", account]);
    let out = common::run_oxmsal(
        &[
            "logout",
            "--cache",
            &server.url(),
            "--account",
            "alice@example.com",
        ],
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let after = common::run_oxmsal(&["accounts", "--cache", &server.url()], &[]);
    assert_eq!(after.code, 0, "{}", after.stderr);
    assert_eq!(
        after.json.as_array().map(Vec::len),
        Some(0),
        "{}",
        after.stdout
    );
}

/// With Redis stopped, which accounts exist cannot be told: `accounts`,
/// `logout` and `token --account` exit 5 (a cache error), never `[]` or
/// "no signed-in account".
#[test]
fn redis_down_is_a_cache_error_for_accounts_logout_and_token_account() {
    let mut server = RedisServer::start(&[]);
    let url = server.url();
    server.kill();
    let runs = [
        common::run_oxmsal(&["accounts", "--cache", &url], &[]),
        common::run_oxmsal(
            &["logout", "--cache", &url, "--account", "alice@example.com"],
            &[],
        ),
        common::run_oxmsal(
            &[
                "token",
                "--cache",
                &url,
                "--client-id",
                "00000000-0000-0000-0000-000000000002",
                "--account",
                "alice@example.com",
                "--scope",
                "User.Read",
            ],
            &[],
        ),
    ];
    for run in runs {
        assert_eq!(run.code, 5, "{} {}", run.stdout, run.stderr);
        assert!(run.json.is_object(), "one JSON object: {}", run.stdout);
        assert!(
            run.stderr.contains("Redis") || run.stdout.contains("Redis"),
            "{}",
            run.stdout
        );
    }
}

/// `--cache-password-env` against a redis-server with `requirepass`: the
/// token lands in Redis, and the password is nowhere in the arguments,
/// stdout or stderr (debug logs on). A wrong one fails `accounts` with exit
/// 5 without showing it; with a cache file the flag is refused (exit 2).
#[tokio::test]
async fn the_redis_password_comes_from_an_environment_variable() {
    const PASSWORD: &str = "env-r3dis-pw";
    let server = RedisServer::start(&["--requirepass", PASSWORD]);
    let env = start().await;
    let url = format!("redis://127.0.0.1:{}/0", server.port);
    let args = with(
        env.token_args(),
        &["--cache", &url, "--cache-password-env", "REDIS_PW"],
    );
    assert!(!args.iter().any(|a| a.contains(PASSWORD)));
    let vars = vec![
        ("APP_SECRET".to_owned(), env.demo.secret.clone()),
        ("REDIS_PW".to_owned(), PASSWORD.to_owned()),
        ("OXMSAL_LOG".to_owned(), "debug".to_owned()),
    ];
    let run = env.run_env(args.clone(), vars).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("Redis unavailable"), "{}", run.stderr);
    let out = server.cli_auth(Some(PASSWORD), &["DBSIZE"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "2",
        "the token's partition and the discovery metadata are in Redis"
    );

    let wrong = vec![
        ("REDIS_PW".to_owned(), "wr0ng-pw".to_owned()),
        ("OXMSAL_LOG".to_owned(), "debug".to_owned()),
    ];
    let accounts = env
        .run_env(
            vec![
                "accounts".into(),
                "--cache".into(),
                url.clone(),
                "--cache-password-env".into(),
                "REDIS_PW".into(),
            ],
            wrong,
        )
        .await;
    assert_eq!(accounts.code, 5, "{} {}", accounts.stdout, accounts.stderr);

    for run in [&run, &accounts] {
        for text in [&run.stdout, &run.stderr] {
            assert!(
                !text.contains(PASSWORD) && !text.contains("wr0ng-pw"),
                "{text}"
            );
        }
    }

    let file = env.path("cache.json").display().to_string();
    let refused = common::run_oxmsal(
        &[
            "accounts",
            "--cache",
            &file,
            "--cache-password-env",
            "REDIS_PW",
        ],
        &[("REDIS_PW", PASSWORD)],
    );
    assert_eq!(refused.code, 2, "{}", refused.stdout);
}
