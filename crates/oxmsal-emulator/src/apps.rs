//! App registrations: what [`crate::Emulator::register_app`] and the admin API
//! accept ([`AppRegistration`]), and the checked form the endpoints use (`App`).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::{Host, Url};
use x509_cert::der::Decode as _;

use crate::error::EmulatorError;
use crate::jwt;
use crate::pem;

/// An application (client) registration.
///
/// In JSON (admin API `POST /_emulator/apps`) certificates are the key
/// `certificates`: a list of strings, each PEM or base64 DER; the other keys are
/// the field names (`public_client`, `redirect_uris`, `family_id`, all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRegistration {
    /// The application (client) id, usually a GUID.
    pub client_id: String,
    /// Accepted client secrets.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Accepted certificates (X.509 DER): a client assertion's `x5t#S256` or `x5t`
    /// must name one, and its signature must verify with that certificate's key.
    #[serde(
        default,
        rename = "certificates",
        alias = "certificates_der",
        serialize_with = "certs_to_base64",
        deserialize_with = "certs_from_text"
    )]
    pub certificates_der: Vec<Vec<u8>>,
    /// A display name (put in tokens as `app_displayname`, shown on sign-in pages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Entra's "Allow public client flows": user flows (authorization code, device
    /// code, username/password, refresh) may omit the client credential. A client
    /// that sends one is still checked against `secrets`/`certificates`.
    #[serde(default)]
    pub public_client: bool,
    /// Where the authorize endpoint may send the browser back. `http://localhost…`
    /// and `http://127.0.0.1…` entries match any port (Entra's loopback rule);
    /// everything else must match exactly.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Family of client IDs (FOCI): `Some("1")` for Microsoft's family. Token
    /// responses then carry `"foci": "1"`, and a refresh token issued to one app of
    /// the family is redeemable by every other app of the same family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_id: Option<String>,
}

impl AppRegistration {
    /// A registration with just a client id; add credentials with the `with_*` methods.
    pub fn new(client_id: impl Into<String>) -> Self {
        AppRegistration {
            client_id: client_id.into(),
            ..Default::default()
        }
    }

    /// Accept this client secret.
    #[must_use]
    pub fn with_secret(mut self, secret: impl Into<String>) -> Self {
        self.secrets.push(secret.into());
        self
    }

    /// Accept assertions signed by this certificate's key (X.509 DER).
    #[must_use]
    pub fn with_certificate_der(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.certificates_der.push(der.into());
        self
    }

    /// Set the display name.
    #[must_use]
    pub fn with_display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = Some(name.into());
        self
    }

    /// Allow (or not) public client flows without a credential.
    #[must_use]
    pub fn with_public_client(mut self, public_client: bool) -> Self {
        self.public_client = public_client;
        self
    }

    /// Add a redirect URI.
    #[must_use]
    pub fn with_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uris.push(uri.into());
        self
    }

    /// Put the app in a family of client IDs (FOCI); Microsoft's family is `"1"`.
    #[must_use]
    pub fn with_family_id(mut self, family_id: impl Into<String>) -> Self {
        self.family_id = Some(family_id.into());
        self
    }
}

fn certs_to_base64<S: Serializer>(certs: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(certs.iter().map(|c| STANDARD.encode(c)))
}

fn certs_from_text<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
    let texts = Vec::<String>::deserialize(d)?;
    let mut out = Vec::new();
    for text in texts {
        if text.contains("-----BEGIN") {
            let ders = pem::decode_all(&text, "CERTIFICATE").map_err(serde::de::Error::custom)?;
            if ders.is_empty() {
                return Err(serde::de::Error::custom(
                    "a PEM certificate entry has no CERTIFICATE block",
                ));
            }
            out.extend(ders);
        } else {
            let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            let der = STANDARD
                .decode(compact.as_bytes())
                .map_err(|e| serde::de::Error::custom(format!("certificate is not base64: {e}")))?;
            out.push(der);
        }
    }
    Ok(out)
}

/// A certificate accepted for client assertions, with what checking one needs.
#[derive(Debug, Clone)]
pub(crate) struct RegisteredCert {
    pub x5t_s256: String,
    pub x5t: String,
    /// PKCS#1 `RSAPublicKey` DER.
    pub public_key: Vec<u8>,
}

impl RegisteredCert {
    fn parse(der: &[u8]) -> Result<Self, EmulatorError> {
        let cert = x509_cert::Certificate::from_der(der)
            .map_err(|e| EmulatorError::InvalidCertificate(format!("not X.509 DER: {e}")))?;
        let spki = &cert.tbs_certificate.subject_public_key_info;
        if spki.algorithm.oid.to_string() != "1.2.840.113549.1.1.1" {
            return Err(EmulatorError::InvalidCertificate(format!(
                "the key is not RSA (algorithm {})",
                spki.algorithm.oid
            )));
        }
        Ok(RegisteredCert {
            x5t_s256: jwt::x5t_s256(der),
            x5t: jwt::x5t_sha1(der),
            public_key: spki.subject_public_key.raw_bytes().to_vec(),
        })
    }
}

