//! The oxmsal side of `scripts/bench-compare`: the workloads that
//! `interop/msal_python/bench.py` runs with MSAL for Python, run here with the
//! public API on the same cache documents and the same emulator, timed the same
//! way. Prints one JSON object.
//!
//! ```text
//! compare time --docs DIR --authority URL --client-id ID --secret-env VAR
//!              --scope S --ca CA.pem --token-endpoint URL [--quick]
//!              [--min-batch SECONDS] [--repeat N] [--only WORKLOAD]
//! compare rss  --doc FILE
//! ```
//!
//! `--only` (cc_hit, mi_hit, cc_hit_file, silent_hit, deserialize, serialize, cc_miss,
//! http_floor, cc_miss_in_process) runs one workload, e.g. under `perf record`.
//!
//! Timing: the number of calls per batch doubles until a batch takes at least
//! `--min-batch` seconds (0.2), then `--repeat` batches (7) are timed; the
//! report gives the per-call median and minimum over the batches. Async calls
//! run in a batch inside one `block_on` of a current-thread runtime.
//!
//! Without a subcommand (`cargo bench -p oxmsal`, which runs every bench
//! target) it only says how to run it.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use oxmsal::authority::InstanceDiscovery;
use oxmsal::credential::ClientCredential;
use oxmsal::http::{HttpClient, HttpConfig, HttpFuture, HttpRequest, HttpResponse, ReqwestClient};
use oxmsal::managed_identity::{
    ManagedIdentity, ManagedIdentityClient, ManagedIdentityEnvironment,
};
use oxmsal::{ConfidentialClientApplication, TokenCache, TokenSource};
use serde_json::{json, Value};

/// The resource of the managed-identity document (`mi-1.json`).
const MI_RESOURCE: &str = "https://management.azure.com";

#[derive(Debug, Default)]
struct Args {
    command: Option<String>,
    docs: PathBuf,
    doc: PathBuf,
    authority: String,
    client_id: String,
    secret_env: String,
    scope: String,
    ca: PathBuf,
    token_endpoint: String,
    min_batch: f64,
    repeat: usize,
    quick: bool,
    only: Option<String>,
}

impl Args {
    /// Whether `--only` (for profiling one workload) lets `workload` run.
    fn wants(&self, workload: &str) -> bool {
        self.only.as_deref().is_none_or(|only| only == workload)
    }
}

