//! Authorities: where tokens come from.
//!
//! An [`Authority`] is parsed and checked when the app is built — never by
//! touching the network. Its endpoints are discovered lazily, on the first
//! request, and kept for the life of the app (`authority::discovery`, internal).
//! With cache persistence they are kept with the cache for 24 hours, so a new
//! process finds its cached tokens without a request (`authority::persisted`).

pub(crate) mod discovery;
pub(crate) mod endpoints;
mod instance;
pub(crate) mod persisted;

pub use instance::InstanceDiscovery;

use std::fmt;

use url::Url;

use crate::error::{Error, Result};

/// Hosts of the Microsoft identity platform in the public and sovereign clouds.
/// Instance discovery for these goes to the host itself.
pub(crate) const KNOWN_HOSTS: [&str; 10] = [
    "login.microsoftonline.com",
    "login.microsoft.com",
    "login.windows.net",
    "sts.windows.net",
    "login.microsoftonline.us",
    "login.usgovcloudapi.net",
    "login-us.microsoftonline.com",
    "login.chinacloudapi.cn",
    "login.partner.microsoftonline.cn",
    "login.microsoftonline.de",
];

/// What kind of identity provider an authority is.
///
/// ```
/// use oxmsal::authority::{Authority, AuthorityKind};
/// let a = Authority::parse("https://login.microsoftonline.com/contoso.onmicrosoft.com").unwrap();
/// assert_eq!(a.kind(), AuthorityKind::Aad);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthorityKind {
    /// Entra ID (Azure AD) tenant, `common`, `organizations` or `consumers`.
    Aad,
    /// Active Directory Federation Services (`/adfs`).
    Adfs,
    /// Azure AD B2C (`*.b2clogin.com`, policy in the path).
    B2c,
    /// Entra External ID (`*.ciamlogin.com`).
    Ciam,
    /// Any OpenID Connect issuer.
    Generic,
}

impl AuthorityKind {
    /// The `authority_type` MSAL writes on cached accounts.
    ///
    /// ```
    /// assert_eq!(oxmsal::authority::AuthorityKind::Adfs.cache_type(), "ADFS");
    /// ```
    pub fn cache_type(self) -> &'static str {
        match self {
            AuthorityKind::Adfs => "ADFS",
            AuthorityKind::Generic => "Generic",
            _ => "MSSTS",
        }
    }
}

/// A parsed, validated authority URL.
///
/// ```
/// use oxmsal::authority::Authority;
/// let a = Authority::parse("https://login.microsoftonline.com/organizations/").unwrap();
/// assert_eq!(a.as_str(), "https://login.microsoftonline.com/organizations");
/// assert_eq!(a.tenant(), "organizations");
/// assert_eq!(a.environment(), "login.microsoftonline.com");
/// assert!(Authority::parse("https://login.microsoftonline.com/").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Authority {
    url: Url,
    kind: AuthorityKind,
    tenant: String,
    environment: String,
}

