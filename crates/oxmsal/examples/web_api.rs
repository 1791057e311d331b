//! A web API (axum) that calls another API on behalf of its caller: the OAuth 2.0
//! on-behalf-of grant.
//!
//! `GET /me` wants `Authorization: Bearer <token>`, a user's access token for this
//! API (scope `api://{client id}/access_as_user`). The API validates it (RS256
//! signature against the authority's published keys, issuer, audience, expiry,
//! the delegated scope), exchanges it for a Microsoft Graph token for the same
//! user (`acquire_token_on_behalf_of`), calls Graph and returns what Graph said.
//! When Graph answers with a claims challenge (Conditional Access step-up,
//! Continuous Access Evaluation) the API asks once more with the challenge's
//! claims and retries once; if the user must act (MFA, sign in again), the
//! challenge goes back to the API's caller as a `401`, whose client signs the
//! user in with those claims and calls again.
//!
//! Against Entra ID (an app registration that exposes `access_as_user`, has a
//! client secret and the delegated Graph permission `User.Read`):
//!
//! ```text
//! OXMSAL_CLIENT_ID=… OXMSAL_CLIENT_SECRET=… \
//! OXMSAL_AUTHORITY=https://login.microsoftonline.com/<tenant id> \
//!   cargo run -p oxmsal --example web_api            # serves http://127.0.0.1:8001
//! ```
//!
//! Once against oxmsal's emulator (what `scripts/test` runs): starts the emulator,
//! serves on a free port, gets a user token for the API, calls `/me` through
//! a claims challenge, checks the answers, prints one line; exits non-zero if
//! any step fails:
//!
//! ```text
//! cargo run -p oxmsal --example web_api -- --emulator
//! ```

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use oxmsal::authority::InstanceDiscovery;
use oxmsal::credential::ClientCredential;
use oxmsal::{
    AuthenticationResult, ClaimsChallenge, ConfidentialClientApplication, ErrorKind, Secret,
};
use serde_json::{json, Value};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The delegated permission this API exposes; a caller's token must carry it in `scp`.
const API_SCOPE: &str = "access_as_user";
/// What the API asks for on the user's behalf: the permissions consented to
/// Graph for this API (`.default`: all of them, as on-behalf-of requires).
const DOWNSTREAM_SCOPES: [&str; 1] = ["https://graph.microsoft.com/.default"];
/// Bound on what is read from the downstream API and the authority's documents.
const MAX_BODY: usize = 1 << 20;

/// Where the API runs and what it trusts.
struct Settings {
    client_id: String,
    client_secret: Secret,
    /// `https://login.microsoftonline.com/{tenant id}`: the tenant whose
    /// users may call the API, whose tokens name it as their issuer.
    authority: String,
    downstream_url: String,
    /// The emulator's CA and base URL; `None` for Entra ID.
    emulator: Option<(String, String)>,
}

/// What every request handler shares.
struct Api {
    app: ConfidentialClientApplication,
    http: reqwest::Client,
    /// The authority's signing keys (its JWKS) and issuer, from its OpenID
    /// configuration. Keys roll over: a long-running API reloads them (say
    /// daily, and when a token names an unknown `kid`, at most every few
    /// minutes); this example loads them once at start.
    keys: JwkSet,
    issuer: String,
    /// Both spellings Entra uses for this API in `aud`.
    audiences: [String; 2],
    downstream_url: String,
}

/// Why a request failed, as the HTTP answer the caller gets. The texts never
/// hold a token or secret: oxmsal's errors redact them, and ours name none.
enum Failure {
    /// 401: no token, or one this API does not accept.
    InvalidToken(String),
    /// 403: a valid token without this API's permission.
    Forbidden(String),
    /// 401 with a claims challenge: the user must act (MFA, consent, sign in
    /// again); the caller's client acquires a token with these claims.
    InteractionRequired(Option<String>),
    /// 502/503: the identity platform or the downstream API failed.
    Upstream(StatusCode, String),
}

