//! oxmsal and MSAL for Python with msal-extensions (`FilePersistence` +
//! `PersistedTokenCache`) write one cache file at the same time, each under
//! the other's lock: afterwards every token of both is in the file, and each
//! side serves the other's tokens from it. A long-lived oxmsal app, which
//! reads the file only when it changed, sees MSAL Python's in-place writes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::BufRead as _;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{finish, interop_script, python, start, with, Env};
use serde_json::Value;

/// Tokens each side acquires.
const N: usize = 20;

fn python_scope(i: usize) -> String {
    format!("api://python-{i}/.default")
}

fn oxmsal_scope(i: usize) -> String {
    format!("api://oxmsal-{i}/.default")
}

/// MSAL Python acquiring `scopes`, its JSON lines sent on as they come.
fn msal_python(
    env: &Env,
    cache: &Path,
    scopes: &[String],
) -> (std::process::Child, std::sync::mpsc::Receiver<Value>) {
    let mut cmd = Command::new(python());
    cmd.arg(interop_script("extensions_writer.py"))
        .args(["--authority", &env.emulator.authority()])
        .args(["--client-id", &env.demo.client_id])
        .args(["--secret-env", "APP_SECRET"])
        .args(["--cache", cache.to_str().unwrap()])
        .args(["--ca", &env.ca()])
        .env("APP_SECRET", &env.demo.secret)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for scope in scopes {
        cmd.args(["--scope", scope]);
    }
    let mut child = cmd.spawn().expect("python runs");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(serde_json::from_str(&line).unwrap_or(Value::String(line)));
        }
    });
    (child, rx)
}

/// MSAL Python's per-scope results (after its `ready` line), and its exit.
async fn python_results(
    child: std::process::Child,
    rx: std::sync::mpsc::Receiver<Value>,
) -> (Vec<Value>, common::Run) {
    tokio::task::spawn_blocking(move || {
        let lines: Vec<Value> = rx.iter().filter(|v| v.get("ready").is_none()).collect();
        (lines, finish(child.wait_with_output().unwrap()))
    })
    .await
    .unwrap()
}

fn oxmsal_token(env: &Env, cache: &Path, scope: &str) -> Command {
    let mut args = env.token_args();
    args.truncate(args.len() - 2); // drop the default `--scope`
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oxmsal"));
    cmd.args(with(
        args,
        &["--scope", scope, "--cache", cache.to_str().unwrap()],
    ))
    .env_remove("OXMSAL_LOG")
    .env("APP_SECRET", &env.demo.secret);
    cmd
}

