//! # oxmsal — the Microsoft Authentication Library for Rust
//!
//! Tokens from the Microsoft identity platform (Entra ID), or any OpenID Connect
//! provider, for daemons, CLIs, desktop apps and web APIs: confidential and public
//! client applications, a token cache in MSAL's cross-language format, and errors
//! that are values keeping everything the server said.
//!
//! (The full manual grows here as the flows land; see the README for a quick start.)

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod action;
pub mod app;
pub mod authority;
#[cfg(feature = "blocking")]
pub mod blocking;
pub mod cache;
pub mod challenge;
pub mod claims;
mod clock;
mod correlation;
pub mod credential;
pub mod error;
mod flow;
pub mod http;
pub mod jwt;
pub mod managed_identity;
mod redact;
mod secret;
mod token;

pub use action::{Action, ActionKind};
pub use app::{ClientCredentialsRequest, ConfidentialClientApplication, PublicClientApplication};
pub use cache::{Account, FileCache, TokenCache};
pub use challenge::{AuthChallenge, ChallengeError, ClaimsChallenge};
pub use clock::{Clock, ManualClock, Sleep, SystemClock};
pub use error::{Error, ErrorKind, InvalidResponse, Result, ServiceError};
pub use flow::auth_code::{AuthCodeFlow, ResponseMode};
pub use flow::device_code::DeviceFlow;
pub use flow::interactive::Browser;
pub use secret::Secret;
pub use token::{AuthenticationResult, TokenSource, TokenType};