impl From<oxmsal::Error> for Failure {
    fn from(err: oxmsal::Error) -> Self {
        if err.requires_interaction() {
            let claims = err.service().and_then(|s| s.claims.clone());
            return Failure::InteractionRequired(claims);
        }
        let status = match err.kind() {
            ErrorKind::Throttled => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_GATEWAY,
        };
        Failure::Upstream(status, format!("token acquisition failed: {err}"))
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let (status, challenge, error, description) = match self {
            Failure::InvalidToken(why) => (
                StatusCode::UNAUTHORIZED,
                Some(r#"Bearer error="invalid_token""#.to_owned()),
                "invalid_token",
                why,
            ),
            Failure::Forbidden(why) => (
                StatusCode::FORBIDDEN,
                Some(r#"Bearer error="insufficient_scope""#.to_owned()),
                "insufficient_scope",
                why,
            ),
            Failure::InteractionRequired(claims) => {
                // The standard-base64 claims parameter Entra-protected APIs send.
                let header = match claims {
                    Some(claims) => format!(
                        r#"Bearer error="insufficient_claims", claims="{}""#,
                        base64::engine::general_purpose::STANDARD.encode(claims)
                    ),
                    None => r#"Bearer error="invalid_token""#.to_owned(),
                };
                (
                    StatusCode::UNAUTHORIZED,
                    Some(header),
                    "interaction_required",
                    "the user must sign in again (with the claims asked for)".to_owned(),
                )
            }
            Failure::Upstream(status, why) => (status, None, "upstream_failure", why),
        };
        let mut response = (
            status,
            Json(json!({"error": error, "error_description": description})),
        )
            .into_response();
        if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// `GET /me`: who the caller is, according to the downstream API.
async fn me(State(api): State<Arc<Api>>, headers: HeaderMap) -> Result<Json<Value>, Failure> {
    let token = bearer_token(&headers).ok_or_else(|| {
        Failure::InvalidToken("an Authorization: Bearer token is required".into())
    })?;
    let claims = api.validate(token)?;
    let downstream = api.call_downstream(token).await?;
    Ok(Json(json!({
        "caller": claims.get("preferred_username"),
        "downstream": downstream,
    })))
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token.trim())
}

impl Api {
    /// The token's claims if this API accepts it: signed by the authority with
    /// RS256 (the algorithm is ours to choose, never the token's), issued by
    /// the tenant, for this API, within its lifetime, with this API's scope.
    fn validate(&self, token: &str) -> Result<Value, Failure> {
        let invalid = |why: String| Failure::InvalidToken(why);
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| invalid(format!("not a signed JWT: {e}")))?;
        let kid = header
            .kid
            .ok_or_else(|| invalid("the token names no signing key (kid)".into()))?;
        let jwk = self
            .keys
            .find(&kid)
            .ok_or_else(|| invalid("the token's signing key is not the authority's".into()))?;
        let key = DecodingKey::from_jwk(jwk)
            .map_err(|e| invalid(format!("the authority's key is unusable: {e}")))?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&self.audiences);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
            .map_err(|e| invalid(format!("the token is not valid: {e}")))?
            .claims;
        // Authorization: a delegated (user) token granting this API's scope.
        let scopes = claims.get("scp").and_then(Value::as_str).unwrap_or("");
        if !scopes.split(' ').any(|s| s == API_SCOPE) {
            return Err(Failure::Forbidden(format!(
                "the token does not grant the delegated scope `{API_SCOPE}`"
            )));
        }
        Ok(claims)
    }

    /// The downstream API's answer for the caller's user. oxmsal caches the
    /// on-behalf-of token per incoming token: the caller's next request with the
    /// same token is a cache hit.
    async fn call_downstream(&self, incoming: &str) -> Result<Value, Failure> {
        let assertion = Secret::new(incoming);
        let token = self
            .app
            .acquire_token_on_behalf_of(assertion.clone(), DOWNSTREAM_SCOPES)
            .await?;
        let mut response = self.get_downstream(&token).await?;
        if let Some(challenge) = claims_challenge(&response) {
            // The downstream API wants claims the token lacks. Ask once with
            // them (the app's CP1 capability is merged in) and retry once; a
            // second challenge is a failure, never a loop.
            let token = self
                .app
                .acquire_token_on_behalf_of(assertion, DOWNSTREAM_SCOPES)
                .claims_challenge(&challenge)
                .await
                .map_err(|err| match Failure::from(err) {
                    // The user must satisfy the downstream API's claims: the
                    // caller's client gets them to sign the user in with.
                    Failure::InteractionRequired(None) => {
                        Failure::InteractionRequired(Some(challenge.claims_json().to_owned()))
                    }
                    other => other,
                })?;
            response = self.get_downstream(&token).await?;
        }
        let status = response.status();
        let body = read_bounded(response).await.map_err(|e| {
            Failure::Upstream(
                StatusCode::BAD_GATEWAY,
                format!("the downstream API's answer: {e}"),
            )
        })?;
        if !status.is_success() {
            return Err(Failure::Upstream(
                StatusCode::BAD_GATEWAY,
                format!("the downstream API answered {status}"),
            ));
        }
        serde_json::from_slice(&body).map_err(|e| {
            Failure::Upstream(
                StatusCode::BAD_GATEWAY,
                format!("the downstream API's answer is not JSON: {e}"),
            )
        })
    }

    async fn get_downstream(
        &self,
        token: &AuthenticationResult,
    ) -> Result<reqwest::Response, Failure> {
        let mut value =
            HeaderValue::from_str(&format!("Bearer {}", token.access_token.expose_secret()))
                .map_err(|_| {
                    Failure::Upstream(StatusCode::BAD_GATEWAY, "an unusable access token".into())
                })?;
        // Kept out of any Debug output of the request.
        value.set_sensitive(true);
        self.http
            .get(&self.downstream_url)
            .header(header::AUTHORIZATION, value)
            .send()
            .await
            .map_err(|e| {
                Failure::Upstream(
                    StatusCode::BAD_GATEWAY,
                    format!("the downstream API cannot be reached: {e}"),
                )
            })
    }
}

/// The claims challenge of a `401 insufficient_claims` answer, if it is one.
fn claims_challenge(response: &reqwest::Response) -> Option<ClaimsChallenge> {
    if response.status() != StatusCode::UNAUTHORIZED {
        return None;
    }
    let values = response
        .headers()
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok());
    ClaimsChallenge::from_header_values(values)
        .ok()
        .flatten()
        .filter(|c| c.error.as_deref() == Some("insufficient_claims"))
}

