//! The five entry kinds of the unified schema, each a typed view of the fields
//! oxmsal uses plus a [`Raw`] record of the JSON object it was loaded from (or
//! written as), so the object is written back exactly.
//!
//! Keeping the object exact is what makes the cache forward compatible: fields
//! oxmsal does not know (a newer MSAL's, another SDK's), `null` versus absent,
//! numbers versus strings, the order of the members — all are written back as
//! they came. The typed view is parsed once, when the entry enters the cache, so
//! lookups never parse.
//!
//! The record is compact: a member whose JSON the typed view reproduces (a
//! string field, a timestamp written as the string of its digits, a `null`…)
//! is one byte saying so — a cache of 100,000 tokens holds no second copy of
//! their fields — and only the other members (unknown fields, odd encodings)
//! are kept as JSON values. The `secret` sits in a [`Secret`] (redacted,
//! wiped) and is put back in its place when the entry is written.

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::fields::{excerpt, kind, seconds, seconds_str};
use super::scopes;
use crate::Secret;

/// A text field shared between entries (and with the indexes): one
/// allocation for a value that a thousand entries repeat.
pub(crate) type Text = Arc<str>;

// ---------------------------------------------------------------------------
// The record of an object's members.

/// Slots: one byte per member, in document order. A known field is
/// `id << 3 | class`; the two values below are never such a byte (ids < 16).
const SLOT_SECRET: u8 = 0xFE;
const SLOT_VERBATIM: u8 = 0xFF;

/// How a known field's member is written from the typed view.
const CLASS_STR: u8 = 0; // the typed string
const CLASS_NULL: u8 = 1; // null
const CLASS_NUM: u8 = 2; // the typed number, as a JSON number
const CLASS_NUM_STR: u8 = 3; // the typed number, as a string of its digits
const CLASS_CONST: u8 = 4; // the kind's `credential_type`

/// Ids of known fields are below this.
const MAX_FIELDS: usize = 16;

/// An access token is handed out only while it has at least this much life left
/// (as in every MSAL: usable while `expires_on - now >= 300`), so it does not expire
/// on its way to the resource.
pub(crate) const MIN_REMAINING_LIFETIME_SECS: u64 = 300;
/// Slots kept inline; an object with more members keeps them in [`Extra`].
const INLINE: usize = 14;
/// `Raw::len` when the slots live in [`Extra::slots`].
const SPILLED: u8 = u8::MAX;

const fn known_slot(id: u8, class: u8) -> u8 {
    id << 3 | class
}

/// An entry's JSON object, minus its secret and minus what the typed view
/// holds: the order of the members, how each known one is written, and the
/// members kept verbatim.
#[derive(Clone, Debug)]
pub(crate) struct Raw {
    len: u8,
    inline: [u8; INLINE],
    /// The secret has nothing JSON escapes (it was read without escapes), so
    /// it is written as is.
    secret_plain: bool,
    secret: Option<Secret>,
    extra: Option<Box<Extra>>,
}

/// The rarely needed part of a [`Raw`].
#[derive(Clone, Debug, Default)]
struct Extra {
    /// Members kept as they came: unknown fields, and known ones whose JSON
    /// the typed view does not reproduce (`" 7 "` for a timestamp…).
    verbatim: Vec<(String, Value)>,
    /// The slots, when there are more than [`INLINE`].
    slots: Vec<u8>,
}

/// One member of an entry's object, for writing.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Member<'a> {
    Str(&'a str),
    /// A string known to need no escaping.
    PlainStr(&'a str),
    Null,
    Num(u64),
    NumStr(u64),
    Value(&'a Value),
}

impl Default for Raw {
    fn default() -> Self {
        Raw {
            len: 0,
            inline: [0; INLINE],
            secret_plain: false,
            secret: None,
            extra: None,
        }
    }
}

impl Raw {
    /// The entry's secret, when it has a string one.
    pub(crate) fn secret(&self) -> Option<&Secret> {
        self.secret.as_ref()
    }

    /// Puts a deferred secret ([`Fields::deferring_secret`]) in its place.
    pub(crate) fn fill_secret(&mut self, secret: Secret) {
        self.secret = Some(secret);
    }

    /// Replaces the secret in place (or appends one).
    pub(crate) fn set_secret(&mut self, secret: Secret) {
        if !self.slots().contains(&SLOT_SECRET) {
            self.push_slot(SLOT_SECRET);
        }
        self.secret = Some(secret);
        self.secret_plain = false;
    }

    /// Sets a member kept verbatim; an existing one keeps its position. (Known
    /// fields of an entry are set through the entry.)
    pub(crate) fn set(&mut self, name: &str, value: Value) {
        if let Some(extra) = &mut self.extra {
            if let Some(member) = extra.verbatim.iter_mut().find(|(n, _)| n == name) {
                member.1 = value;
                return;
            }
        }
        self.push_verbatim(name.to_owned(), value);
    }

    /// Takes the members of `old` that `E` does not know and this record
    /// lacks — another library's fields (`name`, `tenantProfiles` on an
    /// account…) — so an entry rewritten from a new response keeps them.
    /// Known fields stay this record's: the response decides those (an old
    /// `refresh_on` carried over would refresh the new token too early).
    pub(crate) fn keep_foreign<E: Entity>(&mut self, old: &Raw) {
        let Some(old) = &old.extra else {
            return;
        };
        for (name, value) in &old.verbatim {
            let ours = self.verbatim().iter().any(|(n, _)| n == name);
            if name != "secret" && E::field_id(name).is_none() && !ours {
                self.push_verbatim(name.clone(), value.clone());
            }
        }
    }

    /// The members kept verbatim, in order.
    fn verbatim(&self) -> &[(String, Value)] {
        self.extra.as_ref().map_or(&[], |e| &e.verbatim)
    }

    fn slots(&self) -> &[u8] {
        if self.len == SPILLED {
            self.extra.as_ref().map_or(&[], |e| &e.slots)
        } else {
            &self.inline[..usize::from(self.len)]
        }
    }

    fn push_slot(&mut self, slot: u8) {
        let len = usize::from(self.len);
        if self.len != SPILLED && len < INLINE {
            self.inline[len] = slot;
            self.len += 1;
            return;
        }
        let extra = self.extra.get_or_insert_with(Box::default);
        if self.len != SPILLED {
            extra.slots = self.inline.to_vec();
            self.len = SPILLED;
        }
        extra.slots.push(slot);
    }

    fn push_verbatim(&mut self, name: String, value: Value) {
        self.extra
            .get_or_insert_with(Box::default)
            .verbatim
            .push((name, value));
        self.push_slot(SLOT_VERBATIM);
    }

    /// The slot of known field `id`, if the object has that member.
    fn known_position(&self, id: u8) -> Option<usize> {
        self.slots()
            .iter()
            .position(|&s| s < SLOT_SECRET && s >> 3 == id)
    }

    fn set_slot(&mut self, position: usize, slot: u8) {
        if self.len == SPILLED {
            if let Some(s) = self.extra.as_mut().and_then(|e| e.slots.get_mut(position)) {
                *s = slot;
            }
        } else if let Some(s) = self.inline.get_mut(position) {
            *s = slot;
        }
    }

    /// The members in order, known ones read from `view`.
    pub(crate) fn members<'a, E: Entity>(
        &'a self,
        view: &'a E,
    ) -> impl Iterator<Item = (&'a str, Member<'a>)> + 'a {
        let mut next_verbatim = self.verbatim().iter();
        self.slots().iter().filter_map(move |&slot| match slot {
            SLOT_SECRET => self.secret.as_ref().map(|s| {
                let s = s.expose_secret();
                let member = if self.secret_plain {
                    Member::PlainStr(s)
                } else {
                    Member::Str(s)
                };
                ("secret", member)
            }),
            SLOT_VERBATIM => next_verbatim
                .next()
                .map(|(name, value)| (name.as_str(), Member::Value(value))),
            _ => {
                let id = slot >> 3;
                let name = E::FIELDS.get(usize::from(id)).copied()?;
                let member = match slot & 7 {
                    CLASS_STR => view.string(id).map_or(Member::Null, Member::Str),
                    CLASS_NUM => Member::Num(view.number(id)),
                    CLASS_NUM_STR => Member::NumStr(view.number(id)),
                    CLASS_CONST => E::CREDENTIAL_TYPE.map_or(Member::Null, Member::Str),
                    _ => Member::Null,
                };
                Some((name, member))
            }
        })
    }
}

