//! Managed-identity tokens cross between oxmsal and MSAL for Python 1.39's
//! `ManagedIdentityClient` through one cache file, both ways, with the
//! managed-identity emulator as the host's endpoint: each serves the other's
//! token from the cache with no request.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::{finish, interop_script, python, Run};
use oxmsal_emulator::managed_identity::{ManagedIdentityEmulator, MiSource, MI_USER_CLIENT_ID};

const RESOURCE: &str = "https://management.azure.com";

/// Every variable managed-identity detection reads: only the emulator's count.
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

async fn run(mut cmd: Command, emu: &ManagedIdentityEmulator) -> Run {
    cmd.env_remove("OXMSAL_LOG");
    for name in MI_VARS {
        cmd.env_remove(name);
    }
    for (k, v) in emu.env() {
        cmd.env(k, v);
    }
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("runs"))
        .await
        .unwrap();
    finish(out)
}

async fn msal_python(
    emu: &ManagedIdentityEmulator,
    cache: &std::path::Path,
    client_id: Option<&str>,
) -> Run {
    let mut cmd = Command::new(python());
    cmd.arg(interop_script("managed_identity.py"))
        .args(["--resource", RESOURCE])
        .args(["--cache", cache.to_str().unwrap()]);
    if let Some(id) = client_id {
        cmd.args(["--client-id", id]);
    }
    run(cmd, emu).await
}

async fn oxmsal(
    emu: &ManagedIdentityEmulator,
    cache: &std::path::Path,
    client_id: Option<&str>,
) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oxmsal"));
    cmd.args(["token", "--managed-identity", "--scope"])
        .arg(format!("{RESOURCE}/.default"))
        .args(["--cache", cache.to_str().unwrap()]);
    if let Some(id) = client_id {
        cmd.args(["--mi-client-id", id]);
    }
    run(cmd, emu).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msal_python_serves_a_managed_identity_token_oxmsal_cached() {
    for (source, client_id) in [
        (MiSource::AppService, None),
        (MiSource::Imds, Some(MI_USER_CLIENT_ID)),
    ] {
        let emu = ManagedIdentityEmulator::start(source).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache.json");
        let ours = oxmsal(&emu, &cache, client_id).await;
        assert_eq!(ours.code, 0, "{}", ours.stderr);
        assert_eq!(ours.json["token_source"], "identity_provider");
        assert_eq!(emu.request_count(), 1);

        let py = msal_python(&emu, &cache, client_id).await;
        assert_eq!(
            py.code, 0,
            "MSAL Python failed: {} {}",
            py.stdout, py.stderr
        );
        assert_eq!(py.json["token_source"], "cache", "{source}: {}", py.stdout);
        assert_eq!(
            emu.request_count(),
            1,
            "{source}: MSAL Python sent no request"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oxmsal_serves_a_managed_identity_token_msal_python_cached() {
    for (source, client_id) in [
        (MiSource::AppService, None),
        (MiSource::Imds, Some(MI_USER_CLIENT_ID)),
    ] {
        let emu = ManagedIdentityEmulator::start(source).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache.json");
        let py = msal_python(&emu, &cache, client_id).await;
        assert_eq!(
            py.code, 0,
            "MSAL Python failed: {} {}",
            py.stdout, py.stderr
        );
        assert_eq!(
            py.json["token_source"], "identity_provider",
            "{}",
            py.stdout
        );
        assert_eq!(emu.request_count(), 1);

        let ours = oxmsal(&emu, &cache, client_id).await;
        assert_eq!(ours.code, 0, "{}", ours.stderr);
        assert_eq!(
            ours.json["token_source"], "cache",
            "{source}: {}",
            ours.stdout
        );
        assert_eq!(emu.request_count(), 1, "{source}: oxmsal sent no request");
    }
}
