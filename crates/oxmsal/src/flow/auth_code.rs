//! The authorization code grant with PKCE (RFC 6749 §4.1, RFC 7636), state and
//! nonce: web apps, desktop apps (through [`super::interactive`]).

use std::collections::HashMap;

use aws_lc_rs::digest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};
use url::Url;

use crate::claims::merge_claims;
use crate::client::AppCore;
use crate::credential::ClientCredential;
use crate::error::{Error, InvalidResponse, Result, ServiceError};
use crate::request_options::{is_reserved_parameter, RequestOptions};
use crate::secret::Secret;
use crate::token::AuthenticationResult;

use super::user_token::{redeem, request_scopes, SaveMode, UserGrant};
use crate::client::scopes::validate_sign_in_scopes;

/// MSAL's telemetry id of `acquire_token_by_auth_code_flow`.
const API_ID: u32 = 832;

/// How the authorization server returns the code to the redirect URI.
///
/// ```
/// assert_eq!(oxmsal::ResponseMode::default(), oxmsal::ResponseMode::Query);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ResponseMode {
    /// In the redirect URL's query (the default for loopback redirects).
    #[default]
    Query,
    /// In an auto-submitted HTML form POST (keeps the code out of browser history).
    FormPost,
}

impl ResponseMode {
    fn as_str(self) -> &'static str {
        match self {
            ResponseMode::Query => "query",
            ResponseMode::FormPost => "form_post",
        }
    }
}

/// Options of an authorization request.
#[derive(Debug, Clone, Default)]
pub(crate) struct AuthorizeOptions {
    pub login_hint: Option<String>,
    pub domain_hint: Option<String>,
    pub prompt: Option<String>,
    /// OpenID Connect `max_age`: seconds since the user last signed in
    /// actively, past which the server asks again.
    pub max_age: Option<u64>,
    pub claims: Option<String>,
    /// Scopes of other resources the user consents to now (their tokens come
    /// later, silently).
    pub extra_scopes_to_consent: Vec<String>,
    pub response_mode: ResponseMode,
}

/// What a caller-built authorization URL carries besides the options: its
/// own `state`, `nonce` and PKCE challenge.
#[derive(Debug, Clone, Default)]
pub(crate) struct UrlParams {
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// The S256 challenge of the caller's verifier.
    pub code_challenge: Option<String>,
}

/// How long a started flow may wait for its redirect: the user signs in
/// (with MFA, perhaps a password reset) in between.
pub const AUTH_CODE_FLOW_LIFETIME_SECS: u64 = 3600;

/// A started authorization code flow: send the user to [`auth_uri`](Self::auth_uri),
/// keep this value (it holds the PKCE verifier), and hand it back with the
/// redirect's parameters.
///
/// ```no_run
/// # async fn run(app: oxmsal::PublicClientApplication) -> oxmsal::Result<()> {
/// let flow = app.initiate_auth_code_flow(["User.Read"], "http://localhost:8400").await?;
/// println!("open {}", flow.auth_uri);
/// # Ok(()) }
/// ```
///
/// A web app keeps the flow in the user's server-side session between the two
/// requests of the sign-in: it is serde-serializable to a stable JSON object
/// ([`to_json`](Self::to_json), [`from_json`](Self::from_json)), which any
/// instance of the same app (same client id and authority) can finish. The
/// JSON holds the PKCE verifier: keep it server-side, like a secret.
///
/// ```text
/// {"version":1,"client_id":"…","authority":"https://login.microsoftonline.com/contoso",
///  "auth_uri":"…","state":"…","redirect_uri":"…","scopes":["User.Read"],
///  "nonce":"…","code_verifier":"…","claims":null,"expires_on":1700003600}
/// ```
///
/// A flow is good for an hour ([`AUTH_CODE_FLOW_LIFETIME_SECS`]): redeeming
/// it later is a `Configuration` error, as is redeeming it in an app with
/// another client id or authority.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "FlowJson", into = "FlowJson")]
#[non_exhaustive]
pub struct AuthCodeFlow {
    /// Where to send the user's browser.
    pub auth_uri: String,
    /// The `state` the redirect must echo.
    pub state: String,
    /// The registered redirect URI used.
    pub redirect_uri: String,
    /// The scopes asked for.
    pub scopes: Vec<String>,
    /// When the flow stops being redeemable, epoch seconds.
    pub expires_on: u64,
    pub(crate) nonce: String,
    pub(crate) code_verifier: Secret,
    pub(crate) client_id: String,
    /// The app's authority when the flow started, as text.
    pub(crate) authority: String,
    pub(crate) claims: Option<String>,
}

