//! Conditional Access scenarios of the protected resource (`/resource/…`): which
//! one is active, and what it demands of an otherwise valid access token.
//!
//! The demands are expressed the way Entra-protected APIs express them: a
//! `401` with `error="insufficient_claims"` and a `claims` challenge that the client
//! sends back to the token endpoint as the `claims` parameter.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::state::lock;

/// A Conditional Access situation the protected resource (`/resource/…`) enforces;
/// set with [`crate::Emulator::set_resource_scenario`] or
/// `POST /_emulator/resource/scenario` `{"scenario": "mfa_step_up"}`.
///
/// Authentication contexts (`acrs`) are tenant-defined labels `c1`…`c99`; the
/// emulator fixes two of them: **`c1` = "multi-factor authentication required"**
/// and **`c2` = "compliant device required"**.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ResourceScenario {
    /// Any valid token is accepted (the default).
    #[default]
    None,
    /// Step-up: a token whose `acrs` lacks `"c1"` gets an `insufficient_claims`
    /// challenge for `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`.
    MfaStepUp,
    /// Like [`ResourceScenario::MfaStepUp`] with authentication context `"c2"`
    /// ("compliant device required").
    CompliantDevice,
    /// Continuous Access Evaluation after a revoked session: setting the scenario
    /// records `revoked_at` (now, epoch seconds), and a token issued before then
    /// (`iat < revoked_at`) gets a challenge for
    /// `{"access_token":{"nbf":{"essential":true,"value":"<revoked_at>"}}}` — but,
    /// as with Entra, only when the token's `xms_cc` contains `"CP1"` (the client
    /// declared it can handle claims challenges); other clients get a plain
    /// `invalid_token`.
    CaeRevocation,
    /// A misbehaving resource: every token gets an `insufficient_claims`
    /// challenge for `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`,
    /// even one that satisfies it; for testing that a client answers a challenge
    /// once and does not loop.
    AlwaysChallenge,
}

/// The active scenario and when it was set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ActiveScenario {
    pub scenario: ResourceScenario,
    /// Epoch seconds the scenario was set; only [`ResourceScenario::CaeRevocation`]
    /// uses it (as the revocation instant).
    pub since: u64,
}

impl ActiveScenario {
    /// The revocation instant, when the active scenario revokes sessions.
    pub(crate) fn revoked_at(&self) -> Option<u64> {
        (self.scenario == ResourceScenario::CaeRevocation).then_some(self.since)
    }

    /// The admin API's description: `{"scenario": "…"}` plus `"revoked_at"` for CAE.
    pub(crate) fn describe(&self) -> Value {
        let mut doc = json!({"scenario": self.scenario});
        if let (Some(at), Value::Object(map)) = (self.revoked_at(), &mut doc) {
            map.insert("revoked_at".into(), json!(at));
        }
        doc
    }

    /// What the resource answers a validated token with these `claims`.
    pub(crate) fn evaluate(&self, claims: &Map<String, Value>) -> Verdict {
        let contains = |name: &str, wanted: &str| match claims.get(name) {
            Some(Value::Array(items)) => items.iter().any(|v| v.as_str() == Some(wanted)),
            // Tolerate a single string where an array is usual.
            Some(Value::String(s)) => s == wanted,
            _ => false,
        };
        let step_up = |context: &'static str| {
            if contains("acrs", context) {
                Verdict::Allow
            } else {
                Verdict::Challenge(
                    json!({"access_token": {"acrs": {"essential": true, "value": context}}}),
                )
            }
        };
        match self.scenario {
            ResourceScenario::None => Verdict::Allow,
            ResourceScenario::MfaStepUp => step_up("c1"),
            ResourceScenario::CompliantDevice => step_up("c2"),
            ResourceScenario::CaeRevocation => cae_verdict(claims, self.since),
            ResourceScenario::AlwaysChallenge => Verdict::Challenge(
                json!({"access_token": {"acrs": {"essential": true, "value": "c1"}}}),
            ),
        }
    }
}

