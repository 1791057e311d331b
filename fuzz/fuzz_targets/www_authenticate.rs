//! `WWW-Authenticate` parsing: `parse_www_authenticate`, the claims decoding on
//! top of it (`ClaimsChallenge::from_www_authenticate`) and the multi-value form.
//! The parser promises that no input makes it panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oxmsal::challenge::{parse_www_authenticate, parse_www_authenticate_values, ChallengeError};
use oxmsal::ClaimsChallenge;

fn check_error(err: &ChallengeError, header: &str) {
    let _ = err.to_string();
    if let ChallengeError::Syntax { position, .. } = err {
        // The offset is into the value that failed, which is at most `header`.
        assert!(
            *position <= header.len(),
            "position {position} past the end ({})",
            header.len()
        );
    }
}

fuzz_target!(|data: &[u8]| {
    // Header values reach the library as lossily decoded text.
    let header = String::from_utf8_lossy(data);
    let header = header.as_ref();

    match parse_www_authenticate(header) {
        Ok(challenges) => {
            for c in &challenges {
                let _ = (c.is_bearer(), c.is_pop(), c.error(), c.claims_raw());
                let _ = c.param("realm");
                for (name, _) in &c.params {
                    // Names are lowercased and findable.
                    assert_eq!(name, &name.to_ascii_lowercase());
                    assert!(c.param(name).is_some());
                }
                match c.decoded_claims() {
                    Ok(Some(json)) => assert!(
                        matches!(
                            serde_json::from_str::<serde_json::Value>(&json),
                            Ok(serde_json::Value::Object(_))
                        ),
                        "decoded_claims returned a non-object: {json:?}"
                    ),
                    Ok(None) => {}
                    Err(e) => {
                        let _ = e.to_string();
                    }
                }
            }
        }
        Err(e) => check_error(&e, header),
    }

    match ClaimsChallenge::from_www_authenticate(header) {
        Ok(Some(c)) => {
            assert!(
                matches!(
                    serde_json::from_str::<serde_json::Value>(c.claims_json()),
                    Ok(serde_json::Value::Object(_))
                ),
                "claims_json is not a JSON object: {:?}",
                c.claims_json()
            );
        }
        Ok(None) => {}
        Err(e) => {
            let _ = e.to_string();
            let err: oxmsal::Error = e.into();
            let _ = err.to_string();
        }
    }

    // A response carrying the header several times.
    let values: Vec<&str> = header.split('\n').collect();
    if values.len() > 1 {
        match parse_www_authenticate_values(values.iter().copied()) {
            Ok(_) => {}
            Err(e) => {
                let _ = e.to_string();
            }
        }
        let _ = ClaimsChallenge::from_header_values(values.iter().copied());
    }
});
