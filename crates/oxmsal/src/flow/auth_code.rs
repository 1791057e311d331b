//! The authorization code grant with PKCE (RFC 6749 §4.1, RFC 7636), state and
//! nonce: web apps, desktop apps (through [`super::interactive`]).

use std::collections::HashMap;

use aws_lc_rs::digest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};
use url::Url;

use crate::authority::Authority;
use crate::claims::merge_claims;
use crate::client::AppCore;
use crate::credential::ClientCredential;
use crate::error::{Error, InvalidResponse, Result, ServiceError};
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
    pub claims: Option<String>,
    pub response_mode: ResponseMode,
}

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
#[derive(Debug, Clone)]
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
    pub(crate) nonce: String,
    pub(crate) code_verifier: Secret,
    pub(crate) authority: Authority,
    pub(crate) claims: Option<String>,
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
    correlation_id: &str,
) -> Result<AuthCodeFlow> {
    let scopes = validate_sign_in_scopes(scopes)?;
    let redirect = Url::parse(redirect_uri).map_err(|e| {
        Error::configuration(format!("redirect URI `{redirect_uri}` is not a URL: {e}"))
    })?;
    crate::http::check_scheme(&redirect, true).map_err(|_| {
        Error::configuration(format!(
            "redirect URI `{redirect_uri}` must be https, or http to a loopback host"
        ))
    })?;
    let authority = core.authority.clone();
    let endpoints = core.endpoints(&authority, correlation_id).await?;
    let mut auth = match &endpoints.authorization_endpoint {
        Some(url) => url.clone(),
        None => {
            return Err(Error::configuration(
                "the authority publishes no authorization endpoint",
            ))
        }
    };
    let state = random_token(16)?;
    let nonce = random_token(16)?;
    let verifier = Secret::new(random_token(32)?);
    let challenge = URL_SAFE_NO_PAD.encode(digest::digest(
        &digest::SHA256,
        verifier.expose_secret().as_bytes(),
    ));
    let claims = merge_claims(options.claims.as_deref(), &core.capabilities)?;
    {
        let mut q = auth.query_pairs_mut();
        q.append_pair("client_id", &core.client_id)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", &request_scopes(&scopes))
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("response_mode", options.response_mode.as_str())
            .append_pair("client_info", "1");
        if let Some(hint) = &options.login_hint {
            q.append_pair("login_hint", hint);
        }
        if let Some(hint) = &options.domain_hint {
            q.append_pair("domain_hint", hint);
        }
        if let Some(prompt) = &options.prompt {
            q.append_pair("prompt", prompt);
        }
        if let Some(claims) = &claims {
            q.append_pair("claims", claims);
        }
    }
    Ok(AuthCodeFlow {
        auth_uri: auth.to_string(),
        state,
        redirect_uri: redirect_uri.to_owned(),
        scopes,
        nonce,
        code_verifier: verifier,
        authority,
        claims: options.claims,
    })
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
) -> Result<AuthenticationResult> {
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
    let endpoints = core.endpoints(&flow.authority, correlation_id).await?;
    check_issuer(
        response.get("iss").map(String::as_str),
        endpoints.issuer.as_deref(),
        correlation_id,
    )?;
    let grant = UserGrant {
        api_id: API_ID,
        grant_type: "authorization_code",
        fields: vec![
            ("code", Secret::new(code.as_str())),
            ("redirect_uri", Secret::new(flow.redirect_uri.as_str())),
            ("code_verifier", flow.code_verifier.clone()),
        ],
        scopes: &flow.scopes,
        claims: flow.claims.as_deref(),
        expected_nonce: Some(&flow.nonce),
        save: SaveMode::SignIn,
        ext_cache_key: None,
        rotates: None,
        correlation_id,
    };
    redeem(core, credential, &flow.authority, &endpoints, grant).await
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
