//! A throwaway redis-server for one test (also used by the CLI's tests through
//! `#[path]`): a free loopback port, no persistence, daemonized with a pid file,
//! stopped when the guard drops.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub struct RedisServer {
    pub port: u16,
    /// `--requirepass`, for the readiness check.
    password: Option<String>,
    dir: tempfile::TempDir,
    pid: Option<u32>,
}

/// TLS files for `RedisServer::start_tls`.
pub struct TlsFiles<'a> {
    pub cert: &'a Path,
    pub key: &'a Path,
    pub ca: &'a Path,
}

impl RedisServer {
    /// A plain-TCP server; `extra` are more `--option value` arguments (e.g. `--requirepass`).
    pub fn start(extra: &[&str]) -> RedisServer {
        Self::start_with(None, extra)
    }

    /// A TLS-only server presenting `tls.cert`.
    pub fn start_tls(tls: TlsFiles<'_>) -> RedisServer {
        Self::start_with(Some(tls), &[])
    }

    fn start_with(tls: Option<TlsFiles<'_>>, extra: &[&str]) -> RedisServer {
        // A port picked by binding :0 can be taken by another test before redis
        // binds it: try a few.
        for _ in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let port = free_port();
            let pidfile = dir.path().join("redis.pid");
            let mut cmd = Command::new("redis-server");
            match &tls {
                None => cmd.args(["--port", &port.to_string()]),
                Some(t) => cmd
                    .args(["--port", "0", "--tls-port", &port.to_string()])
                    .args([
                        "--tls-cert-file".as_ref(),
                        t.cert.as_os_str(),
                        "--tls-key-file".as_ref(),
                        t.key.as_os_str(),
                        "--tls-ca-cert-file".as_ref(),
                        t.ca.as_os_str(),
                        "--tls-auth-clients".as_ref(),
                        "no".as_ref(),
                    ]),
            };
            cmd.args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
                .args(["--daemonize", "yes"])
                .arg("--pidfile")
                .arg(&pidfile)
                .arg("--dir")
                .arg(dir.path())
                .arg("--logfile")
                .arg(dir.path().join("redis.log"))
                .args(extra);
            let status = cmd
                .status()
                .expect("redis-server runs (apt-get install redis-server)");
            assert!(status.success(), "redis-server failed to start: {status}");
            let password = extra
                .iter()
                .position(|a| *a == "--requirepass")
                .and_then(|i| extra.get(i + 1))
                .map(|p| (*p).to_owned());
            let mut server = RedisServer {
                port,
                password,
                dir,
                pid: None,
            };
            if server.wait_ready(tls.is_some()) {
                return server;
            }
            drop(server); // stops it if it did start
        }
        panic!("redis-server did not come up on a free port");
    }

    /// Waits for the pid file and for the port to accept connections.
    fn wait_ready(&mut self, tls: bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.pid.is_none() {
                self.pid = std::fs::read_to_string(self.pidfile())
                    .ok()
                    .and_then(|p| p.trim().parse().ok());
            }
            if let Some(pid) = self.pid {
                if !alive(pid) {
                    return false; // exited: the port was taken
                }
                let up = if tls {
                    std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                } else {
                    let password = self.password.clone();
                    self.cli_auth(password.as_deref(), &["PING"])
                        .stdout
                        .starts_with(b"PONG")
                };
                if up {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn pidfile(&self) -> PathBuf {
        self.dir.path().join("redis.pid")
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// `redis-cli` against this server (plain TCP only), without auth.
    pub fn cli(&self, args: &[&str]) -> Output {
        self.cli_auth(None, args)
    }

    pub fn cli_auth(&self, password: Option<&str>, args: &[&str]) -> Output {
        let mut cmd = Command::new("redis-cli");
        cmd.args(["-h", "127.0.0.1", "-p", &self.port.to_string()]);
        if let Some(p) = password {
            cmd.env("REDISCLI_AUTH", p);
        }
        cmd.args(args).output().expect("redis-cli runs")
    }

    /// One reply of `redis-cli` as text, trimmed.
    pub fn query(&self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.cli(args).stdout)
            .trim()
            .to_owned()
    }

    /// Kills the server (SIGKILL: it vanishes mid-run) and waits until it is gone.
    pub fn kill(&mut self) {
        if let Some(pid) = self.pid.take() {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while alive(pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Whether `pid` still runs. A killed daemon stays a zombie until init reaps
/// it (over a second in some containers), but it holds no socket by then.
fn alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // "pid (comm) S ...": the state follows the last ')'.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, Some('Z' | 'X') | None)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}
