//! What the emulator knows and remembers: tenants, app registrations (see
//! `apps.rs` for their form), counters and the recent token requests.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::apps::{App, AppRegistration};
use crate::error::EmulatorError;

/// Locks a mutex, carrying on if a previous holder panicked: every critical
/// section here leaves the data consistent, so poisoning carries no meaning.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The app [`crate::Emulator::register_demo_app`] creates: confidential, with
/// the redirect URIs `http://localhost` and `http://127.0.0.1` (any port), so it
/// can run client credentials, the authorization code flow and on-behalf-of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoApp {
    /// Its client id (a random GUID).
    pub client_id: String,
    /// Its one client secret.
    pub secret: String,
}

/// The app [`crate::Emulator::register_public_demo_app`] creates: a public client
/// (no credential) with the redirect URIs `http://localhost` and
/// `http://127.0.0.1` (any port), outside any family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicDemoApp {
    /// Its client id (a random GUID).
    pub client_id: String,
    /// `http://localhost`; any port may be added when redirecting.
    pub redirect_uri: String,
}

/// The redirect URI registered on the demo apps.
pub(crate) const DEMO_REDIRECT_URI: &str = "http://localhost";
/// Loopback redirect URIs registered on the demo apps (ports are ignored when matching).
const DEMO_REDIRECT_URIS: [&str; 2] = [DEMO_REDIRECT_URI, "http://127.0.0.1"];