// ---------------------------------------------------------------------------
// Reading an object.

/// A member's value as read, before it is checked.
#[derive(Debug)]
pub(crate) enum Scalar<'de> {
    Null,
    Str(Cow<'de, str>),
    /// A non-negative integer that fits in a `u64`.
    Int(u64),
    /// Anything else (other numbers, booleans, arrays, objects).
    Other(Box<Value>),
}

impl Scalar<'_> {
    fn into_value(self) -> Value {
        match self {
            Scalar::Null => Value::Null,
            Scalar::Str(s) => Value::String(s.into_owned()),
            Scalar::Int(n) => Value::from(n),
            Scalar::Other(v) => *v,
        }
    }

    pub(crate) fn from_value(value: Value) -> Scalar<'static> {
        match value {
            Value::Null => Scalar::Null,
            Value::String(s) => Scalar::Str(Cow::Owned(s)),
            Value::Number(n) if n.is_u64() => n.as_u64().map_or(Scalar::Null, Scalar::Int),
            other => Scalar::Other(Box::new(other)),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Scalar::Null => "null",
            Scalar::Str(_) => "a string",
            Scalar::Int(_) => "a number",
            Scalar::Other(v) => kind(v),
        }
    }
}

/// An entry object as read: the known members by field id, the others
/// verbatim, and the order of them all. One is reused for every entry of a
/// section.
#[derive(Debug)]
pub(crate) struct Fields<'de> {
    known: [Option<Scalar<'de>>; MAX_FIELDS],
    /// How each known member is written back; `None`: verbatim.
    class: [Option<u8>; MAX_FIELDS],
    /// Field ids, or [`SLOT_VERBATIM`] for the next member of `verbatim`.
    order: Vec<u8>,
    verbatim: Vec<(String, Value)>,
    /// The string secret, taken out of `known`, as read.
    secret: Option<Cow<'de, str>>,
    /// Whether the secret is left to the caller ([`Fields::deferring_secret`])
    /// instead of going into a [`Secret`] of its own.
    defer_secret: bool,
    /// Whether it was read without escapes.
    secret_plain: bool,
    /// The id of `secret` in this kind, if it has one.
    secret_id: Option<u8>,
    /// The last value of each shared text field, by id: entries of one
    /// document repeat their environment, client, token type and target, and
    /// sharing the previous entry's value saves an allocation (and its free)
    /// per field per entry.
    shared: [Option<Text>; MAX_FIELDS],
    /// The last target, its normalized scopes and whether they spell it, for
    /// the same reason.
    shared_scopes: Option<(Text, Arc<[String]>, bool)>,
    /// The shared parts of the last few access tokens, most recent first,
    /// for the same reason: a cache of users who each hold tokens for a few
    /// resources lists them alternating (A's Graph token, A's Azure token,
    /// B's Graph token…), and one remembered part would share nothing there.
    recent_at_shared: Vec<Arc<AtShared>>,
}

impl<'de> Fields<'de> {
    pub(crate) fn new() -> Self {
        Fields {
            known: Default::default(),
            class: [None; MAX_FIELDS],
            order: Vec::with_capacity(16),
            verbatim: Vec::new(),
            secret: None,
            defer_secret: false,
            secret_plain: false,
            secret_id: None,
            shared: Default::default(),
            shared_scopes: None,
            recent_at_shared: Vec::with_capacity(RECENT_AT_SHARED),
        }
    }

    fn clear(&mut self) {
        // Only the members the last object had were set.
        for &id in &self.order {
            let i = usize::from(id);
            if let (Some(known), Some(class)) = (self.known.get_mut(i), self.class.get_mut(i)) {
                *known = None;
                *class = None;
            }
        }
        self.order.clear();
        self.verbatim.clear();
        self.secret = None;
        self.secret_plain = false;
        self.secret_id = None;
    }

    /// Runs `read` (reading and building an entry here) leaving the entry's
    /// string secret to the caller, returned beside `read`'s result: the
    /// entry's record has the secret's place, and the caller puts the secret
    /// there ([`Raw::fill_secret`]) — a reader that copies many secrets into
    /// one allocation ([`SecretBlock`](super::codec::secrets::SecretBlock)).
    pub(crate) fn deferring_secret<R>(
        &mut self,
        read: impl FnOnce(&mut Self) -> R,
    ) -> (R, Option<Cow<'de, str>>) {
        self.defer_secret = true;
        let read = read(self);
        self.defer_secret = false;
        (read, self.secret.take())
    }

    /// Starts reading an object of kind `E`.
    pub(crate) fn start<E: Entity>(&mut self) {
        self.clear();
        self.secret_id = E::field_id("secret");
    }

    /// Adds a known member. `false` when it is already there (a duplicate name).
    pub(crate) fn add_known(&mut self, id: u8, value: Scalar<'de>) -> bool {
        match self.known.get_mut(usize::from(id)) {
            Some(slot @ None) => {
                *slot = Some(value);
                self.order.push(id);
                true
            }
            _ => false,
        }
    }

    /// Adds a member oxmsal does not know. `false` when it is already there.
    pub(crate) fn add_verbatim(&mut self, name: Cow<'_, str>, value: Value) -> bool {
        if self.verbatim.iter().any(|(n, _)| *n == *name) {
            return false;
        }
        self.verbatim.push((name.into_owned(), value));
        self.order.push(SLOT_VERBATIM);
        true
    }

    /// Adds a member read as a scalar, known to `E` or not. `false` when it
    /// is already there.
    pub(crate) fn add<E: Entity>(&mut self, name: &str, value: Scalar<'de>) -> bool {
        match E::field_id(name) {
            Some(id) => self.add_known(id, value),
            None => self.add_verbatim(Cow::Borrowed(name), value.into_value()),
        }
    }