/// Runs `oxmsal token` for each scope, two processes at a time; the results.
async fn oxmsal_runs(env: &Env, cache: &Path, scopes: Vec<String>) -> Vec<common::Run> {
    let halves: Vec<Vec<Command>> = scopes
        .chunks(scopes.len().div_ceil(2))
        .map(|chunk| chunk.iter().map(|s| oxmsal_token(env, cache, s)).collect())
        .collect();
    let workers: Vec<_> = halves
        .into_iter()
        .map(|commands| {
            tokio::task::spawn_blocking(move || {
                commands
                    .into_iter()
                    .map(|mut c| finish(c.output().expect("oxmsal runs")))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut runs = Vec::new();
    for w in workers {
        runs.extend(w.await.unwrap());
    }
    runs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msal_extensions_and_oxmsal_share_one_file_at_the_same_time() {
    let env = start().await;
    let cache = env.path("token_cache.bin");
    let python_scopes: Vec<String> = (0..N).map(python_scope).collect();
    let oxmsal_scopes: Vec<String> = (0..N).map(oxmsal_scope).collect();

    // Both at once: oxmsal starts when MSAL Python's app is built.
    let (child, rx) = msal_python(&env, &cache, &python_scopes);
    let ready = tokio::task::spawn_blocking(move || {
        let first = rx.recv().expect("MSAL Python starts");
        (first, rx)
    });
    let (first, rx) = ready.await.unwrap();
    assert_eq!(first["ready"], true, "{first}");
    let started = std::time::Instant::now();
    let oxmsal = oxmsal_runs(&env, &cache, oxmsal_scopes.clone()).await;
    let (python_lines, python_run) = python_results(child, rx).await;
    eprintln!("both sides done in {:?}", started.elapsed());

    for run in &oxmsal {
        assert_eq!(run.code, 0, "{} {}", run.stdout, run.stderr);
        assert_eq!(run.json["token_source"], "identity_provider");
    }
    assert_eq!(
        python_run.code, 0,
        "MSAL Python: {python_lines:?} {}",
        python_run.stderr
    );
    assert_eq!(python_lines.len(), N);
    for line in &python_lines {
        assert_eq!(line["token_source"], "identity_provider", "{line}");
    }
    assert_eq!(env.emulator.counters().token_requests as usize, 2 * N);
    assert!(!env.path("token_cache.bin.lockfile").exists());

    // Every token of both sides is in the file.
    let text = std::fs::read_to_string(&cache).unwrap();
    let saved = oxmsal::cache::TokenCache::new();
    saved.deserialize(&text).unwrap();
    assert_eq!(saved.access_token_count(), 2 * N);
    let document: Value = serde_json::from_str(&text).unwrap();
    let targets: Vec<&str> = document["AccessToken"]
        .as_object()
        .unwrap()
        .values()
        .map(|e| e["target"].as_str().unwrap())
        .collect();
    for scope in python_scopes.iter().chain(&oxmsal_scopes) {
        assert!(targets.contains(&scope.as_str()), "{scope} lost");
    }

    // Each side serves the other's tokens from the file, with no request.
    let (child, rx) = msal_python(&env, &cache, &oxmsal_scopes);
    let (python_lines, python_run) = python_results(child, rx).await;
    assert_eq!(
        python_run.code, 0,
        "MSAL Python: {python_lines:?} {}",
        python_run.stderr
    );
    for line in &python_lines {
        assert_eq!(line["token_source"], "cache", "{line}");
    }
    for run in oxmsal_runs(&env, &cache, python_scopes.clone()).await {
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.json["token_source"], "cache", "{}", run.stdout);
    }
    assert_eq!(env.emulator.counters().token_requests as usize, 2 * N);
}

/// A long-lived oxmsal app on a shared file, `settle` being its store's
/// settle time: after MSAL Python rewrites the file in place (one more
/// token), the app's next lookup sees that token — its fingerprint of the
/// file no longer matches — and serves it without a request.
async fn a_long_lived_app_sees_an_in_place_write(settle: std::time::Duration) {
    use oxmsal::authority::InstanceDiscovery;
    use oxmsal::cache::persist::FileStore;
    use oxmsal::credential::ClientCredential;
    use oxmsal::{ConfidentialClientApplication, TokenSource};

    let env = start().await;
    let cache = env.path("token_cache.bin");
    let base = url::Url::parse(&env.emulator.base_url()).unwrap();
    let app = ConfidentialClientApplication::builder(
        env.demo.client_id.clone(),
        ClientCredential::secret(env.demo.secret.clone()),
    )
    .authority(env.emulator.authority())
    .extra_root_certificate_pem(env.emulator.ca_pem().as_bytes().to_vec())
    .instance_discovery(InstanceDiscovery::Endpoint(base))
    .cache_persistence(std::sync::Arc::new(
        FileStore::new(&cache).change_settle_time(settle),
    ))
    .build()
    .unwrap();
    let ours = oxmsal_scope(0);
    let got = app.acquire_token_for_client([ours.as_str()]).await.unwrap();
    assert_eq!(got.token_source, TokenSource::IdentityProvider);
    for _ in 0..5 {
        let hit = app.acquire_token_for_client([ours.as_str()]).await.unwrap();
        assert_eq!(hit.token_source, TokenSource::Cache);
    }

    let theirs = python_scope(0);
    let (child, rx) = msal_python(&env, &cache, std::slice::from_ref(&theirs));
    let (python_lines, python_run) = python_results(child, rx).await;
    assert_eq!(python_run.code, 0, "{python_lines:?} {}", python_run.stderr);
    assert_eq!(python_lines[0]["token_source"], "identity_provider");
    assert_eq!(env.emulator.counters().token_requests, 2);

    let served = app
        .acquire_token_for_client([theirs.as_str()])
        .await
        .unwrap();
    assert_eq!(
        served.token_source,
        TokenSource::Cache,
        "MSAL Python's token"
    );
    assert_eq!(env.emulator.counters().token_requests, 2, "no request");
}

#[tokio::test]
async fn a_long_lived_app_sees_msal_extensions_write_in_place() {
    // As configured by default: the write is fresh, so the file is read.
    a_long_lived_app_sees_an_in_place_write(std::time::Duration::from_secs(2)).await;
    // Metadata trusted at once: the in-place write must change it.
    a_long_lived_app_sees_an_in_place_write(std::time::Duration::ZERO).await;
}
