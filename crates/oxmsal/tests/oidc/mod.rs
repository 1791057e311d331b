//! The npm `oidc-provider` (a certified OpenID Provider) as a child process, a
//! CA and leaf made with the `openssl` CLI, and a headless "browser" that drives
//! the provider's development login, consent and device pages over real HTTPS.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde_json::Value;
use url::Url;

/// The fixtures `interop/oidc-provider/server.mjs` registers.
pub const PUBLIC_CLIENT_ID: &str = "oxmsal-public";
pub const REDIRECT_URI: &str = "http://127.0.0.1/callback";
pub const DAEMON_CLIENT_ID: &str = "oxmsal-daemon";
pub const DAEMON_CLIENT_SECRET: &str = "oxmsal-daemon-secret-for-local-tests-only";
pub const API_RESOURCE: &str = "https://api.oxmsal.test";
pub const API_SCOPE: &str = "api.read";

/// How long the provider may take to print its ready line (Node start-up,
/// module loading, key generation) on a loaded 2-core machine.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

const RUN_SCRIPTS_TEST: &str =
    "run scripts/test (it runs `npm ci --prefix interop/oidc-provider`), or that command yourself";

fn interop_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../interop/oidc-provider");
    dir.canonicalize().unwrap_or(dir)
}

/// A CA and a leaf for `localhost` and `127.0.0.1` signed by it, in a temp dir.
/// (rustls rejects a self-signed leaf used as its own trust anchor.)
pub struct Pki {
    dir: tempfile::TempDir,
    pub ca_pem: Vec<u8>,
}

