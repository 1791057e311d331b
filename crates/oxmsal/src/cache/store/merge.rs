//! Stores combined and cut apart: what persistence needs to move one partition
//! of a cache between processes.
//!
//! Cutting walks the indexes rather than every entry, so exporting a user's
//! partition costs in proportion to the number of (account, host) pairs and the
//! user's own entries, not to the size of the cache.

use std::collections::BTreeSet;

use super::{ikey, same_id, Key, Store};
use crate::cache::entity::AccessTokenEntry;
use crate::cache::persist::PartitionKey;

/// How [`Store::merge`] settles two entries with the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MergeRule {
    /// The incoming entry (and unknown section) replaces the one here.
    Replace,
    /// The incoming entry replaces the one here unless this one is newer (an
    /// access token's `cached_at`, a refresh token's `last_modification_time`);
    /// unknown sections here are kept, the incoming ones only added.
    NewerWins,
}

/// The keys of one partition's entries, by section.
#[derive(Default)]
struct PartitionKeys {
    access_tokens: Vec<String>,
    refresh_tokens: Vec<Key>,
    id_tokens: Vec<Key>,
    accounts: Vec<Key>,
}

/// The home-account part of an index key `home\0environment`.
fn home_part(index_key: &str) -> &str {
    index_key.split('\0').next().unwrap_or_default()
}

