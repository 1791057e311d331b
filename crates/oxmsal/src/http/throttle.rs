//! Client-side throttling, as MSAL for Python does it: after the server asked to back off, the
//! same request is refused locally — no network I/O — until the time has passed.
//!
//! - Rule A: a token request answered 429, ≥ 500, or with `Retry-After` blocks the
//!   same request (URL, client, scope, and a hash of the user's grant material) for
//!   `Retry-After` seconds, capped at one hour; without a usable `Retry-After`, 60 s
//!   for public clients and 5 s for confidential ones.
//! - Rule B: an HTTP 400 is remembered 60 s, keyed by a hash of the whole request
//!   body, so the identical request fails fast while a changed one (new `claims`)
//!   goes through. Device-code polling is excluded.
//!
//! Keys are SHA-256 digests: no secret is kept. The store is bounded and can be
//! saved and restored (the CLI keeps it next to its cache file).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aws_lc_rs::digest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind, InvalidResponse, Result, ServiceError};

/// Most entries a store keeps; expired ones go first, then the oldest.
const CAPACITY: usize = 1024;
/// Longest wait honoured from `Retry-After`.
const MAX_BLOCK: Duration = Duration::from_secs(3600);
/// How long an HTTP 400 is remembered.
const HTTP_400_BLOCK: Duration = Duration::from_secs(60);

/// What a remembered outcome was.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Remembered {
    Service {
        status: u16,
        body: Map<String, Value>,
    },
    InvalidResponse {
        status: u16,
        content_type: Option<String>,
        body_excerpt: String,
        reason: String,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    /// Epoch seconds until which the request is refused.
    until: u64,
    /// When it was recorded (for eviction order).
    since: u64,
    outcome: Remembered,
}

/// The throttling memory of one or more applications. Clones share one store.
///
/// ```
/// let store = oxmsal::http::ThrottleStore::new();
/// let saved = store.serialize().unwrap();
/// let restored = oxmsal::http::ThrottleStore::new();
/// restored.deserialize(&saved).unwrap();
/// assert!(restored.is_empty());
/// ```
#[derive(Debug, Clone, Default)]
pub struct ThrottleStore {
    entries: Arc<Mutex<HashMap<String, Entry>>>,
    changes: Arc<Changes>,
}

/// Whether the store holds something its file does not: `made` counts the
/// changes (a recorded back-off, a deserialized state), `saved` is the count
/// the file last matched (loaded or saved). Equal: saving would write nothing new.
#[derive(Debug, Default)]
struct Changes {
    made: AtomicU64,
    saved: AtomicU64,
}

/// The parts of a token request that decide its throttling keys.
#[derive(Debug)]
pub(crate) struct ThrottleKey<'a> {
    pub url: &'a str,
    pub client_id: &'a str,
    pub scope: &'a str,
    /// Refresh token, code, username or assertion: hashed, never stored.
    pub grant_material: Option<&'a str>,
    /// The whole form body (for rule B).
    pub body: &'a [u8],
    /// Device-code polling is excluded from rule B.
    pub rule_b: bool,
}

impl ThrottleKey<'_> {
    fn rule_a(&self) -> String {
        let material = self.grant_material.map(hash).unwrap_or_default();
        hash(&format!(
            "A\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{material}",
            self.url, self.client_id, self.scope
        ))
    }

    fn rule_b(&self) -> String {
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(b"B\x1f");
        ctx.update(self.url.as_bytes());
        ctx.update(b"\x1f");
        ctx.update(self.body);
        URL_SAFE_NO_PAD.encode(ctx.finish())
    }
}

fn hash(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, text.as_bytes()))
}

impl ThrottleStore {
    /// An empty store.
    ///
    /// ```
    /// assert!(oxmsal::http::ThrottleStore::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether nothing is remembered.
    ///
    /// ```
    /// assert_eq!(oxmsal::http::ThrottleStore::new().len(), 0);
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many requests are remembered (expired ones included until evicted).
    ///
    /// ```
    /// assert_eq!(oxmsal::http::ThrottleStore::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `Err(Throttled)` when this request must not be sent yet.
    pub(crate) fn check(&self, key: &ThrottleKey<'_>, now: u64) -> Result<()> {
        let mut entries = self.lock();
        // Nothing remembered (nearly always): no digest to compute.
        if entries.is_empty() {
            return Ok(());
        }
        refuse_if_held(&mut entries, &key.rule_a(), now)?;
        // Rule B's digest only when rule A's key is not refused.
        if key.rule_b {
            refuse_if_held(&mut entries, &key.rule_b(), now)?;
        }
        Ok(())
    }

