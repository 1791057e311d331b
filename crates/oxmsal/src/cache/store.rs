//! The in-memory store: the five sections keyed by entry key, and hash indexes
//! over the fields lookups filter on, so a lookup touches only the entries of
//! one account (or one app and tenant), whatever the cache's size.
//!
//! Each index is made in one pass on its section's first lookup (a store that
//! is only loaded, merged and written never needs them); from then on every
//! mutation, all of which go through this file or [`Section`], keeps it in
//! step. `check_consistency` (tests) rebuilds them from scratch both ways and
//! compares.
//!
//! Index keys are lowercased: the schema lowercases entry keys, so two entries
//! whose identifiers differ only in case are the same entry to every MSAL.

use std::collections::{btree_set, BTreeSet, HashSet};
use std::sync::{Arc, OnceLock, Weak};

/// An entry key, shared by its section and the indexes of refresh tokens,
/// id tokens, accounts and app metadata (one allocation, not one per index:
/// a cache of 100,000 tokens held every key twice). The access-token index
/// names its entries by slot ([`Slots`]) instead.
pub(crate) type Key = std::sync::Arc<str>;

/// The maps of the store: seeded per map, and much cheaper to hash than std's
/// SipHash, which was the largest single cost of a cache hit.
pub(crate) type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

use serde_json::{Map, Value};

use super::account::Account;
use super::entity::{
    AccessTokenEntry, AccountEntry, AppMetadataEntry, IdTokenEntry, RefreshTokenEntry,
};
use super::query::{AccessTokenQuery, AppMetadata, RefreshTokenQuery};
use super::scopes;
use crate::secret::WipedString;
use crate::Secret;

mod merge;
mod section;
mod slots;
pub(crate) use merge::MergeRule;
pub(crate) use section::Section;
pub(crate) use slots::SlotId;
use slots::{Inserted, Slots};

/// An index key: `parts` lowercased and joined by NUL, a byte no host, client
/// id, tenant or account id contains.
fn ikey(parts: &[&str]) -> String {
    let mut key = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    ikey_push(&mut key, parts);
    key
}

/// [`ikey`] appended to `key`.
fn ikey_push(key: &mut String, parts: &[&str]) {
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            key.push('\0');
        }
        // Identifiers are nearly always ASCII: lowercase those bytes in place
        // rather than char by char (a lookup's main cost otherwise).
        if part.is_ascii() {
            let start = key.len();
            key.push_str(part);
            key[start..].make_ascii_lowercase();
        } else {
            key.extend(part.chars().flat_map(char::to_lowercase));
        }
    }
}

/// Case-insensitive equality of two identifiers, without allocating.
fn same_id(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

/// The entries under one index key, in order: their keys, or (access
/// tokens) their slots. Nearly every group holds one (one token per tenant,
/// one account per home…), kept inline; a group holds exactly one if and only
/// if it is `One`, so equal groups compare equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeySet<T = Key> {
    One(T),
    Many(BTreeSet<T>),
}

impl<T> Default for KeySet<T> {
    fn default() -> Self {
        KeySet::Many(BTreeSet::new())
    }
}

impl<T: Ord + Default> KeySet<T> {
    /// Adds `key`; `false` when it was there.
    pub(crate) fn insert(&mut self, key: T) -> bool {
        match self {
            KeySet::Many(set) if set.is_empty() => *self = KeySet::One(key),
            KeySet::Many(set) => return set.insert(key),
            KeySet::One(only) if *only == key => return false,
            KeySet::One(only) => {
                let only = std::mem::take(only);
                *self = KeySet::Many(BTreeSet::from([only, key]));
            }
        }
        true
    }

    /// Removes `key`; `false` when it was not there.
    pub(crate) fn remove<Q>(&mut self, key: &Q) -> bool
    where
        T: std::borrow::Borrow<Q>,
        Q: Ord + ?Sized,
    {
        match self {
            KeySet::One(only) if only.borrow() == key => *self = KeySet::default(),
            KeySet::One(_) => return false,
            KeySet::Many(set) => {
                if !set.remove(key) {
                    return false;
                }
                if set.len() == 1 {
                    if let Some(only) = set.pop_first() {
                        *self = KeySet::One(only);
                    }
                }
            }
        }
        true
    }
}

