//! One file per grant. Flows use the core below them (crate::client:
//! authority, pipeline, cache, scope checks);
//! they never call each other.

pub(crate) mod auth_code;
pub(crate) mod client_credentials;
pub(crate) mod device_code;
pub(crate) mod interactive;
pub(crate) mod long_running_obo;
mod loopback;
pub(crate) mod on_behalf_of;
pub(crate) mod refresh_token;
pub(crate) mod silent;
mod token_request;
mod user_token;
pub(crate) mod username_password;

pub(crate) use token_request::{send_token_request, TokenRequest};
