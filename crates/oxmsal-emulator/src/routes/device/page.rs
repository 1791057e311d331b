//! `GET`/`POST /devicelogin`: where the user enters the device flow's user code
//! and signs in (or declines).
//!
//! Stable element ids: `#user-code`, `#username`, `#password`, `#approve`,
//! `#deny`, `#error` (after a failed attempt), `#result` (after a decision). The
//! form posts `user_code`, `username`, `password` and `action` (`approve` |
//! `deny`). `?user_code=…` (or Entra's `?otc=…`) prefills the code.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use http::{HeaderMap, StatusCode, Uri};

use crate::errors::{AadError, RequestCtx};
use crate::query::query_param;
use crate::routes::html::{self, escape};
use crate::routes::serve::{parse_form, AppState};
use crate::shared::Shared;

/// The verification page's path (Entra's is `https://microsoft.com/devicelogin`).
pub(crate) const VERIFICATION_PATH: &str = "/devicelogin";

/// `GET /devicelogin`.
pub(crate) async fn verification_page(
    State(shared): AppState,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    shared.count(None);
    let ctx = RequestCtx::new(&headers, &uri, &shared.base_url);
    let code = query_param(&uri, "user_code").or_else(|| query_param(&uri, "otc"));
    form_page(&ctx, code.as_deref().unwrap_or_default(), "", None)
}

/// `POST /devicelogin`.
pub(crate) async fn verification_submit(
    State(shared): AppState,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    shared.count(None);
    let ctx = RequestCtx::new(&headers, &uri, &shared.base_url);
    let form = parse_form(&body);
    let field = |name: &str| form.get(name).map(|v| v.trim()).unwrap_or_default();
    let user_code = field("user_code");
    let username = field("username");
    match decide(
        &shared,
        user_code,
        username,
        form.get("password"),
        field("action"),
    ) {
        Ok(message) => result_page(&ctx, &message),
        Err(error) => form_page(&ctx, user_code, username, Some(&error)),
    }
}

/// Applies the form; the text of the result page, or what to show on the form.
fn decide(
    shared: &Shared,
    user_code: &str,
    username: &str,
    password: Option<&String>,
    action: &str,
) -> Result<String, AadError> {
    let codes = &shared.sessions.device_codes;
    if action == "deny" {
        codes
            .decide(user_code, None)
            .ok_or_else(AadError::bad_verification_code)?;
        return Ok(
            "You have declined to sign in to the application on your device. You may now \
                   close this window."
                .into(),
        );
    }
    let user = shared
        .users
        .get(username)
        .ok_or_else(|| AadError::user_not_found(&shared.user_tenant().id))?;
    if !user.password_matches(password.map(String::as_str).unwrap_or_default()) {
        return Err(AadError::invalid_password());
    }
    let code = codes
        .decide(user_code, Some(&user.username))
        .ok_or_else(AadError::bad_verification_code)?;
    let app = shared
        .directory
        .app(&code.client_id)
        .map_or_else(|| code.client_id.clone(), |a| a.name().to_owned());
    Ok(format!(
        "You have signed in to the {app} application on your device. You may now close this \
         window."
    ))
}

fn form_page(
    ctx: &RequestCtx,
    user_code: &str,
    username: &str,
    error: Option<&AadError>,
) -> Response {
    let body = format!(
        "<h1>Enter code</h1>\n<p>Enter the code displayed on your app or device, then sign in.</p>\n\
         {error}<form id=\"device-form\" method=\"post\" action=\"{VERIFICATION_PATH}\">\n\
         <label for=\"user-code\">Code</label>\n\
         <input id=\"user-code\" name=\"user_code\" type=\"text\" autocomplete=\"off\" \
         value=\"{code}\">\n\
         <label for=\"username\">Email, phone, or Skype</label>\n\
         <input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" \
         value=\"{username}\">\n\
         <label for=\"password\">Password</label>\n\
         <input id=\"password\" name=\"password\" type=\"password\" \
         autocomplete=\"current-password\">\n\
         <button id=\"approve\" type=\"submit\" name=\"action\" value=\"approve\">Sign in</button>\n\
         <button id=\"deny\" type=\"submit\" name=\"action\" value=\"deny\">Decline</button>\n\
         </form>",
        error = html::error_line(error),
        code = escape(user_code),
        username = escape(username),
    );
    html::page(ctx, StatusCode::OK, "Enter code", &body)
}

fn result_page(ctx: &RequestCtx, message: &str) -> Response {
    let body = format!("<h1>Done</h1>\n<p id=\"result\">{}</p>", escape(message));
    html::page(ctx, StatusCode::OK, "Done", &body)
}
