//! The serde reader of cache documents: serde_json's parser driving visitors
//! that read each entry straight into its typed form ([`Fields`], then
//! [`Entity::build`]), with field names, keys and strings without escapes
//! borrowed from the text. It never builds a JSON tree of the document. A
//! whole document in memory is first offered to the fast path (`fast.rs`).
//!
//! It decides only the documents it reads whole: on anything else —
//! malformed JSON, a known section or entry that is not an object, a
//! repeated section or field name, an entry that does not build — it
//! *declines*, and the plain reader ([`super::read_plain`]) decides and words
//! the error. So it needs no error messages of its own, and what it accepts
//! it reads exactly as the plain reader would.

use std::borrow::Cow;
use std::fmt;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::marker::PhantomData;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use super::document::{section_index, LoadError};
use super::secrets::{Batch, Loaded};
use super::sizing::Sizing;
use crate::cache::entity::{AccessTokenEntry, Entity, Fields, Scalar};
use crate::cache::store::Store;
use crate::secret::WipedString;

/// How many bytes a streaming read takes from its reader at a time.
pub(crate) const CHUNK: usize = 1 << 20;

/// The reader's only error: leave it to the plain reader.
fn declined<E: de::Error>() -> E {
    E::custom("declined")
}

/// Reads a whole document, or declines (`None`).
#[cfg(test)]
pub(crate) fn read_str(text: &str) -> Option<crate::cache::store::Store> {
    super::read_whole(text).map(Loaded::finish)
}

/// A whole document read by serde's parser (the fast path declined it).
pub(super) fn read_whole_by_serde(text: &str) -> Option<Loaded<'_>> {
    let mut store = Store::default();
    let mut secrets = Batch::keeping_all();
    let mut reader = serde_json::Deserializer::from_str(text);
    let read = Document {
        section: None,
        store: &mut store,
        secrets: &mut secrets,
        fields: &mut Fields::new(),
        sizing: &mut Sizing::of(text),
    }
    .deserialize(&mut reader)
    .and_then(|()| reader.end());
    read.ok().map(|()| Loaded { store, secrets })
}

/// Reads a document from `reader`, a buffer of `chunk` bytes at a time, entry
/// by entry: the whole text is never held. A document the reader declines is
/// read again from where `reader` started, whole, the plain way — so the
/// result and the errors are those of [`super::parse`].
pub(crate) fn read_stream<R: Read + Seek>(
    mut reader: R,
    chunk: usize,
) -> Result<Streamed, LoadError> {
    let origin = reader.stream_position().map_err(LoadError::Io)?;
    let mut store = Store::default();
    let read = {
        let mut secrets = Batch::default();
        let buffered = BufReader::with_capacity(chunk.max(1), &mut reader);
        let mut json = serde_json::Deserializer::from_reader(buffered);
        let read = Document {
            section: None,
            store: &mut store,
            secrets: &mut secrets,
            fields: &mut Fields::new(),
            sizing: &mut Sizing::Unknown,
        }
        .deserialize(&mut json)
        .and_then(|()| json.end());
        secrets.store_into(&mut store, &mut Vec::new());
        read
    };
    match read {
        Ok(()) => return Ok(Streamed::Read(Box::new(store))),
        Err(e) if e.is_io() => return Err(LoadError::Io(e.into())),
        Err(_) => {}
    }
    // Declined: the partial store goes first, then the plain way decides.
    drop(store);
    reader
        .seek(SeekFrom::Start(origin))
        .map_err(LoadError::Io)?;
    let mut text = WipedString::default();
    reader.read_to_string(&mut text).map_err(LoadError::Io)?;
    Ok(Streamed::Declined(text))
}

/// What a streaming read made of a reader.
pub(crate) enum Streamed {
    /// The whole document, read entry by entry.
    Read(Box<Store>),
    /// Declined: the whole text, for the plain reader to decide.
    Declined(WipedString),
}

/// The document and, nested, each known section: what is read, and where into.
struct Document<'s, 'de> {
    /// `None`: the document, its sections each read into the store; else a
    /// known section (its index in [`super::SECTIONS`]), its entries.
    section: Option<usize>,
    store: &'s mut Store,
    secrets: &'s mut Batch<'de>,
    fields: &'s mut Fields<'de>,
    sizing: &'s mut Sizing,
}

impl<'de> DeserializeSeed<'de> for Document<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Document<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.section {
            None => "a token cache",
            Some(_) => "a map of entries",
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        match self.section {
            None => self.sections(map),
            Some(section) => self.entries(section, map),
        }
    }
}