impl<T> KeySet<T> {
    pub(crate) fn is_empty(&self) -> bool {
        matches!(self, KeySet::Many(set) if set.is_empty())
    }

    pub(crate) fn iter(&self) -> KeySetIter<'_, T> {
        match self {
            KeySet::One(only) => KeySetIter::One(Some(only)),
            KeySet::Many(set) => KeySetIter::Many(set.iter()),
        }
    }
}

/// The members of a [`KeySet`], in order.
pub(crate) enum KeySetIter<'a, T = Key> {
    One(Option<&'a T>),
    Many(btree_set::Iter<'a, T>),
}

impl<'a, T> Iterator for KeySetIter<'a, T> {
    type Item = &'a T;
    fn next(&mut self) -> Option<&'a T> {
        match self {
            KeySetIter::One(only) => only.take(),
            KeySetIter::Many(iter) => iter.next(),
        }
    }
}

impl<'a, T> IntoIterator for &'a KeySet<T> {
    type Item = &'a T;
    type IntoIter = KeySetIter<'a, T>;
    fn into_iter(self) -> KeySetIter<'a, T> {
        self.iter()
    }
}

/// Access-token slots grouped under an index key.
type SlotSets = HashMap<Key, KeySet<SlotId>>;

/// Runs `f` on `map[index_key]`, made when missing. The index key is
/// allocated only for a new group (loading a document finds most groups there).
fn with_group<K, V: Default, R>(
    map: &mut HashMap<K, V>,
    index_key: &str,
    f: impl FnOnce(&mut V) -> R,
) -> R
where
    K: for<'a> From<&'a str> + std::borrow::Borrow<str> + std::hash::Hash + Eq,
{
    with_group_keyed(map, index_key, || K::from(index_key), f)
}

/// [`with_group`], the key of a new group made by `new_key` (which may share
/// an allocation the entry already has).
fn with_group_keyed<K, V: Default, R>(
    map: &mut HashMap<K, V>,
    index_key: &str,
    new_key: impl FnOnce() -> K,
    f: impl FnOnce(&mut V) -> R,
) -> R
where
    K: std::borrow::Borrow<str> + std::hash::Hash + Eq,
{
    let group = match map.get_mut(index_key) {
        Some(group) => group,
        None => map.entry(new_key()).or_default(),
    };
    f(group)
}

/// The index paths of an access token: (home account + environment),
/// (client + extended key), realm.
fn at_path(e: &AccessTokenEntry) -> (String, String, String) {
    let mut buf = String::new();
    let he_end = path_keys(&mut buf, e);
    let ce = buf.split_off(he_end);
    (buf, ce, ikey(&[&e.realm]))
}

fn home_env(home_account_id: Option<&str>, environment: &str) -> String {
    ikey(&[home_account_id.unwrap_or(""), environment])
}

fn remove<T: Ord + Default + std::borrow::Borrow<Q>, Q: Ord + ?Sized>(
    sets: &mut HashMap<Key, KeySet<T>>,
    index_key: &str,
    key: &Q,
) {
    if let Some(set) = sets.get_mut(index_key) {
        set.remove(key);
        if set.is_empty() {
            sets.remove(index_key);
        }
    }
}

fn index_access_token(index: &mut AtIndex, buf: &mut String, id: SlotId, e: &AccessTokenEntry) {
    // The three index keys in one buffer.
    let he_end = path_keys(buf, e);
    let ce_end = buf.len();
    ikey_push(buf, &[&e.realm]);
    let (he, ce, realm) = (&buf[..he_end], &buf[he_end..ce_end], &buf[ce_end..]);
    with_group(index, he, |by_client| {
        with_group(by_client, ce, |by_realm| {
            add_to_realm(by_realm, realm, id, e)
        });
    });
}