/// A response body, refused past [`MAX_BODY`] bytes.
async fn read_bounded(mut response: reqwest::Response) -> Result<Vec<u8>, BoxError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(format!("larger than {MAX_BODY} bytes").into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Builds the app and loads the authority's issuer and keys.
async fn api(settings: Settings) -> Result<Api, BoxError> {
    let mut builder = ConfidentialClientApplication::builder(
        settings.client_id.clone(),
        ClientCredential::secret(settings.client_secret.clone()),
    )
    .authority(settings.authority.clone())
    // CP1: this API handles Continuous Access Evaluation challenges.
    .client_capabilities(["CP1"]);
    let mut http = reqwest::Client::builder();
    if let Some((ca_pem, base_url)) = &settings.emulator {
        builder = builder
            .extra_root_certificate_pem(ca_pem.as_bytes().to_vec())
            .instance_discovery(InstanceDiscovery::Endpoint(base_url.parse()?));
        http = http
            .tls_certs_only([reqwest::Certificate::from_pem(ca_pem.as_bytes())?])
            .no_proxy();
    }
    let app = builder.build()?;
    let http = http.build()?;

    let config_url = format!(
        "{}/v2.0/.well-known/openid-configuration",
        settings.authority.trim_end_matches('/')
    );
    let config: Value = get_json(&http, &config_url).await?;
    let text = |name: &str| {
        config
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("the OpenID configuration has no `{name}`"))
    };
    let issuer = text("issuer")?;
    let keys: JwkSet = serde_json::from_value(get_json(&http, &text("jwks_uri")?).await?)?;
    Ok(Api {
        audiences: [
            settings.client_id.clone(),
            format!("api://{}", settings.client_id),
        ],
        app,
        http,
        keys,
        issuer,
        downstream_url: settings.downstream_url,
    })
}

async fn get_json(http: &reqwest::Client, url: &str) -> Result<Value, BoxError> {
    let response = http.get(url).send().await?.error_for_status()?;
    Ok(serde_json::from_slice(&read_bounded(response).await?)?)
}

fn router(api: Api) -> Router {
    Router::new()
        .route("/me", get(me))
        .with_state(Arc::new(api))
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    if std::env::args().nth(1).as_deref() == Some("--emulator") {
        return smoke::run().await;
    }
    let env = |name: &str| std::env::var(name).map_err(|_| format!("set {name}"));
    let settings = Settings {
        client_id: env("OXMSAL_CLIENT_ID")?,
        client_secret: Secret::new(env("OXMSAL_CLIENT_SECRET")?),
        authority: env("OXMSAL_AUTHORITY")?,
        downstream_url: "https://graph.microsoft.com/v1.0/me".into(),
        emulator: None,
    };
    let addr: SocketAddr = std::env::var("OXMSAL_ADDR")
        .unwrap_or_else(|_| "127.0.0.1:8001".into())
        .parse()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    eprintln!("web_api: GET http://{addr}/me with a bearer token");
    axum::serve(listener, router(api(settings).await?)).await?;
    Ok(())
}

/// `--emulator`: the whole path once, against oxmsal's emulator.
mod smoke {
    use super::*;
    use oxmsal::PublicClientApplication;
    use oxmsal_emulator::{AppRegistration, Emulator, Fault, ResourceScenario, DEFAULT_USERNAME};

