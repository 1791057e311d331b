//! Discovery metadata kept with the cache, so that a new process can find its
//! cached tokens without asking the identity provider anything.
//!
//! One JSON document (its own file beside a cache file, its own Redis key)
//! holds, per authority URL, what instance and OpenID discovery returned and
//! when:
//!
//! ```json
//! {"version": 1, "authorities": {"https://login.microsoftonline.com/contoso": {
//!   "instance_discovery": "enabled", "fetched_at": 1764000000,
//!   "token_endpoint": "https://login.microsoftonline.com/…/oauth2/v2.0/token",
//!   "authorization_endpoint": "…", "device_authorization_endpoint": "…",
//!   "issuer": "…", "aliases": ["login.microsoftonline.com", "login.windows.net"]}}}
//! ```
//!
//! - Within [`MAX_AGE`] of `fetched_at` (by the app's clock) an entry stands in
//!   for discovery: lookups and requests use it, no discovery request is sent.
//! - Older, it still names where the cached tokens are (realm, host aliases),
//!   so a cache hit needs no request; a request to the identity provider first
//!   discovers again, and the fresh result replaces the entry. If that
//!   discovery fails, a still-valid cached token is served (as when a refresh
//!   fails); otherwise the discovery error is returned — stale endpoints are
//!   never used to send a request.
//! - The document is not secret but it is not trusted either: an entry is used
//!   only for its own authority URL and instance discovery setting, and only
//!   when every endpoint in it is on the authority's own scheme, host and port
//!   (or, for Microsoft's hosts, on another Microsoft host among its aliases).
//!   A malformed, oversized or planted document is ignored with a warning and
//!   discovery runs as if there were none. An entry that would not pass these
//!   checks (an OpenID provider whose token endpoint is on another host) is
//!   never written: such an authority is discovered in every process.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use super::endpoints::{endpoints_from, Endpoints};
use super::{Authority, InstanceDiscovery, KNOWN_HOSTS};
// The largest metadata document read: the stores' cap, which they enforce as they read.
use crate::cache::persist::MAX_METADATA_BYTES as MAX_DOCUMENT_BYTES;

/// How long discovered metadata stands in for discovery: 24 hours.
pub(crate) const MAX_AGE_SECS: u64 = 24 * 3600;

/// Authorities kept in one document; the oldest entries go first.
const MAX_AUTHORITIES: usize = 64;

/// Host aliases kept per authority (Entra's largest alias set has 4).
const MAX_ALIASES: usize = 32;

/// How far in the future a `fetched_at` may be (another machine's clock).
const FUTURE_TOLERANCE_SECS: u64 = 300;

const VERSION: u32 = 1;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Document {
    version: u32,
    #[serde(default)]
    authorities: BTreeMap<String, Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    instance_discovery: String,
    fetched_at: u64,
    token_endpoint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    authorization_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    device_authorization_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    issuer: Option<String>,
    aliases: Vec<String>,
}

/// Endpoints read from the document, and whether they may still stand in for
/// discovery.
#[derive(Debug)]
pub(crate) struct Persisted {
    pub endpoints: Endpoints,
    pub fresh: bool,
}

/// The instance discovery setting an entry was discovered under: aliases
/// learned one way are not reused by an app configured another way.
fn instance_key(instance: &InstanceDiscovery) -> String {
    match instance {
        InstanceDiscovery::Enabled => "enabled".to_owned(),
        InstanceDiscovery::Disabled => "disabled".to_owned(),
        InstanceDiscovery::Endpoint(url) => format!("endpoint {url}"),
    }
}

