//! Which managed-identity answers are sent again, and after how long.
//!
//! IMDS follows MSAL.NET's IMDS retry specification (which msal-node follows
//! too): 404 (the endpoint is being updated), 408, 429 and 5xx are retried with
//! exponential back-off, and 410 ("IMDS is being updated") is retried every
//! 10 s until at least 70 s have passed. The other sources retry 5xx and
//! transport failures a bounded number of times. A `Retry-After` longer than
//! the computed delay is honoured. Every wait goes through the injected clock.

use std::time::Duration;

use http::StatusCode;

use super::ManagedIdentitySource;

/// Retry settings of a [`ManagedIdentityClient`](super::ManagedIdentityClient).
///
/// ```
/// use std::time::Duration;
/// use oxmsal::managed_identity::ManagedIdentityRetryPolicy;
/// let policy = ManagedIdentityRetryPolicy::default();
/// assert_eq!(policy.max_retries, 3);
/// assert_eq!(policy.gone_retry_window, Duration::from_secs(70));
/// assert_eq!(ManagedIdentityRetryPolicy::off().max_retries, 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ManagedIdentityRetryPolicy {
    /// Retries of a retriable status or transport failure (410 from IMDS aside).
    pub max_retries: u32,
    /// The first back-off; each further retry doubles it.
    pub base_delay: Duration,
    /// The longest back-off (and the longest `Retry-After` honoured: a longer
    /// one ends the retries, reported in the error).
    pub max_delay: Duration,
    /// The wait between retries of IMDS's 410.
    pub gone_delay: Duration,
    /// IMDS's 410 is retried until this much time has passed in all.
    pub gone_retry_window: Duration,
}

impl Default for ManagedIdentityRetryPolicy {
    fn default() -> Self {
        ManagedIdentityRetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            gone_delay: Duration::from_secs(10),
            gone_retry_window: Duration::from_secs(70),
        }
    }
}

impl ManagedIdentityRetryPolicy {
    /// Never retry.
    ///
    /// ```
    /// let p = oxmsal::managed_identity::ManagedIdentityRetryPolicy::off();
    /// assert_eq!(p.gone_retry_window, std::time::Duration::ZERO);
    /// ```
    pub fn off() -> Self {
        ManagedIdentityRetryPolicy {
            max_retries: 0,
            gone_retry_window: Duration::ZERO,
            ..Self::default()
        }
    }

    /// `max_retries` retries from `base_delay`, doubling.
    ///
    /// ```
    /// use std::time::Duration;
    /// let p = oxmsal::managed_identity::ManagedIdentityRetryPolicy::new(5, Duration::from_secs(3));
    /// assert_eq!(p.max_retries, 5);
    /// ```
    pub fn new(max_retries: u32, base_delay: Duration) -> Self {
        ManagedIdentityRetryPolicy {
            max_retries,
            base_delay,
            ..Self::default()
        }
    }

    /// The IMDS 410 window (default 70 s) and the wait between its retries (10 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// let p = oxmsal::managed_identity::ManagedIdentityRetryPolicy::default()
    ///     .gone(Duration::from_secs(5), Duration::from_secs(20));
    /// assert_eq!(p.gone_delay, Duration::from_secs(5));
    /// ```
    pub fn gone(mut self, delay: Duration, window: Duration) -> Self {
        self.gone_delay = delay;
        self.gone_retry_window = window;
        self
    }

    /// The back-off before retry number `retry` (1-based) of an ordinary failure.
    fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }
}

/// What one attempt ended with, as far as retrying goes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Outcome {
    Status(StatusCode),
    Transport,
}

/// The decision after an attempt.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    Retry(Duration),
    /// Retriable, but the policy is spent (the error says so).
    GiveUp,
    /// Not a failure that retrying could cure (or a success).
    Done,
}

/// Counts one request's retries.
#[derive(Debug)]
pub(crate) struct RetryState {
    policy: ManagedIdentityRetryPolicy,
    source: ManagedIdentitySource,
    retries: u32,
    /// Time waited so far (the IMDS 410 window is measured in it).
    waited: Duration,
}

impl RetryState {
    pub(crate) fn new(policy: ManagedIdentityRetryPolicy, source: ManagedIdentitySource) -> Self {
        RetryState {
            policy,
            source,
            retries: 0,
            waited: Duration::ZERO,
        }
    }

    /// Retries made so far.
    pub(crate) fn retries(&self) -> u32 {
        self.retries
    }

