//! Token-endpoint response handling: the OAuth2 error body
//! (`ServiceError::from_body`) and the "not what the protocol promises" path
//! (`InvalidResponse::new`, whose body excerpt is cut and redacted) — on any
//! bytes, including invalid and cut multi-byte UTF-8.
//!
//! Input: the HTTP status (big-endian u16) in the first two bytes, the body after.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use oxmsal::{Error, ErrorKind, InvalidResponse, ServiceError};

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let status = u16::from_be_bytes([data[0], data[1]]);
    let body = &data[2..];

    for retry_after in [None, Some(Duration::from_secs(u64::from(status)))] {
        if let Some(service) = ServiceError::from_body(status, body, retry_after) {
            assert_eq!(service.http_status, status);
            let _ = service.aadsts();
            let err = Error::from_service(service.clone())
                .with_correlation_id("00000000-0000-0000-0000-000000000000");
            assert_eq!(err.kind(), ErrorKind::Service);
            let _ = err.to_string();
            let _ = format!("{err:?}");
            let _ = err.to_msal_json();
            let _ = (err.aadsts(), err.claims_challenge(), err.retry_after());
            let _ = (
                err.action(),
                err.classification(),
                err.requires_interaction(),
                err.is_transient(),
            );
            let throttled = Error::throttled(&err, Duration::from_secs(5));
            let _ = throttled.to_string();
            let _ = throttled.to_msal_json();
        }
    }

    let content_type = match status % 3 {
        0 => None,
        1 => Some("application/json; charset=utf-8".to_owned()),
        _ => Some("text/html".to_owned()),
    };
    let response = InvalidResponse::new(status, content_type, body, "fuzzed response")
        .with_retry_after(Some(Duration::from_secs(1)));
    // JWT-shaped runs are always redacted.
    assert!(
        !response.body_excerpt.contains("eyJ"),
        "JWT-shaped text survived redaction: {:?}",
        response.body_excerpt
    );
    let err = Error::from_invalid_response(response);
    assert_eq!(err.kind(), ErrorKind::InvalidResponse);
    let _ = err.to_string();
    let _ = err.to_msal_json();
    let _ = format!("{err:?}");
});
