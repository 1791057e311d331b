//! Certificate credentials: PEM or PKCS#12 in, a signed client assertion out.

use std::fmt;

use crate::secret::WipedString;
use aws_lc_rs::digest;
use aws_lc_rs::signature::{KeyPair as _, RsaKeyPair};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::Serialize;
use serde_json::{Map, Value};
use x509_cert::der::Decode as _;

use crate::error::{Error, Result};
use crate::secret::Secret;

/// How long a signed assertion is valid.
const ASSERTION_LIFETIME_SECS: u64 = 600;

/// The claims oxmsal sets in every assertion: extra claims may not replace
/// them (the audience has its own override, [`ClientCertificate::with_audience`]).
const REGISTERED_CLAIMS: [&str; 7] = ["aud", "iss", "sub", "iat", "nbf", "exp", "jti"];

/// An RSA private key with its certificate (and optionally the chain), used to
/// sign client assertions: PS256 with `x5t#S256` for Entra ID, RS256 with the
/// SHA-1 `x5t` for ADFS.
///
/// ```
/// use oxmsal::credential::ClientCertificate;
/// let err = ClientCertificate::from_pem(b"no pem here").unwrap_err();
/// assert_eq!(err.kind(), oxmsal::ErrorKind::Configuration);
/// ```
pub struct ClientCertificate {
    key: EncodingKey,
    chain_der: Vec<Vec<u8>>,
    x5t_s256: String,
    x5t: String,
    send_x5c: bool,
    /// Signed into every assertion beside the registered claims.
    extra_claims: Map<String, Value>,
    /// The `aud` to sign instead of the token endpoint.
    audience: Option<String>,
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("x5t#S256", &self.x5t_s256)
            .field("chain_len", &self.chain_der.len())
            .field("send_x5c", &self.send_x5c)
            .field(
                "extra_claims",
                &self.extra_claims.keys().collect::<Vec<_>>(),
            )
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    aud: &'a str,
    iss: &'a str,
    sub: &'a str,
    iat: u64,
    nbf: u64,
    exp: u64,
    jti: String,
    #[serde(flatten)]
    extra: &'a Map<String, Value>,
}

impl ClientCertificate {
    /// Reads a PEM bundle holding one unencrypted RSA private key (`PRIVATE KEY` or
    /// `RSA PRIVATE KEY`) and the certificate, optionally followed by its chain.
    ///
    /// ```
    /// use oxmsal::credential::ClientCertificate;
    /// assert!(ClientCertificate::from_pem(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").is_err());
    /// ```
    pub fn from_pem(pem: &[u8]) -> Result<Self> {
        Self::from_pem_parts(pem, pem)
    }

    /// Reads the key and the certificate(s) from separate PEM texts.
    ///
    /// ```
    /// use oxmsal::credential::ClientCertificate;
    /// assert!(ClientCertificate::from_pem_parts(b"", b"").is_err());
    /// ```
    pub fn from_pem_parts(key_pem: &[u8], cert_pem: &[u8]) -> Result<Self> {
        if contains(key_pem, b"ENCRYPTED PRIVATE KEY") {
            return Err(Error::configuration(
                "the PEM private key is encrypted; decrypt it, or use a PKCS#12 (.pfx) file with a password",
            ));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| Error::configuration(format!("no usable private key in the PEM: {e}")))?;
        let key_pem_text =
            match &key {
                PrivateKeyDer::Pkcs8(der) => pem_text("PRIVATE KEY", der.secret_pkcs8_der()),
                PrivateKeyDer::Pkcs1(der) => pem_text("RSA PRIVATE KEY", der.secret_pkcs1_der()),
                _ => return Err(Error::configuration(
                    "the private key is not an RSA key; Entra ID certificate credentials need RSA",
                )),
            };
        let public_key = rsa_public_key(&key)?;
        let mut chain = Vec::new();
        for cert in CertificateDer::pem_slice_iter(cert_pem) {
            let cert = cert.map_err(|e| {
                Error::configuration(format!("a PEM certificate does not parse: {e}"))
            })?;
            chain.push(cert.as_ref().to_vec());
        }
        Self::assemble(key_pem_text.as_str(), &public_key, chain)
    }

