//! [`TokenProvider`]: "a token for these scopes, with these claims", whatever
//! kind of app answers it. The HTTP middleware (`middleware`, features
//! `reqwest-middleware` and `tower`) takes any provider, so a confidential app,
//! a signed-in user of a public app and a managed identity are used the same way.
//!
//! | provider | grant behind it |
//! |---|---|
//! | [`ConfidentialClientApplication`] | client credentials (`acquire_token_for_client`) |
//! | [`SignedInAccount`] (a public app and one of its accounts) | silent (`acquire_token_silent`); when the user must sign in again the error says so ([`Error::requires_interaction`](crate::Error::requires_interaction)) |
//! | [`ManagedIdentityClient`] | managed identity; its one scope names the resource (`…/.default` is accepted) |
//!
//! Capabilities declared on the app (`client_capabilities(["CP1"])`) are merged
//! into the claims by the app itself, so a provider passes a challenge's claims
//! as it received them.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;

use crate::managed_identity::ManagedIdentityClient;
use crate::{
    Account, AuthenticationResult, ConfidentialClientApplication, Error, PublicClientApplication,
    Result,
};

/// The future a [`TokenProvider`] returns: boxed, so that the trait stays object
/// safe (`Arc<dyn TokenProvider>`) without an async-trait macro.
pub type TokenProviderFuture<'a> =
    Pin<Box<dyn Future<Output = Result<AuthenticationResult>> + Send + 'a>>;

/// Something that hands out access tokens: "a token for these scopes,
/// optionally answering this claims challenge".
///
/// `claims` is the decoded JSON of a resource's claims challenge
/// ([`ClaimsChallenge::claims_json`](crate::ClaimsChallenge::claims_json)); with
/// it, the provider must not answer from its cache. Errors are the app's own
/// ([`Error`]).
///
/// Implementing it for another source (a credential chain, a test double):
///
/// ```
/// use oxmsal::provider::{TokenProvider, TokenProviderFuture};
///
/// /// Always the first app; the second only when the first one fails.
/// struct Fallback<A, B>(A, B);
///
/// impl<A: TokenProvider, B: TokenProvider> TokenProvider for Fallback<A, B> {
///     fn token<'a>(&'a self, scopes: &'a [String], claims: Option<&'a str>) -> TokenProviderFuture<'a> {
///         Box::pin(async move {
///             match self.0.token(scopes, claims).await {
///                 Ok(token) => Ok(token),
///                 Err(_) => self.1.token(scopes, claims).await,
///             }
///         })
///     }
/// }
/// ```
pub trait TokenProvider: Send + Sync {
    /// A token for `scopes`; with `claims`, a fresh one carrying them.
    ///
    /// ```
    /// use oxmsal::{authority::InstanceDiscovery, credential::ClientCredential};
    /// use oxmsal::provider::TokenProvider;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let emulator = oxmsal_emulator::Emulator::start().await?;
    /// # let demo = emulator.register_demo_app();
    /// let app = oxmsal::ConfidentialClientApplication::builder(
    ///         demo.client_id.clone(), ClientCredential::secret(demo.secret.clone()))
    ///     .authority(emulator.authority())
    ///     .extra_root_certificate_pem(emulator.ca_pem().as_bytes().to_vec())
    ///     .instance_discovery(InstanceDiscovery::Endpoint(emulator.base_url().parse()?))
    ///     .build()?;
    /// let provider: std::sync::Arc<dyn TokenProvider> = std::sync::Arc::new(app);
    /// let token = provider.token(&["api://demo/.default".to_owned()], None).await?;
    /// assert_eq!(token.token_type.as_str(), "Bearer");
    /// # Ok(()) }
    /// ```
    fn token<'a>(
        &'a self,
        scopes: &'a [String],
        claims: Option<&'a str>,
    ) -> TokenProviderFuture<'a>;
}

