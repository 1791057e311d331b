//! Device codes (RFC 8628): issued by `…/devicecode`, decided on the
//! verification page or through the API, polled at the token endpoint.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::ids;
use crate::state::lock;

/// Expired codes are kept this long after expiry so that late polls get
/// `expired_token` rather than `bad_verification_code`.
const EXPIRED_GRACE: Duration = Duration::from_secs(600);
/// At most this many device codes are kept.
const CAP: usize = 10_000;

/// A device code waiting for the user, as [`crate::Emulator::pending_device_codes`]
/// reports it (the device code itself stays secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PendingDeviceCode {
    /// What the user types on the verification page, e.g. `GA2Q6HJTK`.
    pub user_code: String,
    /// The app that asked.
    pub client_id: String,
    /// The scopes it asked for, space-separated as sent.
    pub scope: String,
    /// When the code expires, in seconds since the Unix epoch.
    pub expires_at: u64,
}

/// Where a device code stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DeviceCodeStatus {
    Pending,
    Approved { username: String },
    Declined,
}

/// One device authorization.
#[derive(Debug, Clone)]
pub(crate) struct DeviceCode {
    pub device_code: String,
    pub user_code: String,
    pub client_id: String,
    pub scope: String,
    created: Instant,
    /// Epoch seconds at creation, for [`PendingDeviceCode::expires_at`].
    created_at: u64,
    pub expires_in: Duration,
    pub interval: Duration,
    /// Whether polls closer together than `interval` get `slow_down`.
    pub enforce_interval: bool,
    last_poll: Option<Instant>,
    pub status: DeviceCodeStatus,
}

impl DeviceCode {
    fn expired(&self, now: Instant) -> bool {
        now.duration_since(self.created) >= self.expires_in
    }

    fn describe(&self) -> PendingDeviceCode {
        PendingDeviceCode {
            user_code: self.user_code.clone(),
            client_id: self.client_id.clone(),
            scope: self.scope.clone(),
            expires_at: self.created_at.saturating_add(self.expires_in.as_secs()),
        }
    }
}

/// The answer to a poll, in the order the checks run.
#[derive(Debug)]
pub(crate) enum Poll {
    /// No such device code (never issued, redeemed, or long expired).
    Unknown,
    /// Issued to another client.
    ClientMismatch,
    Expired,
    /// Polled faster than the interval, or a `slow_down` was injected.
    SlowDown,
    Pending,
    Declined,
    /// Approved: the code is consumed and returned.
    Approved(DeviceCode),
}

#[derive(Debug, Default)]
struct Inner {
    /// By device code.
    codes: HashMap<String, DeviceCode>,
    /// Polls still to be answered `slow_down` whatever their timing.
    slow_down_next: u32,
}

/// Every device code.
#[derive(Debug, Default)]
pub(crate) struct DeviceCodes {
    inner: Mutex<Inner>,
}

impl DeviceCodes {
    /// Starts a device authorization.
    pub(crate) fn create(
        &self,
        client_id: &str,
        scope: &str,
        expires_in: Duration,
        interval: Duration,
        enforce_interval: bool,
    ) -> DeviceCode {
        let now = Instant::now();
        let mut inner = lock(&self.inner);
        inner.codes.retain(|_, c| {
            now.duration_since(c.created) < c.expires_in.saturating_add(EXPIRED_GRACE)
        });
        while inner.codes.len() >= CAP {
            let oldest = inner
                .codes
                .iter()
                .min_by_key(|(_, c)| c.created)
                .map(|(k, _)| k.clone());
            let Some(k) = oldest else { break };
            inner.codes.remove(&k);
        }
        // User codes are short; make sure a live one is never handed out twice.
        let mut user_code = ids::user_code();
        while inner.codes.values().any(|c| c.user_code == user_code) {
            user_code = ids::user_code();
        }
        let code = DeviceCode {
            device_code: ids::random_token("DAQABIQEAAA"),
            user_code,
            client_id: client_id.to_owned(),
            scope: scope.to_owned(),
            created: now,
            created_at: crate::clock::now_secs(),
            expires_in,
            interval,
            enforce_interval,
            last_poll: None,
            status: DeviceCodeStatus::Pending,
        };
        inner.codes.insert(code.device_code.clone(), code.clone());
        code
    }

