//! Azure Service Fabric: `GET $IDENTITY_ENDPOINT?api-version=2019-07-01-preview&resource=…`
//! over HTTPS with `Secret: $IDENTITY_HEADER`, the server's certificate pinned
//! to `IDENTITY_SERVER_THUMBPRINT`. The cluster decides the identity: a
//! user-assigned id given here is logged and ignored, as MSAL for Python does.
//! A revoked token named by a claims challenge goes as
//! `token_sha256_to_refresh`, the client's capabilities as `xms_cc`.

use crate::error::{Error, Result};
use crate::secret::Secret;

use super::super::identity::ManagedIdentity;
use super::super::wire::{parse_endpoint, SourceRequest};
use super::super::{ManagedIdentityEnvironment, ManagedIdentitySource};
use super::resolved::{Extras, Resolved};

const API_VERSION: &str = "2019-07-01-preview";

/// A SHA-1 thumbprint: 40 hex digits once spaces and colons are removed.
pub(crate) fn parse_thumbprint(text: &str) -> Result<[u8; 20]> {
    let hex: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .collect();
    let bad = || {
        Error::configuration(
            "IDENTITY_SERVER_THUMBPRINT is not a SHA-1 thumbprint (40 hexadecimal digits)",
        )
    };
    if hex.len() != 40 || !hex.is_ascii() {
        return Err(bad());
    }
    let mut out = [0u8; 20];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(out)
}

pub(crate) fn resolve(
    env: &ManagedIdentityEnvironment,
    identity: &ManagedIdentity,
) -> Result<Resolved> {
    let source = ManagedIdentitySource::ServiceFabric;
    let endpoint = env
        .get("IDENTITY_ENDPOINT")
        .ok_or_else(|| Error::configuration("IDENTITY_ENDPOINT is not set"))?;
    let endpoint = parse_endpoint(endpoint, "IDENTITY_ENDPOINT", source)?;
    let thumbprint = parse_thumbprint(env.get("IDENTITY_SERVER_THUMBPRINT").unwrap_or(""))?;
    if identity.is_user_assigned() {
        tracing::warn!(
            "Service Fabric sets the managed identity in the cluster's configuration; \
             the user-assigned id given is ignored"
        );
    }
    let mut resolved = Resolved::new(source, endpoint);
    resolved.secret = env.get("IDENTITY_HEADER").map(Secret::new);
    resolved.thumbprint = Some(thumbprint);
    Ok(resolved)
}

pub(crate) fn request(
    resolved: &Resolved,
    resource: &str,
    extras: &Extras<'_>,
) -> Result<SourceRequest> {
    let capabilities = extras.capabilities.join(",");
    let mut query = vec![("api-version", API_VERSION), ("resource", resource)];
    if let Some(hash) = &extras.token_sha256_to_refresh {
        query.push(("token_sha256_to_refresh", hash));
    }
    if !capabilities.is_empty() {
        query.push(("xms_cc", &capabilities));
    }
    let secret = resolved.secret.clone().unwrap_or_else(|| Secret::new(""));
    Ok(SourceRequest::get(resolved.endpoint.clone(), &query).header("secret", secret))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn thumbprints_with_spaces_and_colons() {
        let plain = "0123456789abcdef0123456789ABCDEF01234567";
        let colons = "01:23:45:67:89:ab:cd:ef:01:23:45:67:89:AB:CD:EF:01:23:45:67";
        assert_eq!(
            parse_thumbprint(plain).unwrap(),
            parse_thumbprint(colons).unwrap()
        );
        assert_eq!(parse_thumbprint(plain).unwrap()[0], 0x01);
        for bad in [
            "",
            "0123",
            "zz23456789abcdef0123456789ABCDEF01234567",
            "é123456789abcdef0123456789ABCDEF0123456",
        ] {
            assert!(parse_thumbprint(bad).is_err(), "{bad}");
        }
    }
}
