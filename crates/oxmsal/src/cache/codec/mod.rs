//! The cache document: MSAL's unified-schema JSON, read into a [`Store`] and
//! written back from one. Nothing outside this module reads or writes the
//! document's text; the rest of the cache goes through its door:
//!
//! - [`parse`] / [`parse_whole`]: a document in memory into a store;
//! - [`read_stream`]: the same from a reader, entry by entry, never holding
//!   the whole text;
//! - [`write`]: a store into a document.
//!
//! Reading is strict about shape (the document, each known section and each
//! entry must be JSON objects; typed fields must have their type) so a foreign
//! or damaged file is reported, naming what is wrong, instead of half-loaded.
//! Unknown top-level sections and unknown fields are kept verbatim. Writing
//! sorts entries by key, so the same cache always gives the same bytes, and
//! indents by four spaces like MSAL Python's `json.dumps(indent=4)`.
//!
//! Speed: a document in memory written as every MSAL writes it is read in
//! one pass, byte by byte, by `fast.rs`; any other document, and every
//! stream, goes straight into typed entries through serde_json's parser and
//! the visitors in `read.rs` (keys, field names and strings without escapes
//! borrowed from the text, known fields never built into JSON values). A
//! load's access-token secrets are copied into shared blocks (`secrets.rs`).
//! A document those readers decline — anything malformed, and the odd valid
//! one with a repeated name — is read again the plain way (a JSON value
//! tree, then entry by entry), which decides the result and words the error.
//! The writer writes by hand into one string.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::entity::{Entity, Member};
use super::fields::kind;
use super::store::Store;
use crate::error::{Error, Result};

mod document;
mod fast;
mod read;
pub(crate) mod secrets;
mod sizing;

pub(crate) use document::{
    section_index, LoadError, ACCESS_TOKEN, ACCOUNT, APP_METADATA, ID_TOKEN, REFRESH_TOKEN,
    SECTIONS,
};
pub(crate) use read::CHUNK;
pub(crate) use secrets::Loaded;

/// Reads a whole document, the access tokens' secrets still in `text`
/// ([`Loaded`] copies them), or declines (`None`): the fast path for what
/// MSAL writes, else serde's parser.
pub(crate) fn read_whole(text: &str) -> Option<Loaded<'_>> {
    fast::read(text).or_else(|| read::read_whole_by_serde(text))
}

/// Reads a document from `reader`, entry by entry (`chunk` bytes at a time);
/// what the streaming reader declines is read again whole, the plain way —
/// so the result and the errors are those of [`parse`].
pub(crate) fn read_stream<R: std::io::Read + std::io::Seek>(
    reader: R,
    chunk: usize,
) -> std::result::Result<Store, LoadError> {
    match read::read_stream(reader, chunk)? {
        read::Streamed::Read(store) => Ok(*store),
        read::Streamed::Declined(text) => parse(&text).map_err(LoadError::Document),
    }
}

/// At most this many characters of an entry key go into an error message.
const KEY_EXCERPT: usize = 120;

fn shorten(key: &str) -> String {
    match key.char_indices().nth(KEY_EXCERPT) {
        Some((cut, _)) => format!("{}…", &key[..cut]),
        None => key.to_owned(),
    }
}

/// Reads a cache document. An empty (or all-whitespace) document is an empty
/// cache, as in MSAL Python.
pub(crate) fn parse(json: &str) -> Result<Store> {
    parse_whole(json).map(Loaded::finish)
}

/// [`parse`], the access tokens' secrets possibly still in `json`.
pub(crate) fn parse_whole(json: &str) -> Result<Loaded<'_>> {
    if json.trim().is_empty() {
        return Ok(Loaded::complete(Store::default()));
    }
    match read_whole(json) {
        Some(loaded) => Ok(loaded),
        // Malformed, or a repeated name: the plain reader decides.
        None => read_plain(json).map(Loaded::complete),
    }
}

// ---------------------------------------------------------------------------
// The plain reader: a JSON value tree, then each entry. It defines what a
// document means and how a bad one is reported.

