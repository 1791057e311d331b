//! The fast reader of cache documents: a hand-written scanner over bytes that
//! reads the document straight into typed entries, and can do so a chunk at a
//! time from a reader.
//!
//! It decides only the documents it reads whole and plainly: it accepts
//! exactly what the plain reader (a serde_json value tree) accepts, with the
//! same result, or it *declines* and the plain reader decides — and words the
//! error. It declines on anything malformed, on a repeated section or field
//! name, on an entry that does not build, on nesting near serde_json's
//! recursion limit. So it needs no error messages of its own.
//!
//! The document is read in *units* — the opening brace, one section header,
//! one whole entry, a section's closing brace, an unknown section's value, the
//! closing brace — and nothing is stored before a unit is complete. When the
//! bytes end inside a unit, the scanner reports how far it got; a streaming
//! caller then reads more and resumes at the start of that unit. A multibyte
//! character cut by a chunk boundary is therefore never looked at before its
//! string is whole: strings are checked as UTF-8 when their closing quote has
//! been found.
//!
//! Speed: the end of a string is found 64 bytes at a time by a loop without
//! branches that LLVM vectorizes; strings without escapes are borrowed (which
//! also tells the writer a secret needs no escaping); non-negative integers
//! are parsed inline. Anything else (floats, negative numbers, booleans,
//! arrays and objects in fields) is handed to serde_json, one value at a time.
//! An access token written as MSAL writes one (its members in MSAL's order,
//! of MSAL's types) takes a shorter path still (`msal.rs`); any other object
//! is read by the general entry loop here.

use std::borrow::Cow;
use std::io::{self, Read, Seek, SeekFrom};

use crate::secret::{Secret, SecretBlock, WipedBytes, WipedString};
use serde_json::Value;

use super::entity::{AccessTokenEntry, Entity, Fields, Scalar};
use super::serialize::{self, section_index};
use super::store::{Key, SlotId, Store};
use crate::error::Error;

mod msal;

/// How much a streaming load reads at a time. The buffer grows past it only
/// for a single unit (an entry, an unknown section) larger than this.
pub(crate) const CHUNK: usize = 1 << 20;

/// Nesting deeper than this inside a value read whole is left to the plain
/// reader: serde_json's recursion limit counts from the document's root, and
/// a value read on its own would not see the levels above it.
const MAX_VALUE_DEPTH: usize = 100;

/// Why a unit was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// The bytes end inside the unit: more input may complete it.
    More,
    /// Not a document this reader decides.
    Decline,
}

type Step<T> = Result<T, Stop>;

/// The bytes to scan.
struct Input<'a> {
    bytes: &'a [u8],
    /// The same bytes as text, when they are known to be UTF-8 already.
    text: Option<&'a str>,
    /// Whether the input ends with these bytes.
    eof: bool,
}

/// JSON's whitespace: exactly these four.
const fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Whether a byte ends a run of plain string bytes: the closing quote, an
/// escape, or a control character (which JSON forbids in strings).
const fn is_special(b: u8) -> bool {
    b == b'"' || b == b'\\' || b < 0x20
}

/// Bytes per block of [`any_special`].
const BLOCK: usize = 64;

/// Whether any byte of a block is special. Bitwise operators only (no `||`,
/// no early exit) over an array of known length: LLVM turns this into a few
/// vector compares and one OR.
///
/// 64 bytes, not 32: with SSE2 (the baseline of x86-64) the 32-byte form
/// compiles to a reduction that moves masks between lanes, 2.5 GB/s; this one
/// to plain compares and ORs, 21 GB/s (measured on 21 MB of secrets). It was
/// a third of the time of loading a cache of JWT-sized tokens.
fn any_special(block: &[u8; BLOCK]) -> bool {
    let mut any = 0u8;
    for &b in block {
        any |= u8::from(b == b'"') | u8::from(b == b'\\') | u8::from(b < 0x20);
    }
    any != 0
}

/// A run of whitespace of 8 to 16 bytes, as its first and last eight bytes
/// (which overlap below 16): see [`Input::skip_gap`]. `len` 0: none yet.
#[derive(Clone, Copy, Default)]
pub(super) struct Gap {
    len: usize,
    head: u64,
    tail: u64,
}

impl Gap {
    /// `run` (whitespace), when it is 8 to 16 bytes long.
    fn of(run: &[u8]) -> Gap {
        let len = run.len();
        let words = (
            run.get(..8).and_then(word),
            run.get(len.saturating_sub(8)..).and_then(word),
        );
        match words {
            (Some(head), Some(tail)) if len <= 16 => Gap { len, head, tail },
            _ => Gap::default(),
        }
    }
}

/// Eight bytes as one word, little-endian (byte `i` in bits `8i..8i+8`).
fn word(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.try_into().ok()?))
}

/// A byte of `w` is special: the lowest set high bit marks the first one.
///
/// The classic SWAR tests: `(v - 0x01…) & !v & 0x80…` flags zero bytes of `v`
/// (here `w` XOR the quote or the backslash), `(w - 0x20…) & !w & 0x80…`
/// bytes below 0x20. A borrow can flag a byte above a true hit, never below
/// one, so the lowest flag of the OR is exact.
fn special_mask(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let quote = zero(w ^ (ONES * u64::from(b'"')));
    let backslash = zero(w ^ (ONES * u64::from(b'\\')));
    let control = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    quote | backslash | control
}

