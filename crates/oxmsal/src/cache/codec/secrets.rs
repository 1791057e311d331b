//! Where the access tokens' secrets go when a document is read: shared,
//! wiped blocks ([`SecretBlock`]) instead of one allocation per token.

use std::borrow::Cow;
use std::sync::Arc;

use crate::cache::entity::AccessTokenEntry;
use crate::cache::store::{SlotId, Store};
use crate::secret::{Secret, WipedString};

/// Secrets read together — the access tokens of a cache document — copied into
/// one wiped allocation that their [`Secret`]s share.
///
/// Loading 10,000 tokens one [`Secret::new`] each allocated, wiped and freed
/// 10,000 texts; with 1.5 KB tokens glibc's bookkeeping for those (consolidating
/// and unlinking free chunks) was a quarter of the load. In blocks of about
/// [`SecretBlock::TARGET`] bytes, only a small holder per token is left. The
/// price: a block's memory is wiped and freed when its *last* secret drops, so
/// a token replaced early (a refresh) keeps its bytes until its neighbours go
/// too.
pub(crate) struct SecretBlock {
    text: WipedString,
    /// How many bytes at the start still hold a replaced cache's secrets
    /// (a reused block): those not overwritten are zeroed when sealed.
    dirty: usize,
}

impl SecretBlock {
    /// About how many bytes of secrets a block gathers before it is sealed.
    pub(crate) const TARGET: usize = 64 * 1024;

    /// A block for exactly `bytes` bytes of secrets.
    pub(crate) fn with_capacity(bytes: usize) -> Self {
        SecretBlock {
            text: WipedString::new(String::with_capacity(bytes)),
            dirty: 0,
        }
    }

    /// A block in the allocation of a block no secret holds any more (one
    /// of the store a load replaces): the new secrets overwrite the old
    /// ones, and what they do not cover is zeroed by [`seal`](Self::seal). Loading a cache
    /// over another this way writes each byte once, instead of zeroing the
    /// old block, freeing it and filling a new one elsewhere.
    pub(crate) fn reusing(mut text: WipedString) -> Self {
        let dirty = text.len();
        // Only the length: the bytes stay until overwritten or zeroed.
        text.clear();
        SecretBlock { text, dirty }
    }

    /// Appends `secret`; where it is in the block. `None` when it does not
    /// fit: the block never grows, since growing would free the old bytes
    /// unwiped.
    pub(crate) fn push(&mut self, secret: &str) -> Option<(usize, usize)> {
        let start = self.text.len();
        if self.text.capacity() - start < secret.len() {
            return None;
        }
        self.text.push_str(secret);
        Some((start, self.text.len()))
    }

    /// The block, ready to share: a reused block's old bytes past the new
    /// secrets are zeroed first.
    pub(crate) fn seal(mut self) -> Arc<WipedString> {
        let stale = self.dirty.saturating_sub(self.text.len());
        self.text.extend(std::iter::repeat_n('\0', stale));
        Arc::new(self.text)
    }
}

/// Access tokens stored without their secrets yet: the secrets are copied
/// into shared [`SecretBlock`]s (a few allocations per block instead of two
/// per token), then put in place by slot.
///
/// A streaming load stores each batch when it holds about a block of
/// secrets, or at the end of its input. A whole document in memory keeps
/// every secret waiting instead ([`Batch::keeping_all`]) until the store it
/// replaces has gone, so that its blocks can be reused
/// ([`Loaded::finish_replacing`]).
#[derive(Default)]
pub(super) struct Batch<'a> {
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
    pub(super) fn keeping_all() -> Self {
        Batch {
            keep_all: true,
            ..Batch::default()
        }
    }

    /// Stores an access token read under `key`, its `secret` left for the
    /// batch (which is stored when full).
    pub(super) fn put(
        &mut self,
        store: &mut Store,
        key: &str,
        entry: AccessTokenEntry,
        secret: Option<Cow<'a, str>>,
    ) {
        // Stored now, not moved through the batch: only its slot waits.
        let (id, replaced) = store.put_access_token_slot(key, entry);
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
    }

    /// Puts the batch's secrets in their tokens: into `reusable` blocks
    /// while one fits, then into new ones.
    pub(super) fn store_into(&mut self, store: &mut Store, reusable: &mut Vec<WipedString>) {
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
    pub(super) store: Store,
    pub(super) secrets: Batch<'a>,
}

impl Loaded<'_> {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A reused block's new secrets overwrite the old; the old bytes they
    /// do not cover are zeroed, so no replaced secret lives on in it.
    #[test]
    fn a_reused_block_keeps_none_of_the_old_secrets() {
        let mut block = SecretBlock::with_capacity(10);
        block.push("old-secret").unwrap();
        let old = Arc::try_unwrap(block.seal()).ok().unwrap();
        let mut block = SecretBlock::reusing(old);
        let place = block.push("new").unwrap();
        let block = block.seal();
        assert_eq!(block.as_str(), "new\0\0\0\0\0\0\0");
        assert_eq!(Secret::part_of(&block, place).expose_secret(), "new");
        // And the block never grows past what it had.
        let mut full = SecretBlock::reusing(Arc::try_unwrap(block).ok().unwrap());
        assert_eq!(full.push("0123456789x"), None);
    }

    #[test]
    fn parts_of_a_block_read_back_and_compare_by_value() {
        let mut block = SecretBlock::with_capacity(7);
        let a = block.push("abc").unwrap();
        let b = block.push("defg").unwrap();
        assert_eq!(block.push("h"), None, "a block never grows");
        let block = block.seal();
        let (a, b) = (Secret::part_of(&block, a), Secret::part_of(&block, b));
        assert_eq!((a.expose_secret(), b.expose_secret()), ("abc", "defg"));
        assert_eq!(a, Secret::new("abc"));
        assert_ne!(a, b);
        assert_eq!(a.clone(), a);
        drop(block);
        assert_eq!(b.expose_secret(), "defg", "the parts hold the block");
    }
}
