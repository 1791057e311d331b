//! The cache's files on a machine shared with other users: planted links are
//! refused and their targets left alone, cache files of other users or
//! writable by everyone are refused (exit 5, naming the fix), a group-writable
//! one is served with a warning, an oversized one is refused naming the cap;
//! and a cache hit writes nothing, so it is served from a read-only directory.
//!
//! Giving files away and running the CLI as another user need root, which
//! these tests run as (as `scripts/test` does).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use common::*;
use oxmsal_emulator::Fault;

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn assert_root() {
    let out = std::process::Command::new("id").arg("-u").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "0",
        "this test gives files away and runs the CLI as another user: run it as root"
    );
}

/// A file's bytes, modification time and inode: what a write would change.
fn snapshot(path: &Path) -> (Vec<u8>, SystemTime, u64) {
    let meta = std::fs::symlink_metadata(path).unwrap();
    (
        std::fs::read(path).unwrap(),
        meta.modified().unwrap(),
        meta.ino(),
    )
}

/// A victim's file, last changed an hour ago (so a lock file leading to it
/// would look abandoned, and be taken over, if it were followed).
fn victim(path: &Path) -> (Vec<u8>, SystemTime, u64) {
    std::fs::write(path, "the victim's own data\n").unwrap();
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(hour_ago)
        .unwrap();
    snapshot(path)
}

#[tokio::test]
async fn a_planted_lock_file_link_fails_clearly_and_leaves_its_target_alone() {
    let env = start().await;
    let cache = env.path("cache.json");
    let args = with(env.token_args(), &["--cache", cache.to_str().unwrap()]);
    let target = env.path("victim.txt");
    let before = victim(&target);
    let lock = env.path("cache.json.lockfile");
    std::os::unix::fs::symlink(&target, &lock).unwrap();

    let run = env.run(args).await;
    assert_eq!(run.code, 5, "{} {}", run.stdout, run.stderr);
    assert_eq!(run.json["error"], "cache_error", "{}", run.stdout);
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&lock.display().to_string()),
        "{}",
        run.stderr
    );
    assert_eq!(snapshot(&target), before, "the target is untouched");
    assert!(std::fs::symlink_metadata(&lock)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(!cache.exists(), "nothing was written");
}

#[tokio::test]
async fn a_lock_file_of_another_user_is_refused_naming_it() {
    assert_root();
    let env = start().await;
    let cache = env.path("cache.json");
    let args = with(env.token_args(), &["--cache", cache.to_str().unwrap()]);
    // An msal-extensions-style note of a process long gone, an hour old: a
    // lock file of this user's would be taken over at once.
    let lock = env.path("cache.json.lockfile");
    let before = victim(&lock);
    std::os::unix::fs::chown(&lock, Some(65534), Some(65534)).unwrap();

    let run = env.run(args).await;
    assert_eq!(run.code, 5, "{} {}", run.stdout, run.stderr);
    assert!(run.stderr.contains("another user"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&lock.display().to_string()),
        "{}",
        run.stderr
    );
    assert_eq!(snapshot(&lock), before, "left as it is");
    assert!(!cache.exists(), "nothing was written");
}

#[tokio::test]
async fn a_planted_throttle_lock_file_link_fails_clearly_and_leaves_its_target_alone() {
    let env = start().await;
    let cache = env.path("cache.json");
    let args = with(env.token_args(), &["--cache", cache.to_str().unwrap()]);
    let target = env.path("victim.txt");
    let before = victim(&target);
    let lock = env.path("cache.json.throttle.json.lockfile");
    std::os::unix::fs::symlink(&target, &lock).unwrap();
    // A back-off to remember: the throttle state is saved, under its lock.
    env.emulator.inject(Fault::Throttle {
        retry_after: Some("30".into()),
    });

    let run = env.run(args).await;
    // The server's answer is the outcome; the state that could not be
    // saved is a warning.
    assert_eq!(run.code, 1, "{} {}", run.stdout, run.stderr);
    assert_eq!(run.json["error"], "temporarily_unavailable");
    assert!(run.stderr.contains("was not saved"), "{}", run.stderr);
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&lock.display().to_string()),
        "{}",
        run.stderr
    );
    assert_eq!(snapshot(&target), before, "the target is untouched");
    assert!(!env.path("cache.json.throttle.json").exists());
}

