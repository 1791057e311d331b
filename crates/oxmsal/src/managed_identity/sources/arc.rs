//! Azure Arc-enabled servers (the himds agent):
//! `GET $IDENTITY_ENDPOINT?api-version=2020-06-01&resource=…` with
//! `Metadata: true` (default endpoint `http://localhost:40342/…`). The first
//! answer is a 401 whose `WWW-Authenticate: Basic realm=<path>` names a key
//! file; only that file name's stem is used, the file is read from the
//! platform's own directory after the checks in [`super::super::arc_key`], and
//! its content is sent back as `Authorization: Basic <content>`.

use http::header::WWW_AUTHENTICATE;
use serde_json::{Map, Value};

use crate::error::{Error, InvalidResponse, Result};
use crate::http::HttpResponse;

use super::super::arc_key;
use super::super::identity::{IdParams, ManagedIdentity};
use super::super::wire::{parse_endpoint, SourceRequest};
use super::super::{ManagedIdentityEnvironment, ManagedIdentitySource};
use super::resolved::Resolved;

const DEFAULT_ENDPOINT: &str = "http://localhost:40342/metadata/identity/oauth2/token";
const API_VERSION: &str = "2020-06-01";

/// Arc's id parameters (IMDS's spelling).
pub(crate) const IDS: IdParams = IdParams {
    client_id: Some("client_id"),
    object_id: Some("object_id"),
    resource_id: Some("msi_res_id"),
};

pub(crate) fn resolve(
    env: &ManagedIdentityEnvironment,
    identity: &ManagedIdentity,
) -> Result<Resolved> {
    let source = ManagedIdentitySource::AzureArc;
    let endpoint = env.get("IDENTITY_ENDPOINT").unwrap_or(DEFAULT_ENDPOINT);
    let endpoint = parse_endpoint(endpoint, "IDENTITY_ENDPOINT", source)?;
    IDS.param(identity, "Azure Arc")?;
    let mut resolved = Resolved::new(source, endpoint);
    resolved.arc_key_dir = env.arc_key_dir().map(ToOwned::to_owned);
    if resolved.arc_key_dir.is_none() {
        return Err(Error::configuration(
            "Azure Arc managed identity is supported on Linux and Windows only (no key-file directory here)",
        ));
    }
    Ok(resolved)
}

pub(crate) fn request(
    resolved: &Resolved,
    identity: &ManagedIdentity,
    resource: &str,
) -> Result<SourceRequest> {
    let mut query = vec![("api-version", API_VERSION), ("resource", resource)];
    query.extend(IDS.param(identity, "Azure Arc")?);
    Ok(SourceRequest::get(resolved.endpoint.clone(), &query).header("metadata", "true"))
}

/// Whether a response is the agent's challenge.
pub(crate) fn is_challenge(response: &HttpResponse) -> bool {
    response.status() == http::StatusCode::UNAUTHORIZED
        && response.headers().contains_key(WWW_AUTHENTICATE)
}

/// The realm of `Basic realm=<path>` (quoted or not).
fn realm(header: &str) -> Option<&str> {
    let rest = header.trim();
    let (scheme, params) = rest.split_once(char::is_whitespace)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let (name, value) = params.trim().split_once('=')?;
    if !name.trim().eq_ignore_ascii_case("realm") {
        return None;
    }
    let value = value.trim();
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    (!value.is_empty()).then_some(value)
}

/// The retry of `first` answering the challenge in `response`: reads the key
/// file (checked before reading) and adds it as `Authorization: Basic`.
pub(crate) fn answer_challenge(
    resolved: &Resolved,
    first: SourceRequest,
    response: &HttpResponse,
) -> Result<SourceRequest> {
    let malformed = |reason: &str| {
        Error::from_invalid_response(InvalidResponse::new(
            response.status().as_u16(),
            None,
            response.body(),
            format!("the Azure Arc agent's challenge {reason}"),
        ))
    };
    let header = response
        .headers()
        .get(WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| malformed("has no readable WWW-Authenticate header"))?;
    let realm = realm(header).ok_or_else(|| malformed("is not `Basic realm=<key file path>`"))?;
    let dir = resolved
        .arc_key_dir
        .as_deref()
        .ok_or_else(|| Error::configuration("no Azure Arc key-file directory"))?;
    let key = arc_key::read_key(dir, realm)?;
    Ok(first.header("authorization", format!("Basic {}", key.expose_secret())))
}

/// For a user-assigned request, the answer must echo the identity asked for:
/// an agent that ignores it hands out the system identity's token instead.
pub(crate) fn check_identity_echo(
    identity: &ManagedIdentity,
    raw: &Map<String, Value>,
) -> Result<()> {
    let Some((param, id)) = IDS.param(identity, "Azure Arc")? else {
        return Ok(());
    };
    let echoed = raw.get(param).and_then(Value::as_str);
    if echoed.is_some_and(|e| e.eq_ignore_ascii_case(id)) {
        return Ok(());
    }
    Err(Error::from_invalid_response(InvalidResponse::new(
        200,
        Some("application/json".into()),
        b"",
        format!(
            "the Azure Arc agent did not return the user-assigned identity asked for \
             (`{param}` not echoed); it may have returned the system-assigned identity's token"
        ),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realms_quoted_or_not() {
        assert_eq!(
            realm("Basic realm=/var/opt/azcmagent/tokens/a.key"),
            Some("/var/opt/azcmagent/tokens/a.key")
        );
        assert_eq!(
            realm(r#"basic realm="C:\ProgramData\x.key""#),
            Some(r"C:\ProgramData\x.key")
        );
        assert_eq!(realm("Bearer realm=x"), None);
        assert_eq!(realm("Basic"), None);
        assert_eq!(realm("Basic realm="), None);
    }
}