    /// A token endpoint poll by `client_id`.
    pub(crate) fn poll(&self, device_code: &str, client_id: &str) -> Poll {
        let now = Instant::now();
        let mut inner = lock(&self.inner);
        let Inner {
            codes,
            slow_down_next,
        } = &mut *inner;
        let Some(code) = codes.get_mut(device_code) else {
            return Poll::Unknown;
        };
        if !code.client_id.eq_ignore_ascii_case(client_id.trim()) {
            return Poll::ClientMismatch;
        }
        if code.expired(now) {
            return Poll::Expired;
        }
        let too_fast = code.enforce_interval
            && code
                .last_poll
                .is_some_and(|last| now.duration_since(last) < code.interval);
        code.last_poll = Some(now);
        if *slow_down_next > 0 {
            *slow_down_next -= 1;
            return Poll::SlowDown;
        }
        if too_fast {
            return Poll::SlowDown;
        }
        match code.status {
            DeviceCodeStatus::Pending => Poll::Pending,
            DeviceCodeStatus::Declined => Poll::Declined,
            DeviceCodeStatus::Approved { .. } => match codes.remove(device_code) {
                Some(code) => Poll::Approved(code),
                None => Poll::Unknown,
            },
        }
    }

    /// Approves (`Some(username)`) or declines (`None`) the pending, unexpired
    /// code with this user code (compared without case, spaces or dashes).
    pub(crate) fn decide(&self, user_code: &str, approve_as: Option<&str>) -> Option<DeviceCode> {
        let wanted = ids::normalize_user_code(user_code);
        let now = Instant::now();
        let mut inner = lock(&self.inner);
        let code = inner.codes.values_mut().find(|c| {
            c.user_code == wanted && c.status == DeviceCodeStatus::Pending && !c.expired(now)
        })?;
        code.status = match approve_as {
            Some(username) => DeviceCodeStatus::Approved {
                username: username.to_owned(),
            },
            None => DeviceCodeStatus::Declined,
        };
        Some(code.clone())
    }

    /// The pending, unexpired codes, oldest first.
    pub(crate) fn pending(&self) -> Vec<PendingDeviceCode> {
        let now = Instant::now();
        let inner = lock(&self.inner);
        let mut codes: Vec<&DeviceCode> = inner
            .codes
            .values()
            .filter(|c| c.status == DeviceCodeStatus::Pending && !c.expired(now))
            .collect();
        codes.sort_by_key(|c| c.created);
        codes.into_iter().map(DeviceCode::describe).collect()
    }

    /// The next `n` polls of live codes answer `slow_down`.
    pub(crate) fn slow_down_next(&self, n: u32) {
        lock(&self.inner).slow_down_next = n;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn lifecycle() {
        let codes = DeviceCodes::default();
        let c = codes.create(
            "app",
            "openid",
            Duration::from_secs(60),
            Duration::ZERO,
            true,
        );
        assert!(matches!(
            codes.poll(&c.device_code, "other"),
            Poll::ClientMismatch
        ));
        assert!(matches!(codes.poll(&c.device_code, "APP"), Poll::Pending));
        codes.slow_down_next(1);
        assert!(matches!(codes.poll(&c.device_code, "app"), Poll::SlowDown));
        assert_eq!(codes.pending().len(), 1);
        let typed = format!(
            " {}-{} ",
            &c.user_code[..4],
            c.user_code[4..].to_lowercase()
        );
        assert!(codes.decide(&typed, Some("alice")).is_some());
        assert!(codes.decide(&c.user_code, None).is_none(), "decided once");
        assert!(codes.pending().is_empty());
        let Poll::Approved(done) = codes.poll(&c.device_code, "app") else {
            unreachable!("approved")
        };
        assert_eq!(
            done.status,
            DeviceCodeStatus::Approved {
                username: "alice".into()
            }
        );
        assert!(matches!(codes.poll(&c.device_code, "app"), Poll::Unknown));

        let d = codes.create(
            "app",
            "openid",
            Duration::from_secs(60),
            Duration::ZERO,
            true,
        );
        codes.decide(&d.user_code, None).unwrap();
        assert!(matches!(codes.poll(&d.device_code, "app"), Poll::Declined));
        let e = codes.create("app", "openid", Duration::ZERO, Duration::ZERO, true);
        assert!(matches!(codes.poll(&e.device_code, "app"), Poll::Expired));
        assert!(codes.decide(&e.user_code, Some("alice")).is_none());
    }

    #[test]
    fn polling_faster_than_the_interval_slows_down() {
        let codes = DeviceCodes::default();
        let c = codes.create(
            "app",
            "s",
            Duration::from_secs(60),
            Duration::from_secs(30),
            true,
        );
        assert!(matches!(codes.poll(&c.device_code, "app"), Poll::Pending));
        assert!(matches!(codes.poll(&c.device_code, "app"), Poll::SlowDown));
    }
}
