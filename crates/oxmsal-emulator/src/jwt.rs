//! Compact JWS encoding and decoding (RFC 7515) on aws-lc-rs.
//!
//! Done by hand rather than with a JWT crate so that every rejection of a client
//! assertion can say precisely what was wrong, the way Entra's AADSTS700027
//! descriptions do, and so the emulator never depends on a process-wide crypto
//! provider choice.

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, UnparsedPublicKey};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};

/// base64url without padding, as JOSE uses everywhere.
pub(crate) fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url, tolerating trailing `=` padding some encoders add.
pub(crate) fn b64url_decode(text: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('=').as_bytes())
        .map_err(|e| e.to_string())
}

/// `x5t#S256`: base64url SHA-256 of a certificate's DER.
pub(crate) fn x5t_s256(cert_der: &[u8]) -> String {
    b64url(digest::digest(&digest::SHA256, cert_der).as_ref())
}

/// `x5t`: base64url SHA-1 of a certificate's DER (legacy thumbprint, still sent by
/// ADFS-era clients).
pub(crate) fn x5t_sha1(cert_der: &[u8]) -> String {
    b64url(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, cert_der).as_ref())
}

/// A JWS split into its parts, header and payload parsed as JSON objects.
#[derive(Debug)]
pub(crate) struct Jws<'a> {
    /// `base64url(header) "." base64url(payload)`: the bytes that were signed.
    pub signing_input: &'a str,
    pub header: Map<String, Value>,
    pub payload: Map<String, Value>,
    pub signature: Vec<u8>,
}

/// Splits and decodes a compact JWS without checking its signature.
pub(crate) fn parse(token: &str) -> Result<Jws<'_>, String> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("the token is not a JWS in compact form (three dot-separated parts)".into());
    };
    let object = |part: &str, what: &str| -> Result<Map<String, Value>, String> {
        let bytes = b64url_decode(part).map_err(|e| format!("the {what} is not base64url: {e}"))?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(format!("the {what} is not a JSON object")),
            Err(e) => Err(format!("the {what} is not JSON: {e}")),
        }
    };
    let header = object(h, "header")?;
    let payload = object(p, "payload")?;
    let signature = b64url_decode(s).map_err(|e| format!("the signature is not base64url: {e}"))?;
    Ok(Jws {
        signing_input: &token[..h.len() + 1 + p.len()],
        header,
        payload,
        signature,
    })
}

/// Verifies an RS256 or PS256 signature with an RSA public key (PKCS#1
/// `RSAPublicKey` or SubjectPublicKeyInfo DER).
pub(crate) fn verify_rsa(jws: &Jws<'_>, alg: &str, public_key_der: &[u8]) -> Result<(), String> {
    let params: &'static signature::RsaParameters = match alg {
        "RS256" => &signature::RSA_PKCS1_2048_8192_SHA256,
        "PS256" => &signature::RSA_PSS_2048_8192_SHA256,
        "RS384" => &signature::RSA_PKCS1_2048_8192_SHA384,
        "PS384" => &signature::RSA_PSS_2048_8192_SHA384,
        "RS512" => &signature::RSA_PKCS1_2048_8192_SHA512,
        "PS512" => &signature::RSA_PSS_2048_8192_SHA512,
        other => return Err(format!("the signing algorithm '{other}' is not supported")),
    };
    UnparsedPublicKey::new(params, public_key_der)
        .verify(jws.signing_input.as_bytes(), &jws.signature)
        .map_err(|_| "the signature does not verify with the registered certificate's key".into())
}

/// Encodes header and claims and signs them with `sign`, which gets the signing input.
pub(crate) fn encode<E>(
    header: &Value,
    claims: &Value,
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, E>,
) -> Result<String, E> {
    let mut token = b64url(header.to_string().as_bytes());
    token.push('.');
    token.push_str(&b64url(claims.to_string().as_bytes()));
    let signature = sign(token.as_bytes())?;
    token.push('.');
    token.push_str(&b64url(&signature));
    Ok(token)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn parse_rejects_malformed_tokens() {
        assert!(parse("a.b").is_err());
        assert!(parse("a.b.c.d").is_err());
        assert!(parse("!!.e30.AA").is_err());
        let not_object = format!("{}.{}.", b64url(b"[1]"), b64url(b"{}"));
        assert!(parse(&not_object)
            .unwrap_err()
            .contains("header is not a JSON object"));
    }

    #[test]
    fn parse_splits_a_token() {
        let token = encode(
            &serde_json::json!({"alg":"none"}),
            &serde_json::json!({"a":1}),
            |_| Ok::<_, ()>(vec![1, 2, 3]),
        )
        .unwrap();
        let jws = parse(&token).unwrap();
        assert_eq!(jws.header["alg"], "none");
        assert_eq!(jws.payload["a"], 1);
        assert_eq!(jws.signature, vec![1, 2, 3]);
        assert_eq!(jws.signing_input.matches('.').count(), 1);
    }
}
