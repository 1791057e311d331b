//! One file per grant. Flows use the app core (authority, pipeline, cache);
//! they never call each other.

pub(crate) mod auth_code;
pub(crate) mod client_credentials;
pub(crate) mod device_code;
pub(crate) mod interactive;
mod loopback;
pub(crate) mod on_behalf_of;
pub(crate) mod refresh_token;
pub(crate) mod scopes;
pub(crate) mod silent;
mod token_request;
mod user_token;
pub(crate) mod username_password;

pub(crate) use scopes::{validate_scopes, validate_sign_in_scopes};
pub(crate) use token_request::{send_token_request, TokenRequest};
