//! How big a document's access-token table will be, told early from where
//! its first entries sit in the text.

use crate::cache::entity::AccessTokenEntry;
use crate::cache::store::{Key, Store};

/// Sizes the access-token table once, from the first entries of a document
/// in memory: the bytes they took (told by where their borrowed keys are in
/// the text) and the bytes left tell how many are coming. One allocation of
/// the right size instead of a dozen doublings, each moving every entry read
/// so far (8 % of a 10,000-token load when it was left out).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Sizing {
    /// A stream, or done.
    Unknown,
    /// The text's address range, and the address of the first access
    /// token's key once read.
    Text {
        start: usize,
        end: usize,
        first: Option<usize>,
        read: usize,
    },
    /// Room was reserved for this many more.
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

    pub(crate) fn of(text: &str) -> Self {
        let start = text.as_ptr() as usize;
        Sizing::Text {
            start,
            end: start + text.len(),
            first: None,
            read: 0,
        }
    }

    /// Counts an access token whose key is `key`; once there are enough,
    /// reserves room in `store` for those the rest of the text is estimated
    /// to hold. Bytes of other sections after this one count as tokens too:
    /// an overestimate of at most one table slot per entry-sized stretch of
    /// text.
    pub(crate) fn count(&mut self, key: &str, store: &mut Store) {
        let Sizing::Text {
            start,
            end,
            first,
            read,
        } = self
        else {
            return;
        };
        // Only a key borrowed from the text (it had no escapes) says where
        // it is; a decoded one is elsewhere.
        let at = key.as_ptr() as usize;
        if at < *start || at > *end {
            *self = Sizing::Unknown;
            return;
        }
        let first = *first.get_or_insert(at);
        *read += 1;
        if *read < Self::SAMPLE {
            return;
        }
        let per_entry = (at.saturating_sub(first) / (*read - 1)).max(1);
        let left = end.saturating_sub(at);
        // Never more table than text: a document of a few tiny entries and a
        // huge unknown section must not reserve more memory than it takes to
        // hold it.
        let slot = std::mem::size_of::<(Key, AccessTokenEntry)>();
        let more = (left / per_entry).min(left / slot);
        store.reserve_access_tokens(more);
        *self = Sizing::Done { reserved: more };
    }
}