/// A section's entries, each checked to be an object.
fn entries_of(section: &str, value: Value) -> Result<Vec<(String, Map<String, Value>)>> {
    let Value::Object(entries) = value else {
        return Err(Error::cache(
            format!(
                "the token cache's `{section}` section is {}, not a JSON object",
                kind(&value)
            ),
            None,
        ));
    };
    entries
        .into_iter()
        .map(|(key, entry)| match entry {
            Value::Object(object) => Ok((key, object)),
            other => Err(Error::cache(
                format!(
                    "the token cache's `{section}` entry `{}` is {}, not a JSON object",
                    shorten(&key),
                    kind(&other)
                ),
                None,
            )),
        })
        .collect()
}

/// Reads each entry of a section as an `E`, then `put`s it.
fn load<E: Entity>(section: &str, value: Value, mut put: impl FnMut(String, E)) -> Result<()> {
    for (key, object) in entries_of(section, value)? {
        let entry = E::parse(object).map_err(|problem| {
            Error::cache(
                format!(
                    "the token cache's `{section}` entry `{}`: {problem}",
                    shorten(&key)
                ),
                None,
            )
        })?;
        put(key, entry);
    }
    Ok(())
}

pub(crate) fn read_plain(json: &str) -> Result<Store> {
    let mut store = Store::default();
    // serde_json's messages give a position, never the input, so no token leaks.
    let value: Value = serde_json::from_str(json)
        .map_err(|e| Error::cache("the token cache is not JSON", Some(Box::new(e))))?;
    let Value::Object(sections) = value else {
        return Err(Error::cache(
            format!("the token cache is {}, not a JSON object", kind(&value)),
            None,
        ));
    };
    for (name, value) in sections {
        match name.as_str() {
            ACCESS_TOKEN => load(&name, value, |k, e| store.put_access_token(&k, e))?,
            REFRESH_TOKEN => load(&name, value, |k, e| store.refresh_tokens.put(k, e))?,
            ID_TOKEN => load(&name, value, |k, e| store.id_tokens.put(k, e))?,
            ACCOUNT => load(&name, value, |k, e| store.accounts.put(k, e))?,
            APP_METADATA => load(&name, value, |k, e| store.app_metadata.put(k, e))?,
            _ => {
                store.other_sections.insert(name, value);
            }
        }
    }
    Ok(store)
}

// ---------------------------------------------------------------------------
// The writer: serde_json's pretty format with a four-space indent, by hand.

/// Writes a cache document.
pub(crate) fn write(store: &Store) -> Result<String> {
    let mut doc = String::with_capacity(size_hint(store));
    let (out, first) = (&mut doc, &mut true);
    out.push('{');
    section(out, first, ACCESS_TOKEN, store.access_tokens().iter());
    section(out, first, REFRESH_TOKEN, store.refresh_tokens.iter());
    section(out, first, ID_TOKEN, store.id_tokens.iter());
    section(out, first, ACCOUNT, store.accounts.iter());
    section(out, first, APP_METADATA, store.app_metadata.iter());
    for (name, value) in &store.other_sections {
        key(out, first, 1, name);
        write_value(out, value, 1);
    }
    out.push_str("\n}");
    Ok(doc)
}

/// A little more than the document's length, so the string never grows:
/// growing near the end copies the whole text into a buffer twice its size
/// (on a 21 MB document, half the time went to that copy and to the page
/// faults of the new buffer). Reserving too much costs little: pages never
/// written are never touched.
fn size_hint(store: &Store) -> usize {
    /// An entry's text besides its key, its secret and the identifiers the
    /// key repeats (home account, environment, client, realm, target):
    /// indentation, member names, timestamps.
    const PER_ENTRY: usize = 512;
    fn of<'a, E: Entity + 'a>(entries: impl Iterator<Item = (&'a str, &'a E)>) -> usize {
        entries
            .map(|(k, e)| {
                let secret = e.raw().secret().map_or(0, |s| s.expose_secret().len());
                2 * k.len() + secret + PER_ENTRY
            })
            .sum()
    }
    256 + of(store.access_tokens().iter())
        + of(store.refresh_tokens.iter())
        + of(store.id_tokens.iter())
        + of(store.accounts.iter())
        + of(store.app_metadata.iter())
}

const INDENT: &str = "                                                                ";

fn indent(out: &mut String, depth: usize) {
    let mut spaces = depth * 4;
    while spaces > 0 {
        let n = spaces.min(INDENT.len());
        out.push_str(&INDENT[..n]);
        spaces -= n;
    }
}

