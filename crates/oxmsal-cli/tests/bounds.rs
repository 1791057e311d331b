//! Bounded inputs from the wire, through the real binary: a huge response body,
//! a lifetime of 1e30 seconds, a planted endless throttle entry, malformed and
//! oversized id tokens.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::{finish, python, start, start_for_users, with, Run};
use oxmsal_emulator::{Fault, DEFAULT_USERNAME, DEFAULT_USER_PASSWORD};
use serde_json::{json, Map, Value};

/// Runs the CLI as the child of a small Python parent that reports the
/// child's peak resident set size (`getrusage(RUSAGE_CHILDREN).ru_maxrss`,
/// KiB on Linux) in a file.
fn run_measured(report: std::path::PathBuf, secret: String, args: Vec<String>) -> (Run, u64) {
    const PARENT: &str = "import resource, subprocess, sys\n\
        code = subprocess.run(sys.argv[2:]).returncode\n\
        open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n\
        sys.exit(code)\n";
    let out = Command::new(python())
        .arg("-c")
        .arg(PARENT)
        .arg(&report)
        .arg(env!("CARGO_BIN_EXE_oxmsal"))
        .args(args)
        .env_remove("OXMSAL_LOG")
        .env("APP_SECRET", &secret)
        .output()
        .expect("python runs");
    let run = finish(out);
    let kib = std::fs::read_to_string(&report)
        .unwrap_or_else(|e| panic!("no RSS report ({e}): {}", run.stderr))
        .trim()
        .parse()
        .unwrap();
    (run, kib)
}

#[tokio::test]
async fn a_256_mib_body_is_an_invalid_response_in_bounded_memory() {
    let env = start().await;
    let cache = env.path("cache.json").display().to_string();
    let args = with(env.token_args(), &["--cache", &cache]);
    for content_length in [false, true] {
        env.emulator.inject(Fault::HugeBody {
            bytes: 256 << 20,
            status: 200,
            content_length,
        });
        // On a blocking thread: the in-process emulator keeps serving.
        let (report, secret, measured) =
            (env.path("maxrss"), env.demo.secret.clone(), args.clone());
        let (run, peak_kib) =
            tokio::task::spawn_blocking(move || run_measured(report, secret, measured))
                .await
                .unwrap();
        eprintln!("peak RSS {peak_kib} KiB (Content-Length sent: {content_length})");
        assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
        assert_eq!(run.json["error"], "invalid_response", "{}", run.stdout);
        let description = run.json["error_description"].as_str().unwrap();
        assert!(description.contains("1048576-byte cap"), "{description}");
        assert!(
            peak_kib < 64 * 1024,
            "peak RSS {peak_kib} KiB (Content-Length sent: {content_length})"
        );
    }
}

/// The access token entries of a cache file.
fn access_tokens(path: &std::path::Path) -> Vec<Value> {
    let Ok(bytes) = std::fs::read(path) else {
        return Vec::new();
    };
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    doc["AccessToken"]
        .as_object()
        .map(|m| m.values().cloned().collect())
        .unwrap_or_default()
}

fn number(v: &Value) -> u64 {
    v.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn an_endless_lifetime_is_cached_as_a_year() {
    let env = start().await;
    let cache = env.path("cache.json");
    let args = with(env.token_args(), &["--cache", &cache.display().to_string()]);
    let mut set = Map::new();
    for field in ["expires_in", "ext_expires_in", "refresh_in"] {
        set.insert(field.into(), json!(1e30));
    }
    env.emulator.inject(Fault::PatchJson { set });
    let run = env.run(args.clone()).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let tokens = access_tokens(&cache);
    assert_eq!(tokens.len(), 1);
    let at = &tokens[0];
    let cached_at = number(&at["cached_at"]);
    for field in ["expires_on", "extended_expires_on", "refresh_on"] {
        assert_eq!(
            number(&at[field]) - cached_at,
            365 * 24 * 3600,
            "{field}: {at}"
        );
    }
    let hit = env.run(args).await;
    assert_eq!(hit.code, 0, "{}", hit.stderr);
    assert_eq!(hit.json["token_source"], "cache");
}

#[tokio::test]
async fn a_planted_endless_throttle_entry_is_held_for_an_hour_at_most() {
    let env = start().await;
    let cache = env.path("cache.json");
    let args = with(env.token_args(), &["--cache", &cache.display().to_string()]);
    env.emulator.inject(Fault::Throttle {
        retry_after: Some("60".into()),
    });
    let throttled = env.run(args.clone()).await;
    assert_eq!(throttled.code, 1, "{}", throttled.stderr);
    let state = env.path("cache.json.throttle.json");
    let mut doc: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    let entries = doc.as_object_mut().unwrap();
    assert!(!entries.is_empty());
    for entry in entries.values_mut() {
        entry["until"] = json!(u64::MAX);
    }
    std::fs::write(&state, doc.to_string()).unwrap();
    let refused = env.run(args).await;
    assert_eq!(refused.code, 4, "{}\n{}", refused.stdout, refused.stderr);
    // The JSON is the remembered error object, as MSAL returns it; the wait is on stderr.
    let wait: u64 = refused
        .stderr
        .split("try again in ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no wait in: {}", refused.stderr));
    assert!(wait <= 3600, "told to wait {wait} s");
}

fn jwt(claims: &Value) -> String {
    format!(
        "{}.{}.sig",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none"}).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

#[tokio::test]
async fn malformed_or_oversized_id_tokens_exit_3_and_cache_nothing() {
    let env = start_for_users().await;
    let login = with(
        env.user_args("login"),
        &["--username", DEFAULT_USERNAME, "--password-env", "PW"],
    );
    let pw = vec![("PW".to_owned(), DEFAULT_USER_PASSWORD.to_owned())];
    let oversized = jwt(&json!({"sub": "s", "pad": "x".repeat(100 * 1024)}));
    let not_json = format!(
        "{}.{}.sig",
        URL_SAFE_NO_PAD.encode("{}"),
        URL_SAFE_NO_PAD.encode("not json")
    );
    for bad in ["not-a-jwt", "a.b.c", not_json.as_str(), oversized.as_str()] {
        let mut set = Map::new();
        set.insert("id_token".into(), Value::from(bad));
        env.emulator.inject(Fault::PatchJson { set });
        let run = env.run_env(login.clone(), pw.clone()).await;
        assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
        assert_eq!(run.json["error"], "invalid_response", "{}", run.stdout);
        assert!(
            run.json["error_description"]
                .as_str()
                .unwrap()
                .contains("id_token"),
            "{}",
            run.stdout
        );
        assert!(access_tokens(&env.path("cache.json")).is_empty());
    }
    // The same login with the real id token caches its tokens.
    let run = env.run_env(login, pw).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(access_tokens(&env.path("cache.json")).len(), 1);
}
