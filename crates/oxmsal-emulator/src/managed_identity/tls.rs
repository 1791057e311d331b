//! Service Fabric's endpoint certificate: self-signed, as a cluster's is to
//! its clients; they pin it by SHA-1 thumbprint instead of chaining it.

use std::sync::Arc;

use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::error::EmulatorError;

/// The server configuration and the certificate's thumbprint (uppercase hex).
pub(crate) fn self_signed() -> Result<(Arc<rustls::ServerConfig>, String), EmulatorError> {
    let crypto = |e: rcgen::Error| EmulatorError::crypto("TLS certificates", e);
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .map_err(crypto)?;
    let der = certified.cert.der().clone();
    let digest =
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, der.as_ref());
    let thumbprint: String = digest.as_ref().iter().map(|b| format!("{b:02X}")).collect();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| EmulatorError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(vec![der], key)
        .map_err(|e| EmulatorError::Tls(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((Arc::new(config), thumbprint))
}
