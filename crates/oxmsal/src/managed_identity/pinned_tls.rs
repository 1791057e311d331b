//! Service Fabric's transport: HTTPS to the cluster's local endpoint, whose
//! certificate is trusted exactly when its SHA-1 thumbprint is the one in
//! `IDENTITY_SERVER_THUMBPRINT` (the cluster's certificate is not issued by a
//! public CA). The check runs during the handshake, so nothing — the identity
//! header included — is sent to any other server.

use std::sync::Arc;

use aws_lc_rs::digest;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

use crate::error::{Error, Result};
use crate::http::{HttpClient, HttpConfig, ReqwestClient};

/// Trusts one certificate, named by its SHA-1 thumbprint; the handshake's
/// signatures are still verified against it.
#[derive(Debug)]
struct PinnedThumbprint {
    sha1: [u8; 20],
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedThumbprint {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let seen = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, end_entity.as_ref());
        // Not secret (a certificate's hash is public): a plain comparison is fine.
        if seen.as_ref() == self.sha1.as_slice() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A client that talks only to the server presenting the pinned certificate.
pub(crate) fn client(config: &HttpConfig, sha1: [u8; 20]) -> Result<Arc<dyn HttpClient>> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = Arc::new(PinnedThumbprint {
        sha1,
        provider: Arc::clone(&provider),
    });
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::configuration(format!("cannot configure TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(config.connect_timeout)
        .timeout(config.request_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Error::configuration(format!("cannot build the HTTP client: {e}")))?;
    Ok(Arc::new(ReqwestClient::from_reqwest(client, config)))
}