    fn name<E: Entity>(id: u8) -> &'static str {
        E::FIELDS.get(usize::from(id)).copied().unwrap_or("?")
    }

    /// A string field: `None` when absent or null; an error for another type.
    fn opt_str<E: Entity>(&mut self, id: u8) -> Result<Option<String>, String> {
        Ok(self.opt_cow::<E>(id)?.map(Cow::into_owned))
    }

    /// `value` of field `id` as [`Text`], shared with the last value of that
    /// field when it is the same.
    fn share_text(&mut self, id: u8, value: &str) -> Text {
        let Some(last) = self.shared.get_mut(usize::from(id)) else {
            return Text::from(value);
        };
        match last {
            Some(last) if **last == *value => Arc::clone(last),
            _ => {
                let text = Text::from(value);
                *last = Some(Arc::clone(&text));
                text
            }
        }
    }

    /// An access token's shared part from its fields as read: the previous
    /// token's when they are the same — one reference count touched instead
    /// of one per field, when a token is read and when it is dropped.
    fn at_shared(
        &mut self,
        environment: &str,
        client_id: &str,
        target: &str,
        token_type: &str,
    ) -> Arc<AtShared> {
        let agrees = |recent: &Arc<AtShared>| {
            *recent.environment == *environment
                && *recent.client_id == *client_id
                && *recent.target == *target
                && *recent.token_type == *token_type
        };
        if let Some(i) = self.recent_at_shared.iter().position(agrees) {
            // Most recent first: the next token most likely wants it again.
            if let Some(front) = self.recent_at_shared.get_mut(..=i) {
                front.rotate_right(1);
            }
            if let Some(recent) = self.recent_at_shared.first() {
                return Arc::clone(recent);
            }
        }
        let target = self.share_text(at::TARGET, target);
        let (scopes, target_is_scopes) = self.scopes_of(&target);
        let shared = Arc::new(AtShared {
            environment: self.share_text(at::ENVIRONMENT, environment),
            client_id: self.share_text(at::CLIENT_ID, client_id),
            target,
            scopes,
            target_is_scopes,
            token_type: self.share_text(at::TOKEN_TYPE, token_type),
        });
        self.recent_at_shared.truncate(RECENT_AT_SHARED - 1);
        self.recent_at_shared.insert(0, Arc::clone(&shared));
        shared
    }

    /// An access token's texts as both readers take them: the shared part
    /// (an absent environment, client or target is empty, an absent token
    /// type `Bearer`), the home account, and the realm (empty when absent).
    fn at_texts(&mut self, t: AtTexts<'_>) -> (Arc<AtShared>, Option<Text>, Text) {
        let shared = self.at_shared(
            t.environment.unwrap_or(""),
            t.client_id.unwrap_or(""),
            t.target.unwrap_or(""),
            t.token_type.unwrap_or("Bearer"),
        );
        let home_account_id = t
            .home_account_id
            .map(|home| self.share_text(at::HOME_ACCOUNT_ID, home));
        let realm = match t.realm {
            Some(realm) => self.share_text(at::REALM, realm),
            None => Text::from(""),
        };
        (shared, home_account_id, realm)
    }

    /// The normalized scopes of `target`, and whether they spell it as is
    /// (see [`AccessTokenEntry::target_is_scopes`]); shared with the previous
    /// entry's when the target is the same.
    fn scopes_of(&mut self, target: &Text) -> (Arc<[String]>, bool) {
        match &self.shared_scopes {
            Some((last, scopes, same)) if Arc::ptr_eq(last, target) || **last == **target => {
                (Arc::clone(scopes), *same)
            }
            _ => {
                let scopes: Arc<[String]> = scopes::normalized(target).into();
                let same = target.split(' ').eq(scopes.iter().map(String::as_str));
                self.shared_scopes = Some((Arc::clone(target), Arc::clone(&scopes), same));
                (scopes, same)
            }
        }
    }

    /// A string field as read: `None` when absent or null; an error for
    /// another type.
    fn opt_cow<E: Entity>(&mut self, id: u8) -> Result<Option<Cow<'de, str>>, String> {
        let i = usize::from(id);
        match self.known.get_mut(i) {
            None | Some(None) => Ok(None),
            Some(Some(Scalar::Null)) => {
                self.class[i] = Some(CLASS_NULL);
                Ok(None)
            }
            Some(Some(Scalar::Str(_))) => match self.known[i].take() {
                Some(Scalar::Str(s)) => {
                    self.class[i] = Some(CLASS_STR);
                    Ok(Some(s))
                }
                _ => Ok(None),
            },
            Some(Some(other)) => Err(format!(
                "`{}` is {}, not a string",
                Self::name::<E>(id),
                other.kind()
            )),
        }
    }

    /// A string field that defaults to `""` when absent or null.
    fn str_or_empty<E: Entity>(&mut self, id: u8) -> Result<String, String> {
        Ok(self.opt_str::<E>(id)?.unwrap_or_default())
    }

    /// A timestamp: `None` when absent, null or blank; an error when present
    /// but not a non-negative number or numeric string.
    fn opt_seconds<E: Entity>(&mut self, id: u8) -> Result<Option<u64>, String> {
        let i = usize::from(id);
        let invalid = |shown: String| {
            format!(
                "`{}` is not a number of seconds: {shown}",
                Self::name::<E>(id)
            )
        };
        // The usual case first: digits as MSAL writes them, read in one pass.
        if let Some(Some(Scalar::Str(s))) = self.known.get(i) {
            if let Some(n) = plain_seconds(s) {
                self.class[i] = Some(CLASS_NUM_STR);
                return Ok(Some(n));
            }
        }
        let (parsed, class) = match self.known.get(i) {
            None | Some(None) => return Ok(None),
            Some(Some(Scalar::Null)) => (None, Some(CLASS_NULL)),
            Some(Some(Scalar::Str(s))) if s.trim().is_empty() => return Ok(None),
            Some(Some(Scalar::Str(s))) => match seconds_str(s) {
                Some(n) => {
                    // Written back from the number only when that gives the same text
                    // (not rounded: a number past `u64::MAX` saturates). Up to 19
                    // digits that was the one-pass case above.
                    let canonical = plain_digits(s) && s.parse::<u64>() == Ok(n);
                    (Some(n), canonical.then_some(CLASS_NUM_STR))
                }
                None => return Err(invalid(excerpt(&Value::String(s.to_string())))),
            },
            Some(Some(Scalar::Int(n))) => (Some(*n), Some(CLASS_NUM)),
            Some(Some(Scalar::Other(v))) => match seconds(v) {
                Some(n) => (Some(n), None),
                None => return Err(invalid(excerpt(v))),
            },
        };
        if let Some(class) = class {
            self.class[i] = Some(class);
        }
        Ok(parsed)
    }

    /// `secret`: a string one goes into a [`Secret`]. Of another type it is an
    /// error when `strict` (credentials), else kept verbatim.
    fn take_secret(&mut self, strict: bool) -> Result<(), String> {
        let Some(id) = self.secret_id else {
            return Ok(());
        };
        let i = usize::from(id);
        match &self.known[i] {
            None | Some(Scalar::Null) => Ok(()),
            Some(Scalar::Str(_)) => {
                if let Some(Scalar::Str(s)) = self.known[i].take() {
                    // A string borrowed from a JSON document had no escapes, so
                    // none of `"`, `\` or control characters.
                    self.secret_plain = matches!(s, Cow::Borrowed(_));
                    self.secret = Some(s);
                }
                Ok(())
            }
            Some(other) if strict => Err(format!("`secret` is {}, not a string", other.kind())),
            Some(_) => Ok(()),
        }
    }

    /// `credential_type`: written as the kind's constant when it is that.
    fn credential_type<E: Entity>(&mut self, id: u8) {
        let i = usize::from(id);
        if let (Some(Scalar::Str(s)), Some(expected)) = (&self.known[i], E::CREDENTIAL_TYPE) {
            if s == expected {
                self.class[i] = Some(CLASS_CONST);
            }
        }
    }

    /// `family_id`: a string; a number is taken as its decimal text (the server's
    /// `foci` is `"1"`, but nothing is lost by accepting `1`).
    fn family_id<E: Entity>(&mut self, id: u8) -> Result<Option<String>, String> {
        match &self.known[usize::from(id)] {
            Some(Scalar::Int(n)) => Ok(Some(n.to_string())),
            Some(Scalar::Other(v)) if v.is_number() => Ok(Some(v.to_string())),
            _ => self.opt_str::<E>(id),
        }
    }

    /// A verbatim member, by name.
    fn verbatim(&self, name: &str) -> Option<&Value> {
        self.verbatim
            .iter()
            .find_map(|(n, v)| (n == name).then_some(v))
    }

    /// The record: known members the typed view reproduces become a slot
    /// each, the rest stay verbatim, all in document order.
    fn take_raw<E: Entity>(&mut self) -> Raw {
        // A deferred secret stays here for the caller; its place is kept.
        let has_secret = self.secret.is_some();
        let secret = if self.defer_secret {
            None
        } else {
            self.secret.take().map(|s| Secret::new(s.into_owned()))
        };
        let mut raw = Raw {
            secret,
            secret_plain: std::mem::take(&mut self.secret_plain),
            ..Raw::default()
        };
        let mut verbatim = std::mem::take(&mut self.verbatim).into_iter();
        for position in 0..self.order.len() {
            let id = self.order[position];
            if id == SLOT_VERBATIM {
                if let Some((name, value)) = verbatim.next() {
                    raw.push_verbatim(name, value);
                }
                continue;
            }
            let i = usize::from(id);
            if Some(id) == self.secret_id && has_secret {
                raw.push_slot(SLOT_SECRET);
            } else if let Some(class) = self.class[i] {
                raw.push_slot(known_slot(id, class));
            } else if let Some(value) = self.known[i].take() {
                raw.push_verbatim(Self::name::<E>(id).to_owned(), value.into_value());
            }
        }
        raw
    }
}