/// The index keys of `e`'s account and environment, then of its client and
/// extended key, into `buf`: where the first ends.
fn path_keys(buf: &mut String, e: &AccessTokenEntry) -> usize {
    buf.clear();
    ikey_push(
        buf,
        &[
            e.home_account_id.as_deref().unwrap_or(""),
            &e.shared.environment,
        ],
    );
    let he_end = buf.len();
    ikey_push(
        buf,
        &[
            &e.shared.client_id,
            e.ext_cache_key.as_deref().unwrap_or(""),
        ],
    );
    he_end
}

/// Adds slot `id` to the group of `e`'s realm.
/// `realm` is the index key of `e`'s realm.
fn add_to_realm(by_realm: &mut SlotSets, realm: &str, id: SlotId, e: &AccessTokenEntry) {
    // A new tenant's group is keyed by the entry's own realm when that is
    // already the index key (lowercase): one allocation fewer per tenant.
    let new_key = || {
        if *e.realm == *realm {
            Key::clone(&e.realm)
        } else {
            Key::from(realm)
        }
    };
    with_group_keyed(by_realm, realm, new_key, |slots| slots.insert(id));
}

/// Whether two tokens are certainly in the same realm groups: they share
/// their environment, client and account texts (a document's tokens of one
/// app and account do) and have the same extended key.
fn same_realm_groups(a: &AccessTokenEntry, b: &AccessTokenEntry) -> bool {
    let same_home = match (&a.home_account_id, &b.home_account_id) {
        (None, None) => true,
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        _ => false,
    };
    same_home
        && Arc::ptr_eq(&a.shared.environment, &b.shared.environment)
        && Arc::ptr_eq(&a.shared.client_id, &b.shared.client_id)
        && a.ext_cache_key == b.ext_cache_key
}

/// Whether two access tokens are indexed under the same groups.
fn same_index_path(a: &AccessTokenEntry, b: &AccessTokenEntry) -> bool {
    same_id(
        a.home_account_id.as_deref().unwrap_or(""),
        b.home_account_id.as_deref().unwrap_or(""),
    ) && same_id(&a.shared.environment, &b.shared.environment)
        && same_id(&a.shared.client_id, &b.shared.client_id)
        && same_id(
            a.ext_cache_key.as_deref().unwrap_or(""),
            b.ext_cache_key.as_deref().unwrap_or(""),
        )
        && same_id(&a.realm, &b.realm)
}

fn unindex_access_token(index: &mut AtIndex, id: SlotId, e: &AccessTokenEntry) {
    let (he, ce, realm) = at_path(e);
    if let Some(by_client) = index.get_mut(&he) {
        if let Some(by_realm) = by_client.get_mut(&ce) {
            remove(by_realm, &realm, &id);
            if by_realm.is_empty() {
                by_client.remove(&ce);
            }
        }
        if by_client.is_empty() {
            index.remove(&he);
        }
    }
}

/// The index keys of an access-token lookup, in one buffer: client +
/// extended key, the realm (if any), then home account + environment for each
/// environment.
#[derive(Debug, Default)]
pub(crate) struct LookupKeys {
    buf: String,
    client_end: usize,
    realm_end: Option<usize>,
    home_ends: Vec<usize>,
}

impl LookupKeys {
    pub(crate) fn new(query: &AccessTokenQuery<'_>) -> Self {
        let mut keys = LookupKeys::default();
        keys.fill(query);
        keys
    }

    /// Makes these the keys of `query`, reusing the buffers.
    fn fill(&mut self, query: &AccessTokenQuery<'_>) {
        self.buf.clear();
        self.home_ends.clear();
        ikey_push(
            &mut self.buf,
            &[query.client_id, query.ext_cache_key.unwrap_or("")],
        );
        self.client_end = self.buf.len();
        self.realm_end = query.realm.map(|realm| {
            ikey_push(&mut self.buf, &[realm]);
            self.buf.len()
        });
        for environment in query.environments {
            ikey_push(
                &mut self.buf,
                &[query.home_account_id.unwrap_or(""), environment],
            );
            self.home_ends.push(self.buf.len());
        }
    }

    fn client(&self) -> &str {
        self.buf.get(..self.client_end).unwrap_or_default()
    }

