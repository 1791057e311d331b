//! Authorization codes: issued by the authorize endpoint, redeemed once at the
//! token endpoint, bound to the client, the redirect URI and the PKCE challenge.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest;

use crate::ids;
use crate::jwt;
use crate::state::lock;

/// At most this many codes (live or remembered as redeemed) are kept; expired
/// ones go first. Codes are redeemed within seconds in practice.
const CAP: usize = 10_000;

/// The PKCE transformation (RFC 7636 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PkceMethod {
    Plain,
    S256,
}

/// A code challenge from the authorize request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pkce {
    pub challenge: String,
    pub method: PkceMethod,
}

impl Pkce {
    /// The challenge of an authorize request: none without `code_challenge`;
    /// the method defaults to `plain` (RFC 7636 §4.3) and must be `plain` or `S256`.
    pub(crate) fn from_request(
        challenge: Option<&str>,
        method: Option<&str>,
    ) -> Result<Option<Pkce>, String> {
        let Some(challenge) = challenge else {
            return Ok(None);
        };
        let method = match method {
            None | Some("plain") => PkceMethod::Plain,
            Some("S256") => PkceMethod::S256,
            Some(other) => {
                return Err(format!(
                    "code_challenge_method '{other}' is not supported; use 'S256' or 'plain'"
                ))
            }
        };
        Ok(Some(Pkce {
            challenge: challenge.to_owned(),
            method,
        }))
    }

    /// Whether `verifier` answers the challenge.
    pub(crate) fn verify(&self, verifier: &str) -> bool {
        let expected = match self.method {
            PkceMethod::Plain => verifier.to_owned(),
            PkceMethod::S256 => {
                jwt::b64url(digest::digest(&digest::SHA256, verifier.as_bytes()).as_ref())
            }
        };
        verify_slices_are_equal(expected.as_bytes(), self.challenge.as_bytes()).is_ok()
    }
}

/// What a code stands for.
#[derive(Debug, Clone)]
pub(crate) struct AuthCode {
    pub client_id: String,
    /// As sent to the authorize endpoint; the token request must repeat it exactly.
    pub redirect_uri: String,
    pub scope: String,
    pub username: String,
    pub nonce: Option<String>,
    pub pkce: Option<Pkce>,
    /// The authorize request's `claims`, used when the token request has none.
    pub claims: Option<String>,
    pub expires: Instant,
}

/// The result of presenting a code.
#[derive(Debug)]
pub(crate) enum Redemption {
    Valid(AuthCode),
    Expired,
    AlreadyRedeemed,
    Unknown,
}

#[derive(Debug, Default)]
struct Inner {
    live: HashMap<String, AuthCode>,
    /// Redeemed codes until their expiry, so reuse gets Entra's "already redeemed".
    redeemed: HashMap<String, Instant>,
}

/// Issued codes.
#[derive(Debug, Default)]
pub(crate) struct AuthCodes {
    inner: Mutex<Inner>,
}

impl AuthCodes {
    /// Stores `code` and returns the opaque value to hand to the client.
    pub(crate) fn issue(&self, code: AuthCode) -> String {
        let now = Instant::now();
        let mut inner = lock(&self.inner);
        inner.live.retain(|_, c| c.expires > now);
        inner.redeemed.retain(|_, until| *until > now);
        while inner.live.len() + inner.redeemed.len() >= CAP {
            let oldest = inner
                .live
                .iter()
                .min_by_key(|(_, c)| c.expires)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => inner.live.remove(&k),
                None => {
                    inner.redeemed.clear();
                    None
                }
            };
        }
        let value = ids::random_token("0.A");
        inner.live.insert(value.clone(), code);
        value
    }

    /// Consumes a code: whatever happens next (a PKCE mismatch included), it
    /// cannot be presented again, as with Entra.
    pub(crate) fn redeem(&self, value: &str) -> Redemption {
        let now = Instant::now();
        let mut inner = lock(&self.inner);
        if let Some(code) = inner.live.remove(value) {
            if code.expires <= now {
                return Redemption::Expired;
            }
            inner.redeemed.insert(value.to_owned(), code.expires);
            return Redemption::Valid(code);
        }
        if inner.redeemed.get(value).is_some_and(|until| *until > now) {
            return Redemption::AlreadyRedeemed;
        }
        Redemption::Unknown
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::time::Duration;

    #[test]
    fn pkce_s256_and_plain() {
        // RFC 7636 Appendix B.
        let s256 = Pkce::from_request(
            Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
            Some("S256"),
        )
        .unwrap()
        .unwrap();
        assert!(s256.verify("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
        assert!(!s256.verify("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl"));
        let plain = Pkce::from_request(Some("abc"), None).unwrap().unwrap();
        assert!(plain.verify("abc") && !plain.verify("abd"));
        assert!(Pkce::from_request(Some("x"), Some("S512")).is_err());
        assert_eq!(Pkce::from_request(None, Some("S256")), Ok(None));
    }

    #[test]
    fn codes_are_single_use_and_expire() {
        let codes = AuthCodes::default();
        let code = |expires| AuthCode {
            client_id: "c".into(),
            redirect_uri: "r".into(),
            scope: "s".into(),
            username: "u".into(),
            nonce: None,
            pkce: None,
            claims: None,
            expires,
        };
        let v = codes.issue(code(Instant::now() + Duration::from_secs(60)));
        assert!(matches!(codes.redeem(&v), Redemption::Valid(_)));
        assert!(matches!(codes.redeem(&v), Redemption::AlreadyRedeemed));
        assert!(matches!(codes.redeem("nope"), Redemption::Unknown));
        let old = codes.issue(code(Instant::now()));
        assert!(matches!(codes.redeem(&old), Redemption::Expired));
    }
}