/// A timestamp written as MSAL writes one: 1 to 19 digits (which always fit
/// a `u64`), no leading zero. Its number gives back the same text.
fn plain_seconds(s: &str) -> Option<u64> {
    (s.len() <= 19 && plain_digits(s))
        .then(|| s.bytes().fold(0u64, |n, d| n * 10 + u64::from(d - b'0')))
}

/// Digits only, at least one, and no leading zero: how a number writes itself.
fn plain_digits(s: &str) -> bool {
    let digits = s.as_bytes();
    !digits.is_empty()
        && digits.iter().all(u8::is_ascii_digit)
        && (digits.len() == 1 || digits.first() != Some(&b'0'))
}

/// Declares the known fields of an entry kind once, in id order: a module
/// `$ids` with each field's id (`$ids::NAME`), the names by id
/// ([`Entity::FIELDS`]) and the name's id ([`Entity::field_id`]). A field is
/// added to a kind by adding it here (and reading it in `build`).
macro_rules! known_fields {
    ($ids:ident { $($id:ident = $name:literal,)+ }) => {
        #[allow(dead_code, non_camel_case_types, clippy::upper_case_acronyms)]
        mod $ids {
            #[repr(u8)]
            enum Id {
                $($id),+
            }
            $(pub(super) const $id: u8 = Id::$id as u8;)+
            pub(super) const FIELDS: &[&str] = &[$($name),+];
            // Ids index `Fields`' arrays.
            const _: () = assert!(FIELDS.len() <= $crate::cache::entity::MAX_FIELDS);
            pub(super) fn id(name: &str) -> Option<u8> {
                match name {
                    $($name => Some($id),)+
                    _ => None,
                }
            }
        }
    };
}

/// An entry kind: how the reader builds one, and what the writer reads of it.
pub(crate) trait Entity: Sized {
    /// The known fields, by id.
    const FIELDS: &'static [&'static str];
    /// The `credential_type` of the kind, if it has one.
    const CREDENTIAL_TYPE: Option<&'static str>;
    /// The id of a known field, by name (the kind's `known_fields!` module's
    /// `id`).
    const FIELD_ID: fn(&str) -> Option<u8>;
    /// The id of a known field.
    fn field_id(name: &str) -> Option<u8> {
        (Self::FIELD_ID)(name)
    }
    /// A known string field's value.
    fn string(&self, id: u8) -> Option<&str>;
    /// A known number field's value (0 for a kind without number fields).
    fn number(&self, _id: u8) -> u64 {
        0
    }
    /// Checks the fields read and builds the entry (`fields` is left to reuse).
    fn build(fields: &mut Fields<'_>) -> Result<Self, String>;
    /// The record.
    fn raw(&self) -> &Raw;
    /// Reads an entry of a cache document.
    fn parse(object: Map<String, Value>) -> Result<Self, String> {
        let mut fields = Fields::new();
        fields.start::<Self>();
        for (name, value) in object {
            // A JSON object has no repeated names: every member is added.
            fields.add::<Self>(&name, Scalar::from_value(value));
        }
        Self::build(&mut fields)
    }
}

/// Builds an entry from its members, in order, as reading the same object
/// from a document would — without building the object (what saving a token
/// response does).
pub(crate) fn build_from<E: Entity>(members: Vec<(&'static str, Scalar<'_>)>) -> Result<E, String> {
    let mut fields = Fields::new();
    fields.start::<E>();
    for (name, value) in members {
        if !fields.add::<E>(name, value) {
            return Err(format!("`{name}` is given twice"));
        }
    }
    E::build(&mut fields)
}

// ---------------------------------------------------------------------------
// The kinds.

/// An access token's text fields as read, absent ones `None`.
struct AtTexts<'a> {
    home_account_id: Option<&'a str>,
    environment: Option<&'a str>,
    client_id: Option<&'a str>,
    target: Option<&'a str>,
    realm: Option<&'a str>,
    token_type: Option<&'a str>,
}

/// How many access tokens' shared parts a reader remembers.
const RECENT_AT_SHARED: usize = 4;

/// An `AccessToken` entry.
#[derive(Clone, Debug)]
pub(crate) struct AccessTokenEntry {
    pub(crate) raw: Raw,
    pub(crate) home_account_id: Option<Text>,
    pub(crate) realm: Text,
    /// Environment, client, target and token type: what the tokens of one
    /// app and resource have in common.
    pub(crate) shared: Arc<AtShared>,
    pub(crate) cached_at: u64,
    /// 0 when absent: such an entry is expired, never returned.
    pub(crate) expires_on: u64,
    pub(crate) extended_expires_on: Option<u64>,
    pub(crate) refresh_on: Option<u64>,
    pub(crate) ext_cache_key: Option<String>,
}

