//! The fast path for documents as every MSAL writes them: objects of objects
//! of strings (and `null`s), no escapes. Such a document is read here byte by
//! byte, without serde's per-member machinery, and an access token in MSAL's
//! member order goes straight into an [`MsalAccessToken`] instead of the
//! general [`Fields`]. serde_json's own loop (its string scan eight bytes at
//! a time, a visitor call per member) made the serde reader half again as
//! slow as this on the bench's 10,000-token documents.
//!
//! Anything else — a number, a boolean, an array, an escape or a control
//! character in a string, an unknown section, a repeated section or field,
//! an entry that does not build, malformed JSON — is `None`: the serde
//! reader (`read.rs`) reads the whole document and decides. What this path
//! accepts it builds through the same entity code as that reader, and
//! `tests.rs` holds the two to the same store.

use std::borrow::Cow;

use super::document::section_index;
use super::secrets::{Batch, Loaded};
use super::sizing::Sizing;
use crate::cache::entity::{AccessTokenEntry, Entity, Fields, MsalAccessToken, Scalar};
use crate::cache::store::Store;

/// Reads `text` if it is in the subset this path takes; `None` otherwise.
pub(super) fn read(text: &str) -> Option<Loaded<'_>> {
    let mut p = Parser {
        text,
        pos: 0,
        gap: &[],
    };
    let mut store = Store::default();
    let mut secrets = Batch::keeping_all();
    let mut fields = Fields::new();
    let mut sizing = Sizing::of(text);
    let mut seen = [false; 5];
    p.expect(b'{')?;
    let mut more = !p.eat(b'}');
    while more {
        let section = section_index(p.string()?)?;
        p.expect(b':')?;
        if std::mem::replace(seen.get_mut(section)?, true) {
            return None;
        }
        p.expect(b'{')?;
        let mut entries = !p.eat(b'}');
        while entries {
            let key = p.string()?;
            p.expect(b':')?;
            match section {
                0 => {
                    let start = p.pos;
                    let (entry, secret) = match p.msal_access_token() {
                        Some(token) => fields.build_msal_access_token(token),
                        None => {
                            // From the entry's start, the general way.
                            p.pos = start;
                            let (built, secret) =
                                fields.deferring_secret(|f| p.entry::<AccessTokenEntry>(f));
                            (built?, secret)
                        }
                    };
                    secrets.put(&mut store, key, entry, secret);
                    sizing.count(key, &mut store);
                }
                1 => store.refresh_tokens.put(key, p.entry(&mut fields)?),
                2 => store.id_tokens.put(key, p.entry(&mut fields)?),
                3 => store.accounts.put(key, p.entry(&mut fields)?),
                _ => store.app_metadata.put(key, p.entry(&mut fields)?),
            }
            entries = p.comma_or_end()?;
        }
        more = p.comma_or_end()?;
    }
    p.skip_ws();
    (p.pos == text.len()).then_some(Loaded { store, secrets })
}

/// Whether a byte ends a run of plain string bytes: the closing quote, an
/// escape, or a control character (which JSON forbids in strings).
const fn is_special(b: u8) -> bool {
    b == b'"' || b == b'\\' || b < 0x20
}

/// Whether any byte of a block is special. Bitwise operators only (no `||`,
/// no early exit) over an array of known length: LLVM turns this into a few
/// vector compares and one OR (64 bytes, not 32: with SSE2 the 32-byte form
/// compiles to a reduction that moves masks between lanes, an eighth as
/// fast).
fn any_special(block: &[u8; 64]) -> bool {
    let mut any = 0u8;
    for &b in block {
        any |= u8::from(b == b'"') | u8::from(b == b'\\') | u8::from(b < 0x20);
    }
    any != 0
}

