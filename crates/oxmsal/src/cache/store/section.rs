//! The four sections besides the access tokens' (refresh tokens, id tokens,
//! accounts, app metadata): entries by key, and an index grouping their keys
//! by what lookups filter on. One generic [`Section`] does the bookkeeping;
//! each kind says, through [`Kind`], how it is grouped and what its real
//! differences are (which entries a new one replaces, which one a merge keeps).

use std::sync::OnceLock;

use super::{home_env, ikey, same_id, HashMap, Key, KeySet};
use crate::cache::entity::{
    AccountEntry, AppMetadataEntry, Entity, IdTokenEntry, Raw, RefreshTokenEntry,
};

/// Entry keys grouped under an index key.
pub(super) type KeySets = HashMap<Key, KeySet>;

/// What the store needs of an entry kind kept in a [`Section`].
pub(crate) trait Kind: Entity + Clone {
    /// The index key of the entry's group.
    fn group(&self) -> String;
    /// Whether saving `self` replaces `old`, an entry of its group under
    /// another key (one a foreign writer keyed differently).
    fn replaces(&self, old: &Self) -> bool;
    /// Whether `self`, stored, stays when a `NewerWins` merge brings
    /// `incoming` under its key.
    fn newer_than(&self, _incoming: &Self) -> bool {
        false
    }
    /// The record, to take another's foreign fields into.
    fn raw_mut(&mut self) -> &mut Raw;
}

/// A section's entries by key, and its index: group key → entry keys. The
/// index is made in one pass on the section's first lookup (a store that is
/// only loaded, merged and written never needs it); from then on every
/// change, all of which go through here, keeps it in step.
#[derive(Debug, Clone)]
pub(crate) struct Section<E> {
    entries: HashMap<Key, E>,
    index: OnceLock<KeySets>,
}

impl<E> Default for Section<E> {
    fn default() -> Self {
        Section {
            entries: HashMap::default(),
            index: OnceLock::new(),
        }
    }
}

impl<E: Kind> Section<E> {
    /// The entries, by key.
    pub(crate) fn entries(&self) -> &HashMap<Key, E> {
        &self.entries
    }

    /// The entries with their keys as text.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &E)> {
        self.entries.iter().map(|(key, entry)| (&**key, entry))
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The index, made now if this is the section's first lookup.
    pub(super) fn index(&self) -> &KeySets {
        self.index.get_or_init(|| {
            let mut index = KeySets::default();
            for (key, e) in &self.entries {
                add(&mut index, &e.group(), key);
            }
            index
        })
    }

    /// The entries of the group `index_key`, by key.
    pub(crate) fn group(&self, index_key: &str) -> impl Iterator<Item = (&Key, &E)> {
        let keys = self.index().get(index_key).into_iter().flatten();
        keys.filter_map(|k| self.entries.get(k).map(|e| (k, e)))
    }

    /// Stores an entry under `key` as is (loading a document), replacing only
    /// an entry with the same key.
    pub(crate) fn put(&mut self, key: impl Into<Key>, entry: E) {
        let key: Key = key.into();
        self.remove(&key);
        if let Some(index) = self.index.get_mut() {
            add(index, &entry.group(), &key);
        }
        self.entries.insert(key, entry);
    }

    pub(crate) fn remove(&mut self, key: &str) -> Option<E> {
        let entry = self.entries.remove(key)?;
        if let Some(index) = self.index.get_mut() {
            super::remove(index, &entry.group(), key);
        }
        Some(entry)
    }

    /// Removes the entries under `keys`: how many there were.
    pub(crate) fn remove_all(&mut self, keys: &[Key]) -> usize {
        keys.iter().filter(|k| self.remove(k).is_some()).count()
    }

    /// Removes the entries of the group `index_key` that `doomed` picks: how
    /// many there were.
    pub(crate) fn remove_where(&mut self, index_key: &str, doomed: impl Fn(&E) -> bool) -> usize {
        let keys: Vec<Key> = self
            .group(index_key)
            .filter(|(_, e)| doomed(e))
            .map(|(k, _)| Key::clone(k))
            .collect();
        self.remove_all(&keys)
    }

    /// Stores a new entry: it replaces the entry with its key and those of
    /// its group it [`replaces`](Kind::replaces). Returns how many other
    /// entries went.
    pub(crate) fn save(&mut self, key: impl Into<Key>, mut entry: E) -> usize {
        let key: Key = key.into();
        let victims: Vec<Key> = self
            .group(&entry.group())
            .filter(|(k, old)| ***k != *key && entry.replaces(old))
            .map(|(k, _)| Key::clone(k))
            .collect();
        // An entry written over another keeps the fields oxmsal does not
        // know that another library wrote there.
        let replaced = std::iter::once(&key).chain(&victims);
        if let Some(old) = replaced.filter_map(|k| self.entries.get(k)).next() {
            entry.raw_mut().keep_foreign::<E>(old.raw());
        }
        for victim in &victims {
            self.remove(victim);
        }
        self.put(key, entry);
        victims.len()
    }

