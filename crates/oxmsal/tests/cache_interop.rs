//! Caches shaped as MSAL for Python 1.x writes them (written by hand from the
//! unified schema and MSAL Python's `token_cache.py`): they load,
//! their tokens are found, and a save keeps every key and field.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use oxmsal::cache::{AccessTokenQuery, RefreshTokenQuery, TokenCache};
use serde_json::Value;

const TENANT: &str = "f645ad92-e38d-4d1a-b510-d1b09a74a8ca";
const CLIENT: &str = "8f1e0b4a-6c2d-4e57-9a3b-2f6d1c0e9b71";
const HOME: &str = "00000000-0000-0000-66f3-3332eca7ea81.f645ad92-e38d-4d1a-b510-d1b09a74a8ca";
const NOW: u64 = 1_700_000_100;

/// After `acquire_token_for_client(["https://graph.microsoft.com/.default"])`:
/// an app-only token (`home_account_id` null, key starting with `-`) and the app
/// metadata, in MSAL Python's insertion order and indentation.
const CLIENT_CREDENTIALS: &str = r#"{
    "AccessToken": {
        "-login.microsoftonline.com-accesstoken-8f1e0b4a-6c2d-4e57-9a3b-2f6d1c0e9b71-f645ad92-e38d-4d1a-b510-d1b09a74a8ca-https://graph.microsoft.com/.default": {
            "credential_type": "AccessToken",
            "secret": "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.app-token.sig",
            "home_account_id": null,
            "environment": "login.microsoftonline.com",
            "client_id": "8f1e0b4a-6c2d-4e57-9a3b-2f6d1c0e9b71",
            "target": "https://graph.microsoft.com/.default",
            "realm": "f645ad92-e38d-4d1a-b510-d1b09a74a8ca",
            "token_type": "Bearer",
            "cached_at": "1700000000",
            "expires_on": "1700003599",
            "extended_expires_on": "1700003599"
        }
    },
    "AppMetadata": {
        "appmetadata-login.microsoftonline.com-8f1e0b4a-6c2d-4e57-9a3b-2f6d1c0e9b71": {
            "client_id": "8f1e0b4a-6c2d-4e57-9a3b-2f6d1c0e9b71",
            "environment": "login.microsoftonline.com"
        }
    }
}"#;

