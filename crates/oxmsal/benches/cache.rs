//! Token cache benchmarks: an indexed hit must cost the same in a small and a
//! huge cache, and (de)serialization must scale linearly.
//!
//! `cargo bench -p oxmsal --bench cache` measures; `-- --test` runs each once (CI).

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use oxmsal::cache::persist::merge_documents;
use oxmsal::cache::{AccessTokenQuery, TokenCache};

const ENV: &str = "login.microsoftonline.com";
const CLIENT: &str = "8f1e0b4a-6c2d-4e57-9a3b-2f6d1c0e9b71";
const NOW: u64 = 1_700_000_000;
const GRAPH_DEFAULT: &str = "https://graph.microsoft.com/.default";
const USER_SCOPES: &str = "Calendars.Read Mail.Read User.Read openid profile";

/// One AccessToken entry as MSAL writes it.
fn at_entry(out: &mut String, home: Option<&str>, realm: &str, target: &str, secret: &str) {
    let home_json = home.map_or("null".to_owned(), |h| format!("\"{h}\""));
    let key = format!(
        "{}-{ENV}-accesstoken-{CLIENT}-{realm}-{}",
        home.unwrap_or(""),
        target.to_lowercase()
    );
    write!(
        out,
        r#""{key}": {{"credential_type": "AccessToken", "secret": "{secret}", "home_account_id": {home_json},
            "environment": "{ENV}", "client_id": "{CLIENT}", "target": "{target}", "realm": "{realm}",
            "token_type": "Bearer", "cached_at": "{NOW}", "expires_on": "{}", "extended_expires_on": "{}"}}"#,
        NOW + 3600,
        NOW + 3600
    )
    .unwrap();
}

/// A document of app-only tokens for `tenants` tenants of one client.
fn app_tokens(tenants: usize) -> String {
    let mut doc = String::from(r#"{"AccessToken": {"#);
    for i in 0..tenants {
        if i > 0 {
            doc.push(',');
        }
        at_entry(
            &mut doc,
            None,
            &format!("tenant-{i:06}"),
            GRAPH_DEFAULT,
            &format!("eyJ0eXAi.app-{i}.sig"),
        );
    }
    doc.push_str("}}");
    doc
}

/// A document of user tokens for `accounts` accounts in one tenant.
fn user_tokens(accounts: usize) -> String {
    let mut doc = String::from(r#"{"AccessToken": {"#);
    for i in 0..accounts {
        if i > 0 {
            doc.push(',');
        }
        let home = format!("uid-{i:06}.tenant");
        at_entry(
            &mut doc,
            Some(&home),
            "tenant",
            USER_SCOPES,
            &format!("eyJ0eXAi.user-{i}.sig"),
        );
    }
    doc.push_str("}}");
    doc
}

fn loaded(doc: &str) -> TokenCache {
    let cache = TokenCache::new();
    cache.deserialize(doc).unwrap();
    cache
}

fn client_credentials_hit(c: &mut Criterion) {
    let environments = vec![ENV.to_owned()];
    let scopes = vec![GRAPH_DEFAULT.to_owned()];
    let mut group = c.benchmark_group("client_credentials_hit");
    for tenants in [1usize, 100_000] {
        let cache = loaded(&app_tokens(tenants));
        let realm = format!("tenant-{:06}", tenants / 2);
        let query = AccessTokenQuery::new(CLIENT, &environments, &scopes).in_realm(&realm);
        assert!(cache.find_access_token(&query, NOW).is_some());
        group.bench_with_input(BenchmarkId::from_parameter(tenants), &query, |b, q| {
            b.iter(|| black_box(cache.find_access_token(black_box(q), NOW)))
        });
    }
    group.finish();
}

fn silent_hit(c: &mut Criterion) {
    let cache = loaded(&user_tokens(1_000));
    let environments = vec!["login.windows.net".to_owned(), ENV.to_owned()];
    // A subset of the cached scopes, in another case.
    let scopes = vec!["user.read".to_owned(), "Mail.Read".to_owned()];
    let home = "uid-000500.tenant";
    let query = AccessTokenQuery::new(CLIENT, &environments, &scopes)
        .for_account(home)
        .in_realm("tenant");
    assert!(cache.find_access_token(&query, NOW).is_some());
    c.bench_function("silent_hit/1000_accounts_subset_scopes", |b| {
        b.iter(|| black_box(cache.find_access_token(black_box(&query), NOW)))
    });
}

fn serialization(c: &mut Criterion) {
    let doc = app_tokens(10_000);
    let cache = loaded(&doc);
    let written = cache.serialize().unwrap();
    let mut group = c.benchmark_group("serialization_10000_access_tokens");
    group.sample_size(10);
    group.bench_function("serialize", |b| {
        b.iter(|| black_box(cache.serialize().unwrap()))
    });
    group.bench_function("deserialize", |b| {
        let target = TokenCache::new();
        b.iter(|| target.deserialize(black_box(&written)).unwrap())
    });
    // A load is followed by a lookup in an app: the lookup makes the indexes.
    let scopes = vec![GRAPH_DEFAULT.to_owned()];
    let environments = vec![ENV.to_owned()];
    let query = AccessTokenQuery::new(CLIENT, &environments, &scopes).in_realm("tenant-005000");
    group.bench_function("deserialize_then_first_lookup", |b| {
        let target = TokenCache::new();
        b.iter(|| {
            target.deserialize(black_box(&written)).unwrap();
            black_box(target.find_access_token(&query, NOW).unwrap());
        })
    });
    // A save to a shared file or Redis key: the stored document read, one
    // new token merged in, the result written.
    let ours = app_tokens(1);
    group.bench_function("merge_one_token_into_stored", |b| {
        b.iter(|| black_box(merge_documents(Some(black_box(&written)), &ours).unwrap()))
    });
    group.finish();
}

/// MSAL for Python's documents (`interop/msal_python/bench.py gen --out DIR`):
/// loading them, when `OXMSAL_BENCH_DOCS` names that directory.
fn documents(c: &mut Criterion) {
    let Some(dir) = std::env::var_os("OXMSAL_BENCH_DOCS") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let mut group = c.benchmark_group("load_10000_access_tokens");
    group.sample_size(20);
    for name in ["at-10000.json", "at-10000-small.json"] {
        let path = dir.join(name);
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let target = TokenCache::new();
        group.bench_function(format!("deserialize/{name}"), |b| {
            b.iter(|| target.deserialize(black_box(&text)).unwrap())
        });
        // Streamed from the file (in the page cache after the first read).
        group.bench_function(format!("deserialize_reader/{name}"), |b| {
            b.iter(|| {
                let file = std::fs::File::open(&path).unwrap();
                target.deserialize_reader(file).unwrap()
            })
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
}

criterion_group! {
    name = benches;
    config = config();
    targets = client_credentials_hit, silent_hit, serialization, documents
}
criterion_main!(benches);
