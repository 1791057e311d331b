//! The tokens a client served last, one per resource: the next hit for the
//! same resource is answered without the cache's lock and indexes.
//!
//! A managed-identity client asks for a handful of resources, again and
//! again; each answer is a pure function of the cache's contents and the
//! time. So an answer stays good while the cache has not changed (its
//! [`changes`](crate::cache::TokenCache::changes) count) and until the token
//! stops being servable: its `refresh_on`, or 5 minutes before it expires.

use std::sync::{PoisonError, RwLock};

use crate::cache::MIN_REMAINING_LIFETIME_SECS;
use crate::token::AuthenticationResult;

/// How many resources are remembered; past that the oldest is forgotten.
const MAX_RESOURCES: usize = 8;

/// The last answers, per resource.
#[derive(Debug, Default)]
pub(crate) struct Recent {
    slots: RwLock<Vec<Slot>>,
}

#[derive(Debug)]
struct Slot {
    resource: Box<str>,
    /// The cache's change count when the answer was read.
    changes: u64,
    /// The first second the answer may no longer be served.
    stale_at: u64,
    /// The answer, without a correlation id.
    result: AuthenticationResult,
}

impl Recent {
    /// The answer for `resource` at `now`, if the cache is still at `changes`.
    pub(crate) fn get(
        &self,
        resource: &str,
        changes: u64,
        now: u64,
    ) -> Option<AuthenticationResult> {
        let slots = self.slots.read().unwrap_or_else(PoisonError::into_inner);
        let slot = slots.iter().find(|slot| &*slot.resource == resource)?;
        if slot.changes != changes || now >= slot.stale_at {
            return None;
        }
        let mut result = slot.result.clone();
        result.expires_in = result.expires_on.saturating_sub(now);
        Some(result)
    }

    /// Remembers `result`, read from the cache at its `changes` count.
    pub(crate) fn put(&self, resource: &str, changes: u64, result: &AuthenticationResult) {
        // Servable while `expires_on - now >= 5 min`: up to and including
        // `expires_on - 5 min`; never, for a token shorter-lived than that.
        let usable_until = result
            .expires_on
            .checked_sub(MIN_REMAINING_LIFETIME_SECS)
            .map_or(0, |last| last.saturating_add(1));
        let stale_at = result
            .refresh_on
            .map_or(usable_until, |r| r.min(usable_until));
        let mut result = result.clone();
        result.correlation_id = String::new();
        let slot = Slot {
            resource: resource.into(),
            changes,
            stale_at,
            result,
        };
        let mut slots = self.slots.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(old) = slots.iter_mut().find(|s| s.resource == slot.resource) {
            *old = slot;
            return;
        }
        if slots.len() == MAX_RESOURCES {
            slots.remove(0);
        }
        slots.push(slot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use crate::token::TokenSource;

    fn answer(token: &str, expires_on: u64, refresh_on: Option<u64>) -> AuthenticationResult {
        AuthenticationResult::new(
            Secret::new(token),
            "Bearer",
            expires_on,
            0,
            refresh_on,
            vec!["https://r".to_owned()].into(),
            TokenSource::Cache,
            "id".to_owned(),
            None,
        )
    }

    #[test]
    fn an_answer_holds_while_the_cache_is_unchanged_and_the_token_servable() {
        let recent = Recent::default();
        recent.put("https://r", 7, &answer("t", 10_000, None));
        let hit = recent
            .get("https://r", 7, 9_000)
            .map(|h| (h.expires_in, h.correlation_id));
        assert_eq!(hit, Some((1_000, String::new())), "no correlation id kept");
        // The last second with 5 minutes left, then none.
        assert!(recent.get("https://r", 7, 9_700).is_some());
        assert!(recent.get("https://r", 7, 9_701).is_none());
        assert!(
            recent.get("https://r", 8, 9_000).is_none(),
            "the cache changed"
        );
        assert!(recent.get("https://other", 7, 9_000).is_none());

        recent.put("https://r", 7, &answer("t", 10_000, Some(5_000)));
        assert!(recent.get("https://r", 7, 4_999).is_some());
        assert!(
            recent.get("https://r", 7, 5_000).is_none(),
            "refresh_on reached"
        );

        recent.put("https://short", 7, &answer("t", 200, None));
        assert!(
            recent.get("https://short", 7, 0).is_none(),
            "under 5 minutes from the start"
        );
    }

    #[test]
    fn at_most_eight_resources_are_remembered_the_oldest_forgotten() {
        let recent = Recent::default();
        for i in 0..=MAX_RESOURCES {
            recent.put(&format!("https://r{i}"), 1, &answer("t", 10_000, None));
        }
        assert!(recent.get("https://r0", 1, 0).is_none());
        for i in 1..=MAX_RESOURCES {
            assert!(recent.get(&format!("https://r{i}"), 1, 0).is_some());
        }
        // Putting a remembered resource again replaces it in place.
        recent.put("https://r1", 2, &answer("t", 10_000, None));
        assert!(recent.get("https://r1", 2, 0).is_some());
        assert!(recent.get("https://r2", 1, 0).is_some());
    }
}
