#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::io::Cursor;

use std::io::{self, Read, Seek, SeekFrom};

use super::*;
use crate::cache::codec::{
    self as serialize, read_plain, read_stream, tests::any_document, write, LoadError,
};
use crate::cache::entity::AccessTokenEntry;
use crate::cache::store::Key;

fn counts(store: &Store) -> [usize; 6] {
    [
        store.access_tokens().len(),
        store.refresh_tokens.entries().len(),
        store.id_tokens.entries().len(),
        store.accounts.entries().len(),
        store.app_metadata.entries().len(),
        store.other_sections.len(),
    ]
}

/// The result as something comparable: counts and the written document,
/// or the error's message.
fn outcome(
    result: crate::error::Result<Store>,
) -> std::result::Result<([usize; 6], String), String> {
    match result {
        Ok(store) => Ok((counts(&store), write(&store).unwrap())),
        Err(e) => Err(format!("{e:?}")),
    }
}

fn streamed(doc: &[u8], chunk: usize) -> std::result::Result<([usize; 6], String), String> {
    match read_stream(Cursor::new(doc), chunk) {
        Ok(store) => outcome(Ok(store)),
        Err(LoadError::Document(e)) => outcome(Err(e)),
        Err(LoadError::Io(e)) => Err(format!("io: {e}")),
    }
}

const AT: &str = r#""credential_type": "AccessToken", "home_account_id": "u.t", "environment": "login.microsoftonline.com", "client_id": "c", "target": "User.Read openid", "realm": "t", "token_type": "Bearer", "cached_at": "1700000000", "expires_on": "1700003600""#;

