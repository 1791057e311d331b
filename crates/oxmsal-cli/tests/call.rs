//! `oxmsal call URL` end to end: the real binary against the emulator's
//! protected resource, with and without a claims challenge.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{start, start_for_users, with, Env};
use oxmsal_emulator::{ResourceScenario, DEFAULT_USERNAME, DEFAULT_USER_PASSWORD};

/// `oxmsal call URL` for the demo app (secret in `APP_SECRET`), declaring CP1.
fn call_args(env: &Env, path: &str, more: &[&str]) -> Vec<String> {
    let mut args = env.token_args();
    args[0] = "call".into();
    args.push(env.emulator.resource_url(path));
    args.extend(["--capability".into(), "CP1".into()]);
    with(args, more)
}

fn counts(env: &Env) -> (u64, u64) {
    let c = env.emulator.counters();
    (c.resource_requests, c.token_requests)
}

#[tokio::test]
async fn calls_the_resource_and_prints_its_body() {
    let env = start().await;
    let run = env.run(call_args(&env, "v1.0/me", &[])).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json["ok"], true, "{}", run.stdout);
    assert_eq!(run.json["path"], "/resource/v1.0/me");
    assert_eq!(run.json["azp"], env.demo.client_id.as_str());
    assert_eq!(counts(&env), (1, 1));

    // A method, headers and a body from a file.
    let file = env.path("body.json");
    std::fs::write(&file, b"{\"a\":1}").unwrap();
    let data = format!("@{}", file.display());
    let run = env
        .run(call_args(
            &env,
            "v1.0/items",
            &[
                "--method",
                "post",
                "--header",
                "Content-Type: application/json",
                "--data",
                &data,
            ],
        ))
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json["path"], "/resource/v1.0/items");
}

#[tokio::test]
async fn answers_a_claims_challenge_once() {
    let env = start().await;
    env.emulator
        .set_resource_scenario(ResourceScenario::MfaStepUp);
    let run = env.run(call_args(&env, "v1.0/me", &[])).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json["claims_seen"]["acrs"][0], "c1", "{}", run.stdout);
    assert_eq!(counts(&env), (2, 2));
    assert_eq!(env.emulator.counters().resource_challenges, 1);
}

#[tokio::test]
async fn answers_a_revocation_with_the_cached_token() {
    let env = start().await;
    let cache = env.path("cache.json").display().to_string();
    let args = call_args(&env, "v1.0/me", &["--cache", &cache]);
    assert_eq!(env.run(args.clone()).await.code, 0);
    env.emulator.revoke_tokens(&env.demo.client_id);
    env.emulator.reset_counters();
    let run = env.run(args).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The cached token is challenged; one token request answers the challenge.
    assert_eq!(counts(&env), (2, 1));
}

#[tokio::test]
async fn a_non_2xx_answer_is_printed_and_exits_1() {
    let env = start().await;
    env.emulator
        .set_resource_scenario(ResourceScenario::AlwaysChallenge);
    let run = env.run(call_args(&env, "v1.0/me", &[])).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.json["error"]["code"], "InvalidAuthenticationToken",
        "the resource's body: {}",
        run.stdout
    );
    assert!(run.stderr.contains("401"), "{}", run.stderr);
    assert_eq!(counts(&env), (2, 2), "one retry, never a loop");
}

#[tokio::test]
async fn token_failures_exit_as_for_token() {
    let env = start().await;
    // The identity platform says no: exit 1, its error as JSON.
    let args = call_args(&env, "v1.0/me", &[]);
    let run = env
        .run_env(args, vec![("APP_SECRET".into(), "wrong".into())])
        .await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.json["error"], "invalid_client");
    assert_eq!(env.emulator.counters().resource_requests, 0);

    // Usage: a bad header, token-only options, a missing file.
    for more in [
        &["--header", "no colon"][..],
        &["--claims", "{}"],
        &["--tenant", "t"],
        &["--data", "@/nonexistent/file"],
        &["--method", "GE T"],
    ] {
        let run = env.run(call_args(&env, "v1.0/me", more)).await;
        assert_eq!(run.code, 2, "{more:?}: {}", run.stderr);
        assert_eq!(run.json["error"], "invalid_configuration");
    }
    // Nothing listens there: a transport failure, exit 3.
    let mut args = call_args(&env, "v1.0/me", &[]);
    let url = args.iter().position(|a| a.contains("/resource/")).unwrap();
    args[url] = "https://127.0.0.1:1/resource/me".into();
    let run = env.run(args).await;
    assert_eq!(run.code, 3, "{}", run.stderr);
}

#[tokio::test]
async fn emulator_paths_and_signed_in_accounts() {
    // --emulator: a path is on the in-process emulator.
    let run = common::run_oxmsal(
        &[
            "call",
            "--emulator",
            "/resource/me",
            "--scope",
            "api://demo/.default",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json["path"], "/resource/me");

    // A signed-in user's token.
    let env = start_for_users().await;
    let login = with(
        env.user_args("login"),
        &["--username", DEFAULT_USERNAME, "--password-env", "PW"],
    );
    let ok = env
        .run_env(login, vec![("PW".into(), DEFAULT_USER_PASSWORD.into())])
        .await;
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let mut args = env.user_args("call");
    args.push(env.emulator.resource_url("v1.0/me"));
    // Another scope than the sign-in's: the token comes from a refresh, with CP1.
    let args = with(args, &["--scope", "Mail.Read", "--capability", "CP1"]);
    let run = env.run(args.clone()).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.json["claims_seen"]["preferred_username"],
        DEFAULT_USERNAME
    );
    assert_eq!(
        run.json["claims_seen"]["xms_cc"][0], "CP1",
        "{}",
        run.stdout
    );

    // The user's sessions are revoked (CAE): the cached token is challenged and
    // the refresh token answers the challenge.
    let revoked_at = env.emulator.revoke_tokens(DEFAULT_USERNAME);
    env.emulator.reset_counters();
    let run = env.run(with(args, &["--account", DEFAULT_USERNAME])).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json["claims_seen"]["nbf"], revoked_at, "{}", run.stdout);
    assert_eq!(counts(&env), (2, 1));
}