/// The fields that the access tokens of one app, environment, resource and
/// token type share, in one allocation: reading 10,000 such tokens
/// takes one reference to it per token instead of one per field (the atomic
/// increments, and the decrements when they are dropped, were the hottest
/// instructions of reading and dropping a token), and each token is 80 bytes
/// smaller (224 → 144).
#[derive(Debug)]
pub(crate) struct AtShared {
    pub(crate) environment: Text,
    pub(crate) client_id: Text,
    pub(crate) target: Text,
    /// `target` normalized for comparisons.
    pub(crate) scopes: Arc<[String]>,
    /// Whether `scopes` spell `target` as is (`api://…/.default`, lowercase
    /// scopes in order): a cache hit then hands out `scopes` instead of
    /// splitting the target. Decided once per distinct target, not per hit.
    pub(crate) target_is_scopes: bool,
    pub(crate) token_type: Text,
}

known_fields!(at {
    CREDENTIAL_TYPE = "credential_type",
    SECRET = "secret",
    HOME_ACCOUNT_ID = "home_account_id",
    ENVIRONMENT = "environment",
    CLIENT_ID = "client_id",
    TARGET = "target",
    REALM = "realm",
    TOKEN_TYPE = "token_type",
    CACHED_AT = "cached_at",
    EXPIRES_ON = "expires_on",
    EXTENDED_EXPIRES_ON = "extended_expires_on",
    REFRESH_ON = "refresh_on",
    EXT_CACHE_KEY = "ext_cache_key",
});

impl Entity for AccessTokenEntry {
    const FIELDS: &'static [&'static str] = at::FIELDS;
    const FIELD_ID: fn(&str) -> Option<u8> = at::id;
    const CREDENTIAL_TYPE: Option<&'static str> = Some("AccessToken");

    fn string(&self, id: u8) -> Option<&str> {
        match id {
            at::HOME_ACCOUNT_ID => self.home_account_id.as_deref(),
            at::ENVIRONMENT => Some(&self.shared.environment),
            at::CLIENT_ID => Some(&self.shared.client_id),
            at::TARGET => Some(&self.shared.target),
            at::REALM => Some(&self.realm),
            at::TOKEN_TYPE => Some(&self.shared.token_type),
            at::EXT_CACHE_KEY => self.ext_cache_key.as_deref(),
            _ => None,
        }
    }

    fn number(&self, id: u8) -> u64 {
        match id {
            at::CACHED_AT => self.cached_at,
            at::EXPIRES_ON => self.expires_on,
            at::EXTENDED_EXPIRES_ON => self.extended_expires_on.unwrap_or(0),
            at::REFRESH_ON => self.refresh_on.unwrap_or(0),
            _ => 0,
        }
    }

    fn build(f: &mut Fields<'_>) -> Result<Self, String> {
        type E = AccessTokenEntry;
        f.take_secret(true)?;
        // Checked in this order, so a document with several bad fields is
        // told about the same one as before.
        let target = f.opt_cow::<E>(at::TARGET)?;
        // MSAL.NET reads the misspelt `ext_expires_on` of early MSALs too.
        let extended_expires_on = match f.opt_seconds::<E>(at::EXTENDED_EXPIRES_ON)? {
            Some(t) => Some(t),
            None => super::fields::opt_seconds_of(f.verbatim("ext_expires_on"), "ext_expires_on")?,
        };
        let home_account_id = f.opt_cow::<E>(at::HOME_ACCOUNT_ID)?;
        let environment = f.opt_cow::<E>(at::ENVIRONMENT)?;
        let client_id = f.opt_cow::<E>(at::CLIENT_ID)?;
        let realm = f.opt_cow::<E>(at::REALM)?;
        let token_type = f.opt_cow::<E>(at::TOKEN_TYPE)?;
        let (shared, home_account_id, realm) = f.at_texts(AtTexts {
            home_account_id: home_account_id.as_deref(),
            environment: environment.as_deref(),
            client_id: client_id.as_deref(),
            target: target.as_deref(),
            realm: realm.as_deref(),
            token_type: token_type.as_deref(),
        });
        let cached_at = f.opt_seconds::<E>(at::CACHED_AT)?.unwrap_or(0);
        let expires_on = f.opt_seconds::<E>(at::EXPIRES_ON)?.unwrap_or(0);
        let refresh_on = f.opt_seconds::<E>(at::REFRESH_ON)?;
        let ext_cache_key = f.opt_str::<E>(at::EXT_CACHE_KEY)?;
        f.credential_type::<E>(at::CREDENTIAL_TYPE);
        Ok(AccessTokenEntry {
            raw: f.take_raw::<E>(),
            home_account_id,
            realm,
            shared,
            cached_at,
            expires_on,
            extended_expires_on,
            refresh_on,
            ext_cache_key,
        })
    }

    fn raw(&self) -> &Raw {
        &self.raw
    }
}

/// An access token written as every MSAL writes one, as the codec's fast
/// path reads it (`codec/fast.rs`): known members only, in the order of their
/// ids, strings where strings go (`home_account_id` may be `null`),
/// timestamps as plain digit strings, `credential_type` exactly
/// `AccessToken`. [`Fields::build_msal_access_token`] makes of it the entry
/// the general path ([`Entity::build`] on its [`Fields`]) makes of the same
/// object — member for member, class for class.
#[derive(Debug, Default)]
pub(crate) struct MsalAccessToken<'de> {
    /// Bit `id` set: member `id` is there (members come in id order).
    present: u16,
    /// `home_account_id` is `null`.
    home_null: bool,
    secret: Option<Cow<'de, str>>,
    home_account_id: Option<Cow<'de, str>>,
    environment: Option<Cow<'de, str>>,
    client_id: Option<Cow<'de, str>>,
    target: Option<Cow<'de, str>>,
    realm: Option<Cow<'de, str>>,
    token_type: Option<Cow<'de, str>>,
    ext_cache_key: Option<Cow<'de, str>>,
    cached_at: Option<u64>,
    expires_on: Option<u64>,
    extended_expires_on: Option<u64>,
    refresh_on: Option<u64>,
}

impl<'de> MsalAccessToken<'de> {
    /// Takes member `id` as a string; `None` when this shape does not take
    /// it (the general path then reads the object).
    ///
    /// Inlined into the reader's loop: called, the string came in through
    /// memory and was read back wider than it was written, a store-forwarding
    /// stall on every member (`perf annotate`: a quarter of this function).
    #[inline(always)]
    pub(crate) fn string(&mut self, id: usize, text: Cow<'de, str>) -> Option<()> {
        let id = u8::try_from(id).ok()?;
        let slot = match id {
            at::CREDENTIAL_TYPE => return (text == "AccessToken").then(|| self.mark(id)),
            at::SECRET => &mut self.secret,
            at::HOME_ACCOUNT_ID => &mut self.home_account_id,
            at::ENVIRONMENT => &mut self.environment,
            at::CLIENT_ID => &mut self.client_id,
            at::TARGET => &mut self.target,
            at::REALM => &mut self.realm,
            at::TOKEN_TYPE => &mut self.token_type,
            at::EXT_CACHE_KEY => &mut self.ext_cache_key,
            _ => {
                let seconds = Some(plain_seconds(&text)?);
                match id {
                    at::CACHED_AT => self.cached_at = seconds,
                    at::EXPIRES_ON => self.expires_on = seconds,
                    at::EXTENDED_EXPIRES_ON => self.extended_expires_on = seconds,
                    at::REFRESH_ON => self.refresh_on = seconds,
                    _ => return None,
                }
                self.mark(id);
                return Some(());
            }
        };
        *slot = Some(text);
        self.mark(id);
        Some(())
    }