/// Documents the reader must read itself, exactly as the plain reader does.
fn accepted() -> Vec<String> {
    vec![
        String::from("{}"),
        String::from(" \t\r\n{ \t\r\n} \t\r\n"),
        String::from(r#"{"AccessToken": {}, "RefreshToken": {}, "IdToken": {}, "Account": {}, "AppMetadata": {}}"#),
        format!(r#"{{"AccessToken": {{"k": {{"secret": "plain", {AT}}}}}}}"#),
        // Escapes in secrets, keys, field names and section names.
        format!(r#"{{"Access\u0054oken": {{"k\"ey\\\n": {{"secret": "a\"b\\c\/d\u00e9\ud83d\ude00\t", {AT}}}}}}}"#),
        format!(r#"{{"AccessToken": {{"k": {{"s\u0065cret": "x", {AT}}}}}}}"#),
        // Unicode, raw.
        format!(r#"{{"AccessToken": {{"clé😀": {{"secret": "ünï😀cödé→", {AT}, "ünknown": "日本"}}}}}}"#),
        // Unknown fields with nested values, and of every kind.
        format!(r#"{{"AccessToken": {{"k": {{"secret": "s", {AT}, "x": {{"a": [1, -2, 2.5e3, true, false, null, {{"b": "\u0041"}}]}}, "y": [], "z": {{}}, "n": 18446744073709551615, "m": 18446744073709551616, "o": -0, "p": 0, "q": 1.0, "r": "7"}}}}}}"#),
        // Floats, negative numbers, booleans in known fields (kept verbatim
        // or read as seconds where allowed).
        r#"{"AccessToken": {"k": {"secret": "s", "cached_at": 1700000000.0, "expires_on": 1e10, "extended_expires_on": -0, "refresh_on": 0}}}"#.to_owned(),
        r#"{"RefreshToken": {"k": {"secret": "s", "family_id": 1, "last_modification_time": 12.5}}}"#.to_owned(),
        r#"{"RefreshToken": {"k": {"secret": "s", "family_id": 1.5, "credential_type": true}}}"#.to_owned(),
        r#"{"Account": {"k": {"home_account_id": "h", "environment": "e", "realm": "r", "username": "u", "authority_type": "MSSTS", "extra": false}}}"#.to_owned(),
        // Numbers as strings, odd ones included; nulls.
        r#"{"AccessToken": {"k": {"secret": null, "cached_at": "007", "expires_on": " 5 ", "extended_expires_on": "", "refresh_on": null, "home_account_id": null, "ext_cache_key": null}}}"#.to_owned(),
        r#"{"AccessToken": {"k": {"secret": "s", "cached_at": 0, "expires_on": 9999999999999999999, "extended_expires_on": 10000000000000000000}}}"#.to_owned(),
        r#"{"IdToken": {"k": {"secret": "jwt", "home_account_id": "h", "environment": "e", "realm": "r", "client_id": "c"}}, "AppMetadata": {"a": {"client_id": "c", "environment": "e", "family_id": null}}}"#.to_owned(),
        // Empty entries, empty and unknown sections, a repeated unknown one
        // and a repeated entry key.
        r#"{"Z": [1, {"a": null}], "AccessToken": {"k": {}}, "Y": "text", "Z": 2, "X": null, "W": -1.5}"#.to_owned(),
        r#"{"AppMetadata": {"a": {"client_id": "c"}, "a": {"client_id": "d"}}}"#.to_owned(),
        // A repeated access-token key: the last entry whole, not the
        // first one's secret in the last one's place.
        format!(r#"{{"AccessToken": {{"k": {{"secret": "first", {AT}}}, "k": {{{AT}}}}}}}"#),
        format!(r#"{{"AccessToken": {{"k": {{"secret": "first", {AT}}}, "j": {{"secret": "j", {AT}}}, "k": {{"secret": "last", {AT}}}}}}}"#),
        // MSAL's own field order (each name compared in place), and names
        // that only begin or end like the one expected next.
        r#"{"AccessToken": {"k": {"credential_type": "AccessToken", "secret": "s", "home_account_id": "h", "environment": "e", "client_id": "c", "target": "t", "realm": "r", "token_type": "Bearer", "cached_at": "1", "expires_on": "2", "extended_expires_on": "3", "refresh_on": "2", "ext_cache_key": "x"}}}"#.to_owned(),
        r#"{"AccessToken": {"k": {"credential_type": "AccessToken", "secretx": "s", "secre": "t", "secret": "u", "home_account_i": "h", "environment": "e"}}}"#.to_owned(),
        r#"{"AccessToken": {"k": {"ext_cache_key": "x", "credential_type": "AccessToken", "secret": "s"}}}"#.to_owned(),
        // Whitespace everywhere, CRLF.
        format!("{{\r\n    \"AccessToken\" :\r\n{{\r\n\t\"k\"\t:\t{{ \"secret\" : \"s\" ,\r\n {} }} \r\n}} ,\r\n \"Account\":{{}}\r\n}}\r\n", AT.replace(", ", " ,\r\n\t")),
    ]
}

/// Valid documents the reader may leave to the plain reader, and malformed ones.
fn declined() -> Vec<String> {
    let deep = format!("{}1{}", "[".repeat(120), "]".repeat(120));
    let too_deep = format!("{}1{}", "[".repeat(130), "]".repeat(130));
    vec![
        r#"{"AccessToken": {"k": {"secret": "a", "secret": "b"}}}"#.to_owned(),
        r#"{"AccessToken": {"k": {"credential_type": "AccessToken", "secret": "a", "home_account_id": "h", "secret": "b"}}}"#.to_owned(),
        r#"{"AccessToken": {"k": {"x": 1, "x": 2}}}"#.to_owned(),
        r#"{"Account": {"a": {"home_account_id": "h"}}, "Account": {}}"#.to_owned(),
        r#"{"AccessToken": {"k": {"expires_on": "x"}, "k": {"expires_on": "5"}}}"#.to_owned(),
        format!(r#"{{"AccessToken": {{"k": {{"x": {deep}}}}}}}"#),
        format!(r#"{{"Z": {deep}}}"#),
        format!(r#"{{"Z": {too_deep}}}"#),
        // Malformed, each its own way.
        String::new(),
        "   ".to_owned(),
        "\u{a0}".to_owned(),
        "\u{feff}{}".to_owned(),
        "null".to_owned(),
        "[]".to_owned(),
        "{".to_owned(),
        "{}}".to_owned(),
        "{} x".to_owned(),
        "{},".to_owned(),
        r#"{"AccessToken": {},}"#.to_owned(),
        r#"{,"AccessToken": {}}"#.to_owned(),
        r#"{"AccessToken": {"k": {},}}"#.to_owned(),
        r#"{"AccessToken": {"k": {"a": 1,}}}"#.to_owned(),
        r#"{"AccessToken": {"k": {"a" 1}}}"#.to_owned(),
        r#"{"AccessToken": []}"#.to_owned(),
        r#"{"AccessToken": null}"#.to_owned(),
        r#"{"AccessToken": {"k": "v"}}"#.to_owned(),
        r#"{"AccessToken": {"k": {"expires_on": "soon"}}}"#.to_owned(),
        r#"{"AccessToken": {"k": {"secret": 5}}}"#.to_owned(),
        r#"{"AccessToken": {"k": {"target": ["a"]}}}"#.to_owned(),
        r#"{"AccessToken": {"k": {"cached_at": 01}}}"#.to_owned(),
        r#"{"AccessToken": {"k": {"cached_at": 1.}}}"#.to_owned(),
        r#"{"AccessToken": {"k": {"cached_at": -}}}"#.to_owned(),
        r#"{"AccessToken": {"k": {"cached_at": +1}}}"#.to_owned(),
        r#"{"AccessToken": {"k": {"cached_at": 1x}}}"#.to_owned(),
        r#"{"AccessToken": {"k": {"cached_at": nul}}}"#.to_owned(),
        r#"{"AccessToken": {"k": {"cached_at": nulll}}}"#.to_owned(),
        r#"{"AccessToken": {"k": {"cached_at": NaN}}}"#.to_owned(),
        r#"{"AccessToken": {"k": {"x": tru}}}"#.to_owned(),
        r#"{"AccessToken": {"k": {"secret": "a\x"}}}"#.to_owned(),
        r#"{"AccessToken": {"k": {"secret": "\ud800"}}}"#.to_owned(),
        r#"{"AccessToken": {"k": {"secret": "\u12"}}}"#.to_owned(),
        "{\"AccessToken\": {\"k\": {\"secret\": \"a\tb\"}}}".to_owned(),
        "{\"AccessToken\": {\"k\": {\"secret\": \"a\u{1}b\"}}}".to_owned(),
        "{\"AccessToken\"\u{a0}: {}}".to_owned(),
        "{\"AccessToken\": {\"k\": {\"secret\": \"abc".to_owned(),
        "{\"AccessToken\": {\"k\": {\"secret\": \"abc\\".to_owned(),
        "{\"Z\": [1, 2".to_owned(),
        "{\"Z\": 12".to_owned(),
    ]
}

/// Tokens of one app and resource share one `AtShared`; a token whose
/// target (or environment, client, token type) differs gets its own,
/// with its own scopes.
#[test]
fn tokens_that_agree_share_their_common_fields() {
    let at = |realm: &str, target: &str| {
        format!(
            r#""k-{realm}-{target}": {{"credential_type": "AccessToken", "secret": "s",
            "environment": "login.example", "client_id": "c", "realm": "{realm}",
            "target": "{target}", "token_type": "Bearer", "expires_on": "9"}}"#
        )
    };
    // Two resources alternating (users' Graph and Azure tokens), then a
    // run of one.
    let doc = format!(
        r#"{{"AccessToken": {{{}, {}, {}, {}, {}, {}}}}}"#,
        at("t1", "a b"),
        at("t1", "C"),
        at("t2", "a b"),
        at("t2", "C"),
        at("t3", "C"),
        at("t4", "C"),
    );
    let store = read_str(&doc).expect("the reader reads it");
    let get = |key: &str| store.access_tokens().get(key).unwrap();
    let (one, two) = (get("k-t1-a b"), get("k-t2-a b"));
    let (three, four) = (get("k-t3-C"), get("k-t4-C"));
    let (one_c, two_c) = (get("k-t1-C"), get("k-t2-C"));
    let same =
        |a: &AccessTokenEntry, b: &AccessTokenEntry| std::sync::Arc::ptr_eq(&a.shared, &b.shared);
    assert!(same(one, two));
    assert!(same(three, four));
    assert!(same(one_c, two_c) && same(two_c, three));
    assert!(!same(two, three));
    assert_eq!(&*one.shared.scopes, ["a", "b"]);
    assert_eq!(&*three.shared.scopes, ["c"]);
    assert_eq!(&*three.shared.target, "C");
    assert_eq!((&*one.realm, &*four.realm), ("t1", "t4"));
    // Written back as read.
    let written = write(&store).unwrap();
    assert_eq!(outcome(serialize::parse(&written)).unwrap().1, written);
}

#[test]
fn the_reader_reads_what_the_plain_reader_reads() {
    for doc in accepted() {
        let scanned = read_str(&doc).unwrap_or_else(|| panic!("declined: {doc}"));
        assert_eq!(outcome(Ok(scanned)), outcome(read_plain(&doc)), "{doc}");
    }
}

#[test]
fn what_the_reader_declines_reads_as_before() {
    for doc in declined() {
        // The reader declines what the plain reader rejects, and reads
        // the rest (a nesting serde_json allows, say) as it does.
        match (read_str(&doc), read_plain(&doc)) {
            (Some(_), Err(e)) => panic!("accepted what the plain reader rejects ({e}): {doc}"),
            (Some(store), plain) => assert_eq!(outcome(Ok(store)), outcome(plain), "{doc}"),
            (None, _) => {}
        }
        let expected = if doc.trim().is_empty() {
            outcome(Ok(Store::default()))
        } else {
            outcome(read_plain(&doc))
        };
        assert_eq!(outcome(serialize::parse(&doc)), expected, "{doc}");
    }
}

#[test]
fn borrowed_secrets_are_exactly_those_without_escapes() {
    let doc = r#"{"AccessToken": {"a": {"secret": "x\"y"}, "b": {"secret": "xy"}}}"#;
    let store = read_str(doc).unwrap();
    // Copied as is (borrowed) the first would lose its escape.
    let written = write(&store).unwrap();
    assert!(written.contains(r#""secret": "x\"y""#), "{written}");
    assert!(written.contains(r#""secret": "xy""#), "{written}");
}

/// An entry read again under the same key replaces the first whole: the
/// first one's secret, still waiting for its block, is not put in the
/// place of the second's (which has none, so the token is not usable).
#[test]
fn a_repeated_key_gets_no_secret_of_the_entry_it_replaced() {
    let doc = format!(
        r#"{{"AccessToken": {{"k": {{"secret": "first", {AT}}}, "j": {{"secret": "j", {AT}}}, "k": {{{AT}}}, "i": {{"secret": "i", {AT}}}}}}}"#
    );
    let store = read_str(&doc).unwrap();
    let secret = |key: &str| {
        let entry = store.access_tokens().get(key).unwrap();
        entry.raw.secret().map(|s| s.expose_secret().to_owned())
    };
    assert_eq!(secret("k"), None);
    assert_eq!(secret("j").as_deref(), Some("j"));
    assert_eq!(secret("i").as_deref(), Some("i"));
    assert_eq!(store.access_tokens().len(), 3);
}

#[test]
fn streaming_gives_the_same_result_for_every_chunk_size() {
    for doc in accepted().into_iter().chain(declined()) {
        let expected = outcome(serialize::parse(&doc));
        for chunk in (1..=64).chain([1000, CHUNK]) {
            assert_eq!(
                streamed(doc.as_bytes(), chunk),
                expected,
                "chunk {chunk}: {doc}"
            );
        }
    }
}

#[test]
fn multibyte_characters_split_at_chunk_boundaries() {
    // Every split point of every multibyte character lands on a boundary
    // for some chunk size.
    let doc = format!(
        r#"{{"AccessToken": {{"é😀→{}": {{"secret": "😀😀é{}→", {AT}, "ü😀": ["日本", {{"😀": "é"}}]}}}}, "Ω😀": "ß"}}"#,
        "日".repeat(5),
        "😀".repeat(9)
    );
    let expected = outcome(serialize::parse(&doc));
    assert!(expected.is_ok());
    for chunk in 1..=64 {
        assert_eq!(streamed(doc.as_bytes(), chunk), expected, "chunk {chunk}");
    }
}

#[test]
fn text_that_is_not_utf8_is_a_read_error() {
    for bad in [
        &b"{\"AccessToken\": {\"k\": {\"secret\": \"\xff\"}}}"[..],
        b"{\"AccessToken\": {\"k\xc3\": {}}}",
        b"{\"Z\": [\"\xe2\x82\"]}",
        b"{\"AccessToken\": {\"k\": {\"x\": \"\xed\xa0\x80\"}}}",
        b"\xff",
    ] {
        for chunk in [1, 3, 7, CHUNK] {
            match read_stream(Cursor::new(bad), chunk) {
                Err(LoadError::Io(e)) => assert_eq!(e.kind(), io::ErrorKind::InvalidData),
                other => panic!("{other:?} for {bad:?}"),
            }
        }
    }
}

#[test]
fn a_declined_document_is_read_again_from_where_the_reader_started() {
    let doc = r#"{"Account": {"a": {"home_account_id": "h"}}, "Account": {}}"#;
    let mut bytes = b"prefix".to_vec();
    bytes.extend_from_slice(doc.as_bytes());
    let mut reader = Cursor::new(bytes);
    reader.set_position(6);
    let store = read_stream(reader, 8).unwrap();
    assert_eq!(outcome(Ok(store)), outcome(read_plain(doc)));
}

#[test]
fn a_failing_reader_is_an_io_error() {
    struct Failing(usize);
    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0 == 0 {
                return Err(io::Error::other("disk on fire"));
            }
            self.0 -= 1;
            let doc = b"{\"AccessToken\": {";
            let n = buf.len().min(doc.len());
            buf[..n].copy_from_slice(&doc[..n]);
            Ok(n)
        }
    }
    impl Seek for Failing {
        fn seek(&mut self, _: SeekFrom) -> io::Result<u64> {
            Ok(0)
        }
    }
    let err = read_stream(Failing(1), 64).unwrap_err();
    assert!(matches!(&err, LoadError::Io(e) if e.to_string() == "disk on fire"));
    let err = err.into_error();
    assert_eq!(err.kind(), crate::ErrorKind::Cache);
}

/// Enough access tokens for several secret blocks (by count and by bytes),
/// with escaped, missing and repeated ones among them.
#[test]
fn tokens_across_many_secret_blocks_read_back_whole() {
    let mut entries = Vec::new();
    for i in 0..1500 {
        let secret = match i % 50 {
            7 => String::from("null"),
            8 => format!(r#""esc\"aped-{i}""#),
            _ => format!(r#""{}-{i}""#, "t".repeat(i % 300)),
        };
        entries.push(format!(r#""k{i}": {{"secret": {secret}, {AT}}}"#));
    }
    // A key given twice: the later entry, with its secret, wins.
    entries.push(format!(r#""k3": {{"secret": "again", {AT}}}"#));
    let doc = format!(r#"{{"AccessToken": {{{}}}}}"#, entries.join(", "));
    let plain = outcome(read_plain(&doc));
    assert_eq!(outcome(Ok(read_str(&doc).expect("not declined"))), plain);
    for chunk in [1000, 4096, CHUNK] {
        assert_eq!(streamed(doc.as_bytes(), chunk), plain, "chunk {chunk}");
    }
    let store = read_str(&doc).unwrap();
    let secret = |k: &str| {
        store
            .access_tokens()
            .get(k)
            .unwrap()
            .raw
            .secret()
            .map(|s| s.expose_secret().to_owned())
    };
    assert_eq!(secret("k3").as_deref(), Some("again"));
    assert_eq!(secret("k7"), None);
    assert_eq!(secret("k8").as_deref(), Some("esc\"aped-8"));
    assert_eq!(
        secret("k1499"),
        Some(format!("{}-1499", "t".repeat(1499 % 300)))
    );
}

/// Reads `doc` whole; how many more access tokens it reserved room for.
fn reserved(doc: &str) -> usize {
    let mut store = Store::default();
    let mut sizing = Sizing::of(doc);
    let mut json = serde_json::Deserializer::from_str(doc);
    Document {
        section: None,
        store: &mut store,
        secrets: &mut Batch::keeping_all(),
        fields: &mut Fields::new(),
        sizing: &mut sizing,
    }
    .deserialize(&mut json)
    .unwrap();
    match sizing {
        Sizing::Done { reserved } => reserved,
        other => panic!("not sized: {other:?}"),
    }
}

#[test]
fn the_first_entries_size_the_access_token_table() {
    let entries: Vec<String> = (0..1000)
        .map(|i| format!(r#""k{i}": {{"secret": "s-{i}", {AT}}}"#))
        .collect();
    let doc = format!(r#"{{"AccessToken": {{{}}}}}"#, entries.join(", "));
    // The first 64 of 1000 entries, alike in size, predict the other 936
    // closely.
    let more = reserved(&doc);
    assert!((900..=980).contains(&more), "{more}");
    assert_eq!(read_str(&doc).unwrap().access_tokens().len(), 1000);
}

#[test]
fn text_after_the_access_tokens_reserves_no_more_than_it_could_hold() {
    // As small as an access token gets: smaller than its table slot.
    let entries: Vec<String> = (0..64)
        .map(|i| format!(r#""{i}":{{"credential_type":"AccessToken","environment":"e","client_id":"c","target":"s","realm":"t","expires_on":"9"}}"#))
        .collect();
    let slot = std::mem::size_of::<(Key, AccessTokenEntry)>();
    assert!(
        entries[10].len() + 1 < slot,
        "{} vs {slot}",
        entries[10].len()
    );
    let filler = "x".repeat(1 << 20);
    let doc = format!(
        r#"{{"AccessToken": {{{}}}, "Unknown": "{filler}"}}"#,
        entries.join(", ")
    );
    assert!(reserved(&doc) <= filler.len() / slot + 1);
}

#[test]
fn a_large_entry_grows_the_buffer() {
    let secret = "s".repeat(100_000);
    let doc =
        format!(r#"{{"AccessToken": {{"k": {{"secret": "{secret}", {AT}}}}}, "Z": ["{secret}"]}}"#);
    let expected = outcome(serialize::parse(&doc));
    assert!(expected.is_ok());
    assert_eq!(streamed(doc.as_bytes(), 16), expected);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]

    /// Any document: the reader agrees with the plain reader whenever it
    /// decides, and streaming it in chunks of any size reads the same.
    #[test]
    fn any_document_reads_alike(doc in any_document(), compact: bool, chunk in 1usize..200) {
        let text = if compact { doc.to_string() } else { serde_json::to_string_pretty(&doc).unwrap() };
        let plain = outcome(read_plain(&text));
        if let Some(store) = read_str(&text) {
            proptest::prop_assert_eq!(outcome(Ok(store)), plain.clone());
        }
        proptest::prop_assert_eq!(streamed(text.as_bytes(), chunk), plain.clone());
        // What loads round-trips: serialize, then stream it back.
        if let Ok((counts, written)) = plain {
            proptest::prop_assert_eq!(streamed(written.as_bytes(), chunk), Ok((counts, written.clone())));
            let cache = crate::cache::TokenCache::new();
            cache.deserialize_reader(Cursor::new(written.as_bytes())).unwrap();
            proptest::prop_assert_eq!(cache.serialize().unwrap(), written);
        }
    }
}
