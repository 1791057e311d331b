//! Whether a text has the shape of a cache document, read without building
//! anything: a JSON object whose known sections are objects of objects (of a
//! name given twice, the last counts, as a JSON reader keeps it). Skimming
//! takes about a quarter of the time of building a JSON tree of the text (a
//! 21 MB cache: 4.6–5 ms against 15–28 ms); the entries' fields are checked
//! when the document is merged.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer as _, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::cache::codec::{section_index, SECTIONS};

/// `Ok` when `text` is empty (an empty cache) or shaped like a cache
/// document; else what is wrong, in words that never quote the text (so no
/// token can leak into an error).
pub(super) fn check(text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Ok(());
    }
    let mut reader = serde_json::Deserializer::from_str(text);
    let sections = reader
        .deserialize_any(Document)
        .and_then(|sections| reader.end().map(|()| sections))
        .map_err(|e| format!("not JSON: {e}"))?;
    let Some(sections) = sections else {
        return Err("not a JSON object".into());
    };
    match SECTIONS
        .iter()
        .zip(sections)
        .find(|(_, ok)| *ok == Some(false))
    {
        Some((name, _)) => Err(format!("its `{name}` section is not a map of entries")),
        None => Ok(()),
    }
}

/// Reads any value; for an object, whether each known section (the last of
/// its name) is a map of entries. `None`: not an object.
struct Document;

/// Reads any value: whether it is objects `levels` deep — 1: an object (an
/// entry); 2: an object whose values are all objects (a section).
#[derive(Clone, Copy)]
struct Objects {
    levels: u8,
}

/// A section is objects two levels deep: entries in a map.
const SECTION: Objects = Objects { levels: 2 };

/// Reads a key: the index in [`SECTIONS`] of the section it names, if any.
struct SectionName;

/// The `visit_*` methods of a visitor that answers `$no` for every value but
/// an object (arrays are read through, their items ignored).
macro_rules! only_objects {
    ($no:expr) => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok($no)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok($no)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok($no)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok($no)
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok($no)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok($no)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Self::Value, A::Error> {
            while items.next_element::<IgnoredAny>()?.is_some() {}
            Ok($no)
        }
    };
}

impl<'de> Visitor<'de> for Document {
    type Value = Option<[Option<bool>; 5]>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a cache document")
    }

    only_objects!(None);

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<Self::Value, A::Error> {
        let mut sections = [None; 5];
        while let Some(known) = members.next_key_seed(SectionName)? {
            match known.and_then(|i| sections.get_mut(i)) {
                Some(section) => *section = Some(members.next_value_seed(SECTION)?),
                None => {
                    members.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Some(sections))
    }
}

impl<'de> Visitor<'de> for Objects {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    only_objects!(false);

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<bool, A::Error> {
        let inner = Objects {
            levels: self.levels.saturating_sub(1),
        };
        let mut all = true;
        while members.next_key::<IgnoredAny>()?.is_some() {
            if inner.levels == 0 {
                members.next_value::<IgnoredAny>()?;
            } else {
                all &= members.next_value_seed(inner)?;
            }
        }
        Ok(all)
    }
}

impl<'de> DeserializeSeed<'de> for Objects {
    type Value = bool;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for SectionName {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a section name")
    }

    fn visit_str<E>(self, name: &str) -> Result<Option<usize>, E> {
        Ok(section_index(name))
    }
}

impl<'de> DeserializeSeed<'de> for SectionName {
    type Value = Option<usize>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::strategy::Strategy as _;

    /// The check it replaced: a JSON tree, then a look at it.
    fn by_tree(text: &str) -> Result<(), String> {
        if text.trim().is_empty() {
            return Ok(());
        }
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let serde_json::Value::Object(sections) = value else {
            return Err("not a JSON object".into());
        };
        for name in SECTIONS {
            match sections.get(name) {
                None => {}
                Some(serde_json::Value::Object(entries))
                    if entries.values().all(serde_json::Value::is_object) => {}
                Some(_) => return Err(format!("its `{name}` section is not a map of entries")),
            }
        }
        Ok(())
    }

    #[test]
    fn skimming_judges_as_the_json_tree_did() {
        let cases = [
            "",
            "  \n",
            "{}",
            r#"{"AccessToken": {}, "Unknown": [1, {"a": null}], "X": "y"}"#,
            r#"{"AccessToken": {"k": {"secret": "s", "n": [1, 2.5, true, null, {"a": "\u00e9"}]}}}"#,
            r#"{"AccessToken": 7}"#,
            r#"{"RefreshToken": {"k": []}}"#,
            r#"{"IdToken": {"k": {}, "l": "text"}}"#,
            r#"{"Account": null}"#,
            r#"{"AppMetadata": [{"a": 1}]}"#,
            // A name given twice: the last one counts.
            r#"{"AccessToken": 7, "AccessToken": {}}"#,
            r#"{"AccessToken": {}, "AccessToken": 7}"#,
            r#"{"Acc\u0065ssToken": 7}"#,
            "[1, 2]",
            "\"text\"",
            "7",
            "null",
            "{",
            "{} {}",
            "{\"a\": 1,}",
            "not json at all",
            r#"{"AccessToken": {"k": {"secret": "unterminated}}}"#,
        ];
        for text in cases {
            assert_eq!(check(text), by_tree(text), "{text}");
        }
    }

    proptest::proptest! {
        /// Documents of every shape, whole or cut anywhere.
        #[test]
        fn any_text_is_judged_as_the_json_tree_did(
            doc in proptest::prop_oneof![
                crate::cache::codec::tests::any_document(),
                proptest::collection::vec(
                    (proptest::sample::select(&SECTIONS[..]), crate::cache::codec::tests::any_value()),
                    0..4,
                ).prop_map(|kv| serde_json::Value::Object(
                    kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
                )),
            ],
            pretty: bool,
            cut in proptest::option::of(0usize..400),
        ) {
            let text = if pretty { serde_json::to_string_pretty(&doc).unwrap() } else { doc.to_string() };
            let text = cut.and_then(|at| text.get(..at)).unwrap_or(&text);
            // Of text that is not JSON, serde's words may differ (a number
            // cut by the end: "invalid number" or "EOF"); the verdict may not.
            let verdict = |r: Result<(), String>| r.map_err(|e| {
                if e.starts_with("not JSON:") { "not JSON".to_owned() } else { e }
            });
            proptest::prop_assert_eq!(verdict(check(text)), verdict(by_tree(text)));
        }
    }
}