    /// Takes member `id` as `null`: only `home_account_id` (an app token's).
    pub(crate) fn null(&mut self, id: usize) -> Option<()> {
        (id == usize::from(at::HOME_ACCOUNT_ID)).then(|| {
            self.home_null = true;
            self.mark(at::HOME_ACCOUNT_ID);
        })
    }

    fn mark(&mut self, id: u8) {
        self.present |= 1 << id;
    }

    /// How member `id` is written back, as the general path classes it.
    fn slot(&self, id: u8) -> u8 {
        match id {
            at::CREDENTIAL_TYPE => known_slot(id, CLASS_CONST),
            at::SECRET => SLOT_SECRET,
            at::HOME_ACCOUNT_ID if self.home_null => known_slot(id, CLASS_NULL),
            at::CACHED_AT | at::EXPIRES_ON | at::EXTENDED_EXPIRES_ON | at::REFRESH_ON => {
                known_slot(id, CLASS_NUM_STR)
            }
            _ => known_slot(id, CLASS_STR),
        }
    }
}

impl<'de> Fields<'de> {
    /// The entry of an access token read by the fast path, and its secret
    /// (always left to the caller, as [`Fields::deferring_secret`] does).
    pub(crate) fn build_msal_access_token(
        &mut self,
        m: MsalAccessToken<'de>,
    ) -> (AccessTokenEntry, Option<Cow<'de, str>>) {
        let mut raw = Raw {
            secret_plain: matches!(m.secret, Some(Cow::Borrowed(_))),
            ..Raw::default()
        };
        for id in 0..=at::EXT_CACHE_KEY {
            if m.present & (1 << id) != 0 {
                raw.push_slot(m.slot(id));
            }
        }
        let (shared, home_account_id, realm) = self.at_texts(AtTexts {
            home_account_id: m.home_account_id.as_deref(),
            environment: m.environment.as_deref(),
            client_id: m.client_id.as_deref(),
            target: m.target.as_deref(),
            realm: m.realm.as_deref(),
            token_type: m.token_type.as_deref(),
        });
        let entry = AccessTokenEntry {
            raw,
            home_account_id,
            realm,
            shared,
            cached_at: m.cached_at.unwrap_or(0),
            expires_on: m.expires_on.unwrap_or(0),
            extended_expires_on: m.extended_expires_on,
            refresh_on: m.refresh_on,
            ext_cache_key: m.ext_cache_key.map(Cow::into_owned),
        };
        (entry, m.secret)
    }
}

impl AccessTokenEntry {
    /// Whether the token may still be handed out at `now`: at least five minutes
    /// of life left (what every MSAL requires of a cached token), and a secret to hand out.
    pub(crate) fn usable_at(&self, now: u64) -> bool {
        self.expires_on.saturating_sub(now) >= MIN_REMAINING_LIFETIME_SECS
            && self.raw.secret().is_some_and(|s| !s.is_empty())
    }
}

/// A `RefreshToken` entry.
#[derive(Clone, Debug)]
pub(crate) struct RefreshTokenEntry {
    pub(crate) raw: Raw,
    pub(crate) home_account_id: Option<String>,
    pub(crate) environment: String,
    pub(crate) client_id: String,
    pub(crate) target: String,
    pub(crate) scopes: Box<[String]>,
    /// 0 when absent (the field is optional in the schema): oldest.
    pub(crate) last_modification_time: u64,
    pub(crate) family_id: Option<String>,
}

known_fields!(rt {
    CREDENTIAL_TYPE = "credential_type",
    SECRET = "secret",
    HOME_ACCOUNT_ID = "home_account_id",
    ENVIRONMENT = "environment",
    CLIENT_ID = "client_id",
    TARGET = "target",
    LAST_MODIFICATION_TIME = "last_modification_time",
    FAMILY_ID = "family_id",
});

impl Entity for RefreshTokenEntry {
    const FIELDS: &'static [&'static str] = rt::FIELDS;
    const FIELD_ID: fn(&str) -> Option<u8> = rt::id;
    const CREDENTIAL_TYPE: Option<&'static str> = Some("RefreshToken");

    fn string(&self, id: u8) -> Option<&str> {
        match id {
            rt::HOME_ACCOUNT_ID => self.home_account_id.as_deref(),
            rt::ENVIRONMENT => Some(&self.environment),
            rt::CLIENT_ID => Some(&self.client_id),
            rt::TARGET => Some(&self.target),
            rt::FAMILY_ID => self.family_id.as_deref(),
            _ => None,
        }
    }

    fn number(&self, id: u8) -> u64 {
        match id {
            rt::LAST_MODIFICATION_TIME => self.last_modification_time,
            _ => 0,
        }
    }

    fn build(f: &mut Fields<'_>) -> Result<Self, String> {
        type E = RefreshTokenEntry;
        f.take_secret(true)?;
        let target = f.str_or_empty::<E>(rt::TARGET)?;
        let home_account_id = f.opt_str::<E>(rt::HOME_ACCOUNT_ID)?;
        let environment = f.str_or_empty::<E>(rt::ENVIRONMENT)?;
        let client_id = f.str_or_empty::<E>(rt::CLIENT_ID)?;
        let last_modification_time = f.opt_seconds::<E>(rt::LAST_MODIFICATION_TIME)?.unwrap_or(0);
        let family_id = f.family_id::<E>(rt::FAMILY_ID)?;
        f.credential_type::<E>(rt::CREDENTIAL_TYPE);
        Ok(RefreshTokenEntry {
            raw: f.take_raw::<E>(),
            home_account_id,
            environment,
            client_id,
            scopes: scopes::normalized(&target),
            target,
            last_modification_time,
            family_id,
        })
    }

    fn raw(&self) -> &Raw {
        &self.raw
    }
}

impl RefreshTokenEntry {
    /// Sets `last_modification_time` (written as a string of epoch seconds); an
    /// existing member keeps its position.
    pub(crate) fn set_last_modification_time(&mut self, now: u64) {
        let slot = known_slot(rt::LAST_MODIFICATION_TIME, CLASS_NUM_STR);
        let name = Self::FIELDS[usize::from(rt::LAST_MODIFICATION_TIME)];
        if let Some(position) = self.raw.known_position(rt::LAST_MODIFICATION_TIME) {
            self.raw.set_slot(position, slot);
        } else if self.raw.verbatim().iter().any(|(n, _)| n == name) {
            self.raw.set(name, Value::from(now.to_string()));
        } else {
            self.raw.push_slot(slot);
        }
        self.last_modification_time = now;
    }
}

/// An `IdToken` entry.
#[derive(Clone, Debug)]
pub(crate) struct IdTokenEntry {
    pub(crate) raw: Raw,
    pub(crate) home_account_id: Option<String>,
    pub(crate) environment: String,
    pub(crate) realm: String,
    pub(crate) client_id: String,
    /// The token's claims, decoded on first use: every silent hit returns
    /// them, and decoding (base64 and JSON) cost more than the lookup.
    claims: std::sync::OnceLock<Option<std::sync::Arc<Map<String, Value>>>>,
}

known_fields!(idt {
    CREDENTIAL_TYPE = "credential_type",
    SECRET = "secret",
    HOME_ACCOUNT_ID = "home_account_id",
    ENVIRONMENT = "environment",
    REALM = "realm",
    CLIENT_ID = "client_id",
});

