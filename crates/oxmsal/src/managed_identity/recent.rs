//! The tokens a client served last, one per resource: the next hit for the
//! same resource is answered without the cache's lock and indexes.
//!
//! A managed-identity client asks for a handful of resources, again and
//! again; each answer is a pure function of the cache's contents and the
//! time. So an answer stays good while the cache has not changed (its
//! [`changes`](crate::cache::TokenCache::changes) count) and until the token
//! stops being servable: its `refresh_on`, or 5 minutes before it expires.
//!
//! The answers are kept per thread, so reading one takes no lock: a lock's
//! two atomic operations were a fifth of a hit. A kept answer holds its
//! token weakly ([`WeakSecret`]): it is served while the cache entry it came
//! from still holds the token, and keeps nothing alive — a dropped client or
//! a removed entry leaves no token in any thread's memory.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::cache::MIN_REMAINING_LIFETIME_SECS;
use crate::secret::WeakSecret;
use crate::token::{AuthenticationResult, TokenSource, TokenType};

/// How many answers a thread keeps (over all clients); past that the oldest
/// is forgotten.
const MAX_ANSWERS: usize = 8;

thread_local! {
    static ANSWERS: RefCell<Vec<Answer>> = const { RefCell::new(Vec::new()) };
}

/// One client's memory of its last answers: the key of its answers in each
/// thread's list.
#[derive(Debug)]
pub(crate) struct Recent {
    client: u64,
}

impl Default for Recent {
    fn default() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        Recent {
            client: NEXT.fetch_add(1, Ordering::Relaxed),
        }
    }
}

/// An answer, without its correlation id.
struct Answer {
    client: u64,
    resource: Box<str>,
    /// The cache's change count when the answer was read.
    changes: u64,
    /// The first second the answer may no longer be served.
    stale_at: u64,
    access_token: WeakSecret,
    token_type: TokenType,
    expires_on: u64,
    refresh_on: Option<u64>,
    scopes: Arc<[String]>,
}

impl Recent {
    /// The answer for `resource` at `now`, if the cache is still at `changes`
    /// and still holds the token.
    ///
    /// The thread's list yields only the parts, and the result is built here,
    /// inlined into the hit, so it is written once where it goes: returned
    /// whole from a call, then moved, the hit measured some 4 ns slower
    /// (`compare --only mi_hit`, runs interleaved).
    #[inline(always)]
    pub(crate) fn get(
        &self,
        resource: &str,
        changes: u64,
        now: u64,
    ) -> Option<AuthenticationResult> {
        let (access_token, scopes, token_type, expires_on, refresh_on) =
            ANSWERS.with_borrow(|answers| {
                let answer = answers
                    .iter()
                    .find(|a| a.client == self.client && &*a.resource == resource)?;
                if answer.changes != changes || now >= answer.stale_at {
                    return None;
                }
                Some((
                    answer.access_token.upgrade()?,
                    Arc::clone(&answer.scopes),
                    answer.token_type.clone(),
                    answer.expires_on,
                    answer.refresh_on,
                ))
            })?;
        Some(AuthenticationResult {
            access_token,
            token_type,
            expires_on,
            expires_in: expires_on.saturating_sub(now),
            refresh_on,
            scopes,
            token_source: TokenSource::Cache,
            correlation_id: Default::default(),
            id_token_claims: None,
            account: None,
            response: None,
        })
    }

