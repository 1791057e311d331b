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
