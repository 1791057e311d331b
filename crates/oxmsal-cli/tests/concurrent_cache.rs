//! One cache file, many `oxmsal` processes at once: no token is lost, a process
//! killed at any moment never leaves a broken file, a held lock is a clear
//! error after the timeout, and a foreign file is never touched.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{finish, start, with, Env};
use oxmsal::cache::TokenCache;

const WORKERS: usize = 8;
const RUNS_PER_WORKER: usize = 50;

fn scope(worker: usize, run: usize) -> String {
    format!("api://demo-{worker}-{run}/.default")
}

/// `oxmsal token` for `scope` into the cache file `cache`.
fn token_command(env: &Env, cache: &Path, scope: &str) -> Command {
    let mut args = env.token_args();
    // token_args ends with `--scope api://demo/.default`: replace the scope.
    args.truncate(args.len() - 2);
    let args = with(
        args,
        &["--scope", scope, "--cache", cache.to_str().unwrap()],
    );
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oxmsal"));
    cmd.args(args)
        .env_remove("OXMSAL_LOG")
        .env("APP_SECRET", &env.demo.secret);
    cmd
}

fn load(path: &Path) -> TokenCache {
    let cache = TokenCache::new();
    let text = std::fs::read_to_string(path).unwrap();
    cache
        .deserialize(&text)
        .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
    cache
}

