//! What the app learned about an authority: its endpoints, read from an OpenID
//! configuration document. Below both discovery (which fetches the document)
//! and the persisted metadata (which keeps it between processes).

use serde_json::{Map, Value};
use url::Url;

use super::Authority;
use crate::error::{Error, InvalidResponse, Result};

/// What the app learned about an authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoints {
    pub token_endpoint: Url,
    pub authorization_endpoint: Option<Url>,
    pub device_authorization_endpoint: Option<Url>,
    pub issuer: Option<String>,
    /// The cache `realm`: the tenant segment of the token endpoint's path.
    pub realm: String,
    /// The cache `environment` this app writes: the authority host.
    pub environment: String,
    /// Every host name the cache may hold tokens under for this authority.
    pub aliases: Vec<String>,
}

/// The endpoints an OpenID configuration document names; a document without a
/// usable `token_endpoint` is an invalid response.
pub(super) fn endpoints_from(
    doc: &Map<String, Value>,
    authority: &Authority,
    aliases: Vec<String>,
    status: u16,
) -> Result<Endpoints> {
    let bad = |reason: String| {
        Error::from_invalid_response(InvalidResponse::new(
            status,
            Some("application/json".into()),
            b"",
            format!("OpenID configuration of {authority}: {reason}"),
        ))
    };
    let url_field = |key: &str| -> Result<Option<Url>> {
        match doc.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Url::parse(s)
                .map(Some)
                .map_err(|e| bad(format!("`{key}` is not a URL ({e})"))),
            Some(_) => Err(bad(format!("`{key}` is not a string"))),
        }
    };
    let token_endpoint =
        url_field("token_endpoint")?.ok_or_else(|| bad("no `token_endpoint`".into()))?;
    let realm = token_endpoint
        .path_segments()
        .and_then(|mut s| s.find(|p| !p.is_empty()))
        .unwrap_or_default()
        .to_owned();
    Ok(Endpoints {
        token_endpoint,
        authorization_endpoint: url_field("authorization_endpoint")?,
        device_authorization_endpoint: url_field("device_authorization_endpoint")?,
        issuer: doc.get("issuer").and_then(Value::as_str).map(str::to_owned),
        realm,
        environment: authority.environment().to_owned(),
        aliases,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn realm_is_the_token_endpoint_tenant() {
        let a = Authority::parse("https://localhost:1/contoso.com").unwrap();
        let doc = serde_json::json!({"token_endpoint": "https://localhost:1/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token"});
        let e = endpoints_from(doc.as_object().unwrap(), &a, vec![], 200).unwrap();
        assert_eq!(e.realm, "72f988bf-86f1-41af-91ab-2d7cd011db47");
        assert_eq!(e.environment, "localhost");
    }

    #[test]
    fn missing_or_bad_token_endpoint_is_invalid_response() {
        let a = Authority::parse("https://localhost:1/t").unwrap();
        for doc in [
            serde_json::json!({}),
            serde_json::json!({"token_endpoint": 5}),
            serde_json::json!({"token_endpoint": "nope"}),
        ] {
            let e = endpoints_from(doc.as_object().unwrap(), &a, vec![], 200).unwrap_err();
            assert_eq!(e.kind(), crate::error::ErrorKind::InvalidResponse);
        }
    }
}
