//! The cache document: MSAL's unified-schema JSON, read into a [`Store`] and
//! written back from one.
//!
//! Reading is strict about shape (the document, each known section and each
//! entry must be JSON objects; typed fields must have their type) so a foreign
//! or damaged file is reported, naming what is wrong, instead of half-loaded.
//! Unknown top-level sections and unknown fields are kept verbatim. Writing
//! sorts entries by key, so the same cache always gives the same bytes, and
//! indents by four spaces like MSAL Python's `json.dumps(indent=4)`.

use std::collections::HashMap;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

use super::entity::{
    AccessTokenEntry, AccountEntry, AppMetadataEntry, IdTokenEntry, Raw, RefreshTokenEntry,
};
use super::fields::kind;
use super::store::Store;
use crate::error::{Error, Result};

/// The section names, in the order oxmsal writes them.
pub(crate) const ACCESS_TOKEN: &str = "AccessToken";
pub(crate) const REFRESH_TOKEN: &str = "RefreshToken";
pub(crate) const ID_TOKEN: &str = "IdToken";
pub(crate) const ACCOUNT: &str = "Account";
pub(crate) const APP_METADATA: &str = "AppMetadata";

/// At most this many characters of an entry key go into an error message.
const KEY_EXCERPT: usize = 120;

fn shorten(key: &str) -> String {
    match key.char_indices().nth(KEY_EXCERPT) {
        Some((cut, _)) => format!("{}…", &key[..cut]),
        None => key.to_owned(),
    }
}

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

/// Loads each entry of a section with `parse`, then `put`.
fn load<E>(
    store: &mut Store,
    section: &str,
    value: Value,
    parse: fn(Map<String, Value>) -> std::result::Result<E, String>,
    put: fn(&mut Store, String, E),
) -> Result<()> {
    for (key, object) in entries_of(section, value)? {
        let entry = parse(object).map_err(|problem| {
            Error::cache(
                format!(
                    "the token cache's `{section}` entry `{}`: {problem}",
                    shorten(&key)
                ),
                None,
            )
        })?;
        put(store, key, entry);
    }
    Ok(())
}

/// Reads a cache document. An empty (or all-whitespace) document is an empty
/// cache, as in MSAL Python.
pub(crate) fn parse(json: &str) -> Result<Store> {
    let mut store = Store::default();
    if json.trim().is_empty() {
        return Ok(store);
    }
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
            ACCESS_TOKEN => load(
                &mut store,
                &name,
                value,
                AccessTokenEntry::parse,
                Store::put_access_token,
            )?,
            REFRESH_TOKEN => load(
                &mut store,
                &name,
                value,
                RefreshTokenEntry::parse,
                Store::put_refresh_token,
            )?,
            ID_TOKEN => load(
                &mut store,
                &name,
                value,
                IdTokenEntry::parse,
                Store::put_id_token,
            )?,
            ACCOUNT => load(
                &mut store,
                &name,
                value,
                AccountEntry::parse,
                Store::put_account,
            )?,
            APP_METADATA => load(
                &mut store,
                &name,
                value,
                AppMetadataEntry::parse,
                Store::put_app_metadata,
            )?,
            _ => {
                store.other_sections.insert(name, value);
            }
        }
    }
    Ok(store)
}

/// Writes a cache document.
pub(crate) fn write(store: &Store) -> Result<String> {
    let mut out = Vec::with_capacity(256 + 600 * store.access_tokens().len());
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    Document(store)
        .serialize(&mut serializer)
        .map_err(|e| Error::cache("cannot write the token cache", Some(Box::new(e))))?;
    String::from_utf8(out)
        .map_err(|e| Error::cache("cannot write the token cache", Some(Box::new(e))))
}

/// The whole document: the five sections, then the unknown ones.
struct Document<'a>(&'a Store);

impl Serialize for Document<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let store = self.0;
        let mut map = serializer.serialize_map(Some(5 + store.other_sections.len()))?;
        map.serialize_entry(ACCESS_TOKEN, &Section(store.access_tokens(), |e| &e.raw))?;
        map.serialize_entry(REFRESH_TOKEN, &Section(store.refresh_tokens(), |e| &e.raw))?;
        map.serialize_entry(ID_TOKEN, &Section(store.id_tokens(), |e| &e.raw))?;
        map.serialize_entry(ACCOUNT, &Section(store.accounts(), |e| &e.raw))?;
        map.serialize_entry(APP_METADATA, &Section(store.app_metadata(), |e| &e.raw))?;
        for (name, value) in &store.other_sections {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// One section, entries sorted by key.
struct Section<'a, E>(&'a HashMap<String, E>, fn(&E) -> &Raw);

impl<E> Serialize for Section<'_, E> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut keys: Vec<&String> = self.0.keys().collect();
        keys.sort_unstable();
        let mut map = serializer.serialize_map(Some(keys.len()))?;
        for key in keys {
            if let Some(entry) = self.0.get(key) {
                map.serialize_entry(key, (self.1)(entry))?;
            }
        }
        map.end()
    }
}
