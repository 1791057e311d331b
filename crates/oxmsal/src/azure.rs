//! The Azure SDK for Rust's credential trait,
//! [`azure_core::credentials::TokenCredential`], for oxmsal's token sources
//! (feature `azure-core`): an Azure SDK client (Key Vault, Storage, …) built
//! with an oxmsal app, managed identity client or credential chain gets its
//! tokens, and its cache, from oxmsal.
//!
//! | oxmsal | grant |
//! |---|---|
//! | [`ConfidentialClientApplication`] | client credentials (the app's token) |
//! | [`AccountCredential`] (a public app and a signed-in account) | silent: the cache, else the refresh token |
//! | [`ManagedIdentityClient`] | managed identity (one scope) |
//! | [`CredentialChain`] | the chain's chosen step |
//!
//! [`AuthenticationResult`] becomes an [`AccessToken`] whose `expires_on` is
//! the token's expiry; an oxmsal [`Error`](crate::Error) becomes an
//! `azure_core` error of kind [`Credential`](azure_core::error::ErrorKind::Credential)
//! whose source is the oxmsal error (`err.downcast_ref::<oxmsal::Error>()`;
//! from a pipeline, whose retry policy adds context, walk `source()`); neither
//! ever shows a token or a secret. azure_core 1.1's [`TokenRequestOptions`] carries only a context
//! (no claims, no tenant), so there is nothing else to pass on.
//!
//! ```
//! use std::sync::Arc;
//! use azure_core::credentials::TokenCredential;
//! use oxmsal::{authority::InstanceDiscovery, credential::ClientCredential};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let emulator = oxmsal_emulator::Emulator::start().await?;
//! let demo = emulator.register_demo_app();
//! let app = oxmsal::ConfidentialClientApplication::builder(
//!         demo.client_id.clone(),
//!         ClientCredential::secret(demo.secret.clone()),
//!     )
//!     .authority(emulator.authority())
//!     .extra_root_certificate_pem(emulator.ca_pem().as_bytes().to_vec())
//!     .instance_discovery(InstanceDiscovery::Endpoint(emulator.base_url().parse()?))
//!     .build()?;
//! // What an Azure SDK client's options take:
//! let credential: Arc<dyn TokenCredential> = Arc::new(app);
//! let token = credential.get_token(&["api://demo/.default"], None).await?;
//! assert!(token.expires_on > azure_core::time::OffsetDateTime::now_utc());
//! # Ok(()) }
//! ```

use async_trait::async_trait;
use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use azure_core::error::ErrorKind as AzureErrorKind;
use azure_core::time::OffsetDateTime;

use crate::app::ConfidentialClientApplication;
use crate::cache::Account;
use crate::chain::CredentialChain;
use crate::managed_identity::ManagedIdentityClient;
use crate::token::AuthenticationResult;
use crate::PublicClientApplication;

/// `AuthenticationResult` → `AccessToken`, expiry as azure_core's time type.
fn access_token(result: crate::Result<AuthenticationResult>) -> azure_core::Result<AccessToken> {
    let result = result.map_err(credential_error)?;
    let expires_on = i64::try_from(result.expires_on)
        .ok()
        .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).ok())
        .ok_or_else(|| {
            azure_core::Error::with_message(
                AzureErrorKind::DataConversion,
                "the token's expiry is not a representable time",
            )
        })?;
    Ok(AccessToken::new(
        result.access_token.expose_secret().to_owned(),
        expires_on,
    ))
}

/// An oxmsal error as azure_core's, kept whole as its source.
fn credential_error(error: crate::Error) -> azure_core::Error {
    azure_core::Error::new(AzureErrorKind::Credential, error)
}

/// Client credentials: the app's own token for `scopes`.
#[async_trait]
impl TokenCredential for ConfidentialClientApplication {
    async fn get_token(
        &self,
        scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        access_token(self.acquire_token_for_client(scopes.iter().copied()).await)
    }
}

/// Managed identity: exactly one scope (`https://vault.azure.net/.default`).
#[async_trait]
impl TokenCredential for ManagedIdentityClient {
    async fn get_token(
        &self,
        scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let [scope] = scopes else {
            return Err(credential_error(crate::Error::configuration(format!(
                "managed identity takes exactly one scope, not {}",
                scopes.len()
            ))));
        };
        access_token(self.acquire_token_for_client(*scope).await)
    }
}

/// The chain's chosen step (or the first that gives a token).
#[async_trait]
impl TokenCredential for CredentialChain {
    async fn get_token(
        &self,
        scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        access_token(CredentialChain::get_token(self, scopes.iter().copied()).await)
    }
}

/// A public client application and a signed-in account: a credential that
/// acquires silently (the cache, else the refresh token), never interactively;
/// when the user must sign in again the error says so
/// (`requires_interaction()` on the oxmsal error in its source).
///
/// ```no_run
/// # async fn run(app: oxmsal::PublicClientApplication) -> oxmsal::Result<()> {
/// let account = app.accounts().await?.into_iter().next().expect("a signed-in user");
/// let credential = std::sync::Arc::new(oxmsal::azure::AccountCredential::new(app, account));
/// # let _ = credential; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AccountCredential {
    app: PublicClientApplication,
    account: Account,
}

impl AccountCredential {
    /// Tokens for `account` from `app`.
    ///
    /// ```
    /// # fn f(app: oxmsal::PublicClientApplication, account: oxmsal::Account) {
    /// let credential = oxmsal::azure::AccountCredential::new(app, account);
    /// assert_eq!(credential.account().username, credential.account().username);
    /// # }
    /// ```
    pub fn new(app: PublicClientApplication, account: Account) -> Self {
        AccountCredential { app, account }
    }

    /// The account tokens are acquired for.
    ///
    /// ```
    /// # fn f(credential: oxmsal::azure::AccountCredential) {
    /// println!("{}", credential.account().username);
    /// # }
    /// ```
    pub fn account(&self) -> &Account {
        &self.account
    }
}

#[async_trait]
impl TokenCredential for AccountCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        access_token(
            self.app
                .acquire_token_silent(scopes.iter().copied(), &self.account)
                .await,
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn an_oxmsal_error_is_the_source_and_shows_no_secret() {
        let err = credential_error(crate::Error::configuration("bad authority"));
        assert_eq!(*err.kind(), AzureErrorKind::Credential);
        let inner = err.downcast_ref::<crate::Error>().unwrap();
        assert_eq!(inner.kind(), crate::ErrorKind::Configuration);
        assert!(err.to_string().contains("bad authority"), "{err}");
    }
}