/// The start of a member of an object at `depth`, up to its value.
fn key(out: &mut String, first: &mut bool, depth: usize, name: &str) {
    out.push_str(if std::mem::take(first) { "\n" } else { ",\n" });
    indent(out, depth);
    write_str(out, name);
    out.push_str(": ");
}

/// The end of a container at `depth`: on a line of its own unless the
/// container is empty (`{}`, as serde_json writes it).
fn close(out: &mut String, empty: bool, depth: usize, bracket: char) {
    if !empty {
        out.push('\n');
        indent(out, depth);
    }
    out.push(bracket);
}

/// One section, entries sorted by key.
fn section<'a, E: Entity + 'a>(
    out: &mut String,
    first: &mut bool,
    name: &str,
    entries: impl Iterator<Item = (&'a str, &'a E)>,
) {
    key(out, first, 1, name);
    let mut sorted: Vec<(&str, &E)> = entries.collect();
    sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
    out.push('{');
    let mut first_entry = true;
    for (entry_key, entry) in &sorted {
        key(out, &mut first_entry, 2, entry_key);
        out.push('{');
        let mut first_member = true;
        for (member, value) in entry.raw().members(*entry) {
            key(out, &mut first_member, 3, member);
            match value {
                Member::Str(s) => write_str(out, s),
                Member::PlainStr(s) => {
                    out.push('"');
                    out.push_str(s);
                    out.push('"');
                }
                Member::Null => out.push_str("null"),
                Member::Num(n) => {
                    let _ = write!(out, "{n}");
                }
                Member::NumStr(n) => {
                    let _ = write!(out, "\"{n}\"");
                }
                Member::Value(v) => write_value(out, v, 3),
            }
        }
        close(out, first_member, 2, '}');
    }
    close(out, sorted.is_empty(), 1, '}');
}

/// A JSON value that is a member (or element) of a container at `depth`.
fn write_value(out: &mut String, value: &Value, depth: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        // `Number`'s Display is serde_json's own rendering (itoa, ryu).
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                out.push_str(if i == 0 { "\n" } else { ",\n" });
                indent(out, depth + 1);
                write_value(out, item, depth + 1);
            }
            close(out, items.is_empty(), depth, ']');
        }
        Value::Object(members) => {
            out.push('{');
            let mut first = true;
            for (name, member) in members {
                key(out, &mut first, depth + 1, name);
                write_value(out, member, depth + 1);
            }
            close(out, members.is_empty(), depth, '}');
        }
    }
}

