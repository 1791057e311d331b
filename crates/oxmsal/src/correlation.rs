//! Correlation ids (`client-request-id`): random v4 UUIDs, made without a system
//! call.
//!
//! A correlation id ties a request to the server's logs and to ours; it must be
//! unique, not unpredictable (it is sent in clear and logged). Drawing it from
//! the OS (`getrandom(2)`) on every acquisition cost more than the whole cache
//! lookup of a hit, so each thread seeds a SplitMix64 generator once from the
//! OS and steps it per id: 128 bits per id from a 2^64-period sequence that
//! starts at a random point per thread.

use std::cell::Cell;

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
    fn threads_start_at_different_points() {
        let here = new_id();
        let there = std::thread::spawn(new_id).join().unwrap();
        assert_ne!(here, there);
    }
}