/// The flow's JSON, version 1.
#[derive(serde::Serialize, serde::Deserialize)]
struct FlowJson {
    version: u32,
    client_id: String,
    authority: String,
    auth_uri: String,
    state: String,
    redirect_uri: String,
    scopes: Vec<String>,
    nonce: String,
    code_verifier: String,
    #[serde(default)]
    claims: Option<String>,
    expires_on: u64,
}

impl From<AuthCodeFlow> for FlowJson {
    fn from(flow: AuthCodeFlow) -> Self {
        FlowJson {
            version: 1,
            client_id: flow.client_id,
            authority: flow.authority,
            auth_uri: flow.auth_uri,
            state: flow.state,
            redirect_uri: flow.redirect_uri,
            scopes: flow.scopes,
            nonce: flow.nonce,
            code_verifier: flow.code_verifier.expose_secret().to_owned(),
            claims: flow.claims,
            expires_on: flow.expires_on,
        }
    }
}

impl TryFrom<FlowJson> for AuthCodeFlow {
    type Error = String;

    fn try_from(json: FlowJson) -> std::result::Result<Self, String> {
        if json.version != 1 {
            return Err(format!(
                "auth code flow version {} is not supported (only 1)",
                json.version
            ));
        }
        for (name, value) in [
            ("client_id", &json.client_id),
            ("authority", &json.authority),
            ("state", &json.state),
            ("redirect_uri", &json.redirect_uri),
            ("nonce", &json.nonce),
            ("code_verifier", &json.code_verifier),
        ] {
            if value.is_empty() {
                return Err(format!("auth code flow: `{name}` is empty"));
            }
        }
        Ok(AuthCodeFlow {
            auth_uri: json.auth_uri,
            state: json.state,
            redirect_uri: json.redirect_uri,
            scopes: json.scopes,
            expires_on: json.expires_on,
            nonce: json.nonce,
            code_verifier: Secret::new(json.code_verifier),
            client_id: json.client_id,
            authority: json.authority,
            claims: json.claims,
        })
    }
}

impl AuthCodeFlow {
    /// The flow as its JSON object (see the [type docs](Self)); it holds the
    /// PKCE verifier.
    ///
    /// ```no_run
    /// # async fn run(app: oxmsal::ConfidentialClientApplication) -> oxmsal::Result<()> {
    /// let flow = app.initiate_auth_code_flow(["User.Read"], "https://app.example/cb").await?;
    /// let saved = flow.to_json();
    /// let restored = oxmsal::AuthCodeFlow::from_json(&saved)?;
    /// assert_eq!(restored.state, flow.state);
    /// # Ok(()) }
    /// ```
    pub fn to_json(&self) -> String {
        // A struct of strings and numbers always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A flow from its JSON; malformed JSON is a `Configuration` error.
    ///
    /// ```
    /// let err = oxmsal::AuthCodeFlow::from_json(r#"{"version":2}"#).unwrap_err();
    /// assert_eq!(err.kind(), oxmsal::ErrorKind::Configuration);
    /// ```
    pub fn from_json(json: &str) -> Result<Self> {
        serde_json::from_str(json)
            .map_err(|e| Error::configuration(format!("not an auth code flow: {e}")))
    }
}

/// A random, URL-safe string of `bytes` bytes of entropy.
fn random_token(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buf)
        .map_err(|_| Error::configuration("the system random generator failed"))?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// Builds the authorization URL with a fresh state, nonce and PKCE pair.
pub(crate) async fn initiate(
    core: &AppCore,
    scopes: &[String],
    redirect_uri: &str,
    options: AuthorizeOptions,
    extra: &RequestOptions,
    correlation_id: &str,
) -> Result<AuthCodeFlow> {
    let state = random_token(16)?;
    let nonce = random_token(16)?;
    let verifier = Secret::new(random_token(32)?);
    let challenge = s256(&verifier);
    let url = authorization_url(
        core,
        scopes,
        redirect_uri,
        &options,
        UrlParams {
            state: Some(state.clone()),
            nonce: Some(nonce.clone()),
            code_challenge: Some(challenge),
        },
        extra,
        correlation_id,
    )
    .await?;
    Ok(AuthCodeFlow {
        auth_uri: url.to_string(),
        state,
        redirect_uri: redirect_uri.to_owned(),
        scopes: validate_sign_in_scopes(scopes)?,
        expires_on: core
            .clock
            .now_epoch()
            .saturating_add(AUTH_CODE_FLOW_LIFETIME_SECS),
        nonce,
        code_verifier: verifier,
        client_id: core.client_id.clone(),
        authority: core.authority.as_str().to_owned(),
        claims: options.claims,
    })
}

/// RFC 7636's S256 challenge of a verifier.
fn s256(verifier: &Secret) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(
        &digest::SHA256,
        verifier.expose_secret().as_bytes(),
    ))
}

