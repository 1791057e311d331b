//! Errors of the emulator's own API (not the AADSTS bodies it serves; see `errors.rs`).

use std::path::PathBuf;

/// Why the emulator could not start, or refused a registration or an action.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address that was tried.
        addr: String,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// A state file or directory could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// Key or certificate generation failed (the crypto library refused).
    #[error("cannot generate {what}: {detail}")]
    Crypto {
        /// What was being made.
        what: &'static str,
        /// The library's message.
        detail: String,
    },
    /// The TLS server configuration was rejected.
    #[error("TLS setup failed: {0}")]
    Tls(String),
    /// A certificate given in an [`crate::AppRegistration`] is not a usable X.509 RSA certificate.
    #[error("invalid certificate: {0}")]
    InvalidCertificate(String),
    /// An [`crate::AppRegistration`] is unusable (e.g. empty client id).
    #[error("invalid app registration: {0}")]
    InvalidApp(String),
    /// A [`crate::User`] is unusable (e.g. empty username, `oid` not a GUID).
    #[error("invalid user: {0}")]
    InvalidUser(String),
    /// No user has this username.
    #[error("no user '{0}'")]
    UnknownUser(String),
    /// No device code with this user code is waiting for a decision (never
    /// issued, expired, or already approved or denied).
    #[error("no pending device code with user code '{0}'")]
    UnknownDeviceCode(String),
    /// An [`crate::EmulatorConfig`] value is unusable (e.g. a tenant id that is not a GUID).
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
}

impl EmulatorError {
    pub(crate) fn crypto(what: &'static str, detail: impl std::fmt::Display) -> Self {
        EmulatorError::Crypto {
            what,
            detail: detail.to_string(),
        }
    }
}