#[tokio::test]
async fn the_throttle_state_lock_waits_as_long_as_cache_lock_timeout_ms() {
    let env = start().await;
    let cache = env.path("cache.json");
    let args = with(
        env.token_args(),
        &[
            "--cache",
            cache.to_str().unwrap(),
            "--cache-lock-timeout-ms",
            "200",
        ],
    );
    // Another live process holds the state file's lock (msal-extensions'
    // way, with portalocker: the file, its note and a flock).
    let lock = env.path("cache.json.throttle.json.lockfile");
    std::fs::write(
        &lock,
        format!("{} /usr/bin/python3 app.py", std::process::id()),
    )
    .unwrap();
    let held = std::fs::File::open(&lock).unwrap();
    held.lock().unwrap();
    env.emulator.inject(Fault::Throttle {
        retry_after: Some("30".into()),
    });

    let run = env.run(args).await;
    assert_eq!(run.code, 1, "{} {}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("timed out after 200 ms"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&lock.display().to_string()),
        "{}",
        run.stderr
    );
    drop(held);
}

/// A cache file holding the demo app's token, and the arguments that hit it.
async fn cached_token(env: &Env) -> (PathBuf, Vec<String>) {
    let cache = env.path("cache.json");
    let args = with(env.token_args(), &["--cache", cache.to_str().unwrap()]);
    let first = env.run(args.clone()).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(first.json["token_source"], "identity_provider");
    (cache, args)
}

#[tokio::test]
async fn cache_files_of_other_users_or_writable_by_all_are_refused_naming_the_fix() {
    assert_root();
    let env = start().await;
    let (cache, args) = cached_token(&env).await;
    let before = snapshot(&cache);

    std::os::unix::fs::chown(&cache, Some(65534), Some(65534)).unwrap();
    let run = env.run(args.clone()).await;
    assert_eq!(run.code, 5, "{} {}", run.stdout, run.stderr);
    assert_eq!(run.json["error"], "cache_error", "{}", run.stdout);
    assert!(run.stderr.contains("another user"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("chown 0 {}", cache.display())),
        "the fix: {}",
        run.stderr
    );
    std::os::unix::fs::chown(&cache, Some(0), Some(0)).unwrap();

    set_mode(&cache, 0o666);
    let run = env.run(args.clone()).await;
    assert_eq!(run.code, 5, "{} {}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("writable by every user"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains(&format!("chmod 600 {}", cache.display())),
        "the fix: {}",
        run.stderr
    );
    assert_eq!(snapshot(&cache), before, "left as it is");
    assert_eq!(env.emulator.counters().token_requests, 1, "nothing sent");
}