    /// Remembers the outcome of a sent request, when a rule applies to it.
    pub(crate) fn record(
        &self,
        key: &ThrottleKey<'_>,
        outcome: &Error,
        now: u64,
        default_block: Duration,
    ) {
        let (status, retry_after) = match (outcome.service(), outcome.invalid_response()) {
            (Some(s), _) => (s.http_status, s.retry_after),
            (None, Some(r)) => (r.http_status, r.retry_after),
            _ => return,
        };
        let Some(remembered) = Remembered::from_error(outcome) else {
            return;
        };
        let rule_a = status == 429 || status >= 500 || retry_after.is_some();
        let (k, block) = if rule_a {
            (
                key.rule_a(),
                retry_after.unwrap_or(default_block).min(MAX_BLOCK),
            )
        } else if status == 400 && key.rule_b {
            (key.rule_b(), HTTP_400_BLOCK)
        } else {
            return;
        };
        if block.is_zero() {
            return;
        }
        tracing::info!(
            status,
            block_s = block.as_secs(),
            rule = if rule_a { "A" } else { "B" },
            "remembering a back-off"
        );
        let mut entries = self.lock();
        if entries.len() >= CAPACITY && !entries.contains_key(&k) {
            entries.retain(|_, e| e.until > now);
            if entries.len() >= CAPACITY {
                if let Some(oldest) = entries
                    .iter()
                    .min_by_key(|(_, e)| e.since)
                    .map(|(k, _)| k.clone())
                {
                    entries.remove(&oldest);
                }
            }
        }
        entries.insert(
            k,
            Entry {
                until: now.saturating_add(block.as_secs()),
                since: now,
                outcome: remembered,
            },
        );
        self.changes.made.fetch_add(1, Ordering::SeqCst);
    }

    /// The store as JSON (hashed keys, expiry times, the remembered errors).
    ///
    /// ```
    /// let json = oxmsal::http::ThrottleStore::new().serialize().unwrap();
    /// assert_eq!(json, "{}");
    /// ```
    pub fn serialize(&self) -> Result<String> {
        serde_json::to_string(&*self.lock())
            .map_err(|e| Error::cache(format!("cannot serialize the throttle state: {e}"), None))
    }