    fn realm(&self) -> Option<&str> {
        let end = self.realm_end?;
        self.buf.get(self.client_end..end)
    }

    fn homes(&self) -> impl Iterator<Item = &str> {
        let mut start = self.realm_end.unwrap_or(self.client_end);
        self.home_ends.iter().map(move |&end| {
            let home = self.buf.get(start..end).unwrap_or_default();
            start = end;
            home
        })
    }
}

/// The access tokens' index: home+environment → client+extended key → realm
/// → slots. Three levels so that an account's tokens (sign-out) and a
/// realm-less lookup are reachable without a scan. Empty groups are removed,
/// so two stores with the same tokens have the same index (slots named by
/// their keys: two stores number their slots differently).
type AtIndex = HashMap<String, HashMap<String, SlotSets>>;

/// The index of `tokens`, made in one pass.
fn at_index_of(tokens: &Slots<AccessTokenEntry>) -> AtIndex {
    let mut index = AtIndex::default();
    let (mut buf, mut realm_buf) = (String::new(), String::new());
    // Tokens of one app and account come together: each run of them
    // finds its realm groups once, with room for the whole run. The runs'
    // lengths first (one number per run), so the pass that indexes holds
    // nothing per token.
    let mut runs: Vec<usize> = Vec::new();
    let mut previous: Option<&AccessTokenEntry> = None;
    for (_, _, e) in tokens.iter_slots() {
        match (previous, runs.last_mut()) {
            (Some(p), Some(len)) if same_realm_groups(p, e) => *len += 1,
            _ => runs.push(1),
        }
        previous = Some(e);
    }
    let mut slots = tokens.iter_slots();
    for len in runs {
        let mut run = slots.by_ref().take(len).peekable();
        let Some(&(_, _, first)) = run.peek() else {
            continue;
        };
        let he_end = path_keys(&mut buf, first);
        let (he, ce) = buf.split_at(he_end);
        let by_realm = index
            .entry(he.to_owned())
            .or_default()
            .entry(ce.to_owned())
            .or_default();
        by_realm.reserve(len);
        for (id, _, e) in run {
            realm_buf.clear();
            ikey_push(&mut realm_buf, &[&e.realm]);
            add_to_realm(by_realm, &realm_buf, id, e);
        }
    }
    index
}

/// The sections, their indexes, and the unknown top-level sections kept verbatim.
#[derive(Debug, Clone, Default)]
pub(crate) struct Store {
    access_tokens: Slots<AccessTokenEntry>,
    pub(crate) refresh_tokens: Section<RefreshTokenEntry>,
    pub(crate) id_tokens: Section<IdTokenEntry>,
    pub(crate) accounts: Section<AccountEntry>,
    pub(crate) app_metadata: Section<AppMetadataEntry>,
    /// Top-level sections oxmsal does not know, in document order.
    pub(crate) other_sections: Map<String, Value>,
    /// The access tokens' index: made on the first lookup, then kept in step
    /// by every change. A store that is only loaded, merged and written —
    /// the read-merge-write of a save to a shared file or Redis key — never
    /// makes it. (The other sections keep theirs.)
    index: OnceLock<AtIndex>,
    /// Room to build index keys in (saves an allocation per insert).
    scratch: String,
    /// The blocks the access tokens' secrets were loaded into, for a load
    /// replacing this store to reuse ([`Store::take_free_secret_blocks`]).
    /// Not holding them: a block goes when its last secret does.
    secret_blocks: Vec<Weak<WipedString>>,
}

impl Store {
    /// The access tokens' index, made now if this is their first lookup.
    fn index(&self) -> &AtIndex {
        self.index.get_or_init(|| at_index_of(&self.access_tokens))
    }

    // ----- reading the sections (serialization, counts) -----

    pub(crate) fn access_tokens(&self) -> &Slots<AccessTokenEntry> {
        &self.access_tokens
    }

    // ----- access tokens -----

    /// Stores an entry under `key` as is (loading a document), replacing only
    /// an entry with the same key.
    /// Room for `n` more access tokens.
    pub(crate) fn reserve_access_tokens(&mut self, n: usize) {
        self.access_tokens.reserve(n);
    }

