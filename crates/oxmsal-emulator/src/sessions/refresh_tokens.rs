//! Refresh tokens: opaque, bound to a user and a client (or the client's
//! family), rotated on every use.
//!
//! Entra keeps a refresh token valid after it has been redeemed (clients racing
//! on a cache must not lock each other out), so the emulator does too; it only
//! records that the token was rotated.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::ids;
use crate::state::lock;

/// At most this many refresh tokens are kept; the oldest are forgotten first
/// (and then answer like unknown ones).
const CAP: usize = 100_000;

/// What the emulator knows about one refresh token it issued (the token value
/// itself is not exposed); see [`crate::Emulator::refresh_tokens`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RefreshTokenInfo {
    /// The user it signs in.
    pub username: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The client's family (FOCI) when it was issued: any app of that family can redeem it.
    pub family_id: Option<String>,
    /// When it was issued, seconds since the Unix epoch.
    pub issued_at: u64,
    /// How many times it was redeemed successfully.
    pub redemptions: u32,
    /// Whether a newer refresh token was issued in exchange for it.
    pub rotated: bool,
    /// When [`crate::Emulator::revoke_refresh_tokens`] revoked it (epoch seconds).
    pub revoked_at: Option<u64>,
}

#[derive(Debug, Default)]
struct Inner {
    tokens: HashMap<String, RefreshTokenInfo>,
    /// Issue order, for eviction.
    order: VecDeque<String>,
}

/// Every refresh token issued.
#[derive(Debug, Default)]
pub(crate) struct RefreshTokens {
    inner: Mutex<Inner>,
}

impl RefreshTokens {
    /// Issues a refresh token for `username` to `client_id` (of `family_id`).
    pub(crate) fn issue(
        &self,
        username: &str,
        client_id: &str,
        family_id: Option<&str>,
        now: u64,
    ) -> String {
        let value = ids::random_token("1.A");
        let record = RefreshTokenInfo {
            username: username.to_owned(),
            client_id: client_id.to_owned(),
            family_id: family_id.map(str::to_owned),
            issued_at: now,
            redemptions: 0,
            rotated: false,
            revoked_at: None,
        };
        let mut inner = lock(&self.inner);
        while inner.order.len() >= CAP {
            if let Some(old) = inner.order.pop_front() {
                inner.tokens.remove(&old);
            }
        }
        inner.order.push_back(value.clone());
        inner.tokens.insert(value.clone(), record);
        value
    }

    /// The record of a presented token.
    pub(crate) fn get(&self, value: &str) -> Option<RefreshTokenInfo> {
        lock(&self.inner).tokens.get(value).cloned()
    }

    /// Notes a successful redemption that issued a new refresh token in exchange.
    pub(crate) fn record_rotation(&self, value: &str) {
        if let Some(record) = lock(&self.inner).tokens.get_mut(value) {
            record.redemptions = record.redemptions.saturating_add(1);
            record.rotated = true;
        }
    }

    /// Revokes every refresh token of `username` at `now`; returns how many were live.
    pub(crate) fn revoke_user(&self, username: &str, now: u64) -> usize {
        let mut inner = lock(&self.inner);
        let mut count = 0;
        for record in inner.tokens.values_mut() {
            if record.username.eq_ignore_ascii_case(username.trim()) && record.revoked_at.is_none()
            {
                record.revoked_at = Some(now);
                count += 1;
            }
        }
        count
    }

    /// Every token's record, oldest first.
    pub(crate) fn snapshot(&self) -> Vec<RefreshTokenInfo> {
        let inner = lock(&self.inner);
        inner
            .order
            .iter()
            .filter_map(|k| inner.tokens.get(k))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn rotation_and_revocation() {
        let rts = RefreshTokens::default();
        let a = rts.issue("alice", "app", Some("1"), 10);
        let b = rts.issue("bob", "app", None, 11);
        rts.record_rotation(&a);
        let rec = rts.get(&a).unwrap();
        assert!(rec.rotated && rec.redemptions == 1 && rec.revoked_at.is_none());
        assert_eq!(rts.revoke_user("ALICE", 20), 1);
        assert_eq!(rts.revoke_user("alice", 21), 0);
        assert_eq!(rts.get(&a).unwrap().revoked_at, Some(20));
        assert!(rts.get(&b).unwrap().revoked_at.is_none());
        assert_eq!(rts.snapshot().len(), 2);
        assert!(rts.get("nope").is_none());
    }
}
