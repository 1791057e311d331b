//! Behaviour of the cache as the flows use it: saving responses, lookups,
//! replacement, sign-out, the document format, and a property test that the
//! indexes stay exact and agree with a linear scan through random operations.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::*;
use crate::error::ErrorKind;

impl TokenCache {
    /// Removes the refresh token stored under `key` (the tests' way to make one
    /// go; the flows keep a refused refresh token, as MSAL does).
    pub(crate) fn remove_refresh_token(&self, key: &str) -> bool {
        let mut state = self.write();
        let removed = state.store.refresh_tokens.remove(key).is_some();
        if removed {
            state.changed();
        }
        removed
    }

    /// Runs `f` on the store, for tests that look inside.
    pub(super) fn with_store<T>(&self, f: impl FnOnce(&Store) -> T) -> T {
        f(&self.read().store)
    }
}

const ENV: &str = "login.microsoftonline.com";
const CLIENT: &str = "client-a";

fn envs() -> Vec<String> {
    vec![ENV.to_owned()]
}

fn strings(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| (*s).to_owned()).collect()
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

fn id_token(claims: Value) -> String {
    format!("{}.{}.sig", b64(&json!({"alg": "none"})), b64(&claims))
}

fn client_info(uid: &str, utid: &str) -> String {
    b64(&json!({"uid": uid, "utid": utid}))
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

fn record<'a>(
    realm: &'a str,
    requested: &'a [String],
    response: &'a Map<String, Value>,
    now: u64,
) -> TokenRecord<'a> {
    TokenRecord {
        client_id: CLIENT,
        environment: ENV,
        realm,
        requested_scopes: requested,
        response,
        now,
        authority_type: "MSSTS",
        account_source: None,
        ext_cache_key: None,
        home_account_id: None,
    }
}

fn user_response(uid: &str, scope: &str, at: &str, rt: &str) -> Map<String, Value> {
    object(json!({
        "token_type": "Bearer", "scope": scope, "expires_in": 3599, "ext_expires_in": 3599,
        "access_token": at, "refresh_token": rt,
        "id_token": id_token(json!({"oid": format!("oid-{uid}"), "sub": "sub", "tid": "tenant",
                                    "preferred_username": format!("{uid}@contoso.com")})),
        "client_info": client_info(uid, "tenant"),
    }))
}

fn app_query<'a>(envs: &'a [String], scopes: &'a [String], realm: &'a str) -> AccessTokenQuery<'a> {
    AccessTokenQuery::new(CLIENT, envs, scopes).in_realm(realm)
}

fn document(cache: &TokenCache) -> Value {
    serde_json::from_str(&cache.serialize().unwrap()).unwrap()
}

#[test]
fn client_credentials_response_is_stored_as_msal_python_writes_it() {
    let cache = TokenCache::new();
    let response = object(
        json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                                 "access_token": "at-1"}),
    );
    let requested = strings(&["https://graph.microsoft.com/.default"]);
    let saved = cache
        .save_token_response(&record("Contoso", &requested, &response, 1_700_000_000))
        .unwrap();
    assert!(saved.account.is_none());
    assert_eq!(saved.access_token.expires_on, 1_700_003_599);

    let doc = document(&cache);
    let key = "-login.microsoftonline.com-accesstoken-client-a-contoso-https://graph.microsoft.com/.default";
    assert_eq!(
        doc["AccessToken"][key],
        json!({
            "credential_type": "AccessToken", "secret": "at-1", "home_account_id": null,
            "environment": ENV, "client_id": CLIENT,
            "target": "https://graph.microsoft.com/.default", "realm": "Contoso",
            "token_type": "Bearer", "cached_at": "1700000000", "expires_on": "1700003599",
            "extended_expires_on": "1700003599"
        })
    );
    // Field order is MSAL Python's too.
    let fields: Vec<&String> = doc["AccessToken"][key]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        fields[..3],
        ["credential_type", "secret", "home_account_id"]
    );
    assert_eq!(
        doc["AppMetadata"]["appmetadata-login.microsoftonline.com-client-a"],
        json!({"client_id": CLIENT, "environment": ENV})
    );
    assert_eq!(
        (
            cache.refresh_token_count(),
            cache.account_count(),
            cache.id_token_count()
        ),
        (0, 0, 0)
    );

    let envs = envs();
    let hit = cache
        .find_access_token(&app_query(&envs, &requested, "contoso"), 1_700_000_000)
        .unwrap();
    assert_eq!(hit.secret.expose_secret(), "at-1");
    assert_eq!(hit.key, key);
}

#[test]
fn user_response_makes_account_id_token_refresh_token_and_family_metadata() {
    let cache = TokenCache::new();
    let mut response = user_response("uid", "User.Read openid profile", "at", "rt");
    response.insert("foci".into(), json!("1"));
    response.insert("refresh_in".into(), json!("1800"));
    let requested = strings(&["User.Read"]);
    let mut rec = record("tenant", &requested, &response, 1000);
    rec.account_source = Some("authorization_code");
    let saved = cache.save_token_response(&rec).unwrap();
    let account = saved.account.clone().unwrap();
    assert_eq!(account.home_account_id, "uid.tenant");
    assert_eq!(account.local_account_id.as_deref(), Some("oid-uid"));
    assert_eq!(account.username, "uid@contoso.com");
    assert_eq!(saved.id_token_claims.unwrap()["tid"], "tenant");
    assert_eq!(saved.access_token.refresh_on, Some(2800));

    let doc = document(&cache);
    assert_eq!(
        doc["Account"]["uid.tenant-login.microsoftonline.com-tenant"],
        json!({"home_account_id": "uid.tenant", "environment": ENV, "realm": "tenant",
               "local_account_id": "oid-uid", "username": "uid@contoso.com",
               "authority_type": "MSSTS", "account_source": "authorization_code"})
    );
    let rt = &doc["RefreshToken"]
        ["uid.tenant-login.microsoftonline.com-refreshtoken-client-a--user.read openid profile"];
    assert_eq!(rt["secret"], "rt");
    assert_eq!(rt["family_id"], "1");
    assert_eq!(rt["target"], "User.Read openid profile");
    assert_eq!(rt["last_modification_time"], "1000");
    let idt = &doc["IdToken"]["uid.tenant-login.microsoftonline.com-idtoken-client-a-tenant-"];
    assert_eq!(idt["credential_type"], "IdToken");
    assert_eq!(idt["realm"], "tenant");
    let at = &doc["AccessToken"]["uid.tenant-login.microsoftonline.com-accesstoken-client-a-tenant-user.read openid profile"];
    assert_eq!(at["refresh_on"], "2800");
    assert_eq!(
        doc["AppMetadata"]["appmetadata-login.microsoftonline.com-client-a"]["family_id"],
        "1"
    );

    assert_eq!(cache.accounts(), vec![account.clone()]);
    assert_eq!(cache.accounts_of("UID.TENANT"), vec![account]);
    let envs = envs();
    let idt = cache
        .find_id_token("uid.tenant", &envs, CLIENT, Some("tenant"))
        .unwrap();
    assert_eq!(idt.claims.unwrap()["oid"], "oid-uid");
    assert_eq!(
        cache
            .find_app_metadata(&envs, CLIENT)
            .unwrap()
            .family_id
            .as_deref(),
        Some("1")
    );
}