    pub(crate) fn put_access_token(&mut self, key: &str, entry: AccessTokenEntry) {
        self.put_access_token_slot(key, entry);
    }

    /// [`put_access_token`](Self::put_access_token): the token's slot, and
    /// whether it replaced one with the same key there.
    pub(crate) fn put_access_token_slot(
        &mut self,
        key: &str,
        entry: AccessTokenEntry,
    ) -> (SlotId, bool) {
        // One hash of the key, and the index keys allocated only for new groups.
        let (id, old) = match self.access_tokens.insert(key, entry) {
            Inserted::Replaced(id, old) => (id, Some(old)),
            Inserted::New(id) => (id, None),
        };
        if let (Some(index), Some((_, new))) = (self.index.get_mut(), self.access_tokens.at(id)) {
            match &old {
                // A token replacing its own key (a refresh, a cache miss) sits
                // where the old one sat: the index stays as it is, instead of
                // its groups being emptied, dropped and made again.
                Some(old) if same_index_path(old, new) => {}
                Some(old) => {
                    unindex_access_token(index, id, old);
                    index_access_token(index, &mut self.scratch, id, new);
                }
                None => index_access_token(index, &mut self.scratch, id, new),
            }
        }
        (id, old.is_some())
    }

    /// Puts a secret read later ([`Fields::deferring_secret`](super::entity::Fields::deferring_secret))
    /// in the token in slot `id`.
    pub(crate) fn fill_access_token_secret(&mut self, id: SlotId, secret: Secret) {
        if let Some(entry) = self.access_tokens.at_mut(id) {
            entry.raw.fill_secret(secret);
        }
    }

    /// Notes that secrets of this store's access tokens were loaded into
    /// `block`.
    pub(crate) fn add_secret_block(&mut self, block: &Arc<WipedString>) {
        self.secret_blocks.push(Arc::downgrade(block));
    }

    /// Empties the access tokens, giving back the blocks their secrets were
    /// loaded into that nothing else holds (no token handed out still points
    /// into them): a load replacing this store reuses their memory
    /// ([`SecretBlock::reusing`](super::codec::secrets::SecretBlock::reusing)).
    /// Blocks still held elsewhere are left to their holders.
    pub(crate) fn take_free_secret_blocks(&mut self) -> Vec<WipedString> {
        let blocks: Vec<Arc<WipedString>> = std::mem::take(&mut self.secret_blocks)
            .into_iter()
            .filter_map(|block| block.upgrade())
            .collect();
        self.access_tokens = Slots::default();
        self.index = OnceLock::new();
        blocks
            .into_iter()
            .filter_map(|block| Arc::try_unwrap(block).ok())
            .collect()
    }

    pub(crate) fn remove_access_token(&mut self, key: &str) -> Option<AccessTokenEntry> {
        let (id, entry) = self.access_tokens.remove(key)?;
        if let Some(index) = self.index.get_mut() {
            unindex_access_token(index, id, &entry);
        }
        Some(entry)
    }

    /// Stores a new access token: it replaces the entry with its key, every
    /// token of the same account, client, tenant and extended key whose scopes
    /// overlap its own (so one scope never has two tokens — MSAL.NET's
    /// `DeleteAccessTokensWithIntersectingScopes`), and the expired ones there.
    /// Returns how many other entries went.
    pub(crate) fn save_access_token(
        &mut self,
        key: &str,
        mut entry: AccessTokenEntry,
        now: u64,
    ) -> usize {
        let (he, ce, realm) = at_path(&entry);
        let victims: Vec<String> = self
            .index()
            .get(&he)
            .and_then(|by_client| by_client.get(&ce))
            .and_then(|by_realm| by_realm.get(realm.as_str()))
            .into_iter()
            .flatten()
            .filter_map(|&id| self.access_tokens.at(id))
            .filter(|(k, old)| {
                *k != key
                    && (old.expires_on <= now
                        || scopes::intersects(&old.shared.scopes, &entry.shared.scopes))
            })
            .map(|(k, _)| k.to_owned())
            .collect();
        // Another library's fields on the entry replaced stay.
        let replaced = std::iter::once(key).chain(victims.iter().map(String::as_str));
        if let Some(old) = replaced.filter_map(|k| self.access_tokens.get(k)).next() {
            entry.raw.keep_foreign::<AccessTokenEntry>(&old.raw);
        }
        for victim in &victims {
            self.remove_access_token(victim);
        }
        self.put_access_token(key, entry);
        victims.len()
    }

