//! What the emulator knows and remembers: tenants, app registrations, counters
//! and the recent token requests.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock};
use std::time::SystemTime;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use x509_cert::der::Decode as _;

use crate::error::EmulatorError;
use crate::jwt;
use crate::pem;

/// Locks a mutex, carrying on if a previous holder panicked: every critical
/// section here leaves the data consistent, so poisoning carries no meaning.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An application (client) registration.
///
/// In JSON (admin API `POST /_emulator/apps`) certificates are the key
/// `certificates`: a list of strings, each PEM or base64 DER.
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
    /// A display name (put in tokens as `app_displayname`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
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

/// The app [`crate::Emulator::register_demo_app`] creates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoApp {
    /// Its client id (a random GUID).
    pub client_id: String,
    /// Its one client secret.
    pub secret: String,
}

/// A snapshot of the request counters. Admin (`/_emulator/…`) requests are never counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Counters {
    /// Token endpoint requests, faulted ones included.
    pub token_requests: u64,
    /// OpenID configuration requests.
    pub discovery_requests: u64,
    /// Instance discovery requests.
    pub instance_discovery_requests: u64,
    /// JWKS requests.
    pub jwks_requests: u64,
    /// Faults served (each consumed fault counts once).
    pub faults_served: u64,
    /// Access tokens issued.
    #[serde(default)]
    pub tokens_issued: u64,
    /// Requests to the protected resource (`/resource/…`), whatever the answer.
    #[serde(default)]
    pub resource_requests: u64,
    /// Claims challenges (`401 insufficient_claims`) the resource sent.
    #[serde(default)]
    pub resource_challenges: u64,
    /// Every non-admin request, including ones to unknown paths.
    pub total_requests: u64,
}

#[derive(Debug, Default)]
pub(crate) struct CounterCells {
    pub token_requests: AtomicU64,
    pub discovery_requests: AtomicU64,
    pub instance_discovery_requests: AtomicU64,
    pub jwks_requests: AtomicU64,
    pub faults_served: AtomicU64,
    pub tokens_issued: AtomicU64,
    pub resource_requests: AtomicU64,
    pub resource_challenges: AtomicU64,
    pub total_requests: AtomicU64,
}

