//! A server that echoes the request form back (in an OAuth error's
//! `error_description`, in an HTML error page) must not make the CLI print what
//! it sent: no piece of the client secret, the password or the refresh token in
//! stdout, stderr or the TRACE log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{start_for_users, with, Env, Run};
use oxmsal_emulator::{EchoBody, Fault, DEFAULT_USERNAME, DEFAULT_USER_PASSWORD};

/// Every spelling of `secret` the echo may carry.
fn spellings(secret: &str) -> Vec<String> {
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    vec![secret.to_owned(), form.replace('+', "%20"), form]
}

/// No 8-byte piece of any spelling of `secret` in the run's output.
fn assert_no_piece(run: &Run, secret: &str, what: &str) {
    assert!(secret.len() >= 8, "test secrets are long enough to cut");
    for spelling in spellings(secret) {
        let bytes = spelling.as_bytes();
        for piece in bytes.windows(8) {
            let piece = String::from_utf8_lossy(piece);
            for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
                assert!(
                    !text.contains(piece.as_ref()),
                    "{what}: `{piece}` of `{spelling}` is in {stream}:\n{text}"
                );
            }
        }
    }
}

fn echoes() -> [(Fault, i32); 2] {
    [
        (
            Fault::EchoForm {
                status: 400,
                body: EchoBody::Oauth,
            },
            1,
        ),
        (
            Fault::EchoForm {
                status: 500,
                body: EchoBody::Html,
            },
            3,
        ),
    ]
}

/// `TRACE` for every target: oxmsal's own lines and its dependencies'.
fn trace() -> (String, String) {
    ("OXMSAL_LOG".into(), "trace".into())
}

async fn run_echoed(
    env: &Env,
    fault: Fault,
    args: Vec<String>,
    vars: Vec<(String, String)>,
) -> Run {
    env.emulator.clear_faults();
    // Enough for the retry of a 5xx as well.
    env.emulator.inject_n(fault, 4);
    let run = env.run_env(args, vars).await;
    env.emulator.clear_faults();
    // The next echo must reach the server: forget the back-off this one left.
    for entry in std::fs::read_dir(env.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().ends_with(".throttle.json") {
            std::fs::remove_file(path).unwrap();
        }
    }
    run
}

#[tokio::test]
async fn client_secret_echoed_back_is_not_printed() {
    let env = start_for_users().await;
    let secret = env.demo.secret.clone();
    for (fault, code) in echoes() {
        let run = run_echoed(
            &env,
            fault.clone(),
            with(
                env.token_args(),
                &["--cache", &env.path("app.json").display().to_string()],
            ),
            vec![("APP_SECRET".into(), secret.clone()), trace()],
        )
        .await;
        assert_eq!(run.code, code, "{fault:?}: {}\n{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains("TRACE"),
            "the log is on: {}",
            run.stderr
        );
        assert_no_piece(&run, &secret, "client secret");
        // The rest of the echo is still there to read.
        assert!(
            run.stdout.contains("grant_type=client_credentials"),
            "{}",
            run.stdout
        );
    }
}

#[tokio::test]
async fn password_echoed_back_is_not_printed() {
    let env = start_for_users().await;
    // Characters every encoding spells differently: space, `&`, `+`, `/`, `"`, non-ASCII.
    let password = "Corr ect&horse+b/\"ättery\"";
    for (fault, code) in echoes() {
        let args = with(
            env.user_args("login"),
            &["--username", DEFAULT_USERNAME, "--password-env", "PW"],
        );
        let run = run_echoed(
            &env,
            fault.clone(),
            args,
            vec![("PW".into(), password.into()), trace()],
        )
        .await;
        assert_eq!(run.code, code, "{fault:?}: {}\n{}", run.stdout, run.stderr);
        assert_no_piece(&run, password, "password");
        assert!(run.stdout.contains(DEFAULT_USERNAME), "{}", run.stdout);
    }
}

#[tokio::test]
async fn refresh_token_echoed_back_is_not_printed() {
    let env = start_for_users().await;
    let login = env
        .run_env(
            with(
                env.user_args("login"),
                &["--username", DEFAULT_USERNAME, "--password-env", "PW"],
            ),
            vec![("PW".into(), DEFAULT_USER_PASSWORD.into())],
        )
        .await;
    assert_eq!(login.code, 0, "{}", login.stderr);
    let cache: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.path("cache.json")).unwrap()).unwrap();
    let refresh_token = cache["RefreshToken"]
        .as_object()
        .and_then(|m| m.values().next())
        .and_then(|rt| rt["secret"].as_str())
        .expect("a refresh token in the cache")
        .to_owned();
    for (fault, code) in echoes() {
        // Another scope: no access token for it, so the refresh token is sent.
        let run = run_echoed(
            &env,
            fault.clone(),
            with(env.user_args("token"), &["--scope", "Mail.Read"]),
            vec![trace()],
        )
        .await;
        assert_eq!(run.code, code, "{fault:?}: {}\n{}", run.stdout, run.stderr);
        assert!(
            env.emulator.token_requests().iter().any(|r| r
                .params
                .get("grant_type")
                .map(String::as_str)
                == Some("refresh_token")),
            "the refresh token was sent"
        );
        assert_no_piece(&run, &refresh_token, "refresh token");
    }
}

#[tokio::test]
async fn a_remembered_echo_holding_the_secret_is_scrubbed_when_refused() {
    let env = start_for_users().await;
    let secret = env.demo.secret.clone();
    let args = with(
        env.token_args(),
        &["--cache", &env.path("app.json").display().to_string()],
    );
    let vars = vec![("APP_SECRET".to_owned(), secret.clone())];
    env.emulator.inject(Fault::EchoForm {
        status: 400,
        body: EchoBody::Oauth,
    });
    let first = env.run_env(args.clone(), vars.clone()).await;
    assert_eq!(first.code, 1, "{}", first.stderr);
    // The 400 is remembered (scrubbed). Plant the secret back into the state, as
    // a file written by another program could hold it.
    let state = env.path("app.json.throttle.json");
    let text = std::fs::read_to_string(&state).unwrap();
    assert!(text.contains("<redacted>") && !text.contains(&secret));
    std::fs::write(&state, text.replace("<redacted>", &secret)).unwrap();
    let refused = env.run_env(args, vars).await;
    assert_eq!(refused.code, 4, "{}\n{}", refused.stdout, refused.stderr);
    assert!(
        refused.stdout.contains("client_secret="),
        "{}",
        refused.stdout
    );
    assert_no_piece(&refused, &secret, "client secret from the throttle state");
}