    /// Replaces the store with a serialized one; a malformed document is a
    /// `Cache` error and leaves the store unchanged.
    ///
    /// ```
    /// let store = oxmsal::http::ThrottleStore::new();
    /// assert!(store.deserialize("[]").is_err());
    /// ```
    pub fn deserialize(&self, json: &str) -> Result<()> {
        let entries: HashMap<String, Entry> = serde_json::from_str(json)
            .map_err(|e| Error::cache(format!("the throttle state is malformed: {e}"), None))?;
        *self.lock() = entries;
        self.changes.made.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// Whether something was recorded (or [deserialized](Self::deserialize))
    /// since the store was loaded from its file or last saved to it: what
    /// decides whether [`save_file`](Self::save_file) writes. Merging in
    /// another store's entries (a shared store's load) is no change.
    ///
    /// ```
    /// let store = oxmsal::http::ThrottleStore::new();
    /// assert!(!store.has_unsaved_changes());
    /// store.deserialize("{}").unwrap();
    /// assert!(store.has_unsaved_changes());
    /// ```
    pub fn has_unsaved_changes(&self) -> bool {
        self.changes.made.load(Ordering::SeqCst) != self.changes.saved.load(Ordering::SeqCst)
    }

    /// Replaces the store with a state its file holds (what
    /// [`serialize`](Self::serialize) wrote): what is in memory now is what the
    /// file holds. `Err`: why it is not a throttle state; the store is unchanged.
    pub(crate) fn restore_json(&self, json: &str) -> std::result::Result<(), String> {
        let entries: HashMap<String, Entry> =
            serde_json::from_str(json).map_err(|e| e.to_string())?;
        let made = self.changes.made.load(Ordering::SeqCst);
        *self.lock() = entries;
        self.changes.saved.store(made, Ordering::SeqCst);
        Ok(())
    }

    /// The count of changes made, when the store holds something its file does
    /// not (see [`has_unsaved_changes`](Self::has_unsaved_changes)); `None` when
    /// saving would write nothing new.
    pub(crate) fn unsaved_changes(&self) -> Option<u64> {
        let made = self.changes.made.load(Ordering::SeqCst);
        (made != self.changes.saved.load(Ordering::SeqCst)).then_some(made)
    }

    /// Marks the store as matching its file up to change count `made`; changes
    /// made meanwhile stay unsaved.
    pub(crate) fn mark_saved(&self, made: u64) {
        self.changes.saved.store(made, Ordering::SeqCst);
    }

    /// Merges the entries of `json` (what [`serialize`](Self::serialize)
    /// wrote, in another process) still running at `now`, as
    /// [`save_file`](Self::save_file) merges the file's. `Err`: why it is not
    /// a throttle state (the caller names where it came from).
    pub(crate) fn merge_json(&self, json: &str, now: u64) -> std::result::Result<(), String> {
        let entries: HashMap<String, Entry> =
            serde_json::from_str(json).map_err(|e| e.to_string())?;
        self.merge(entries, now);
        Ok(())
    }

    /// The latest time (epoch seconds) until which a request is refused, if any.
    #[cfg(feature = "cache-redis")]
    pub(crate) fn latest_until(&self) -> Option<u64> {
        self.lock().values().map(|e| e.until).max()
    }

    /// Adds `others`' entries still running at `now`, keeping the later `until`
    /// of a key, within [`CAPACITY`] (expired ones go first, then the oldest
    /// recorded).
    fn merge(&self, others: HashMap<String, Entry>, now: u64) {
        let mut entries = self.lock();
        entries.retain(|_, e| e.until > now);
        for (key, mut other) in others.into_iter().filter(|(_, e)| e.until > now) {
            other.clamp(now);
            match entries.get(&key) {
                Some(mine) if mine.until >= other.until => {}
                _ => {
                    entries.insert(key, other);
                }
            }
        }
        while entries.len() > CAPACITY {
            let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, e)| e.since)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            entries.remove(&oldest);
        }
    }

    /// Drops entries that expired before `now` (epoch seconds).
    ///
    /// ```
    /// oxmsal::http::ThrottleStore::new().purge_expired(0);
    /// ```
    pub fn purge_expired(&self, now: u64) {
        self.lock().retain(|_, e| e.until > now);
    }
}

impl Entry {
    /// Holds requests back for at most [`MAX_BLOCK`] from `now`: this process
    /// never records longer, so a longer entry was written by someone else (a
    /// planted `until` of `u64::MAX` would refuse every request forever).
    fn clamp(&mut self, now: u64) {
        self.until = self.until.min(now.saturating_add(MAX_BLOCK.as_secs()));
    }
}

/// `Err(Throttled)` when the entry under `key` still holds requests back at
/// `now` (for at most [`MAX_BLOCK`], whatever a loaded entry said).
fn refuse_if_held(entries: &mut HashMap<String, Entry>, key: &str, now: u64) -> Result<()> {
    match entries.get_mut(key) {
        Some(entry) if entry.until > now => {
            entry.clamp(now);
            let original = entry.outcome.to_error();
            let remaining = Duration::from_secs(entry.until - now);
            tracing::info!(
                remaining_s = remaining.as_secs(),
                "request refused locally: throttled"
            );
            Err(Error::throttled(&original, remaining))
        }
        _ => Ok(()),
    }
}

impl Remembered {
    fn from_error(err: &Error) -> Option<Self> {
        if let Some(s) = err.service() {
            return Some(Remembered::Service {
                status: s.http_status,
                body: s.body.clone(),
            });
        }
        let r = err.invalid_response()?;
        Some(Remembered::InvalidResponse {
            status: r.http_status,
            content_type: r.content_type.clone(),
            body_excerpt: r.body_excerpt.clone(),
            reason: r.reason.clone(),
        })
    }

