//! Continuous Access Evaluation revocation events on the protected resource:
//! "the sessions of this user (or app) are revoked", as when an administrator
//! disables an account or resets a password.
//!
//! A revocation of a subject at instant `t` (epoch seconds) covers every token
//! of that subject issued so far: it records `revoked_at = t + 1`, because
//! `iat` has whole seconds and a token minted earlier in the same second must
//! count as before the event; a repeated event records at least the previous
//! instant + 1, so that it also covers the token that answered the previous
//! challenge (whose `iat` was raised to that instant). A revoked token gets, as from Entra-protected
//! APIs, a `401 insufficient_claims` challenge for
//! `{"access_token":{"nbf":{"essential":true,"value":"<revoked_at>"}}}` when it
//! carries the CP1 capability (`xms_cc`), else a plain `invalid_token`. The
//! token endpoint answers that challenge with `iat = nbf = revoked_at` (a
//! requested `nbf` may lie up to 5 minutes ahead), which the resource accepts.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Map, Value};

use crate::scenario::{cae_verdict, Verdict};
use crate::state::lock;

/// The token claims that name a subject: the user (`oid`, `sub`,
/// `preferred_username`) or the app (`azp`, `appid`).
const SUBJECT_CLAIMS: [&str; 5] = ["oid", "sub", "preferred_username", "azp", "appid"];

/// Revocation instants by subject.
#[derive(Debug, Default)]
pub(crate) struct Revocations {
    by_subject: Mutex<HashMap<String, u64>>,
}

impl Revocations {
    /// Revokes the tokens issued to `subject` up to `now`; returns the instant a
    /// token's `iat` must reach to be accepted again.
    pub(crate) fn revoke(&self, subject: &str, now: u64) -> u64 {
        let mut map = lock(&self.by_subject);
        let entry = map.entry(subject.to_lowercase()).or_insert(0);
        *entry = now.max(*entry).saturating_add(1);
        *entry
    }

    /// Forgets every revocation.
    pub(crate) fn clear(&self) {
        lock(&self.by_subject).clear();
    }

    /// The subjects and their instants, for the admin API.
    pub(crate) fn list(&self) -> Map<String, Value> {
        lock(&self.by_subject)
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(*v)))
            .collect()
    }

    /// The resource's verdict on a validated token, as far as revocations go.
    pub(crate) fn evaluate(&self, claims: &Map<String, Value>) -> Verdict {
        let map = lock(&self.by_subject);
        let revoked_at = SUBJECT_CLAIMS
            .iter()
            .filter_map(|name| claims.get(*name).and_then(Value::as_str))
            .filter_map(|subject| map.get(&subject.to_lowercase()).copied())
            .max();
        match revoked_at {
            Some(at) => cae_verdict(claims, at),
            None => Verdict::Allow,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    fn claims(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn revokes_what_was_issued_so_far_for_that_subject() {
        let list = Revocations::default();
        assert_eq!(list.revoke("App-1", 1000), 1001);
        let nbf = json!({"access_token":{"nbf":{"essential":true,"value":"1001"}}});
        // Issued in the same second as the event: revoked too.
        let same_second = claims(json!({"azp": "app-1", "iat": 1000, "xms_cc": ["CP1"]}));
        assert_eq!(list.evaluate(&same_second), Verdict::Challenge(nbf));
        let legacy = claims(json!({"appid": "APP-1", "iat": 1000}));
        assert_eq!(list.evaluate(&legacy), Verdict::Revoked);
        // The answer to the challenge, and another subject's token.
        let fresh = claims(json!({"azp": "app-1", "iat": 1001, "xms_cc": ["CP1"]}));
        assert_eq!(list.evaluate(&fresh), Verdict::Allow);
        let other = claims(json!({"azp": "app-2", "iat": 1}));
        assert_eq!(list.evaluate(&other), Verdict::Allow);
        // A repeated event covers the token that answered the first one, even
        // within the same second, and never moves the instant back.
        assert_eq!(list.revoke("app-1", 1000), 1002);
        assert_eq!(
            list.evaluate(&fresh),
            Verdict::Challenge(json!({"access_token":{"nbf":{"essential":true,"value":"1002"}}}))
        );
        assert_eq!(list.revoke("app-1", 900), 1003);
        assert_eq!(list.list(), claims(json!({"app-1": 1003})));
        list.clear();
        assert_eq!(list.evaluate(&legacy), Verdict::Allow);
    }
}