/// The entry of `authority` in `document` at `now`: `Ok(None)` when there is
/// none for this authority and setting, `Err(why)` when the document or the
/// entry cannot be trusted (the caller warns and discovers).
pub(crate) fn find(
    document: &str,
    authority: &Authority,
    instance: &InstanceDiscovery,
    now: u64,
) -> Result<Option<Persisted>, String> {
    if document.len() > MAX_DOCUMENT_BYTES {
        return Err(format!("larger than {MAX_DOCUMENT_BYTES} bytes"));
    }
    let document: Document = serde_json::from_str(document).map_err(|e| e.to_string())?;
    if document.version != VERSION {
        return Err(format!("unknown version {}", document.version));
    }
    let Some(entry) = document.authorities.get(authority.as_str()) else {
        return Ok(None);
    };
    if entry.instance_discovery != instance_key(instance) {
        return Ok(None);
    }
    if entry.fetched_at > now.saturating_add(FUTURE_TOLERANCE_SECS) {
        return Err(format!(
            "the entry of {authority} was fetched in the future"
        ));
    }
    let endpoints = entry_endpoints(entry, authority)?;
    Ok(Some(Persisted {
        endpoints,
        fresh: now < entry.fetched_at.saturating_add(MAX_AGE_SECS),
    }))
}

/// `stored` (the document, if any) with `authority`'s entry set to
/// `endpoints` discovered at `now`; entries past [`MAX_AGE_SECS`] or that do
/// not parse are dropped. `None` when `endpoints` must not be persisted (they
/// would not pass [`find`]'s checks).
pub(crate) fn record(
    stored: Option<&str>,
    authority: &Authority,
    instance: &InstanceDiscovery,
    endpoints: &Endpoints,
    now: u64,
) -> Option<String> {
    let entry = Entry {
        instance_discovery: instance_key(instance),
        fetched_at: now,
        token_endpoint: endpoints.token_endpoint.to_string(),
        authorization_endpoint: endpoints
            .authorization_endpoint
            .as_ref()
            .map(Url::to_string),
        device_authorization_endpoint: endpoints
            .device_authorization_endpoint
            .as_ref()
            .map(Url::to_string),
        issuer: endpoints.issuer.clone(),
        aliases: endpoints.aliases.clone(),
    };
    entry_endpoints(&entry, authority).ok()?;
    // Ours to rewrite: a document that does not parse is replaced.
    let mut document = stored
        .filter(|s| s.len() <= MAX_DOCUMENT_BYTES)
        .and_then(|s| serde_json::from_str::<Document>(s).ok())
        .filter(|d| d.version == VERSION)
        .unwrap_or_default();
    document.version = VERSION;
    document.authorities.retain(|_, e| {
        e.fetched_at <= now.saturating_add(FUTURE_TOLERANCE_SECS)
            && now < e.fetched_at.saturating_add(MAX_AGE_SECS)
    });
    document
        .authorities
        .insert(authority.as_str().to_owned(), entry);
    while document.authorities.len() > MAX_AUTHORITIES {
        let oldest = document
            .authorities
            .iter()
            .min_by_key(|(_, e)| e.fetched_at)
            .map(|(k, _)| k.clone())?;
        document.authorities.remove(&oldest);
    }
    serde_json::to_string(&document).ok()
}

/// The endpoints an entry describes, checked as a discovery response is.
fn entry_endpoints(entry: &Entry, authority: &Authority) -> Result<Endpoints, String> {
    let aliases = checked_aliases(&entry.aliases, authority)?;
    let mut doc = Map::new();
    doc.insert("token_endpoint".into(), entry.token_endpoint.clone().into());
    for (key, value) in [
        ("authorization_endpoint", &entry.authorization_endpoint),
        (
            "device_authorization_endpoint",
            &entry.device_authorization_endpoint,
        ),
        ("issuer", &entry.issuer),
    ] {
        if let Some(v) = value {
            doc.insert(key.into(), Value::String(v.clone()));
        }
    }
    let endpoints = endpoints_from(&doc, authority, aliases, 200).map_err(|e| e.to_string())?;
    for url in [Some(&endpoints.token_endpoint)]
        .into_iter()
        .chain([
            endpoints.authorization_endpoint.as_ref(),
            endpoints.device_authorization_endpoint.as_ref(),
        ])
        .flatten()
    {
        if !belongs_to(url, authority, &endpoints.aliases) {
            return Err(format!(
                "endpoint {url} is not on the authority's host {}",
                authority.environment()
            ));
        }
    }
    Ok(endpoints)
}

