//! `oxmsal_emulator::testing`: client certificates in the forms apps load them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use oxmsal_emulator::testing::client_certificate;
use p12_keystore::{KeyStore, KeyStoreEntry, Pkcs12ImportPolicy};

#[test]
fn client_certificate_forms_agree() {
    let cert = client_certificate("oxmsal client");
    assert!(cert.cert_pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
    assert!(cert.key_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    assert_eq!(cert.x5t_s256().len(), 43);
    assert_eq!(cert.x5t().len(), 27);
    assert!(!format!("{cert:?}").contains("PRIVATE"));

    let pfx = cert.pfx("hunter2");
    let store = KeyStore::from_pkcs12(&pfx, "hunter2", Pkcs12ImportPolicy::default()).unwrap();
    let (_, chain) = store.private_key_chain().unwrap();
    assert_eq!(chain.key().as_der(), cert.key_der.as_slice());
    assert_eq!(chain.certs()[0].as_der(), cert.cert_der.as_slice());
    assert!(KeyStore::from_pkcs12(&pfx, "wrong", Pkcs12ImportPolicy::default()).is_err());
    assert!(store
        .entries()
        .any(|(_, e)| matches!(e, KeyStoreEntry::PrivateKeyChain(_))));

    // Two certificates are distinct.
    assert_ne!(client_certificate("a").cert_der, cert.cert_der);
}