    /// The usable token matching `query` at `now`; when several match, the most
    /// recently cached (then the smallest key, so the answer is deterministic).
    pub(crate) fn find_access_token(
        &self,
        query: &AccessTokenQuery<'_>,
        now: u64,
    ) -> Option<(&str, &AccessTokenEntry)> {
        // The lookup's index keys in a buffer the thread reuses: this runs on
        // every hit.
        thread_local! {
            static KEYS: std::cell::RefCell<LookupKeys> = std::cell::RefCell::new(LookupKeys::default());
        }
        KEYS.with(|keys| match keys.try_borrow_mut() {
            Ok(mut keys) => {
                keys.fill(query);
                self.find_access_token_by(&keys, query.scopes, now)
            }
            // Not reentrant, but fresh keys are always right.
            Err(_) => self.find_access_token_by(&LookupKeys::new(query), query.scopes, now),
        })
    }

    /// [`find_access_token`](Self::find_access_token) with the query's index
    /// keys made beforehand (a caller repeating one lookup keeps them).
    pub(crate) fn find_access_token_by(
        &self,
        keys: &LookupKeys,
        scopes: &[String],
        now: u64,
    ) -> Option<(&str, &AccessTokenEntry)> {
        let mut best: Option<(&str, &AccessTokenEntry)> = None;
        let mut consider = |&id: &SlotId| {
            let Some((key, entry)) = self.access_tokens.at(id) else {
                return;
            };
            if entry.usable_at(now) && scopes::contains_all_requested(&entry.shared.scopes, scopes)
            {
                best = Some(match best {
                    Some((bk, be))
                        if (be.cached_at, std::cmp::Reverse(bk))
                            >= (entry.cached_at, std::cmp::Reverse(key)) =>
                    {
                        (bk, be)
                    }
                    _ => (key, entry),
                });
            }
        };
        let client = keys.client();
        for home in keys.homes() {
            let Some(by_realm) = self
                .index()
                .get(home)
                .and_then(|by_client| by_client.get(client))
            else {
                continue;
            };
            match keys.realm() {
                Some(realm) => by_realm
                    .get(realm)
                    .into_iter()
                    .flatten()
                    .for_each(&mut consider),
                None => by_realm.values().flatten().for_each(&mut consider),
            }
        }
        best
    }

    // ----- refresh tokens, id tokens, accounts, app metadata -----

    /// A rotated refresh token: the entry keeps its key and gets the new secret
    /// and modification time (MSAL Python's `update_rt`).
    pub(crate) fn update_refresh_token(&mut self, key: &str, secret: Secret, now: u64) -> bool {
        self.refresh_tokens.update(key, |entry| {
            entry.raw.set_secret(secret);
            entry.set_last_modification_time(now);
        })
    }

    /// The refresh tokens for `query`: family ones first when a family is asked
    /// for, then the client's own; each group newest first (then by key).
    pub(crate) fn find_refresh_tokens(
        &self,
        query: &RefreshTokenQuery<'_>,
    ) -> Vec<(&Key, &RefreshTokenEntry)> {
        let mut seen = HashSet::new();
        let (mut family, mut own) = (Vec::new(), Vec::new());
        for environment in query.environments {
            let he = home_env(Some(query.home_account_id), environment);
            for (key, entry) in self.refresh_tokens.group(&he) {
                if entry.raw.secret().is_none_or(Secret::is_empty) || !seen.insert(key) {
                    continue;
                }
                if query.family_id.is_some() && entry.family_id.as_deref() == query.family_id {
                    family.push((key, entry));
                } else if same_id(&entry.client_id, query.client_id) {
                    own.push((key, entry));
                }
            }
        }
        let newest_first = |a: &(&Key, &RefreshTokenEntry), b: &(&Key, &RefreshTokenEntry)| {
            b.1.last_modification_time
                .cmp(&a.1.last_modification_time)
                .then_with(|| a.0.cmp(b.0))
        };
        family.sort_by(newest_first);
        own.sort_by(newest_first);
        family.extend(own);
        family
    }