impl Pki {
    pub fn generate() -> Pki {
        let dir = tempfile::tempdir().expect("a temp dir for the test PKI");
        let p = |name: &str| dir.path().join(name);
        std::fs::write(
            p("leaf.ext"),
            "basicConstraints=critical,CA:FALSE\n\
             keyUsage=critical,digitalSignature\n\
             extendedKeyUsage=serverAuth\n\
             subjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )
        .unwrap();
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            path_str(&p("ca.key")),
            "-out",
            path_str(&p("ca.pem")),
            "-days",
            "2",
            "-subj",
            "/CN=oxmsal oidc-provider test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            path_str(&p("leaf.key")),
            "-out",
            path_str(&p("leaf.csr")),
            "-subj",
            "/CN=localhost",
        ]);
        openssl(&[
            "x509",
            "-req",
            "-in",
            path_str(&p("leaf.csr")),
            "-CA",
            path_str(&p("ca.pem")),
            "-CAkey",
            path_str(&p("ca.key")),
            "-set_serial",
            "2",
            "-days",
            "2",
            "-extfile",
            path_str(&p("leaf.ext")),
            "-out",
            path_str(&p("leaf.pem")),
        ]);
        let ca_pem = std::fs::read(p("ca.pem")).unwrap();
        Pki { dir, ca_pem }
    }

    pub fn leaf_cert(&self) -> PathBuf {
        self.dir.path().join("leaf.pem")
    }

    pub fn leaf_key(&self) -> PathBuf {
        self.dir.path().join("leaf.key")
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!("the `openssl` CLI is needed to make the test certificates ({e}); install it (apt-get install openssl)")
        });
    assert!(
        out.status.success(),
        "openssl {} failed: {}",
        args.first().unwrap_or(&""),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A running `node interop/oidc-provider/server.mjs`, killed on drop.
pub struct OidcProvider {
    child: Child,
    /// Held open: the server exits when it closes (`--exit-with-stdin`), so it
    /// cannot outlive a test process that died without running `Drop`.
    _stdin: Option<ChildStdin>,
    stderr: Arc<Mutex<String>>,
    pub issuer: String,
    pub port: u16,
    pub pki: Pki,
}

impl OidcProvider {
    /// Starts the provider on a free port and waits for its ready line. Panics,
    /// saying what to run, when `node` or the npm dependencies are missing.
    pub fn start() -> OidcProvider {
        let dir = interop_dir();
        let node = std::env::var("OXMSAL_TEST_NODE").unwrap_or_else(|_| "node".to_owned());
        match Command::new(&node).arg("--version").output() {
            Ok(out) if out.status.success() => {}
            Ok(out) => panic!(
                "`{node} --version` failed ({}): Node.js is needed for the oidc-provider interop tests; {RUN_SCRIPTS_TEST}",
                out.status
            ),
            Err(e) => panic!(
                "Node.js (`{node}`) is not available ({e}); it is needed for the oidc-provider interop tests — install Node.js 20+ and {RUN_SCRIPTS_TEST}"
            ),
        }
        let module = dir.join("node_modules/oidc-provider/package.json");
        assert!(
            module.is_file(),
            "{} is missing: the npm dependencies of the oidc-provider interop server are not installed; {RUN_SCRIPTS_TEST}",
            module.display()
        );

        let pki = Pki::generate();
        let mut child = Command::new(&node)
            .arg(dir.join("server.mjs"))
            .arg("--port")
            .arg("0")
            .arg("--cert")
            .arg(pki.leaf_cert())
            .arg("--key")
            .arg(pki.leaf_key())
            .arg("--exit-with-stdin")
            .current_dir(&dir)
            .env_remove("NODE_OPTIONS")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{node} server.mjs`: {e}"));

        let stderr = Arc::new(Mutex::new(String::new()));
        {
            let pipe = child.stderr.take().unwrap();
            let sink = stderr.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let mut s = sink.lock().unwrap();
                    s.push_str(&line);
                    s.push('\n');
                }
            });
        }
        let (ready_tx, ready_rx) = mpsc::channel::<String>();
        {
            let pipe = child.stdout.take().unwrap();
            std::thread::spawn(move || {
                let mut lines = BufReader::new(pipe).lines().map_while(Result::ok);
                if let Some(first) = lines.next() {
                    let _ = ready_tx.send(first);
                }
                // Keep draining: the server promises one line, but never block it.
                for _ in lines {}
            });
        }
        let stdin = child.stdin.take();
        let mut provider = OidcProvider {
            child,
            _stdin: stdin,
            stderr,
            issuer: String::new(),
            port: 0,
            pki,
        };
        let line = match ready_rx.recv_timeout(READY_TIMEOUT) {
            Ok(line) => line,
            Err(_) => {
                let status = provider.child.try_wait().ok().flatten();
                panic!(
                    "the oidc-provider server printed no ready line within {READY_TIMEOUT:?} (exit status: {status:?}); its stderr:\n{}",
                    provider.stderr()
                );
            }
        };
        let ready: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
            panic!(
                "the ready line is not JSON ({e}): {line}\nstderr:\n{}",
                provider.stderr()
            )
        });
        provider.issuer = ready["issuer"]
            .as_str()
            .expect("issuer in the ready line")
            .to_owned();
        provider.port =
            u16::try_from(ready["port"].as_u64().expect("port in the ready line")).unwrap();
        assert_eq!(
            provider.issuer,
            format!("https://localhost:{}/tenant1", provider.port)
        );
        provider
    }

    /// What the server wrote on stderr so far (its request log and warnings).
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// How many requests of `method path` (path below the issuer, e.g. `/token`)
    /// reached the provider so far. The server counts them on arrival, so every
    /// request whose answer was seen is counted.
    pub async fn requests(&self, method: &str, path: &str) -> u64 {
        let url = format!("https://localhost:{}/_test/requests", self.port);
        let response = self.http_client().get(url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let counts: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        counts[format!("{method} /tenant1{path}")]
            .as_u64()
            .unwrap_or(0)
    }

    pub fn ca_pem(&self) -> Vec<u8> {
        self.pki.ca_pem.clone()
    }

    /// An HTTPS client trusting only the test CA, no proxy, no redirects.
    pub fn http_client(&self) -> reqwest::Client {
        let ca = reqwest::Certificate::from_pem(&self.pki.ca_pem).unwrap();
        reqwest::Client::builder()
            .tls_certs_only([ca])
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
    }

    /// The provider's signing keys.
    pub async fn jwks(&self) -> Value {
        let response = self
            .http_client()
            .get(format!("{}/jwks", self.issuer))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
    }

    /// Verifies a JWT's RS256 signature with the provider's JWKS; returns its claims.
    pub async fn verify(&self, jwt: &str, audience: &str) -> serde_json::Map<String, Value> {
        use jsonwebtoken::{Algorithm, DecodingKey, Validation};
        let jwks = self.jwks().await;
        let header = jsonwebtoken::decode_header(jwt).unwrap();
        let key = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"].as_str() == header.kid.as_deref())
            .expect("the token's kid is in the provider's JWKS");
        let decoding = DecodingKey::from_rsa_components(
            key["n"].as_str().unwrap(),
            key["e"].as_str().unwrap(),
        )
        .unwrap();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[audience]);
        validation.set_issuer(&[self.issuer.as_str()]);
        jsonwebtoken::decode::<serde_json::Map<String, Value>>(jwt, &decoding, &validation)
            .unwrap_or_else(|e| panic!("the JWT does not verify against the provider's JWKS: {e}"))
            .claims
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // OXMSAL_TEST_TRACE=1 (with --nocapture): the provider's request log.
        if std::env::var_os("OXMSAL_TEST_TRACE").is_some() {
            eprintln!(
                "--- oidc-provider at {} ---\n{}",
                self.issuer,
                self.stderr()
            );
        }
    }
}

/// One cookie of the jar.
#[derive(Debug, Clone)]
struct Cookie {
    name: String,
    value: String,
    path: String,
}

/// A page the browser ended on.
#[derive(Debug)]
pub struct Page {
    pub url: Url,
    pub status: u16,
    pub body: String,
}

/// Where a navigation ended: a page of the provider, or a redirect that leaves
/// it (to the app's redirect URI).
#[derive(Debug)]
pub enum Landing {
    Page(Page),
    LeftProvider(Url),
}

/// A minimal browser for one origin: follows redirects by hand and keeps the
/// provider's cookies (the library's reqwest has no cookie store), honouring
/// cookie paths (RFC 6265 §5.1.4) and deletions.
pub struct Browser {
    client: reqwest::Client,
    origin: Url,
    cookies: Vec<Cookie>,
    /// Every URL visited, for failure messages.
    pub trail: Vec<String>,
    /// The forms submitted, in order: `login`, `consent`, `user_code`, `confirm`.
    pub submitted: Vec<&'static str>,
}

/// More redirects than any sign-in needs: a loop is a failure, not a hang.
const MAX_REDIRECTS: usize = 20;

impl Browser {
    pub fn new(provider: &OidcProvider) -> Browser {
        Browser {
            client: provider.http_client(),
            origin: Url::parse(&provider.issuer).unwrap(),
            cookies: Vec::new(),
            trail: Vec::new(),
            submitted: Vec::new(),
        }
    }

    fn same_origin(&self, url: &Url) -> bool {
        url.scheme() == self.origin.scheme()
            && url.host_str() == self.origin.host_str()
            && url.port_or_known_default() == self.origin.port_or_known_default()
    }

    fn cookie_header(&self, url: &Url) -> Option<String> {
        let path = url.path();
        let mut matching: Vec<&Cookie> = self
            .cookies
            .iter()
            .filter(|c| path_matches(path, &c.path))
            .collect();
        // RFC 6265 §5.4: longer paths first.
        matching.sort_by_key(|c| std::cmp::Reverse(c.path.len()));
        if matching.is_empty() {
            return None;
        }
        Some(
            matching
                .iter()
                .map(|c| format!("{}={}", c.name, c.value))
                .collect::<Vec<_>>()
                .join("; "),
        )
    }

    fn store_cookies(&mut self, url: &Url, headers: &reqwest::header::HeaderMap) {
        for header in headers.get_all(reqwest::header::SET_COOKIE) {
            let Ok(text) = header.to_str() else { continue };
            let mut parts = text.split(';').map(str::trim);
            let Some((name, value)) = parts.next().and_then(|nv| nv.split_once('=')) else {
                continue;
            };
            let mut path = default_path(url.path());
            let mut expired = false;
            for attribute in parts {
                let (key, val) = attribute.split_once('=').unwrap_or((attribute, ""));
                match key.to_ascii_lowercase().as_str() {
                    "path" if val.starts_with('/') => path = val.to_owned(),
                    "max-age" => expired |= val.parse::<i64>().is_ok_and(|s| s <= 0),
                    "expires" => {
                        expired |=
                            httpdate::parse_http_date(val).is_ok_and(|t| t <= SystemTime::now());
                    }
                    _ => {}
                }
            }
            self.cookies.retain(|c| !(c.name == name && c.path == path));
            if !expired {
                self.cookies.push(Cookie {
                    name: name.to_owned(),
                    value: value.to_owned(),
                    path,
                });
            }
        }
    }

    async fn send(
        &mut self,
        method: reqwest::Method,
        url: Url,
        form: Option<String>,
    ) -> reqwest::Response {
        assert!(
            self.same_origin(&url),
            "the browser only talks to the provider, not {url}"
        );
        self.trail.push(format!("{method} {url}"));
        let mut request = self.client.request(method, url.clone());
        if let Some(cookies) = self.cookie_header(&url) {
            request = request.header(reqwest::header::COOKIE, cookies);
        }
        if let Some(body) = form {
            request = request
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("browser request to {url} failed: {e}"));
        self.store_cookies(&url, response.headers());
        response
    }

    /// Loads `url` and follows redirects until a page, or a redirect off the provider.
    pub async fn get(&mut self, url: &str) -> Landing {
        let url = Url::parse(url).unwrap();
        let response = self.send(reqwest::Method::GET, url.clone(), None).await;
        self.land(url, response).await
    }

    /// Submits a form (urlencoded) and follows the result like [`get`](Self::get).
    pub async fn submit(&mut self, action: &Url, fields: &[(String, String)]) -> Landing {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let response = self
            .send(reqwest::Method::POST, action.clone(), Some(body))
            .await;
        self.land(action.clone(), response).await
    }

    async fn land(&mut self, mut url: Url, mut response: reqwest::Response) -> Landing {
        for _ in 0..MAX_REDIRECTS {
            let status = response.status();
            if !status.is_redirection() {
                let body = response.text().await.unwrap();
                return Landing::Page(Page {
                    url,
                    status: status.as_u16(),
                    body,
                });
            }
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_else(|| panic!("a {status} from {url} without a Location"));
            let next = url
                .join(location)
                .unwrap_or_else(|e| panic!("bad Location `{location}` from {url}: {e}"));
            if !self.same_origin(&next) {
                return Landing::LeftProvider(next);
            }
            url = next;
            // 301/302/303 after a POST become a GET, as browsers do; the
            // provider only answers with 302/303.
            response = self.send(reqwest::Method::GET, url.clone(), None).await;
        }
        panic!(
            "more than {MAX_REDIRECTS} redirects; trail:\n{}",
            self.trail.join("\n")
        );
    }

    /// Signs `login` in on whatever the provider shows — its development login
    /// form, consent form, the device flow's user-code and confirmation forms —
    /// until it redirects off the provider (auth code flow) or shows the device
    /// flow's success page. `user_code` is typed into the device flow's form.
    pub async fn complete_sign_in(
        &mut self,
        mut landing: Landing,
        login: &str,
        user_code: Option<&str>,
    ) -> Landing {
        for _ in 0..10 {
            let page = match landing {
                Landing::LeftProvider(_) => return landing,
                Landing::Page(page) => page,
            };
            if page.body.contains("<title>Sign-in Success</title>") {
                return Landing::Page(page);
            }
            assert_eq!(
                page.status,
                200,
                "unexpected page at {}:\n{}\ntrail:\n{}",
                page.url,
                page.body,
                self.trail.join("\n")
            );
            let form = Form::first_in(&page.body, &page.url).unwrap_or_else(|| {
                panic!(
                    "no form on {}:\n{}\ntrail:\n{}",
                    page.url,
                    page.body,
                    self.trail.join("\n")
                )
            });
            let mut fields = form.fields.clone();
            let prompt = form.value("prompt").map(str::to_owned);
            let kind = match prompt.as_deref() {
                Some("login") => {
                    set(&mut fields, "login", login);
                    set(
                        &mut fields,
                        "password",
                        "any password: the dev interactions take any",
                    );
                    "login"
                }
                Some("consent") => "consent",
                _ if form.id.as_deref() == Some("op.deviceInputForm") => {
                    set(
                        &mut fields,
                        "user_code",
                        user_code.expect("a user code for the device form"),
                    );
                    "user_code"
                }
                _ if form.id.as_deref() == Some("op.deviceConfirmForm") => "confirm",
                other => panic!(
                    "unexpected form (prompt {other:?}, id {:?}) on {}:\n{}",
                    form.id, page.url, page.body
                ),
            };
            self.submitted.push(kind);
            landing = self.submit(&form.action, &fields).await;
        }
        panic!("sign-in did not finish; trail:\n{}", self.trail.join("\n"));
    }
}

fn set(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    match fields.iter_mut().find(|(n, _)| n == name) {
        Some(field) => field.1 = value.to_owned(),
        None => fields.push((name.to_owned(), value.to_owned())),
    }
}

/// RFC 6265 §5.1.4 path-match.
fn path_matches(request_path: &str, cookie_path: &str) -> bool {
    request_path == cookie_path
        || (request_path.starts_with(cookie_path)
            && (cookie_path.ends_with('/')
                || request_path.as_bytes().get(cookie_path.len()) == Some(&b'/')))
}

/// RFC 6265 §5.1.4 default-path.
fn default_path(request_path: &str) -> String {
    match request_path.rfind('/') {
        Some(0) | None => "/".to_owned(),
        Some(i) => request_path[..i].to_owned(),
    }
}

/// An HTML form: its action and its `<input>` fields (buttons are left out, so
/// the device page's "abort" button is never sent).
#[derive(Debug, Clone)]
pub struct Form {
    pub id: Option<String>,
    pub action: Url,
    pub fields: Vec<(String, String)>,
}

impl Form {
    /// The first `<form>` of `html`, its action resolved against `base`.
    pub fn first_in(html: &str, base: &Url) -> Option<Form> {
        let start = html.find("<form")?;
        let rest = &html[start..];
        let tag_end = rest.find('>')?;
        let attrs = attributes(&rest[5..tag_end]);
        let body_end = rest.find("</form>").unwrap_or(rest.len());
        let body = &rest[tag_end + 1..body_end];
        let method = attrs.get("method").map(|m| m.to_ascii_lowercase());
        assert_eq!(
            method.as_deref(),
            Some("post"),
            "forms of the provider POST"
        );
        let action = base
            .join(attrs.get("action").map_or("", String::as_str))
            .ok()?;
        let mut fields = Vec::new();
        let mut cursor = body;
        while let Some(i) = cursor.find("<input") {
            let tag = &cursor[i + 6..];
            let end = tag.find('>').unwrap_or(tag.len());
            let a = attributes(&tag[..end]);
            if let Some(name) = a.get("name") {
                fields.push((name.clone(), a.get("value").cloned().unwrap_or_default()));
            }
            cursor = &tag[end..];
        }
        Some(Form {
            id: attrs.get("id").cloned(),
            action,
            fields,
        })
    }

    pub fn value(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `name="value"` / `name='value'` / `name=value` / `name` attributes of a tag.
fn attributes(tag: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let bytes = tag.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        let name_start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'=' {
            i += 1;
        }
        let name = tag[name_start..i].to_ascii_lowercase();
        let mut value = String::new();
        if i < bytes.len() && bytes[i] == b'=' {
            i += 1;
            if i < bytes.len() && (bytes[i] == b'"' || bytes[i] == b'\'') {
                let quote = bytes[i];
                i += 1;
                let start = i;
                while i < bytes.len() && bytes[i] != quote {
                    i += 1;
                }
                value = unescape(&tag[start..i]);
                i += 1;
            } else {
                let start = i;
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                value = unescape(&tag[start..i]);
            }
        }
        if !name.is_empty() {
            out.entry(name).or_insert(value);
        }
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The query of a redirect as the map `acquire_token_by_auth_code_flow` takes.
pub fn query_map(url: &Url) -> HashMap<String, String> {
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}
