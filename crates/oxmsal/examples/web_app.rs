//! A web app (axum) that signs users in with the authorization code flow and
//! calls an API as the signed-in user.
//!
//! - `GET /login` starts the flow (PKCE, state, nonce) and sends the browser to
//!   the identity platform; the flow (which holds the PKCE verifier) waits in a
//!   server-side session, found by a random cookie.
//! - `GET /callback` is the redirect URI: it redeems the code with the flow from
//!   the session, keeps the signed-in account, and starts a new session (a new
//!   cookie, so a session id known before sign-in is worthless after it).
//! - `GET /me` calls Microsoft Graph through oxmsal's bearer middleware with the
//!   user's token (`acquire_token_silent`: the cache, else the refresh token);
//!   the middleware answers one claims challenge (Conditional Access step-up,
//!   Continuous Access Evaluation). A user who must sign in again goes to `/login`.
//! - `POST /logout` forgets the session and the account's tokens.
//!
//! Cookies are `HttpOnly` (no script reads them) and `SameSite=Lax` (sent on the
//! identity platform's redirect back, a top-level GET, but not on cross-site
//! posts); `Secure` too when the redirect URI is `https`.
//!
//! Against Entra ID (a web app registration with a client secret, the redirect
//! URI `http://localhost:8000/callback` and the delegated Graph permission `User.Read`):
//!
//! ```text
//! OXMSAL_CLIENT_ID=… OXMSAL_CLIENT_SECRET=… \
//! OXMSAL_AUTHORITY=https://login.microsoftonline.com/<tenant id> \
//!   cargo run -p oxmsal --features reqwest-middleware --example web_app
//! # then open http://localhost:8000/login
//! ```
//!
//! Once against oxmsal's emulator (what `scripts/test` runs): starts the emulator,
//! serves on a free port, drives a sign-in and a call to `/me` (through a claims
//! challenge) with an HTTP client standing in for the browser, checks each
//! answer, prints one line; exits non-zero if any step fails:
//!
//! ```text
//! cargo run -p oxmsal --features reqwest-middleware --example web_app -- --emulator
//! ```

use std::collections::HashMap;
use std::future::IntoFuture as _;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use oxmsal::authority::InstanceDiscovery;
use oxmsal::credential::ClientCredential;
use oxmsal::middleware::BearerAuth;
use oxmsal::provider::{TokenProvider, TokenProviderFuture};
use oxmsal::{Account, AuthCodeFlow, ConfidentialClientApplication, ErrorKind, Secret};
use serde_json::Value;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What the user consents to at sign-in and what `/me` calls Graph with.
const SCOPES: [&str; 1] = ["User.Read"];
const COOKIE: &str = "sid";
/// Sessions kept at once: past this, `/login` answers 503 instead of growing
/// without bound. A real app keeps sessions in a store with an expiry (Redis, a
/// database) so that any instance can serve the callback.
const MAX_SESSIONS: usize = 10_000;
/// Bound on what is read from the API.
const MAX_BODY: usize = 1 << 20;

/// Where the app runs and what it trusts.
struct Settings {
    client_id: String,
    client_secret: Secret,
    authority: String,
    redirect_uri: String,
    api_url: String,
    /// The emulator's CA and base URL; `None` for Entra ID.
    emulator: Option<(String, String)>,
}

/// What every request handler shares.
struct WebApp {
    /// One app for every user: its token cache holds each signed-in account's
    /// tokens (add `cache_persistence` to keep them across restarts).
    app: ConfidentialClientApplication,
    http: reqwest::Client,
    sessions: Mutex<HashMap<String, Session>>,
    redirect_uri: String,
    api_url: String,
    secure_cookie: bool,
}

#[derive(Default)]
struct Session {
    /// A started sign-in: the flow's JSON (`AuthCodeFlow::to_json`), the form
    /// any instance of the app can finish it from. Server-side only: it holds
    /// the PKCE verifier.
    flow: Option<String>,
    /// The signed-in user.
    account: Option<Arc<Account>>,
}

