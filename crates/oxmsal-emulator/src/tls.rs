//! The HTTPS identity: a CA generated at start and a `localhost` leaf it signs.
//!
//! A self-signed leaf used as its own trust anchor is rejected by rustls/webpki
//! (a trust anchor must be a CA, and an end-entity may not be one), so clients
//! trust the CA and the server presents leaf + CA.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::error::EmulatorError;

/// What the server needs to speak TLS, and what clients need to trust it.
pub(crate) struct TlsMaterial {
    /// PEM of the CA certificate.
    pub ca_pem: String,
    /// rustls server configuration presenting leaf + CA.
    pub server_config: Arc<rustls::ServerConfig>,
}

/// A random positive serial, so that two emulators' CAs never look alike to a client
/// that caches certificates by issuer and serial.
fn random_serial() -> SerialNumber {
    let mut bytes = *uuid::Uuid::new_v4().as_bytes();
    bytes[0] &= 0x7f;
    SerialNumber::from_slice(&bytes)
}

fn dn(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "oxmsal emulator");
    dn.push(DnType::CommonName, common_name);
    dn
}

/// Generates the CA and the leaf and builds the rustls configuration.
pub(crate) fn generate() -> Result<TlsMaterial, EmulatorError> {
    let crypto = |e: rcgen::Error| EmulatorError::crypto("TLS certificates", e);
    // A short random tag in the CA name tells apart CAs of emulators started in a row.
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let ca_key = KeyPair::generate().map_err(crypto)?;
    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name = dn(&format!("oxmsal emulator CA {}", &tag[..8]));
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca_params.serial_number = Some(random_serial());
    let ca_cert = ca_params.self_signed(&ca_key).map_err(crypto)?;
    let issuer = Issuer::new(ca_params, &ca_key);

    let leaf_key = KeyPair::generate().map_err(crypto)?;
    let mut leaf_params = CertificateParams::default();
    leaf_params.distinguished_name = dn("localhost");
    leaf_params.subject_alt_names = vec![
        SanType::DnsName("localhost".try_into().map_err(crypto)?),
        SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()),
        SanType::IpAddress(std::net::Ipv6Addr::LOCALHOST.into()),
    ];
    leaf_params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf_params.use_authority_key_identifier_extension = true;
    leaf_params.serial_number = Some(random_serial());
    let leaf_cert = leaf_params.signed_by(&leaf_key, &issuer).map_err(crypto)?;

    let chain: Vec<CertificateDer<'static>> = vec![leaf_cert.der().clone(), ca_cert.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut server_config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| EmulatorError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| EmulatorError::Tls(e.to_string()))?;
    // HTTP/1.1 only: the connection handling (and DropConnection) is written for it.
    server_config.alpn_protocols = vec![b"http/1.1".to_vec()];

    Ok(TlsMaterial {
        ca_pem: ca_cert.pem(),
        server_config: Arc::new(server_config),
    })
}