/// Whether `claims` (a token's) predates a session revocation at `revoked_at`
/// (epoch seconds), and what the resource answers then: a claims challenge for
/// CAE-capable clients (`xms_cc` holds `CP1`), else a plain refusal.
pub(crate) fn cae_verdict(claims: &Map<String, Value>, revoked_at: u64) -> Verdict {
    // A token without a usable `iat` cannot prove it postdates the revocation.
    let issued = claims.get("iat").and_then(Value::as_u64).unwrap_or(0);
    let capable = match claims.get("xms_cc") {
        Some(Value::Array(items)) => items.iter().any(|v| v.as_str() == Some("CP1")),
        Some(Value::String(s)) => s == "CP1",
        _ => false,
    };
    if issued >= revoked_at {
        Verdict::Allow
    } else if capable {
        // Entra sends the instant as a string of digits.
        Verdict::Challenge(json!({"access_token": {"nbf": {
            "essential": true, "value": revoked_at.to_string()
        }}}))
    } else {
        Verdict::Revoked
    }
}

/// The resource's decision about a validated token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// 200.
    Allow,
    /// 401 `insufficient_claims` with this claims challenge.
    Challenge(Value),
    /// 401 `invalid_token`: the session is revoked and the client is not CAE-capable.
    Revoked,
}

impl Verdict {
    /// This verdict unless it is [`Verdict::Allow`], else `next()`'s.
    pub(crate) fn or_else(self, next: impl FnOnce() -> Verdict) -> Verdict {
        match self {
            Verdict::Allow => next(),
            refusal => refusal,
        }
    }
}

/// The shared, mutable scenario slot.
#[derive(Debug, Default)]
pub(crate) struct ScenarioCell {
    active: Mutex<ActiveScenario>,
}

impl ScenarioCell {
    /// Activates `scenario`, recording `now` as the moment it was set.
    pub(crate) fn set(&self, scenario: ResourceScenario, now: u64) -> ActiveScenario {
        let active = ActiveScenario {
            scenario,
            since: now,
        };
        *lock(&self.active) = active;
        active
    }

    pub(crate) fn get(&self) -> ActiveScenario {
        *lock(&self.active)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn claims(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn step_up_wants_the_context() {
        let active = ActiveScenario {
            scenario: ResourceScenario::MfaStepUp,
            since: 0,
        };
        assert_eq!(
            active.evaluate(&claims(json!({"acrs": ["c2"]}))),
            Verdict::Challenge(json!({"access_token":{"acrs":{"essential":true,"value":"c1"}}}))
        );
        assert_eq!(
            active.evaluate(&claims(json!({"acrs": ["c2", "c1"]}))),
            Verdict::Allow
        );
        let device = ActiveScenario {
            scenario: ResourceScenario::CompliantDevice,
            ..active
        };
        assert_eq!(
            device.evaluate(&claims(json!({"acrs": ["c1"]}))),
            Verdict::Challenge(json!({"access_token":{"acrs":{"essential":true,"value":"c2"}}}))
        );
    }

    #[test]
    fn cae_challenges_only_capable_clients() {
        let active = ActiveScenario {
            scenario: ResourceScenario::CaeRevocation,
            since: 1000,
        };
        assert_eq!(active.revoked_at(), Some(1000));
        assert_eq!(
            active.evaluate(&claims(json!({"iat": 999, "xms_cc": ["CP1"]}))),
            Verdict::Challenge(json!({"access_token":{"nbf":{"essential":true,"value":"1000"}}}))
        );
        assert_eq!(
            active.evaluate(&claims(json!({"iat": 999}))),
            Verdict::Revoked
        );
        assert_eq!(
            active.evaluate(&claims(json!({"iat": 1000}))),
            Verdict::Allow
        );
        assert_eq!(
            active.describe(),
            json!({"scenario": "cae_revocation", "revoked_at": 1000})
        );
        assert_eq!(
            ActiveScenario::default().describe(),
            json!({"scenario": "none"})
        );
    }
}