impl Store {
    /// Puts every entry of `other` here, settling same-key entries by `rule`.
    pub(crate) fn merge(&mut self, other: Store, rule: MergeRule) {
        // Nothing here yet (a process's first load): take the store whole,
        // indexes and all, instead of re-inserting every entry.
        if self.is_empty() {
            *self = other;
            return;
        }
        let newer_wins = rule == MergeRule::NewerWins;
        // Written over what is stored (NewerWins), an entry keeps the stored
        // one's fields oxmsal does not know: another library wrote them.
        other.access_tokens.drain_into(|key, mut entry| {
            let here = self.access_tokens.get(key).filter(|_| newer_wins);
            if here.is_some_and(|here| here.cached_at > entry.cached_at) {
                return;
            }
            if let Some(here) = here {
                entry.raw.keep_foreign::<AccessTokenEntry>(&here.raw);
            }
            self.put_access_token(key, entry);
        });
        self.refresh_tokens.merge(other.refresh_tokens, newer_wins);
        self.id_tokens.merge(other.id_tokens, newer_wins);
        self.accounts.merge(other.accounts, newer_wins);
        self.app_metadata.merge(other.app_metadata, newer_wins);
        for (name, value) in other.other_sections {
            if !(newer_wins && self.other_sections.contains_key(&name)) {
                self.other_sections.insert(name, value);
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.access_tokens.is_empty()
            && self.refresh_tokens.is_empty()
            && self.id_tokens.is_empty()
            && self.accounts.is_empty()
            && self.app_metadata.is_empty()
            && self.other_sections.is_empty()
    }

    /// A new store with copies of the entries in `partition`:
    /// - `App`: access tokens without a home account for that client and
    ///   realm, and the client's app metadata;
    /// - `User`: the account's access, refresh and id tokens and its account
    ///   entries, and the app metadata of the clients those tokens belong to;
    /// - `OnBehalfOf`: access tokens with that extended key, plus the refresh
    ///   tokens, id tokens and accounts of their home accounts, and app metadata.
    pub(crate) fn partition(&self, partition: &PartitionKey) -> Store {
        let mut out = Store::default();
        let held = self.partition_keys(partition);
        for key in held.access_tokens {
            if let Some(entry) = self.access_tokens.get(&key) {
                out.put_access_token(&key, entry.clone());
            }
        }
        self.refresh_tokens
            .copy_into(&mut out.refresh_tokens, &held.refresh_tokens);
        self.id_tokens
            .copy_into(&mut out.id_tokens, &held.id_tokens);
        self.accounts.copy_into(&mut out.accounts, &held.accounts);
        self.copy_app_metadata(&mut out, partition);
        out
    }

    /// Removes the entries [`partition`](Self::partition) would copy, app
    /// metadata excepted.
    pub(crate) fn remove_partition(&mut self, partition: &PartitionKey) {
        let held = self.partition_keys(partition);
        for key in &held.access_tokens {
            self.remove_access_token(key);
        }
        self.refresh_tokens.remove_all(&held.refresh_tokens);
        self.id_tokens.remove_all(&held.id_tokens);
        self.accounts.remove_all(&held.accounts);
    }

    /// The keys of `partition`'s entries (see [`partition`](Self::partition)),
    /// found through the indexes.
    fn partition_keys(&self, partition: &PartitionKey) -> PartitionKeys {
        let mut held = PartitionKeys::default();
        match partition {
            PartitionKey::App { client_id, realm } => {
                let ce = ikey(&[client_id, ""]);
                let realm = ikey(&[realm]);
                for (he, by_client) in self.index() {
                    // App-only tokens have an empty home account.
                    if !home_part(he).is_empty() {
                        continue;
                    }
                    let keys = by_client
                        .get(&ce)
                        .and_then(|by_realm| by_realm.get(realm.as_str()));
                    held.access_tokens
                        .extend(self.access_tokens.keys_at(keys.into_iter().flatten()));
                }
            }
            PartitionKey::User { home_account_id } => {
                self.user_keys(&mut held, &ikey(&[home_account_id]), true);
            }
            PartitionKey::OnBehalfOf { assertion_hash } => {
                let ext = ikey(&[assertion_hash]);
                let mut homes = BTreeSet::new();
                for (he, by_client) in self.index() {
                    for (ce, by_realm) in by_client {
                        if ce.rsplit('\0').next() != Some(ext.as_str()) {
                            continue;
                        }
                        homes.insert(home_part(he).to_owned());
                        held.access_tokens
                            .extend(self.access_tokens.keys_at(by_realm.values().flatten()));
                    }
                }
                for home in homes.iter().filter(|h| !h.is_empty()) {
                    self.user_keys(&mut held, home, false);
                }
            }
        }
        held
    }

    /// Adds a home account's (`home` as an index key) refresh token, id token
    /// and account keys, and its access token keys when `access_tokens`.
    fn user_keys(&self, held: &mut PartitionKeys, home: &str, access_tokens: bool) {
        let mine = |he: &str| home_part(he) == home;
        if access_tokens {
            let groups = self.index().iter().filter(|(he, _)| mine(he));
            let slots = groups
                .flat_map(|(_, c)| c.values())
                .flat_map(|r| r.values())
                .flatten();
            held.access_tokens.extend(self.access_tokens.keys_at(slots));
        }
        let rts = self
            .refresh_tokens
            .index()
            .iter()
            .filter(|(he, _)| mine(he));
        held.refresh_tokens
            .extend(rts.flat_map(|(_, keys)| keys).cloned());
        let its = self.id_tokens.index().iter().filter(|(he, _)| mine(he));
        held.id_tokens
            .extend(its.flat_map(|(_, keys)| keys).cloned());
        let accounts = self.accounts.group(home).map(|(k, _)| k);
        held.accounts.extend(accounts.cloned());
    }

    /// The app metadata of the partition's client, or of the clients whose
    /// tokens `out` holds.
    fn copy_app_metadata(&self, out: &mut Store, partition: &PartitionKey) {
        let mut clients: Vec<&str> = Vec::new();
        if let PartitionKey::App { client_id, .. } = partition {
            clients.push(client_id);
        }
        let rts = out.refresh_tokens.entries().values().map(|e| &e.client_id);
        let its = out.id_tokens.entries().values().map(|e| &e.client_id);
        let held: BTreeSet<String> = out
            .access_tokens
            .values()
            .map(|e| e.shared.client_id.to_lowercase())
            .chain(rts.chain(its).map(|client_id| client_id.to_lowercase()))
            .collect();
        clients.extend(held.iter().map(String::as_str));
        for (key, entry) in self.app_metadata.entries() {
            if clients.iter().any(|c| same_id(c, &entry.meta.client_id)) {
                out.app_metadata.put(Key::clone(key), entry.clone());
            }
        }
    }
}
