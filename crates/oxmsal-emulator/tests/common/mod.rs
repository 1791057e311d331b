//! Shared helpers for the emulator's socket-level tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use oxmsal_emulator::testing::ClientCertificate;
use oxmsal_emulator::{DemoApp, Emulator};
use serde_json::{json, Value};

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A client that trusts only the emulator's CA and ignores proxy settings.
pub fn client(emulator: &Emulator) -> reqwest::Client {
    client_trusting(emulator.ca_pem().as_bytes())
}

pub fn client_trusting(ca_pem: &[u8]) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca_pem).unwrap()])
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// POSTs a form to the default tenant's token endpoint.
pub async fn post_token(
    client: &reqwest::Client,
    emulator: &Emulator,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client
        .post(emulator.token_endpoint())
        .form(form)
        .send()
        .await
        .unwrap()
}

pub async fn client_credentials(
    client: &reqwest::Client,
    emulator: &Emulator,
    app: &DemoApp,
) -> reqwest::Response {
    post_token(
        client,
        emulator,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &app.client_id),
            ("client_secret", &app.secret),
            ("scope", "api://resource/.default"),
        ],
    )
    .await
}

/// A client assertion signed with `cert`'s key (PS256 + x5t#S256, or RS256 + x5t).
pub fn assertion(cert: &ClientCertificate, client_id: &str, aud: &str, legacy: bool) -> String {
    assertion_with(
        cert,
        &json!({
            "aud": aud,
            "iss": client_id,
            "sub": client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "iat": now(),
            "nbf": now(),
            "exp": now() + 600,
        }),
        legacy,
    )
}

pub fn assertion_with(cert: &ClientCertificate, claims: &Value, legacy: bool) -> String {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let mut header = Header::new(if legacy {
        Algorithm::RS256
    } else {
        Algorithm::PS256
    });
    if legacy {
        header.x5t = Some(cert.x5t());
    } else {
        header.x5t_s256 = Some(cert.x5t_s256());
    }
    let key = EncodingKey::from_rsa_pem(cert.key_pem.as_bytes()).unwrap();
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

/// Asserts the Entra error shape and returns the body.
pub async fn expect_aad_error(
    response: reqwest::Response,
    status: u16,
    error: &str,
    code: u32,
) -> Value {
    assert_eq!(response.status().as_u16(), status, "status");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_codes"], json!([code]), "{body}");
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.starts_with(&format!("AADSTS{code}: ")),
        "{description}"
    );
    for key in ["timestamp", "trace_id", "correlation_id", "error_uri"] {
        assert!(body[key].is_string(), "{key} missing in {body}");
    }
    assert!(description.contains(&format!(
        "\r\nTrace ID: {}",
        body["trace_id"].as_str().unwrap()
    )));
    assert!(description.contains(&format!(
        "\r\nCorrelation ID: {}",
        body["correlation_id"].as_str().unwrap()
    )));
    assert!(description.contains("\r\nTimestamp: "));
    assert!(body["error_uri"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/error?code={code}")));
    body
}

/// Like [`client`], but redirects are returned instead of followed.
pub fn no_redirects(emulator: &Emulator) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(emulator.ca_pem().as_bytes()).unwrap()])
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// A PKCE verifier and its S256 challenge.
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

pub fn pkce() -> Pkce {
    use base64::Engine as _;
    let verifier = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref());
    Pkce {
        verifier,
        challenge,
    }
}

/// The payload of a JWT, unverified.
pub fn payload(token: &str) -> Value {
    use base64::Engine as _;
    let part = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Verifies `token` (RS256) with the served JWKS, independently of the emulator.
pub fn verify_jwt(jwks: &Value, token: &str, audience: &str, issuer: &str) -> Value {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    let kid = header.kid.unwrap();
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("kid in JWKS");
    let decoding =
        DecodingKey::from_rsa_components(key["n"].as_str().unwrap(), key["e"].as_str().unwrap())
            .unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[issuer]);
    jsonwebtoken::decode::<Value>(token, &decoding, &validation)
        .unwrap()
        .claims
}

/// The `value` of `<input … name="NAME" value="…">` in a page (values here need no unescaping).
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let rest = &html[at..];
    let start = rest.find("value=\"")? + "value=\"".len();
    let len = rest[start..].find('"')?;
    Some(rest[start..start + len].to_owned())
}

/// The parameters of a redirect's `Location` (query, or fragment when there is one).
pub fn redirect_params(
    response: &reqwest::Response,
) -> (url::Url, std::collections::HashMap<String, String>) {
    assert_eq!(response.status(), 302, "expected a redirect");
    let location = response.headers()["location"].to_str().unwrap();
    let url = url::Url::parse(location).unwrap();
    let params = match url.fragment() {
        Some(fragment) => url::form_urlencoded::parse(fragment.as_bytes())
            .into_owned()
            .collect(),
        None => url.query_pairs().into_owned().collect(),
    };
    (url, params)
}

/// GETs the default tenant's authorize endpoint with `params`.
pub async fn authorize(
    http: &reqwest::Client,
    emulator: &Emulator,
    params: &[(&str, &str)],
) -> reqwest::Response {
    http.get(emulator.authorize_endpoint())
        .query(params)
        .send()
        .await
        .unwrap()
}

/// Signs the default user in to public `client_id` through the authorization
/// code flow (auto sign-in, PKCE) and returns the token response.
pub async fn auth_code_tokens(emulator: &Emulator, client_id: &str, scope: &str) -> Value {
    let http = no_redirects(emulator);
    let pkce = pkce();
    let redirect_uri = "http://localhost:1234";
    let response = authorize(
        &http,
        emulator,
        &[
            ("client_id", client_id),
            ("response_type", "code"),
            ("redirect_uri", redirect_uri),
            ("scope", scope),
            ("code_challenge", &pkce.challenge),
            ("code_challenge_method", "S256"),
            ("login_hint", oxmsal_emulator::DEFAULT_USERNAME),
        ],
    )
    .await;
    let (_, params) = redirect_params(&response);
    let response = post_token(
        &http,
        emulator,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("code", &params["code"]),
            ("redirect_uri", redirect_uri),
            ("code_verifier", &pkce.verifier),
            ("scope", scope),
            ("client_info", "1"),
        ],
    )
    .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}
