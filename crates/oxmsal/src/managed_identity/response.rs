//! Each source's answers, normalised: a token response MSAL's cache takes, or
//! an error value of the common model.

use serde_json::{Map, Value};

use crate::clock::Clock;
use crate::error::{Error, InvalidResponse, Result, ServiceError};
use crate::http::HttpResponse;

/// Tokens living this long or longer are refreshed at half their lifetime
/// (when the source sends no `refresh_in`), as MSAL for Python does.
const HALF_LIFE_REFRESH_FROM_SECS: u64 = 7200;

fn content_type(response: &HttpResponse) -> Option<String> {
    response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn retry_after(response: &HttpResponse, clock: &dyn Clock) -> Option<std::time::Duration> {
    response
        .headers()
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| crate::http::parse_retry_after(v, clock.now()))
}

fn invalid(response: &HttpResponse, reason: impl Into<String>) -> Error {
    Error::from_invalid_response(InvalidResponse::new(
        response.status().as_u16(),
        content_type(response),
        response.body(),
        reason,
    ))
}

/// Whole seconds from a number or a numeric string.
fn seconds(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<u64>().ok().or_else(|| {
                s.parse::<f64>()
                    .ok()
                    .filter(|f| *f >= 0.0)
                    .map(|f| f as u64)
            })
        }
        _ => None,
    }
}

/// A success body: the token response as the cache stores it —
/// `access_token`, `token_type`, `expires_in` (from `expires_in`, or from an
/// absolute `expires_on`), `resource`, `refresh_in` — plus the raw object
/// (for checks of what else the source echoed).
pub(crate) fn token(
    response: &HttpResponse,
    now: u64,
) -> Result<(Map<String, Value>, Map<String, Value>)> {
    let raw = match serde_json::from_slice::<Value>(response.body()) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return Err(invalid(response, "the body is JSON but not an object")),
        Err(e) => {
            return Err(invalid(
                response,
                format!("the body is not valid JSON ({e})"),
            ))
        }
    };
    let access_token = match raw.get("access_token") {
        Some(Value::String(t)) if !t.is_empty() => t.clone(),
        _ => {
            return Err(invalid(
                response,
                "the token response has no `access_token`",
            ))
        }
    };
    let expires_in = match (raw.get("expires_in"), raw.get("expires_on")) {
        (Some(v), _) => seconds(v).ok_or_else(|| {
            invalid(
                response,
                "the token response's `expires_in` is not a number of seconds",
            )
        })?,
        (None, Some(v)) => seconds(v)
            .ok_or_else(|| {
                invalid(
                    response,
                    "the token response's `expires_on` is not epoch seconds",
                )
            })?
            .saturating_sub(now),
        (None, None) => {
            return Err(invalid(
                response,
                "the token response has neither `expires_in` nor `expires_on`",
            ))
        }
    };
    let token_type = match raw.get("token_type") {
        Some(Value::String(t)) if !t.is_empty() => t.clone(),
        None | Some(Value::Null) => "Bearer".to_owned(),
        Some(_) => {
            return Err(invalid(
                response,
                "the token response's `token_type` is not a string",
            ))
        }
    };
    let mut map = Map::new();
    map.insert("access_token".into(), Value::String(access_token));
    map.insert("expires_in".into(), Value::from(expires_in));
    if let Some(resource) = raw.get("resource").filter(|v| v.is_string()) {
        map.insert("resource".into(), resource.clone());
    }
    map.insert("token_type".into(), Value::String(token_type));
    let refresh_in = match raw.get("refresh_in") {
        Some(v) => Some(seconds(v).ok_or_else(|| {
            invalid(
                response,
                "the token response's `refresh_in` is not a number of seconds",
            )
        })?),
        None => (expires_in >= HALF_LIFE_REFRESH_FROM_SECS).then_some(expires_in / 2),
    };
    if let Some(refresh_in) = refresh_in {
        map.insert("refresh_in".into(), Value::from(refresh_in));
    }
    Ok((map, raw))
}

/// Service Fabric's error codes as OAuth errors (MSAL for Python's mapping).
fn service_fabric_error(code: &str) -> &'static str {
    match code {
        "SecretHeaderNotFound" => "unauthorized_client",
        "ManagedIdentityNotFound" => "invalid_client",
        "ArgumentNullOrEmpty" => "invalid_scope",
        _ => "invalid_request",
    }
}

