//! Client applications: what users build once and share.

mod builder;
mod confidential;
mod core;

pub use builder::{AppBuilder, Confidential};
pub use confidential::{ClientCredentialsRequest, ConfidentialClientApplication};
pub(crate) use core::AppCore;