/// The authorization endpoint's URL for this sign-in (discovered first).
pub(crate) async fn authorization_url(
    core: &AppCore,
    scopes: &[String],
    redirect_uri: &str,
    options: &AuthorizeOptions,
    params: UrlParams,
    extra: &RequestOptions,
    correlation_id: &str,
) -> Result<Url> {
    let scopes = validate_sign_in_scopes(scopes)?;
    let consent = validate_sign_in_scopes(&options.extra_scopes_to_consent)?;
    let redirect = Url::parse(redirect_uri).map_err(|e| {
        Error::configuration(format!("redirect URI `{redirect_uri}` is not a URL: {e}"))
    })?;
    crate::http::check_scheme(&redirect, true).map_err(|_| {
        Error::configuration(format!(
            "redirect URI `{redirect_uri}` must be https, or http to a loopback host"
        ))
    })?;
    let claims = merge_claims(options.claims.as_deref(), &core.capabilities)?;
    let endpoints = core.endpoints(&core.authority, correlation_id).await?;
    let mut auth = match &endpoints.authorization_endpoint {
        Some(url) => url.clone(),
        None => {
            return Err(Error::configuration(
                "the authority publishes no authorization endpoint",
            ))
        }
    };
    let mut all_scopes = scopes;
    all_scopes.extend(consent);
    {
        let mut q = auth.query_pairs_mut();
        q.append_pair("client_id", &core.client_id)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", &request_scopes(&all_scopes));
        let optional = [
            ("state", params.state.as_deref()),
            ("nonce", params.nonce.as_deref()),
            ("code_challenge", params.code_challenge.as_deref()),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                q.append_pair(name, value);
            }
        }
        if params.code_challenge.is_some() {
            q.append_pair("code_challenge_method", "S256");
        }
        q.append_pair("response_mode", options.response_mode.as_str())
            .append_pair("client_info", "1");
        let hints = [
            ("login_hint", options.login_hint.as_deref()),
            ("domain_hint", options.domain_hint.as_deref()),
            ("prompt", options.prompt.as_deref()),
            ("claims", claims.as_deref()),
        ];
        for (name, value) in hints {
            if let Some(value) = value {
                q.append_pair(name, value);
            }
        }
        if let Some(max_age) = options.max_age {
            q.append_pair("max_age", &max_age.to_string());
        }
        // Checked against the reserved names when the request was built.
        for (name, value) in extra.query() {
            if is_reserved_parameter(name) {
                return Err(Error::configuration(format!(
                    "the extra query parameter `{}` is one oxmsal sets itself",
                    name.escape_debug()
                )));
            }
            q.append_pair(name, value);
        }
    }
    Ok(auth)
}

/// RFC 9207: when the redirect names its issuer, it must be the authority the
/// flow started with — a code from another provider (a mix-up attack) is refused.
/// Issuers with a `{tenantid}` placeholder (Entra's multi-tenant metadata) can't
/// be compared and are skipped.
fn check_issuer(iss: Option<&str>, expected: Option<&str>, correlation_id: &str) -> Result<()> {
    match (iss, expected) {
        (Some(iss), Some(expected)) if !expected.contains('{') && iss.trim_end_matches('/') != expected.trim_end_matches('/') => {
            Err(Error::from_invalid_response(InvalidResponse::new(
                0,
                None,
                b"",
                format!("issuer mismatch: the redirect came from `{iss}`, not from `{expected}` (possible mix-up attack)"),
            ))
            .with_correlation_id(correlation_id))
        }
        _ => Ok(()),
    }
}