    /// Decides after `outcome`; a `Retry` is counted (the caller then waits).
    pub(crate) fn decide(&mut self, outcome: Outcome, retry_after: Option<Duration>) -> Decision {
        let imds = self.source == ManagedIdentitySource::Imds;
        let status = match outcome {
            Outcome::Transport => None,
            Outcome::Status(status) => Some(status),
        };
        if imds && status == Some(StatusCode::GONE) {
            if self.waited >= self.policy.gone_retry_window {
                return Decision::GiveUp;
            }
            let delay = retry_after
                .unwrap_or(self.policy.gone_delay)
                .max(self.policy.gone_delay);
            return self.retry(delay);
        }
        let retriable = match status {
            None => true,
            Some(s) if s.is_server_error() => true,
            Some(s) if imds => matches!(s.as_u16(), 404 | 408 | 429),
            Some(_) => false,
        };
        if !retriable {
            return Decision::Done;
        }
        if self.retries >= self.policy.max_retries {
            return Decision::GiveUp;
        }
        let backoff = self.policy.backoff(self.retries + 1);
        match retry_after {
            Some(asked) if asked > self.policy.max_delay => Decision::GiveUp,
            Some(asked) => self.retry(asked.max(backoff)),
            None => self.retry(backoff),
        }
    }

    fn retry(&mut self, delay: Duration) -> Decision {
        self.retries += 1;
        self.waited = self.waited.saturating_add(delay);
        Decision::Retry(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16) -> Outcome {
        Outcome::Status(StatusCode::from_u16(code).unwrap_or(StatusCode::OK))
    }

    fn delays(source: ManagedIdentitySource, code: u16) -> (Vec<u64>, Decision) {
        let mut state = RetryState::new(ManagedIdentityRetryPolicy::default(), source);
        let mut delays = Vec::new();
        loop {
            match state.decide(status(code), None) {
                Decision::Retry(d) => delays.push(d.as_secs()),
                other => return (delays, other),
            }
        }
    }

    #[test]
    fn imds_backs_off_exponentially_then_gives_up() {
        for code in [404, 408, 429, 500, 503] {
            assert_eq!(
                delays(ManagedIdentitySource::Imds, code),
                (vec![1, 2, 4], Decision::GiveUp),
                "{code}"
            );
        }
        assert_eq!(
            delays(ManagedIdentitySource::Imds, 400),
            (vec![], Decision::Done)
        );
    }

    #[test]
    fn imds_410_is_retried_until_70_seconds_have_passed() {
        let (delays, end) = delays(ManagedIdentitySource::Imds, 410);
        assert_eq!(delays, vec![10; 7]);
        assert_eq!(end, Decision::GiveUp);
    }

    #[test]
    fn other_sources_retry_only_5xx_and_transport() {
        assert_eq!(
            delays(ManagedIdentitySource::AppService, 404),
            (vec![], Decision::Done)
        );
        assert_eq!(
            delays(ManagedIdentitySource::AppService, 429),
            (vec![], Decision::Done)
        );
        assert_eq!(
            delays(ManagedIdentitySource::AzureArc, 410),
            (vec![], Decision::Done)
        );
        assert_eq!(
            delays(ManagedIdentitySource::MachineLearning, 502),
            (vec![1, 2, 4], Decision::GiveUp)
        );
        let mut state = RetryState::new(
            ManagedIdentityRetryPolicy::default(),
            ManagedIdentitySource::CloudShell,
        );
        assert_eq!(
            state.decide(Outcome::Transport, None),
            Decision::Retry(Duration::from_secs(1))
        );
    }

    #[test]
    fn retry_after_is_honoured_within_the_cap() {
        let mut state = RetryState::new(
            ManagedIdentityRetryPolicy::default(),
            ManagedIdentitySource::Imds,
        );
        assert_eq!(
            state.decide(status(429), Some(Duration::from_secs(7))),
            Decision::Retry(Duration::from_secs(7))
        );
        assert_eq!(
            state.decide(status(429), Some(Duration::from_secs(3600))),
            Decision::GiveUp
        );
        assert_eq!(state.retries(), 1);
    }

    #[test]
    fn off_never_retries() {
        let mut state = RetryState::new(
            ManagedIdentityRetryPolicy::off(),
            ManagedIdentitySource::Imds,
        );
        assert_eq!(state.decide(status(410), None), Decision::GiveUp);
        assert_eq!(state.decide(status(500), None), Decision::GiveUp);
    }
}
