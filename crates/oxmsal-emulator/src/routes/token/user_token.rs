//! Tokens for a signed-in user, shared by every user flow: the access token,
//! and as the request asks, a refresh token, an id token and `client_info`.
//!
//! Response: `token_type`, `scope`, `expires_in`, `ext_expires_in`,
//! `access_token`, then `refresh_token`, `id_token`, `client_info`, `foci`,
//! `refresh_in` when they apply.

use axum::response::Response;
use serde_json::{json, Map, Value};

use super::client_auth::AuthenticatedClient;
use super::issue::{put_request_claims, sign, token_response};
use super::request::TokenRequest;
use crate::errors::AadError;
use crate::ids;
use crate::jwt;
use crate::scopes::Scopes;
use crate::users::User;

/// Id tokens live an hour, as Entra's do, whatever the access token lifetime.
const ID_TOKEN_LIFETIME: u64 = 3600;

/// What a user flow grants.
pub(crate) struct UserGrant<'a> {
    pub user: &'a User,
    pub client: &'a AuthenticatedClient,
    pub scopes: &'a Scopes,
    /// The authorize request's nonce, echoed in the id token.
    pub nonce: Option<&'a str>,
    /// The `claims` request shaping the access token.
    pub claims: Option<&'a str>,
    /// Issue a refresh token (when `offline_access` was asked for, and always
    /// when redeeming one, since Entra rotates them).
    pub refresh_token: bool,
}

impl<'a> UserGrant<'a> {
    /// The usual grant: the request's `claims`, no nonce, a refresh token when
    /// `offline_access` was asked for. Grants that differ set the fields after.
    pub(crate) fn new(
        req: &'a TokenRequest<'_>,
        user: &'a User,
        client: &'a AuthenticatedClient,
        scopes: &'a Scopes,
    ) -> Self {
        UserGrant {
            user,
            client,
            scopes,
            nonce: None,
            claims: req.param("claims"),
            refresh_token: scopes.offline_access,
        }
    }
}

/// Entra's pairwise `sub`: the same for a user and an app, different across apps.
fn pairwise_sub(oid: &str, client_id: &str) -> String {
    jwt::b64url(&ids::stable_hash(&["sub", oid, client_id]))
}

/// The 200 response for `grant`.
pub(crate) fn respond(req: &TokenRequest<'_>, grant: &UserGrant<'_>) -> Result<Response, AadError> {
    let shared = req.shared;
    let tenant = shared.user_tenant();
    let issuer = shared.issuer(&tenant.id);
    let lifetime = shared.access_token_lifetime.as_secs();
    let app = &grant.client.app;
    let user = grant.user;
    let oid = user.object_id();
    let sub = pairwise_sub(oid, &app.client_id);
    let acr = grant.client.credential.acr();

    let mut claims = Map::new();
    let mut put = |k: &str, v: Value| {
        claims.insert(k.to_owned(), v);
    };
    put("aud", json!(grant.scopes.resource));
    put("iss", json!(issuer));
    put("azp", json!(app.client_id));
    put("azpacr", json!(acr));
    put("appid", json!(app.client_id));
    put("appidacr", json!(acr));
    put("idtyp", json!("user"));
    put("name", json!(user.display_name));
    put("oid", json!(oid));
    put("preferred_username", json!(user.username));
    put("upn", json!(user.username));
    put("scp", json!(grant.scopes.scp()));
    put("sub", json!(sub));
    put("tid", json!(tenant.id));
    put("uti", json!(ids::unique_token_id()));
    put("ver", json!("2.0"));
    if let Some(name) = &app.display_name {
        put("app_displayname", json!(name));
    }
    put_request_claims(req, grant.claims, &mut claims)?;
    let access_token = sign(req, claims)?;

    let mut body = Map::new();
    body.insert("token_type".into(), json!("Bearer"));
    body.insert("scope".into(), json!(grant.scopes.response_scope()));
    body.insert("expires_in".into(), json!(lifetime));
    body.insert("ext_expires_in".into(), json!(lifetime));
    body.insert("access_token".into(), json!(access_token));
    if grant.refresh_token {
        let refresh_token = shared.sessions.refresh_tokens.issue(
            &user.username,
            &app.client_id,
            app.family_id.as_deref(),
            req.ctx.now,
        );
        body.insert("refresh_token".into(), json!(refresh_token));
    }
    if grant.scopes.openid() {
        let now = req.ctx.now;
        let mut id = Map::new();
        id.insert("aud".into(), json!(app.client_id));
        id.insert("iss".into(), json!(issuer));
        id.insert("iat".into(), json!(now));
        id.insert("nbf".into(), json!(now));
        id.insert("exp".into(), json!(now.saturating_add(ID_TOKEN_LIFETIME)));
        id.insert("name".into(), json!(user.display_name));
        if let Some(nonce) = grant.nonce {
            id.insert("nonce".into(), json!(nonce));
        }
        id.insert("oid".into(), json!(oid));
        id.insert("preferred_username".into(), json!(user.username));
        id.insert("sub".into(), json!(sub));
        id.insert("tid".into(), json!(tenant.id));
        id.insert("uti".into(), json!(ids::unique_token_id()));
        id.insert("ver".into(), json!("2.0"));
        body.insert("id_token".into(), json!(sign(req, id)?));
    }
    if req.param("client_info") == Some("1") {
        let info = json!({"uid": oid, "utid": tenant.id});
        body.insert(
            "client_info".into(),
            json!(jwt::b64url(info.to_string().as_bytes())),
        );
    }
    if let Some(family) = &app.family_id {
        body.insert("foci".into(), json!(family));
    }
    Ok(token_response(req, body))
}
