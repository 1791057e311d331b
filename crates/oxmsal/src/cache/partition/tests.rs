//! Partitions in and out: union merges, newer-wins, exports, removal edits,
//! and fields and sections oxmsal does not know surviving all of them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{json, Value};

use super::*;
use crate::error::ErrorKind;

const ENV: &str = "login.microsoftonline.com";

fn at(
    home: Option<&str>,
    client: &str,
    realm: &str,
    target: &str,
    cached_at: u64,
) -> (String, Value) {
    let key = crate::cache::keys::access_token(home, ENV, client, realm, target, None);
    let entry = json!({
        "credential_type": "AccessToken", "secret": format!("at-{client}-{target}-{cached_at}"),
        "home_account_id": home, "environment": ENV, "client_id": client, "target": target,
        "realm": realm, "token_type": "Bearer", "cached_at": cached_at.to_string(),
        "expires_on": (cached_at + 3600).to_string(), "extended_expires_on": (cached_at + 3600).to_string(),
    });
    (key, entry)
}

fn obo_at(home: &str, client: &str, hash: &str) -> (String, Value) {
    let key = crate::cache::keys::access_token(Some(home), ENV, client, "t", "s", Some(hash));
    let entry = json!({
        "credential_type": "AccessToken", "secret": "obo", "home_account_id": home,
        "environment": ENV, "client_id": client, "target": "s", "realm": "t",
        "cached_at": "100", "expires_on": "9999999999", "ext_cache_key": hash,
    });
    (key, entry)
}

fn rt(home: &str, client: &str, secret: &str, modified: u64) -> (String, Value) {
    let key = crate::cache::keys::refresh_token(Some(home), ENV, client, "s");
    let entry = json!({
        "credential_type": "RefreshToken", "secret": secret, "home_account_id": home,
        "environment": ENV, "client_id": client, "target": "s",
        "last_modification_time": modified.to_string(),
    });
    (key, entry)
}

fn user(home: &str, client: &str) -> Vec<(&'static str, String, Value)> {
    let (at_key, at_entry) = at(Some(home), client, "t", "user.read", 100);
    let (rt_key, rt_entry) = rt(home, client, "rt", 100);
    let idt_key = crate::cache::keys::id_token(Some(home), ENV, client, "t");
    let acc_key = crate::cache::keys::account(home, ENV, "t");
    vec![
        ("AccessToken", at_key, at_entry),
        ("RefreshToken", rt_key, rt_entry),
        (
            "IdToken",
            idt_key,
            json!({"credential_type": "IdToken", "secret": "x.y.z",
            "home_account_id": home, "environment": ENV, "realm": "t", "client_id": client}),
        ),
        (
            "Account",
            acc_key,
            json!({"home_account_id": home, "environment": ENV, "realm": "t",
            "username": format!("{home}@contoso"), "authority_type": "MSSTS"}),
        ),
    ]
}

fn app_metadata(client: &str) -> (&'static str, String, Value) {
    (
        "AppMetadata",
        crate::cache::keys::app_metadata(ENV, client),
        json!({"client_id": client, "environment": ENV}),
    )
}

fn doc(entries: &[(&str, String, Value)]) -> String {
    let mut root = json!({"AccessToken": {}, "RefreshToken": {}, "IdToken": {}, "Account": {}, "AppMetadata": {}});
    for (section, key, entry) in entries {
        root[*section][key] = entry.clone();
    }
    root.to_string()
}

fn parsed(json: &str) -> Value {
    serde_json::from_str(json).unwrap()
}