/// The first special byte in `bytes`, a word at a time.
fn first_special_by_words(bytes: &[u8]) -> Option<usize> {
    let mut words = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut words {
        let mask = special_mask(word(chunk)?);
        if mask != 0 {
            return Some(offset + (mask.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&b| is_special(b))
        .map(|i| offset + i)
}

/// The first special byte at or after `from`. Names and identifiers end
/// within a few words; a token's 1.5 KB go through in vector blocks.
fn find_special(bytes: &[u8], from: usize) -> Option<usize> {
    const SHORT: usize = 32;
    let tail = bytes.get(from..)?;
    let (head, rest) = tail.split_at(tail.len().min(SHORT));
    if let Some(i) = first_special_by_words(head) {
        return Some(from + i);
    }
    let mut chunks = rest.chunks_exact(BLOCK);
    let mut offset = from + head.len();
    for chunk in &mut chunks {
        if let Ok(block) = <&[u8; BLOCK]>::try_from(chunk) {
            if any_special(block) {
                return first_special_by_words(chunk).map(|i| offset + i);
            }
        }
        offset += BLOCK;
    }
    first_special_by_words(chunks.remainder()).map(|i| offset + i)
}

/// How deeply arrays and objects nest in a value (a scalar: 0).
fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(members) => 1 + members.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

impl<'a> Input<'a> {
    /// Running out of bytes: more may come, unless the input has ended.
    fn short(&self) -> Stop {
        if self.eof {
            Stop::Decline
        } else {
            Stop::More
        }
    }

    fn at(&self, pos: usize) -> Step<u8> {
        self.bytes.get(pos).copied().ok_or_else(|| self.short())
    }

    /// [`skip_ws`](Self::skip_ws), trying `gap` first: the whitespace
    /// between the members of an entry is the same all through an MSAL
    /// document (a newline and one indentation), so one comparison of two
    /// words usually finds its end, where the byte loop takes a step per
    /// eight spaces and per other byte. A gap of another length is skipped
    /// the plain way and remembered.
    fn skip_gap(&self, pos: usize, gap: &mut Gap) -> Step<usize> {
        if gap.len != 0 {
            let end = pos + gap.len;
            let head = self.bytes.get(pos..pos + 8).and_then(word);
            let tail = self.bytes.get(end.saturating_sub(8)..end).and_then(word);
            if head == Some(gap.head)
                && tail == Some(gap.tail)
                && matches!(self.bytes.get(end), Some(&b) if !is_ws(b))
            {
                return Ok(end);
            }
        }
        let end = self.skip_ws(pos)?;
        *gap = Gap::of(self.bytes.get(pos..end).unwrap_or_default());
        Ok(end)
    }

    /// The position of the next byte that is not whitespace.
    fn skip_ws(&self, mut pos: usize) -> Step<usize> {
        loop {
            // Indentation, eight spaces at a time.
            while self.bytes.get(pos..pos + 8) == Some(b"        ") {
                pos += 8;
            }
            if !is_ws(self.at(pos)?) {
                return Ok(pos);
            }
            pos += 1;
        }
    }

    /// Past `byte` at `pos`, and the whitespace after it.
    fn expect(&self, pos: usize, byte: u8) -> Step<usize> {
        if self.at(pos)? == byte {
            self.skip_ws(pos + 1)
        } else {
            Err(Stop::Decline)
        }
    }

    fn text_of(&self, start: usize, end: usize) -> Step<&'a str> {
        let text = match self.text {
            Some(text) => text.get(start..end),
            None => self
                .bytes
                .get(start..end)
                .and_then(|b| std::str::from_utf8(b).ok()),
        };
        text.ok_or(Stop::Decline)
    }

    /// The string whose opening quote is at `pos`, and the position after
    /// it. Borrowed exactly when it has no escapes.
    fn string(&self, pos: usize) -> Step<(Cow<'a, str>, usize)> {
        if self.at(pos)? != b'"' {
            return Err(Stop::Decline);
        }
        let start = pos + 1;
        let mut from = start;
        let mut escaped = false;
        let end = loop {
            let Some(i) = find_special(self.bytes, from) else {
                return Err(self.short());
            };
            match self.bytes.get(i) {
                Some(b'"') => break i,
                // The escaped byte is skipped whatever it is (`\"` must not
                // end the string); serde_json checks the escape below.
                Some(b'\\') => {
                    escaped = true;
                    from = i + 2;
                }
                _ => return Err(Stop::Decline),
            }
        };
        let text = if escaped {
            let quoted = self.bytes.get(pos..=end).ok_or(Stop::Decline)?;
            let decoded: String = serde_json::from_slice(quoted).map_err(|_| Stop::Decline)?;
            Cow::Owned(decoded)
        } else {
            Cow::Borrowed(self.text_of(start, end)?)
        };
        Ok((text, end + 1))
    }

    /// `name` `:` at `pos`: the name and the position of the value.
    fn name(&self, pos: usize) -> Step<(Cow<'a, str>, usize)> {
        let (name, next) = self.string(pos)?;
        let next = self.skip_ws(next)?;
        Ok((name, self.expect(next, b':')?))
    }

    /// A non-negative integer that fits in a `u64`, written plainly (no
    /// fraction or exponent; a leading zero only alone). `None`: some other
    /// number, or not JSON; serde_json decides.
    fn integer(&self, pos: usize) -> Step<Option<(u64, usize)>> {
        let mut n: u64 = 0;
        let mut i = pos;
        loop {
            let b = self.at(i)?;
            if !b.is_ascii_digit() {
                break;
            }
            // Nineteen digits always fit; longer ones are serde_json's.
            if i - pos == 19 {
                return Ok(None);
            }
            n = n.wrapping_mul(10).wrapping_add(u64::from(b - b'0'));
            i += 1;
        }
        let digits = i - pos;
        let leading_zero = digits > 1 && self.bytes.get(pos) == Some(&b'0');
        if digits == 0 || leading_zero || matches!(self.at(i)?, b'.' | b'e' | b'E') {
            return Ok(None);
        }
        Ok(Some((n, i)))
    }

    /// Any JSON value at `pos`, read by serde_json.
    fn json(&self, pos: usize) -> Step<(Value, usize)> {
        let rest = self.bytes.get(pos..).ok_or(Stop::Decline)?;
        let mut values = serde_json::Deserializer::from_slice(rest).into_iter::<Value>();
        match values.next() {
            Some(Ok(value)) => {
                let end = pos + values.byte_offset();
                // A value is complete only once the byte after it is seen: a
                // number cut by the end of a chunk would look whole.
                if end >= self.bytes.len() {
                    return Err(self.short());
                }
                if depth(&value) > MAX_VALUE_DEPTH {
                    return Err(Stop::Decline);
                }
                Ok((value, end))
            }
            Some(Err(e)) if e.is_eof() => Err(self.short()),
            _ => Err(Stop::Decline),
        }
    }

    /// `null` at `pos`.
    fn null(&self, pos: usize) -> Step<usize> {
        match self.bytes.get(pos..pos + 4) {
            Some(b"null") => Ok(pos + 4),
            Some(_) => Err(Stop::Decline),
            None if self
                .bytes
                .get(pos..)
                .is_some_and(|b| b"null".starts_with(b)) =>
            {
                Err(self.short())
            }
            None => Err(Stop::Decline),
        }
    }

    /// A known field's value.
    ///
    /// Inlined into the entry loop: returned through memory, its result was
    /// read back with loads wider than the stores that wrote it, a
    /// store-forwarding stall per field (`perf annotate`: a third of the
    /// loop's own time). Loading 10,000 tokens: 8.2–8.5 → 7.4–7.6 ms.
    #[inline(always)]
    fn scalar(&self, pos: usize) -> Step<(Scalar<'a>, usize)> {
        match self.at(pos)? {
            b'"' => {
                let (text, next) = self.string(pos)?;
                return Ok((Scalar::Str(text), next));
            }
            b'n' => return Ok((Scalar::Null, self.null(pos)?)),
            b'0'..=b'9' => {
                if let Some((n, next)) = self.integer(pos)? {
                    return Ok((Scalar::Int(n), next));
                }
            }
            _ => {}
        }
        let (value, next) = self.json(pos)?;
        // As the plain reader classifies a value of a known field.
        Ok((Scalar::from_value(value), next))
    }

    /// An unknown field's value, kept verbatim.
    fn value(&self, pos: usize) -> Step<(Value, usize)> {
        match self.scalar(pos)? {
            (Scalar::Null, next) => Ok((Value::Null, next)),
            (Scalar::Str(text), next) => Ok((Value::String(text.into_owned()), next)),
            (Scalar::Int(n), next) => Ok((Value::from(n), next)),
            (Scalar::Other(value), next) => Ok((*value, next)),
        }
    }

    /// Whether the known field `id` of `E`, quoted, is what starts at `pos`:
    /// the position after its closing quote. A name with escapes never is
    /// (the general path decodes it).
    fn known_name<E: Entity>(&self, pos: usize, id: usize) -> Option<usize> {
        let name = E::FIELDS.get(id)?.as_bytes();
        let end = pos + name.len() + 1;
        let quoted = self.bytes.get(pos..=end)?;
        (quoted.first() == Some(&b'"')
            && quoted.get(1..=name.len()) == Some(name)
            && quoted.last() == Some(&b'"'))
        .then_some(end + 1)
    }

    /// The entry object at `pos` into `fields`; the position after it.
    ///
    /// MSAL writes an entry's fields in one order, which is the order of
    /// their ids: the name after field `n` is first compared in place with
    /// field `n + 1`'s, which spares finding the string's end and looking
    /// the name up.
    fn entry<E: Entity>(&self, pos: usize, fields: &mut Fields<'a>) -> Step<usize> {
        fields.start::<E>();
        let mut i = self.expect(pos, b'{')?;
        if self.at(i)? == b'}' {
            return Ok(i + 1);
        }
        let mut next_id = 0;
        loop {
            if let Some(after) = self.known_name::<E>(i, next_id) {
                let at_value = self.expect(self.skip_ws(after)?, b':')?;
                let (scalar, next) = self.scalar(at_value)?;
                i = next;
                // `next_id` fits: it indexes `E::FIELDS`, which ids (u8) index.
                let id = u8::try_from(next_id).map_err(|_| Stop::Decline)?;
                if !fields.add_known(id, scalar) {
                    return Err(Stop::Decline);
                }
                next_id += 1;
                i = self.skip_ws(i)?;
                match self.at(i)? {
                    b',' => i = self.skip_ws(i + 1)?,
                    b'}' => return Ok(i + 1),
                    _ => return Err(Stop::Decline),
                }
                continue;
            }
            let (name, at_value) = self.name(i)?;
            let added = match E::field_id(&name) {
                Some(id) => {
                    let (scalar, next) = self.scalar(at_value)?;
                    i = next;
                    next_id = usize::from(id) + 1;
                    fields.add_known(id, scalar)
                }
                None => {
                    let (value, next) = self.value(at_value)?;
                    i = next;
                    fields.add_verbatim(name, value)
                }
            };
            if !added {
                return Err(Stop::Decline);
            }
            i = self.skip_ws(i)?;
            match self.at(i)? {
                b',' => i = self.skip_ws(i + 1)?,
                b'}' => return Ok(i + 1),
                _ => return Err(Stop::Decline),
            }
        }
    }
}

/// Where the scanner is in the document, between units.
#[derive(Debug, Clone, Copy)]
enum State {
    /// Before the opening brace.
    Start,
    /// Between sections.
    Sections { first: bool },
    /// Inside the known section with this index (see [`section_index`]).
    Entries { section: usize, first: bool },
    /// After the closing brace: only whitespace may follow.
    End,
}

/// How far a [`Scanner::feed`] got.
#[derive(Debug, PartialEq, Eq)]
enum Progress {
    /// The document is read.
    Done,
    /// This many bytes are read; the rest begins an incomplete unit.
    Consumed(usize),
}

/// A document being read, unit by unit.
struct Scanner {
    store: Store,
    state: State,
    seen: [bool; 5],
    /// The whole document's length, when known: what [`Sizing`] estimates from.
    len: Option<usize>,
    /// Bytes of the document before the current input (a stream drops
    /// what it has read).
    base: usize,
    sizing: Sizing,
    /// The whitespace before an entry's key.
    entry_gap: Gap,
    /// The whitespace before an access token's members.
    member_gap: Gap,
}

/// Sizes the access-token table once, from the first entries: the bytes they
/// took and the bytes left tell how many are coming. One allocation of the
/// right size instead of a dozen doublings, each moving every entry read so
/// far, and each briefly holding the old table and the new.
#[derive(Debug, Clone, Copy)]
enum Sizing {
    /// Not inside the access-token section yet.
    Waiting,
    /// The section's first entry starts at this offset in the document; this
    /// many entries are read.
    Counting { start: usize, read: usize },
    /// Room was reserved for this many more (0: the length was unknown).
    Done {
        // Kept so the tests can see the estimate.
        #[cfg_attr(not(test), allow(dead_code))]
        reserved: usize,
    },
}

impl Sizing {
    /// Entries read before estimating: enough that one odd entry does not
    /// skew the estimate.
    const SAMPLE: usize = 64;
}

impl Scanner {
    fn new(len: Option<usize>) -> Self {
        Scanner {
            store: Store::default(),
            state: State::Start,
            seen: [false; 5],
            len,
            base: 0,
            sizing: Sizing::Waiting,
            entry_gap: Gap::default(),
            member_gap: Gap::default(),
        }
    }

    /// Counts an access token read, ending at `end` of the current input;
    /// once there are enough, reserves room for those the rest of the
    /// document is estimated to hold. Bytes of other sections after this one
    /// count as tokens too: an overestimate of at most one table slot per
    /// entry-sized stretch of text.
    fn count_access_token(&mut self, at_value: usize, end: usize) {
        match self.sizing {
            Sizing::Waiting => {
                self.sizing = Sizing::Counting {
                    start: self.base + at_value,
                    read: 1,
                }
            }
            Sizing::Counting { start, read } if read + 1 < Sizing::SAMPLE => {
                self.sizing = Sizing::Counting {
                    start,
                    read: read + 1,
                }
            }
            Sizing::Counting { start, read } => {
                let done = self.base + end;
                let per_entry = (done.saturating_sub(start) / (read + 1)).max(1);
                // Never more table than text: a document of a few tiny
                // entries and a huge unknown section must not reserve more
                // memory than it takes to hold it.
                let slot = std::mem::size_of::<(Key, AccessTokenEntry)>();
                let more = self.len.map_or(0, |len| {
                    let left = len.saturating_sub(done);
                    (left / per_entry).min(left / slot)
                });
                self.store.reserve_access_tokens(more);
                self.sizing = Sizing::Done { reserved: more };
            }
            Sizing::Done { .. } => {}
        }
    }

    /// Reads every complete unit of `input`. `Err`: declined.
    fn feed(&mut self, input: &Input<'_>) -> Result<Progress, ()> {
        let mut batch = Batch::default();
        let progress = self.feed_into(input, &mut batch)?;
        // The batch borrows from this input: it is stored before more is read.
        batch.store_into(&mut self.store, &mut Vec::new());
        Ok(progress)
    }

    /// [`feed`](Self::feed), the secrets left in `batch`.
    fn feed_into<'a>(&mut self, input: &Input<'a>, batch: &mut Batch<'a>) -> Result<Progress, ()> {
        let mut fields = Fields::new();
        let mut pos = 0;
        loop {
            match self.unit(input, pos, &mut fields, batch) {
                Ok(Some(next)) => pos = next,
                Ok(None) => return Ok(Progress::Done),
                Err(Stop::More) if !input.eof => {
                    // The caller drops these bytes before it feeds more.
                    self.base += pos;
                    return Ok(Progress::Consumed(pos));
                }
                Err(_) => return Err(()),
            }
        }
    }

    /// One unit at `pos`: the position after it, or `None` at the end of
    /// the document. Changes nothing unless it succeeds.
    fn unit<'a>(
        &mut self,
        input: &Input<'a>,
        pos: usize,
        fields: &mut Fields<'a>,
        batch: &mut Batch<'a>,
    ) -> Step<Option<usize>> {
        match self.state {
            State::Start => {
                let next = input.expect(input.skip_ws(pos)?, b'{')?;
                self.state = State::Sections { first: true };
                Ok(Some(next))
            }
            State::Sections { first } => {
                let mut i = input.skip_ws(pos)?;
                match input.at(i)? {
                    b'}' => {
                        self.state = State::End;
                        return Ok(Some(i + 1));
                    }
                    b',' if !first => i = input.skip_ws(i + 1)?,
                    b'"' if first => {}
                    _ => return Err(Stop::Decline),
                }
                let (name, at_value) = input.name(i)?;
                match section_index(&name) {
                    Some(section) => {
                        if input.at(at_value)? != b'{' || self.seen[section] {
                            // Not an object (the plain reader says so), or
                            // repeated (the plain reader keeps the last).
                            return Err(Stop::Decline);
                        }
                        self.seen[section] = true;
                        self.state = State::Entries {
                            section,
                            first: true,
                        };
                        Ok(Some(at_value + 1))
                    }
                    None => {
                        let (value, next) = input.json(at_value)?;
                        // A repeated unknown section keeps its first place and
                        // its last value, as in the plain reader's map.
                        self.store.other_sections.insert(name.into_owned(), value);
                        self.state = State::Sections { first: false };
                        Ok(Some(next))
                    }
                }
            }
            State::Entries { section, first } => {
                let mut i = input.skip_ws(pos)?;
                match input.at(i)? {
                    b'}' => {
                        self.state = State::Sections { first: false };
                        return Ok(Some(i + 1));
                    }
                    b',' if !first => i = input.skip_gap(i + 1, &mut self.entry_gap)?,
                    b'"' if first => {}
                    _ => return Err(Stop::Decline),
                }
                let (key, at_value) = input.name(i)?;
                let store = &mut self.store;
                let next = match section {
                    0 => {
                        let gap = &mut self.member_gap;
                        let next = batch.read(input, at_value, fields, store, key, gap)?;
                        self.count_access_token(at_value, next);
                        next
                    }
                    1 => put(
                        input,
                        at_value,
                        fields,
                        store,
                        key,
                        Store::put_refresh_token,
                    )?,
                    2 => put(input, at_value, fields, store, key, Store::put_id_token)?,
                    3 => put(input, at_value, fields, store, key, Store::put_account)?,
                    _ => put(input, at_value, fields, store, key, Store::put_app_metadata)?,
                };
                self.state = State::Entries {
                    section,
                    first: false,
                };
                Ok(Some(next))
            }
            State::End => {
                let mut i = pos;
                while let Some(&b) = input.bytes.get(i) {
                    if !is_ws(b) {
                        return Err(Stop::Decline);
                    }
                    i += 1;
                }
                if input.eof {
                    Ok(None)
                } else if i > pos {
                    Ok(Some(i))
                } else {
                    Err(Stop::More)
                }
            }
        }
    }
}

