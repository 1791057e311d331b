//! Access tokens by key, each in a numbered slot: the indexes name a token by
//! its slot (four bytes) rather than by a second reference to its key.
//!
//! Why not a `HashMap<Key, AccessTokenEntry>`: its table holds the entries
//! themselves (160 bytes each), so loading 10,000 tokens wrote 1.6 MB in hash
//! order and dropping them read it back the same way, while every index group
//! took a reference to the key (an atomic increment, and a decrement when
//! dropped), and a cache hit hashed the 130-byte key once more to get from
//! the index to the entry. Here the entries sit in a vector in the order they
//! came, the table by key holds slot numbers only (40 KB for 10,000 tokens),
//! and a hit goes from the index to the entry by its number.
//!
//! The keys, which nothing else holds, sit one after the other in one string
//! rather than in an allocation each: a 130-byte key is too large for glibc's
//! fast lists, and allocating and freeing one per token (with the merging of
//! free chunks that follows) was a tenth of loading and dropping small tokens.
//! A removed key's bytes stay until they are half the string, which is then
//! rewritten with the live keys only.

use std::hash::BuildHasher as _;
use std::ops::Range;

use hashbrown::hash_table::Entry;
use hashbrown::HashTable;

/// A slot number.
pub(crate) type SlotId = u32;

/// Entries by key, in numbered slots that keep their number while the entry
/// lives. A freed slot is reused by a later entry.
#[derive(Debug, Clone)]
pub(crate) struct Slots<E> {
    /// Each entry with where its key is in `keys`.
    slots: Vec<Option<(Range<usize>, E)>>,
    /// Every slot's key, one after the other.
    keys: String,
    /// Bytes of `keys` that are no slot's any more.
    dead: usize,
    /// Free slots, reused last freed first.
    free: Vec<SlotId>,
    by_key: HashTable<SlotId>,
    hasher: foldhash::fast::RandomState,
}

/// A slot number as a position (`u32` always fits a `usize` where this
/// builds; were it not, no position: nothing found).
fn index(id: SlotId) -> usize {
    usize::try_from(id).unwrap_or(usize::MAX)
}

/// Where [`Slots::insert`] put an entry.
pub(crate) enum Inserted<E> {
    /// In a new slot.
    New(SlotId),
    /// In the slot of the entry with the same key, which it replaced.
    Replaced(SlotId, E),
}

impl<E> Default for Slots<E> {
    fn default() -> Self {
        Slots {
            slots: Vec::new(),
            keys: String::new(),
            dead: 0,
            free: Vec::new(),
            by_key: HashTable::new(),
            hasher: foldhash::fast::RandomState::default(),
        }
    }
}

/// Key bytes that may lie dead before the keys are rewritten (in tests, a
/// few keys' worth, so that the property test below rewrites them too).
const MIN_DEAD: usize = if cfg!(test) { 32 } else { 64 * 1024 };

