//! `jwt::decode_unverified` / `jwt::decode_claims` on any text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oxmsal::jwt::{decode_claims, decode_unverified};

fuzz_target!(|data: &[u8]| {
    let token = String::from_utf8_lossy(data);
    match decode_unverified(&token) {
        Ok(decoded) => {
            let _ = format!("{decoded:?}");
            let claims = decode_claims(&token).unwrap_or_else(|e| {
                panic!("decode_claims failed where decode_unverified succeeded: {e}")
            });
            assert_eq!(claims, decoded.claims);
        }
        Err(e) => {
            let _ = e.to_string();
            assert!(decode_claims(&token).is_err());
        }
    }
});