/// A plain-HTTP server on 127.0.0.1 that answers every request with 200 and a
/// body of `len` bytes; its URL.
async fn big_body_server(len: usize) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = [0u8; 4096];
                let _ = socket.read(&mut head).await;
                let start = format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n\r\n");
                if socket.write_all(start.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = vec![b'x'; 64 * 1024];
                let mut left = len;
                while left > 0 {
                    let n = left.min(chunk.len());
                    if socket.write_all(&chunk[..n]).await.is_err() {
                        return;
                    }
                    left -= n;
                }
            });
        }
    });
    format!("http://127.0.0.1:{port}/big")
}

#[tokio::test]
async fn a_response_body_over_the_cap_exits_3() {
    let env = start().await;
    for (len, code) in [(16 << 20, 0), ((16 << 20) + 1, 3)] {
        let mut args = call_args(&env, "v1.0/me", &[]);
        let url = args.iter().position(|a| a.contains("/resource/")).unwrap();
        args[url] = big_body_server(len).await;
        let run = env.run(args).await;
        assert_eq!(run.code, code, "{len}: {}", run.stderr);
        if code == 3 {
            assert_eq!(run.json["error"], "invalid_response", "{}", run.stdout);
            assert!(
                run.stderr.contains("larger than 16777216 bytes"),
                "{}",
                run.stderr
            );
        } else {
            assert_eq!(run.stdout.len(), len + 1, "the body and a newline");
        }
    }
}

/// A plain-HTTP server on 127.0.0.1 whose 200 body is the request's
/// `Authorization` header (what a resource was sent); its URL.
async fn echo_authorization_server() -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&head);
                let auth = text
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("authorization")
                            .then(|| v.trim().to_owned())
                    })
                    .unwrap_or_default();
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{auth}",
                    auth.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    format!("http://127.0.0.1:{port}/echo")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managed_identity_token_for_the_scopes_resource() {
    use oxmsal_emulator::managed_identity::{ManagedIdentityEmulator, MiSource};
    let emu = ManagedIdentityEmulator::start(MiSource::Imds)
        .await
        .unwrap();
    let url = echo_authorization_server().await;
    let env: Vec<(String, String)> = emu
        .env()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    let run = tokio::task::spawn_blocking(move || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_oxmsal"));
        cmd.args([
            "call",
            &url,
            "--managed-identity",
            "--no-cache",
            "--scope",
            "https://vault.azure.net/.default",
        ])
        .env_remove("OXMSAL_LOG");
        // Only the emulator's variables decide the source.
        for name in [
            "IDENTITY_ENDPOINT",
            "IDENTITY_HEADER",
            "IDENTITY_SERVER_THUMBPRINT",
            "IMDS_ENDPOINT",
            "MSI_ENDPOINT",
            "MSI_SECRET",
        ] {
            cmd.env_remove(name);
        }
        cmd.envs(env);
        common::finish(cmd.output().unwrap())
    })
    .await
    .unwrap();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("Bearer mi-imds-"), "{}", run.stdout);
    let requests = emu.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].query.get("resource").map(String::as_str),
        Some("https://vault.azure.net")
    );
}

#[tokio::test]
async fn a_revoked_refresh_token_needs_interaction_and_exits_1() {
    let env = start_for_users().await;
    let login = with(
        env.user_args("login"),
        &["--username", DEFAULT_USERNAME, "--password-env", "PW"],
    );
    let ok = env
        .run_env(login, vec![("PW".into(), DEFAULT_USER_PASSWORD.into())])
        .await;
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let mut args = env.user_args("call");
    args.push(env.emulator.resource_url("v1.0/me"));
    let args = with(
        args,
        &[
            "--scope",
            "Mail.Read",
            "--capability",
            "CP1",
            "--account",
            DEFAULT_USERNAME,
        ],
    );
    // A first call caches a Mail.Read token (and a rotated refresh token).
    let first = env.run(args.clone()).await;
    assert_eq!(first.code, 0, "{}", first.stderr);

    // The user's refresh tokens are revoked and their sessions end (CAE): the
    // cached token is challenged, and the refresh token cannot answer it.
    env.emulator.revoke_refresh_tokens(DEFAULT_USERNAME);
    env.emulator.revoke_tokens(DEFAULT_USERNAME);
    env.emulator.reset_counters();
    let run = env.run(args).await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.json["error"], "invalid_grant", "{}", run.stdout);
    assert_eq!(run.json["suberror"], "bad_token", "{}", run.stdout);
    assert!(
        run.json["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("AADSTS50173")),
        "{}",
        run.stdout
    );
    // The resource was asked once (the challenge is not retried without a
    // token), and the refused refresh token was sent once, never again.
    let c = env.emulator.counters();
    assert_eq!(c.resource_requests, 1);
    assert_eq!(c.refresh_token_grants, 1);
    assert_eq!(c.token_requests, 1);
}