/// Reads the entry at `pos`, builds it and stores it under `key`.
fn put<'a, E: Entity>(
    input: &Input<'a>,
    pos: usize,
    fields: &mut Fields<'a>,
    store: &mut Store,
    key: Cow<'a, str>,
    put: fn(&mut Store, Key, E),
) -> Step<usize> {
    let next = input.entry::<E>(pos, fields)?;
    // An entry that does not build: the plain reader words why.
    let entry = E::build(fields).map_err(|_| Stop::Decline)?;
    // Straight into the shared key: one allocation, no intermediate String.
    put(store, Key::from(&*key), entry);
    Ok(next)
}

/// Access tokens stored without their secrets yet: the secrets are copied
/// into shared [`SecretBlock`]s (a few allocations per block instead of two
/// per token), then put in place by slot.
///
/// A streaming load stores each batch when it holds about a block of
/// secrets, or at the end of its input, which is dropped after. A whole
/// document in memory keeps every secret waiting instead
/// ([`Batch::keeping_all`]) until the store it replaces has gone, so that
/// its blocks can be reused ([`Loaded::finish_replacing`]).
#[derive(Default)]
struct Batch<'a> {
    /// The slots waiting for a secret, with it.
    pending: Vec<(SlotId, Waiting<'a>)>,
    /// The bytes of their secrets.
    bytes: usize,
    /// Slots whose key repeated, each with the length `pending` had then:
    /// what waited for the slot before belongs to the entry replaced.
    replaced: Vec<(SlotId, usize)>,
    /// Never stored before the end.
    keep_all: bool,
}

