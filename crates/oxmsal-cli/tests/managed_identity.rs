//! `oxmsal token --managed-identity` against the managed-identity emulator:
//! the same JSON and exit codes as `oxmsal token`; and
//! `oxmsal emulator --managed-identity SOURCE`'s printed variables.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

use common::Run;
use oxmsal_emulator::managed_identity::{ManagedIdentityEmulator, MiSource, MI_USER_CLIENT_ID};

/// Every variable managed-identity detection reads: removed from the child,
/// so only what a test sets counts.
const MI_VARS: [&str; 8] = [
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "IDENTITY_SERVER_THUMBPRINT",
    "IMDS_ENDPOINT",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "AZURE_POD_IDENTITY_AUTHORITY_HOST",
    "DEFAULT_IDENTITY_CLIENT_ID",
];

async fn oxmsal(args: Vec<String>, env: Vec<(&'static str, String)>) -> Run {
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_oxmsal"));
        cmd.args(&args).env_remove("OXMSAL_LOG");
        for name in MI_VARS {
            cmd.env_remove(name);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        common::finish(cmd.output().expect("oxmsal runs"))
    })
    .await
    .unwrap()
}

fn args(extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "token",
        "--managed-identity",
        "--scope",
        "https://management.azure.com/.default",
    ]
    .map(String::from)
    .to_vec();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_then_a_cache_hit_through_the_cache_file() {
    for source in [
        MiSource::Imds,
        MiSource::AppService,
        MiSource::MachineLearning,
        MiSource::ServiceFabric,
    ] {
        let emu = ManagedIdentityEmulator::start(source).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache.json");
        let run_args = args(&["--cache", cache.to_str().unwrap()]);
        let first = oxmsal(run_args.clone(), emu.env()).await;
        assert_eq!(first.code, 0, "{source}: {}", first.stderr);
        assert_eq!(first.json["token_source"], "identity_provider");
        assert_eq!(first.json["token_type"], "Bearer");
        assert!(first.json["expires_in"].as_u64().unwrap() > 86_000);
        assert_eq!(first.stdout.trim().lines().count(), 1);
        let second = oxmsal(run_args, emu.env()).await;
        assert_eq!(second.code, 0, "{}", second.stderr);
        assert_eq!(second.json["token_source"], "cache");
        assert_eq!(second.json["access_token"], first.json["access_token"]);
        assert_eq!(emu.request_count(), 1, "{source}");
        let file = std::fs::read_to_string(&cache).unwrap();
        assert!(
            file.contains(
                "\"-localhost-accesstoken--managed_identity-https://management.azure.com\""
            ),
            "{file}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_assigned_and_the_error_exit_codes() {
    let emu = ManagedIdentityEmulator::start(MiSource::Imds)
        .await
        .unwrap();
    let ok = oxmsal(
        args(&["--no-cache", "--mi-client-id", MI_USER_CLIENT_ID]),
        emu.env(),
    )
    .await;
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert_eq!(
        emu.requests()[0].query.get("client_id").map(String::as_str),
        Some(MI_USER_CLIENT_ID)
    );

    // Identity not found: the source's error and description, exit 1.
    let missing = oxmsal(args(&["--no-cache", "--mi-object-id", "nobody"]), emu.env()).await;
    assert_eq!(missing.code, 1, "{}", missing.stdout);
    assert_eq!(missing.json["error"], "invalid_request");
    assert_eq!(missing.json["error_description"], "Identity not found");

    // App Service's own shape.
    let app = ManagedIdentityEmulator::start(MiSource::AppService)
        .await
        .unwrap();
    let missing = oxmsal(
        args(&["--no-cache", "--mi-resource-id", "/nobody"]),
        app.env(),
    )
    .await;
    assert_eq!(missing.code, 1, "{}", missing.stdout);
    assert_eq!(missing.json["error"], "invalid_scope");
    assert_eq!(missing.json["statusCode"], 400);

    // Unsupported combination: exit 2 before any request.
    let shell = ManagedIdentityEmulator::start(MiSource::CloudShell)
        .await
        .unwrap();
    let refused = oxmsal(args(&["--no-cache", "--mi-client-id", "c"]), shell.env()).await;
    assert_eq!(refused.code, 2, "{}", refused.stdout);
    assert_eq!(shell.request_count(), 0);

    // Two ids, or a credential beside it: usage errors.
    let both = oxmsal(
        args(&["--mi-client-id", "a", "--mi-object-id", "b"]),
        vec![],
    )
    .await;
    assert_eq!(both.code, 2);
    let with_secret = oxmsal(args(&["--secret-env", "X"]), vec![]).await;
    assert_eq!(with_secret.code, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_running_out_is_exit_1_with_the_sources_error() {
    let emu = ManagedIdentityEmulator::start(MiSource::AppService)
        .await
        .unwrap();
    emu.push_fault(500, 100, None);
    // App Service retries 5xx three times (1 + 2 + 4 s of real waiting in
    // the CLI, which has no injected clock).
    let run = oxmsal(args(&["--no-cache"]), emu.env()).await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(run.json["statusCode"], 500);
    assert_eq!(emu.request_count(), 4);
}

#[test]
fn the_emulator_command_prints_the_variables_to_export() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_oxmsal"))
        .args(["emulator", "--managed-identity", "app-service"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let ready: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(ready["managed_identity_source"], "app_service");
    let endpoint = ready["env"]["IDENTITY_ENDPOINT"].as_str().unwrap();
    assert!(endpoint.starts_with("http://127.0.0.1:") && endpoint.ends_with("/msi/token"));
    assert!(ready["env"]["IDENTITY_HEADER"].as_str().unwrap().len() >= 16);
    assert!(ready["shell"]
        .as_str()
        .unwrap()
        .starts_with("export IDENTITY_ENDPOINT='http://127.0.0.1:"));

    let unknown = common::run_oxmsal(&["emulator", "--managed-identity", "nope"], &[]);
    assert_eq!(unknown.code, 2);
}
