//! Managed identity: tokens without secrets on Azure hosts.
//!
//! Code running in Azure gets its tokens from a local endpoint. Which one
//! depends on the host, and is detected from the environment in MSAL for
//! Python's order: Service Fabric (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER` +
//! `IDENTITY_SERVER_THUMBPRINT`), App Service (`IDENTITY_ENDPOINT` +
//! `IDENTITY_HEADER`), Azure Machine Learning (`MSI_ENDPOINT` + `MSI_SECRET`),
//! Azure Arc (`IDENTITY_ENDPOINT` + `IMDS_ENDPOINT`, or the agent installed),
//! Cloud Shell (`MSI_ENDPOINT` alone), else IMDS (`http://169.254.169.254`,
//! or `AZURE_POD_IDENTITY_AUTHORITY_HOST`).
//!
//! ```no_run
//! use oxmsal::managed_identity::{ManagedIdentity, ManagedIdentityClient};
//! # async fn run() -> oxmsal::Result<()> {
//! let client = ManagedIdentityClient::builder(ManagedIdentity::client_id("00000000-0000-0000-0000-0000000000aa"))
//!     .build()?;
//! let token = client.acquire_token_for_client("https://storage.azure.com/.default").await?;
//! println!("{} from {}", token.token_source.as_str(), client.source());
//! # Ok(()) }
//! ```

mod arc_key;
mod client;
mod environment;
mod flow;
mod identity;
mod inner;
mod pinned_tls;
mod recent;
mod response;
mod retry;
mod sources;
mod wire;

pub use client::{
    ManagedIdentityClient, ManagedIdentityClientBuilder, ManagedIdentityTokenRequest,
};
pub use environment::{ManagedIdentityEnvironment, ManagedIdentitySource};
pub use identity::ManagedIdentity;
pub use retry::ManagedIdentityRetryPolicy;
