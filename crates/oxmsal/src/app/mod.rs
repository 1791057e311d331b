//! Client applications: what users build once and share.

mod authorize;
pub(crate) mod builder;
mod confidential;
mod future;
mod long_running;
mod public;
mod redeem;
mod requests;

pub use authorize::{
    AuthCodeFlowRequest, AuthorizationCodeRequest, AuthorizationUrlRequest, AuthorizeOutput,
    AuthorizeRequest, StartsFlow, UrlOnly,
};
pub use builder::{AppBuilder, Confidential, Public};
pub use confidential::{ClientCredentialsRequest, ConfidentialClientApplication};
pub use future::TokenFuture;
pub use long_running::{LongRunningOnBehalfOfRequest, LongRunningProcessRequest};
pub use public::PublicClientApplication;
pub use redeem::{AuthCodeFlowRedemption, RefreshTokenRequest, UsernamePasswordRequest};
pub use requests::{
    DeviceFlowInitiation, DeviceFlowRequest, InteractiveRequest, OnBehalfOfRequest, SilentRequest,
};
