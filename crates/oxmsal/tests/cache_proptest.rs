//! Property tests over random cache documents, through the public API only:
//! serialize → deserialize → serialize is a fixed point that keeps the document,
//! and indexed lookups agree with a linear scan of the JSON.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use oxmsal::cache::{AccessTokenQuery, RefreshTokenQuery, TokenCache};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

const HOMES: [&str; 3] = ["u1.t", "U1.T", "u2.t"];
const ENVS: [&str; 2] = ["login.microsoftonline.com", "login.windows.net"];
const CLIENTS: [&str; 3] = ["client-a", "CLIENT-A", "client-b"];
const REALMS: [&str; 3] = ["t1", "T1", "t2"];
const SCOPES: [&str; 5] = ["a", "A", "b", "c", "User.Read"];

/// A timestamp as a string (the schema) or a number (older writers).
fn timestamp() -> impl Strategy<Value = Value> {
    (0u64..3000, any::<bool>()).prop_map(|(t, as_string)| {
        if as_string {
            json!(t.to_string())
        } else {
            json!(t)
        }
    })
}

fn pick<T: Clone + std::fmt::Debug + 'static>(items: &'static [T]) -> impl Strategy<Value = T> {
    proptest::sample::select(items)
}

/// A home account id: present, null, or absent.
fn home() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        3 => pick(&HOMES).prop_map(|h| Some(json!(h))),
        1 => Just(Some(Value::Null)),
        1 => Just(None),
    ]
}

fn target() -> impl Strategy<Value = String> {
    proptest::collection::vec(pick(&SCOPES), 0..4).prop_map(|s| s.join(" "))
}

/// Fields no MSAL version oxmsal knows writes.
fn extras() -> impl Strategy<Value = Map<String, Value>> {
    proptest::collection::btree_map(
        "x_[a-z]{1,6}",
        prop_oneof![
            Just(Value::Null),
            any::<i32>().prop_map(Value::from),
            "[ -~]{0,8}".prop_map(Value::from),
            Just(json!({"nested": [1, "two", null]}))
        ],
        0..3,
    )
    .prop_map(|m| m.into_iter().collect())
}

fn with(mut object: Map<String, Value>, home: Option<Value>, extras: Map<String, Value>) -> Value {
    if let Some(h) = home {
        object.insert("home_account_id".into(), h);
    }
    object.extend(extras);
    Value::Object(object)
}

fn access_token() -> impl Strategy<Value = Value> {
    (
        home(),
        pick(&ENVS),
        pick(&CLIENTS),
        pick(&REALMS),
        target(),
        timestamp(),
        timestamp(),
        proptest::option::of("[a-z]{1,4}"),
        extras(),
    )
        .prop_map(|(home, env, client, realm, target, cached_at, expires_on, secret, extras)| {
            let mut o = json!({"credential_type": "AccessToken", "environment": env, "client_id": client,
                               "realm": realm, "target": target, "cached_at": cached_at,
                               "expires_on": expires_on});
            if let Some(s) = secret {
                o["secret"] = json!(s);
            }
            with(o.as_object().unwrap().clone(), home, extras)
        })
}

fn refresh_token() -> impl Strategy<Value = Value> {
    (
        home(),
        pick(&ENVS),
        pick(&CLIENTS),
        target(),
        proptest::option::of(timestamp()),
        proptest::option::of(prop_oneof![Just(json!("1")), Just(json!(1)), Just(Value::Null)]),
        "[a-z]{1,4}",
        extras(),
    )
        .prop_map(|(home, env, client, target, modified, family, secret, extras)| {
            let mut o = json!({"credential_type": "RefreshToken", "secret": secret, "environment": env,
                               "client_id": client, "target": target});
            if let Some(m) = modified {
                o["last_modification_time"] = m;
            }
            if let Some(f) = family {
                o["family_id"] = f;
            }
            with(o.as_object().unwrap().clone(), home, extras)
        })
}

fn other_entry() -> impl Strategy<Value = Value> {
    (home(), pick(&ENVS), pick(&REALMS), extras()).prop_map(|(home, env, realm, extras)| {
        let o =
            json!({"environment": env, "realm": realm, "client_id": "client-a", "username": "x"});
        with(o.as_object().unwrap().clone(), home, extras)
    })
}

