//! SIGINT and SIGTERM while a command waits: exit 6 and exactly one JSON
//! object on stdout, the Cancelled error.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Child, Command, Stdio};

use common::*;

fn send(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args(["-s", signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -s {signal}");
}

/// The one JSON object stdout must hold.
fn the_one_object(stdout: &str) -> serde_json::Value {
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one JSON object on stdout: {stdout:?}");
    serde_json::from_str(lines[0]).unwrap()
}

fn spawn(args: &[String]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_oxmsal"))
        .args(args)
        .env_remove("OXMSAL_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// `oxmsal login` (device code) until it waits for the user, then `signal`.
async fn interrupt_a_device_code_login(signal: &str) {
    let env = start_for_users().await;
    let child = spawn(&env.user_args("login"));
    // Waiting: the emulator has handed out the device code.
    while env.emulator.pending_device_codes().is_empty() {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    send(&child, signal);
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let run = finish(out);
    assert_eq!(run.code, 6, "{signal}: {} {}", run.stdout, run.stderr);
    let json = the_one_object(&run.stdout);
    assert_eq!(json["error"], "cancelled", "{json}");
    assert!(
        json["error_description"].as_str().unwrap().contains(signal),
        "{json}"
    );
    assert!(
        !env.path("cache.json").exists(),
        "nobody signed in: nothing written"
    );
}

#[tokio::test]
async fn sigint_during_a_device_code_login_exits_6_with_one_json_object() {
    interrupt_a_device_code_login("INT").await;
}

#[tokio::test]
async fn sigterm_during_a_device_code_login_exits_6_with_one_json_object() {
    interrupt_a_device_code_login("TERM").await;
}

#[tokio::test]
async fn sigint_during_an_interactive_login_exits_6_with_one_json_object() {
    let env = start_for_users().await;
    let args = with(env.user_args("login"), &["--interactive", "--no-browser"]);
    let run = tokio::task::spawn_blocking(move || {
        let mut child = spawn(&args);
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        // Waiting: the sign-in URL is out, the loopback listener is up.
        let mut seen = String::new();
        loop {
            let mut line = String::new();
            assert_ne!(stderr.read_line(&mut line).unwrap(), 0, "{seen}");
            seen.push_str(&line);
            if line.starts_with("https://") {
                break;
            }
        }
        send(&child, "INT");
        stderr.read_to_string(&mut seen).unwrap();
        let mut out = child.wait_with_output().unwrap();
        out.stderr = seen.into_bytes();
        finish(out)
    })
    .await
    .unwrap();
    assert_eq!(run.code, 6, "{} {}", run.stdout, run.stderr);
    let json = the_one_object(&run.stdout);
    assert_eq!(json["error"], "cancelled", "{json}");
}

#[test]
fn sigterm_stops_the_emulator_command_with_exit_6() {
    let mut child = spawn(&["emulator".to_owned()]);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut ready = String::new();
    stdout.read_line(&mut ready).unwrap();
    let ready: serde_json::Value = serde_json::from_str(&ready).unwrap();
    assert!(ready["base_url"].is_string());
    send(&child, "TERM");
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(6), "{rest}");
    // After the ready line: the Cancelled error.
    let json = the_one_object(&rest);
    assert_eq!(json["error"], "cancelled", "{json}");
}

/// A signal lands wherever it lands — while the response is awaited (the
/// first rounds delay it), or around the cache write and the exit — and the
/// outcome is whole every time: exit 0 with the token or 6 with the
/// Cancelled error, one JSON object, a cache file absent or whole, no
/// temporary or lock file left.
#[tokio::test]
async fn sigterm_at_any_moment_of_a_cache_write_leaves_no_half_written_file() {
    let env = start().await;
    for round in 0..12u64 {
        let cache = env.path(&format!("cache-{round}.json"));
        let args = with(env.token_args(), &["--cache", cache.to_str().unwrap()]);
        let requests = env.emulator.counters().token_requests;
        if round < 4 {
            env.emulator
                .inject(oxmsal_emulator::Fault::Delay { millis: 5_000 });
        }
        let mut command = Command::new(env!("CARGO_BIN_EXE_oxmsal"));
        command
            .args(&args)
            .env("APP_SECRET", &env.demo.secret)
            .env_remove("OXMSAL_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = command.spawn().unwrap();
        // The request is at the server (the handlers are in place): the
        // response, the cache write and the exit are close.
        while env.emulator.counters().token_requests == requests {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        tokio::time::sleep(std::time::Duration::from_micros(round % 4 * 500)).await;
        send(&child, "TERM");
        let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
            .await
            .unwrap();
        let run = finish(out);
        let json = the_one_object(&run.stdout);
        eprintln!("round {round}: exit {}", run.code);
        match run.code {
            0 => assert!(json["access_token"].is_string(), "{json}"),
            6 => assert_eq!(json["error"], "cancelled", "{json}"),
            other => panic!("exit {other}: {} {}", run.stdout, run.stderr),
        }
        if let Ok(text) = std::fs::read_to_string(&cache) {
            let document: serde_json::Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("a half-written cache file ({e}): {text:?}"));
            assert!(document["AccessToken"].is_object(), "{text}");
        }
    }
    let left: Vec<_> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp") || name.ends_with(".lockfile"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