    pub async fn run() -> Result<(), BoxError> {
        let emulator = Emulator::start().await?;
        // The API's registration: a confidential app; its tokens' audience is
        // `api://{client id}`.
        let api_id = "11111111-0000-4000-8000-0000000000a1";
        let api_secret = "smoke-test-secret";
        emulator.register_app(AppRegistration::new(api_id).with_secret(api_secret))?;
        // The downstream API asks for multi-factor authentication (a claims
        // challenge), which the API's second on-behalf-of request satisfies.
        emulator.set_resource_scenario(ResourceScenario::MfaStepUp);

        let settings = Settings {
            client_id: api_id.into(),
            client_secret: Secret::new(api_secret),
            authority: emulator.authority(),
            downstream_url: emulator.resource_url("v1.0/me"),
            emulator: Some((emulator.ca_pem().to_owned(), emulator.base_url())),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let me_url = format!("http://{}/me", listener.local_addr()?);
        let server = axum::serve(listener, router(api(settings).await?));
        tokio::spawn(async move { server.await });

        // The API's caller: a client app that signed its user in (the
        // emulator's test user, by password, to stay headless).
        let client_app = emulator.register_public_demo_app();
        let client = PublicClientApplication::builder(client_app.client_id)
            .authority(emulator.authority())
            .extra_root_certificate_pem(emulator.ca_pem().as_bytes().to_vec())
            .instance_discovery(InstanceDiscovery::Endpoint(emulator.base_url().parse()?))
            .build()?;
        let user_token = client
            .acquire_token_by_username_password(
                DEFAULT_USERNAME,
                Secret::new(oxmsal_emulator::DEFAULT_USER_PASSWORD),
                [format!("api://{api_id}/{API_SCOPE}")],
            )
            .await?;
        let http = reqwest::Client::builder().no_proxy().build()?;

        // Refused: no token, a token with a broken signature, another API's token.
        let good = user_token.access_token.expose_secret();
        let signed = good.rsplit_once('.').map_or("", |(signed, _)| signed);
        let forged = format!("{signed}.{}", "A".repeat(342));
        let graph_token = client
            .acquire_token_by_username_password(
                DEFAULT_USERNAME,
                Secret::new(oxmsal_emulator::DEFAULT_USER_PASSWORD),
                ["User.Read"],
            )
            .await?;
        for (what, token) in [
            ("no token", None),
            ("a forged token", Some(forged.as_str())),
            (
                "a token for Graph",
                Some(graph_token.access_token.expose_secret()),
            ),
        ] {
            let mut request = http.get(&me_url);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let status = request.send().await?.status();
            if status != StatusCode::UNAUTHORIZED {
                return Err(format!("{what}: expected 401, got {status}").into());
            }
        }
        if emulator.counters().obo_grants != 0 {
            return Err("a refused caller caused an on-behalf-of request".into());
        }

        // Accepted: the user's token for this API.
        let response = http.get(&me_url).bearer_auth(good).send().await?;
        let status = response.status();
        let body: Value = serde_json::from_slice(&response.bytes().await?)?;
        let seen = &body["downstream"]["claims_seen"];
        let counters = emulator.counters();
        if status != StatusCode::OK
            || body["caller"] != DEFAULT_USERNAME
            || seen["preferred_username"] != DEFAULT_USERNAME
            || seen["acrs"][0] != "c1"
            || counters.obo_grants != 2
            || counters.resource_challenges != 1
            || counters.resource_requests != 2
        {
            return Err(format!(
                "unexpected answer {status} {body} (obo grants {}, challenges {})",
                counters.obo_grants, counters.resource_challenges
            )
            .into());
        }
        // The downstream API now wants a compliant device, which only the user
        // can provide: the identity platform says so (injected here), and the
        // API hands the challenge to its caller, whose client signs the user in
        // with those claims.
        emulator.set_resource_scenario(ResourceScenario::CompliantDevice);
        emulator.inject(Fault::Oauth {
            status: 400,
            error: "invalid_grant".into(),
            error_description: "AADSTS50076: the user must use multi-factor authentication".into(),
            error_codes: vec![50076],
            suberror: Some("basic_action".into()),
            claims: None,
            retry_after: None,
            extra: Default::default(),
        });
        let response = http.get(&me_url).bearer_auth(good).send().await?;
        let status = response.status();
        let challenge = response
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .map(ClaimsChallenge::from_www_authenticate)
            .transpose()?
            .flatten();
        let forwarded = challenge.as_ref().map(ClaimsChallenge::claims_json);
        if status != StatusCode::UNAUTHORIZED || !forwarded.is_some_and(|c| c.contains("\"c2\"")) {
            return Err(format!(
                "interaction required: expected 401 with the c2 challenge, got {status}, claims {forwarded:?}"
            )
            .into());
        }
        println!(
            "web_api: ok: {DEFAULT_USERNAME}'s token validated; on-behalf-of token, \
             downstream claims challenge answered once (2 OBO grants, 2 downstream requests); \
             a challenge only the user can satisfy went back to the caller as a 401"
        );
        Ok(())
    }
}
