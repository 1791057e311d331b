//! One file per grant. Flows use the app core (authority, pipeline, cache);
//! they never call each other.

pub(crate) mod client_credentials;
mod scopes;
mod token_request;

pub(crate) use scopes::validate_scopes;
pub(crate) use token_request::{send_token_request, TokenRequest};