impl Entity for IdTokenEntry {
    const FIELDS: &'static [&'static str] = idt::FIELDS;
    const FIELD_ID: fn(&str) -> Option<u8> = idt::id;
    const CREDENTIAL_TYPE: Option<&'static str> = Some("IdToken");

    fn string(&self, id: u8) -> Option<&str> {
        match id {
            idt::HOME_ACCOUNT_ID => self.home_account_id.as_deref(),
            idt::ENVIRONMENT => Some(&self.environment),
            idt::REALM => Some(&self.realm),
            idt::CLIENT_ID => Some(&self.client_id),
            _ => None,
        }
    }

    fn build(f: &mut Fields<'_>) -> Result<Self, String> {
        type E = IdTokenEntry;
        f.take_secret(true)?;
        let home_account_id = f.opt_str::<E>(idt::HOME_ACCOUNT_ID)?;
        let environment = f.str_or_empty::<E>(idt::ENVIRONMENT)?;
        let realm = f.str_or_empty::<E>(idt::REALM)?;
        let client_id = f.str_or_empty::<E>(idt::CLIENT_ID)?;
        f.credential_type::<E>(idt::CREDENTIAL_TYPE);
        Ok(IdTokenEntry {
            raw: f.take_raw::<E>(),
            home_account_id,
            environment,
            realm,
            client_id,
            claims: std::sync::OnceLock::new(),
        })
    }

    fn raw(&self) -> &Raw {
        &self.raw
    }
}

impl IdTokenEntry {
    /// The id token's claims (decoded, not validated; `None` when it is not a
    /// JWT), decoded once per entry.
    pub(crate) fn claims(&self) -> Option<std::sync::Arc<Map<String, Value>>> {
        self.claims
            .get_or_init(|| {
                let secret = self.raw.secret()?;
                crate::jwt::decode_claims(secret.expose_secret())
                    .ok()
                    .map(std::sync::Arc::new)
            })
            .clone()
    }
}

/// An `Account` entry: the public [`Account`](super::Account) and its record.
#[derive(Clone, Debug)]
pub(crate) struct AccountEntry {
    pub(crate) raw: Raw,
    pub(crate) account: super::Account,
}

known_fields!(acct {
    SECRET = "secret",
    HOME_ACCOUNT_ID = "home_account_id",
    ENVIRONMENT = "environment",
    REALM = "realm",
    LOCAL_ACCOUNT_ID = "local_account_id",
    USERNAME = "username",
    AUTHORITY_TYPE = "authority_type",
    ACCOUNT_SOURCE = "account_source",
});

impl Entity for AccountEntry {
    const FIELDS: &'static [&'static str] = acct::FIELDS;
    const FIELD_ID: fn(&str) -> Option<u8> = acct::id;
    const CREDENTIAL_TYPE: Option<&'static str> = None;

    fn string(&self, id: u8) -> Option<&str> {
        match id {
            acct::HOME_ACCOUNT_ID => Some(&self.account.home_account_id),
            acct::ENVIRONMENT => Some(&self.account.environment),
            acct::REALM => Some(&self.account.realm),
            acct::LOCAL_ACCOUNT_ID => self.account.local_account_id.as_deref(),
            acct::USERNAME => Some(&self.account.username),
            acct::AUTHORITY_TYPE => Some(&self.account.authority_type),
            acct::ACCOUNT_SOURCE => self.account.account_source.as_deref(),
            _ => None,
        }
    }

    fn build(f: &mut Fields<'_>) -> Result<Self, String> {
        type E = AccountEntry;
        // Checked in field order (a struct expression evaluates in order).
        let account = super::Account {
            home_account_id: f.str_or_empty::<E>(acct::HOME_ACCOUNT_ID)?,
            environment: f.str_or_empty::<E>(acct::ENVIRONMENT)?,
            realm: f.str_or_empty::<E>(acct::REALM)?,
            local_account_id: f.opt_str::<E>(acct::LOCAL_ACCOUNT_ID)?,
            username: f.str_or_empty::<E>(acct::USERNAME)?,
            authority_type: f.str_or_empty::<E>(acct::AUTHORITY_TYPE)?,
            account_source: f.opt_str::<E>(acct::ACCOUNT_SOURCE)?,
        };
        f.take_secret(false)?;
        let raw = f.take_raw::<E>();
        Ok(AccountEntry { raw, account })
    }

    fn raw(&self) -> &Raw {
        &self.raw
    }
}

/// An `AppMetadata` entry: the public [`AppMetadata`](super::AppMetadata)
/// and its record.
#[derive(Clone, Debug)]
pub(crate) struct AppMetadataEntry {
    pub(crate) raw: Raw,
    pub(crate) meta: super::AppMetadata,
}

known_fields!(meta {
    SECRET = "secret",
    CLIENT_ID = "client_id",
    ENVIRONMENT = "environment",
    FAMILY_ID = "family_id",
});