    /// Changes the entry under `key` in place; `f` must leave its group as
    /// it is. `false` when there is no such entry.
    pub(crate) fn update(&mut self, key: &str, f: impl FnOnce(&mut E)) -> bool {
        self.entries.get_mut(key).map(f).is_some()
    }

    /// Puts every entry of `other` here; with `newer_wins`, an entry here
    /// [`newer_than`](Kind::newer_than) the incoming one stays, and one
    /// replaced lends it its foreign fields.
    pub(crate) fn merge(&mut self, other: Section<E>, newer_wins: bool) {
        for (key, mut entry) in other.entries {
            let here = self.entries.get(&key).filter(|_| newer_wins);
            if here.is_some_and(|here| here.newer_than(&entry)) {
                continue;
            }
            if let Some(here) = here {
                entry.raw_mut().keep_foreign::<E>(here.raw());
            }
            self.put(key, entry);
        }
    }

    /// Copies the entries under `keys` into `out`.
    pub(crate) fn copy_into(&self, out: &mut Section<E>, keys: &[Key]) {
        for key in keys {
            if let Some(entry) = self.entries.get(key) {
                out.put(Key::clone(key), entry.clone());
            }
        }
    }
}

fn add(sets: &mut KeySets, index_key: &str, key: &Key) {
    super::with_group(sets, index_key, |set| set.insert(Key::clone(key)));
}

/// Grouped by home account + environment; a new one replaces the token of
/// the same environment, client and scopes; the most recently modified wins
/// a merge.
impl Kind for RefreshTokenEntry {
    fn group(&self) -> String {
        home_env(self.home_account_id.as_deref(), &self.environment)
    }
    fn replaces(&self, old: &Self) -> bool {
        same_id(&old.environment, &self.environment)
            && same_id(&old.client_id, &self.client_id)
            && old.scopes == self.scopes
    }
    fn newer_than(&self, incoming: &Self) -> bool {
        self.last_modification_time > incoming.last_modification_time
    }
    fn raw_mut(&mut self) -> &mut Raw {
        &mut self.raw
    }
}

/// Grouped by home account + environment; a new one replaces the token of
/// the same environment, client and realm.
impl Kind for IdTokenEntry {
    fn group(&self) -> String {
        home_env(self.home_account_id.as_deref(), &self.environment)
    }
    fn replaces(&self, old: &Self) -> bool {
        same_id(&old.environment, &self.environment)
            && same_id(&old.client_id, &self.client_id)
            && same_id(&old.realm, &self.realm)
    }
    fn raw_mut(&mut self) -> &mut Raw {
        &mut self.raw
    }
}

/// Grouped by home account; a new one replaces the account of the same
/// environment and realm.
impl Kind for AccountEntry {
    fn group(&self) -> String {
        ikey(&[&self.account.home_account_id])
    }
    fn replaces(&self, old: &Self) -> bool {
        let (old, new) = (&old.account, &self.account);
        same_id(&old.environment, &new.environment) && same_id(&old.realm, &new.realm)
    }
    fn raw_mut(&mut self) -> &mut Raw {
        &mut self.raw
    }
}

/// Grouped by environment + client, one entry per group: a new one replaces
/// the others.
impl Kind for AppMetadataEntry {
    fn group(&self) -> String {
        ikey(&[&self.meta.environment, &self.meta.client_id])
    }
    fn replaces(&self, _old: &Self) -> bool {
        true
    }
    fn raw_mut(&mut self) -> &mut Raw {
        &mut self.raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl<E: Kind> Section<E> {
        /// Whether the index is exactly what the entries imply: the one kept in
        /// step (when made yet) and the one made in one pass both equal that of
        /// an empty section the entries are put into one by one.
        pub(crate) fn check_consistency(&self) -> Result<(), String> {
            let mut rebuilt = Section::<E> {
                index: OnceLock::from(KeySets::default()),
                ..Section::default()
            };
            for (k, e) in &self.entries {
                rebuilt.put(Key::clone(k), e.clone());
            }
            let want = rebuilt.index();
            let one_pass = Section::<E> {
                entries: self.entries.clone(),
                index: OnceLock::new(),
            };
            let made = one_pass.index();
            if made != want {
                return Err(format!(
                    "the one-pass index differs:\n have {made:?}\n want {want:?}"
                ));
            }
            if let Some(kept) = self.index.get() {
                if kept != want {
                    return Err(format!("index drifted:\n have {kept:?}\n want {want:?}"));
                }
            }
            Ok(())
        }

        /// Whether the index is made yet.
        pub(crate) fn has_index(&self) -> bool {
            self.index.get().is_some()
        }
    }
}