impl<'a> Batch<'a> {
    /// Entries per block at most: small secrets would make a long batch.
    /// Under the fuzzer and the unit tests, whose documents are a few KB,
    /// three: so that their inputs cross blocks too.
    const MAX_ENTRIES: usize = if cfg!(any(fuzzing, test)) { 3 } else { 256 };

    /// A batch stored only when asked.
    fn keeping_all() -> Self {
        Batch {
            keep_all: true,
            ..Batch::default()
        }
    }

    /// Reads the access token at `pos` and stores it, its secret left for
    /// the batch (which is stored when full); the position after it. `gap`:
    /// the whitespace before a member, as in the last token.
    fn read(
        &mut self,
        input: &Input<'a>,
        pos: usize,
        fields: &mut Fields<'a>,
        store: &mut Store,
        key: Cow<'a, str>,
        gap: &mut Gap,
    ) -> Step<usize> {
        let (next, entry, secret) = match input.msal_access_token(pos, gap) {
            Some((token, next)) => {
                let (entry, secret) = fields.build_msal_access_token(token);
                (next, entry, secret)
            }
            None => {
                fields.defer_secrets(true);
                let read = input.entry::<AccessTokenEntry>(pos, fields);
                let built = read.and_then(|next| {
                    let entry = AccessTokenEntry::build(fields).map_err(|_| Stop::Decline)?;
                    Ok((next, entry))
                });
                let secret = fields.take_deferred_secret();
                fields.defer_secrets(false);
                let (next, entry) = built?;
                (next, entry, secret)
            }
        };
        // Stored now, not moved through the batch: only its slot waits.
        let (id, replaced) = store.put_access_token_slot(&key, entry);
        if replaced {
            // A key repeated in the document: the last entry wins whole, so
            // an earlier one's secret must not be put in its place.
            self.replaced.push((id, self.pending.len()));
        }
        if let Some(secret) = secret {
            self.bytes += secret.len();
            self.pending.push((id, Waiting(secret)));
        }
        if !self.keep_all
            && (self.bytes >= SecretBlock::TARGET || self.pending.len() >= Self::MAX_ENTRIES)
        {
            self.store_into(store, &mut Vec::new());
        }
        Ok(next)
    }

