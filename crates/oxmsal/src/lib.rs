//! # oxmsal — the Microsoft Authentication Library for Rust
//!
//! Tokens from the Microsoft identity platform (Entra ID), or any OpenID Connect
//! provider, for daemons, CLIs, desktop apps and web APIs: confidential and public
//! client applications, a token cache in MSAL's cross-language format, and errors
//! that are values keeping everything the server said. The reference behaviour is
//! MSAL for Python 1.39; where oxmsal differs, it says so.
//!
//! ## A first token
//!
//! A daemon gets an app-only token with the client credentials grant. This example
//! runs as a test against oxmsal's emulator (`oxmsal-emulator`, a local identity
//! platform over HTTPS); against Entra ID the authority is
//! `https://login.microsoftonline.com/<tenant>` and the two emulator lines go.
//!
//! ```
//! use oxmsal::{authority::InstanceDiscovery, credential::ClientCredential};
//! use oxmsal::ConfidentialClientApplication;
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let emulator = oxmsal_emulator::Emulator::start().await?;
//! let demo = emulator.register_demo_app();
//!
//! let app = ConfidentialClientApplication::builder(
//!         demo.client_id.clone(),
//!         ClientCredential::secret(demo.secret.clone()),
//!     )
//!     .authority(emulator.authority())
//!     .extra_root_certificate_pem(emulator.ca_pem().as_bytes().to_vec())
//!     .instance_discovery(InstanceDiscovery::Endpoint(emulator.base_url().parse()?))
//!     .build()?; // checks everything; no network yet
//!
//! let token = app.acquire_token_for_client(["api://demo/.default"]).await?;
//! assert_eq!(token.token_type.as_str(), "Bearer");
//! // The second call is answered from the cache, without a request.
//! let again = app.acquire_token_for_client(["api://demo/.default"]).await?;
//! assert_eq!(again.access_token, token.access_token);
//! # Ok(()) }
//! ```
//!
//! `access_token` is a [`Secret`]: `Debug` and `Display` print `<redacted>`, the
//! bytes are wiped when the last copy goes, and
//! [`expose_secret`](Secret::expose_secret) is the one way to read it.
//!
//! ## Every grant
//!
//! | who | method | grant |
//! |---|---|---|
//! | daemon, service | [`ConfidentialClientApplication::acquire_token_for_client`] | client credentials (secret, certificate, or a federated assertion: [`credential::ClientCredential`]) |
//! | web app | [`ConfidentialClientApplication::initiate_auth_code_flow`], then [`ConfidentialClientApplication::acquire_token_by_auth_code_flow`] | authorization code with PKCE, state and nonce |
//! | web API | [`ConfidentialClientApplication::acquire_token_on_behalf_of`] | on-behalf-of, cached per incoming token |
//! | web API's background job | [`ConfidentialClientApplication::initiate_long_running_on_behalf_of`], then [`ConfidentialClientApplication::acquire_token_in_long_running_process`] | long-running on-behalf-of: a session key, then the session's refresh token |
//! | desktop, CLI | [`PublicClientApplication::acquire_token_interactive`] | browser sign-in with a loopback redirect |
//! | headless device, SSH session | [`PublicClientApplication::initiate_device_flow`], then [`PublicClientApplication::acquire_token_by_device_flow`] | device code (RFC 8628) |
//! | legacy, tests | [`PublicClientApplication::acquire_token_by_username_password`] | resource owner password |
//! | migration | [`PublicClientApplication::acquire_token_by_refresh_token`] | a refresh token from elsewhere |
//! | anyone with a signed-in user | `acquire_token_silent` (both kinds) | the cache, else a refresh token; one refresh however many tasks ask |
//!
//! Each request is a builder: options are methods, and `.await` sends it
//! (`app.acquire_token_silent(scopes, &account).claims(json).force_refresh(true).await`).
//!
//! A user signs in, and later calls are silent (runs against the emulator):
//!
//! ```
//! use oxmsal::{authority::InstanceDiscovery, PublicClientApplication, Secret};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let emulator = oxmsal_emulator::Emulator::start().await?;
//! let public = emulator.register_public_demo_app();
//! let app = PublicClientApplication::builder(public.client_id.clone())
//!     .authority(emulator.authority())
//!     .extra_root_certificate_pem(emulator.ca_pem().as_bytes().to_vec())
//!     .instance_discovery(InstanceDiscovery::Endpoint(emulator.base_url().parse()?))
//!     .build()?;
//!
//! let accounts = app.accounts().await?; // from the cache (and its store)
//! let token = match accounts.first() {
//!     Some(account) => app.acquire_token_silent(["User.Read"], account).await?,
//!     // Interactive or device code in a real app; the emulator's test user here.
//!     None => {
//!         app.acquire_token_by_username_password(
//!             oxmsal_emulator::DEFAULT_USERNAME,
//!             Secret::new(oxmsal_emulator::DEFAULT_USER_PASSWORD),
//!             ["User.Read"],
//!         )
//!         .await?
//!     }
//! };
//! let account = token.account.clone().expect("a user token names its account");
//! let silent = app.acquire_token_silent(["User.Read"], &account).await?;
//! assert_eq!(silent.token_source, oxmsal::TokenSource::Cache);
//! # Ok(()) }
//! ```
//!
//! ## Errors are values
//!
//! Every failure is an [`Error`] with an [`ErrorKind`]: `Service` (the server's
//! OAuth error object, kept whole: [`ServiceError`]), `Throttled` (refused
//! locally because the server asked to back off), `Transport`,
//! `InvalidResponse` (a proxy's HTML page, a truncated body, a body over the size
//! cap), `Configuration` (misuse, found when the app or request is built),
//! `Cache`, `Cancelled` and `NoCachedToken`. Nothing in the library panics on what
//! a server, a file or a caller hands it. [`Error::action`] says what to do next:
//!
//! ```
//! use oxmsal::action::Action;
//! # fn handle(err: oxmsal::Error) {
//! match err.action() {
//!     Action::RetryAfter(wait) => eprintln!("busy; try again in {wait:?}"),
//!     Action::InteractWithUser { claims } => eprintln!("sign in again (claims: {claims:?})"),
//!     Action::FixConfiguration => eprintln!("check the app registration: {err}"),
//!     _ => eprintln!("{err}"), // what happened, the AADSTS code, the correlation id
//! }
//! // The dict MSAL for Python would have returned, for logs and other tools:
//! let msal = err.to_msal_json();
//! # let _ = msal; }
//! ```
//!
//! Errors and logs never show a token or a secret: the request's own secrets are
//! masked wherever a server or proxy echoes them back.
//!
//! ## The cache
//!
//! Each app has a [`TokenCache`] in MSAL's unified schema: a document written by
//! MSAL for Python (or .NET, Java, Go, JavaScript) loads here and the other way
//! round. Share it between processes with a store on the builder
//! (`.cache_persistence(Arc::new(FileStore::new(path)))`, see [`cache::persist`]):
//! one file locked the way msal-extensions locks it, or Redis with feature
//! `cache-redis`. Tokens are found through hash indexes, never a scan, and a
//! cache hit needs no network: the authority's discovery metadata is kept with
//! the cache.
//!
//! ## Claims challenges
//!
//! A resource that answers 401 with a claims challenge (MFA step-up, Continuous
//! Access Evaluation) is handled by parsing its `WWW-Authenticate` header with
//! [`ClaimsChallenge::from_www_authenticate`] and passing the result to the next
//! request's `.claims_challenge(&challenge)`; capabilities declared with the
//! builder's `client_capabilities(["CP1"])` are merged in. The middleware
//! (`middleware::BearerAuth`, features `reqwest-middleware` and `tower`) does
//! this for every request, once, with any [`provider::TokenProvider`].
//!
//! ## Features
//!
//! | feature | adds |
//! |---|---|
//! | `blocking` | [`blocking`]: both application kinds without an async runtime |
//! | `cache-redis` | `cache::persist::RedisStore`: the token cache shared through Redis |
//! | `azure-core` | `azure`: the Azure SDK for Rust's `TokenCredential` for the apps, the managed identity client and the [`chain`] |
//! | `reqwest-middleware` | `middleware::BearerAuth` as a `reqwest_middleware::Middleware`: bearer tokens from any [`provider::TokenProvider`], one retry on a claims challenge |
//! | `tower` | the same as a tower `Layer` over any `http` client service |
//!
//! Logging goes through `tracing` (spans `oxmsal.*`); usernames appear only with
//! the builder's `enable_pii_logging(true)`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod app;
pub mod authority;
#[cfg(feature = "azure-core")]
pub mod azure;
mod backoff;
#[cfg(feature = "blocking")]
pub mod blocking;
pub mod cache;
pub mod chain;
pub mod challenge;
pub mod claims;
mod client;
mod clock;
mod correlation;
pub mod credential;
pub mod error;
mod flow;
pub mod http;
pub mod jwt;
pub mod managed_identity;
#[cfg(any(feature = "reqwest-middleware", feature = "tower"))]
pub mod middleware;
pub mod provider;
mod redact;
mod request_options;
mod secret;
mod token;

pub use app::{ClientCredentialsRequest, ConfidentialClientApplication, PublicClientApplication};
pub use cache::{Account, FileCache, TokenCache};
pub use challenge::{AuthChallenge, ChallengeError, ClaimsChallenge};
pub use clock::{Clock, ManualClock, Sleep, SystemClock};
pub use correlation::CorrelationId;
#[doc(inline)]
pub use error::action;
pub use error::action::{Action, ActionKind};
pub use error::{Error, ErrorKind, InvalidResponse, Result, ServiceError};
pub use flow::auth_code::{AuthCodeFlow, ResponseMode};
pub use flow::device_code::DeviceFlow;
pub use flow::interactive::Browser;
pub use request_options::RequestOptions;
pub use secret::Secret;
pub use token::{AuthenticationResult, TokenSource, TokenType};
