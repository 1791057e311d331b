//! `/resource/{*path}`: a protected API (a stand-in for Microsoft Graph or ARM)
//! that accepts the emulator's own access tokens and sends Conditional Access
//! claims challenges according to the active [`crate::ResourceScenario`].
//!
//! Refusals are `401` with Graph's body `{"error":{"code":
//! "InvalidAuthenticationToken","message":"…"}}` and a `WWW-Authenticate` header:
//!
//! ```text
//! Bearer realm="", authorization_uri="{base}/common/oauth2/authorize", error="invalid_token", error_description="…"
//! Bearer realm="", authorization_uri="{base}/common/oauth2/authorize", error="insufficient_claims", claims="…"
//! ```
//!
//! `claims` is the challenge JSON in standard base64 **without padding**, as
//! Entra-protected APIs often send it; clients must accept it either way.

use axum::extract::State;
use axum::response::Response;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine as _;
use http::header::{HeaderValue, AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderMap, StatusCode, Uri};
use serde_json::{json, Map, Value};

use super::serve::AppState;
use crate::errors::{json_response, RequestCtx};
use crate::jwt;
use crate::scenario::Verdict;
use crate::shared::Shared;
use crate::state::CounterCells;

/// Clock skew tolerated on `nbf`. It matches the token endpoint's, which may put a
/// token's `nbf` up to this far ahead when a CAE challenge asks for it.
const NBF_SKEW_SECS: u64 = 300;

/// Graph's error code for every token refusal, challenges included.
const GRAPH_CODE: &str = "InvalidAuthenticationToken";

/// The handler (any method).
pub(crate) async fn resource(State(shared): AppState, headers: HeaderMap, uri: Uri) -> Response {
    shared.count(None);
    CounterCells::bump(&shared.counters.resource_requests);
    let ctx = RequestCtx::new(&headers, &uri, &shared.base_url);
    let mut response = match validate(&shared, &headers, ctx.now) {
        Err(reason) => invalid_token(&shared, &reason),
        Ok(claims) => match shared
            .revocations
            .evaluate(&claims)
            .or_else(|| shared.scenario.get().evaluate(&claims))
        {
            Verdict::Allow => allowed(uri.path(), claims),
            Verdict::Challenge(challenge) => {
                CounterCells::bump(&shared.counters.resource_challenges);
                insufficient_claims(&shared, &challenge)
            }
            Verdict::Revoked => invalid_token(
                &shared,
                "The session was revoked after this token was issued (continuous access \
                 evaluation) and the client did not declare the CP1 capability, so no claims \
                 challenge is sent; acquire a new token.",
            ),
        },
    };
    ctx.decorate(&mut response);
    response
}

/// The token's claims when it is one of this emulator's valid access tokens,
/// else the reason for the `error_description`.
fn validate(shared: &Shared, headers: &HeaderMap, now: u64) -> Result<Map<String, Value>, String> {
    let token = bearer_token(headers)?;
    let jws = jwt::parse(token).map_err(|e| format!("The access token is malformed: {e}."))?;
    shared
        .signing_key
        .verify(&jws)
        .map_err(|e| format!("Signature validation failed: {e}."))?;
    let claims = jws.payload;

    let issuer = claims.get("iss").and_then(Value::as_str).unwrap_or("");
    if !shared.issuers().iter().any(|known| known == issuer) {
        return Err(format!(
            "The issuer '{issuer}' is not one of this emulator's issuers."
        ));
    }
    // NumericDate may carry a fraction (RFC 7519 §2); whole seconds are enough here.
    let seconds = |name: &str| {
        claims.get(name).and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
        })
    };
    let exp = seconds("exp").ok_or("The access token has no numeric 'exp' claim.")?;
    if exp <= now {
        return Err(format!(
            "Lifetime validation failed, the token is expired (exp {exp}, now {now})."
        ));
    }
    if let Some(nbf) = seconds("nbf") {
        if nbf > now.saturating_add(NBF_SKEW_SECS) {
            return Err(format!(
                "Lifetime validation failed, the token is not yet valid (nbf {nbf}, now {now})."
            ));
        }
    }
    Ok(claims)
}

/// The token of `Authorization: Bearer <token>` (scheme in any case).
fn bearer_token(headers: &HeaderMap) -> Result<&str, String> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Err("Access token is empty.".into());
    };
    let value = value
        .to_str()
        .map_err(|_| "The Authorization header is not visible ASCII.".to_owned())?
        .trim();
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
            let token = token.trim();
            if token.is_empty() {
                Err("Access token is empty.".into())
            } else {
                Ok(token)
            }
        }
        _ if value.eq_ignore_ascii_case("bearer") => Err("Access token is empty.".into()),
        _ => Err("The Authorization header does not carry a Bearer token.".into()),
    }
}

fn allowed(path: &str, claims: Map<String, Value>) -> Response {
    let body = json!({
        "ok": true,
        "path": path,
        "aud": claims.get("aud").cloned().unwrap_or(Value::Null),
        "azp": claims.get("azp").cloned().unwrap_or(Value::Null),
        "claims_seen": claims,
    });
    json_response(StatusCode::OK, &body)
}

/// Text safe inside a quoted-string of a header: printable ASCII without `"` and
/// `\`. Descriptions can echo token content (e.g. an issuer), so this is enforced
/// rather than assumed.
fn header_safe(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' => c,
            _ => '?',
        })
        .collect()
}

/// A `401` with Graph's body and `Bearer realm="", authorization_uri="…", ` + `params`.
fn unauthorized(shared: &Shared, params: &str, message: &str) -> Response {
    let mut response = json_response(
        StatusCode::UNAUTHORIZED,
        &json!({"error": {"code": GRAPH_CODE, "message": message}}),
    );
    let header = format!(
        "Bearer realm=\"\", authorization_uri=\"{}/common/oauth2/authorize\", {params}",
        shared.base_url
    );
    // Every part is printable ASCII by construction; the fallback only guards.
    let value =
        HeaderValue::from_str(&header).unwrap_or_else(|_| HeaderValue::from_static("Bearer"));
    response.headers_mut().insert(WWW_AUTHENTICATE, value);
    response
}

fn invalid_token(shared: &Shared, reason: &str) -> Response {
    let reason = header_safe(reason);
    unauthorized(
        shared,
        &format!("error=\"invalid_token\", error_description=\"{reason}\""),
        &reason,
    )
}

fn insufficient_claims(shared: &Shared, challenge: &Value) -> Response {
    let claims = STANDARD_NO_PAD.encode(challenge.to_string());
    unauthorized(
        shared,
        &format!("error=\"insufficient_claims\", claims=\"{claims}\""),
        &format!(
            "The access token does not satisfy a Conditional Access policy; request a new token \
             with the claims challenge from the WWW-Authenticate header: {challenge}"
        ),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn with_auth(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn reads_bearer_tokens() {
        assert_eq!(bearer_token(&with_auth("Bearer abc")), Ok("abc"));
        assert_eq!(bearer_token(&with_auth("bearer   abc ")), Ok("abc"));
        assert!(bearer_token(&HeaderMap::new()).is_err());
        assert!(bearer_token(&with_auth("Bearer")).is_err());
        assert!(bearer_token(&with_auth("Basic abc"))
            .unwrap_err()
            .contains("Bearer"));
    }

    #[test]
    fn header_text_is_sanitised() {
        assert_eq!(header_safe("a \"b\"\\\n\u{e9}"), "a ?b????");
    }
}