/// An error answer (any status but 2xx) as the common error model: the
/// source's error body, whichever of its shapes, becomes a `Service` error; a
/// body in none of them is an `InvalidResponse`.
pub(crate) fn error(response: &HttpResponse, clock: &dyn Clock) -> Error {
    let status = response.status().as_u16();
    let retry_after = retry_after(response, clock);
    let body = response.body();
    let object = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    };
    let not_error = || {
        let reason = if body.is_empty() {
            "error status with an empty body"
        } else {
            "error status with a body that is not a managed identity error object"
        };
        Error::from_invalid_response(
            InvalidResponse::new(status, content_type(response), body, reason)
                .with_retry_after(retry_after),
        )
    };
    let Some(object) = object else {
        return not_error();
    };
    let normalised: Option<Map<String, Value>> = match object.get("error") {
        // OAuth shape (IMDS, Arc, Cloud Shell, some App Service answers).
        Some(Value::String(_)) => Some(object),
        // Service Fabric: {"error": {"code": …, "message": …}}.
        Some(Value::Object(inner)) => {
            let code = inner.get("code").and_then(Value::as_str).unwrap_or("");
            let mut map = Map::new();
            map.insert("error".into(), Value::from(service_fabric_error(code)));
            map.insert(
                "error_description".into(),
                Value::from(String::from_utf8_lossy(body).into_owned()),
            );
            Some(map)
        }
        _ => match (object.get("statusCode"), object.get("message")) {
            // App Service and Azure ML: {"statusCode": …, "message": …}, mapped
            // as MSAL for Python maps it; the original keys stay.
            (Some(code), Some(Value::String(message))) => {
                let code = match code {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let mut map = Map::new();
                map.insert("error".into(), Value::from("invalid_scope"));
                map.insert(
                    "error_description".into(),
                    Value::from(format!("{code}, {message}")),
                );
                map.extend(object);
                Some(map)
            }
            _ => None,
        },
    };
    match normalised.and_then(|map| ServiceError::from_map(status, map, retry_after)) {
        Some(service) => Error::from_service(service),
        None => not_error(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::clock::ManualClock;
    use crate::error::ErrorKind;

    fn response(status: u16, body: &str) -> HttpResponse {
        http::Response::builder()
            .status(status)
            .body(body.as_bytes().to_vec())
            .unwrap()
    }

    #[test]
    fn expires_in_and_expires_on_in_every_spelling() {
        let now = 1_000_000;
        for body in [
            r#"{"access_token":"t","expires_in":"3599","token_type":"Bearer","resource":"r"}"#,
            r#"{"access_token":"t","expires_in":3599}"#,
            r#"{"access_token":"t","expires_on":1003599}"#,
            r#"{"access_token":"t","expires_on":"1003599"}"#,
        ] {
            let (map, _) = token(&response(200, body), now).unwrap();
            assert_eq!(map["expires_in"], 3599, "{body}");
            assert_eq!(map["token_type"], "Bearer");
            assert!(map.get("refresh_in").is_none());
        }
    }

    #[test]
    fn long_tokens_refresh_at_half_life() {
        let (map, _) = token(
            &response(200, r#"{"access_token":"t","expires_in":"86400"}"#),
            0,
        )
        .unwrap();
        assert_eq!(map["refresh_in"], 43200);
        let (map, _) = token(
            &response(200, r#"{"access_token":"t","expires_in":7199}"#),
            0,
        )
        .unwrap();
        assert!(map.get("refresh_in").is_none());
        let (map, _) = token(
            &response(
                200,
                r#"{"access_token":"t","expires_in":9000,"refresh_in":60}"#,
            ),
            0,
        )
        .unwrap();
        assert_eq!(map["refresh_in"], 60);
    }

    #[test]
    fn malformed_successes_are_invalid_responses() {
        for body in [
            "<html>",
            "[]",
            r#"{"expires_in":1}"#,
            r#"{"access_token":"t"}"#,
            r#"{"access_token":"t","expires_in":"soon"}"#,
            r#"{"access_token":"t","expires_on":"12/6/2026 3:00:00 PM +00:00"}"#,
        ] {
            let err = token(&response(200, body), 0).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidResponse, "{body}");
            assert!(!err.to_string().contains("eyJ"));
        }
    }

    #[test]
    fn every_error_shape_becomes_a_service_error() {
        let clock = ManualClock::at_epoch(0);
        let oauth = error(
            &response(
                400,
                r#"{"error":"invalid_request","error_description":"Identity not found"}"#,
            ),
            &clock,
        );
        assert_eq!(oauth.service().unwrap().error, "invalid_request");
        let app_service = error(
            &response(
                400,
                r#"{"statusCode":400,"message":"No User Assigned or Delegated Managed Identity found"}"#,
            ),
            &clock,
        );
        let s = app_service.service().unwrap();
        assert_eq!(s.error, "invalid_scope");
        assert_eq!(
            s.error_description.as_deref(),
            Some("400, No User Assigned or Delegated Managed Identity found")
        );
        assert_eq!(s.body["statusCode"], 400);
        let fabric = error(
            &response(
                401,
                r#"{"error":{"code":"SecretHeaderNotFound","message":"Secret is not found in the request headers."}}"#,
            ),
            &clock,
        );
        assert_eq!(fabric.service().unwrap().error, "unauthorized_client");
        assert!(fabric
            .service()
            .unwrap()
            .error_description
            .as_deref()
            .unwrap()
            .contains("SecretHeaderNotFound"));
        for (code, expected) in [
            ("ManagedIdentityNotFound", "invalid_client"),
            ("ArgumentNullOrEmpty", "invalid_scope"),
            ("Other", "invalid_request"),
        ] {
            let body = format!(r#"{{"error":{{"code":"{code}"}}}}"#);
            let e = error(&response(400, &body), &clock);
            assert_eq!(e.service().unwrap().error, expected);
        }
        for body in ["", "<html>gateway</html>", r#"{"unexpected":1}"#] {
            let e = error(&response(502, body), &clock);
            assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{body}");
        }
    }
}
