//! Client applications: what users build once and share.

pub(crate) mod builder;
mod confidential;
mod future;
mod public;
mod requests;

pub use builder::{AppBuilder, Confidential, Public};
pub use confidential::{ClientCredentialsRequest, ConfidentialClientApplication};
pub use future::TokenFuture;
pub use public::PublicClientApplication;
pub use requests::{
    AuthCodeFlowRequest, DeviceFlowRequest, InteractiveRequest, OnBehalfOfRequest, SilentRequest,
};