    /// Reads a PKCS#12 (.pfx/.p12) file protected by `password`.
    ///
    /// ```
    /// use oxmsal::credential::ClientCertificate;
    /// assert!(ClientCertificate::from_pkcs12(b"not a pfx", "pw").is_err());
    /// ```
    pub fn from_pkcs12(der: &[u8], password: &str) -> Result<Self> {
        let store = p12_keystore::KeyStore::from_pkcs12(
            der,
            password,
            p12_keystore::Pkcs12ImportPolicy::Relaxed,
        )
        .map_err(|e| {
            Error::configuration(format!(
                "cannot open the PKCS#12 file (wrong password or not PKCS#12): {e}"
            ))
        })?;
        let Some((_alias, chain)) = store.private_key_chain() else {
            return Err(Error::configuration(
                "the PKCS#12 file holds no private key",
            ));
        };
        let pkcs8 = chain.key().as_der();
        let key = PrivateKeyDer::Pkcs8(pkcs8.to_vec().into());
        let public_key = rsa_public_key(&key)?;
        let certs = chain.certs().iter().map(|c| c.as_der().to_vec()).collect();
        Self::assemble(pem_text("PRIVATE KEY", pkcs8).as_str(), &public_key, certs)
    }

    fn assemble(key_pem: &str, public_key: &[u8], chain: Vec<Vec<u8>>) -> Result<Self> {
        let Some(leaf) = chain.first() else {
            return Err(Error::configuration(
                "no certificate found next to the private key",
            ));
        };
        let parsed = x509_cert::Certificate::from_der(leaf).map_err(|e| {
            Error::configuration(format!("the certificate is not valid X.509: {e}"))
        })?;
        let cert_key = parsed
            .tbs_certificate
            .subject_public_key_info
            .subject_public_key
            .raw_bytes();
        if cert_key != public_key {
            return Err(Error::configuration(
                "the private key does not belong to the (first) certificate",
            ));
        }
        let key = EncodingKey::from_rsa_pem(key_pem.as_bytes()).map_err(|e| {
            Error::configuration(format!("the RSA key is not usable for signing: {e}"))
        })?;
        Ok(ClientCertificate {
            key,
            x5t_s256: URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, leaf)),
            x5t: URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, leaf)),
            chain_der: chain,
            send_x5c: false,
            extra_claims: Map::new(),
            audience: None,
        })
    }

    /// Also sends the certificate chain (`x5c`), for subject name/issuer authentication.
    ///
    /// ```no_run
    /// # let pem = std::fs::read("app.pem").unwrap();
    /// let cert = oxmsal::credential::ClientCertificate::from_pem(&pem).unwrap().with_x5c(true);
    /// ```
    pub fn with_x5c(mut self, send: bool) -> Self {
        self.send_x5c = send;
        self
    }

    /// Extra claims signed into every assertion (MSAL for Python's
    /// `client_claims`), e.g. `{"client_ip": "192.0.2.10"}`. The claims oxmsal
    /// sets (`aud`, `iss`, `sub`, `iat`, `nbf`, `exp`, `jti`) cannot be
    /// replaced this way — a `Configuration` error; the audience has its own
    /// override, [`with_audience`](Self::with_audience).
    ///
    /// ```no_run
    /// # let pem = std::fs::read("app.pem").unwrap();
    /// let mut claims = serde_json::Map::new();
    /// claims.insert("client_ip".into(), "192.0.2.10".into());
    /// let cert = oxmsal::credential::ClientCertificate::from_pem(&pem)?.with_claims(claims)?;
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    pub fn with_claims(mut self, claims: Map<String, Value>) -> Result<Self> {
        if let Some(name) = claims
            .keys()
            .find(|name| REGISTERED_CLAIMS.contains(&name.as_str()))
        {
            return Err(Error::configuration(format!(
                "the assertion claim `{name}` is set by oxmsal and cannot be replaced{}",
                if name == "aud" {
                    "; use `with_audience` to sign another audience"
                } else {
                    ""
                }
            )));
        }
        self.extra_claims = claims;
        Ok(self)
    }

    /// Signs this audience (`aud`) instead of the token endpoint, e.g. the
    /// authority's issuer (`https://login.microsoftonline.com/{tenant}/v2.0`),
    /// which Entra ID accepts too. An empty audience is a `Configuration` error.
    ///
    /// ```no_run
    /// # let pem = std::fs::read("app.pem").unwrap();
    /// let cert = oxmsal::credential::ClientCertificate::from_pem(&pem)?
    ///     .with_audience("https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0")?;
    /// # Ok::<(), oxmsal::Error>(())
    /// ```
    pub fn with_audience(mut self, audience: impl Into<String>) -> Result<Self> {
        let audience = audience.into();
        if audience.trim().is_empty() {
            return Err(Error::configuration("the assertion audience is empty"));
        }
        self.audience = Some(audience);
        Ok(self)
    }

    /// The base64url SHA-256 thumbprint of the certificate (`x5t#S256`).
    ///
    /// ```no_run
    /// # let pem = std::fs::read("app.pem").unwrap();
    /// let cert = oxmsal::credential::ClientCertificate::from_pem(&pem).unwrap();
    /// println!("{}", cert.thumbprint_sha256());
    /// ```
    pub fn thumbprint_sha256(&self) -> &str {
        &self.x5t_s256
    }

    /// Signs a client assertion for `audience` (the token endpoint), unless
    /// the certificate names its own audience.
    pub(crate) fn sign_assertion(
        &self,
        audience: &str,
        client_id: &str,
        now: u64,
        adfs: bool,
    ) -> Result<Secret> {
        let mut header = if adfs {
            let mut h = Header::new(Algorithm::RS256);
            h.x5t = Some(self.x5t.clone());
            h
        } else {
            let mut h = Header::new(Algorithm::PS256);
            h.x5t_s256 = Some(self.x5t_s256.clone());
            h
        };
        if self.send_x5c {
            header.x5c = Some(self.chain_der.iter().map(|c| STANDARD.encode(c)).collect());
        }
        let claims = AssertionClaims {
            aud: self.audience.as_deref().unwrap_or(audience),
            iss: client_id,
            sub: client_id,
            iat: now,
            nbf: now,
            exp: now + ASSERTION_LIFETIME_SECS,
            jti: uuid::Uuid::new_v4().to_string(),
            extra: &self.extra_claims,
        };
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map(Secret::new)
            .map_err(|e| Error::configuration(format!("cannot sign the client assertion: {e}")))
    }
}