impl<'de> Document<'_, 'de> {
    fn sections<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = [false; 5];
        while let Some(Text(name)) = map.next_key()? {
            let Some(section) = section_index(&name) else {
                // A repeated unknown section keeps its first place and its
                // last value, as in the plain reader's map.
                let value: Value = map.next_value()?;
                self.store.other_sections.insert(name.into_owned(), value);
                continue;
            };
            match seen.get_mut(section) {
                // Repeated: the plain reader keeps the last.
                Some(true) | None => return Err(declined()),
                Some(seen) => *seen = true,
            }
            map.next_value_seed(Document {
                section: Some(section),
                store: &mut *self.store,
                secrets: &mut *self.secrets,
                fields: &mut *self.fields,
                sizing: &mut *self.sizing,
            })?;
        }
        Ok(())
    }

    fn entries<A: MapAccess<'de>>(self, section: usize, mut map: A) -> Result<(), A::Error> {
        let (store, fields) = (self.store, self.fields);
        while let Some(Text(key)) = map.next_key()? {
            match section {
                0 => {
                    // The secret is left to the batch, which copies it into
                    // a block shared with its neighbours'.
                    let read = |f: &mut _| entry::<_, AccessTokenEntry>(&mut map, f);
                    let (built, secret) = fields.deferring_secret(read);
                    self.secrets.put(store, &key, built?, secret);
                    self.sizing.count(&key, store);
                }
                1 => store.refresh_tokens.put(&*key, entry(&mut map, fields)?),
                2 => store.id_tokens.put(&*key, entry(&mut map, fields)?),
                3 => store.accounts.put(&*key, entry(&mut map, fields)?),
                _ => store.app_metadata.put(&*key, entry(&mut map, fields)?),
            }
        }
        Ok(())
    }
}

/// Reads the next value of `map` as an entry of kind `E` and builds it.
fn entry<'de, A: MapAccess<'de>, E: Entity>(
    map: &mut A,
    fields: &mut Fields<'de>,
) -> Result<E, A::Error> {
    map.next_value_seed(Entry::<E>::new(fields))?;
    // An entry that does not build: the plain reader words why.
    E::build(fields).map_err(|_| declined())
}

/// An entry object of kind `E`, read into `fields`.
struct Entry<'s, 'de, E> {
    fields: &'s mut Fields<'de>,
    kind: PhantomData<E>,
}

impl<'s, 'de, E> Entry<'s, 'de, E> {
    fn new(fields: &'s mut Fields<'de>) -> Self {
        Entry {
            fields,
            kind: PhantomData,
        }
    }
}

impl<'de, E: Entity> DeserializeSeed<'de> for Entry<'_, 'de, E> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, E: Entity> Visitor<'de> for Entry<'_, 'de, E> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an entry")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.fields.start::<E>();
        while let Some(Text(name)) = map.next_key()? {
            let added = match E::field_id(&name) {
                Some(id) => {
                    let ScalarValue(value) = map.next_value()?;
                    self.fields.add_known(id, value)
                }
                None => self.fields.add_verbatim(name, map.next_value()?),
            };
            if !added {
                // A repeated name: the plain reader keeps the last.
                return Err(declined());
            }
        }
        Ok(())
    }
}

/// A string, borrowed from the document when it has no escapes.
struct Text<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E>(self, s: String) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Owned(s)))
    }
}

/// A known field's value, as the plain reader classifies it
/// ([`Scalar::from_value`]) but with strings borrowed where they can be.
struct ScalarValue<'de>(Scalar<'de>);

impl<'de> Deserialize<'de> for ScalarValue<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl ScalarVisitor {
    fn other<'de>(value: Value) -> ScalarValue<'de> {
        ScalarValue(Scalar::from_value(value))
    }
}

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = ScalarValue<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(ScalarValue(Scalar::Null))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Self::Value, E> {
        Ok(ScalarValue(Scalar::Int(n)))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(ScalarValue(Scalar::Str(Cow::Borrowed(s))))
    }

    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(ScalarValue(Scalar::Str(Cow::Owned(s.to_owned()))))
    }

    fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
        Ok(ScalarValue(Scalar::Str(Cow::Owned(s))))
    }

    // The rest as serde_json's own `Value` reads them.
    fn visit_bool<E>(self, b: bool) -> Result<Self::Value, E> {
        Ok(Self::other(Value::Bool(b)))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Self::Value, E> {
        Ok(Self::other(Value::from(n)))
    }

    fn visit_f64<E>(self, f: f64) -> Result<Self::Value, E> {
        Ok(Self::other(
            serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        ))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Value::deserialize(SeqAccessDeserializer::new(seq)).map(Self::other)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Value::deserialize(MapAccessDeserializer::new(map)).map(Self::other)
    }
}

#[cfg(test)]
mod tests;