    /// The id token of an account and client, in `realm` when given; the first
    /// environment with one wins, then the smallest key.
    pub(crate) fn find_id_token(
        &self,
        home_account_id: &str,
        environments: &[String],
        client_id: &str,
        realm: Option<&str>,
    ) -> Option<(&Key, &IdTokenEntry)> {
        environments.iter().find_map(|environment| {
            let he = home_env(Some(home_account_id), environment);
            self.id_tokens.group(&he).find(|(_, e)| {
                same_id(&e.client_id, client_id) && realm.is_none_or(|r| same_id(&e.realm, r))
            })
        })
    }

    /// The accounts with this home account id, by key.
    pub(crate) fn accounts_of(&self, home_account_id: &str) -> Vec<&Account> {
        let home = ikey(&[home_account_id]);
        self.accounts
            .group(&home)
            .map(|(_, e)| &e.account)
            .collect()
    }

    /// The metadata of `client_id` under the first of `environments` that has some.
    pub(crate) fn find_app_metadata(
        &self,
        environments: &[String],
        client_id: &str,
    ) -> Option<&AppMetadata> {
        environments.iter().find_map(|environment| {
            let ec = ikey(&[environment, client_id]);
            self.app_metadata.group(&ec).map(|(_, e)| &e.meta).next()
        })
    }

    // ----- whole accounts, whole store -----