/// A signed-in user of the confidential app as a [`TokenProvider`], for the
/// middleware: every token silently, from the cache or the refresh token.
struct SignedInUser {
    app: ConfidentialClientApplication,
    account: Arc<Account>,
}

impl TokenProvider for SignedInUser {
    fn token<'a>(
        &'a self,
        scopes: &'a [String],
        claims: Option<&'a str>,
    ) -> TokenProviderFuture<'a> {
        let mut request = self
            .app
            .acquire_token_silent(scopes.iter().cloned(), &self.account);
        if let Some(claims) = claims {
            request = request.claims(claims);
        }
        Box::pin(request.into_future())
    }
}

/// Why a request failed, as the answer the browser gets. The texts never hold
/// a token, code or secret: oxmsal's errors redact them, and ours name none.
enum Failure {
    /// 400: a callback without a sign-in in progress, a bad redirect.
    BadRequest(String),
    /// 401: the identity platform said no (a refused sign-in, an app
    /// registration that does not allow this).
    Refused(oxmsal::Error),
    /// 502/503: the identity platform or the API failed.
    Upstream(StatusCode, String),
}

impl From<oxmsal::Error> for Failure {
    fn from(err: oxmsal::Error) -> Self {
        match err.kind() {
            ErrorKind::Service => Failure::Refused(err),
            // A flow past its hour, or one another app started.
            ErrorKind::Configuration => Failure::BadRequest(err.to_string()),
            ErrorKind::Throttled => {
                Failure::Upstream(StatusCode::SERVICE_UNAVAILABLE, err.to_string())
            }
            _ => Failure::Upstream(StatusCode::BAD_GATEWAY, err.to_string()),
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        match self {
            Failure::BadRequest(why) => (StatusCode::BAD_REQUEST, why),
            Failure::Refused(err) => (
                StatusCode::UNAUTHORIZED,
                format!("the identity platform refused: {err}"),
            ),
            Failure::Upstream(status, why) => (status, why),
        }
        .into_response()
    }
}

#[derive(serde::Deserialize)]
struct LoginQuery {
    login_hint: Option<String>,
}

/// `GET /login[?login_hint=…]`: a new session holding a new flow, and the
/// browser sent to the identity platform.
async fn login(
    State(web): State<Arc<WebApp>>,
    Query(query): Query<LoginQuery>,
) -> Result<Response, Failure> {
    let mut request = web.app.initiate_auth_code_flow(SCOPES, &web.redirect_uri);
    if let Some(hint) = query.login_hint {
        request = request.login_hint(hint);
    }
    let flow = request.await?;
    let session = Session {
        flow: Some(flow.to_json()),
        account: None,
    };
    let id = web.new_session(session)?;
    Ok(web.redirect_with_session(&flow.auth_uri, &id))
}

/// `GET /callback?code=…&state=…`: the redirect back. The session's flow is
/// redeemed with every parameter the redirect brought (oxmsal checks `state`
/// and the id token's `nonce`, and sends the PKCE verifier); the user's
/// session is then replaced by a signed-in one.
async fn callback(
    State(web): State<Arc<WebApp>>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, Failure> {
    let id = session_id(&headers).ok_or_else(|| Failure::BadRequest("no session".into()))?;
    let flow = {
        let mut sessions = web.sessions();
        let session = sessions
            .get_mut(id)
            .ok_or_else(|| Failure::BadRequest("no session".into()))?;
        let flow = session
            .flow
            .as_deref()
            .ok_or_else(|| Failure::BadRequest("no sign-in in progress".into()))?;
        let flow = AuthCodeFlow::from_json(flow)?;
        // oxmsal checks the state too. Checked here first so that a forged
        // redirect (cross-site request forgery) is the browser's bad request and
        // leaves the user's own sign-in in progress.
        if params.get("state") != Some(&flow.state) {
            return Err(Failure::BadRequest(
                "the redirect does not belong to this sign-in".into(),
            ));
        }
        // The sign-in's own redirect: the flow is redeemed once, whatever the outcome.
        session.flow = None;
        flow
    };
    let result = web
        .app
        .acquire_token_by_auth_code_flow(&flow, &params)
        .await?;
    let account = result
        .account
        .ok_or_else(|| Failure::BadRequest("the sign-in named no account".into()))?;
    web.sessions().remove(id);
    let id = web.new_session(Session {
        flow: None,
        account: Some(account),
    })?;
    Ok(web.redirect_with_session("/me", &id))
}

/// `GET /me`: the API's answer for the signed-in user.
async fn me(State(web): State<Arc<WebApp>>, headers: HeaderMap) -> Result<Response, Failure> {
    let account =
        session_id(&headers).and_then(|id| web.sessions().get(id).and_then(|s| s.account.clone()));
    let Some(account) = account else {
        return Ok(Redirect::to("/login").into_response());
    };
    let user = SignedInUser {
        app: web.app.clone(),
        account,
    };
    // The middleware attaches the user's token and answers one claims
    // challenge with a token carrying the claims asked for.
    let client = reqwest_middleware::ClientBuilder::new(web.http.clone())
        .with(BearerAuth::new(user, SCOPES))
        .build();
    let response = match client.get(&web.api_url).send().await {
        Ok(response) => response,
        Err(reqwest_middleware::Error::Middleware(err)) => {
            return match err.downcast::<oxmsal::Error>() {
                // The refresh token was revoked or expired, or the claims
                // need the user (MFA): sign in again. (A fuller app passes the
                // error's claims to `initiate_auth_code_flow(…).claims(…)`.)
                Ok(err) if err.requires_interaction() || err.kind() == ErrorKind::NoCachedToken => {
                    Ok(Redirect::to("/login").into_response())
                }
                Ok(err) => Err(err.into()),
                Err(other) => Err(Failure::Upstream(
                    StatusCode::BAD_GATEWAY,
                    other.to_string(),
                )),
            };
        }
        Err(reqwest_middleware::Error::Reqwest(err)) => {
            return Err(Failure::Upstream(
                StatusCode::BAD_GATEWAY,
                format!("the API cannot be reached: {err}"),
            ))
        }
    };
    let status = response.status();
    if !status.is_success() {
        return Err(Failure::Upstream(
            StatusCode::BAD_GATEWAY,
            format!("the API answered {status}"),
        ));
    }
    let body = read_bounded(response).await.map_err(|e| {
        Failure::Upstream(StatusCode::BAD_GATEWAY, format!("the API's answer: {e}"))
    })?;
    let json: Value = serde_json::from_slice(&body).map_err(|e| {
        Failure::Upstream(
            StatusCode::BAD_GATEWAY,
            format!("the API's answer is not JSON: {e}"),
        )
    })?;
    Ok(Json(json).into_response())
}

/// `POST /logout`: the session and the account's tokens go. A POST: with
/// `SameSite=Lax` another site cannot make the browser send it with the cookie.
async fn logout(State(web): State<Arc<WebApp>>, headers: HeaderMap) -> Result<Response, Failure> {
    let session = session_id(&headers).and_then(|id| web.sessions().remove(id));
    if let Some(account) = session.and_then(|s| s.account) {
        web.app.remove_account(&account).await?;
    }
    let clear = format!("{COOKIE}=; Max-Age=0; HttpOnly; SameSite=Lax; Path=/");
    Ok(([(header::SET_COOKIE, clear)], "signed out").into_response())
}

impl WebApp {
    /// The session map. A panic elsewhere while holding the lock leaves the
    /// map as it was (each change is one insert or remove): use it anyway.
    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores `session` under a new random id (256 bits from the system's
    /// cryptographic generator).
    fn new_session(&self, session: Session) -> Result<String, Failure> {
        let mut bytes = [0u8; 32];
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| {
            Failure::Upstream(StatusCode::INTERNAL_SERVER_ERROR, "no randomness".into())
        })?;
        let id = URL_SAFE_NO_PAD.encode(bytes);
        let mut sessions = self.sessions();
        if sessions.len() >= MAX_SESSIONS {
            return Err(Failure::Upstream(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many sessions".into(),
            ));
        }
        sessions.insert(id.clone(), session);
        Ok(id)
    }

    /// A redirect to `location` that sets the session cookie.
    fn redirect_with_session(&self, location: &str, id: &str) -> Response {
        let secure = if self.secure_cookie { "; Secure" } else { "" };
        let cookie = format!("{COOKIE}={id}; HttpOnly; SameSite=Lax; Path=/{secure}");
        ([(header::SET_COOKIE, cookie)], Redirect::to(location)).into_response()
    }
}

/// The session id from the request's `Cookie` headers.
fn session_id(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
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

fn router(settings: Settings) -> Result<Router, BoxError> {
    let mut builder = ConfidentialClientApplication::builder(
        settings.client_id,
        ClientCredential::secret(settings.client_secret),
    )
    .authority(settings.authority)
    // CP1: this app handles Continuous Access Evaluation challenges.
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
    let web = WebApp {
        app: builder.build()?,
        http: http.build()?,
        sessions: Mutex::default(),
        secure_cookie: settings.redirect_uri.starts_with("https:"),
        redirect_uri: settings.redirect_uri,
        api_url: settings.api_url,
    };
    Ok(Router::new()
        .route("/login", get(login))
        .route("/callback", get(callback))
        .route("/me", get(me))
        .route("/logout", post(logout))
        .with_state(Arc::new(web)))
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
        redirect_uri: "http://localhost:8000/callback".into(),
        api_url: "https://graph.microsoft.com/v1.0/me".into(),
        emulator: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
    eprintln!("web_app: open http://localhost:8000/login");
    axum::serve(listener, router(settings)?).await?;
    Ok(())
}

/// `--emulator`: a sign-in and a call once, against oxmsal's emulator, with an
/// HTTP client in the browser's place.
mod smoke {
    use super::*;
    use oxmsal_emulator::{AppRegistration, Emulator, ResourceScenario, DEFAULT_USERNAME};

    pub async fn run() -> Result<(), BoxError> {
        let emulator = Emulator::start().await?;
        let client_id = "11111111-0000-4000-8000-0000000000a2";
        let secret = "smoke-test-secret";
        // Loopback redirect URIs match any port (Entra's rule).
        emulator.register_app(
            AppRegistration::new(client_id)
                .with_secret(secret)
                .with_redirect_uri("http://127.0.0.1/callback"),
        )?;
        // The API asks for multi-factor authentication (a claims challenge),
        // which a token refreshed with the challenge's claims satisfies.
        emulator.set_resource_scenario(ResourceScenario::MfaStepUp);

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let settings = Settings {
            client_id: client_id.into(),
            client_secret: Secret::new(secret),
            authority: emulator.authority(),
            redirect_uri: format!("{base}/callback"),
            api_url: emulator.resource_url("v1.0/me"),
            emulator: Some((emulator.ca_pem().to_owned(), emulator.base_url())),
        };
        let server = axum::serve(listener, router(settings)?);
        tokio::spawn(async move { server.await });

        // The browser: follows no redirect by itself, trusts the emulator.
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .tls_certs_only([reqwest::Certificate::from_pem(
                emulator.ca_pem().as_bytes(),
            )?])
            .no_proxy()
            .build()?;
        let get = |url: String, cookie: Option<&str>| {
            let mut request = browser.get(url);
            if let Some(id) = cookie {
                request = request.header(header::COOKIE, format!("{COOKIE}={id}"));
            }
            request.send()
        };

        // Not signed in: /me sends the browser to /login.
        let r = get(format!("{base}/me"), None).await?;
        expect_redirect(&r, "/me without a session", |l| l == "/login")?;

        // /login: a session cookie, and the identity platform's authorize URL.
        // The emulator signs the hinted user in at once (its auto sign-in).
        let r = get(format!("{base}/login?login_hint={DEFAULT_USERNAME}"), None).await?;
        let authorize = expect_redirect(&r, "/login", |l| l.starts_with(&emulator.authority()))?;
        let first = cookie_of(&r)?;
        let r = get(authorize, None).await?;
        let back = expect_redirect(&r, "the authorize endpoint", |l| {
            l.starts_with(&format!("{base}/callback?code="))
        })?;

        // A forged redirect (another state) is refused before any token
        // request, and leaves the sign-in in progress.
        let forged = format!("{base}/callback?code=forged&state=forged");
        let status = get(forged, Some(&first)).await?.status();
        if status != StatusCode::BAD_REQUEST {
            return Err(format!("a forged callback: expected 400, got {status}").into());
        }

        // The callback redeems the code and starts a new session.
        let r = get(back.clone(), Some(&first)).await?;
        expect_redirect(&r, "/callback", |l| l == "/me")?;
        let signed_in = cookie_of(&r)?;
        if signed_in == first {
            return Err("the session id was not renewed at sign-in".into());
        }
        // The same redirect again: the flow was redeemed, the old session is gone.
        let status = get(back, Some(&first)).await?.status();
        if status != StatusCode::BAD_REQUEST {
            return Err(format!("a replayed callback: expected 400, got {status}").into());
        }

        // /me: the API's answer for alice, after one claims challenge.
        let r = get(format!("{base}/me"), Some(&signed_in)).await?;
        let status = r.status();
        let body = r.text().await?;
        if status != StatusCode::OK {
            return Err(format!("/me: expected 200, got {status}: {body}").into());
        }
        let body: Value = serde_json::from_str(&body)?;
        let seen = &body["claims_seen"];
        let counters = emulator.counters();
        if seen["preferred_username"] != DEFAULT_USERNAME
            || seen["acrs"][0] != "c1"
            || counters.authorization_code_grants != 1
            || counters.resource_requests != 2
            || counters.resource_challenges != 1
        {
            return Err(format!(
                "/me: unexpected answer {body} (code grants {}, API requests {}, challenges {})",
                counters.authorization_code_grants,
                counters.resource_requests,
                counters.resource_challenges
            )
            .into());
        }
        // Signed out: the session is gone.
        let status = browser
            .post(format!("{base}/logout"))
            .header(header::COOKIE, format!("{COOKIE}={signed_in}"))
            .send()
            .await?
            .status();
        let r = get(format!("{base}/me"), Some(&signed_in)).await?;
        if status != StatusCode::OK {
            return Err(format!("/logout: expected 200, got {status}").into());
        }
        expect_redirect(&r, "/me after /logout", |l| l == "/login")?;
        println!(
            "web_app: ok: {DEFAULT_USERNAME} signed in (auth code flow kept in a server-side session), \
             /me called the API through the middleware, claims challenge answered once, signed out"
        );
        Ok(())
    }

    /// The `Location` of a `303 See Other` that `check` accepts.
    fn expect_redirect(
        response: &reqwest::Response,
        what: &str,
        check: impl Fn(&str) -> bool,
    ) -> Result<String, BoxError> {
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let status = response.status();
        if !status.is_redirection() || !check(location) {
            // Without the query: a redirect back carries the authorization code.
            let shown = location.split('?').next().unwrap_or_default();
            return Err(format!("{what}: unexpected answer {status}, Location {shown:?}").into());
        }
        Ok(location.to_owned())
    }

    /// The session id a response sets, checking the cookie's attributes.
    fn cookie_of(response: &reqwest::Response) -> Result<String, BoxError> {
        let cookie = response
            .headers()
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .ok_or("no Set-Cookie")?;
        if !cookie.contains("; HttpOnly") || !cookie.contains("; SameSite=Lax") {
            return Err("the session cookie lacks HttpOnly or SameSite=Lax".into());
        }
        let id = cookie
            .split(';')
            .next()
            .and_then(|pair| pair.strip_prefix(&format!("{COOKIE}=")))
            .ok_or("no session id in Set-Cookie")?;
        Ok(id.to_owned())
    }
}