#[test]
fn without_client_info_the_home_account_is_the_id_tokens_sub() {
    let cache = TokenCache::new();
    let response = object(json!({"access_token": "at", "expires_in": "3600",
        "id_token": id_token(json!({"sub": "alice-sub", "upn": "alice@adfs"}))}));
    let requested = strings(&["openid", "api"]);
    let mut rec = record("adfs", &requested, &response, 0);
    rec.authority_type = "ADFS";
    cache.save_token_response(&rec).unwrap();
    let account = cache.accounts().remove(0);
    assert_eq!(account.home_account_id, "alice-sub");
    assert_eq!(account.local_account_id.as_deref(), Some("alice-sub"));
    assert_eq!(account.username, "alice@adfs");
    assert_eq!(account.authority_type, "ADFS");
    let doc = document(&cache);
    // No `scope` in the response: the requested scopes, sorted.
    assert!(doc["AccessToken"]
        .get("alice-sub-login.microsoftonline.com-accesstoken-client-a-adfs-api openid")
        .is_some());
}

#[test]
fn expiry_boundary_is_five_minutes() {
    let cache = TokenCache::new();
    let response = object(json!({"access_token": "at", "expires_in": 3600}));
    let requested = strings(&["s"]);
    cache
        .save_token_response(&record("t", &requested, &response, 0))
        .unwrap();
    let envs = envs();
    let q = app_query(&envs, &requested, "t");
    assert!(cache.find_access_token(&q, 3300).is_some(), "300 s left");
    assert!(cache.find_access_token(&q, 3301).is_none(), "299 s left");
    assert!(cache.find_access_token(&q, 9999).is_none(), "expired");
}

#[test]
fn scopes_match_as_a_case_insensitive_subset() {
    let cache = TokenCache::new();
    let response = user_response("u", "User.Read Mail.Read openid", "at", "rt");
    cache
        .save_token_response(&record("t", &[], &response, 0))
        .unwrap();
    let envs = envs();
    let find = |scopes: &[&str], realm: Option<&str>| {
        let scopes = strings(scopes);
        let mut q = AccessTokenQuery::new(CLIENT, &envs, &scopes).for_account("U.TENANT");
        q.realm = realm;
        cache.find_access_token(&q, 0).is_some()
    };
    assert!(find(&["user.read"], Some("t")));
    assert!(find(&["MAIL.READ", "User.Read"], Some("T")));
    assert!(find(&["User.Read"], None), "no realm: any realm");
    assert!(!find(&["User.Read", "Files.Read"], Some("t")));
    assert!(!find(&[], Some("t")), "an empty request never matches");
    assert!(!find(&["User.Read"], Some("other")));

    // An alias list finds the token under any host.
    let aliases = strings(&["login.windows.net", ENV]);
    let scopes = strings(&["User.Read"]);
    let q = AccessTokenQuery::new(CLIENT, &aliases, &scopes).for_account("u.tenant");
    assert!(cache.find_access_token(&q, 0).is_some());
}

#[test]
fn a_new_token_replaces_those_whose_scopes_overlap() {
    let cache = TokenCache::new();
    let save = |scope: &str, at: &str, now: u64| {
        let response = object(json!({"access_token": at, "expires_in": 3600, "scope": scope}));
        cache
            .save_token_response(&record("t", &[], &response, now))
            .unwrap();
    };
    save("a b", "at-ab", 0);
    save("c", "at-c", 0);
    assert_eq!(cache.access_token_count(), 2);
    save("b d", "at-bd", 10); // overlaps "a b": that one goes, "c" stays
    assert_eq!(cache.access_token_count(), 2);
    let envs = envs();
    let scopes = strings(&["a"]);
    assert!(cache
        .find_access_token(&app_query(&envs, &scopes, "t"), 10)
        .is_none());
    let scopes = strings(&["b"]);
    let hit = cache
        .find_access_token(&app_query(&envs, &scopes, "t"), 10)
        .unwrap();
    assert_eq!(hit.secret.expose_secret(), "at-bd");
    // The same key is overwritten.
    save("b d", "at-bd-2", 20);
    let hit = cache
        .find_access_token(&app_query(&envs, &scopes, "t"), 20)
        .unwrap();
    assert_eq!(hit.secret.expose_secret(), "at-bd-2");
    // Expired tokens in the bucket are dropped when a new one arrives.
    save("x", "at-x", 10_000);
    assert_eq!(cache.access_token_count(), 1);
    // Another tenant is another bucket.
    let response = object(json!({"access_token": "other", "expires_in": 3600, "scope": "x"}));
    cache
        .save_token_response(&record("t2", &[], &response, 10_000))
        .unwrap();
    assert_eq!(cache.access_token_count(), 2);
    cache.with_store(|s| s.check_consistency()).unwrap();
}

#[test]
fn a_load_makes_the_indexes_on_its_first_lookup_and_a_merge_never() {
    let written = TokenCache::new();
    for realm in ["t1", "t2"] {
        let response = object(json!({"access_token": format!("at-{realm}"), "expires_in": 3600}));
        written
            .save_token_response(&record(realm, &strings(&["s"]), &response, 0))
            .unwrap();
    }
    let doc = written.serialize().unwrap();

    let cache = TokenCache::new();
    cache.deserialize(&doc).unwrap();
    assert!(!cache.with_store(store::Store::has_index));
    let (envs, scopes) = (envs(), strings(&["s"]));
    let hit = cache
        .find_access_token(&app_query(&envs, &scopes, "T2"), 0)
        .unwrap();
    assert_eq!(hit.secret.expose_secret(), "at-t2");
    assert!(cache.with_store(store::Store::has_index));
    // Kept in step from then on.
    let response = object(json!({"access_token": "at-t3", "expires_in": 3600}));
    cache
        .save_token_response(&record("t3", &strings(&["s"]), &response, 0))
        .unwrap();
    cache.with_store(|s| s.check_consistency()).unwrap();

    // Read, merge, write: the stored side is never looked up.
    let mut stored = codec::parse(&doc).unwrap();
    stored.merge(
        codec::parse(&cache.serialize().unwrap()).unwrap(),
        store::MergeRule::NewerWins,
    );
    assert!(!stored.has_index());
    assert_eq!(stored.access_tokens().len(), 3);
    stored.check_consistency().unwrap();
}