/// After an interactive sign-in with `scopes=["User.Read"]`: the server granted
/// `User.Read profile openid email`, sent `client_info`, an id token, a refresh
/// token and `foci`. Target sorted as Python's `sorted` does (uppercase first),
/// keys lowercased, AppMetadata key not.
const USER_SIGN_IN: &str = r#"{
    "AccessToken": {
        "00000000-0000-0000-66f3-3332eca7ea81.f645ad92-e38d-4d1a-b510-d1b09a74a8ca-login.microsoftonline.com-accesstoken-8f1e0b4a-6c2d-4e57-9a3b-2f6d1c0e9b71-f645ad92-e38d-4d1a-b510-d1b09a74a8ca-user.read email openid profile": {
            "credential_type": "AccessToken",
            "secret": "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.user-token.sig",
            "home_account_id": "00000000-0000-0000-66f3-3332eca7ea81.f645ad92-e38d-4d1a-b510-d1b09a74a8ca",
            "environment": "login.microsoftonline.com",
            "client_id": "8f1e0b4a-6c2d-4e57-9a3b-2f6d1c0e9b71",
            "target": "User.Read email openid profile",
            "realm": "f645ad92-e38d-4d1a-b510-d1b09a74a8ca",
            "token_type": "Bearer",
            "cached_at": "1700000000",
            "expires_on": "1700004681",
            "extended_expires_on": "1700004681",
            "refresh_on": "1700002340"
        }
    },
    "Account": {
        "00000000-0000-0000-66f3-3332eca7ea81.f645ad92-e38d-4d1a-b510-d1b09a74a8ca-login.microsoftonline.com-f645ad92-e38d-4d1a-b510-d1b09a74a8ca": {
            "home_account_id": "00000000-0000-0000-66f3-3332eca7ea81.f645ad92-e38d-4d1a-b510-d1b09a74a8ca",
            "environment": "login.microsoftonline.com",
            "realm": "f645ad92-e38d-4d1a-b510-d1b09a74a8ca",
            "local_account_id": "00000000-0000-0000-66f3-3332eca7ea81",
            "username": "alice@contoso.onmicrosoft.com",
            "authority_type": "MSSTS",
            "account_source": "authorization_code"
        }
    },
    "IdToken": {
        "00000000-0000-0000-66f3-3332eca7ea81.f645ad92-e38d-4d1a-b510-d1b09a74a8ca-login.microsoftonline.com-idtoken-8f1e0b4a-6c2d-4e57-9a3b-2f6d1c0e9b71-f645ad92-e38d-4d1a-b510-d1b09a74a8ca-": {
            "credential_type": "IdToken",
            "secret": "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiIsImtpZCI6Im5PbzNaRHJPRFhFSzFqS1doWHNsSFJfS1hFZyJ9.eyJhdWQiOiI4ZjFlMGI0YS02YzJkLTRlNTctOWEzYi0yZjZkMWMwZTliNzEiLCJpc3MiOiJodHRwczovL2xvZ2luLm1pY3Jvc29mdG9ubGluZS5jb20vZjY0NWFkOTItZTM4ZC00ZDFhLWI1MTAtZDFiMDlhNzRhOGNhL3YyLjAiLCJpYXQiOjE3MDAwMDAwMDAsIm5iZiI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAzNjAwLCJuYW1lIjoiQWxpY2UgRXhhbXBsZSIsIm9pZCI6IjAwMDAwMDAwLTAwMDAtMDAwMC02NmYzLTMzMzJlY2E3ZWE4MSIsInByZWZlcnJlZF91c2VybmFtZSI6ImFsaWNlQGNvbnRvc28ub25taWNyb3NvZnQuY29tIiwic3ViIjoiQUFBQUFBQUFBQUFBQUFBQUFBQUFBSWt6cUZWclNhU2FGSHk3ODJiYnRhUSIsInRpZCI6ImY2NDVhZDkyLWUzOGQtNGQxYS1iNTEwLWQxYjA5YTc0YThjYSIsInZlciI6IjIuMCJ9.c2lnbmF0dXJl",
            "home_account_id": "00000000-0000-0000-66f3-3332eca7ea81.f645ad92-e38d-4d1a-b510-d1b09a74a8ca",
            "environment": "login.microsoftonline.com",
            "realm": "f645ad92-e38d-4d1a-b510-d1b09a74a8ca",
            "client_id": "8f1e0b4a-6c2d-4e57-9a3b-2f6d1c0e9b71"
        }
    },
    "RefreshToken": {
        "00000000-0000-0000-66f3-3332eca7ea81.f645ad92-e38d-4d1a-b510-d1b09a74a8ca-login.microsoftonline.com-refreshtoken-8f1e0b4a-6c2d-4e57-9a3b-2f6d1c0e9b71--user.read email openid profile": {
            "credential_type": "RefreshToken",
            "secret": "0.AXEAkq1F9o3jGk21ENGwmnSoyg.refresh",
            "home_account_id": "00000000-0000-0000-66f3-3332eca7ea81.f645ad92-e38d-4d1a-b510-d1b09a74a8ca",
            "environment": "login.microsoftonline.com",
            "client_id": "8f1e0b4a-6c2d-4e57-9a3b-2f6d1c0e9b71",
            "target": "User.Read email openid profile",
            "last_modification_time": "1700000000",
            "family_id": "1"
        }
    },
    "AppMetadata": {
        "appmetadata-login.microsoftonline.com-8f1e0b4a-6c2d-4e57-9a3b-2f6d1c0e9b71": {
            "client_id": "8f1e0b4a-6c2d-4e57-9a3b-2f6d1c0e9b71",
            "environment": "login.microsoftonline.com",
            "family_id": "1"
        }
    }
}"#;

