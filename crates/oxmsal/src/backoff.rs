//! Jittered delays for the loops that wait and try again (the cache lock's
//! polls, Redis compare-and-set retries).
//!
//! Jitter only has to keep competing processes from waking in lockstep, so
//! it comes from `fastrand` (a small non-cryptographic generator, seeded per
//! thread), not from the system's secure random source.

use std::time::Duration;

/// `base * 2^attempt`, at most `cap`; never overflows.
pub(crate) fn exponential(base: Duration, attempt: u32, cap: Duration) -> Duration {
    let factor = 1u32.checked_shl(attempt).unwrap_or(u32::MAX);
    base.saturating_mul(factor).min(cap)
}

/// Full jitter: uniformly random in `0..=ceiling`, to the microsecond.
pub(crate) fn full_jitter(ceiling: Duration) -> Duration {
    let micros = u64::try_from(ceiling.as_micros()).unwrap_or(u64::MAX);
    Duration::from_micros(fastrand::u64(0..=micros))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn exponential_doubles_per_attempt_up_to_the_cap() {
        let cap = Duration::from_millis(20);
        let delays: Vec<_> = (0..8).map(|n| exponential(MS, n, cap)).collect();
        assert_eq!(
            delays,
            [1, 2, 4, 8, 16, 20, 20, 20].map(Duration::from_millis)
        );
    }

    #[test]
    fn exponential_saturates_instead_of_overflowing() {
        let cap = Duration::from_millis(500);
        assert_eq!(exponential(MS, 31, cap), cap);
        assert_eq!(exponential(MS, 32, cap), cap);
        assert_eq!(exponential(MS, u32::MAX, cap), cap);
        assert_eq!(exponential(Duration::MAX, 3, cap), cap);
        assert_eq!(exponential(Duration::ZERO, 5, cap), Duration::ZERO);
    }

    #[test]
    fn full_jitter_stays_within_its_ceiling_and_spreads() {
        let ceiling = Duration::from_millis(4);
        let draws: Vec<_> = (0..10_000).map(|_| full_jitter(ceiling)).collect();
        assert!(draws.iter().all(|d| *d <= ceiling));
        // Spread over the range, not stuck at one end: with 10,000 uniform
        // draws each half is empty with probability 2^-10000.
        assert!(draws.iter().any(|d| *d < ceiling / 2));
        assert!(draws.iter().any(|d| *d > ceiling / 2));
    }

    #[test]
    fn full_jitter_of_nothing_is_nothing() {
        assert_eq!(full_jitter(Duration::ZERO), Duration::ZERO);
        assert!(full_jitter(Duration::MAX) <= Duration::MAX);
    }
}