impl CounterCells {
    pub(crate) fn bump(cell: &AtomicU64) {
        cell.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Counters {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Counters {
            token_requests: get(&self.token_requests),
            discovery_requests: get(&self.discovery_requests),
            instance_discovery_requests: get(&self.instance_discovery_requests),
            jwks_requests: get(&self.jwks_requests),
            faults_served: get(&self.faults_served),
            tokens_issued: get(&self.tokens_issued),
            resource_requests: get(&self.resource_requests),
            resource_challenges: get(&self.resource_challenges),
            total_requests: get(&self.total_requests),
        }
    }

    pub(crate) fn reset(&self) {
        for c in [
            &self.token_requests,
            &self.discovery_requests,
            &self.instance_discovery_requests,
            &self.jwks_requests,
            &self.faults_served,
            &self.tokens_issued,
            &self.resource_requests,
            &self.resource_challenges,
            &self.total_requests,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// A token request as the emulator received it.
///
/// Secret values (`client_secret`, `client_assertion`, `password`) are replaced by
/// `<redacted>`; so is the `Authorization` header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// When it arrived (JSON: milliseconds since the Unix epoch).
    #[serde(with = "unix_millis")]
    pub time: SystemTime,
    /// The request path, e.g. `/72f9…/oauth2/v2.0/token`.
    pub path: String,
    /// The tenant segment of the path as sent.
    pub tenant: String,
    /// The form parameters (the last value wins when a name repeats).
    pub params: BTreeMap<String, String>,
    /// Request headers, names lowercased (`client-request-id`, `x-client-sku`, …).
    pub headers: BTreeMap<String, String>,
    /// The parsed `claims` parameter, when it was valid JSON.
    pub claims: Option<Value>,
    /// The correlation id the response carried.
    pub correlation_id: String,
    /// The response status; `None` when the connection was dropped by a fault.
    pub status: Option<u16>,
    /// The `"kind"` of the fault served to this request, if any.
    pub fault: Option<String>,
}

impl RecordedRequest {
    /// A form parameter's value.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// A header's value (name in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

mod unix_millis {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        let ms = t
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        s.serialize_u64(ms)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let ms = u64::deserialize(d)?;
        Ok(UNIX_EPOCH + Duration::from_millis(ms))
    }
}

/// How many token requests are remembered.
pub(crate) const RECORDED_LIMIT: usize = 1000;

/// A tenant: its GUID and the domains that name it.
#[derive(Debug, Clone)]
pub(crate) struct Tenant {
    pub id: String,
    pub domains: Vec<String>,
}

/// The tenant segment of a URL, resolved.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TenantRef<'a> {
    /// A known tenant, named by GUID or domain.
    Specific(&'a Tenant),
    /// `common`, `organizations` or `consumers` (lowercased).
    Alias(&'static str),
}

/// The GUID Entra uses as the issuer tenant of `/consumers` (personal accounts).
pub(crate) const CONSUMERS_TENANT_ID: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

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

/// An app as the token endpoint uses it.
#[derive(Debug, Clone)]
pub(crate) struct App {
    pub client_id: String,
    pub secrets: Vec<String>,
    pub certificates: Vec<RegisteredCert>,
    pub display_name: Option<String>,
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
        Ok(App {
            client_id: client_id.to_owned(),
            secrets: reg.secrets.clone(),
            certificates,
            display_name: reg.display_name.clone(),
        })
    }
}

/// Tenants and apps.
#[derive(Debug)]
pub(crate) struct Directory {
    tenants: Vec<Tenant>,
    /// Keyed by lowercased client id (Entra compares GUIDs case-insensitively).
    apps: RwLock<HashMap<String, App>>,
    demo_app: Mutex<Option<DemoApp>>,
}

impl Directory {
    pub(crate) fn new(tenants: Vec<Tenant>) -> Self {
        Directory {
            tenants,
            apps: RwLock::new(HashMap::new()),
            demo_app: Mutex::new(None),
        }
    }

    /// Every tenant, the default one first.
    pub(crate) fn tenants(&self) -> &[Tenant] {
        &self.tenants
    }

    /// The first tenant, whose id [`crate::Emulator::tenant_id`] reports.
    pub(crate) fn default_tenant(&self) -> Option<&Tenant> {
        self.tenants.first()
    }

    /// Resolves a URL's tenant segment; `None` for an unknown tenant.
    pub(crate) fn resolve(&self, segment: &str) -> Option<TenantRef<'_>> {
        let lower = segment.to_ascii_lowercase();
        for alias in ["common", "organizations", "consumers"] {
            if lower == alias {
                return Some(TenantRef::Alias(alias));
            }
        }
        self.tenants
            .iter()
            .find(|t| {
                t.id.eq_ignore_ascii_case(&lower)
                    || t.domains.iter().any(|d| d.eq_ignore_ascii_case(&lower))
            })
            .map(TenantRef::Specific)
    }

    pub(crate) fn register(&self, reg: &AppRegistration) -> Result<(), EmulatorError> {
        let app = App::from_registration(reg)?;
        let mut apps = self.apps.write().unwrap_or_else(PoisonError::into_inner);
        apps.insert(app.client_id.to_ascii_lowercase(), app);
        Ok(())
    }

    pub(crate) fn app(&self, client_id: &str) -> Option<App> {
        let apps = self.apps.read().unwrap_or_else(PoisonError::into_inner);
        apps.get(&client_id.trim().to_ascii_lowercase()).cloned()
    }

    pub(crate) fn app_ids(&self) -> Vec<String> {
        let apps = self.apps.read().unwrap_or_else(PoisonError::into_inner);
        let mut ids: Vec<String> = apps.values().map(|a| a.client_id.clone()).collect();
        ids.sort();
        ids
    }

    /// The demo app, registered on first use.
    pub(crate) fn demo_app(&self) -> DemoApp {
        let mut slot = lock(&self.demo_app);
        if let Some(app) = slot.as_ref() {
            return app.clone();
        }
        let app = DemoApp {
            client_id: uuid::Uuid::new_v4().to_string(),
            // Entra secrets are ~40 printable characters; two GUIDs make a comparable one.
            secret: format!(
                "{}~{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            ),
        };
        let app_entry = App {
            client_id: app.client_id.clone(),
            secrets: vec![app.secret.clone()],
            certificates: Vec::new(),
            display_name: Some("oxmsal demo app".into()),
        };
        let mut apps = self.apps.write().unwrap_or_else(PoisonError::into_inner);
        apps.insert(app.client_id.to_ascii_lowercase(), app_entry);
        *slot = Some(app.clone());
        app
    }
}

/// The last [`RECORDED_LIMIT`] token requests.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    requests: Mutex<VecDeque<RecordedRequest>>,
}

impl Recorder {
    pub(crate) fn push(&self, request: RecordedRequest) {
        let mut q = lock(&self.requests);
        while q.len() >= RECORDED_LIMIT {
            q.pop_front();
        }
        q.push_back(request);
    }

    pub(crate) fn snapshot(&self) -> Vec<RecordedRequest> {
        lock(&self.requests).iter().cloned().collect()
    }

    pub(crate) fn clear(&self) {
        lock(&self.requests).clear();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn resolves_tenants_case_insensitively() {
        let dir = Directory::new(vec![Tenant {
            id: "72f988bf-86f1-41af-91ab-2d7cd011db47".into(),
            domains: vec!["contoso.onmicrosoft.com".into()],
        }]);
        assert!(matches!(
            dir.resolve("72F988BF-86F1-41AF-91AB-2D7CD011DB47"),
            Some(TenantRef::Specific(_))
        ));
        assert!(matches!(
            dir.resolve("Contoso.OnMicrosoft.com"),
            Some(TenantRef::Specific(_))
        ));
        assert!(matches!(
            dir.resolve("Organizations"),
            Some(TenantRef::Alias("organizations"))
        ));
        assert!(dir.resolve("fabrikam.com").is_none());
    }

    #[test]
    fn demo_app_is_stable_and_registered() {
        let dir = Directory::new(Vec::new());
        let a = dir.demo_app();
        assert_eq!(a, dir.demo_app());
        let app = dir.app(&a.client_id.to_uppercase()).unwrap();
        assert_eq!(app.secrets, vec![a.secret]);
    }

    #[test]
    fn rejects_bad_registrations() {
        let dir = Directory::new(Vec::new());
        assert!(matches!(
            dir.register(&AppRegistration::new("  ")),
            Err(EmulatorError::InvalidApp(_))
        ));
        assert!(matches!(
            dir.register(&AppRegistration::new("x").with_certificate_der(vec![1, 2, 3])),
            Err(EmulatorError::InvalidCertificate(_))
        ));
    }

    #[test]
    fn registration_json_accepts_pem_and_base64() {
        let cert = crate::testing::client_certificate("json");
        let reg: AppRegistration = serde_json::from_value(serde_json::json!({
            "client_id": "abc",
            "secrets": ["s"],
            "certificates": [cert.cert_pem, STANDARD.encode(&cert.cert_der)],
        }))
        .unwrap();
        assert_eq!(
            reg.certificates_der,
            vec![cert.cert_der.clone(), cert.cert_der]
        );
        let back = serde_json::to_value(&reg).unwrap();
        assert_eq!(back["certificates"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn recorder_is_bounded() {
        let r = Recorder::default();
        for i in 0..(RECORDED_LIMIT + 5) {
            r.push(RecordedRequest {
                time: SystemTime::now(),
                path: i.to_string(),
                tenant: String::new(),
                params: BTreeMap::new(),
                headers: BTreeMap::new(),
                claims: None,
                correlation_id: String::new(),
                status: Some(200),
                fault: None,
            });
        }
        let all = r.snapshot();
        assert_eq!(all.len(), RECORDED_LIMIT);
        assert_eq!(all[0].path, "5");
    }
}