fn keys(json: &str, section: &str) -> Vec<String> {
    let mut keys: Vec<String> = parsed(json)[section]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

#[test]
fn merge_documents_is_a_union_keeping_what_it_does_not_know() {
    let (k1, mut e1) = at(None, "c", "t", "a", 100);
    e1["future_field"] = json!({"nested": [1, 2]});
    let mut stored = parsed(&doc(&[("AccessToken", k1.clone(), e1)]));
    stored["FutureSection"] = json!({"k": "v"});
    let (k2, e2) = at(None, "c", "t", "b", 100);
    let merged = merge_documents(
        Some(&stored.to_string()),
        &doc(&[("AccessToken", k2.clone(), e2)]),
    )
    .unwrap();
    let value = parsed(&merged);
    assert_eq!(keys(&merged, "AccessToken"), {
        let mut v = vec![k1.clone(), k2];
        v.sort();
        v
    });
    assert_eq!(
        value["AccessToken"][&k1]["future_field"],
        json!({"nested": [1, 2]})
    );
    assert_eq!(value["FutureSection"], json!({"k": "v"}));

    // Nothing stored yet: ours as is.
    let ours = doc(&[app_metadata("c")]);
    assert_eq!(
        keys(&merge_documents(None, &ours).unwrap(), "AppMetadata").len(),
        1
    );
}

#[test]
fn merge_documents_prefers_the_newer_token_else_ours() {
    let (key, old) = at(None, "c", "t", "a", 100);
    let (_, new) = at(None, "c", "t", "a", 200);
    let secret = |json: &str| parsed(json)["AccessToken"][&key]["secret"].clone();

    // Ours is older: the stored one stays.
    let merged = merge_documents(
        Some(&doc(&[("AccessToken", key.clone(), new.clone())])),
        &doc(&[("AccessToken", key.clone(), old.clone())]),
    )
    .unwrap();
    assert_eq!(secret(&merged), new["secret"]);
    // Ours is newer: ours.
    let merged = merge_documents(
        Some(&doc(&[("AccessToken", key.clone(), old.clone())])),
        &doc(&[("AccessToken", key.clone(), new.clone())]),
    )
    .unwrap();
    assert_eq!(secret(&merged), new["secret"]);
    // A tie: ours.
    let (_, mut same_time) = at(None, "c", "t", "a", 100);
    same_time["secret"] = json!("ours");
    let merged = merge_documents(
        Some(&doc(&[("AccessToken", key.clone(), old)])),
        &doc(&[("AccessToken", key.clone(), same_time)]),
    )
    .unwrap();
    assert_eq!(secret(&merged), json!("ours"));

    // Refresh tokens by last_modification_time (a rotation elsewhere is kept).
    let (rt_key, rotated) = rt("u.t", "c", "rotated", 300);
    let (_, stale) = rt("u.t", "c", "stale", 200);
    let merged = merge_documents(
        Some(&doc(&[("RefreshToken", rt_key.clone(), rotated)])),
        &doc(&[("RefreshToken", rt_key.clone(), stale)]),
    )
    .unwrap();
    assert_eq!(
        parsed(&merged)["RefreshToken"][&rt_key]["secret"],
        "rotated"
    );
}

#[test]
fn merge_documents_refuses_a_malformed_document() {
    let ours = doc(&[app_metadata("c")]);
    for bad in [
        "{",
        "[]",
        r#"{"AccessToken": 5}"#,
        r#"{"AccessToken": {"k": {"cached_at": "soon"}}}"#,
    ] {
        let err = merge_documents(Some(bad), &ours).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Cache, "{bad}");
        assert_eq!(
            merge_documents(None, bad).unwrap_err().kind(),
            ErrorKind::Cache
        );
    }
}

