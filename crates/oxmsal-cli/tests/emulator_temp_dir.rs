//! `--emulator` runs leave nothing in the temp dir, whether the process ends
//! normally or is killed while the embedded emulator is up.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Read as _;
use std::process::{Command, Stdio};
use std::time::Duration;

fn entries(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn token_with_the_emulator_leaves_the_temp_dir_empty() {
    let tmp = tempfile::tempdir().unwrap();
    let tmp_path = tmp.path().to_str().unwrap();
    let run = common::run_oxmsal(
        &["token", "--emulator", "--scope", "api://demo/.default"],
        &[("TMPDIR", tmp_path)],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.json["access_token"].is_string(), "{}", run.stdout);
    assert_eq!(entries(tmp.path()), Vec::<String>::new());
}

#[test]
fn a_killed_emulator_run_leaves_the_temp_dir_empty() {
    let tmp = tempfile::tempdir().unwrap();
    // A device code sign-in waits for the user: the emulator is up meanwhile.
    let mut child = Command::new(env!("CARGO_BIN_EXE_oxmsal"))
        .args([
            "login",
            "--emulator",
            "--device-code",
            "--scope",
            "User.Read",
        ])
        .env_remove("OXMSAL_LOG")
        .env("TMPDIR", tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut byte = [0u8; 1];
        while stderr.read(&mut byte).map(|n| n == 1).unwrap_or(false) {
            seen.push(byte[0]);
            if String::from_utf8_lossy(&seen).contains("enter the code") {
                let _ = tx.send(());
                return;
            }
        }
    });
    // Bounded: only keeps a broken run from hanging the suite.
    let waiting = rx.recv_timeout(Duration::from_secs(60));
    child.kill().unwrap();
    child.wait().unwrap();
    waiting.expect("the device code prompt appeared");
    assert_eq!(entries(tmp.path()), Vec::<String>::new());
}
