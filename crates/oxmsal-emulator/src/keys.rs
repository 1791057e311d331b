//! The token-signing key: RSA-2048, published as a JWKS like Entra's.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{KeyPair as _, RsaKeyPair, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rcgen::{CertificateParams, DnType, KeyPair, RsaKeySize, PKCS_RSA_SHA256};
use serde_json::{json, Value};

use crate::error::EmulatorError;
use crate::jwt;

/// Signs access tokens (RS256) and describes its public half.
pub(crate) struct SigningKey {
    key_pair: RsaKeyPair,
    rng: SystemRandom,
    /// Entra's `kid` is the base64url SHA-1 thumbprint of the key's certificate
    /// (and equals `x5t`); the emulator does the same.
    kid: String,
    n: String,
    e: String,
    cert_b64: String,
    /// PKCS#1 `RSAPublicKey` DER, for checking tokens presented to the resource.
    public_key_der: Vec<u8>,
}

impl SigningKey {
    /// A fresh key with a self-signed certificate for the JWKS `x5c`.
    pub(crate) fn generate() -> Result<Self, EmulatorError> {
        let rcgen_key = KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048)
            .map_err(|e| EmulatorError::crypto("the token signing key", e))?;
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, "oxmsal emulator token signing");
        let cert = params
            .self_signed(&rcgen_key)
            .map_err(|e| EmulatorError::crypto("the token signing certificate", e))?;
        let key_pair = RsaKeyPair::from_pkcs8(&rcgen_key.serialize_der())
            .map_err(|e| EmulatorError::crypto("the token signing key", e))?;
        let public = key_pair.public_key();
        let n = jwt::b64url(public.modulus().big_endian_without_leading_zero());
        let e = jwt::b64url(public.exponent().big_endian_without_leading_zero());
        let public_key_der = public.as_ref().to_vec();
        Ok(SigningKey {
            public_key_der,
            kid: jwt::x5t_sha1(cert.der()),
            cert_b64: STANDARD.encode(cert.der()),
            key_pair,
            rng: SystemRandom::new(),
            n,
            e,
        })
    }

    /// The key id put in token headers and the JWKS.
    pub(crate) fn kid(&self) -> &str {
        &self.kid
    }

    /// A signed RS256 JWT with `typ`, `alg`, `kid` and `x5t` headers, like Entra's.
    pub(crate) fn sign(&self, claims: &Value) -> Result<String, EmulatorError> {
        let header = json!({"typ": "JWT", "alg": "RS256", "x5t": self.kid, "kid": self.kid});
        jwt::encode(&header, claims, |input| {
            let mut signature = vec![0; self.key_pair.public_modulus_len()];
            self.key_pair
                .sign(&RSA_PKCS1_SHA256, &self.rng, input, &mut signature)
                .map_err(|e| EmulatorError::crypto("a token signature", e))?;
            Ok(signature)
        })
    }

    /// Checks that `jws` is an RS256 signature by this key, as a resource server
    /// validating the emulator's access tokens would.
    pub(crate) fn verify(&self, jws: &jwt::Jws<'_>) -> Result<(), String> {
        match jws.header.get("alg").and_then(Value::as_str) {
            Some("RS256") => {}
            Some(other) => return Err(format!("the signing algorithm '{other}' is not RS256")),
            None => return Err("the token header has no 'alg'".into()),
        }
        jwt::verify_rsa(jws, "RS256", &self.public_key_der)
            .map_err(|_| "the signature does not verify with the token signing key".into())
    }

    /// The JWKS document; `issuer` is the per-key `issuer` Entra adds.
    pub(crate) fn jwks(&self, issuer: &str) -> Value {
        json!({
            "keys": [{
                "kty": "RSA",
                "use": "sig",
                "kid": self.kid,
                "x5t": self.kid,
                "n": self.n,
                "e": self.e,
                "x5c": [self.cert_b64],
                "issuer": issuer,
            }]
        })
    }
}
