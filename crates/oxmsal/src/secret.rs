//! Redacted, wiped holders for secrets and tokens.
//!
//! Everything that would let someone act as the user or the app — client secrets,
//! passwords, assertions, access and refresh tokens — lives in [`Secret`]. Its
//! `Debug` and `Display` print a fixed placeholder, so a secret cannot reach a log
//! line or an error message by accident, and its memory is wiped when the last
//! holder drops it.
//!
//! Two choices here are about speed, because tokens are copied and dropped on
//! every cache hit:
//! - A `Secret` is shared, not copied: clones hold the same wiped buffer, so a
//!   cache hit hands out the cached token without copying 1.5 KB and wiping the
//!   copy afterwards.
//! - Wiping is a `fill(0)` of the whole allocation (capacity included) that the
//!   optimizer must keep, because the buffer is then passed to
//!   [`std::hint::black_box`]. The `zeroize` crate writes one volatile byte at a
//!   time, which measured ~1 byte per cycle: freeing a cache of 10,000 tokens
//!   spent 6 ms there. `fill` is a `memset`.

use std::fmt;
use std::ops::Deref;
use std::sync::atomic::{compiler_fence, Ordering};
use std::sync::{Arc, Weak};

/// Overwrites `bytes`, all of its capacity, with zeros, in a way the optimizer
/// keeps (the length becomes the capacity).
fn zero_allocation(bytes: &mut Vec<u8>) {
    bytes.fill(0);
    let capacity = bytes.capacity();
    // Within capacity: no reallocation, the spare part is written too.
    bytes.resize(capacity, 0);
    std::hint::black_box(bytes.as_slice());
    compiler_fence(Ordering::SeqCst);
}

/// A buffer wiped — its whole allocation — when dropped: documents and other
/// text that holds tokens but is not a single secret ([`WipedString`]), and
/// the buffers a cache file is read through ([`WipedBytes`]).
#[derive(Default)]
pub(crate) struct Wiped<T: Buffer>(T);

/// What [`Wiped`] holds: a buffer that gives up its bytes.
pub(crate) trait Buffer: Default {
    fn into_bytes(self) -> Vec<u8>;
}

impl Buffer for String {
    fn into_bytes(self) -> Vec<u8> {
        String::into_bytes(self)
    }
}

impl Buffer for Vec<u8> {
    fn into_bytes(self) -> Vec<u8> {
        self
    }
}

pub(crate) type WipedString = Wiped<String>;
pub(crate) type WipedBytes = Wiped<Vec<u8>>;

impl<T: Buffer> Wiped<T> {
    pub(crate) fn new(value: T) -> Self {
        Wiped(value)
    }
}

impl<T: Buffer> Deref for Wiped<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Buffer> std::ops::DerefMut for Wiped<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: Buffer> Drop for Wiped<T> {
    fn drop(&mut self) {
        zero_allocation(&mut std::mem::take(&mut self.0).into_bytes());
    }
}

/// A secret string: redacted when printed, wiped when the last clone drops.
///
/// Clones share the value (a reference count), so cloning a token is cheap and
/// leaves no extra copy to wipe.
///
/// ```
/// use oxmsal::Secret;
/// let s = Secret::new("p@ssw0rd");
/// assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
/// assert_eq!(s.expose_secret(), "p@ssw0rd");
/// ```
#[derive(Clone)]
pub struct Secret(Arc<Held>);

/// Where a secret's bytes are.
enum Held {
    /// In an allocation of its own.
    Whole(WipedString),
    /// At `block[start..end]`: one of the secrets of a block the cache's
    /// codec filled (`SecretBlock`), which is wiped when the last of them
    /// drops.
    Part {
        block: Arc<WipedString>,
        start: usize,
        end: usize,
    },
}

impl Secret {
    /// Wraps a secret value.
    ///
    /// ```
    /// let s = oxmsal::Secret::new(String::from("value"));
    /// assert!(!s.is_empty());
    /// ```
    pub fn new(value: impl Into<String>) -> Self {
        Secret(Arc::new(Held::Whole(WipedString::new(value.into()))))
    }

    /// The secret value itself. Call this only where the value must go on the wire.
    ///
    /// ```
    /// assert_eq!(oxmsal::Secret::new("v").expose_secret(), "v");
    /// ```
    pub fn expose_secret(&self) -> &str {
        match &*self.0 {
            Held::Whole(text) => text.as_str(),
            // The range was the block's own when the part was made.
            Held::Part { block, start, end } => block.get(*start..*end).unwrap_or(""),
        }
    }

    /// Whether the secret is the empty string.
    ///
    /// ```
    /// assert!(oxmsal::Secret::new("").is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.expose_secret().is_empty()
    }
}

impl Secret {
    /// The secret at `start..end` of a sealed block of secrets (from
    /// `SecretBlock::push` in the cache's codec).
    ///
    /// A part is a small allocation of its own (the block's handle and the
    /// range), so that a `Secret` stays one pointer: a cache hit moves it
    /// several times (measured: a 16-byte `Secret` made the client-credentials
    /// hit ~7 % slower, an enum of the two cases ~12 %).
    pub(crate) fn part_of(block: &Arc<WipedString>, (start, end): (usize, usize)) -> Secret {
        Secret(Arc::new(Held::Part {
            block: Arc::clone(block),
            start,
            end,
        }))
    }

    /// The block this secret is a part of, if it is one.
    #[cfg(test)]
    pub(crate) fn block(&self) -> Option<&Arc<WipedString>> {
        match &*self.0 {
            Held::Whole(_) => None,
            Held::Part { block, .. } => Some(block),
        }
    }
}

/// A [`Secret`] that does not keep its value alive: it upgrades while some
/// `Secret` still holds the value, and the value is wiped when the last of
/// those drops, as if this did not exist.
#[derive(Clone)]
pub(crate) struct WeakSecret(Weak<Held>);

impl fmt::Debug for WeakSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WeakSecret(<redacted>)")
    }
}

impl Secret {
    /// A handle that finds this secret while it lives, without keeping it.
    pub(crate) fn downgrade(&self) -> WeakSecret {
        WeakSecret(Arc::downgrade(&self.0))
    }
}

impl WeakSecret {
    /// The secret, if a `Secret` still holds it.
    pub(crate) fn upgrade(&self) -> Option<Secret> {
        self.0.upgrade().map(Secret)
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.expose_secret() == other.expose_secret()
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn wiping_zeroes_the_whole_allocation() {
        let mut bytes = Vec::with_capacity(64);
        bytes.extend_from_slice(b"0123456789abcdef");
        bytes.truncate(4); // "0123" in use, the rest spare but written before
        zero_allocation(&mut bytes);
        assert_eq!(bytes.len(), 64);
        assert!(bytes.iter().all(|&b| b == 0));
    }

    #[test]
    fn clones_share_and_compare_by_value() {
        let a = Secret::new("t");
        let b = a.clone();
        assert_eq!(a, b);
        assert_eq!(a, Secret::new("t"));
        assert_ne!(a, Secret::new("u"));
    }

    #[test]
    fn never_prints_the_value() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?} {s}").contains("hunter2"));
    }
}
