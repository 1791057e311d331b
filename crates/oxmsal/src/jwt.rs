//! JSON Web Tokens: reading the claims of an id token or access token (no
//! signature trust needed: the token came straight from the token endpoint over
//! TLS, and only names it for the cache), and signing client assertions.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// The decoded, unverified parts of a JWT.
///
/// ```
/// let token = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.";
/// let parts = oxmsal::jwt::decode_unverified(token).unwrap();
/// assert_eq!(parts.claims["sub"], "alice");
/// assert_eq!(parts.header["alg"], "none");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DecodedJwt {
    /// The JOSE header.
    pub header: Map<String, Value>,
    /// The claims (payload).
    pub claims: Map<String, Value>,
}

/// Decodes a JWT's header and claims without verifying its signature.
///
/// Accepts base64url with or without padding. Anything that is not three
/// dot-separated parts with JSON-object header and payload is an error value.
///
/// ```
/// assert!(oxmsal::jwt::decode_unverified("not a jwt").is_err());
/// ```
pub fn decode_unverified(token: &str) -> Result<DecodedJwt> {
    let mut parts = token.trim().split('.');
    let (Some(header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::configuration(
            "not a JWT: expected three dot-separated parts",
        ));
    };
    Ok(DecodedJwt {
        header: decode_part(header, "header")?,
        claims: decode_part(payload, "payload")?,
    })
}

/// Only the claims of a JWT (see [`decode_unverified`]).
///
/// ```
/// let c = oxmsal::jwt::decode_claims("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.").unwrap();
/// assert_eq!(c["sub"], "alice");
/// ```
pub fn decode_claims(token: &str) -> Result<Map<String, Value>> {
    decode_unverified(token).map(|d| d.claims)
}

fn decode_part(part: &str, name: &str) -> Result<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|e| Error::configuration(format!("JWT {name} is not base64url: {e}")))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::configuration(format!(
            "JWT {name} is not a JSON object"
        ))),
        Err(e) => Err(Error::configuration(format!("JWT {name} is not JSON: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_malformed_tokens_without_panicking() {
        for bad in [
            "",
            ".",
            "..",
            "a.b.c",
            "e30.e30",
            "e30.e30.x.y",
            "W10.e30.",
            "e30.%%%.x",
        ] {
            assert!(decode_unverified(bad).is_err(), "{bad}");
        }
        assert!(decode_unverified("e30.e30.").is_ok());
    }
}