    /// Remembers `result` (a cache hit, without identity), read from the
    /// cache at its `changes` count, in this thread.
    pub(crate) fn put(&self, resource: &str, changes: u64, result: &AuthenticationResult) {
        // Servable while `expires_on - now >= 5 min`: up to and including
        // `expires_on - 5 min`; never, for a token shorter-lived than that.
        let usable_until = result
            .expires_on
            .checked_sub(MIN_REMAINING_LIFETIME_SECS)
            .map_or(0, |last| last.saturating_add(1));
        let answer = Answer {
            client: self.client,
            resource: resource.into(),
            changes,
            stale_at: result
                .refresh_on
                .map_or(usable_until, |r| r.min(usable_until)),
            access_token: result.access_token.downgrade(),
            token_type: result.token_type.clone(),
            expires_on: result.expires_on,
            refresh_on: result.refresh_on,
            scopes: Arc::clone(&result.scopes),
        };
        ANSWERS.with_borrow_mut(|answers| {
            if let Some(old) = answers
                .iter_mut()
                .find(|a| a.client == answer.client && a.resource == answer.resource)
            {
                *old = answer;
                return;
            }
            if answers.len() == MAX_ANSWERS {
                answers.remove(0);
            }
            answers.push(answer);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn answer(token: &str, expires_on: u64, refresh_on: Option<u64>) -> AuthenticationResult {
        AuthenticationResult::new(
            Secret::new(token),
            "Bearer",
            expires_on,
            0,
            refresh_on,
            vec!["https://r".to_owned()].into(),
            TokenSource::Cache,
            "id".into(),
            None,
        )
    }

    #[test]
    fn an_answer_holds_while_the_cache_is_unchanged_and_the_token_servable() {
        let recent = Recent::default();
        // What the cache entry holds; the memory only refers to it.
        let held = answer("t", 10_000, None);
        recent.put("https://r", 7, &held);
        let hit = recent
            .get("https://r", 7, 9_000)
            .map(|h| (h.expires_in, h.access_token, h.correlation_id));
        let again = recent.get("https://r", 7, 9_000).map(|h| h.correlation_id);
        assert!(
            matches!(&hit, Some((1_000, token, id)) if *token == Secret::new("t") && Some(id) != again.as_ref()),
            "each answer has an id of its own: {hit:?} {again:?}"
        );
        // The last second with 5 minutes left, then none.
        assert!(recent.get("https://r", 7, 9_700).is_some());
        assert!(recent.get("https://r", 7, 9_701).is_none());
        assert!(
            recent.get("https://r", 8, 9_000).is_none(),
            "the cache changed"
        );
        assert!(recent.get("https://other", 7, 9_000).is_none());

        let held = answer("t", 10_000, Some(5_000));
        recent.put("https://r", 7, &held);
        assert!(recent.get("https://r", 7, 4_999).is_some());
        assert!(
            recent.get("https://r", 7, 5_000).is_none(),
            "refresh_on reached"
        );

        let short = answer("t", 200, None);
        recent.put("https://short", 7, &short);
        assert!(
            recent.get("https://short", 7, 0).is_none(),
            "under 5 minutes from the start"
        );
    }

    #[test]
    fn a_token_no_one_else_holds_is_neither_kept_nor_served() {
        let recent = Recent::default();
        let held = answer("t", 10_000, None);
        recent.put("https://r", 1, &held);
        assert!(recent.get("https://r", 1, 0).is_some());
        drop(held);
        assert!(
            recent.get("https://r", 1, 0).is_none(),
            "the memory kept the token alive"
        );
    }

    #[test]
    fn each_client_has_its_own_answers() {
        let (one, two) = (Recent::default(), Recent::default());
        let held = answer("t", 10_000, None);
        one.put("https://r", 1, &held);
        assert!(one.get("https://r", 1, 0).is_some());
        assert!(two.get("https://r", 1, 0).is_none());
    }

    #[test]
    fn at_most_eight_answers_are_remembered_the_oldest_forgotten() {
        let recent = Recent::default();
        let held = answer("t", 10_000, None);
        for i in 0..=MAX_ANSWERS {
            recent.put(&format!("https://r{i}"), 1, &held);
        }
        assert!(recent.get("https://r0", 1, 0).is_none());
        for i in 1..=MAX_ANSWERS {
            assert!(recent.get(&format!("https://r{i}"), 1, 0).is_some());
        }
        // Putting a remembered resource again replaces it in place.
        recent.put("https://r1", 2, &held);
        assert!(recent.get("https://r1", 2, 0).is_some());
        assert!(recent.get("https://r2", 1, 0).is_some());
    }
}