impl<E> Slots<E> {
    fn hash(&self, key: &str) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The key of a live slot (the table's rehashing needs it).
    fn key_at<'s>(
        slots: &[Option<(Range<usize>, E)>],
        keys: &'s str,
        id: SlotId,
    ) -> Option<&'s str> {
        let (at, _) = slots.get(index(id))?.as_ref()?;
        keys.get(at.clone())
    }

    fn find(&self, key: &str) -> Option<SlotId> {
        let (slots, keys) = (&self.slots, self.keys.as_str());
        self.by_key
            .find(self.hash(key), |&id| {
                Self::key_at(slots, keys, id) == Some(key)
            })
            .copied()
    }

    /// How many entries there are.
    pub(crate) fn len(&self) -> usize {
        self.by_key.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Room for `n` more entries (and keys as long as those held, on average).
    pub(crate) fn reserve(&mut self, n: usize) {
        let (slots, keys, hasher) = (&self.slots, self.keys.as_str(), &self.hasher);
        self.by_key.reserve(n, |&id| {
            hasher.hash_one(Self::key_at(slots, keys, id).unwrap_or_default())
        });
        self.slots.reserve(n.saturating_sub(self.free.len()));
        let live = self.keys.len().saturating_sub(self.dead);
        let per_key = live.checked_div(self.len()).unwrap_or(128);
        self.keys.reserve(n.saturating_mul(per_key));
    }

    /// The entry with `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&E> {
        self.get_key_value(key).map(|(_, entry)| entry)
    }

    /// The entry with `key`, and the key as stored.
    pub(crate) fn get_key_value(&self, key: &str) -> Option<(&str, &E)> {
        self.at(self.find(key)?)
    }

    /// The entry in slot `id`, if that slot is in use, and its key.
    pub(crate) fn at(&self, id: SlotId) -> Option<(&str, &E)> {
        let (at, entry) = self.slots.get(index(id))?.as_ref()?;
        Some((self.keys.get(at.clone())?, entry))
    }

    /// The entry in slot `id`, to change in place (not its key).
    pub(crate) fn at_mut(&mut self, id: SlotId) -> Option<&mut E> {
        let slot = self.slots.get_mut(index(id))?;
        slot.as_mut().map(|(_, entry)| entry)
    }

    /// Puts `entry` under `key`; an entry with that key is replaced in its
    /// slot.
    pub(crate) fn insert(&mut self, key: &str, entry: E) -> Inserted<E> {
        let hash = self.hash(key);
        let (slots, keys, free, hasher) = (
            &mut self.slots,
            &mut self.keys,
            &mut self.free,
            &self.hasher,
        );
        let found = self.by_key.entry(
            hash,
            |&id| Self::key_at(slots, keys, id) == Some(key),
            |&id| hasher.hash_one(Self::key_at(slots, keys, id).unwrap_or_default()),
        );
        match found {
            Entry::Occupied(mut here) => {
                let id = *here.get();
                if let Some(Some((_, old))) = slots.get_mut(index(id)) {
                    return Inserted::Replaced(id, std::mem::replace(old, entry));
                }
                // Not reached: the table matched the key of a slot in use.
                // Kept total all the same: the entry gets a slot of its own.
                let id = Self::place(slots, keys, free, key, entry);
                *here.get_mut() = id;
                Inserted::New(id)
            }
            Entry::Vacant(vacant) => {
                let id = Self::place(slots, keys, free, key, entry);
                vacant.insert(id);
                Inserted::New(id)
            }
        }
    }

    /// Puts an entry in a free slot, or a new one, and its key at the end of
    /// the keys; its number.
    fn place(
        slots: &mut Vec<Option<(Range<usize>, E)>>,
        keys: &mut String,
        free: &mut Vec<SlotId>,
        key: &str,
        entry: E,
    ) -> SlotId {
        let at = keys.len()..keys.len() + key.len();
        keys.push_str(key);
        while let Some(id) = free.pop() {
            if let Some(slot @ None) = slots.get_mut(index(id)) {
                *slot = Some((at, entry));
                return id;
            }
        }
        // Four billion tokens would not fit in memory first.
        let id = SlotId::try_from(slots.len()).unwrap_or(SlotId::MAX);
        slots.push(Some((at, entry)));
        id
    }

    /// Takes the entry with `key` out; its slot is free for the next one.
    pub(crate) fn remove(&mut self, key: &str) -> Option<(SlotId, E)> {
        let hash = self.hash(key);
        let (slots, keys) = (&mut self.slots, self.keys.as_str());
        let found = self
            .by_key
            .find_entry(hash, |&id| Self::key_at(slots, keys, id) == Some(key))
            .ok()?;
        let (id, _) = found.remove();
        let (at, entry) = slots.get_mut(index(id))?.take()?;
        self.dead += at.len();
        self.free.push(id);
        if self.dead > MIN_DEAD && self.dead > self.keys.len() / 2 {
            self.rewrite_keys();
        }
        Some((id, entry))
    }

    /// The keys again, without the dead ones.
    fn rewrite_keys(&mut self) {
        let mut keys = String::with_capacity(self.keys.len().saturating_sub(self.dead));
        for (at, _) in self.slots.iter_mut().flatten() {
            let start = keys.len();
            keys.push_str(self.keys.get(at.clone()).unwrap_or_default());
            *at = start..keys.len();
        }
        self.keys = keys;
        self.dead = 0;
    }

    /// Every entry, in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &E)> {
        self.iter_slots().map(|(_, key, entry)| (key, entry))
    }

    /// Every entry, without its key.
    pub(crate) fn values(&self) -> impl Iterator<Item = &E> {
        self.iter().map(|(_, entry)| entry)
    }

    /// The keys of the entries in `ids` (slots not in use are skipped).
    pub(crate) fn keys_at<'a>(
        &'a self,
        ids: impl IntoIterator<Item = &'a SlotId> + 'a,
    ) -> impl Iterator<Item = String> + 'a {
        ids.into_iter()
            .filter_map(|&id| self.at(id).map(|(key, _)| key.to_owned()))
    }

    /// Every entry with its slot number.
    pub(crate) fn iter_slots(&self) -> impl Iterator<Item = (SlotId, &str, &E)> {
        self.slots.iter().zip(0..).filter_map(|(slot, id)| {
            let (at, entry) = slot.as_ref()?;
            Some((id, self.keys.get(at.clone())?, entry))
        })
    }

    /// Takes the entries out, handing each with its key to `f`.
    pub(crate) fn drain_into(self, mut f: impl FnMut(&str, E)) {
        for (at, entry) in self.slots.into_iter().flatten() {
            f(self.keys.get(at).unwrap_or_default(), entry);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8, u32),
        Remove(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0u8..24, any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
            2 => (0u8..24).prop_map(Op::Remove),
        ]
    }

    proptest! {
        /// Inserts and removes in any order: the same answers as a map, and
        /// every live entry keeps its slot until it goes.
        #[test]
        fn slots_answer_as_a_map_does(ops in proptest::collection::vec(op(), 0..200)) {
            let mut slots: Slots<u32> = Slots::default();
            let mut map: BTreeMap<String, u32> = BTreeMap::new();
            let mut ids: BTreeMap<String, SlotId> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Insert(k, v) => {
                        let key = format!("key-{k}");
                        let replaced = map.insert(key.clone(), v);
                        match slots.insert(&key, v) {
                            Inserted::New(id) => {
                                prop_assert!(replaced.is_none());
                                ids.insert(key, id);
                            }
                            Inserted::Replaced(id, old) => {
                                prop_assert_eq!(Some(old), replaced);
                                prop_assert_eq!(ids.get(&key), Some(&id));
                            }
                        }
                    }
                    Op::Remove(k) => {
                        let key = format!("key-{k}");
                        let removed = slots.remove(&key);
                        prop_assert_eq!(removed.as_ref().map(|r| r.1), map.remove(&key));
                        if let Some((id, _)) = removed {
                            prop_assert_eq!(ids.remove(&key), Some(id));
                        }
                    }
                }
                prop_assert_eq!(slots.len(), map.len());
                for (key, value) in &map {
                    prop_assert_eq!(slots.get(key), Some(value));
                    let id = ids[key];
                    prop_assert_eq!(slots.at(id).map(|(k, v)| (k, *v)), Some((key.as_str(), *value)));
                }
                let mut listed: Vec<(String, u32)> =
                    slots.iter().map(|(k, v)| (k.to_string(), *v)).collect();
                listed.sort();
                prop_assert_eq!(listed, map.iter().map(|(k, v)| (k.clone(), *v)).collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn a_freed_slot_is_reused_and_the_table_grows_past_its_reservation() {
        let mut slots: Slots<usize> = Slots::default();
        slots.reserve(2);
        for i in 0..100 {
            assert!(matches!(
                slots.insert(&format!("k{i}"), i),
                Inserted::New(_)
            ));
        }
        let (freed, _) = slots.remove("k7").unwrap();
        assert!(slots.get("k7").is_none());
        assert!(slots.at(freed).is_none());
        assert!(matches!(slots.insert("new", 1000), Inserted::New(id) if id == freed));
        assert_eq!(slots.len(), 100);
        assert_eq!(slots.get("k99"), Some(&99));
    }
}
