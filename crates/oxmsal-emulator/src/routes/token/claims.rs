//! The `claims` request parameter (OIDC Core §5.5): what the emulator reads from it.
//!
//! Only the `access_token` member matters to the emulator:
//!
//! | request | effect on the access token |
//! |---|---|
//! | `"xms_cc": {"values": ["CP1", …]}` | `xms_cc` = those values (client capabilities) |
//! | `"acrs": {"value": "c1"}` or `{"values": ["c1", …]}` | `acrs` = those contexts (strings) |
//! | `"nbf": {"essential": true, "value": "1700000000"}` | `iat` and `nbf` ≥ that instant (CAE) |

use serde_json::{Map, Value};

use crate::errors::AadError;

/// How far in the future a requested `nbf` may lie; beyond it the request is refused.
const NBF_SKEW_SECS: u64 = 300;

/// What a token request's `claims` parameter asks of the access token.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ClaimsRequest {
    /// Client capabilities for `xms_cc`; `None` when none were asked for.
    pub capabilities: Option<Vec<Value>>,
    /// Authentication context ids for `acrs`, in request order, without repeats.
    pub acrs: Vec<String>,
    /// The instant `iat`/`nbf` must not precede (a CAE `nbf` challenge answered).
    pub not_before: Option<u64>,
}

impl ClaimsRequest {
    /// Parses the parameter; `now` (epoch seconds) bounds a requested `nbf`.
    /// No parameter means an empty request.
    pub(crate) fn parse(claims: Option<&str>, now: u64) -> Result<Self, AadError> {
        let Some(text) = claims else {
            return Ok(Self::default());
        };
        let parsed: Value =
            serde_json::from_str(text).map_err(|e| AadError::invalid_claims(&e.to_string()))?;
        let Value::Object(request) = parsed else {
            return Err(AadError::invalid_claims("the value is not a JSON object"));
        };
        let access_token = request.get("access_token").and_then(Value::as_object);
        let member = |name: &str| access_token.and_then(|at| at.get(name));
        let capabilities = member("xms_cc")
            .and_then(|cc| cc.get("values"))
            .and_then(Value::as_array)
            .filter(|v| !v.is_empty())
            .cloned();
        let acrs = match member("acrs").and_then(Value::as_object) {
            Some(spec) => requested_contexts(spec)?,
            None => Vec::new(),
        };
        let not_before = match member("nbf").and_then(Value::as_object) {
            Some(spec) => requested_not_before(spec, now)?,
            None => None,
        };
        Ok(ClaimsRequest {
            capabilities,
            acrs,
            not_before,
        })
    }
}

/// `value` and `values` of an `acrs` request, merged; every one must be a string.
fn requested_contexts(spec: &Map<String, Value>) -> Result<Vec<String>, AadError> {
    let mut items: Vec<&Value> = spec.get("value").into_iter().collect();
    match spec.get("values") {
        Some(Value::Array(values)) => items.extend(values),
        Some(other) => items.push(other),
        None => {}
    }
    let mut out: Vec<String> = Vec::new();
    for item in items {
        let Some(id) = item.as_str() else {
            return Err(AadError::invalid_claims_value(&format!(
                "access_token.acrs values must be strings, got {item}"
            )));
        };
        if !out.iter().any(|known| known == id) {
            out.push(id.to_owned());
        }
    }
    Ok(out)
}

/// The instant of an essential `nbf` request. Entra sends it as a string of
/// digits; a JSON number is accepted too. A non-essential request asks nothing.
fn requested_not_before(spec: &Map<String, Value>, now: u64) -> Result<Option<u64>, AadError> {
    if spec.get("essential").and_then(Value::as_bool) != Some(true) {
        return Ok(None);
    }
    let Some(value) = spec.get("value") else {
        return Ok(None);
    };
    let instant = match value {
        Value::String(s) => s.trim().parse::<u64>().ok(),
        other => other.as_u64(),
    }
    .ok_or_else(|| {
        AadError::invalid_claims_value(&format!(
            "access_token.nbf value {value} is not a time in epoch seconds"
        ))
    })?;
    if instant > now.saturating_add(NBF_SKEW_SECS) {
        return Err(AadError::invalid_claims_value(&format!(
            "access_token.nbf value {instant} is more than {NBF_SKEW_SECS} seconds after the \
             current time {now}"
        )));
    }
    Ok(Some(instant))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Result<ClaimsRequest, AadError> {
        ClaimsRequest::parse(Some(text), 10_000)
    }

    #[test]
    fn reads_capabilities() {
        assert_eq!(
            ClaimsRequest::parse(None, 0).unwrap(),
            ClaimsRequest::default()
        );
        assert_eq!(
            parse(r#"{"access_token":{"xms_cc":{"values":["CP1","x"]}}}"#)
                .unwrap()
                .capabilities,
            Some(vec![json!("CP1"), json!("x")])
        );
        assert_eq!(
            parse(r#"{"access_token":{"nbf":{"essential":true}}}"#).unwrap(),
            ClaimsRequest::default()
        );
        assert_eq!(parse("{").unwrap_err().code, 50117);
        assert_eq!(parse("[1]").unwrap_err().code, 50117);
    }

    #[test]
    fn reads_authentication_contexts() {
        let req = parse(r#"{"access_token":{"acrs":{"essential":true,"value":"c1"}}}"#).unwrap();
        assert_eq!(req.acrs, vec!["c1"]);
        let req = parse(
            r#"{"access_token":{"acrs":{"value":"c2","values":["c1","c2","c3"]}},
                "id_token":{"acrs":{"value":"c9"}}}"#,
        )
        .unwrap();
        assert_eq!(req.acrs, vec!["c2", "c1", "c3"]);
        assert_eq!(
            parse(r#"{"access_token":{"acrs":{"values":[1]}}}"#)
                .unwrap_err()
                .error,
            "invalid_request"
        );
    }

    #[test]
    fn reads_a_cae_not_before() {
        let at = |v: Value| parse(&json!({"access_token": {"nbf": v}}).to_string());
        assert_eq!(
            at(json!({"essential": true, "value": "9000"}))
                .unwrap()
                .not_before,
            Some(9000)
        );
        assert_eq!(
            at(json!({"essential": true, "value": 10_300}))
                .unwrap()
                .not_before,
            Some(10_300)
        );
        assert_eq!(at(json!({"value": "9000"})).unwrap().not_before, None);
        let too_late = at(json!({"essential": true, "value": "10301"})).unwrap_err();
        assert_eq!(
            (too_late.status.as_u16(), too_late.error),
            (400, "invalid_request")
        );
        assert!(at(json!({"essential": true, "value": "soon"})).is_err());
    }
}
