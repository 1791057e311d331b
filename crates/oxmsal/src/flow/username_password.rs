//! The resource owner password grant (ROPC), for managed accounts only.

use crate::client::AppCore;
use crate::credential::ClientCredential;
use crate::error::{Error, Result};
use crate::request_options::RequestOptions;
use crate::secret::Secret;
use crate::token::AuthenticationResult;

use super::user_token::{redeem, SaveMode, UserGrant};

/// MSAL's telemetry id of `acquire_token_by_username_password`.
const API_ID: u32 = 301;

/// Sends username and password; a federated account gets the server's error,
/// with a description that says to use an interactive flow.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn acquire(
    core: &AppCore,
    credential: Option<&ClientCredential>,
    username: &str,
    password: Secret,
    scopes: &[String],
    claims: Option<&str>,
    correlation_id: &str,
    options: &RequestOptions,
) -> Result<AuthenticationResult> {
    if username.trim().is_empty() {
        return Err(Error::configuration("the username is empty"));
    }
    let endpoints = core.endpoints(&core.authority, correlation_id).await?;
    let grant = UserGrant {
        api_id: API_ID,
        grant_type: "password",
        fields: vec![("username", Secret::new(username)), ("password", password)],
        scopes,
        claims,
        expected_nonce: None,
        save: SaveMode::SignIn,
        ext_cache_key: None,
        rotates: None,
        correlation_id,
        options,
    };
    redeem(core, credential, &core.authority, &endpoints, grant).await
}