fn envs() -> Vec<String> {
    // The host and an alias instance discovery would report.
    vec![
        "login.microsoftonline.com".to_owned(),
        "login.windows.net".to_owned(),
    ]
}

fn strings(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| (*s).to_owned()).collect()
}

/// Every section, key and field of `original` is in `written`, unchanged; any
/// section `written` adds is empty.
fn assert_preserved(original: &str, written: &str) {
    let original: Value = serde_json::from_str(original).unwrap();
    let written: Value = serde_json::from_str(written).unwrap();
    let (original, written) = (original.as_object().unwrap(), written.as_object().unwrap());
    for (section, entries) in original {
        if ![
            "AccessToken",
            "RefreshToken",
            "IdToken",
            "Account",
            "AppMetadata",
        ]
        .contains(&section.as_str())
        {
            assert_eq!(
                written.get(section),
                Some(entries),
                "unknown section {section}"
            );
            continue;
        }
        for (key, entry) in entries.as_object().unwrap() {
            let Some(saved) = written.get(section).and_then(|s| s.get(key)) else {
                panic!("{section} entry {key} is missing after a save");
            };
            for (field, value) in entry.as_object().unwrap() {
                assert_eq!(
                    saved.get(field),
                    Some(value),
                    "{section} {key} field {field}"
                );
            }
            assert_eq!(
                saved.as_object().unwrap().len(),
                entry.as_object().unwrap().len(),
                "{section} {key}"
            );
        }
    }
    for (section, entries) in written {
        if !original.contains_key(section) {
            assert_eq!(
                entries,
                &Value::Object(Default::default()),
                "added section {section}"
            );
        }
    }
}

#[test]
fn client_credentials_cache_from_msal_python() {
    let cache = TokenCache::new();
    cache.deserialize(CLIENT_CREDENTIALS).unwrap();
    assert_eq!(
        (cache.access_token_count(), cache.app_metadata_count()),
        (1, 1)
    );

    let envs = envs();
    let scopes = strings(&["https://graph.microsoft.com/.default"]);
    let query = AccessTokenQuery::new(CLIENT, &envs, &scopes).in_realm(TENANT);
    let hit = cache.find_access_token(&query, NOW).unwrap();
    assert_eq!(
        hit.secret.expose_secret(),
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.app-token.sig"
    );
    assert_eq!(
        (hit.cached_at, hit.expires_on, hit.extended_expires_on),
        (1_700_000_000, 1_700_003_599, Some(1_700_003_599))
    );
    assert_eq!(hit.home_account_id, None);
    // A different tenant, a user's query, an unknown client: no hit.
    assert!(cache
        .find_access_token(&query.in_realm("other-tenant"), NOW)
        .is_none());
    assert!(cache
        .find_access_token(&query.for_account(HOME), NOW)
        .is_none());
    let other = AccessTokenQuery::new("someone-else", &envs, &scopes).in_realm(TENANT);
    assert!(cache.find_access_token(&other, NOW).is_none());
    assert_eq!(
        cache.find_app_metadata(&envs, CLIENT).unwrap().family_id,
        None
    );

    assert_preserved(CLIENT_CREDENTIALS, &cache.serialize().unwrap());
}