    /// The client ids holding refresh or id tokens of an account (sign-out of
    /// every app at once).
    pub(crate) fn client_ids_of(&self, home_account_id: &str, environment: &str) -> Vec<String> {
        let he = home_env(Some(home_account_id), environment);
        let rts = self.refresh_tokens.group(&he).map(|(_, e)| &e.client_id);
        let its = self.id_tokens.group(&he).map(|(_, e)| &e.client_id);
        let mut ids: Vec<String> = rts.chain(its).cloned().collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// Signs an account out (MSAL Python's `_forget_me`): in its environment, all
    /// its access tokens (any client, any realm), its refresh tokens issued to
    /// `client_id` or to the client's family, its id tokens and its account
    /// entries (any realm). Returns how many entries went.
    pub(crate) fn remove_account(
        &mut self,
        home_account_id: &str,
        environment: &str,
        client_id: &str,
    ) -> usize {
        let family = self
            .find_app_metadata(&[environment.to_owned()], client_id)
            .and_then(|m| m.family_id.clone());
        let he = home_env(Some(home_account_id), environment);

        let access_tokens: Vec<String> = self
            .index()
            .get(&he)
            .into_iter()
            .flat_map(HashMap::values)
            .flat_map(HashMap::values)
            .flat_map(|slots| self.access_tokens.keys_at(slots))
            .collect();
        let mut removed = 0;
        for key in &access_tokens {
            removed += usize::from(self.remove_access_token(key).is_some());
        }
        let issued_here = |rt: &RefreshTokenEntry| {
            same_id(&rt.client_id, client_id) || (family.is_some() && rt.family_id == family)
        };
        let in_environment = |a: &AccountEntry| same_id(&a.account.environment, environment);
        let home = ikey(&[home_account_id]);
        removed
            + self.refresh_tokens.remove_where(&he, issued_here)
            + self.id_tokens.remove_where(&he, |_| true)
            + self.accounts.remove_where(&home, in_environment)
    }

    /// Removes the app-only access tokens of `client_id` (no account: what
    /// the client credentials grant caches) in any of `environments`, in
    /// every tenant (MSAL Python's `remove_tokens_for_client`); that grant
    /// caches no refresh token. Returns the tenants they were in, one per
    /// token removed.
    pub(crate) fn remove_app_tokens(
        &mut self,
        client_id: &str,
        environments: &[String],
    ) -> Vec<String> {
        let victims: Vec<(String, String)> = self
            .access_tokens
            .iter()
            .filter(|(_, at)| {
                at.home_account_id.as_deref().is_none_or(str::is_empty)
                    && same_id(&at.shared.client_id, client_id)
                    && environments
                        .iter()
                        .any(|env| same_id(&at.shared.environment, env))
            })
            .map(|(key, at)| (key.to_owned(), at.realm.to_string()))
            .collect();
        victims
            .into_iter()
            .filter(|(key, _)| self.remove_access_token(key).is_some())
            .map(|(_, realm)| realm)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The indexes' self-check, for the tests here and in `cache/`.

    impl Store {
        /// Whether the indexes are exactly what the sections imply: the ones
        /// kept in step (when made yet) and the ones made in one pass both equal
        /// those of an empty store the entries are put into one by one.
        pub(crate) fn check_consistency(&self) -> Result<(), String> {
            let mut rebuilt = Store {
                index: OnceLock::from(AtIndex::default()),
                ..Store::default()
            };
            for (k, e) in self.access_tokens.iter() {
                rebuilt.put_access_token(k, e.clone());
            }
            let want = rebuilt.comparable(rebuilt.index());
            let one_pass = at_index_of(&self.access_tokens);
            let made = self.comparable(&one_pass);
            if made != want {
                return Err(format!(
                    "the one-pass indexes differ:\n have {made:?}\n want {want:?}"
                ));
            }
            if let Some(kept) = self.index.get() {
                let have = self.comparable(kept);
                if have != want {
                    return Err(format!("indexes drifted:\n have {have:?}\n want {want:?}"));
                }
            }
            self.refresh_tokens.check_consistency()?;
            self.id_tokens.check_consistency()?;
            self.accounts.check_consistency()?;
            self.app_metadata.check_consistency()
        }

        /// Whether any index is made yet.
        pub(crate) fn has_index(&self) -> bool {
            self.index.get().is_some()
                || self.refresh_tokens.has_index()
                || self.id_tokens.has_index()
                || self.accounts.has_index()
                || self.app_metadata.has_index()
        }

        /// `index` (this store's) with every access-token slot named by its key
        /// (two stores number their slots differently), or by `<free slot N>`
        /// when it names no entry: that is drift too; and whether every token
        /// is found by its key in its own slot.
        fn comparable(&self, index: &AtIndex) -> ComparableIndex {
            let mut access_tokens = std::collections::BTreeMap::new();
            for (he, by_client) in index {
                for (ce, by_realm) in by_client {
                    for (realm, ids) in by_realm {
                        let named = ids.iter().map(|&id| match self.access_tokens.at(id) {
                            Some((key, _)) => key.to_string(),
                            None => format!("<free slot {id}>"),
                        });
                        access_tokens
                            .entry((he.clone(), ce.clone(), realm.to_string()))
                            .or_insert_with(BTreeSet::new)
                            .extend(named);
                    }
                }
            }
            let slots: Vec<(SlotId, &str)> = self
                .access_tokens
                .iter_slots()
                .map(|(id, key, _)| (id, key))
                .collect();
            // Every entry is found by its key in its own slot.
            let found_in_place = slots.iter().all(|&(id, key)| {
                self.access_tokens.get_key_value(key).is_some_and(|(k, _)| {
                    self.access_tokens
                        .at(id)
                        .is_some_and(|(at, _)| std::ptr::eq(k, at))
                })
            });
            (
                access_tokens,
                found_in_place && self.access_tokens.len() == slots.len(),
            )
        }
    }

    /// The access tokens' index as [`Store::comparable`] gives it.
    type ComparableIndex = (
        std::collections::BTreeMap<(String, String, String), BTreeSet<String>>,
        bool,
    );

    #[test]
    fn index_keys_lowercase_and_separate() {
        assert_eq!(
            ikey(&["UID.Utid", "Login.Example"]),
            "uid.utid\0login.example"
        );
        assert_ne!(ikey(&["a", "bc"]), ikey(&["ab", "c"]));
        assert!(same_id("ÄBC", "äbc"));
        assert!(!same_id("abc", "abcd"));
    }
}