#[test]
fn export_partition_cuts_out_one_slice() {
    let mut entries = user("alice.t", "web");
    entries.extend(user("bob.t", "web"));
    let (app_key, app_at) = at(None, "daemon", "t", "api://x/.default", 100);
    let (other_realm_key, other_realm) = at(None, "daemon", "t2", "api://x/.default", 100);
    let (other_app_key, other_app) = at(None, "other", "t", "api://x/.default", 100);
    let (obo_key, obo) = obo_at("carol.t", "web", "HashOfAssertion");
    entries.extend([
        ("AccessToken", app_key.clone(), app_at),
        ("AccessToken", other_realm_key, other_realm),
        ("AccessToken", other_app_key, other_app),
        ("AccessToken", obo_key.clone(), obo),
        app_metadata("daemon"),
        app_metadata("web"),
        app_metadata("other"),
    ]);
    entries.extend(
        user("carol.t", "web")
            .into_iter()
            .filter(|(s, _, _)| *s != "AccessToken"),
    );
    let cache = TokenCache::new();
    cache.deserialize(&doc(&entries)).unwrap();

    let app = cache
        .export_partition(&PartitionKey::App {
            client_id: "DAEMON".into(),
            realm: "T".into(),
        })
        .unwrap();
    assert_eq!(keys(&app, "AccessToken"), vec![app_key]);
    assert_eq!(
        keys(&app, "AppMetadata"),
        vec![format!("appmetadata-{ENV}-daemon")]
    );
    assert!(keys(&app, "Account").is_empty());

    let alice = cache
        .export_partition(&PartitionKey::User {
            home_account_id: "alice.t".into(),
        })
        .unwrap();
    for section in ["AccessToken", "RefreshToken", "IdToken", "Account"] {
        let got = keys(&alice, section);
        assert_eq!(got.len(), 1, "{section}: {got:?}");
        assert!(got[0].starts_with("alice.t-"), "{section}: {got:?}");
    }
    assert_eq!(
        keys(&alice, "AppMetadata"),
        vec![format!("appmetadata-{ENV}-web")]
    );

    let obo = cache
        .export_partition(&PartitionKey::OnBehalfOf {
            assertion_hash: "HashOfAssertion".into(),
        })
        .unwrap();
    assert_eq!(keys(&obo, "AccessToken"), vec![obo_key]);
    for section in ["RefreshToken", "IdToken", "Account"] {
        let got = keys(&obo, section);
        assert_eq!(got.len(), 1, "{section}: {got:?}");
        assert!(got[0].starts_with("carol.t-"), "{section}: {got:?}");
    }

    let nobody = cache
        .export_partition(&PartitionKey::User {
            home_account_id: "nobody.t".into(),
        })
        .unwrap();
    assert!(TokenCache::new().merge_document(&nobody).is_ok());
    assert!(keys(&nobody, "AccessToken").is_empty() && keys(&nobody, "AppMetadata").is_empty());
}

