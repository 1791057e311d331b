//! The fast path against the serde reader: whatever it accepts, it reads as
//! that reader does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;

use super::*;
use crate::cache::codec::{tests::any_document, write};

/// The serde reader's store, as comparable text (or `None`: declined).
fn by_serde(text: &str) -> Option<String> {
    super::super::read::read_whole_by_serde(text).map(|loaded| write(&loaded.finish()).unwrap())
}

fn by_fast(text: &str) -> Option<String> {
    read(text).map(|loaded| write(&loaded.finish()).unwrap())
}

/// The access-token members MSAL writes, in its order.
const AT_MEMBERS: [(&str, &str); 13] = [
    ("credential_type", r#""AccessToken""#),
    ("secret", r#""eyJ0.eyJ1.c2ln""#),
    ("home_account_id", "null"),
    ("environment", r#""login.microsoftonline.com""#),
    ("client_id", r#""c""#),
    ("target", r#""https://graph.microsoft.com/.default""#),
    ("realm", r#""t""#),
    ("token_type", r#""Bearer""#),
    ("cached_at", r#""1700000000""#),
    ("expires_on", r#""1700003600""#),
    ("extended_expires_on", r#""1700003600""#),
    ("refresh_on", r#""1700001800""#),
    ("ext_cache_key", r#""x""#),
];

fn object(members: &[(&str, String)], pretty: bool) -> String {
    let sep = if pretty { ",\n            " } else { ", " };
    let inner: Vec<String> = members
        .iter()
        .map(|(name, value)| format!(r#""{name}": {value}"#))
        .collect();
    format!("{{{}}}", inner.join(sep))
}

/// Documents as MSAL writes them (and near misses): access tokens with
/// some of MSAL's members, in its order or not, of its types or not; other
/// sections of string members.
fn msal_like_document() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        4 => "[a-zA-Z0-9 ._:/-]{0,8}".prop_map(|s| format!("\"{s}\"")),
        2 => "[0-9]{1,20}".prop_map(|s| format!("\"{s}\"")),
        1 => Just("null".to_owned()),
        1 => Just(r#""x\"y""#.to_owned()),
        1 => Just("7".to_owned()),
        1 => Just(r#"" 5 ""#.to_owned()),
        1 => Just(r#""é😀""#.to_owned()),
    ];
    let at_member = (
        0..AT_MEMBERS.len(),
        proptest::option::weighted(0.7, value.clone()),
    )
        .prop_map(|(i, v)| {
            (
                AT_MEMBERS[i].0,
                v.unwrap_or_else(|| AT_MEMBERS[i].1.to_owned()),
            )
        });
    let access_token = (proptest::collection::vec(at_member, 0..14), any::<bool>()).prop_map(
        |(mut members, msal_order)| {
            if msal_order {
                members.sort_by_key(|(name, _)| AT_MEMBERS.iter().position(|(n, _)| n == name));
            }
            members
        },
    );
    let other_name = prop::sample::select(vec![
        "home_account_id",
        "environment",
        "client_id",
        "realm",
        "username",
        "authority_type",
        "family_id",
        "secret",
        "target",
        "x-foreign",
    ]);
    let other_entry = proptest::collection::vec((other_name, value), 0..6);
    (
        proptest::collection::vec(("[a-c]{1,2}", access_token), 0..5),
        proptest::collection::vec(("[a-c]{1,2}", other_entry), 0..3),
        prop::sample::select(vec![
            "RefreshToken",
            "IdToken",
            "Account",
            "AppMetadata",
            "Other",
        ]),
        any::<bool>(),
    )
        .prop_map(|(ats, others, other_section, pretty)| {
            let section = |entries: Vec<String>| {
                let sep = if pretty { ",\n        " } else { ", " };
                format!("{{{}}}", entries.join(sep))
            };
            let ats: Vec<String> = ats
                .into_iter()
                .map(|(k, members)| format!(r#""{k}": {}"#, object(&members, pretty)))
                .collect();
            let others: Vec<String> = others
                .into_iter()
                .map(|(k, members)| format!(r#""{k}": {}"#, object(&members, pretty)))
                .collect();
            format!(
                r#"{{"AccessToken": {}, "{other_section}": {}}}"#,
                section(ats),
                section(others)
            )
        })
}

#[test]
fn a_document_as_msal_writes_it_takes_the_fast_path() {
    let members: Vec<(&str, String)> = AT_MEMBERS
        .iter()
        .map(|(name, value)| (*name, (*value).to_owned()))
        .collect();
    let entry = object(&members, true);
    let doc = format!(
        "{{\n    \"AccessToken\": {{\n        \"k1\": {entry},\n        \"k2\": {entry}\n    }},\n    \"AppMetadata\": {{\"a\": {{\"client_id\": \"c\", \"environment\": \"e\", \"family_id\": null}}}}\n}}"
    );
    let fast = by_fast(&doc).expect("taken");
    assert_eq!(Some(fast), by_serde(&doc));
}

#[test]
fn what_is_outside_the_subset_is_left_to_the_serde_reader() {
    for doc in [
        r#"{"AccessToken": {"k": {"cached_at": 5}}}"#,
        r#"{"AccessToken": {"k": {"secret": "a\"b"}}}"#,
        r#"{"Other": {}}"#,
        r#"{"Account": {}, "Account": {}}"#,
        r#"{"AccessToken": {"k": {"secret": "a", "secret": "b"}}}"#,
        r#"{"AccessToken": {"k": {"expires_on": "soon"}}}"#,
        "{\"AccessToken\": {\"k\": {\"secret\": \"a\tb\"}}}",
        r#"{"AccessToken": {}} x"#,
        r#"{"AccessToken": {},}"#,
        "\u{feff}{}",
        "",
    ] {
        assert!(read(doc).is_none(), "{doc}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn the_fast_path_reads_what_the_serde_reader_reads(doc in msal_like_document()) {
        if let Some(fast) = by_fast(&doc) {
            prop_assert_eq!(Some(fast), by_serde(&doc), "{}", doc);
        }
    }

    #[test]
    fn on_any_document_the_fast_path_agrees_or_declines(doc in any_document(), pretty: bool) {
        let text = if pretty { serde_json::to_string_pretty(&doc).unwrap() } else { doc.to_string() };
        if let Some(fast) = by_fast(&text) {
            prop_assert_eq!(Some(fast), by_serde(&text), "{}", text);
        }
    }
}