/// The RSA public key (RFC 8017 `RSAPublicKey` DER) of a private key.
fn rsa_public_key(key: &PrivateKeyDer<'_>) -> Result<Vec<u8>> {
    let pair = match key {
        PrivateKeyDer::Pkcs8(der) => RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()),
        PrivateKeyDer::Pkcs1(der) => RsaKeyPair::from_der(der.secret_pkcs1_der()),
        _ => return Err(Error::configuration("the private key is not an RSA key")),
    }
    .map_err(|e| Error::configuration(format!("the private key is not a usable RSA key: {e}")))?;
    Ok(pair.public_key().as_ref().to_vec())
}

/// A PEM text of key material, wiped on drop like the key itself.
fn pem_text(label: &str, der: &[u8]) -> WipedString {
    let body = WipedString::new(STANDARD.encode(der));
    // Sized up front: growing would leave an unwiped copy behind.
    let lines = body.len().div_ceil(64);
    let mut out = WipedString::new(String::with_capacity(
        2 * label.len() + 32 + body.len() + lines,
    ));
    out.push_str(&format!("-----BEGIN {label}-----\n"));
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn certificate() -> ClientCertificate {
        let cert = oxmsal_emulator::testing::client_certificate("unit");
        ClientCertificate::from_pem(cert.combined_pem().as_bytes()).unwrap()
    }

    fn claims_of(assertion: &Secret) -> Map<String, Value> {
        crate::jwt::decode_claims(assertion.expose_secret()).unwrap()
    }

    #[test]
    fn extra_claims_and_audience_are_signed() {
        let mut extra = Map::new();
        extra.insert("client_ip".into(), "192.0.2.10".into());
        extra.insert("nested".into(), serde_json::json!({"a": [1, 2]}));
        let cert = certificate()
            .with_claims(extra)
            .unwrap()
            .with_audience("https://issuer.example/t/v2.0")
            .unwrap();
        let claims = claims_of(
            &cert
                .sign_assertion("https://token.example", "c", 100, false)
                .unwrap(),
        );
        assert_eq!(claims["aud"], "https://issuer.example/t/v2.0");
        assert_eq!(claims["iss"], "c");
        assert_eq!(claims["sub"], "c");
        assert_eq!(claims["exp"], 100 + ASSERTION_LIFETIME_SECS);
        assert_eq!(claims["client_ip"], "192.0.2.10");
        assert_eq!(claims["nested"]["a"][1], 2);
        let debug = format!("{cert:?}");
        assert!(
            debug.contains("client_ip") && !debug.contains("192.0.2.10"),
            "{debug}"
        );

        // Without an override, the token endpoint.
        let plain = claims_of(
            &certificate()
                .sign_assertion("https://token.example", "c", 1, false)
                .unwrap(),
        );
        assert_eq!(plain["aud"], "https://token.example");
        assert!(plain.get("client_ip").is_none());
    }

    #[test]
    fn registered_claims_and_empty_audiences_are_refused() {
        for name in REGISTERED_CLAIMS {
            let mut extra = Map::new();
            extra.insert(name.to_owned(), "x".into());
            let err = certificate().with_claims(extra).unwrap_err();
            assert_eq!(err.kind(), crate::error::ErrorKind::Configuration, "{name}");
        }
        assert!(certificate().with_audience(" ").is_err());
    }
}