#[tokio::test]
async fn a_group_writable_cache_file_is_served_with_a_warning() {
    let env = start().await;
    let (cache, args) = cached_token(&env).await;
    // What a 002 umask makes (MSAL for Python writes with the umask's mode).
    set_mode(&cache, 0o664);
    let run = env.run(args).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json["token_source"], "cache");
    assert!(
        run.stderr.contains("writable by its group"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&cache.display().to_string()),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn an_oversized_cache_file_is_refused_naming_the_cap_and_left_alone() {
    let env = start().await;
    let cache = env.path("cache.json");
    let args = with(env.token_args(), &["--cache", cache.to_str().unwrap()]);
    // Sparse: the size is what counts, the disk holds nothing.
    let file = std::fs::File::create(&cache).unwrap();
    file.set_len(64 * 1024 * 1024 + 1).unwrap();
    drop(file);
    set_mode(&cache, 0o600);
    let before = std::fs::metadata(&cache).unwrap();

    let run = env.run(args).await;
    assert_eq!(run.code, 5, "{} {}", run.stdout, run.stderr);
    assert!(run.stderr.contains("cap of 64 MiB"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&cache.display().to_string()),
        "{}",
        run.stderr
    );
    let after = std::fs::metadata(&cache).unwrap();
    assert_eq!(
        (after.len(), after.ino(), after.modified().unwrap()),
        (before.len(), before.ino(), before.modified().unwrap()),
        "left as it is"
    );
}

#[tokio::test]
async fn a_cache_hit_leaves_the_throttle_state_file_alone() {
    let env = start().await;
    // A state file from an earlier run's back-off (long over).
    let state = env.path("cache.json.throttle.json");
    std::fs::write(&state, "{}").unwrap();
    set_mode(&state, 0o600);
    let (_cache, args) = cached_token(&env).await;
    let before = snapshot(&state);

    let hit = env.run(args).await;
    assert_eq!(hit.code, 0, "{}", hit.stderr);
    assert_eq!(hit.json["token_source"], "cache");
    assert_eq!(snapshot(&state), before, "bytes, mtime and inode unchanged");
    assert!(!env.path("cache.json.throttle.json.lockfile").exists());
}

#[tokio::test]
async fn a_read_only_cache_directory_serves_hits() {
    assert_root();
    let setpriv = Path::new("/usr/bin/setpriv");
    assert!(
        setpriv.exists(),
        "setpriv (util-linux) runs the CLI as an unprivileged user"
    );
    let env = start().await;
    // Everything the unprivileged user reads lives in a directory of its own.
    let dir = env.path("ro");
    std::fs::create_dir(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::copy(env.ca(), &ca).unwrap();
    let cache = dir.join("cache.json");
    let mut args = with(env.token_args(), &["--cache", cache.to_str().unwrap()]);
    let ca_at = args.iter().position(|a| a == "--ca-cert").unwrap() + 1;
    args[ca_at] = ca.display().to_string();
    // A state file from an earlier run's back-off (long over).
    let state = dir.join("cache.json.throttle.json");
    std::fs::write(&state, "{}").unwrap();
    set_mode(&state, 0o600);
    let first = env.run(args.clone()).await;
    assert_eq!(first.code, 0, "{}", first.stderr);

    // All of it the unprivileged user's: only a write can fail.
    std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        std::os::unix::fs::chown(entry.unwrap().path(), Some(65534), Some(65534)).unwrap();
    }
    set_mode(&ca, 0o644);
    set_mode(env.dir.path(), 0o755);
    // Read-only for its owner: creating a lock file or a temporary file fails.
    set_mode(&dir, 0o555);
    let before = snapshot(&cache);
    let state_before = snapshot(&state);
    let metadata = dir.join("cache.json.metadata.json");
    let metadata_before = snapshot(&metadata);
    let names = |dir: &Path| {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        names
    };
    let entries_before = names(&dir);

    let secret = env.demo.secret.clone();
    let hit = tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new(setpriv)
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                env!("CARGO_BIN_EXE_oxmsal"),
            ])
            .args(&args)
            .env("APP_SECRET", secret)
            .env_remove("OXMSAL_LOG")
            .output()
            .unwrap();
        finish(out)
    })
    .await
    .unwrap();
    assert_eq!(hit.code, 0, "{} {}", hit.stdout, hit.stderr);
    assert_eq!(hit.json["token_source"], "cache");
    assert_eq!(snapshot(&cache), before);
    assert_eq!(snapshot(&state), state_before);
    assert_eq!(
        snapshot(&metadata),
        metadata_before,
        "no discovery rewrote it"
    );
    assert_eq!(names(&dir), entries_before, "nothing new in the directory");
    set_mode(&dir, 0o755);
}
