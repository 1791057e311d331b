//! A local Microsoft identity platform (Entra ID v2 endpoints) with fault injection.
//!
//! The emulator serves HTTPS on `127.0.0.1` with a certificate chain it generates
//! at start (a CA and a leaf for `localhost`, `127.0.0.1` and `::1`); clients trust
//! [`Emulator::ca_pem`] (or the file at [`Emulator::ca_path`]). It answers OIDC
//! discovery, instance discovery, JWKS and the token endpoint with Entra's JSON
//! shapes, including Entra-shaped `AADSTS` error bodies, and it can be told to
//! misbehave ([`Fault`]) so that retry, throttling and error handling can be tested
//! against real sockets.
//!
//! Users sign in through every flow MSAL has: the authorization code flow with
//! PKCE (a sign-in page for people, headless auto sign-in for tests), device code,
//! username/password, refresh tokens (rotating, FOCI families), and
//! on-behalf-of. The default user is [`DEFAULT_USERNAME`] / [`DEFAULT_USER_PASSWORD`];
//! add more with [`Emulator::add_user`].
//!
//! A protected resource under `/resource/…` (a stand-in for Microsoft Graph or
//! ARM) accepts the emulator's own access tokens and, per [`ResourceScenario`],
//! answers with Conditional Access claims challenges (MFA step-up, compliant
//! device, Continuous Access Evaluation revocation) that a token requested with the
//! challenge's `claims` satisfies.
//!
//! ```no_run
//! # async fn demo() -> Result<(), oxmsal_emulator::EmulatorError> {
//! use oxmsal_emulator::{Emulator, Fault};
//! let emulator = Emulator::start().await?;
//! let app = emulator.register_demo_app();
//! emulator.inject(Fault::Throttle { retry_after: Some("5".into()) });
//! // point a client at emulator.authority() with app.client_id / app.secret
//! # let _ = app; Ok(()) }
//! ```
//!
//! Everything can also be driven over HTTP under `/_emulator/` (faults, counters,
//! app and user registration, device code decisions, recorded token requests), so
//! the CLI and non-Rust tests can use it; [`InjectedFault`] documents the JSON
//! format of a fault.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod apps;
mod clock;
mod config;
mod emulator;
mod error;
mod errors;
mod faults;
mod ids;
mod jwt;
mod keys;
pub mod managed_identity;
mod pem;
mod query;
mod revocation;
mod routes;
mod scenario;
mod scopes;
mod server;
mod sessions;
mod shared;
mod state;
mod state_files;
pub mod testing;
mod tls;
mod users;

pub use apps::AppRegistration;
pub use config::EmulatorConfig;
pub use emulator::{AccessTokenIssuer, Emulator};
pub use error::EmulatorError;
pub use faults::{EchoBody, Fault, FaultBody, FaultTarget, InjectedFault};
pub use scenario::ResourceScenario;
pub use sessions::{AuthorizeOutcome, PendingDeviceCode, RefreshTokenInfo};
pub use state::{Counters, DemoApp, PublicDemoApp, RecordedRequest};
pub use users::{
    User, DEFAULT_USERNAME, DEFAULT_USER_DISPLAY_NAME, DEFAULT_USER_OID, DEFAULT_USER_PASSWORD,
};

/// The default tenant's GUID when [`EmulatorConfig::tenant_id`] is not set.
pub const DEFAULT_TENANT_ID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

/// The default tenant's domain when [`EmulatorConfig::tenant_domains`] is not changed.
pub const DEFAULT_TENANT_DOMAIN: &str = "contoso.onmicrosoft.com";
