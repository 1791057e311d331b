//! Which failed requests are sent again, and after how long.

use std::time::Duration;

/// Retry policy of the HTTP pipeline.
///
/// By default a token or discovery request that failed with a 5xx, a timeout or
/// a connection dropped before any response is sent once more after one second —
/// unless the response carried `Retry-After`, which is the server asking the
/// caller (and the throttle) to wait instead. 4xx answers are never retried.
///
/// ```
/// use std::time::Duration;
/// use oxmsal::http::RetryPolicy;
/// let policy = RetryPolicy::default();
/// assert_eq!(policy.max_retries, 1);
/// let off = RetryPolicy::off();
/// assert_eq!(off.max_retries, 0);
/// let custom = RetryPolicy::new(3, Duration::from_millis(200));
/// assert_eq!(custom.delay, Duration::from_millis(200));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// How many times a failed request is sent again.
    pub max_retries: u32,
    /// How long to wait before each retry.
    pub delay: Duration,
}

impl RetryPolicy {
    /// `max_retries` retries, `delay` apart.
    ///
    /// ```
    /// let p = oxmsal::http::RetryPolicy::new(2, std::time::Duration::from_secs(1));
    /// assert_eq!(p.max_retries, 2);
    /// ```
    pub fn new(max_retries: u32, delay: Duration) -> Self {
        RetryPolicy { max_retries, delay }
    }

    /// Never retry.
    ///
    /// ```
    /// assert_eq!(oxmsal::http::RetryPolicy::off().max_retries, 0);
    /// ```
    pub fn off() -> Self {
        RetryPolicy::new(0, Duration::ZERO)
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::new(1, Duration::from_secs(1))
    }
}