/// The first special byte of `bytes`, eight at a time: the classic SWAR
/// tests — `(v - 0x01…) & !v & 0x80…` flags the zero bytes of `v` (here the
/// word XOR the quote or the backslash), `(w - 0x20…) & !w & 0x80…` the bytes
/// below 0x20. A borrow can flag a byte above a true hit, never below one,
/// so the lowest flag is exact.
fn first_special(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let mut words = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut words {
        let w = u64::from_le_bytes(chunk.try_into().ok()?);
        let mask = zero(w ^ (ONES * u64::from(b'"')))
            | zero(w ^ (ONES * u64::from(b'\\')))
            | (w.wrapping_sub(ONES * 0x20) & !w & HIGH);
        if mask != 0 {
            return Some(offset + (mask.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    let tail = words.remainder().iter().position(|&b| is_special(b))?;
    Some(offset + tail)
}

/// Whether two short byte strings (names, indentation) are equal, as two
/// overlapping words where they are long enough: a call to `memcmp` for each
/// was a fifth of loading a document of small tokens.
fn same_short(a: &[u8], b: &[u8]) -> bool {
    let len = a.len();
    if len != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| {
        s.get(at..at + 8)
            .and_then(|w| w.try_into().ok())
            .map(u64::from_ne_bytes)
    };
    if (8..=16).contains(&len) {
        word(a, 0) == word(b, 0) && word(a, len - 8) == word(b, len - 8)
    } else {
        a.iter().zip(b).all(|(x, y)| x == y)
    }
}

/// A position in the text.
struct Parser<'a> {
    text: &'a str,
    pos: usize,
    /// The last run of two or more whitespace bytes: MSAL indents every
    /// member of every entry alike, so the next run is tried as this one
    /// first (one compare instead of a dozen bytes one by one).
    gap: &'a [u8],
}

impl<'a> Parser<'a> {
    fn skip_ws(&mut self) {
        let bytes = self.text.as_bytes();
        let start = self.pos;
        if bytes
            .get(start..start + self.gap.len())
            .is_some_and(|run| same_short(run, self.gap))
        {
            self.pos += self.gap.len();
        }
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = bytes.get(self.pos) {
            self.pos += 1;
        }
        if self.pos - start > 1 {
            self.gap = bytes.get(start..self.pos).unwrap_or_default();
        }
    }

    /// The member name `name`, quoted, if it comes next (after whitespace),
    /// taken if so: the name expected next in MSAL's order, compared in
    /// place instead of scanned and looked up.
    fn name_is(&mut self, name: &str) -> bool {
        self.skip_ws();
        let bytes = self.text.as_bytes();
        let end = self.pos + name.len() + 2;
        let found = bytes.get(self.pos) == Some(&b'"')
            && bytes
                .get(self.pos + 1..end - 1)
                .is_some_and(|text| same_short(text, name.as_bytes()))
            && bytes.get(end - 1) == Some(&b'"');
        if found {
            self.pos = end;
        }
        found
    }

    /// Whether `byte` comes next (after whitespace), taking it if so.
    fn eat(&mut self, byte: u8) -> bool {
        self.skip_ws();
        let found = self.text.as_bytes().get(self.pos) == Some(&byte);
        if found {
            self.pos += 1;
        }
        found
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.eat(byte).then_some(())
    }

    /// After a member: `true` at a comma (another member follows), `false`
    /// at the closing brace.
    fn comma_or_end(&mut self) -> Option<bool> {
        if self.eat(b',') {
            Some(true)
        } else {
            self.expect(b'}').map(|()| false)
        }
    }

    /// A string without escapes or control characters, borrowed.
    fn string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let start = self.pos;
        let rest = self.text.as_bytes().get(start..)?;
        // Names and identifiers end within a few bytes; a token's 1.5 KB go
        // through in blocks of 64 bytes with no special byte.
        let head = rest.get(..rest.len().min(32))?;
        let len = match first_special(head) {
            Some(len) => len,
            None => {
                let mut len = head.len();
                for chunk in rest.get(len..)?.chunks_exact(64) {
                    if <&[u8; 64]>::try_from(chunk).map_or(true, any_special) {
                        break;
                    }
                    len += 64;
                }
                len + first_special(rest.get(len..)?)?
            }
        };
        if rest.get(len) != Some(&b'"') {
            return None;
        }
        // Both ends are at ASCII quotes, so on character boundaries.
        let s = self.text.get(start..start + len)?;
        self.pos = start + len + 1;
        Some(s)
    }

    /// `null`, taken if it comes next.
    fn null(&mut self) -> bool {
        self.skip_ws();
        let found = self.text.as_bytes().get(self.pos..self.pos + 4) == Some(b"null");
        if found {
            self.pos += 4;
        }
        found
    }

    /// A member's value: a string or `null`.
    fn scalar(&mut self) -> Option<Scalar<'a>> {
        if self.null() {
            return Some(Scalar::Null);
        }
        self.string().map(|s| Scalar::Str(Cow::Borrowed(s)))
    }

    /// An entry object of kind `E`, read into `fields` and built.
    fn entry<E: Entity>(&mut self, fields: &mut Fields<'a>) -> Option<E> {
        fields.start::<E>();
        self.expect(b'{')?;
        let mut more = !self.eat(b'}');
        while more {
            let name = self.string()?;
            self.expect(b':')?;
            let value = self.scalar()?;
            // A repeated name: the general path decides.
            if !fields.add::<E>(name, value) {
                return None;
            }
            more = self.comma_or_end()?;
        }
        E::build(fields).ok()
    }

    /// An access token with known members only, in MSAL's order (each
    /// after the one before; one an MSAL leaves out is skipped), of the
    /// types MSAL writes ([`MsalAccessToken`] says which).
    fn msal_access_token(&mut self) -> Option<MsalAccessToken<'a>> {
        let mut token = MsalAccessToken::default();
        self.expect(b'{')?;
        let mut next_id = 0;
        let mut more = !self.eat(b'}');
        while more {
            let expected = AccessTokenEntry::FIELDS.get(next_id);
            let id = if expected.is_some_and(|name| self.name_is(name)) {
                next_id
            } else {
                let id = usize::from(AccessTokenEntry::field_id(self.string()?)?);
                if id < next_id {
                    return None;
                }
                id
            };
            self.expect(b':')?;
            if self.null() {
                token.null(id)?;
            } else {
                token.string(id, Cow::Borrowed(self.string()?))?;
            }
            next_id = id + 1;
            more = self.comma_or_end()?;
        }
        Some(token)
    }
}

#[cfg(test)]
mod tests;