    /// Puts the batch's secrets in their tokens: into `reusable` blocks
    /// while one fits, then into new ones.
    fn store_into(&mut self, store: &mut Store, reusable: &mut Vec<WipedString>) {
        if !self.replaced.is_empty() {
            self.drop_replaced_secrets();
        }
        let pending = std::mem::take(&mut self.pending);
        let mut places: Vec<(SlotId, (usize, usize))> = Vec::new();
        let mut next = 0;
        while let Some((_, first)) = pending.get(next) {
            let mut block = match reusable.pop_if(|old| old.capacity() >= first.len()) {
                Some(old) => SecretBlock::reusing(old),
                None => SecretBlock::with_capacity(Self::block_bytes(
                    pending.get(next..).unwrap_or_default(),
                )),
            };
            for (id, secret) in pending.get(next..).unwrap_or_default() {
                if places.len() == Self::MAX_ENTRIES {
                    break;
                }
                let Some(place) = block.push(secret) else {
                    break;
                };
                places.push((*id, place));
            }
            next += places.len();
            let block = block.seal();
            store.add_secret_block(&block);
            for (id, place) in places.drain(..) {
                store.fill_access_token_secret(id, Secret::part_of(&block, place));
            }
        }
        self.bytes = 0;
    }

    /// The bytes of a new block for the first of `pending`: theirs, up to
    /// about a block's worth.
    fn block_bytes(pending: &[(SlotId, Waiting<'a>)]) -> usize {
        let mut bytes = 0;
        for (_, secret) in pending.iter().take(Self::MAX_ENTRIES) {
            if bytes >= SecretBlock::TARGET {
                break;
            }
            bytes += secret.len();
        }
        bytes
    }

    /// Drops the secrets of entries replaced by a later one with their key.
    fn drop_replaced_secrets(&mut self) {
        // Per slot, where its last entry's secrets start.
        let last_from: std::collections::HashMap<SlotId, usize> = self.replaced.drain(..).collect();
        let mut index = 0;
        self.pending.retain(|(id, _)| {
            let keep = last_from.get(id).is_none_or(|&from| index >= from);
            index += 1;
            keep
        });
    }
}

/// A secret waiting for its block: in the document, or decoded from its
/// escapes into a string of its own, which is wiped when dropped.
struct Waiting<'a>(Cow<'a, str>);

impl std::ops::Deref for Waiting<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if let Cow::Owned(text) = &mut self.0 {
            drop(WipedString::new(std::mem::take(text)));
        }
    }
}