impl Entity for AppMetadataEntry {
    const FIELDS: &'static [&'static str] = meta::FIELDS;
    const FIELD_ID: fn(&str) -> Option<u8> = meta::id;
    const CREDENTIAL_TYPE: Option<&'static str> = None;

    fn string(&self, id: u8) -> Option<&str> {
        match id {
            meta::CLIENT_ID => Some(&self.meta.client_id),
            meta::ENVIRONMENT => Some(&self.meta.environment),
            meta::FAMILY_ID => self.meta.family_id.as_deref(),
            _ => None,
        }
    }

    fn build(f: &mut Fields<'_>) -> Result<Self, String> {
        type E = AppMetadataEntry;
        let meta = super::AppMetadata {
            client_id: f.str_or_empty::<E>(meta::CLIENT_ID)?,
            environment: f.str_or_empty::<E>(meta::ENVIRONMENT)?,
            family_id: f.family_id::<E>(meta::FAMILY_ID)?,
        };
        f.take_secret(false)?;
        let raw = f.take_raw::<E>();
        Ok(AppMetadataEntry { raw, meta })
    }

    fn raw(&self) -> &Raw {
        &self.raw
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde::ser::{Serialize, SerializeMap, Serializer};

    // Test-only ways to write an entry or a bare record on its own (the
    // document writer in `codec/mod.rs` writes entries itself).

    impl Raw {
        /// Takes a string `secret` out of `fields` and keeps every other member
        /// verbatim; a `secret` of another type stays in the object (callers reject
        /// that before). Entries are made with [`Entity::build`] instead, which
        /// keeps only what their typed view cannot reproduce.
        pub(crate) fn new(fields: Map<String, Value>) -> Self {
            let mut raw = Raw::default();
            for (name, value) in fields {
                match value {
                    Value::String(s) if name == "secret" && raw.secret.is_none() => {
                        // The string moves into the Secret: no copy is left behind.
                        raw.secret = Some(Secret::new(s));
                        raw.push_slot(SLOT_SECRET);
                    }
                    value => raw.push_verbatim(name, value),
                }
            }
            raw
        }
    }

    /// A record without a typed view (`Raw::new`) holds only verbatim members and
    /// the secret, which is all this writes.
    impl Serialize for Raw {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let view = NoView(Raw::default());
            let members: Vec<_> = self.members(&view).collect();
            let mut map = serializer.serialize_map(Some(members.len()))?;
            for (name, member) in members {
                map.serialize_entry(name, &member)?;
            }
            map.end()
        }
    }

    impl Serialize for Member<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            match *self {
                Member::Str(s) | Member::PlainStr(s) => serializer.serialize_str(s),
                Member::Null => serializer.serialize_unit(),
                Member::Num(n) => serializer.serialize_u64(n),
                Member::NumStr(n) => serializer.serialize_str(&n.to_string()),
                Member::Value(v) => v.serialize(serializer),
            }
        }
    }

    /// The view of a bare [`Raw`]: no known fields.
    struct NoView(Raw);

    impl Entity for NoView {
        const FIELDS: &'static [&'static str] = &[];
        const CREDENTIAL_TYPE: Option<&'static str> = None;
        const FIELD_ID: fn(&str) -> Option<u8> = |_| None;
        fn string(&self, _: u8) -> Option<&str> {
            None
        }
        fn build(_: &mut Fields<'_>) -> Result<Self, String> {
            Err("a bare record has no typed view".into())
        }
        fn raw(&self) -> &Raw {
            &self.0
        }
    }

    /// An entry as a JSON object, exactly as it was read (or made). (The document
    /// writer in `codec/mod.rs` writes entries itself, faster.)
    pub(crate) struct EntryJson<'a, E>(pub(crate) &'a E);

    impl<E: Entity> Serialize for EntryJson<'_, E> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let raw = self.0.raw();
            let mut map = serializer.serialize_map(None)?;
            for (name, member) in raw.members(self.0) {
                map.serialize_entry(name, &member)?;
            }
            map.end()
        }
    }

    proptest::proptest! {
        /// The one-pass reading gives what parsing gives, exactly for the
        /// text that a number writes back the same (up to 19 digits; longer
        /// ones take the general path).
        #[test]
        fn plain_seconds_are_canonical_u64s(
            s in "[0-9 .+-]{0,3}|0?[0-9]{0,21}|1[0-8][0-9]{18}|[1-9][0-9]{0,10}[/:;<=>?@ a.\\x00\\xff]?[0-9]{0,8}"
        ) {
            let canonical = s.parse::<u64>().ok().filter(|n| n.to_string() == s);
            proptest::prop_assert_eq!(plain_seconds(&s), canonical.filter(|_| s.len() <= 19));
        }
    }
    use serde_json::json;

    #[test]
    fn raw_puts_the_secret_back_where_it_was() {
        let object =
            json!({"credential_type": "AccessToken", "secret": "s3cret", "x": null, "y": 1});
        let raw = Raw::new(object.as_object().unwrap().clone());
        assert!(!format!("{raw:?}").contains("s3cret"));
        assert_eq!(serde_json::to_string(&raw).unwrap(), object.to_string());

        let mut raw = raw;
        raw.set_secret(Secret::new("new"));
        raw.set("y", json!(2));
        assert_eq!(
            serde_json::to_string(&raw).unwrap(),
            r#"{"credential_type":"AccessToken","secret":"new","x":null,"y":2}"#
        );
    }

    #[test]
    fn a_secret_at_the_end_and_a_missing_one() {
        let object = json!({"a": 1, "secret": "s"});
        let raw = Raw::new(object.as_object().unwrap().clone());
        assert_eq!(serde_json::to_string(&raw).unwrap(), object.to_string());
        let object = json!({"a": 1});
        let raw = Raw::new(object.as_object().unwrap().clone());
        assert!(raw.secret().is_none());
        assert_eq!(serde_json::to_string(&raw).unwrap(), object.to_string());
    }

    #[test]
    fn typed_views_reject_wrong_types() {
        let at = |v: Value| AccessTokenEntry::parse(v.as_object().unwrap().clone());
        assert!(at(json!({"secret": 5})).unwrap_err().contains("`secret`"));
        assert!(at(json!({"realm": ["t"]})).unwrap_err().contains("`realm`"));
        assert!(at(json!({"expires_on": "tomorrow"}))
            .unwrap_err()
            .contains("`expires_on`"));
        let ok = at(json!({"expires_on": 100, "target": "B a"})).unwrap();
        assert_eq!(
            (ok.expires_on, ok.cached_at, &*ok.shared.token_type),
            (100, 0, "Bearer")
        );
        assert_eq!(&*ok.shared.scopes, ["a".to_owned(), "b".to_owned()]);
    }

    /// Every member comes back as it was, whatever its encoding.
    #[test]
    fn entries_write_back_exactly_what_they_read() {
        let object = json!({
            "credential_type": "AccessToken", "unknown": {"a": [1, 2.5, null]},
            "secret": "s", "home_account_id": null, "environment": "E", "client_id": "",
            "target": "b A", "realm": "r", "token_type": null, "cached_at": 12,
            "expires_on": "0034", "extended_expires_on": " 5 ", "refresh_on": 2.5,
            "ext_expires_on": "x", "ext_cache_key": "K", "key_id": 1
        });
        let entry = AccessTokenEntry::parse(object.as_object().unwrap().clone()).unwrap();
        assert_eq!(
            (
                entry.cached_at,
                entry.expires_on,
                entry.extended_expires_on,
                entry.refresh_on
            ),
            (12, 34, Some(5), Some(2))
        );
        assert_eq!(
            serde_json::to_string(&EntryJson(&entry)).unwrap(),
            object.to_string()
        );
        // Past u64::MAX: read as u64::MAX, written back as it came.
        let object = json!({"cached_at": "18446744073709551616", "expires_on": "1e3"});
        let entry = AccessTokenEntry::parse(object.as_object().unwrap().clone()).unwrap();
        assert_eq!((entry.cached_at, entry.expires_on), (u64::MAX, 1000));
        assert_eq!(
            serde_json::to_string(&EntryJson(&entry)).unwrap(),
            object.to_string()
        );
        let object = json!({"credential_type": "Other", "family_id": 1, "last_modification_time": "7",
            "secret": null, "target": "t"});
        let mut rt = RefreshTokenEntry::parse(object.as_object().unwrap().clone()).unwrap();
        assert_eq!(rt.family_id.as_deref(), Some("1"));
        assert_eq!(
            serde_json::to_string(&EntryJson(&rt)).unwrap(),
            object.to_string()
        );
        rt.set_last_modification_time(9);
        rt.raw.set_secret(Secret::new("n"));
        assert_eq!(
            serde_json::to_string(&EntryJson(&rt)).unwrap(),
            r#"{"credential_type":"Other","family_id":1,"last_modification_time":"9","secret":null,"target":"t","secret":"n"}"#
        );
        let object = json!({"secret": 5, "home_account_id": "h", "x": 1});
        let account = AccountEntry::parse(object.as_object().unwrap().clone()).unwrap();
        assert_eq!(
            serde_json::to_string(&EntryJson(&account)).unwrap(),
            object.to_string()
        );
    }

    #[test]
    fn many_members_spill_out_of_line() {
        let mut object = Map::new();
        for i in 0..40 {
            object.insert(format!("f{i}"), json!(i));
            if i == 20 {
                object.insert("secret".into(), json!("s"));
                object.insert("expires_on".into(), json!("5"));
            }
        }
        let entry = AccessTokenEntry::parse(object.clone()).unwrap();
        assert_eq!(entry.expires_on, 5);
        assert_eq!(
            serde_json::to_string(&EntryJson(&entry)).unwrap(),
            Value::Object(object).to_string()
        );
    }
}