/// Redeems the redirect's parameters: the state must match, an `error` is the
/// server's error value, the id token's nonce must match.
pub(crate) async fn acquire(
    core: &AppCore,
    credential: Option<&ClientCredential>,
    flow: &AuthCodeFlow,
    response: &HashMap<String, String>,
    correlation_id: &str,
    options: &RequestOptions,
) -> Result<AuthenticationResult> {
    check_flow(core, flow)?;
    if response.get("state").map(String::as_str) != Some(flow.state.as_str()) {
        return Err(Error::from_invalid_response(InvalidResponse::new(
            0,
            None,
            b"",
            "state mismatch: the redirect does not belong to this sign-in (possible CSRF)",
        ))
        .with_correlation_id(correlation_id));
    }
    if response.contains_key("error") {
        let body: Map<String, Value> = response
            .iter()
            .filter(|(k, _)| k.as_str() != "state")
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect();
        if let Some(service) = ServiceError::from_map(0, body, None) {
            return Err(Error::from_service(service).with_correlation_id(correlation_id));
        }
    }
    let Some(code) = response.get("code").filter(|c| !c.is_empty()) else {
        return Err(Error::from_invalid_response(InvalidResponse::new(
            0,
            None,
            b"",
            "the redirect carries neither `code` nor `error`",
        ))
        .with_correlation_id(correlation_id));
    };
    let endpoints = core.endpoints(&core.authority, correlation_id).await?;
    check_issuer(
        response.get("iss").map(String::as_str),
        endpoints.issuer.as_deref(),
        correlation_id,
    )?;
    let code = Code {
        code: Secret::new(code.as_str()),
        scopes: &flow.scopes,
        redirect_uri: &flow.redirect_uri,
        code_verifier: Some(flow.code_verifier.clone()),
        nonce: Some(&flow.nonce),
        claims: flow.claims.as_deref(),
        options,
    };
    redeem_code(core, credential, code, correlation_id).await
}

/// The flow belongs to this app and is still good: a flow restored from a
/// session must not send this app's credential to another authority.
fn check_flow(core: &AppCore, flow: &AuthCodeFlow) -> Result<()> {
    if flow.client_id != core.client_id || flow.authority != core.authority.as_str() {
        return Err(Error::configuration(format!(
            "this auth code flow was started by app `{}` at `{}`, not by this one (`{}` at `{}`)",
            flow.client_id,
            flow.authority,
            core.client_id,
            core.authority.as_str()
        )));
    }
    if core.clock.now_epoch() >= flow.expires_on {
        return Err(Error::configuration(
            "this auth code flow has expired; start a new sign-in",
        ));
    }
    Ok(())
}

/// An authorization code to redeem and what it was asked with.
pub(crate) struct Code<'a> {
    pub code: Secret,
    pub scopes: &'a [String],
    pub redirect_uri: &'a str,
    pub code_verifier: Option<Secret>,
    /// The id token's expected nonce, when the request sent one.
    pub nonce: Option<&'a str>,
    pub claims: Option<&'a str>,
    /// The caller's extra query, form and header values.
    pub options: &'a RequestOptions,
}

/// Redeems an authorization code at the app's authority.
pub(crate) async fn redeem_code(
    core: &AppCore,
    credential: Option<&ClientCredential>,
    code: Code<'_>,
    correlation_id: &str,
) -> Result<AuthenticationResult> {
    if code.code.is_empty() {
        return Err(Error::configuration("the authorization code is empty"));
    }
    let scopes = validate_sign_in_scopes(code.scopes)?;
    let endpoints = core.endpoints(&core.authority, correlation_id).await?;
    let mut fields = vec![
        ("code", code.code),
        ("redirect_uri", Secret::new(code.redirect_uri)),
    ];
    if let Some(verifier) = code.code_verifier {
        fields.push(("code_verifier", verifier));
    }
    let grant = UserGrant {
        api_id: API_ID,
        grant_type: "authorization_code",
        fields,
        scopes: &scopes,
        claims: code.claims,
        expected_nonce: code.nonce,
        save: SaveMode::SignIn,
        ext_cache_key: None,
        rotates: None,
        correlation_id,
        options: code.options,
    };
    redeem(core, credential, &core.authority, &endpoints, grant).await
}

#[cfg(test)]
mod tests {
    use super::check_issuer;

    #[test]
    fn issuer_rules() {
        assert!(check_issuer(None, Some("https://a/t"), "c").is_ok());
        assert!(check_issuer(Some("https://a/t"), Some("https://a/t/"), "c").is_ok());
        assert!(check_issuer(Some("https://a/t"), None, "c").is_ok());
        assert!(check_issuer(
            Some("https://x/t"),
            Some("https://login.microsoftonline.com/{tenantid}/v2.0"),
            "c"
        )
        .is_ok());
        let err = check_issuer(Some("https://evil/t"), Some("https://a/t"), "c");
        assert!(err.is_err_and(|e| e.to_string().contains("issuer mismatch")));
    }
}