#[test]
fn user_sign_in_cache_from_msal_python() {
    let cache = TokenCache::new();
    cache.deserialize(USER_SIGN_IN).unwrap();

    let accounts = cache.accounts();
    assert_eq!(accounts.len(), 1);
    let account = &accounts[0];
    assert_eq!(account.home_account_id, HOME);
    assert_eq!(account.username, "alice@contoso.onmicrosoft.com");
    assert_eq!(
        account.local_account_id.as_deref(),
        Some("00000000-0000-0000-66f3-3332eca7ea81")
    );
    assert_eq!(account.authority_type, "MSSTS");
    assert_eq!(
        account.account_source.as_deref(),
        Some("authorization_code")
    );

    let envs = envs();
    // A subset of the granted scopes, in another case.
    let scopes = strings(&["user.read"]);
    let query = AccessTokenQuery::new(CLIENT, &envs, &scopes)
        .for_account(HOME)
        .in_realm(TENANT);
    let hit = cache.find_access_token(&query, NOW).unwrap();
    assert_eq!(
        hit.secret.expose_secret(),
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.user-token.sig"
    );
    assert_eq!(hit.refresh_on, Some(1_700_002_340));
    assert_eq!(hit.target, "User.Read email openid profile");
    let more = strings(&["User.Read", "Mail.Send"]);
    let query = AccessTokenQuery::new(CLIENT, &envs, &more)
        .for_account(HOME)
        .in_realm(TENANT);
    assert!(cache.find_access_token(&query, NOW).is_none());

    let rts =
        cache.find_refresh_tokens(&RefreshTokenQuery::new(HOME, &envs, CLIENT).with_family("1"));
    assert_eq!(rts.len(), 1);
    assert_eq!(
        rts[0].secret.expose_secret(),
        "0.AXEAkq1F9o3jGk21ENGwmnSoyg.refresh"
    );
    assert_eq!(rts[0].family_id.as_deref(), Some("1"));
    // A sibling app of the family finds it too.
    let sibling = cache
        .find_refresh_tokens(&RefreshTokenQuery::new(HOME, &envs, "sibling-app").with_family("1"));
    assert_eq!(sibling.len(), 1);
    assert!(cache
        .find_refresh_tokens(&RefreshTokenQuery::new(HOME, &envs, "sibling-app"))
        .is_empty());

    let idt = cache
        .find_id_token(HOME, &envs, CLIENT, Some(TENANT))
        .unwrap();
    let claims = idt.claims.unwrap();
    assert_eq!(
        claims["preferred_username"],
        "alice@contoso.onmicrosoft.com"
    );
    assert_eq!(claims["tid"], TENANT);
    assert_eq!(
        cache
            .find_app_metadata(&envs, CLIENT)
            .unwrap()
            .family_id
            .as_deref(),
        Some("1")
    );

    let written = cache.serialize().unwrap();
    assert_preserved(USER_SIGN_IN, &written);

    // What we write loads again identically, and signs out cleanly.
    let again = TokenCache::new();
    again.deserialize(&written).unwrap();
    assert_eq!(again.serialize().unwrap(), written);
    assert_eq!(again.remove_account(account, CLIENT), 4);
    assert_eq!(
        again.app_metadata_count(),
        1,
        "app metadata outlives a sign-out"
    );
}

#[test]
fn both_fixtures_merged_with_foreign_extras_survive() {
    // Two documents' sections side by side, plus what other SDKs add.
    let mut merged: Value = serde_json::from_str(USER_SIGN_IN).unwrap();
    let app: Value = serde_json::from_str(CLIENT_CREDENTIALS).unwrap();
    for (key, entry) in app["AccessToken"].as_object().unwrap() {
        merged["AccessToken"][key] = entry.clone();
    }
    let account_key = merged["Account"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    merged["Account"][&account_key]["client_info"] = "eyJ1aWQiOiJ4In0".into();
    merged["Account"][&account_key]["name"] = "Alice Example".into();
    merged["AppMetadata"]["appmetadata-login.microsoftonline.com-other"] = serde_json::json!({"client_id": "other", "environment": "login.microsoftonline.com", "family_id": null});
    merged["MsalExtensionsVersion"] = serde_json::json!({"v": 2});
    let original = serde_json::to_string_pretty(&merged).unwrap();

    let cache = TokenCache::new();
    cache.deserialize(&original).unwrap();
    assert_eq!(cache.access_token_count(), 2);
    let written = cache.serialize().unwrap();
    assert_preserved(&original, &written);
    let reparsed: Value = serde_json::from_str(&written).unwrap();
    assert_eq!(
        reparsed["MsalExtensionsVersion"],
        serde_json::json!({"v": 2})
    );
}