#[test]
fn extended_keys_keep_tokens_apart() {
    let cache = TokenCache::new();
    let requested = strings(&["s"]);
    let plain = object(json!({"access_token": "plain", "expires_in": 3600}));
    cache
        .save_token_response(&record("t", &requested, &plain, 0))
        .unwrap();
    let ext = object(json!({"access_token": "ext", "expires_in": 3600}));
    let mut rec = record("t", &requested, &ext, 0);
    rec.ext_cache_key = Some("K1");
    cache.save_token_response(&rec).unwrap();
    assert_eq!(cache.access_token_count(), 2);
    let doc = document(&cache);
    assert_eq!(
        doc["AccessToken"]["-login.microsoftonline.com-atext-client-a-t-s-k1"]["ext_cache_key"],
        "K1"
    );
    let envs = envs();
    let q = app_query(&envs, &requested, "t");
    assert_eq!(
        cache
            .find_access_token(&q, 0)
            .unwrap()
            .secret
            .expose_secret(),
        "plain"
    );
    let q = q.with_ext_cache_key("k1");
    assert_eq!(
        cache
            .find_access_token(&q, 0)
            .unwrap()
            .secret
            .expose_secret(),
        "ext"
    );
}

#[test]
fn refresh_tokens_newest_first_family_first_and_rotation() {
    let cache = TokenCache::new();
    let doc = json!({"RefreshToken": {
        "old": {"credential_type": "RefreshToken", "secret": "own-old", "home_account_id": "u.t",
                "environment": ENV, "client_id": CLIENT, "target": "a", "last_modification_time": "10"},
        "new": {"credential_type": "RefreshToken", "secret": "own-new", "home_account_id": "u.t",
                "environment": ENV, "client_id": CLIENT, "target": "b", "last_modification_time": 20},
        "fam": {"credential_type": "RefreshToken", "secret": "family", "home_account_id": "u.t",
                "environment": ENV, "client_id": "client-b", "target": "c", "family_id": "1",
                "last_modification_time": "5"},
        "other-client": {"credential_type": "RefreshToken", "secret": "b-own", "home_account_id": "u.t",
                "environment": ENV, "client_id": "client-b", "target": "d"},
        "other-user": {"credential_type": "RefreshToken", "secret": "x", "home_account_id": "v.t",
                "environment": ENV, "client_id": CLIENT, "target": "a"},
        "no-secret": {"credential_type": "RefreshToken", "home_account_id": "u.t",
                "environment": ENV, "client_id": CLIENT, "target": "z"}
    }});
    cache.deserialize(&doc.to_string()).unwrap();
    let envs = envs();
    let secrets = |q: RefreshTokenQuery<'_>| -> Vec<String> {
        cache
            .find_refresh_tokens(&q)
            .iter()
            .map(|r| r.secret.expose_secret().to_owned())
            .collect()
    };
    assert_eq!(
        secrets(RefreshTokenQuery::new("u.t", &envs, CLIENT)),
        ["own-new", "own-old"]
    );
    assert_eq!(
        secrets(RefreshTokenQuery::new("U.T", &envs, CLIENT).with_family("1")),
        ["family", "own-new", "own-old"]
    );

    assert!(cache.update_refresh_token("old", "rotated", 30));
    assert!(!cache.update_refresh_token("missing", "x", 30));
    assert_eq!(
        secrets(RefreshTokenQuery::new("u.t", &envs, CLIENT)),
        ["rotated", "own-new"]
    );
    assert_eq!(
        document(&cache)["RefreshToken"]["old"]["last_modification_time"],
        "30"
    );
    assert!(cache.remove_refresh_token("new"));
    assert!(!cache.remove_refresh_token("new"));
    assert_eq!(
        secrets(RefreshTokenQuery::new("u.t", &envs, CLIENT)),
        ["rotated"]
    );
    cache.with_store(|s| s.check_consistency()).unwrap();
}

#[test]
fn a_new_refresh_token_replaces_one_with_the_same_key() {
    let cache = TokenCache::new();
    for (rt, now) in [("rt-1", 1), ("rt-2", 2)] {
        let response = user_response("u", "s", "at", rt);
        cache
            .save_token_response(&record("t", &[], &response, now))
            .unwrap();
    }
    assert_eq!(cache.refresh_token_count(), 1);
    let envs = envs();
    let found = cache.find_refresh_tokens(&RefreshTokenQuery::new("u.tenant", &envs, CLIENT));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].secret.expose_secret(), "rt-2");
    assert_eq!(found[0].last_modification_time, 2);
}

/// Adds `field: value` to every entry of `doc`'s user sections.
fn add_foreign_field(doc: &mut Value, field: &str, value: Value) {
    for section in ["AccessToken", "RefreshToken", "IdToken", "Account"] {
        for entry in doc[section].as_object_mut().unwrap().values_mut() {
            entry[field] = value.clone();
        }
    }
}

/// Asserts every user entry of `doc` holds `field: value`.
fn assert_foreign_field(doc: &Value, field: &str, value: &Value) {
    for section in ["AccessToken", "RefreshToken", "IdToken", "Account"] {
        let entries = doc[section].as_object().unwrap();
        assert_eq!(entries.len(), 1, "{section}: {doc}");
        for entry in entries.values() {
            assert_eq!(&entry[field], value, "{section}: {entry}");
        }
    }
}