/// A document read whole, its access tokens' secrets still in the text.
pub(crate) struct Loaded<'a> {
    store: Store,
    secrets: Batch<'a>,
}

impl<'a> Loaded<'a> {
    /// A store read another way, with every secret in place.
    pub(crate) fn complete(store: Store) -> Self {
        Loaded {
            store,
            secrets: Batch::default(),
        }
    }

    /// The store, its secrets copied into new blocks.
    pub(crate) fn finish(self) -> Store {
        self.finish_reusing(Vec::new())
    }

    /// The store, taking the place of `old`: `old`'s access tokens go first,
    /// and the blocks their secrets were in are reused where nothing else
    /// holds them. The rest of `old` is left to the caller to drop.
    pub(crate) fn finish_replacing(self, old: &mut Store) -> Store {
        self.finish_reusing(old.take_free_secret_blocks())
    }

    fn finish_reusing(mut self, mut reusable: Vec<WipedString>) -> Store {
        self.secrets.store_into(&mut self.store, &mut reusable);
        self.store
    }
}

/// Reads a whole document, or declines (`None`).
#[cfg(test)]
pub(crate) fn read_str(text: &str) -> Option<Store> {
    read_whole(text).map(Loaded::finish)
}

/// [`read_str`], the access tokens' secrets still in `text`: [`Loaded`]
/// copies them.
pub(crate) fn read_whole(text: &str) -> Option<Loaded<'_>> {
    let input = Input {
        bytes: text.as_bytes(),
        text: Some(text),
        eof: true,
    };
    let mut scanner = Scanner::new(Some(text.len()));
    let mut secrets = Batch::keeping_all();
    match scanner.feed_into(&input, &mut secrets) {
        Ok(Progress::Done) => Some(Loaded {
            store: scanner.store,
            secrets,
        }),
        _ => None,
    }
}