/// An app as the endpoints use it.
#[derive(Debug, Clone)]
pub(crate) struct App {
    pub client_id: String,
    pub secrets: Vec<String>,
    pub certificates: Vec<RegisteredCert>,
    pub display_name: Option<String>,
    pub public_client: bool,
    pub redirect_uris: Vec<Url>,
    pub family_id: Option<String>,
}

impl App {
    pub(crate) fn from_registration(reg: &AppRegistration) -> Result<Self, EmulatorError> {
        let client_id = reg.client_id.trim();
        if client_id.is_empty() {
            return Err(EmulatorError::InvalidApp("client_id is empty".into()));
        }
        let certificates = reg
            .certificates_der
            .iter()
            .map(|der| RegisteredCert::parse(der))
            .collect::<Result<Vec<_>, _>>()?;
        let redirect_uris = reg
            .redirect_uris
            .iter()
            .map(|uri| {
                Url::parse(uri.trim()).map_err(|e| {
                    EmulatorError::InvalidApp(format!("redirect URI '{uri}' is not a URL: {e}"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let family_id = match reg.family_id.as_deref().map(str::trim) {
            Some("") => return Err(EmulatorError::InvalidApp("family_id is empty".into())),
            other => other.map(str::to_owned),
        };
        Ok(App {
            client_id: client_id.to_owned(),
            secrets: reg.secrets.clone(),
            certificates,
            display_name: reg.display_name.clone(),
            public_client: reg.public_client,
            redirect_uris,
            family_id,
        })
    }

    /// Whether the app can prove its identity at all (a secret or a certificate).
    pub(crate) fn has_credentials(&self) -> bool {
        !self.secrets.is_empty() || !self.certificates.is_empty()
    }

    /// The name sign-in pages show.
    pub(crate) fn name(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.client_id)
    }

    /// Whether `requested` is one of the app's redirect URIs.
    pub(crate) fn accepts_redirect_uri(&self, requested: &Url) -> bool {
        self.redirect_uris
            .iter()
            .any(|registered| redirect_uri_matches(registered, requested))
    }
}

/// `http` to `localhost`, `127.0.0.1` or `[::1]`.
fn is_loopback(url: &Url) -> bool {
    url.scheme() == "http"
        && match url.host() {
            Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        }
}

/// Entra's redirect URI comparison: exact (as URLs, so scheme and host case do
/// not matter), except that for loopback URIs the port is ignored — native apps
/// listen on whatever port is free (RFC 8252 §7.3). The host must still match:
/// `localhost` and `127.0.0.1` are different registrations.
pub(crate) fn redirect_uri_matches(registered: &Url, requested: &Url) -> bool {
    if is_loopback(registered) && is_loopback(requested) {
        registered.host() == requested.host()
            && registered.path() == requested.path()
            && registered.query() == requested.query()
            && requested.fragment().is_none()
    } else {
        registered == requested
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn loopback_redirects_ignore_the_port() {
        let localhost = url("http://localhost");
        assert!(redirect_uri_matches(
            &localhost,
            &url("http://localhost:51234")
        ));
        assert!(redirect_uri_matches(
            &localhost,
            &url("http://LOCALHOST:1/")
        ));
        assert!(!redirect_uri_matches(
            &localhost,
            &url("http://localhost:1/cb")
        ));
        assert!(!redirect_uri_matches(
            &localhost,
            &url("http://127.0.0.1:1")
        ));
        assert!(!redirect_uri_matches(
            &localhost,
            &url("https://localhost:1")
        ));
        let ip = url("http://127.0.0.1:8400/auth");
        assert!(redirect_uri_matches(&ip, &url("http://127.0.0.1:9/auth")));
        let web = url("https://app.example/callback");
        assert!(redirect_uri_matches(
            &web,
            &url("https://APP.example/callback")
        ));
        assert!(!redirect_uri_matches(
            &web,
            &url("https://app.example:8443/callback")
        ));
        assert!(!redirect_uri_matches(
            &web,
            &url("https://app.example/callback/")
        ));
    }

    #[test]
    fn registrations_are_checked() {
        let bad = AppRegistration::new("x").with_redirect_uri("not a url");
        assert!(matches!(
            App::from_registration(&bad),
            Err(EmulatorError::InvalidApp(_))
        ));
        let bad = AppRegistration::new("x").with_family_id(" ");
        assert!(App::from_registration(&bad).is_err());
        let ok = AppRegistration::new("x")
            .with_public_client(true)
            .with_redirect_uri("http://localhost")
            .with_family_id("1");
        let app = App::from_registration(&ok).unwrap();
        assert!(app.public_client && !app.has_credentials());
        assert_eq!(app.family_id.as_deref(), Some("1"));
        let json: AppRegistration = serde_json::from_value(serde_json::json!({
            "client_id": "p", "public_client": true, "redirect_uris": ["http://localhost"],
            "family_id": "1"
        }))
        .unwrap();
        assert_eq!(json, ok.clone_with_id("p"));
    }

    impl AppRegistration {
        fn clone_with_id(&self, id: &str) -> Self {
            AppRegistration {
                client_id: id.into(),
                ..self.clone()
            }
        }
    }
}