#[test]
fn signing_in_again_keeps_the_fields_another_library_wrote() {
    let cache = TokenCache::new();
    let requested = strings(&["User.Read"]);
    let first = user_response("u", "User.Read", "at-1", "rt-1");
    cache
        .save_token_response(&record("tenant", &requested, &first, 1000))
        .unwrap();
    // Another MSAL's fields, and one oxmsal knows (the new response decides it).
    let mut doc = document(&cache);
    let profiles = json!({"tenant": {"is_home": true}});
    add_foreign_field(&mut doc, "tenantProfiles", profiles.clone());
    for entry in doc["AccessToken"].as_object_mut().unwrap().values_mut() {
        entry["refresh_on"] = json!("1100");
    }
    cache.deserialize(&doc.to_string()).unwrap();

    let again = user_response("u", "User.Read", "at-2", "rt-2");
    cache
        .save_token_response(&record("tenant", &requested, &again, 2000))
        .unwrap();
    let doc = document(&cache);
    assert_foreign_field(&doc, "tenantProfiles", &profiles);
    let at = doc["AccessToken"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap();
    assert_eq!(at["secret"], "at-2");
    assert!(
        at.get("refresh_on").is_none(),
        "the response's, not the old: {at}"
    );
    let rt = doc["RefreshToken"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap();
    assert_eq!(rt["secret"], "rt-2");
}

#[test]
fn a_merged_write_keeps_the_stored_entries_foreign_fields() {
    let ours = TokenCache::new();
    let requested = strings(&["User.Read"]);
    let old = user_response("u", "User.Read", "at-1", "rt-1");
    ours.save_token_response(&record("tenant", &requested, &old, 1000))
        .unwrap();
    let mut stored = document(&ours);
    add_foreign_field(&mut stored, "name", json!("Alice (another MSAL)"));

    let new = user_response("u", "User.Read", "at-2", "rt-2");
    ours.save_token_response(&record("tenant", &requested, &new, 2000))
        .unwrap();
    let merged =
        crate::cache::merge_documents(Some(&stored.to_string()), &ours.serialize().unwrap())
            .unwrap();
    let merged: Value = serde_json::from_str(&merged).unwrap();
    assert_foreign_field(&merged, "name", &json!("Alice (another MSAL)"));
    let rt = merged["RefreshToken"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap();
    assert_eq!(rt["secret"], "rt-2", "ours is newer");
}

#[test]
fn remove_account_takes_its_tokens_and_leaves_others() {
    let cache = TokenCache::new();
    let mut response = user_response("u", "s1", "at-u", "rt-u");
    response.insert("foci".into(), json!("1"));
    cache
        .save_token_response(&record("t", &[], &response, 0))
        .unwrap();
    cache
        .save_token_response(&record("t2", &[], &response, 0))
        .unwrap(); // second tenant
                   // (With `foci` again: a response without it rewrites the app metadata
                   // without a family, as MSAL Python does, and the sibling's token would stay.)
    let mut other = user_response("v", "s1", "at-v", "rt-v");
    other.insert("foci".into(), json!("1"));
    cache
        .save_token_response(&record("t", &[], &other, 0))
        .unwrap();
    // A family sibling's refresh token for the same user, and a non-family app's.
    let extra = json!({
        "sibling": {"credential_type": "RefreshToken", "secret": "sib", "home_account_id": "u.tenant",
                    "environment": ENV, "client_id": "client-b", "family_id": "1", "target": "x"},
        "stranger": {"credential_type": "RefreshToken", "secret": "str", "home_account_id": "u.tenant",
                     "environment": ENV, "client_id": "client-c", "target": "x"}});
    let mut doc = document(&cache);
    for (k, v) in extra.as_object().unwrap() {
        doc["RefreshToken"][k] = v.clone();
    }
    cache.deserialize(&doc.to_string()).unwrap();
    assert_eq!(
        (
            cache.access_token_count(),
            cache.refresh_token_count(),
            cache.id_token_count(),
            cache.account_count()
        ),
        (3, 4, 3, 3)
    );

    let account = cache.accounts_of("u.tenant").remove(0);
    // 2 ATs + own RT + sibling's family RT + 2 id tokens + 2 accounts.
    assert_eq!(cache.remove_account(&account, CLIENT), 8);
    assert_eq!(
        (
            cache.access_token_count(),
            cache.refresh_token_count(),
            cache.id_token_count(),
            cache.account_count()
        ),
        (1, 2, 1, 1)
    );
    let envs = envs();
    assert_eq!(
        cache.find_refresh_tokens(&RefreshTokenQuery::new("u.tenant", &envs, "client-c"))[0]
            .secret
            .expose_secret(),
        "str"
    );
    assert_eq!(cache.accounts()[0].home_account_id, "v.tenant");
    assert_eq!(cache.remove_account(&account, CLIENT), 0);
    cache.with_store(|s| s.check_consistency()).unwrap();
}

#[test]
fn a_silent_refresh_does_not_resurrect_a_removed_account() {
    let cache = TokenCache::new();
    let response = user_response("u", "s", "at", "rt");
    let saved = cache
        .save_refreshed_token_response(&record("t", &[], &response, 0))
        .unwrap();
    assert_eq!(saved.account.unwrap().home_account_id, "u.tenant");
    assert_eq!(cache.account_count(), 0);
    assert_eq!(
        (cache.access_token_count(), cache.refresh_token_count()),
        (1, 1)
    );
}

#[test]
fn malformed_responses_are_invalid_response_errors_and_change_nothing() {
    let cache = TokenCache::new();
    let cases = [
        json!({"expires_in": 3600}),
        json!({"access_token": "", "expires_in": 3600}),
        json!({"access_token": 42, "expires_in": 3600}),
        json!({"access_token": "at", "expires_in": "soon"}),
        json!({"access_token": "at", "expires_in": -5}),
        json!({"access_token": "at", "expires_in": 3600, "ext_expires_in": [1]}),
        json!({"access_token": "at", "expires_in": 3600, "refresh_in": {}}),
        json!({"access_token": "at", "expires_in": 3600, "scope": 7}),
        json!({"access_token": "at", "expires_in": 3600, "id_token": "not-a-jwt"}),
        json!({"access_token": "at", "expires_in": 3600, "client_info": "%%%"}),
        json!({"access_token": "at", "expires_in": 3600, "client_info": b64(&json!([1]))}),
        json!({"access_token": "at", "expires_in": 3600, "foci": true}),
        json!({"access_token": "at", "expires_in": 3600, "refresh_token": 1}),
    ];
    let requested = strings(&["s"]);
    for case in cases {
        let response = object(case.clone());
        let err = cache
            .save_token_response(&record("t", &requested, &response, 0))
            .expect_err(&case.to_string());
        assert_eq!(err.kind(), ErrorKind::InvalidResponse, "{case}");
        assert!(!err.to_string().contains("\"at\""), "{err}");
    }
    assert_eq!(cache.access_token_count(), 0);
    assert!(!cache.has_state_changed());
}

#[test]
fn response_numbers_may_be_strings_and_defaults_apply() {
    let cache = TokenCache::new();
    let requested = strings(&["s"]);
    let response = object(
        json!({"access_token": "at", "expires_in": "3599", "ext_expires_in": "7200",
                                 "refresh_in": 100, "token_type": "pop"}),
    );
    let saved = cache
        .save_token_response(&record("t", &requested, &response, 10))
        .unwrap();
    let at = saved.access_token;
    assert_eq!(
        (at.expires_on, at.extended_expires_on, at.refresh_on),
        (3609, Some(7210), Some(110))
    );
    assert_eq!(at.token_type, "pop");
    // No expires_in: managed identity's absolute expires_on, else 600 s.
    let response = object(json!({"access_token": "at", "expires_on": "5000"}));
    let saved = cache
        .save_token_response(&record("t", &requested, &response, 10))
        .unwrap();
    assert_eq!(saved.access_token.expires_on, 5000);
    let response = object(json!({"access_token": "at"}));
    let saved = cache
        .save_token_response(&record("t", &requested, &response, 10))
        .unwrap();
    assert_eq!(saved.access_token.expires_on, 610);
    assert_eq!(saved.access_token.token_type, "Bearer");
}

#[test]
fn lifetimes_are_clamped_to_a_year() {
    let cache = TokenCache::new();
    let requested = strings(&["s"]);
    let year = response::MAX_LIFETIME_SECS;
    for huge in [json!(1e30), json!("1e30"), json!(u64::MAX), json!(year + 1)] {
        let response = object(json!({"access_token": "at", "expires_in": huge,
                                     "ext_expires_in": huge, "refresh_in": huge}));
        let at = cache
            .save_token_response(&record("t", &requested, &response, 1_000))
            .unwrap()
            .access_token;
        assert_eq!(
            (at.expires_on, at.extended_expires_on, at.refresh_on),
            (1_000 + year, Some(1_000 + year), Some(1_000 + year)),
            "{huge}"
        );
    }
    let response = object(json!({"access_token": "at", "expires_on": u64::MAX}));
    let at = cache
        .save_token_response(&record("t", &requested, &response, 1_000))
        .unwrap()
        .access_token;
    assert_eq!(at.expires_on, 1_000 + year);
    // A year exactly is kept as it is.
    let response = object(json!({"access_token": "at", "expires_in": year}));
    let at = cache
        .save_token_response(&record("t", &requested, &response, 0))
        .unwrap()
        .access_token;
    assert_eq!(at.expires_on, year);
}

#[test]
fn malformed_or_oversized_id_tokens_are_invalid_responses_and_save_nothing() {
    let requested = strings(&["s"]);
    let big_claims = json!({"sub": "s", "pad": "x".repeat(response::MAX_ID_TOKEN_BYTES)});
    for bad in [
        "not-a-jwt".to_owned(),
        "a.b.c".to_owned(),
        format!(
            "{}.{}.sig",
            b64(&json!({"alg": "none"})),
            URL_SAFE_NO_PAD.encode("not json")
        ),
        id_token(big_claims),
    ] {
        let cache = TokenCache::new();
        let response = object(json!({"access_token": "at", "refresh_token": "rt",
                                     "id_token": bad, "client_info": client_info("u", "t")}));
        let err = cache
            .save_token_response(&record("t", &requested, &response, 0))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidResponse, "{err}");
        assert!(err.to_string().contains("id_token"), "{err}");
        assert_eq!(cache.access_token_count(), 0);
        assert!(!cache.has_state_changed());
    }
    // Just under the cap is fine.
    let cache = TokenCache::new();
    let claims = json!({"sub": "s", "pad": "x".repeat(response::MAX_ID_TOKEN_BYTES / 2)});
    let response = object(json!({"access_token": "at", "id_token": id_token(claims)}));
    cache
        .save_token_response(&record("t", &requested, &response, 0))
        .unwrap();
}

#[test]
fn client_info_padding_is_optional() {
    let info = client_info("uid", "utid");
    for variant in [info.clone(), format!("{info}=="), info.replace('-', "+")] {
        let cache = TokenCache::new();
        let response = object(json!({"access_token": "at", "client_info": variant}));
        let saved = cache
            .save_token_response(&record("t", &strings(&["s"]), &response, 0))
            .unwrap();
        assert_eq!(saved.account.unwrap().home_account_id, "uid.utid");
    }
}

#[test]
fn unknown_sections_and_fields_survive_a_round_trip() {
    let original = json!({
        "AccessToken": {"k1": {"credential_type": "AccessToken", "secret": "s", "home_account_id": null,
            "environment": ENV, "client_id": CLIENT, "target": "a", "realm": "t", "cached_at": 1,
            "expires_on": "99999999999", "future_field": {"nested": [1, 2, null]}, "key_id": "kid"}},
        "RefreshToken": {"k2": {"secret": "r", "x-extra": true}},
        "IdToken": {"k3": {"secret": "i", "authority": "https://x"}},
        "Account": {"k4": {"home_account_id": "h", "client_info": "abc", "name": "Alice"}},
        "AppMetadata": {"k5": {"client_id": "c", "family_id": null, "new": 1}},
        "FutureSection": {"anything": ["goes", 1]},
        "AnotherOne": 7
    });
    let cache = TokenCache::new();
    cache.deserialize(&original.to_string()).unwrap();
    assert!(!cache.has_state_changed());
    let written = cache.serialize().unwrap();
    assert!(
        written.starts_with("{\n    \"AccessToken\""),
        "four-space indent"
    );
    assert_eq!(serde_json::from_str::<Value>(&written).unwrap(), original);
    // And a second round is byte-identical.
    let again = TokenCache::new();
    again.deserialize(&written).unwrap();
    assert_eq!(again.serialize().unwrap(), written);
}

#[test]
fn timestamps_may_be_numbers_or_strings() {
    let cache = TokenCache::new();
    let doc = json!({"AccessToken": {
        "a": {"secret": "num", "environment": ENV, "client_id": CLIENT, "realm": "t", "target": "x",
              "expires_on": 5000, "cached_at": 2},
        "b": {"secret": "str", "environment": ENV, "client_id": CLIENT, "realm": "t", "target": "y",
              "expires_on": "5000", "cached_at": "1"}}});
    cache.deserialize(&doc.to_string()).unwrap();
    let envs = envs();
    for (scope, secret) in [("x", "num"), ("y", "str")] {
        let scopes = strings(&[scope]);
        let hit = cache
            .find_access_token(&app_query(&envs, &scopes, "t"), 0)
            .unwrap();
        assert_eq!(hit.secret.expose_secret(), secret);
        assert_eq!(hit.expires_on, 5000);
    }
    // Written back as they came.
    assert_eq!(document(&cache)["AccessToken"]["a"]["expires_on"], 5000);
}

/// `count` MSAL-layout access tokens whose secrets start with `tag`.
fn tagged_tokens(tag: &str, count: usize) -> String {
    let entries: Vec<String> = (0..count)
        .map(|i| {
            format!(
                r#""k{i}": {{"credential_type": "AccessToken", "secret": "{tag}-{i:04}-{pad}", "home_account_id": "u.t", "environment": "{ENV}", "client_id": "{CLIENT}", "target": "s{i}", "realm": "t", "token_type": "Bearer", "cached_at": "1", "expires_on": "4000000000"}}"#,
                pad = "p".repeat(40)
            )
        })
        .collect();
    format!(r#"{{"AccessToken": {{{}}}}}"#, entries.join(", "))
}

/// Where the secret blocks of the cache's access tokens keep their bytes.
fn block_buffers(cache: &TokenCache) -> std::collections::HashSet<usize> {
    cache.with_store(|store| {
        store
            .access_tokens()
            .values()
            .filter_map(|entry| entry.raw.secret()?.block())
            .map(|block| block.as_ptr() as usize)
            .collect()
    })
}

/// A load over a loaded cache writes the new secrets where the old ones were
/// — except into a block a token handed out still points into: that token
/// keeps its value.
#[test]
fn a_load_reuses_the_secret_blocks_only_of_tokens_no_one_holds() {
    let cache = TokenCache::new();
    cache.deserialize(&tagged_tokens("old", 20)).unwrap();
    let held = cache.with_store(|s| s.access_tokens().get("k0").unwrap().raw.secret().cloned());
    let held = held.unwrap();
    let held_buffer = held.block().unwrap().as_ptr() as usize;
    let before = block_buffers(&cache);
    assert!(
        before.len() > 2,
        "the test wants several blocks: {before:?}"
    );

    cache.deserialize(&tagged_tokens("new", 20)).unwrap();
    assert_eq!(held.expose_secret(), format!("old-0000-{}", "p".repeat(40)));
    let after = block_buffers(&cache);
    assert!(!after.contains(&held_buffer));
    assert_eq!(
        after.intersection(&before).count(),
        before.len() - 1,
        "{before:?} {after:?}"
    );
    cache.with_store(|store| {
        for (key, entry) in store.access_tokens().iter() {
            let secret = entry.raw.secret().unwrap().expose_secret().to_owned();
            let i: usize = key.trim_start_matches('k').parse().unwrap();
            assert_eq!(secret, format!("new-{i:04}-{}", "p".repeat(40)));
        }
    });

    // Fewer, shorter secrets: the rest of each reused block is zeroed, and
    // the blocks not needed are dropped (wiped).
    cache
        .deserialize(
            r#"{"AccessToken": {"k": {"credential_type": "AccessToken", "secret": "short"}}}"#,
        )
        .unwrap();
    let remaining = block_buffers(&cache);
    assert_eq!(remaining.len(), 1);
    cache.with_store(|store| {
        let block = store
            .access_tokens()
            .get("k")
            .unwrap()
            .raw
            .secret()
            .unwrap()
            .block()
            .unwrap()
            .clone();
        assert!(block.starts_with("short"));
        // The old secrets' bytes are zeros now, not merely past the end.
        assert!(block.len() >= 2 * 49, "{}", block.len());
        assert!(block[5..].bytes().all(|b| b == 0), "{:?}", &block[..]);
    });
    // A document that does not load leaves the cache as it was.
    assert!(cache.deserialize("{\"AccessToken\": []}").is_err());
    assert_eq!(block_buffers(&cache), remaining);
}

/// Loads over loads while other threads read: every reader sees a whole
/// document — each token with its own secret, all from the same load — and
/// a secret a reader keeps across loads keeps its value.
#[test]
fn readers_never_see_a_load_half_done() {
    let docs = [tagged_tokens("aaa", 30), tagged_tokens("bbb", 30)];
    let cache = TokenCache::new();
    cache.deserialize(&docs[0]).unwrap();
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let readers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    let mut kept = Vec::new();
                    let mut reads = 0;
                    while !done.load(std::sync::atomic::Ordering::Relaxed) || reads == 0 {
                        let secrets: Vec<(String, Secret)> = cache.with_store(|store| {
                            store
                                .access_tokens()
                                .iter()
                                .map(|(key, e)| (key.to_owned(), e.raw.secret().cloned().unwrap()))
                                .collect()
                        });
                        assert_eq!(secrets.len(), 30);
                        let tag = &secrets[0].1.expose_secret()[..3];
                        for (key, secret) in &secrets {
                            let i: usize = key.trim_start_matches('k').parse().unwrap();
                            let want = format!("{tag}-{i:04}-{}", "p".repeat(40));
                            assert_eq!(secret.expose_secret(), want);
                        }
                        if reads % 7 == 0 {
                            let (_, secret) = secrets[reads % 30].clone();
                            let value = secret.expose_secret().to_owned();
                            kept.push((secret, value));
                        }
                        reads += 1;
                    }
                    for (secret, value) in kept {
                        assert_eq!(secret.expose_secret(), value);
                    }
                })
            })
            .collect();
        for round in 0..300 {
            cache.deserialize(&docs[round % 2]).unwrap();
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        for reader in readers {
            reader.join().unwrap();
        }
    });
}

