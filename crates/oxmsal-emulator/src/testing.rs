//! Helpers for tests: client certificates for certificate credentials.

use rcgen::{CertificateParams, DnType, KeyPair, RsaKeySize, PKCS_RSA_SHA256};

use crate::error::EmulatorError;
use crate::jwt;
use crate::pem;

/// A self-signed RSA-2048 certificate and its private key, for an app's
/// certificate credential (register `cert_der`, sign assertions with `key_pem`).
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    /// The certificate, X.509 DER.
    pub cert_der: Vec<u8>,
    /// The certificate, PEM (`CERTIFICATE`).
    pub cert_pem: String,
    /// The private key, PKCS#8 DER.
    pub key_der: Vec<u8>,
    /// The private key, PEM (PKCS#8 `PRIVATE KEY`).
    pub key_pem: String,
}

impl std::fmt::Debug for ClientCertificate {
    // The key stays out of logs even in tests.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("x5t#S256", &self.x5t_s256())
            .finish_non_exhaustive()
    }
}

impl ClientCertificate {
    /// base64url SHA-256 of the certificate DER (the `x5t#S256` JWT header value).
    pub fn x5t_s256(&self) -> String {
        jwt::x5t_s256(&self.cert_der)
    }

    /// base64url SHA-1 of the certificate DER (the legacy `x5t` JWT header value).
    pub fn x5t(&self) -> String {
        jwt::x5t_sha1(&self.cert_der)
    }

    /// `cert_pem` followed by `key_pem`, the combined form many tools accept.
    pub fn combined_pem(&self) -> String {
        format!("{}{}", self.key_pem, self.cert_pem)
    }

    /// A PKCS#12 (PFX) archive of the key and certificate, encrypted with `password`
    /// (PBES2/AES-256, HMAC-SHA256).
    pub fn try_pfx(&self, password: &str) -> Result<Vec<u8>, EmulatorError> {
        use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};
        let pfx_err = |e: p12_keystore::error::Error| EmulatorError::crypto("a PKCS#12 archive", e);
        let cert = Certificate::from_der(&self.cert_der).map_err(pfx_err)?;
        let key = PrivateKey::from_der(&self.key_der).map_err(pfx_err)?;
        let local_key_id =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &self.cert_der);
        let chain = PrivateKeyChain::new(local_key_id.as_ref(), key, [cert]);
        let mut store = KeyStore::new();
        store.add_entry("client", KeyStoreEntry::PrivateKeyChain(chain));
        store.writer(password).write().map_err(pfx_err)
    }

    /// Like [`ClientCertificate::try_pfx`], for tests.
    ///
    /// # Panics
    /// If PKCS#12 encoding fails, which only a broken crypto library causes.
    #[allow(clippy::expect_used)]
    pub fn pfx(&self, password: &str) -> Vec<u8> {
        self.try_pfx(password).expect("PKCS#12 encoding failed")
    }
}

/// A new self-signed RSA-2048 certificate with this common name.
pub fn try_client_certificate(common_name: &str) -> Result<ClientCertificate, EmulatorError> {
    let key = KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048)
        .map_err(|e| EmulatorError::crypto("a client key", e))?;
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    let cert = params
        .self_signed(&key)
        .map_err(|e| EmulatorError::crypto("a client certificate", e))?;
    let key_der = key.serialize_der();
    Ok(ClientCertificate {
        cert_der: cert.der().to_vec(),
        cert_pem: pem::encode("CERTIFICATE", cert.der())
            .map_err(|e| EmulatorError::crypto("a client certificate", e))?,
        key_pem: pem::encode("PRIVATE KEY", &key_der)
            .map_err(|e| EmulatorError::crypto("a client key", e))?,
        key_der,
    })
}

/// Like [`try_client_certificate`], for tests.
///
/// # Panics
/// If key generation fails, which only a broken crypto library causes.
#[allow(clippy::expect_used)]
pub fn client_certificate(common_name: &str) -> ClientCertificate {
    try_client_certificate(common_name).expect("client certificate generation failed")
}