/// Temporary files of the cache file (`.cache.json.<32 hex>.tmp`).
fn cache_temp_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.strip_prefix(".cache.json.")
                .and_then(|rest| rest.strip_suffix(".tmp"))
                .is_some_and(|id| id.len() == 32)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_processes_lose_none_of_400_tokens() {
    let env = start().await;
    let cache = env.path("cache.json");
    let started = Instant::now();
    let workers: Vec<_> = (0..WORKERS)
        .map(|worker| {
            let commands: Vec<Command> = (0..RUNS_PER_WORKER)
                .map(|run| token_command(&env, &cache, &scope(worker, run)))
                .collect();
            tokio::task::spawn_blocking(move || {
                for mut cmd in commands {
                    let run = finish(cmd.output().expect("oxmsal runs"));
                    assert_eq!(run.code, 0, "{} {}", run.stdout, run.stderr);
                    assert_eq!(run.json["token_source"], "identity_provider");
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    eprintln!(
        "{} runs by {WORKERS} processes at a time: {:?}",
        WORKERS * RUNS_PER_WORKER,
        started.elapsed()
    );

    let saved = load(&cache);
    assert_eq!(saved.access_token_count(), WORKERS * RUNS_PER_WORKER);
    let document: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cache).unwrap()).unwrap();
    let targets: std::collections::HashSet<&str> = document["AccessToken"]
        .as_object()
        .unwrap()
        .values()
        .map(|e| e["target"].as_str().unwrap())
        .collect();
    for worker in 0..WORKERS {
        for run in 0..RUNS_PER_WORKER {
            assert!(
                targets.contains(scope(worker, run).as_str()),
                "{} lost",
                scope(worker, run)
            );
        }
    }
    assert_eq!(
        env.emulator.counters().token_requests as usize,
        WORKERS * RUNS_PER_WORKER
    );
    assert!(!env.path("cache.json.lockfile").exists());
    assert!(cache_temp_files(env.dir.path()).is_empty());

    // And every one of them is now a cache hit for any process.
    let run = finish(token_command(&env, &cache, &scope(3, 17)).output().unwrap());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json["token_source"], "cache");
}

/// A small xorshift: random kill moments without a dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_killed_at_random_moments_never_break_the_file() {
    /// Kills to make; pairs of writers are started until then.
    const KILLS: usize = 60;
    let env = start().await;
    let cache = env.path("cache.json");
    // A first token, so every kill lands on a file with content.
    let run = finish(token_command(&env, &cache, &scope(99, 0)).output().unwrap());
    assert_eq!(run.code, 0, "{}", run.stderr);

    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("kill schedule seed {seed}");
    let started = Instant::now();
    let commands: Vec<Command> = (0..3 * KILLS)
        .flat_map(|i| [scope(100, i), scope(101, i)])
        .map(|s| token_command(&env, &cache, &s))
        .collect();
    let dir = env.dir.path().to_owned();
    let file = cache.clone();
    let lock_file = env.path("cache.json.lockfile");
    let outcome = tokio::task::spawn_blocking(move || {
        let mut rng = Rng(seed);
        let (mut killed, mut finished, mut most_temps, mut holding) = (0, 0, 0, 0);
        // The kill moment is drawn from a window that follows how long runs
        // take on this machine now: it shrinks when a run beats it, grows when
        // both writers are killed, so kills land in every phase of a run.
        let mut window = 300u64;
        for pair in commands.chunks(2) {
            if killed >= KILLS {
                break;
            }
            // Two writers at once, so kills also land while one waits for the lock.
            let mut running = Vec::new();
            for cmd in pair {
                let mut spawned = clone_command(cmd);
                spawned.stdout(Stdio::null()).stderr(Stdio::null());
                running.push(spawned.spawn().expect("oxmsal starts"));
            }
            std::thread::sleep(Duration::from_millis(rng.below(window)));
            let mut beaten = false;
            for child in &mut running {
                match child.try_wait().unwrap() {
                    Some(_) => {
                        finished += 1;
                        beaten = true;
                    }
                    None => {
                        child.kill().unwrap(); // SIGKILL on Unix
                        killed += 1;
                    }
                }
                child.wait().unwrap();
            }
            window = if beaten {
                (window * 4 / 5).max(20)
            } else {
                window * 11 / 10
            };
            // A lock file left behind: a writer was killed holding the lock.
            holding += usize::from(lock_file.exists());
            if file.exists() {
                load(&file);
            }
            // Killed writers' temporary files go with the next completed update.
            most_temps = most_temps.max(cache_temp_files(&dir).len());
        }
        (killed, finished, most_temps, holding, window)
    })
    .await
    .unwrap();
    let (killed, finished, most_temps, holding, window) = outcome;
    eprintln!(
        "{killed} writers killed ({holding} times holding the lock), {finished} finished, \
         at most {most_temps} temporary files left, in {:?} (final kill window {window} ms)",
        started.elapsed()
    );
    assert!(killed >= KILLS, "only {killed} writers were killed");

    // A killed lock holder leaves its lock file: the next run takes it over,
    // and clears the temporary files killed writers left.
    let run = finish(
        token_command(&env, &cache, &scope(102, 0))
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    load(&cache);
    assert!(cache_temp_files(env.dir.path()).is_empty());
    assert!(!env.path("cache.json.lockfile").exists());
}

/// A copy of a command (program, arguments, environment).
fn clone_command(cmd: &Command) -> Command {
    let mut copy = Command::new(cmd.get_program());
    copy.args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => copy.env(k, v),
            None => copy.env_remove(k),
        };
    }
    copy
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_lock_is_exit_5_naming_the_lock_file_after_the_timeout() {
    let env = start().await;
    let cache = env.path("cache.json");
    let lock_path = env.path("cache.json.lockfile");
    // Another process's lock: the lock file, flocked.
    std::fs::write(&lock_path, "1 some-other-process").unwrap();
    let holder = std::fs::File::open(&lock_path).unwrap();
    holder.lock().unwrap();

    let mut cmd = token_command(&env, &cache, "api://demo/.default");
    cmd.env("OXMSAL_CACHE_LOCK_TIMEOUT_MS", "300");
    let started = Instant::now();
    let run = tokio::task::spawn_blocking(move || finish(cmd.output().unwrap()))
        .await
        .unwrap();
    assert_eq!(run.code, 5, "{} {}", run.stdout, run.stderr);
    assert!(started.elapsed() >= Duration::from_millis(300));
    let lock_name = lock_path.display().to_string();
    assert!(run.stderr.contains(&lock_name), "{}", run.stderr);
    assert_eq!(run.json["error"], "cache_error", "{}", run.stdout);
    assert!(run.json["error_description"]
        .as_str()
        .unwrap()
        .contains(&lock_name));
    assert!(!cache.exists());

    // Released: the next run goes through.
    std::fs::remove_file(&lock_path).unwrap();
    drop(holder);
    let mut cmd = token_command(&env, &cache, "api://demo/.default");
    let run = tokio::task::spawn_blocking(move || finish(cmd.output().unwrap()))
        .await
        .unwrap();
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_cache_file_is_exit_5_and_left_byte_for_byte() {
    let env = start().await;
    let cache = env.path("cache.json");
    let corrupt: &[u8] = b"{\"AccessToken\": {\"k\": \"not an entry\"}, \x00\xff garbage";
    std::fs::write(&cache, corrupt).unwrap();
    let token = token_command(&env, &cache, "api://demo/.default");
    let accounts = {
        let mut args = env.user_args("accounts");
        let at = args.iter().position(|a| a == "--cache").unwrap();
        args[at + 1] = cache.display().to_string();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_oxmsal"));
        cmd.args(args);
        cmd
    };
    for mut cmd in [token, accounts] {
        let run = tokio::task::spawn_blocking(move || finish(cmd.output().unwrap()))
            .await
            .unwrap();
        assert_eq!(run.code, 5, "{} {}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains(&cache.display().to_string()),
            "{}",
            run.stderr
        );
        assert_eq!(std::fs::read(&cache).unwrap(), corrupt);
    }
    assert_eq!(env.emulator.counters().token_requests, 0);
}
