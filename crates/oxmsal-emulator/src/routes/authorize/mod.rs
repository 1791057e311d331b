//! `GET /{tenant}/oauth2/v2.0/authorize` and the sign-in form behind it
//! (`POST /{tenant}/oauth2/v2.0/authorize/login`).
//!
//! A valid request is answered
//! - at once with a code when auto sign-in is on and `login_hint` names a user
//!   (headless tests),
//! - with `error=login_required` when `prompt=none` and that does not apply,
//! - otherwise with the sign-in page; its form answers with a code, with the
//!   page again (wrong password, unknown user), or `error=access_denied` (Cancel).
//!
//! A queued [`crate::AuthorizeOutcome`] replaces the next code with its error.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use http::{HeaderMap, Uri};

use super::html;
use super::serve::AppState;
use crate::errors::{AadError, RequestCtx};
use crate::sessions::{AuthCode, AuthorizeOutcome, AuthorizeRequest};
use crate::shared::Shared;
use crate::state::CounterCells;
use crate::users::User;

mod page;
mod reply;
mod request;

use request::Refusal;

/// `GET /{tenant}/oauth2/v2.0/authorize`.
pub(crate) async fn authorize(
    State(shared): AppState,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    shared.count(None);
    CounterCells::bump(&shared.counters.authorize_requests);
    let ctx = RequestCtx::new(&headers, &uri, &shared.base_url);
    let params = request::parse_query(uri.query());
    let request = match request::validate(&shared, &tenant, &params) {
        Ok(request) => request,
        Err(Refusal::Page(error)) => return html::error_page(&ctx, &error),
        Err(Refusal::Redirect(target, error)) => return reply::send_error(&ctx, &target, &error),
    };
    let hinted = request
        .login_hint
        .as_deref()
        .and_then(|hint| shared.users.get(hint));
    if let (true, Some(user)) = (shared.sessions.auto_sign_in(), &hinted) {
        return complete(&shared, &ctx, &request, user);
    }
    if request.prompt.as_deref() == Some("none") {
        return reply::send_error(&ctx, &request.reply, &AadError::login_required());
    }
    let username = request.login_hint.clone();
    let flow = shared.sessions.park_sign_in(request.clone());
    page::sign_in(&ctx, &request, &flow, username.as_deref(), None)
}

/// `POST /{tenant}/oauth2/v2.0/authorize/login`: the sign-in form.
pub(crate) async fn login(
    State(shared): AppState,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    shared.count(None);
    let ctx = RequestCtx::new(&headers, &uri, &shared.base_url);
    let form = super::serve::parse_form(&body);
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    let flow = field("flow");
    let Some(request) = shared.sessions.sign_in(flow) else {
        return html::error_page(&ctx, &AadError::sign_in_expired());
    };
    if field("action") == "deny" {
        shared.sessions.finish_sign_in(flow);
        return reply::send_error(&ctx, &request.reply, &AadError::user_declined());
    }
    let username = field("username").trim();
    let again = |error: AadError| page::sign_in(&ctx, &request, flow, Some(username), Some(&error));
    let Some(user) = shared.users.get(username) else {
        return again(AadError::user_not_found(&shared.user_tenant().id));
    };
    if !user.password_matches(field("password")) {
        return again(AadError::invalid_password());
    }
    shared.sessions.finish_sign_in(flow);
    complete(&shared, &ctx, &request, &user)
}

/// `user` signed in: send the app a code, or the queued outcome's error.
fn complete(
    shared: &Shared,
    ctx: &RequestCtx,
    request: &AuthorizeRequest,
    user: &User,
) -> Response {
    let refusal = match shared.sessions.take_outcome() {
        AuthorizeOutcome::Normal => None,
        AuthorizeOutcome::AccessDenied => Some(AadError::user_declined()),
        AuthorizeOutcome::ConsentRequired => Some(AadError::consent_required(
            &request.client_id,
            &request.app_name,
        )),
        AuthorizeOutcome::InteractionRequired => Some(AadError::mfa_required()),
        AuthorizeOutcome::LoginRequired => Some(AadError::login_required()),
    };
    if let Some(error) = refusal {
        return reply::send_error(ctx, &request.reply, &error);
    }
    let code = shared.sessions.codes.issue(AuthCode {
        client_id: request.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        scope: request.scope.clone(),
        username: user.username.clone(),
        nonce: request.nonce.clone(),
        pkce: request.pkce.clone(),
        claims: request.claims.clone(),
        expires: Instant::now() + shared.authorization_code_lifetime,
    });
    reply::send(ctx, &request.reply, vec![("code", code)])
}