/// Why a streaming load failed.
#[derive(Debug)]
pub(crate) enum LoadError {
    /// Reading (or seeking) failed, or the text is not UTF-8.
    Io(io::Error),
    /// The document is not a token cache.
    Document(Error),
}

impl LoadError {
    /// As one error, for callers with nothing more to say about the source.
    pub(crate) fn into_error(self) -> Error {
        match self {
            LoadError::Io(e) => Error::cache("cannot read the token cache", Some(Box::new(e))),
            LoadError::Document(e) => e,
        }
    }
}

/// Appends up to `want` bytes from `reader`; `true` at the end of input.
fn fill<R: Read>(reader: &mut R, buf: &mut WipedBytes, want: usize) -> io::Result<bool> {
    let have = buf.len();
    let need = have.saturating_add(want);
    if buf.capacity() < need {
        // Grown by hand, so the old allocation is wiped rather than freed
        // with tokens in it.
        let mut bigger = WipedBytes::new(Vec::with_capacity(need));
        bigger.extend_from_slice(buf);
        *buf = bigger;
    }
    buf.resize(need, 0);
    let mut filled = have;
    let result = loop {
        let Some(room) = buf.get_mut(filled..) else {
            break Ok(false);
        };
        if room.is_empty() {
            break Ok(false);
        }
        match reader.read(room) {
            Ok(0) => break Ok(true),
            Ok(n) => filled = filled.saturating_add(n).min(need),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break Err(e),
        }
    };
    buf.truncate(filled);
    result
}

/// How many bytes `reader` holds from `origin` on (where it is left), if it
/// can say: a file can, a pipe wrapped in a `Seek` may not.
fn stream_len<R: Seek>(reader: &mut R, origin: u64) -> io::Result<Option<usize>> {
    let Ok(end) = reader.seek(SeekFrom::End(0)) else {
        return Ok(None);
    };
    reader.seek(SeekFrom::Start(origin))?;
    Ok(usize::try_from(end.saturating_sub(origin)).ok())
}