#[test]
fn merge_document_inserts_replaces_and_keeps_the_indexes_exact() {
    let cache = TokenCache::new();
    let (k1, e1) = at(None, "c", "t", "a", 100);
    cache
        .deserialize(&doc(&[("AccessToken", k1.clone(), e1)]))
        .unwrap();
    assert!(!cache.has_state_changed());

    let (_, mut replaced) = at(None, "c", "t", "a", 150);
    replaced["secret"] = json!("replaced");
    let mut incoming = parsed(&doc(&user("alice.t", "c")));
    incoming["AccessToken"][&k1] = replaced;
    incoming["FutureSection"] = json!([1]);
    cache.merge_document(&incoming.to_string()).unwrap();

    assert!(!cache.has_state_changed(), "loading is not a change");
    assert_eq!(cache.access_token_count(), 2);
    assert_eq!(cache.accounts().len(), 1);
    cache.with_store(|s| s.check_consistency()).unwrap();
    let envs = vec![ENV.to_owned()];
    let scopes = vec!["a".to_owned()];
    let query = crate::cache::AccessTokenQuery::new("c", &envs, &scopes).in_realm("t");
    let hit = cache.find_access_token(&query, 200).unwrap();
    assert_eq!(hit.secret.expose_secret(), "replaced");
    assert!(cache.serialize().unwrap().contains("FutureSection"));

    // A malformed document changes nothing.
    let before = cache.serialize().unwrap();
    let err = cache
        .merge_document(r#"{"Account": {"k": []}}"#)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cache);
    assert_eq!(cache.serialize().unwrap(), before);

    // A cache with unsaved changes stays dirty.
    cache.clear();
    cache.merge_document(&before).unwrap();
    assert!(cache.has_state_changed());
}

#[test]
fn removal_edits_sign_an_account_out_of_a_stored_document() {
    let mut entries = user("alice.t", "web");
    entries.extend(
        user("alice.t", "cli")
            .into_iter()
            .filter(|(s, _, _)| *s == "RefreshToken"),
    );
    entries.extend(user("bob.t", "web"));
    let mut stored = parsed(&doc(&entries));
    stored["FutureSection"] = json!({"kept": true});
    let stored = stored.to_string();
    let cache = TokenCache::new();
    cache.deserialize(&stored).unwrap();
    let alice = cache.accounts_of("alice.t").remove(0);

    // Of one client: the other client's refresh token stays.
    let after = remove_account_from_document(Some(&stored), &alice, Some("web")).unwrap();
    assert_eq!(parsed(&after)["FutureSection"], json!({"kept": true}));
    let rts = keys(&after, "RefreshToken");
    assert!(
        rts.iter()
            .any(|k| k.starts_with("alice.t-") && k.contains("-cli-")),
        "{rts:?}"
    );
    assert!(!keys(&after, "Account")
        .iter()
        .any(|k| k.starts_with("alice.t-")));
    assert!(keys(&after, "Account")
        .iter()
        .any(|k| k.starts_with("bob.t-")));

    // Of every client.
    let after = remove_account_from_document(Some(&stored), &alice, None).unwrap();
    for section in ["AccessToken", "RefreshToken", "IdToken", "Account"] {
        assert!(
            !keys(&after, section)
                .iter()
                .any(|k| k.starts_with("alice.t-")),
            "{section}"
        );
        assert!(
            keys(&after, section)
                .iter()
                .any(|k| k.starts_with("bob.t-")),
            "{section}"
        );
    }

    // Nothing stored: an empty document; a malformed one: an error.
    assert!(keys(
        &remove_account_from_document(None, &alice, None).unwrap(),
        "Account"
    )
    .is_empty());
    assert_eq!(
        remove_account_from_document(Some("nope"), &alice, None)
            .unwrap_err()
            .kind(),
        ErrorKind::Cache
    );
}

#[test]
fn replace_partition_drops_what_the_store_no_longer_has_unless_a_write_is_in_flight() {
    let (alice, bob) = ("alice.t", "bob.t");
    let mut both = user(alice, "c");
    both.extend(user(bob, "c"));
    both.push(app_metadata("c"));
    let alice_partition = PartitionKey::User {
        home_account_id: alice.into(),
    };
    // The store lost alice (signed out elsewhere) and kept bob.
    let stored = doc(&user(bob, "c"));

    let cache = TokenCache::new();
    cache.deserialize(&doc(&both)).unwrap();
    {
        // A token of this process on its way to the store: nothing is dropped.
        let _in_flight = cache.store_in_flight();
        cache
            .replace_partition(&alice_partition, &stored, None)
            .unwrap();
        assert_eq!(cache.account_count(), 2);
        cache.read_store(|store| store.check_consistency()).unwrap();
    }
    cache
        .replace_partition(&alice_partition, &stored, None)
        .unwrap();
    let left = cache.serialize().unwrap();
    for section in ["AccessToken", "RefreshToken", "IdToken", "Account"] {
        let keys = keys(&left, section);
        assert_eq!(keys.len(), 1, "{section}: {keys:?}");
        assert!(keys[0].starts_with(bob), "{section}: {keys:?}");
    }
    assert_eq!(keys(&left, "AppMetadata").len(), 1, "shared, kept");
    cache.read_store(|store| store.check_consistency()).unwrap();
    assert!(cache
        .replace_partition(&alice_partition, "[", None)
        .is_err());
    assert_eq!(cache.account_count(), 1, "a bad document changes nothing");
}
