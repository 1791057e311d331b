//! Correlation ids (`client-request-id`): random v4 UUIDs, made without a system
//! call.
//!
//! A correlation id ties a request to the server's logs and to ours; it must be
//! unique, not unpredictable (it is sent in clear and logged). Drawing it from
//! the OS (`getrandom(2)`) on every acquisition cost more than the whole cache
//! lookup of a hit, so each thread seeds a SplitMix64 generator once from the
//! OS and steps it per id: 128 bits per id from a 2^64-period sequence that
//! starts at a random point per thread.
//!
//! A token served from the cache sent no request, so its [`CorrelationId`]
//! is drawn only when something reads it: a cache hit nobody logs or looks
//! at does not pay for an id (making and formatting one was a sixth of a
//! managed-identity hit).

use std::cell::Cell;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::OnceLock;

thread_local! {
    static STATE: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let (high, low) = uuid::Uuid::new_v4().as_u64_pair();
    high ^ low.rotate_left(32)
}

/// One SplitMix64 step.
fn next(state: &Cell<u64>) -> u64 {
    let s = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
    state.set(s);
    let mut z = s;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A fresh correlation id, `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`.
pub(crate) fn new_id() -> String {
    let (high, low) = STATE.with(|state| (next(state), next(state)));
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&high.to_be_bytes());
    bytes[8..].copy_from_slice(&low.to_be_bytes());
    // Sets the version (4) and variant bits.
    let id = uuid::Builder::from_random_bytes(bytes).into_uuid();
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    id.hyphenated().encode_lower(&mut text).to_owned()
}

/// The correlation id (`client-request-id`) of a token acquisition, as in
/// [`AuthenticationResult::correlation_id`](crate::AuthenticationResult::correlation_id):
/// the one the request was sent with, or the one the caller gave.
///
/// A token served from the cache without a caller's id gets a random one,
/// drawn the first time it is read (clones read it, so a result and its
/// clones agree). It reads as a `&str`:
///
/// ```
/// use oxmsal::CorrelationId;
/// let given = CorrelationId::from("c0ffee");
/// assert_eq!(given, "c0ffee");
/// assert_eq!(given.len(), 6);
/// assert_eq!(format!("{given}"), "c0ffee");
///
/// let random = CorrelationId::default();
/// assert_eq!(random.as_str().len(), 36);
/// assert_eq!(random.clone(), random);
/// let text: String = random.into();
/// assert_eq!(text.len(), 36);
/// ```
pub struct CorrelationId(OnceLock<Box<str>>);

impl CorrelationId {
    /// The id: the given one, or the random one (drawn now if not yet).
    ///
    /// ```
    /// assert_eq!(oxmsal::CorrelationId::from("id").as_str(), "id");
    /// ```
    pub fn as_str(&self) -> &str {
        self.0.get_or_init(|| new_id().into_boxed_str())
    }
}

impl Default for CorrelationId {
    /// A random id, drawn when first read.
    fn default() -> Self {
        CorrelationId(OnceLock::new())
    }
}

impl From<String> for CorrelationId {
    fn from(id: String) -> Self {
        CorrelationId(OnceLock::from(id.into_boxed_str()))
    }
}

impl From<&str> for CorrelationId {
    fn from(id: &str) -> Self {
        CorrelationId::from(id.to_owned())
    }
}

impl From<CorrelationId> for String {
    fn from(id: CorrelationId) -> Self {
        id.as_str().to_owned()
    }
}

impl Clone for CorrelationId {
    /// A clone has the same id: an unread random one is drawn first.
    fn clone(&self) -> Self {
        CorrelationId::from(self.as_str())
    }
}

impl Deref for CorrelationId {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for CorrelationId {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for CorrelationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CorrelationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq for CorrelationId {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for CorrelationId {}

impl Hash for CorrelationId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialEq<str> for CorrelationId {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for CorrelationId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for CorrelationId {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<CorrelationId> for &str {
    fn eq(&self, other: &CorrelationId) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<CorrelationId> for String {
    fn eq(&self, other: &CorrelationId) -> bool {
        self == other.as_str()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_v4_uuids_and_distinct() {
        let ids: Vec<String> = (0..10_000).map(|_| new_id()).collect();
        for id in &ids {
            let parsed = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(parsed.get_version_num(), 4);
            assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122);
            assert_eq!(id.len(), 36);
        }
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
    }

    #[test]
    fn a_random_id_is_drawn_once_and_kept_by_clones() {
        let id = CorrelationId::default();
        let clone = id.clone();
        assert_eq!(id.as_str(), clone.as_str());
        assert_eq!(id.as_str(), id.as_str(), "drawn once");
        assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 4);
        assert_ne!(CorrelationId::default(), CorrelationId::default());
        assert_eq!(String::from(id.clone()), id.as_str());
        assert_eq!(format!("{id:?}"), format!("{:?}", id.as_str()));
    }

    #[test]
    fn threads_start_at_different_points() {
        let here = new_id();
        let there = std::thread::spawn(new_id).join().unwrap();
        assert_ne!(here, there);
    }
}