fn section(entry: impl Strategy<Value = Value>, max: usize) -> impl Strategy<Value = Value> {
    proptest::collection::btree_map("[a-z0-9.-]{1,12}", entry, 0..max)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

/// A whole document: all five sections (so a round trip adds none) plus
/// unknown ones.
fn document() -> impl Strategy<Value = Value> {
    (
        section(access_token(), 12),
        section(refresh_token(), 8),
        section(other_entry(), 4),
        section(other_entry(), 4),
        section(other_entry(), 4),
        proptest::option::of(any::<i64>()),
    )
        .prop_map(|(at, rt, idt, account, meta, unknown)| {
            let mut doc = json!({"AccessToken": at, "RefreshToken": rt, "IdToken": idt,
                                 "Account": account, "AppMetadata": meta});
            if let Some(n) = unknown {
                doc["SomeFutureSection"] = json!({"n": n});
            }
            doc
        })
}

fn lower(v: Option<&Value>) -> String {
    v.and_then(Value::as_str).unwrap_or("").to_lowercase()
}

fn seconds(v: Option<&Value>) -> u64 {
    match v {
        Some(Value::Number(n)) => n.as_u64().unwrap(),
        Some(Value::String(s)) => s.parse().unwrap(),
        _ => 0,
    }
}

fn scope_set(target: &str) -> Vec<String> {
    let mut s: Vec<String> = target.split_whitespace().map(str::to_lowercase).collect();
    s.sort();
    s.dedup();
    s
}

/// The access-token lookup, by reading every entry of the JSON.
fn model_access_token(doc: &Value, q: &AccessTokenQuery<'_>, now: u64) -> Option<String> {
    let want = scope_set(&q.scopes.join(" "));
    if want.is_empty() {
        return None;
    }
    doc["AccessToken"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, e)| {
            let have = scope_set(e.get("target").and_then(Value::as_str).unwrap_or(""));
            lower(e.get("home_account_id")) == q.home_account_id.unwrap_or("").to_lowercase()
                && q.environments
                    .iter()
                    .any(|env| env.to_lowercase() == lower(e.get("environment")))
                && lower(e.get("client_id")) == q.client_id.to_lowercase()
                && q.realm
                    .is_none_or(|r| r.to_lowercase() == lower(e.get("realm")))
                && seconds(e.get("expires_on")).saturating_sub(now) >= 300
                && e.get("secret")
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.is_empty())
                && want.iter().all(|w| have.contains(w))
        })
        .max_by(|a, b| {
            seconds(a.1.get("cached_at"))
                .cmp(&seconds(b.1.get("cached_at")))
                .then_with(|| b.0.cmp(a.0))
        })
        .map(|(k, _)| k.clone())
}

/// The refresh-token lookup, by reading every entry of the JSON.
fn model_refresh_tokens(doc: &Value, q: &RefreshTokenQuery<'_>) -> Vec<String> {
    let family_of = |e: &Value| match e.get("family_id") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let mut family = Vec::new();
    let mut own = Vec::new();
    for (k, e) in doc["RefreshToken"].as_object().unwrap() {
        if lower(e.get("home_account_id")) != q.home_account_id.to_lowercase()
            || !q
                .environments
                .iter()
                .any(|env| env.to_lowercase() == lower(e.get("environment")))
        {
            continue;
        }
        let entry = (seconds(e.get("last_modification_time")), k.clone());
        if q.family_id.is_some() && family_of(e).as_deref() == q.family_id {
            family.push(entry);
        } else if lower(e.get("client_id")) == q.client_id.to_lowercase() {
            own.push(entry);
        }
    }
    for group in [&mut family, &mut own] {
        group.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    }
    family.into_iter().chain(own).map(|(_, k)| k).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn serialize_is_a_fixed_point_that_keeps_the_document(doc in document()) {
        let cache = TokenCache::new();
        cache.deserialize(&doc.to_string()).unwrap();
        let first = cache.serialize().unwrap();
        prop_assert_eq!(serde_json::from_str::<Value>(&first).unwrap(), doc);
        let again = TokenCache::new();
        again.deserialize(&first).unwrap();
        prop_assert_eq!(again.serialize().unwrap(), first);
    }

    #[test]
    fn lookups_agree_with_a_linear_scan(doc in document(), now in 0u64..3000) {
        let cache = TokenCache::new();
        cache.deserialize(&doc.to_string()).unwrap();
        let env_lists: [Vec<String>; 3] = [
            vec![ENVS[0].to_owned()],
            vec!["LOGIN.WINDOWS.NET".to_owned()],
            ENVS.iter().map(|e| e.to_string()).collect(),
        ];
        let scope_lists: [Vec<String>; 4] = [
            vec![],
            vec!["a".to_owned()],
            vec!["B".to_owned(), "c".to_owned()],
            vec!["user.read".to_owned()],
        ];
        for envs in &env_lists {
            for client in ["client-a", "client-b"] {
                for home in [None, Some("u1.t"), Some("U2.T")] {
                    for realm in [None, Some("t1"), Some("T2")] {
                        for scopes in &scope_lists {
                            let mut q = AccessTokenQuery::new(client, envs, scopes);
                            q.home_account_id = home;
                            q.realm = realm;
                            let fast = cache.find_access_token(&q, now).map(|t| t.key);
                            prop_assert_eq!(fast, model_access_token(&doc, &q, now), "{:?}", q);
                        }
                    }
                    let Some(home) = home else { continue };
                    for family in [None, Some("1")] {
                        let mut q = RefreshTokenQuery::new(home, envs, client);
                        q.family_id = family;
                        let fast: Vec<String> = cache.find_refresh_tokens(&q).into_iter().map(|t| t.key).collect();
                        prop_assert_eq!(fast, model_refresh_tokens(&doc, &q), "{:?}", q);
                    }
                }
            }
        }
    }
}