/// Declares [`Counters`] and its atomic twin `CounterCells` from one list, so a
/// new counter is one line here rather than four edits that must agree.
macro_rules! counters {
    ($( $(#[$doc:meta])* $name:ident, )*) => {
        /// A snapshot of the request counters. Admin (`/_emulator/…`) requests are
        /// never counted. Per-grant counters count token requests by their
        /// `grant_type`, whatever the answer (faulted ones included).
        #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
        #[non_exhaustive]
        pub struct Counters {
            $( $(#[$doc])* #[serde(default)] pub $name: u64, )*
        }

        #[derive(Debug, Default)]
        pub(crate) struct CounterCells {
            $( pub $name: AtomicU64, )*
        }

        impl CounterCells {
            pub(crate) fn snapshot(&self) -> Counters {
                Counters { $( $name: self.$name.load(Ordering::Relaxed), )* }
            }

            pub(crate) fn reset(&self) {
                $( self.$name.store(0, Ordering::Relaxed); )*
            }
        }
    };
}

counters! {
    /// Token endpoint requests, faulted ones included.
    token_requests,
    /// OpenID configuration requests.
    discovery_requests,
    /// Instance discovery requests.
    instance_discovery_requests,
    /// JWKS requests.
    jwks_requests,
    /// Faults served (each consumed fault counts once).
    faults_served,
    /// Access tokens issued.
    tokens_issued,
    /// Requests to the protected resource (`/resource/…`), whatever the answer.
    resource_requests,
    /// Claims challenges (`401 insufficient_claims`) the resource sent.
    resource_challenges,
    /// `GET …/oauth2/v2.0/authorize` requests (not the sign-in form posts).
    authorize_requests,
    /// Token requests with `grant_type=client_credentials`.
    client_credentials_grants,
    /// Token requests with `grant_type=authorization_code`.
    authorization_code_grants,
    /// Token requests with `grant_type=refresh_token`.
    refresh_token_grants,
    /// Device authorization requests (`POST …/oauth2/v2.0/devicecode`).
    device_code_requests,
    /// Device code polls (`grant_type=urn:ietf:params:oauth:grant-type:device_code`).
    device_code_polls,
    /// Token requests with `grant_type=password`.
    password_grants,
    /// On-behalf-of requests (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`).
    obo_grants,
    /// Every non-admin request, including ones to unknown paths.
    total_requests,
}

impl CounterCells {
    pub(crate) fn bump(cell: &AtomicU64) {
        cell.fetch_add(1, Ordering::Relaxed);
    }
}

/// A token request as the emulator received it.
///
/// Secret values (`client_secret`, `client_assertion`, `password`, `refresh_token`,
/// `code`, `code_verifier`, `assertion`, `device_code`) are replaced by
/// `<redacted>`; so is the `Authorization` header. Device authorization requests
/// (`…/devicecode`) are recorded too.
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
    /// The URL's query parameters (the last value wins when a name repeats).
    #[serde(default)]
    pub query: BTreeMap<String, String>,
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

/// Tenants and apps.
#[derive(Debug)]
pub(crate) struct Directory {
    tenants: Vec<Tenant>,
    /// Keyed by lowercased client id (Entra compares GUIDs case-insensitively).
    apps: RwLock<HashMap<String, App>>,
    demo_apps: Mutex<DemoApps>,
}

impl Directory {
    pub(crate) fn new(tenants: Vec<Tenant>) -> Self {
        Directory {
            tenants,
            apps: RwLock::new(HashMap::new()),
            demo_apps: Mutex::new(DemoApps::default()),
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
        self.insert(App::from_registration(reg)?);
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

    fn insert(&self, app: App) {
        let mut apps = self.apps.write().unwrap_or_else(PoisonError::into_inner);
        apps.insert(app.client_id.to_ascii_lowercase(), app);
    }

    /// The confidential demo app, registered on first use.
    pub(crate) fn demo_app(&self) -> DemoApp {
        let mut slots = lock(&self.demo_apps);
        if let Some(app) = slots.confidential.as_ref() {
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
        self.insert(App {
            secrets: vec![app.secret.clone()],
            ..demo_entry(&app.client_id, "oxmsal demo app", false, None)
        });
        slots.confidential = Some(app.clone());
        app
    }

    /// The public demo app, registered on first use.
    pub(crate) fn public_demo_app(&self) -> PublicDemoApp {
        let mut slots = lock(&self.demo_apps);
        if let Some(app) = slots.public.as_ref() {
            return app.clone();
        }
        let app = PublicDemoApp {
            client_id: uuid::Uuid::new_v4().to_string(),
            redirect_uri: DEMO_REDIRECT_URI.into(),
        };
        self.insert(demo_entry(
            &app.client_id,
            "oxmsal public demo app",
            true,
            None,
        ));
        slots.public = Some(app.clone());
        app
    }

    /// Two public apps in family `"1"`, registered on first use.
    pub(crate) fn family_apps(&self) -> (String, String) {
        let mut slots = lock(&self.demo_apps);
        if let Some(pair) = slots.family.as_ref() {
            return pair.clone();
        }
        let pair = (
            uuid::Uuid::new_v4().to_string(),
            uuid::Uuid::new_v4().to_string(),
        );
        for (id, name) in [
            (&pair.0, "oxmsal family app 1"),
            (&pair.1, "oxmsal family app 2"),
        ] {
            self.insert(demo_entry(id, name, true, Some("1")));
        }
        slots.family = Some(pair.clone());
        pair
    }
}

/// A demo app's registration, without credentials.
fn demo_entry(client_id: &str, name: &str, public_client: bool, family: Option<&str>) -> App {
    App {
        client_id: client_id.to_owned(),
        secrets: Vec::new(),
        certificates: Vec::new(),
        display_name: Some(name.to_owned()),
        public_client,
        // Constant, valid URLs: parsing cannot fail, and dropping one could not hurt.
        redirect_uris: DEMO_REDIRECT_URIS
            .iter()
            .filter_map(|u| url::Url::parse(u).ok())
            .collect(),
        family_id: family.map(str::to_owned),
    }
}

/// The demo apps registered so far.
#[derive(Debug, Default)]
struct DemoApps {
    confidential: Option<DemoApp>,
    public: Option<PublicDemoApp>,
    family: Option<(String, String)>,
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
    fn demo_apps_are_stable_and_registered() {
        let dir = Directory::new(Vec::new());
        let a = dir.demo_app();
        assert_eq!(a, dir.demo_app());
        let app = dir.app(&a.client_id.to_uppercase()).unwrap();
        assert_eq!(app.secrets, vec![a.secret]);
        assert!(!app.public_client);
        assert_eq!(app.redirect_uris.len(), 2);

        let p = dir.public_demo_app();
        assert_eq!(p, dir.public_demo_app());
        let app = dir.app(&p.client_id).unwrap();
        assert!(app.public_client && !app.has_credentials() && app.family_id.is_none());

        let (f1, f2) = dir.family_apps();
        assert_eq!((f1.clone(), f2.clone()), dir.family_apps());
        for id in [f1, f2] {
            assert_eq!(dir.app(&id).unwrap().family_id.as_deref(), Some("1"));
        }
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
        use base64::engine::general_purpose::STANDARD;
        use base64::Engine as _;
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
                query: BTreeMap::new(),
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
