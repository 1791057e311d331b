//! Turning a response into a JSON object or an error value.

use serde_json::{Map, Value};

use crate::clock::Clock;
use crate::error::{Error, InvalidResponse, Result, ServiceError};
use crate::redact::SentSecrets;

use super::{parse_retry_after, HttpResponse};

/// Header views used when classifying a response.
pub(crate) trait ResponseExt {
    fn content_type(&self) -> Option<String>;
    fn retry_after(&self, clock: &dyn Clock) -> Option<std::time::Duration>;
}

impl ResponseExt for HttpResponse {
    fn content_type(&self) -> Option<String> {
        self.headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    fn retry_after(&self, clock: &dyn Clock) -> Option<std::time::Duration> {
        self.headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, clock.now()))
    }
}

/// A 2xx response whose body is a JSON object gives that object; an error status
/// with an OAuth error object gives `Service`; anything else `InvalidResponse`.
///
/// `sent` holds the secrets the request sent: an error keeps none of them, in
/// any spelling — not in a body excerpt, and not in the service's error object
/// (whose strings are scrubbed before it is kept, so an `error_description`
/// echoing the request cannot reach a log or a terminal).
pub(crate) fn json_object_or_error(
    response: &HttpResponse,
    clock: &dyn Clock,
    sent: &SentSecrets,
) -> Result<Map<String, Value>> {
    let status = response.status().as_u16();
    let retry_after = response.retry_after(clock);
    let body = response.body();
    let invalid = |reason: String| {
        InvalidResponse::redacted(status, response.content_type(), body, reason, sent)
    };
    if !response.status().is_success() {
        if let Ok(mut value @ Value::Object(_)) = serde_json::from_slice::<Value>(body) {
            sent.scrub_json(&mut value);
            if let Value::Object(map) = value {
                if let Some(service) = ServiceError::from_map(status, map, retry_after) {
                    return Err(Error::from_service(service));
                }
            }
        }
        let reason = if body.is_empty() {
            "error status with an empty body".to_owned()
        } else {
            "error status with a body that is not an OAuth error object".to_owned()
        };
        return Err(Error::from_invalid_response(
            invalid(reason).with_retry_after(retry_after),
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::from_invalid_response(invalid(
            "the body is JSON but not an object".to_owned(),
        ))),
        Err(e) => Err(Error::from_invalid_response(invalid(format!(
            "the body is not valid JSON ({e})"
        )))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::clock::ManualClock;
    use crate::error::ErrorKind;

    fn response(status: u16, ct: &str, body: &str, retry_after: Option<&str>) -> HttpResponse {
        let mut b = http::Response::builder()
            .status(status)
            .header("content-type", ct);
        if let Some(r) = retry_after {
            b = b.header("retry-after", r);
        }
        b.body(body.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn classifies_every_shape() {
        let clock = ManualClock::at_epoch(0);
        let none = SentSecrets::none();
        let ok = json_object_or_error(
            &response(200, "application/json", r#"{"a":1}"#, None),
            &clock,
            &none,
        )
        .unwrap();
        assert_eq!(ok["a"], 1);
        let e = json_object_or_error(
            &response(200, "application/json", r#"{"a":"#, None),
            &clock,
            &none,
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidResponse);
        let e = json_object_or_error(
            &response(503, "text/html", "<html/>", Some("2")),
            &clock,
            &none,
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidResponse);
        assert_eq!(e.retry_after().unwrap().as_secs(), 2);
        let e = json_object_or_error(
            &response(
                503,
                "application/json",
                r#"{"error":"temporarily_unavailable"}"#,
                Some("2"),
            ),
            &clock,
            &none,
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Service);
        assert_eq!(e.service().unwrap().http_status, 503);
        assert_eq!(e.retry_after().unwrap().as_secs(), 2);
        let e = json_object_or_error(
            &response(200, "application/json", "[1]", None),
            &clock,
            &none,
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidResponse);
    }
}
