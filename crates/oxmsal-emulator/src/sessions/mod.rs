//! What the user flows remember between requests: pending sign-ins, authorization
//! codes, device codes and refresh tokens, plus the authorize endpoint's switches
//! (auto sign-in, a queued [`AuthorizeOutcome`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::ids;
use crate::state::lock;

mod auth_codes;
mod device_codes;
mod refresh_tokens;
mod sign_in;

pub(crate) use auth_codes::{AuthCode, AuthCodes, Pkce, Redemption};
pub use device_codes::PendingDeviceCode;
pub(crate) use device_codes::{DeviceCodeStatus, DeviceCodes, Poll};
pub use refresh_tokens::RefreshTokenInfo;
pub(crate) use refresh_tokens::RefreshTokens;
pub(crate) use sign_in::{AuthorizeRequest, ReplyTarget, ResponseMode};

/// How the next authorize request that would send a code ends instead; set with
/// [`crate::Emulator::set_authorize_outcome`] or `POST /_emulator/authorize/outcome`
/// `{"outcome": "access_denied"}`. One-shot: it is consumed by the first redirect
/// that would have carried a code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuthorizeOutcome {
    /// Issue the code (clears a queued outcome).
    #[default]
    Normal,
    /// The user cancelled: `error=access_denied`, `error_subcode=cancel`, AADSTS65004.
    AccessDenied,
    /// `error=consent_required`, AADSTS65001.
    ConsentRequired,
    /// `error=interaction_required`, AADSTS50076 (multi-factor authentication needed).
    InteractionRequired,
    /// `error=login_required`, AADSTS50058.
    LoginRequired,
}

/// Pending sign-ins live this long: a person filling in the page is quick, and a
/// stale form simply shows an error page.
const SIGN_IN_TTL: Duration = Duration::from_secs(3600);
/// At most this many sign-in pages are pending; beyond it the oldest is dropped,
/// so a test hammering the authorize endpoint cannot grow memory without bound.
const SIGN_IN_CAP: usize = 10_000;

/// Everything the user flows share.
#[derive(Debug)]
pub(crate) struct Sessions {
    /// Authorize requests waiting on the sign-in page, by the page's hidden `flow` id.
    sign_ins: Mutex<HashMap<String, (AuthorizeRequest, Instant)>>,
    pub codes: AuthCodes,
    pub device_codes: DeviceCodes,
    pub refresh_tokens: RefreshTokens,
    auto_sign_in: AtomicBool,
    outcome: Mutex<AuthorizeOutcome>,
}

impl Sessions {
    pub(crate) fn new(auto_sign_in: bool) -> Self {
        Sessions {
            sign_ins: Mutex::new(HashMap::new()),
            codes: AuthCodes::default(),
            device_codes: DeviceCodes::default(),
            refresh_tokens: RefreshTokens::default(),
            auto_sign_in: AtomicBool::new(auto_sign_in),
            outcome: Mutex::new(AuthorizeOutcome::Normal),
        }
    }

    pub(crate) fn auto_sign_in(&self) -> bool {
        self.auto_sign_in.load(Ordering::Relaxed)
    }

    pub(crate) fn set_auto_sign_in(&self, enabled: bool) {
        self.auto_sign_in.store(enabled, Ordering::Relaxed);
    }

    pub(crate) fn set_outcome(&self, outcome: AuthorizeOutcome) {
        *lock(&self.outcome) = outcome;
    }

    pub(crate) fn outcome(&self) -> AuthorizeOutcome {
        *lock(&self.outcome)
    }

    /// The queued outcome, leaving [`AuthorizeOutcome::Normal`] behind.
    pub(crate) fn take_outcome(&self) -> AuthorizeOutcome {
        std::mem::take(&mut *lock(&self.outcome))
    }

    /// Parks an authorize request while the sign-in page is shown; returns its id.
    pub(crate) fn park_sign_in(&self, request: AuthorizeRequest) -> String {
        let now = Instant::now();
        let mut pending = lock(&self.sign_ins);
        pending.retain(|_, (_, at)| now.duration_since(*at) < SIGN_IN_TTL);
        if pending.len() >= SIGN_IN_CAP {
            let oldest = pending
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(id, _)| id.clone());
            if let Some(id) = oldest {
                pending.remove(&id);
            }
        }
        let id = ids::random_token("");
        pending.insert(id.clone(), (request, now));
        id
    }

    /// The parked request, still parked (a wrong password shows the page again).
    pub(crate) fn sign_in(&self, id: &str) -> Option<AuthorizeRequest> {
        let pending = lock(&self.sign_ins);
        pending
            .get(id)
            .filter(|(_, at)| at.elapsed() < SIGN_IN_TTL)
            .map(|(request, _)| request.clone())
    }

    /// Forgets a parked request once it has been answered.
    pub(crate) fn finish_sign_in(&self, id: &str) {
        lock(&self.sign_ins).remove(id);
    }
}
