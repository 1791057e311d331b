//! Importing a refresh token obtained elsewhere (a migration from another library).

use crate::client::AppCore;
use crate::credential::ClientCredential;
use crate::error::{Error, Result};
use crate::request_options::RequestOptions;
use crate::secret::Secret;
use crate::token::AuthenticationResult;

use super::user_token::{redeem, SaveMode, UserGrant};

/// MSAL's telemetry id of `acquire_token_by_refresh_token`.
const API_ID: u32 = 85;

pub(crate) async fn acquire(
    core: &AppCore,
    credential: Option<&ClientCredential>,
    refresh_token: Secret,
    scopes: &[String],
    correlation_id: &str,
    options: &RequestOptions,
) -> Result<AuthenticationResult> {
    if refresh_token.is_empty() {
        return Err(Error::configuration("the refresh token is empty"));
    }
    let endpoints = core.endpoints(&core.authority, correlation_id).await?;
    let grant = UserGrant {
        api_id: API_ID,
        grant_type: "refresh_token",
        fields: vec![("refresh_token", refresh_token)],
        scopes,
        claims: None,
        expected_nonce: None,
        save: SaveMode::SignIn,
        ext_cache_key: None,
        rotates: None,
        correlation_id,
        options,
    };
    redeem(core, credential, &core.authority, &endpoints, grant).await
}
