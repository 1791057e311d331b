//! Running the real `oxmsal` binary against a real emulator.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use oxmsal_emulator::{DemoApp, Emulator};
use serde_json::Value;

pub struct Run {
    pub code: i32,
    pub json: Value,
    pub stdout: String,
    pub stderr: String,
}

pub fn run_oxmsal(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oxmsal"));
    cmd.args(args).env_remove("OXMSAL_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    finish(cmd.output().expect("oxmsal runs"))
}

pub fn finish(out: Output) -> Run {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    Run {
        code: out.status.code().unwrap_or(-1),
        json,
        stdout,
        stderr,
    }
}

pub struct Env {
    pub emulator: Emulator,
    pub demo: DemoApp,
    pub dir: tempfile::TempDir,
}

pub async fn start() -> Env {
    let emulator = Emulator::start().await.unwrap();
    let demo = emulator.register_demo_app();
    Env {
        emulator,
        demo,
        dir: tempfile::tempdir().unwrap(),
    }
}

impl Env {
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn ca(&self) -> String {
        self.emulator.ca_path().display().to_string()
    }

    /// `oxmsal token` arguments for the demo app with its secret in `APP_SECRET`.
    pub fn token_args(&self) -> Vec<String> {
        vec![
            "token".into(),
            "--authority".into(),
            self.emulator.authority(),
            "--client-id".into(),
            self.demo.client_id.clone(),
            "--secret-env".into(),
            "APP_SECRET".into(),
            "--ca-cert".into(),
            self.ca(),
            "--no-instance-discovery".into(),
            "--scope".into(),
            "api://demo/.default".into(),
        ]
    }

    /// Runs the binary on a blocking thread so the in-process emulator keeps serving.
    pub async fn run(&self, args: Vec<String>) -> Run {
        let secret = self.demo.secret.clone();
        tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            run_oxmsal(&refs, &[("APP_SECRET", &secret)])
        })
        .await
        .unwrap()
    }
}

pub fn with(mut args: Vec<String>, more: &[&str]) -> Vec<String> {
    args.extend(more.iter().map(|s| s.to_string()));
    args
}

/// The interop venv's Python: `OXMSAL_TEST_PYTHON` (set by scripts/test), else
/// `<workspace>/.venv/bin/python`. Missing is a failure, not a skip.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("OXMSAL_TEST_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    assert!(
        venv.exists(),
        "MSAL for Python is not installed: run scripts/test (it creates .venv with msal==1.39.0)"
    );
    venv
}

pub fn interop_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../interop/msal_python")
        .join(name)
}

impl Env {
    /// Connection arguments of the user commands for the public demo app, with
    /// the cache file `cache.json` in the test's directory.
    pub fn user_args(&self, command: &str) -> Vec<String> {
        let client_id = self.emulator.register_public_demo_app().client_id;
        vec![
            command.into(),
            "--authority".into(),
            self.emulator.authority(),
            "--client-id".into(),
            client_id,
            "--ca-cert".into(),
            self.ca(),
            "--no-instance-discovery".into(),
            "--cache".into(),
            self.path("cache.json").display().to_string(),
        ]
    }

    /// Runs the binary with extra environment variables.
    pub async fn run_env(&self, args: Vec<String>, env: Vec<(String, String)>) -> Run {
        tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            let env_refs: Vec<(&str, &str)> =
                env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            run_oxmsal(&refs, &env_refs)
        })
        .await
        .unwrap()
    }

    /// Approves the next device code as the default user, from a task.
    pub async fn approve_next_device_code(&self) {
        for _ in 0..2000 {
            if let Some(code) = self.emulator.pending_device_codes().first() {
                self.emulator
                    .approve_device_code(&code.user_code, oxmsal_emulator::DEFAULT_USERNAME)
                    .unwrap();
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("no device code appeared");
    }
}

/// An emulator whose device codes can be polled every second.
pub async fn start_for_users() -> Env {
    let config = oxmsal_emulator::EmulatorConfig::default()
        .with_device_code_interval(std::time::Duration::from_secs(1));
    let emulator = Emulator::start_with(config).await.unwrap();
    let demo = emulator.register_demo_app();
    Env {
        emulator,
        demo,
        dir: tempfile::tempdir().unwrap(),
    }
}