/// Reads a document from `reader`, `chunk` bytes at a time, entry by entry:
/// the whole text is never held. A document the scanner declines is read
/// again from where `reader` started, whole, the plain way — so the result
/// and the errors are those of [`serialize::parse`].
pub(crate) fn read_stream<R: Read + Seek>(mut reader: R, chunk: usize) -> Result<Store, LoadError> {
    let chunk = chunk.max(1);
    let origin = reader.stream_position().map_err(LoadError::Io)?;
    let len = stream_len(&mut reader, origin).map_err(LoadError::Io)?;
    let mut buf = WipedBytes::default();
    let mut scanner = Scanner::new(len);
    let mut want = chunk;
    let mut eof = false;
    loop {
        if !eof {
            eof = fill(&mut reader, &mut buf, want).map_err(LoadError::Io)?;
        }
        let input = Input {
            bytes: &buf,
            text: None,
            eof,
        };
        match scanner.feed(&input) {
            Ok(Progress::Done) => return Ok(scanner.store),
            Ok(Progress::Consumed(n)) if !eof => {
                if n == 0 {
                    // One unit longer than the buffer: read as much again,
                    // so a huge unit is rescanned only a logarithmic number
                    // of times.
                    want = buf.len().max(chunk);
                } else {
                    let n = n.min(buf.len());
                    buf.drain(..n);
                    want = chunk;
                }
            }
            _ => break,
        }
    }
    // Declined: the partial store goes first, then the plain way decides.
    drop(scanner);
    drop(buf);
    reader
        .seek(SeekFrom::Start(origin))
        .map_err(LoadError::Io)?;
    let mut text = WipedString::default();
    reader.read_to_string(&mut text).map_err(LoadError::Io)?;
    serialize::parse(&text).map_err(LoadError::Document)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use std::io::Cursor;

    use super::*;
    use crate::cache::serialize::{read_plain, tests::any_document, write};
    use proptest::strategy::Just;

    fn counts(store: &Store) -> [usize; 6] {
        [
            store.access_tokens().len(),
            store.refresh_tokens().len(),
            store.id_tokens().len(),
            store.accounts().len(),
            store.app_metadata().len(),
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

    /// Documents the scanner must read itself, exactly as the plain reader does.
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

    /// Valid documents the scanner leaves to the plain reader, and malformed ones.
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

    /// What [`find_special`] must answer, found the slow way.
    fn first_special_byte_by_byte(bytes: &[u8], from: usize) -> Option<usize> {
        bytes
            .get(from..)
            .and_then(|tail| tail.iter().position(|&b| is_special(b)))
            .map(|i| from + i)
    }

    proptest::proptest! {
        #[test]
        fn word_scan_finds_what_a_byte_scan_finds(
            bytes in proptest::collection::vec(proptest::prop_oneof![
                8 => 0x20u8..0x7f, 1 => Just(b'"'), 1 => Just(b'\\'), 1 => 0u8..0x20, 1 => 0x80u8..=0xff,
            ], 0..200),
            from in 0usize..210,
        ) {
            proptest::prop_assert_eq!(find_special(&bytes, from), first_special_byte_by_byte(&bytes, from));
        }

        /// Long plain runs with a few special bytes anywhere: the vector
        /// blocks, not only the words before them, must find the first one.
        #[test]
        fn block_scan_finds_a_special_byte_anywhere_in_a_long_string(
            len in 0usize..400,
            specials in proptest::collection::vec(
                (0usize..400, proptest::prop_oneof![Just(b'"'), Just(b'\\'), 0u8..0x20]),
                0..3,
            ),
            from in 0usize..100,
        ) {
            let mut bytes: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            for (at, byte) in specials {
                if let Some(b) = bytes.get_mut(at) {
                    *b = byte;
                }
            }
            proptest::prop_assert_eq!(find_special(&bytes, from), first_special_byte_by_byte(&bytes, from));
        }
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
        let store = read_str(&doc).expect("the scanner reads it");
        let get = |key: &str| store.access_tokens().get(key).unwrap();
        let (one, two) = (get("k-t1-a b"), get("k-t2-a b"));
        let (three, four) = (get("k-t3-C"), get("k-t4-C"));
        let (one_c, two_c) = (get("k-t1-C"), get("k-t2-C"));
        let same = |a: &AccessTokenEntry, b: &AccessTokenEntry| {
            std::sync::Arc::ptr_eq(&a.shared, &b.shared)
        };
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
    fn the_scanner_reads_what_the_plain_reader_reads() {
        for doc in accepted() {
            let scanned = read_str(&doc).unwrap_or_else(|| panic!("declined: {doc}"));
            assert_eq!(outcome(Ok(scanned)), outcome(read_plain(&doc)), "{doc}");
        }
    }

    #[test]
    fn what_the_scanner_declines_reads_as_before() {
        for doc in declined() {
            assert!(read_str(&doc).is_none(), "{doc}");
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

    #[test]
    fn the_first_entries_size_the_access_token_table() {
        let entries: Vec<String> = (0..1000)
            .map(|i| format!(r#""k{i}": {{"secret": "s-{i}", {AT}}}"#))
            .collect();
        let doc = format!(r#"{{"AccessToken": {{{}}}}}"#, entries.join(", "));
        let reserved = |len: Option<usize>, chunk: usize| {
            let mut scanner = Scanner::new(len);
            let mut fed = 0;
            while fed < doc.len() {
                let end = (fed + chunk).min(doc.len());
                let input = Input {
                    bytes: &doc.as_bytes()[fed..end],
                    text: None,
                    eof: end == doc.len(),
                };
                match scanner.feed(&input).unwrap() {
                    Progress::Done => break,
                    Progress::Consumed(n) => fed += n,
                }
            }
            assert_eq!(scanner.store.access_tokens().len(), 1000);
            match scanner.sizing {
                Sizing::Done { reserved } => reserved,
                other => panic!("not sized: {other:?}"),
            }
        };
        // The first 64 of 1000 entries, alike in size, predict the other 936
        // closely, whether the text comes whole or in pieces.
        for chunk in [doc.len(), 4096, 1000] {
            let more = reserved(Some(doc.len()), chunk);
            assert!((900..=980).contains(&more), "chunk {chunk}: {more}");
        }
        // Without a length, nothing is reserved and the table grows as it goes.
        assert_eq!(reserved(None, doc.len()), 0);
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
        let mut scanner = Scanner::new(Some(doc.len()));
        let input = Input {
            bytes: doc.as_bytes(),
            text: Some(&doc),
            eof: true,
        };
        assert_eq!(scanner.feed(&input).unwrap(), Progress::Done);
        assert_eq!(scanner.store.access_tokens().len(), 64);
        match scanner.sizing {
            Sizing::Done { reserved } => assert!(reserved <= filler.len() / slot + 1),
            other => panic!("not sized: {other:?}"),
        }
    }

    #[test]
    fn a_stream_tells_its_length_from_where_it_is() {
        let mut cursor = Cursor::new(vec![b' '; 100]);
        cursor.set_position(30);
        assert_eq!(stream_len(&mut cursor, 30).unwrap(), Some(70));
        assert_eq!(cursor.position(), 30);
    }

    #[test]
    fn a_large_entry_grows_the_buffer() {
        let secret = "s".repeat(100_000);
        let doc = format!(
            r#"{{"AccessToken": {{"k": {{"secret": "{secret}", {AT}}}}}, "Z": ["{secret}"]}}"#
        );
        let expected = outcome(serialize::parse(&doc));
        assert!(expected.is_ok());
        assert_eq!(streamed(doc.as_bytes(), 16), expected);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]

        /// Any document: the scanner agrees with the plain reader whenever it
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
}