impl Authority {
    /// Parses an Entra ID, ADFS, B2C or CIAM authority: `https://host/tenant[/...]`.
    ///
    /// Plain `http` is accepted here only for loopback hosts; the app builder then
    /// refuses it unless the app opted in.
    ///
    /// ```
    /// use oxmsal::authority::{Authority, AuthorityKind};
    /// assert_eq!(Authority::parse("https://adfs.contoso.com/adfs").unwrap().kind(), AuthorityKind::Adfs);
    /// assert!(Authority::parse("http://login.microsoftonline.com/common").is_err());
    /// assert!(Authority::parse("http://localhost:8400/common").is_ok());
    /// ```
    pub fn parse(authority: &str) -> Result<Self> {
        let url = parse_url(authority)?;
        let segments: Vec<String> = url
            .path_segments()
            .map(|s| s.filter(|p| !p.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default();
        let Some(first) = segments.first() else {
            return Err(Error::configuration(format!(
                "authority `{authority}` has no tenant: expected https://host/TENANT (a tenant id, a domain, `common`, `organizations` or `consumers`)"
            )));
        };
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let kind = if first.eq_ignore_ascii_case("adfs") {
            AuthorityKind::Adfs
        } else if host.ends_with(".b2clogin.com")
            || segments.iter().any(|s| s.eq_ignore_ascii_case("tfp"))
        {
            AuthorityKind::B2c
        } else if host.ends_with(".ciamlogin.com") {
            AuthorityKind::Ciam
        } else {
            AuthorityKind::Aad
        };
        if kind != AuthorityKind::Adfs {
            check_tenant(first)
                .map_err(|e| Error::configuration(format!("authority `{authority}`: {e}")))?;
        }
        if kind == AuthorityKind::Aad && segments.len() > 1 {
            return Err(Error::configuration(format!(
                "authority `{authority}` has more than one path segment; an Entra ID authority is https://host/TENANT (for another OpenID provider use `oidc_authority`)"
            )));
        }
        Ok(Self::assemble(url, kind, first.clone(), host))
    }

    /// An OpenID Connect issuer, discovered at `{issuer}/.well-known/openid-configuration`.
    ///
    /// ```
    /// use oxmsal::authority::{Authority, AuthorityKind};
    /// let a = Authority::oidc("https://127.0.0.1:3000/tenant1").unwrap();
    /// assert_eq!(a.kind(), AuthorityKind::Generic);
    /// ```
    pub fn oidc(issuer: &str) -> Result<Self> {
        let url = parse_url(issuer)?;
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let tenant = url
            .path_segments()
            .and_then(|mut s| s.find(|p| !p.is_empty()))
            .unwrap_or_default()
            .to_owned();
        Ok(Self::assemble(url, AuthorityKind::Generic, tenant, host))
    }

    fn assemble(mut url: Url, kind: AuthorityKind, tenant: String, environment: String) -> Self {
        let trimmed = url.path().trim_end_matches('/').to_owned();
        url.set_path(&trimmed);
        Authority {
            url,
            kind,
            tenant,
            environment,
        }
    }

    /// The same authority for another tenant (Entra ID only; per-request override).
    ///
    /// ```
    /// use oxmsal::authority::Authority;
    /// let a = Authority::parse("https://login.microsoftonline.com/organizations").unwrap();
    /// let b = a.with_tenant("contoso.com").unwrap();
    /// assert_eq!(b.as_str(), "https://login.microsoftonline.com/contoso.com");
    /// ```
    pub fn with_tenant(&self, tenant: &str) -> Result<Self> {
        if !matches!(self.kind, AuthorityKind::Aad | AuthorityKind::Ciam) {
            return Err(Error::configuration(
                "a tenant can be chosen per request only for Entra ID authorities",
            ));
        }
        check_tenant(tenant)?;
        let mut url = self.url.clone();
        url.set_path(tenant);
        Ok(Self::assemble(
            url,
            self.kind,
            tenant.to_owned(),
            self.environment.clone(),
        ))
    }

    /// The authority URL, without a trailing slash.
    ///
    /// ```
    /// # use oxmsal::authority::Authority;
    /// assert_eq!(Authority::parse("https://h.example/t").unwrap().as_str(), "https://h.example/t");
    /// ```
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    /// The parsed URL.
    ///
    /// ```
    /// # use oxmsal::authority::Authority;
    /// assert_eq!(Authority::parse("https://h.example/t").unwrap().url().host_str(), Some("h.example"));
    /// ```
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The kind of provider.
    ///
    /// ```
    /// # use oxmsal::authority::{Authority, AuthorityKind};
    /// assert_eq!(Authority::parse("https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signin").unwrap().kind(), AuthorityKind::B2c);
    /// ```
    pub fn kind(&self) -> AuthorityKind {
        self.kind
    }

    /// The tenant as written in the URL (first path segment).
    ///
    /// ```
    /// # use oxmsal::authority::Authority;
    /// assert_eq!(Authority::parse("https://h.example/contoso.com").unwrap().tenant(), "contoso.com");
    /// ```
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The host, lowercase, without port: the cache's `environment`.
    ///
    /// ```
    /// # use oxmsal::authority::Authority;
    /// assert_eq!(Authority::parse("https://LocalHost:8443/t").unwrap().environment(), "localhost");
    /// ```
    pub fn environment(&self) -> &str {
        &self.environment
    }

    /// Whether the host is one of Microsoft's own.
    pub(crate) fn is_known_host(&self) -> bool {
        KNOWN_HOSTS.contains(&self.environment.as_str())
    }

    /// Where the OpenID configuration of this authority is published.
    pub(crate) fn discovery_url(&self) -> Result<Url> {
        let suffix = match self.kind {
            AuthorityKind::Aad | AuthorityKind::B2c | AuthorityKind::Ciam => {
                "v2.0/.well-known/openid-configuration"
            }
            AuthorityKind::Adfs | AuthorityKind::Generic => ".well-known/openid-configuration",
        };
        let base = format!("{}/", self.url.as_str().trim_end_matches('/'));
        Url::parse(&base)
            .and_then(|b| b.join(suffix))
            .map_err(|e| Error::configuration(format!("cannot build the discovery URL: {e}")))
    }
}

impl fmt::Display for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A tenant is a tenant id (GUID), a domain, `common`, `organizations` or
/// `consumers`: letters, digits, `-`, `.` and `_`, and not only dots. It becomes
/// a path segment of every request URL, so anything else — `.` or `..` (which
/// URL resolution turns into the host's root), `/`, `?`, `#`, `%`, whitespace,
/// control characters, the empty string — is refused before any request.
pub(crate) fn check_tenant(tenant: &str) -> Result<()> {
    let allowed = tenant
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
    if tenant.is_empty() || !allowed || tenant.chars().all(|c| c == '.') {
        return Err(Error::configuration(format!(
            "tenant `{}` is not a tenant id or domain (letters, digits, `-`, `.`, `_`; not only dots)",
            tenant.escape_debug()
        )));
    }
    Ok(())
}

fn parse_url(text: &str) -> Result<Url> {
    let url = Url::parse(text.trim())
        .map_err(|e| Error::configuration(format!("authority `{text}` is not a URL: {e}")))?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::configuration(format!(
            "authority `{text}` has no host"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::configuration(format!(
            "authority `{}` must not carry credentials",
            url.host_str().unwrap_or_default()
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::configuration(format!(
            "authority `{text}` must not have a query or fragment"
        )));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if crate::http::is_loopback(&url) => Ok(url),
        _ => Err(Error::configuration(format!(
            "authority `{text}` must use https (plain http only for a loopback host, when the app allows it)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn rejects_bad_authorities() {
        for bad in [
            "",
            "login.microsoftonline.com/common",
            "https://",
            "https://login.microsoftonline.com",
            "https://login.microsoftonline.com/common?x=1",
            "https://user:pw@login.microsoftonline.com/common",
            "http://example.com/common",
            "ftp://localhost/common",
            "https://login.microsoftonline.com/common/extra",
        ] {
            assert!(Authority::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn discovery_urls() {
        let aad = Authority::parse("https://localhost:1/t").unwrap();
        assert_eq!(
            aad.discovery_url().unwrap().as_str(),
            "https://localhost:1/t/v2.0/.well-known/openid-configuration"
        );
        let adfs = Authority::parse("https://fs.contoso.com/adfs/").unwrap();
        assert_eq!(
            adfs.discovery_url().unwrap().as_str(),
            "https://fs.contoso.com/adfs/.well-known/openid-configuration"
        );
        let oidc = Authority::oidc("https://127.0.0.1:3000/tenant1/").unwrap();
        assert_eq!(
            oidc.discovery_url().unwrap().as_str(),
            "https://127.0.0.1:3000/tenant1/.well-known/openid-configuration"
        );
        assert_eq!(oidc.tenant(), "tenant1");
    }

    #[test]
    fn tenant_override_validates() {
        let p = Authority::parse("https://login.microsoftonline.com/common").unwrap();
        for bad in [
            ".", "..", "...", "a/b", "a?b", "a#b", "a b", "a\tb", "a\r\nb", "", "%2e%2e", "a\\b",
        ] {
            assert!(p.with_tenant(bad).is_err(), "{bad:?}");
        }
        for good in [
            "common",
            "contoso.com",
            "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "a_b",
        ] {
            assert_eq!(p.with_tenant(good).unwrap().tenant(), good);
        }
        for bad in [
            "https://h.example/a%20b",
            "https://h.example/a%2Fb",
            "https://h.example/a%3Fb",
            "https://h.example/..",
        ] {
            let e = Authority::parse(bad).unwrap_err();
            assert_eq!(e.kind(), crate::error::ErrorKind::Configuration, "{bad}");
        }
        let a = Authority::parse("https://login.microsoftonline.com/common").unwrap();
        assert!(a.with_tenant("a/b").is_err());
        assert!(a.with_tenant("").is_err());
        assert!(Authority::oidc("https://x.example/t")
            .unwrap()
            .with_tenant("t2")
            .is_err());
    }
}