impl<T: TokenProvider + ?Sized> TokenProvider for Arc<T> {
    fn token<'a>(
        &'a self,
        scopes: &'a [String],
        claims: Option<&'a str>,
    ) -> TokenProviderFuture<'a> {
        (**self).token(scopes, claims)
    }
}

impl<T: TokenProvider + ?Sized> TokenProvider for &T {
    fn token<'a>(
        &'a self,
        scopes: &'a [String],
        claims: Option<&'a str>,
    ) -> TokenProviderFuture<'a> {
        (**self).token(scopes, claims)
    }
}

/// Client credentials: app-only tokens.
impl TokenProvider for ConfidentialClientApplication {
    fn token<'a>(
        &'a self,
        scopes: &'a [String],
        claims: Option<&'a str>,
    ) -> TokenProviderFuture<'a> {
        let mut request = self.acquire_token_for_client(scopes);
        if let Some(claims) = claims {
            request = request.claims(claims);
        }
        Box::pin(request.into_future())
    }
}

/// A public client application acting for one of its signed-in accounts:
/// every token is acquired silently (the cache, else its refresh token).
///
/// ```no_run
/// # async fn run(app: oxmsal::PublicClientApplication) -> oxmsal::Result<()> {
/// use oxmsal::provider::{SignedInAccount, TokenProvider};
/// let account = app.accounts().await?.into_iter().next().expect("someone signed in");
/// let user = SignedInAccount::new(app, account);
/// match user.token(&["User.Read".to_owned()], None).await {
///     Ok(token) => { let _ = token; }
///     Err(e) if e.requires_interaction() => { /* sign the user in again */ }
///     Err(e) => return Err(e),
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SignedInAccount {
    app: PublicClientApplication,
    account: Account,
}

impl SignedInAccount {
    /// `app` acting for `account` (one of `app.accounts()`).
    ///
    /// ```no_run
    /// # fn run(app: oxmsal::PublicClientApplication, account: oxmsal::Account) {
    /// let user = oxmsal::provider::SignedInAccount::new(app, account);
    /// assert!(!user.account().home_account_id.is_empty());
    /// # }
    /// ```
    pub fn new(app: PublicClientApplication, account: Account) -> Self {
        SignedInAccount { app, account }
    }

    /// The app.
    ///
    /// ```no_run
    /// # fn run(user: oxmsal::provider::SignedInAccount) {
    /// println!("{}", user.app().client_id());
    /// # }
    /// ```
    pub fn app(&self) -> &PublicClientApplication {
        &self.app
    }

    /// The account tokens are acquired for.
    ///
    /// ```no_run
    /// # fn run(user: oxmsal::provider::SignedInAccount) {
    /// println!("{}", user.account().username);
    /// # }
    /// ```
    pub fn account(&self) -> &Account {
        &self.account
    }
}

impl TokenProvider for SignedInAccount {
    fn token<'a>(
        &'a self,
        scopes: &'a [String],
        claims: Option<&'a str>,
    ) -> TokenProviderFuture<'a> {
        let mut request = self.app.acquire_token_silent(scopes, &self.account);
        if let Some(claims) = claims {
            request = request.claims(claims);
        }
        Box::pin(request.into_future())
    }
}

/// Managed identity: exactly one scope, the resource (`https://vault.azure.net`
/// or `https://vault.azure.net/.default`); more is a configuration error.
impl TokenProvider for ManagedIdentityClient {
    fn token<'a>(
        &'a self,
        scopes: &'a [String],
        claims: Option<&'a str>,
    ) -> TokenProviderFuture<'a> {
        let [scope] = scopes else {
            return Box::pin(std::future::ready(Err(Error::configuration(format!(
                "a managed identity token is for exactly one resource; {} scopes were given",
                scopes.len()
            )))));
        };
        let mut request = self.acquire_token_for_client(scope.as_str());
        if let Some(claims) = claims {
            request = request.claims_challenge(claims);
        }
        Box::pin(request.into_future())
    }
}
