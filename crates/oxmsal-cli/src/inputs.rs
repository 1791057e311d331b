//! Secrets and files named on the command line: read, checked, and turned into
//! usage errors that name the argument.

use std::path::Path;

use oxmsal::credential::{ClientCertificate, ClientCredential};
use oxmsal::Secret;

use crate::exit::Failure;

/// The value of the environment variable `var`, which must be set and non-empty.
pub fn secret_from_env(var: &str, flag: &str) -> Result<Secret, Failure> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Ok(Secret::new(v)),
        Ok(_) => Err(Failure::Usage(format!(
            "{flag}: environment variable {var} is empty"
        ))),
        Err(_) => Err(Failure::Usage(format!(
            "{flag}: environment variable {var} is not set"
        ))),
    }
}

/// A certificate credential from a PEM bundle or a PKCS#12 file.
pub fn certificate(path: &Path, password_env: Option<&str>) -> Result<ClientCredential, Failure> {
    let bytes = std::fs::read(path).map_err(|e| {
        Failure::Usage(format!(
            "--certificate: cannot read {}: {e}",
            path.display()
        ))
    })?;
    let looks_pem = bytes.windows(11).any(|w| w == b"-----BEGIN ");
    let cert = if looks_pem {
        ClientCertificate::from_pem(&bytes)
    } else {
        let password = match password_env {
            Some(var) => secret_from_env(var, "--certificate-password-env")?,
            None => Secret::new(""),
        };
        ClientCertificate::from_pkcs12(&bytes, password.expose_secret())
    }
    .map_err(|e| Failure::Usage(format!("--certificate {}: {e}", path.display())))?;
    Ok(ClientCredential::certificate(cert))
}

/// A PEM file of extra roots.
pub fn read_pem(path: &Path, flag: &str) -> Result<Vec<u8>, Failure> {
    std::fs::read(path)
        .map_err(|e| Failure::Usage(format!("{flag}: cannot read {}: {e}", path.display())))
}