/// The aliases of an entry: host names, the authority's own first.
fn checked_aliases(aliases: &[String], authority: &Authority) -> Result<Vec<String>, String> {
    if aliases.first().map(String::as_str) != Some(authority.environment()) {
        return Err("the aliases do not begin with the authority's host".into());
    }
    if aliases.len() > MAX_ALIASES {
        return Err(format!("more than {MAX_ALIASES} aliases"));
    }
    let host_name = |a: &String| {
        !a.is_empty()
            && a.len() <= 255
            && a.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.:[]".contains(&b))
    };
    if let Some(bad) = aliases.iter().find(|a| !host_name(a)) {
        return Err(format!("alias `{}` is not a host name", bad.escape_debug()));
    }
    Ok(aliases.to_vec())
}

/// Whether a persisted endpoint may be used for `authority`: the same scheme,
/// host and port as the authority, or — the authority being one of
/// Microsoft's hosts — https on another Microsoft host among its aliases.
fn belongs_to(url: &Url, authority: &Authority, aliases: &[String]) -> bool {
    let own = authority.url();
    if url.scheme() == own.scheme()
        && url.host_str() == own.host_str()
        && url.port_or_known_default() == own.port_or_known_default()
    {
        return true;
    }
    let host = url.host_str().unwrap_or_default();
    authority.is_known_host()
        && url.scheme() == "https"
        && url.port_or_known_default() == Some(443)
        && KNOWN_HOSTS.contains(&host)
        && aliases.iter().any(|a| a == host)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const NOW: u64 = 1_764_000_000;

    fn emulator() -> (Authority, Endpoints) {
        let authority = Authority::parse("https://localhost:8443/tid").unwrap();
        let endpoints = Endpoints {
            token_endpoint: Url::parse("https://localhost:8443/tid/oauth2/v2.0/token").unwrap(),
            authorization_endpoint: Some(
                Url::parse("https://localhost:8443/tid/oauth2/v2.0/authorize").unwrap(),
            ),
            device_authorization_endpoint: None,
            issuer: Some("https://localhost:8443/tid/v2.0".into()),
            realm: "tid".into(),
            environment: "localhost".into(),
            aliases: vec!["localhost".into()],
        };
        (authority, endpoints)
    }

    fn recorded(instance: &InstanceDiscovery) -> String {
        let (a, e) = emulator();
        record(None, &a, instance, &e, NOW).unwrap()
    }

    #[test]
    fn round_trips_fresh_then_stale() {
        let (a, e) = emulator();
        let doc = recorded(&InstanceDiscovery::Disabled);
        let found = find(&doc, &a, &InstanceDiscovery::Disabled, NOW + 60)
            .unwrap()
            .unwrap();
        assert_eq!(found.endpoints, e);
        assert!(found.fresh);
        let later = NOW + MAX_AGE_SECS;
        let found = find(&doc, &a, &InstanceDiscovery::Disabled, later)
            .unwrap()
            .unwrap();
        assert!(!found.fresh, "24 h on, the entry only names the cache keys");
    }

    #[test]
    fn another_authority_or_setting_finds_nothing() {
        let doc = recorded(&InstanceDiscovery::Disabled);
        let other = Authority::parse("https://localhost:8443/other").unwrap();
        assert!(find(&doc, &other, &InstanceDiscovery::Disabled, NOW)
            .unwrap()
            .is_none());
        let (a, _) = emulator();
        assert!(find(&doc, &a, &InstanceDiscovery::Enabled, NOW)
            .unwrap()
            .is_none());
    }

    fn tampered(edit: impl Fn(&mut Value)) -> String {
        let mut doc: Value = serde_json::from_str(&recorded(&InstanceDiscovery::Disabled)).unwrap();
        edit(&mut doc["authorities"]["https://localhost:8443/tid"]);
        doc.to_string()
    }

    #[test]
    fn planted_entries_are_refused() {
        let (a, _) = emulator();
        let cases = [
            tampered(|e| e["token_endpoint"] = "https://evil.example/tid/oauth2/v2.0/token".into()),
            tampered(|e| {
                e["token_endpoint"] = "https://localhost:9999/tid/oauth2/v2.0/token".into()
            }),
            tampered(|e| {
                e["token_endpoint"] = "http://localhost:8443/tid/oauth2/v2.0/token".into()
            }),
            tampered(|e| {
                e["authorization_endpoint"] = "https://evil.example/authorize".into();
            }),
            tampered(|e| {
                e["aliases"] = serde_json::json!(["localhost", "evil.example"]);
                e["token_endpoint"] = "https://evil.example/tid/oauth2/v2.0/token".into();
            }),
            tampered(|e| e["aliases"] = serde_json::json!(["evil.example"])),
            tampered(|e| e["aliases"] = serde_json::json!(["localhost", "a/b"])),
            tampered(|e| e["fetched_at"] = u64::MAX.into()),
            tampered(|e| e["token_endpoint"] = 5.into()),
            "not json".to_owned(),
            r#"{"version": 2, "authorities": {}}"#.to_owned(),
            " ".repeat(MAX_DOCUMENT_BYTES + 1),
        ];
        for doc in cases {
            assert!(
                find(&doc, &a, &InstanceDiscovery::Disabled, NOW).is_err(),
                "accepted: {}",
                &doc[..doc.len().min(300)]
            );
        }
    }

    #[test]
    fn microsoft_aliases_may_serve_endpoints() {
        let a = Authority::parse("https://login.windows.net/contoso").unwrap();
        let e = Endpoints {
            token_endpoint: Url::parse("https://login.microsoftonline.com/tid/oauth2/v2.0/token")
                .unwrap(),
            authorization_endpoint: None,
            device_authorization_endpoint: None,
            issuer: None,
            realm: "tid".into(),
            environment: "login.windows.net".into(),
            aliases: vec![
                "login.windows.net".into(),
                "login.microsoftonline.com".into(),
            ],
        };
        let doc = record(None, &a, &InstanceDiscovery::Enabled, &e, NOW).unwrap();
        let found = find(&doc, &a, &InstanceDiscovery::Enabled, NOW)
            .unwrap()
            .unwrap();
        assert_eq!(found.endpoints, e);
    }

    #[test]
    fn an_oidc_provider_with_a_foreign_token_host_is_not_recorded() {
        let a = Authority::oidc("https://accounts.example").unwrap();
        let e = Endpoints {
            token_endpoint: Url::parse("https://tokens.example/token").unwrap(),
            authorization_endpoint: None,
            device_authorization_endpoint: None,
            issuer: None,
            realm: "token".into(),
            environment: "accounts.example".into(),
            aliases: vec!["accounts.example".into()],
        };
        assert!(record(None, &a, &InstanceDiscovery::Enabled, &e, NOW).is_none());
    }

    #[test]
    fn recording_keeps_other_fresh_authorities_and_drops_stale_ones() {
        let (a, e) = emulator();
        let b = Authority::parse("https://localhost:8443/b").unwrap();
        let mut eb = e.clone();
        eb.token_endpoint = Url::parse("https://localhost:8443/b/oauth2/v2.0/token").unwrap();
        eb.realm = "b".into();
        let i = InstanceDiscovery::Disabled;
        let doc = record(None, &a, &i, &e, NOW).unwrap();
        let doc = record(Some(&doc), &b, &i, &eb, NOW + 10).unwrap();
        assert!(find(&doc, &a, &i, NOW + 20).unwrap().is_some());
        let doc = record(Some(&doc), &b, &i, &eb, NOW + MAX_AGE_SECS).unwrap();
        assert!(find(&doc, &a, &i, NOW + MAX_AGE_SECS).unwrap().is_none());
        assert!(record(Some("garbage"), &a, &i, &e, NOW).is_some());
    }
}