/// Whether a byte must be escaped in a JSON string (as serde_json does: control
/// characters, `"` and `\`; nothing else).
const fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Non-zero when any of 8 bytes may need escaping (no false negatives; a
/// false positive only sends the block down the byte-by-byte path).
fn escape_bits(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    control | has_zero(word ^ (ONES * u64::from(b'"'))) | has_zero(word ^ (ONES * u64::from(b'\\')))
}

/// A JSON string, escaped exactly as serde_json escapes it. Runs without
/// escapes (all of a token) are checked eight bytes at a time and copied whole.
fn write_str(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut run_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(block) = bytes.get(i..i + 32) {
            let flagged = block.chunks_exact(8).fold(0, |any, w| {
                any | escape_bits(u64::from_le_bytes(w.try_into().unwrap_or_default()))
            });
            if flagged == 0 {
                i += 32;
                continue;
            }
        }
        let b = bytes[i];
        if needs_escape(b) {
            // `i` is at an ASCII byte, so both cuts are on character boundaries.
            out.push_str(&s[run_start..i]);
            match b {
                b'"' => out.push_str("\\\""),
                b'\\' => out.push_str("\\\\"),
                b'\n' => out.push_str("\\n"),
                b'\r' => out.push_str("\\r"),
                b'\t' => out.push_str("\\t"),
                0x08 => out.push_str("\\b"),
                0x0C => out.push_str("\\f"),
                _ => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    out.push_str("\\u00");
                    out.push(char::from(HEX[usize::from(b >> 4)]));
                    out.push(char::from(HEX[usize::from(b & 0xF)]));
                }
            }
            run_start = i + 1;
        }
        i += 1;
    }
    out.push_str(&s[run_start..]);
    out.push('"');
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde::Serialize as _;
    use serde_json::json;

    /// What serde_json's pretty printer writes with a four-space indent.
    fn pretty(value: &Value) -> String {
        let mut out = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
        let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
        value.serialize(&mut serializer).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_text_fits_in_what_is_reserved_for_it() {
        // One entry of each kind, as MSAL Python writes them for a work
        // account: the hint must cover the text, or the string grows (a copy
        // of everything written so far) just before it is done.
        let home = "9f4880d8-80ba-4c40-97bc-f7a23c703084.72f988bf-86f1-41af-91ab-2d7cd011db47";
        let (env, client) = (
            "login.microsoftonline.com",
            "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
        );
        let realm = "72f988bf-86f1-41af-91ab-2d7cd011db47";
        let doc = json!({
            "AccessToken": {
                format!("{home}-{env}-accesstoken-{client}-{realm}-https://management.core.windows.net//user_impersonation https://management.core.windows.net//.default"): {
                    "credential_type": "AccessToken", "secret": "a.b.c", "home_account_id": home,
                    "environment": env, "client_id": client,
                    "target": "https://management.core.windows.net//user_impersonation https://management.core.windows.net//.default",
                    "realm": realm, "token_type": "Bearer", "cached_at": "1764000000",
                    "expires_on": "1764004155", "extended_expires_on": "1764008555",
                    "refresh_on": "1764002000"
                }
            },
            "RefreshToken": {
                format!("{home}-{env}-refreshtoken-{client}--https://management.core.windows.net//user_impersonation https://management.core.windows.net//.default"): {
                    "credential_type": "RefreshToken", "secret": "r", "home_account_id": home,
                    "environment": env, "client_id": client,
                    "target": "https://management.core.windows.net//user_impersonation https://management.core.windows.net//.default",
                    "last_modification_time": "1764000000", "family_id": "1"
                }
            },
            "IdToken": {
                format!("{home}-{env}-idtoken-{client}-{realm}-"): {
                    "credential_type": "IdToken", "secret": "i.d.t", "home_account_id": home,
                    "environment": env, "realm": realm, "client_id": client
                }
            },
            "Account": {
                format!("{home}-{env}-{realm}"): {
                    "home_account_id": home, "environment": env, "realm": realm,
                    "local_account_id": "9f4880d8-80ba-4c40-97bc-f7a23c703084",
                    "username": "someone.with.a.long.name@contoso.onmicrosoft.com",
                    "authority_type": "MSSTS", "account_source": "authorization_code"
                }
            },
            "AppMetadata": {
                format!("appmetadata-{env}-{client}"): {
                    "client_id": client, "environment": env, "family_id": "1"
                }
            }
        });
        // Each kind on its own (a short one must not make up for a long one).
        for (section, entries) in doc.as_object().unwrap() {
            let store = parse(&pretty(&json!({ section: entries }))).unwrap();
            let (hint, text) = (size_hint(&store), write(&store).unwrap());
            assert!(hint >= text.len(), "{section}: {hint} < {}", text.len());
        }
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let mut all: String = (0u8..0x80).map(char::from).collect();
        all.push_str("é→😀\u{7f}\u{2028}");
        let long = format!(
            "{}\"{}\\{}\n",
            "a".repeat(70),
            "b".repeat(33),
            "c".repeat(40)
        );
        for s in [
            all.as_str(),
            long.as_str(),
            "",
            "plain",
            "\u{0}",
            "ünïcödé and \"quotes\"",
        ] {
            let mut out = String::new();
            write_str(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn values_are_written_as_serde_json_pretty_prints_them() {
        let value = json!({"a": [], "b": {}, "c": [1, -2, 2.5, 1e300, true, null, "x", {"d": [[]]}],
                           "e": {"f": {"g": 0.1}}, "": u64::MAX});
        let mut out = String::new();
        write_value(&mut out, &value, 0);
        assert_eq!(out, pretty(&value));
    }

    /// Any value: scalars of the kinds timestamps and strings come in, and
    /// small arrays and objects.
    pub(crate) fn any_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<u64>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            prop_oneof![
                Just(String::new()),
                Just(" 7 ".to_owned()),
                Just("007".to_owned()),
                Just("18446744073709551616".to_owned()),
                Just("2.5".to_owned()),
                Just("AccessToken".to_owned()),
                "[0-9]{1,3}",
                "\\PC{0,8}",
            ]
            .prop_map(Value::String),
        ];
        leaf.prop_recursive(2, 6, 3, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                proptest::collection::vec(("[a-c]", inner), 0..3)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    /// A document: each known section with entries made of the fields every
    /// kind knows (and some it does not), in any order, of any type.
    pub(crate) fn any_document() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        const NAMES: &[&str] = &[
            "credential_type",
            "secret",
            "home_account_id",
            "environment",
            "client_id",
            "target",
            "realm",
            "token_type",
            "cached_at",
            "expires_on",
            "extended_expires_on",
            "ext_expires_on",
            "refresh_on",
            "ext_cache_key",
            "last_modification_time",
            "family_id",
            "local_account_id",
            "username",
            "authority_type",
            "account_source",
            "key_id",
            "unknown",
        ];
        let entry =
            proptest::collection::vec((proptest::sample::select(NAMES), any_value()), 0..10)
                .prop_map(|kv| {
                    Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
                });
        let section = proptest::collection::vec(("[a-c]{1,2}", entry), 0..4)
            .prop_map(|kv| Value::Object(kv.into_iter().collect()));
        (
            proptest::collection::vec(section, 5),
            proptest::option::of(any_value()),
            proptest::sample::subsequence(vec![0usize, 1, 2, 3, 4, 5], 0..=6),
        )
            .prop_map(|(sections, unknown, order)| {
                let names = [
                    ACCESS_TOKEN,
                    REFRESH_TOKEN,
                    ID_TOKEN,
                    ACCOUNT,
                    APP_METADATA,
                    "Other",
                ];
                let mut doc = Map::new();
                for i in order {
                    let value = if i == 5 {
                        unknown.clone()
                    } else {
                        sections.get(i).cloned()
                    };
                    if let Some(value) = value {
                        doc.insert(names[i].to_owned(), value);
                    }
                }
                Value::Object(doc)
            })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// What loads is written back member for member as it came: the five
        /// sections first (entries sorted by key), then the unknown ones. What
        /// does not load is refused by both readers alike.
        #[test]
        fn documents_are_written_back_exactly(doc in any_document(), compact: bool) {
            let text = if compact { doc.to_string() } else { pretty(&doc) };
            let Ok(store) = parse(&text) else {
                proptest::prop_assert!(read_plain(&text).is_err());
                return Ok(());
            };
            proptest::prop_assert!(store.check_consistency().is_ok());
            let mut expected = Map::new();
            for name in [ACCESS_TOKEN, REFRESH_TOKEN, ID_TOKEN, ACCOUNT, APP_METADATA] {
                let mut entries: Vec<(String, Value)> = doc
                    .get(name)
                    .and_then(Value::as_object)
                    .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                expected.insert(name.to_owned(), Value::Object(entries.into_iter().collect()));
            }
            if let Some(other) = doc.get("Other") {
                expected.insert("Other".to_owned(), other.clone());
            }
            let written = write(&store).unwrap();
            proptest::prop_assert_eq!(&written, &pretty(&Value::Object(expected)));
            proptest::prop_assert_eq!(write(&parse(&written).unwrap()).unwrap(), written);
        }
    }

    /// The fast reader gives up on what it must not decide; the plain one then
    /// reads the document as before.
    #[test]
    fn repeated_names_are_read_as_before() {
        let docs = [
            r#"{"AccessToken": {"k": {"secret": "a", "secret": "b"}}}"#,
            r#"{"AccessToken": {"k": {"expires_on": "x"}, "k": {"expires_on": "5"}}}"#,
            r#"{"AccessToken": {"k": {"x": 1, "x": 2}}}"#,
            r#"{"Account": {"a": {"home_account_id": "h"}}, "Account": {}}"#,
            r#"{"Z": 1, "AccessToken": {}, "Z": 2}"#,
        ];
        for (i, doc) in docs.into_iter().enumerate() {
            // A repeated unknown section is kept in place, last value, either way.
            assert_eq!(super::read::read_str(doc).is_none(), i < 4, "{doc}");
            let store = parse(doc).unwrap();
            assert_eq!(
                write(&store).unwrap(),
                write(&read_plain(doc).unwrap()).unwrap()
            );
        }
        let store = parse(docs[1]).unwrap();
        assert_eq!(store.access_tokens().get("k").unwrap().expires_on, 5);
        assert_eq!(store.accounts.entries().len(), 0);
    }
}