fn parse_args() -> Args {
    let mut args = Args {
        min_batch: 0.2,
        repeat: 7,
        ..Args::default()
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "time" | "rss" => args.command = Some(arg.clone()),
            "--docs" => args.docs = value().into(),
            "--doc" => args.doc = value().into(),
            "--authority" => args.authority = value(),
            "--client-id" => args.client_id = value(),
            "--secret-env" => args.secret_env = value(),
            "--scope" => args.scope = value(),
            "--ca" => args.ca = value().into(),
            "--token-endpoint" => args.token_endpoint = value(),
            "--min-batch" => args.min_batch = value().parse().expect("--min-batch: seconds"),
            "--repeat" => args.repeat = value().parse().expect("--repeat: a count"),
            "--quick" => args.quick = true,
            "--only" => args.only = Some(value()),
            // What `cargo bench` passes to every bench target.
            "--bench" | "--test" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    if args.quick {
        args.min_batch = 0.02;
        args.repeat = 3;
    }
    args
}

/// Per-call seconds of `batch(n)`, which makes `n` calls.
fn measure(mut batch: impl FnMut(u64), min_batch: f64, repeat: usize) -> Value {
    let mut number: u64 = 1;
    loop {
        let start = Instant::now();
        batch(number);
        if start.elapsed().as_secs_f64() >= min_batch || number >= 1 << 24 {
            break;
        }
        number *= 2;
    }
    let mut samples: Vec<f64> = (0..repeat)
        .map(|_| {
            let start = Instant::now();
            batch(number);
            start.elapsed().as_secs_f64() / number as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    let median = if samples.len() % 2 == 1 {
        samples[samples.len() / 2]
    } else {
        (samples[samples.len() / 2 - 1] + samples[samples.len() / 2]) / 2.0
    };
    json!({"median_s": median, "min_s": samples[0], "calls_per_batch": number, "batches": repeat})
}

/// A transport that answers token requests in process with one response the
/// emulator gave, and sends everything else (discovery) to the real client:
/// a cache miss through it costs oxmsal's own work and nothing of the network
/// or the server's.
#[derive(Debug)]
struct Replay {
    real: Arc<ReqwestClient>,
    token: HttpResponse,
}

impl HttpClient for Replay {
    fn send(&self, request: HttpRequest) -> HttpFuture<'_> {
        if !request.uri().path().ends_with("/oauth2/v2.0/token") {
            return self.real.send(request);
        }
        let mut response = http::Response::builder().status(self.token.status());
        for (name, value) in self.token.headers() {
            response = response.header(name, value);
        }
        let response = response.body(self.token.body().clone()).unwrap();
        Box::pin(async move { Ok(response) })
    }
}

/// [`measure`] for an async call: one warm-up call, then each batch in one
/// `block_on`.
fn measure_calls<F: std::future::Future<Output = ()>>(
    rt: &tokio::runtime::Runtime,
    call: impl Fn() -> F,
    min_batch: f64,
    repeat: usize,
) -> Value {
    rt.block_on(call());
    measure(
        |n| {
            rt.block_on(async {
                for _ in 0..n {
                    call().await;
                }
            })
        },
        min_batch,
        repeat,
    )
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn time(args: &Args) -> Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let secret = std::env::var(&args.secret_env).expect("the client secret variable");
    let ca = std::fs::read(&args.ca).expect("the emulator's CA");
    // One transport for every app and for the raw floor.
    let client = Arc::new(ReqwestClient::new(&HttpConfig::default().extra_root_pem(ca)).unwrap());
    let builder = || {
        ConfidentialClientApplication::builder(
            args.client_id.clone(),
            ClientCredential::secret(secret.clone()),
        )
        .authority(args.authority.clone())
        .instance_discovery(InstanceDiscovery::Disabled)
    };
    let app_on = |transport: Arc<dyn HttpClient>, cache: TokenCache| {
        builder()
            .http_client(transport)
            .token_cache(cache)
            .build()
            .unwrap()
    };
    let app_with = |cache: TokenCache| app_on(client.clone(), cache);
    let loaded = |name: &str| {
        let cache = TokenCache::new();
        cache.deserialize(&read(&args.docs.join(name))).unwrap();
        cache
    };
    let scope = args.scope.as_str();
    let (min_batch, repeat) = (args.min_batch, args.repeat);
    let mut results = serde_json::Map::new();
    results.insert("oxmsal_version".into(), json!(env!("CARGO_PKG_VERSION")));

    // Client credentials cache hit, 1 and 100,000 tenants: the whole
    // acquire_token_for_client call; discovery is warmed by the first call.
    for tenants in [1usize, 100_000] {
        if !args.wants("cc_hit") {
            break;
        }
        let app = app_with(loaded(&format!("cc-{tenants}.json")));
        let first = rt
            .block_on(app.acquire_token_for_client([scope]).into_future())
            .unwrap();
        assert_eq!(first.token_source, TokenSource::Cache);
        let m = measure(
            |n| {
                rt.block_on(async {
                    for _ in 0..n {
                        let r = app.acquire_token_for_client([scope]).await.unwrap();
                        std::hint::black_box(r);
                    }
                })
            },
            min_batch,
            repeat,
        );
        results.insert(format!("cc_hit_{tenants}"), m);
    }

    // Managed identity cache hit: a system-assigned token for one resource
    // (mi-1.json, cached as MSAL for Python caches it); the whole
    // acquire_token_for_client call.
    if args.wants("mi_hit") {
        let mi = ManagedIdentityClient::builder(ManagedIdentity::SystemAssigned)
            .environment(ManagedIdentityEnvironment::empty())
            .http_client(client.clone())
            .token_cache(loaded("mi-1.json"))
            .build()
            .unwrap();
        let first = rt
            .block_on(mi.acquire_token_for_client(MI_RESOURCE).into_future())
            .unwrap();
        assert_eq!(first.token_source, TokenSource::Cache);
        let m = measure(
            |n| {
                rt.block_on(async {
                    for _ in 0..n {
                        let r = mi.acquire_token_for_client(MI_RESOURCE).await.unwrap();
                        std::hint::black_box(r);
                    }
                })
            },
            min_batch,
            repeat,
        );
        results.insert("mi_hit_1".into(), m);
    }

    // Client credentials cache hit through a shared cache file of 10,000
    // tokens (at-10000.json, which holds the emulator tenant's): a FileStore,
    // whose app looks at the file before each lookup and reads it only when
    // it changed.
    if args.wants("cc_hit_file") {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.json");
        std::fs::copy(args.docs.join("at-10000.json"), &path).unwrap();
        // A file written in the last two seconds is read on every lookup
        // (its times may not show a second write yet: see FileStore); the
        // steady state between writes is what is measured.
        std::thread::sleep(std::time::Duration::from_millis(2100));
        let store = Arc::new(oxmsal::cache::persist::FileStore::new(&path));
        let app = builder()
            .http_client(client.clone())
            .cache_persistence(store)
            .build()
            .unwrap();
        let hit = || async {
            let r = app.acquire_token_for_client([scope]).await.unwrap();
            assert_eq!(r.token_source, TokenSource::Cache);
            std::hint::black_box(r);
        };
        let m = measure_calls(&rt, hit, min_batch, repeat);
        results.insert("cc_hit_file_10000".into(), m);
    }

    // Silent hit for one of 1,000 accounts, a subset of the cached scopes.
    if args.wants("silent_hit") {
        let app = app_with(loaded("silent-1000.json"));
        let account = rt
            .block_on(app.accounts())
            .unwrap()
            .into_iter()
            .find(|a| a.home_account_id.starts_with(&format!("{:08x}-", 500)))
            .expect("account 500");
        let wanted = ["User.Read", "Mail.Read"];
        let first = rt
            .block_on(app.acquire_token_silent(wanted, &account).into_future())
            .unwrap();
        assert_eq!(first.token_source, TokenSource::Cache);
        let m = measure(
            |n| {
                rt.block_on(async {
                    for _ in 0..n {
                        let r = app.acquire_token_silent(wanted, &account).await.unwrap();
                        std::hint::black_box(r);
                    }
                })
            },
            min_batch,
            repeat,
        );
        results.insert("silent_hit_1000".into(), m);
    }

    // (De)serialization of 10,000 access tokens, JWT-sized and small secrets.
    for suffix in ["", "_small"] {
        let text = read(
            &args
                .docs
                .join(format!("at-10000{}.json", suffix.replace('_', "-"))),
        );
        let cache = TokenCache::new();
        if args.wants("deserialize") {
            let m = measure(
                |n| {
                    for _ in 0..n {
                        cache.deserialize(std::hint::black_box(&text)).unwrap();
                    }
                },
                min_batch,
                repeat,
            );
            results.insert(format!("deserialize_10000{suffix}"), m);
        }
        cache.deserialize(&text).unwrap();
        assert_eq!(cache.access_token_count(), 10_000);
        if args.wants("serialize") {
            let m = measure(
                |n| {
                    for _ in 0..n {
                        std::hint::black_box(cache.serialize().unwrap());
                    }
                },
                min_batch,
                repeat,
            );
            results.insert(format!("serialize_10000{suffix}"), m);
        }
    }

    // Cache miss: force_refresh, so every call goes to the token endpoint.
    let misses = |app: &ConfidentialClientApplication| {
        let miss = || async {
            let r = app
                .acquire_token_for_client([scope])
                .force_refresh(true)
                .await
                .unwrap();
            assert_eq!(r.token_source, TokenSource::IdentityProvider);
        };
        measure_calls(&rt, miss, min_batch, repeat)
    };
    if args.wants("cc_miss") {
        let app = app_with(TokenCache::new());
        results.insert("cc_miss_round_trip".into(), misses(&app));
    }

    // The floor: the same form POSTed with the same transport, body parsed.
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", &args.client_id)
        .append_pair("grant_type", "client_credentials")
        .append_pair("client_info", "1")
        .append_pair("scope", scope)
        .append_pair("client_secret", &secret)
        .finish();
    let post = || async {
        let request = http::Request::post(args.token_endpoint.as_str())
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(body.clone().into_bytes())
            .unwrap();
        let response = client.send(request).await.unwrap();
        assert_eq!(response.status(), 200);
        response
    };
    if args.wants("http_floor") {
        let floor = || async {
            let response = post().await;
            let json: Value = serde_json::from_slice(response.body()).unwrap();
            assert!(json.get("access_token").is_some());
        };
        let m = measure_calls(&rt, floor, min_batch, repeat);
        results.insert("http_floor".into(), m);
    }

    // The cache miss again, its token response replayed in process: what
    // oxmsal itself spends on a token request (form, pipeline, parsing,
    // throttle check, cache write, result).
    if args.wants("cc_miss_in_process") {
        let replay = Arc::new(Replay {
            real: client.clone(),
            token: rt.block_on(post()),
        });
        let app = app_on(replay, TokenCache::new());
        results.insert("cc_miss_in_process".into(), misses(&app));
    }
    Value::Object(results)
}

fn status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
}

/// Loads a document as an app would (`FileCache::open` streams the file)
/// and reports this process's peak RSS.
fn rss(args: &Args) -> Value {
    let before = status_kb("VmRSS");
    let cache = TokenCache::new();
    // As `FileCache::open` loads a file: streamed, never the whole text at once.
    let file = std::fs::File::open(&args.doc).unwrap();
    cache.deserialize_reader(file).unwrap();
    // One lookup, as an app makes next: the store builds its indexes on the
    // first one, and they are part of what holding the tokens costs.
    let (environments, scopes) = (
        vec!["login.microsoftonline.com".to_owned()],
        vec!["s".to_owned()],
    );
    let query = oxmsal::cache::AccessTokenQuery::new("any-client", &environments, &scopes);
    std::hint::black_box(cache.find_access_token(&query, 0));
    json!({
        "load": "TokenCache::deserialize_reader(File), as FileCache::open, then one lookup",
        "access_tokens": cache.access_token_count(),
        "rss_before_load_kb": before,
        "rss_after_load_kb": status_kb("VmRSS"),
        "peak_rss_kb": status_kb("VmHWM"),
    })
}

use std::future::IntoFuture as _;

fn main() {
    let args = parse_args();
    let out = match args.command.as_deref() {
        Some("time") => time(&args),
        Some("rss") => rss(&args),
        _ => {
            eprintln!("compare: the oxmsal side of scripts/bench-compare; run that script");
            return;
        }
    };
    println!("{out}");
}