#[test]
fn malformed_documents_are_cache_errors_naming_the_problem() {
    let cases: [(&str, &str); 10] = [
        ("{not json", "not JSON"),
        ("[1, 2]", "an array, not a JSON object"),
        ("\"text\"", "a string, not a JSON object"),
        (
            r#"{"AccessToken": []}"#,
            "`AccessToken` section is an array",
        ),
        (r#"{"Account": null}"#, "`Account` section is null"),
        (
            r#"{"RefreshToken": {"rt-key": "secret"}}"#,
            "`RefreshToken` entry `rt-key` is a string",
        ),
        (
            r#"{"AccessToken": {"at-key": {"expires_on": "tomorrow"}}}"#,
            "`AccessToken` entry `at-key`: `expires_on`",
        ),
        (
            r#"{"RefreshToken": {"r": {"last_modification_time": "x"}}}"#,
            "`last_modification_time`",
        ),
        (
            r#"{"IdToken": {"i": {"realm": 5}}}"#,
            "`IdToken` entry `i`: `realm` is a number",
        ),
        (
            r#"{"AppMetadata": {"m": {"family_id": []}}}"#,
            "`family_id` is an array",
        ),
    ];
    let cache = TokenCache::new();
    let good = json!({"AppMetadata": {"m": {"client_id": "c", "environment": "h"}}}).to_string();
    cache.deserialize(&good).unwrap();
    let before = cache.serialize().unwrap();
    for (doc, expected) in cases {
        let err = cache.deserialize(doc).expect_err(doc);
        assert_eq!(err.kind(), ErrorKind::Cache, "{doc}");
        assert!(err.to_string().contains(expected), "{doc}: {err}");
        assert_eq!(
            cache.serialize().unwrap(),
            before,
            "{doc} changed the cache"
        );
    }
    // A secret never reaches the message.
    let err = cache
        .deserialize(r#"{"AccessToken": {"k": {"secret": "TOPSECRET", "cached_at": "bad"}}}"#)
        .unwrap_err();
    assert!(!format!("{err} {err:?}").contains("TOPSECRET"));
    // Empty means empty, as in MSAL Python.
    cache.deserialize("  ").unwrap();
    assert_eq!(cache.app_metadata_count(), 0);
}

#[test]
fn dirty_flag_follows_changes() {
    let cache = TokenCache::new();
    assert!(!cache.has_state_changed());
    let response = object(json!({"access_token": "SECRET-AT"}));
    cache
        .save_token_response(&record("t", &strings(&["s"]), &response, 0))
        .unwrap();
    assert!(cache.has_state_changed());
    assert!(!format!("{cache:?}").contains("SECRET-AT"));
    let (_, generation) = cache.serialize_generation().unwrap();
    cache.mark_persisted_generation(generation);
    assert!(!cache.has_state_changed());
    cache.clear();
    assert!(cache.has_state_changed());
    cache.mark_persisted();
    assert!(!cache.has_state_changed());
}

#[test]
fn clones_share_one_cache_across_threads() {
    let cache = TokenCache::new();
    std::thread::scope(|s| {
        for t in 0..4 {
            let cache = cache.clone();
            s.spawn(move || {
                for i in 0..50 {
                    let response =
                        object(json!({"access_token": format!("at-{t}-{i}"), "expires_in": 3600}));
                    let realm = format!("tenant-{t}-{i}");
                    cache
                        .save_token_response(&record(&realm, &strings(&["s"]), &response, 0))
                        .unwrap();
                }
            });
        }
    });
    assert_eq!(cache.access_token_count(), 200);
    cache.with_store(|s| s.check_consistency()).unwrap();
}

mod properties {
    //! Random operation sequences: the indexes always equal a rebuild from the
    //! sections, and every lookup agrees with a linear scan.

    use super::*;
    use proptest::prelude::*;

    const HOMES: [&str; 3] = ["u1.t", "U2.t", "u3.t"];
    const REALMS: [&str; 3] = ["t1", "T2", "t3"];
    const SCOPES: [&str; 5] = ["a", "B", "c", "d", "e"];
    const ENVS: [&str; 2] = [ENV, "login.windows.net"];
    const CLIENTS: [&str; 2] = [CLIENT, "client-b"];

    #[derive(Debug, Clone)]
    enum Op {
        Save {
            home: Option<usize>,
            env: usize,
            client: usize,
            realm: usize,
            scopes: Vec<usize>,
            expires_in: u64,
            foci: bool,
            ext: bool,
            now: u64,
        },
        RemoveAccount {
            home: usize,
            env: usize,
            client: usize,
        },
        UpdateRt(usize),
        RemoveRt(usize),
        RoundTrip,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (
                proptest::option::of(0..HOMES.len()),
                0..ENVS.len(),
                0..CLIENTS.len(),
                0..REALMS.len(),
                proptest::collection::vec(0..SCOPES.len(), 1..3),
                0u64..2000,
                any::<bool>(),
                proptest::bool::weighted(0.2),
                0u64..1000,
            )
                .prop_map(|(home, env, client, realm, scopes, expires_in, foci, ext, now)| Op::Save {
                    home, env, client, realm, scopes, expires_in, foci, ext, now
                }),
            1 => (0..HOMES.len(), 0..ENVS.len(), 0..CLIENTS.len())
                .prop_map(|(home, env, client)| Op::RemoveAccount { home, env, client }),
            1 => (0usize..20).prop_map(Op::UpdateRt),
            1 => (0usize..20).prop_map(Op::RemoveRt),
            1 => Just(Op::RoundTrip),
        ]
    }

    fn apply(cache: &TokenCache, op: &Op) {
        match op {
            Op::Save {
                home,
                env,
                client,
                realm,
                scopes,
                expires_in,
                foci,
                ext,
                now,
            } => {
                let scope: Vec<&str> = scopes.iter().map(|i| SCOPES[*i]).collect();
                let mut response = object(json!({
                    "access_token": format!("at-{now}-{}", scope.join("")),
                    "expires_in": expires_in, "scope": scope.join(" "),
                }));
                if let Some(h) = home {
                    let (uid, utid) = HOMES[*h].split_once('.').unwrap();
                    response.insert("client_info".into(), json!(client_info(uid, utid)));
                    response.insert("refresh_token".into(), json!(format!("rt-{now}")));
                }
                if *foci {
                    response.insert("foci".into(), json!("1"));
                }
                let rec = TokenRecord {
                    client_id: CLIENTS[*client],
                    environment: ENVS[*env],
                    realm: REALMS[*realm],
                    requested_scopes: &[],
                    response: &response,
                    now: *now,
                    authority_type: "MSSTS",
                    account_source: None,
                    ext_cache_key: ext.then_some("ext"),
                    home_account_id: None,
                };
                cache.save_token_response(&rec).unwrap();
            }
            Op::RemoveAccount { home, env, client } => {
                if let Some(a) = cache
                    .accounts_of(HOMES[*home])
                    .into_iter()
                    .find(|a| a.environment == ENVS[*env])
                {
                    cache.remove_account(&a, CLIENTS[*client]);
                }
            }
            Op::UpdateRt(i) | Op::RemoveRt(i) => {
                let keys: Vec<String> = cache.with_store(|s| {
                    let mut k: Vec<String> = s
                        .refresh_tokens
                        .entries()
                        .keys()
                        .map(|k| k.to_string())
                        .collect();
                    k.sort();
                    k
                });
                if let Some(key) = keys.get(i % keys.len().max(1)) {
                    if matches!(op, Op::UpdateRt(_)) {
                        cache.update_refresh_token(key, "rotated", 500);
                    } else {
                        cache.remove_refresh_token(key);
                    }
                }
            }
            Op::RoundTrip => {
                let json = cache.serialize().unwrap();
                cache.deserialize(&json).unwrap();
                assert_eq!(cache.serialize().unwrap(), json);
            }
        }
    }

    /// The access-token lookup by linear scan over every entry.
    fn naive_at(store: &store::Store, q: &AccessTokenQuery<'_>, now: u64) -> Option<String> {
        let want = scopes::tests::normalized_request(q.scopes);
        let lower = |s: &str| s.to_lowercase();
        store
            .access_tokens()
            .iter()
            .filter(|(_, e)| {
                lower(e.home_account_id.as_deref().unwrap_or(""))
                    == lower(q.home_account_id.unwrap_or(""))
                    && q.environments
                        .iter()
                        .any(|env| lower(env) == lower(&e.shared.environment))
                    && lower(&e.shared.client_id) == lower(q.client_id)
                    && q.realm.is_none_or(|r| lower(r) == lower(&e.realm))
                    && lower(e.ext_cache_key.as_deref().unwrap_or(""))
                        == lower(q.ext_cache_key.unwrap_or(""))
                    && e.usable_at(now)
                    && scopes::tests::contains_all(&e.shared.scopes, &want)
            })
            .max_by(|a, b| a.1.cached_at.cmp(&b.1.cached_at).then_with(|| b.0.cmp(a.0)))
            .map(|(k, _)| k.to_string())
    }

    /// The refresh-token lookup by linear scan.
    fn naive_rt(store: &store::Store, q: &RefreshTokenQuery<'_>) -> Vec<String> {
        let lower = |s: &str| s.to_lowercase();
        let mut family = Vec::new();
        let mut own = Vec::new();
        for (k, e) in store.refresh_tokens.entries() {
            if lower(e.home_account_id.as_deref().unwrap_or("")) != lower(q.home_account_id)
                || !q
                    .environments
                    .iter()
                    .any(|env| lower(env) == lower(&e.environment))
                || e.raw.secret().is_none()
            {
                continue;
            }
            if q.family_id.is_some() && e.family_id.as_deref() == q.family_id {
                family.push((k, e));
            } else if lower(&e.client_id) == lower(q.client_id) {
                own.push((k, e));
            }
        }
        for group in [&mut family, &mut own] {
            group.sort_by(|a, b| {
                b.1.last_modification_time
                    .cmp(&a.1.last_modification_time)
                    .then_with(|| a.0.cmp(b.0))
            });
        }
        family
            .into_iter()
            .chain(own)
            .map(|(k, _)| k.to_string())
            .collect()
    }

    fn check_lookups(cache: &TokenCache) {
        cache.with_store(|s| s.check_consistency()).unwrap();
        let env_sets = [
            strings(&[ENV]),
            strings(&["login.windows.net"]),
            strings(&ENVS),
        ];
        let scope_sets = [
            strings(&["a"]),
            strings(&["b", "C"]),
            strings(&["d", "e", "a"]),
        ];
        for envs in &env_sets {
            for client in CLIENTS {
                for home in HOMES.iter().map(|h| Some(*h)).chain([None]) {
                    for realm in REALMS.iter().map(|r| Some(*r)).chain([None]) {
                        for scopes in &scope_sets {
                            for ext in [None, Some("EXT")] {
                                for now in [0, 600, 1500] {
                                    let q = AccessTokenQuery {
                                        home_account_id: home,
                                        environments: envs,
                                        client_id: client,
                                        realm,
                                        scopes,
                                        ext_cache_key: ext,
                                    };
                                    let fast = cache.find_access_token(&q, now).map(|t| t.key);
                                    let slow = cache.with_store(|s| naive_at(s, &q, now));
                                    assert_eq!(fast, slow, "{q:?} at {now}");
                                }
                            }
                        }
                    }
                    let Some(home) = home else { continue };
                    for family in [None, Some("1")] {
                        let q = RefreshTokenQuery {
                            home_account_id: home,
                            environments: envs,
                            client_id: client,
                            family_id: family,
                        };
                        let fast: Vec<String> = cache
                            .find_refresh_tokens(&q)
                            .into_iter()
                            .map(|t| t.key)
                            .collect();
                        let slow = cache.with_store(|s| naive_rt(s, &q));
                        assert_eq!(fast, slow, "{q:?}");
                    }
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// Loading over a loaded cache (whose secret blocks it reuses) ends
        /// as loading into an empty one: same contents, or the same error
        /// and the first contents kept.
        #[test]
        fn a_load_over_another_ends_as_a_load_into_an_empty_cache(
            first in crate::cache::codec::tests::any_document(),
            second in crate::cache::codec::tests::any_document(),
        ) {
            let cache = TokenCache::new();
            // Loaded or refused, either is a starting point.
            let _ = cache.deserialize(&first.to_string());
            let before = cache.serialize().unwrap();
            let fresh = TokenCache::new();
            let expected = fresh.deserialize(&second.to_string());
            let got = cache.deserialize(&second.to_string());
            prop_assert_eq!(format!("{got:?}"), format!("{expected:?}"));
            if got.is_ok() {
                prop_assert_eq!(cache.serialize().unwrap(), fresh.serialize().unwrap());
            } else {
                prop_assert_eq!(cache.serialize().unwrap(), before);
            }
            cache.with_store(|s| s.check_consistency()).unwrap();
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn indexes_stay_exact_and_lookups_match_a_linear_scan(
            ops in proptest::collection::vec(op(), 1..40),
            indexed_first: bool,
        ) {
            let cache = TokenCache::new();
            if indexed_first {
                // A lookup makes the (empty) indexes: every operation after
                // keeps them in step rather than leaving them to be made.
                cache.with_store(|s| s.accounts_of("").len());
            }
            for op in &ops {
                apply(&cache, op);
                cache.with_store(|s| s.check_consistency()).unwrap();
            }
            check_lookups(&cache);
        }
    }
}
