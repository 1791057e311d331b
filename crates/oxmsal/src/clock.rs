//! Time as an injected dependency.
//!
//! Token expiry, `refresh_on`, throttling windows and retry delays all depend on
//! the clock. Apps use [`SystemClock`]; tests use [`ManualClock`], whose `sleep`
//! advances its own time and returns at once, so time-dependent behaviour is tested
//! instantly and deterministically.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A future returned by [`Clock::sleep`].
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A source of the current time and of delays.
///
/// ```
/// use oxmsal::{Clock, SystemClock};
/// let now = SystemClock.now();
/// assert!(now > std::time::UNIX_EPOCH);
/// ```
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;

    /// Waits for `duration` (a retry delay, a polling interval).
    fn sleep(&self, duration: Duration) -> Sleep;

    /// The current time as whole seconds since the Unix epoch (0 before 1970).
    fn now_epoch(&self) -> u64 {
        self.now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
}

/// The real clock: `SystemTime::now()` and `tokio::time::sleep`.
///
/// ```
/// use oxmsal::{Clock, SystemClock};
/// assert!(SystemClock.now_epoch() > 1_700_000_000);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(duration))
    }

    /// Whole seconds need no nanosecond clock: Linux's coarse real-time clock
    /// (advanced every scheduler tick, a few milliseconds) is read from the
    /// vDSO without the hardware counter, several times cheaper than
    /// `SystemTime::now()` — and every cache hit asks for the time.
    #[cfg(target_os = "linux")]
    fn now_epoch(&self) -> u64 {
        let now = rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse);
        u64::try_from(now.tv_sec).unwrap_or(0)
    }
}

/// A clock that moves only when told to; `sleep` advances it and returns at once.
///
/// Clones share one time, so a test keeps a clone and moves the app's clock.
///
/// ```
/// use std::time::Duration;
/// use oxmsal::{Clock, ManualClock};
/// let clock = ManualClock::at_epoch(1_000);
/// clock.advance(Duration::from_secs(60));
/// assert_eq!(clock.now_epoch(), 1_060);
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<SystemTime>>,
}

impl ManualClock {
    /// A clock reading `epoch_seconds` after the Unix epoch.
    ///
    /// ```
    /// use oxmsal::{Clock, ManualClock};
    /// assert_eq!(ManualClock::at_epoch(5).now_epoch(), 5);
    /// ```
    pub fn at_epoch(epoch_seconds: u64) -> Self {
        Self::at(UNIX_EPOCH + Duration::from_secs(epoch_seconds))
    }

    /// A clock reading `time`.
    ///
    /// ```
    /// use oxmsal::ManualClock;
    /// let clock = ManualClock::at(std::time::SystemTime::now());
    /// # let _ = clock;
    /// ```
    pub fn at(time: SystemTime) -> Self {
        ManualClock {
            now: Arc::new(Mutex::new(time)),
        }
    }

    /// Moves the clock forward by `by`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use oxmsal::{Clock, ManualClock};
    /// let c = ManualClock::at_epoch(0);
    /// c.advance(Duration::from_secs(1));
    /// assert_eq!(c.now_epoch(), 1);
    /// ```
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }

    /// Sets the clock to `time`.
    ///
    /// ```
    /// use oxmsal::{Clock, ManualClock};
    /// let c = ManualClock::at_epoch(0);
    /// c.set(std::time::UNIX_EPOCH + std::time::Duration::from_secs(9));
    /// assert_eq!(c.now_epoch(), 9);
    /// ```
    pub fn set(&self, time: SystemTime) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = time;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        self.advance(duration);
        Box::pin(std::future::ready(()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_system_clocks_whole_seconds_agree_with_system_time() {
        let secs = || {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs()
        };
        let before = secs();
        let epoch = SystemClock.now_epoch();
        let after = secs();
        // The coarse clock may trail the precise one by a tick across a
        // second's boundary, never by more.
        assert!(
            before.saturating_sub(1) <= epoch && epoch <= after,
            "{before} {epoch} {after}"
        );
    }
}