    fn to_error(&self) -> Error {
        match self {
            Remembered::Service { status, body } => {
                ServiceError::from_map(*status, body.clone(), None)
                    .map(Error::from_service)
                    .unwrap_or_else(|| {
                        Error::configuration("a remembered service error lost its `error` key")
                    })
            }
            Remembered::InvalidResponse {
                status,
                content_type,
                body_excerpt,
                reason,
            } => {
                let mut r =
                    InvalidResponse::new(*status, content_type.clone(), b"", reason.clone());
                r.body_excerpt = body_excerpt.clone();
                Error::from_invalid_response(r)
            }
        }
    }
}

/// Whether an outcome is one the throttle may remember at all.
pub(crate) fn is_rememberable(err: &Error) -> bool {
    matches!(err.kind(), ErrorKind::Service | ErrorKind::InvalidResponse)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::cache::persist::lock::lock_path_for;

    fn key<'a>(scope: &'a str, body: &'a [u8]) -> ThrottleKey<'a> {
        ThrottleKey {
            url: "https://h/t/oauth2/v2.0/token",
            client_id: "c",
            scope,
            grant_material: None,
            body,
            rule_b: true,
        }
    }

    fn service(status: u16, retry_after: Option<u64>) -> Error {
        let body = format!(r#"{{"error":"e{status}"}}"#);
        Error::from_service(
            ServiceError::from_body(
                status,
                body.as_bytes(),
                retry_after.map(Duration::from_secs),
            )
            .unwrap(),
        )
    }

    #[test]
    fn rule_a_blocks_same_scope_for_retry_after() {
        let store = ThrottleStore::new();
        store.record(
            &key("s1", b"x"),
            &service(429, Some(30)),
            1000,
            Duration::from_secs(5),
        );
        let err = store.check(&key("s1", b"y"), 1010).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Throttled);
        assert_eq!(err.retry_after(), Some(Duration::from_secs(20)));
        assert_eq!(err.service().unwrap().error, "e429");
        assert!(
            store.check(&key("s2", b"x"), 1010).is_ok(),
            "another scope goes through"
        );
        assert!(
            store.check(&key("s1", b"x"), 1030).is_ok(),
            "the window ends"
        );
    }

    #[test]
    fn rule_a_defaults_and_cap() {
        let store = ThrottleStore::new();
        store.record(
            &key("s", b"x"),
            &service(503, None),
            0,
            Duration::from_secs(5),
        );
        assert!(store.check(&key("s", b"x"), 4).is_err());
        assert!(store.check(&key("s", b"x"), 5).is_ok());
        store.record(
            &key("s", b"x"),
            &service(503, Some(86_400)),
            0,
            Duration::from_secs(5),
        );
        assert!(store.check(&key("s", b"x"), 3599).is_err());
        assert!(store.check(&key("s", b"x"), 3600).is_ok());
    }

    #[test]
    fn rule_b_keys_on_the_whole_body() {
        let store = ThrottleStore::new();
        store.record(
            &key("s", b"claims=1"),
            &service(400, None),
            0,
            Duration::from_secs(5),
        );
        assert!(store.check(&key("s", b"claims=1"), 59).is_err());
        assert!(store.check(&key("s", b"claims=2"), 1).is_ok());
        assert!(store.check(&key("s", b"claims=1"), 60).is_ok());
        let mut device = key("s", b"dc");
        device.rule_b = false;
        store.record(&device, &service(400, None), 0, Duration::from_secs(5));
        assert!(
            store.check(&device, 1).is_ok(),
            "device code polling is not remembered"
        );
    }

    #[test]
    fn a_planted_endless_entry_holds_back_for_the_cap_at_most() {
        let recorded = ThrottleStore::new();
        recorded.record(
            &key("s", b"x"),
            &service(429, Some(60)),
            100,
            Duration::from_secs(5),
        );
        let mut doc: serde_json::Value =
            serde_json::from_str(&recorded.serialize().unwrap()).unwrap();
        for entry in doc.as_object_mut().unwrap().values_mut() {
            entry["until"] = serde_json::json!(u64::MAX);
            entry["since"] = serde_json::json!(u64::MAX);
        }
        let planted = doc.to_string();
        // Loaded whole (a file) or merged (Redis): refused for at most an hour.
        let loaded = ThrottleStore::new();
        loaded.deserialize(&planted).unwrap();
        let merged = ThrottleStore::new();
        merged.merge(serde_json::from_str(&planted).unwrap(), 1_000);
        for store in [&loaded, &merged] {
            let err = store.check(&key("s", b"x"), 1_000).unwrap_err();
            assert_eq!(err.retry_after(), Some(MAX_BLOCK));
            assert!(store.check(&key("s", b"x"), 1_000 + 3_599).is_err());
            assert!(store.check(&key("s", b"x"), 1_000 + 3_600).is_ok());
        }
    }

    #[test]
    fn other_statuses_are_not_remembered() {
        let store = ThrottleStore::new();
        store.record(
            &key("s", b"x"),
            &service(401, None),
            0,
            Duration::from_secs(5),
        );
        assert!(store.is_empty());
    }

    #[test]
    fn saving_keeps_what_another_process_saved_meanwhile() {
        let path = std::env::temp_dir().join(format!(
            "oxmsal-throttle-merge-{}-{}.json",
            std::process::id(),
            crate::correlation::new_id()
        ));
        let block = Duration::from_secs(5);
        // Two processes load the same (missing) file, then each records a back-off.
        let (first, second) = (ThrottleStore::new(), ThrottleStore::new());
        first.load_file(&path).unwrap();
        second.load_file(&path).unwrap();
        first.record(&key("a", b"x"), &service(429, Some(60)), 100, block);
        second.record(&key("b", b"x"), &service(429, Some(30)), 100, block);
        second.record(&key("a", b"x"), &service(429, Some(10)), 100, block);
        first.save_file(&path, 100).unwrap();
        second.save_file(&path, 100).unwrap();

        let third = ThrottleStore::new();
        third.load_file(&path).unwrap();
        assert_eq!(third.len(), 2);
        assert!(third.check(&key("b", b"x"), 120).is_err(), "second's own");
        assert!(
            third.check(&key("a", b"x"), 150).is_err(),
            "first's longer back-off outlives second's shorter one"
        );
        std::fs::write(&path, "[]").unwrap();
        third.save_file(&path, 100).unwrap();
        third.record(&key("c", b"x"), &service(429, Some(60)), 100, block);
        assert_eq!(
            third.save_file(&path, 100).unwrap_err().kind(),
            crate::error::ErrorKind::Cache
        );
        std::fs::remove_file(&path).ok();
    }

    #[test]
    fn saves_at_the_same_moment_take_turns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("throttle.json");
        let (threads, rounds) = (8, 10);
        let start = std::sync::Barrier::new(threads);
        std::thread::scope(|scope| {
            for t in 0..threads {
                let (path, start) = (&path, &start);
                scope.spawn(move || {
                    start.wait();
                    for r in 0..rounds {
                        // A process of its own: it knows only its own entry.
                        let store = ThrottleStore::new();
                        let name = format!("t{t}-r{r}");
                        store.record(
                            &key(&name, b"x"),
                            &service(429, Some(60)),
                            100,
                            Duration::from_secs(5),
                        );
                        store.save_file(path, 100).unwrap();
                    }
                });
            }
        });
        let all = ThrottleStore::new();
        all.load_file(&path).unwrap();
        assert_eq!(all.len(), threads * rounds, "every save's entry is kept");
        assert!(!lock_path_for(&path).exists(), "the lock is released");
    }

    #[test]
    fn bounded_and_round_trips() {
        let store = ThrottleStore::new();
        for i in 0..(CAPACITY + 10) {
            let scope = format!("s{i}");
            // Long enough that nothing expires while the store fills.
            store.record(
                &key(&scope, b"x"),
                &service(429, Some(3600)),
                i as u64,
                Duration::from_secs(5),
            );
        }
        assert_eq!(store.len(), CAPACITY);
        let copy = ThrottleStore::new();
        copy.deserialize(&store.serialize().unwrap()).unwrap();
        assert!(copy.check(&key("s1000", b"x"), 1050).is_err());
        assert!(copy.deserialize("{\"k\":{}}").is_err());
        assert_eq!(
            copy.len(),
            CAPACITY,
            "a bad document leaves the store unchanged"
        );
    }
}
