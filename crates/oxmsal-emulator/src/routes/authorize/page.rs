//! The sign-in page a person (or browser automation) fills in.
//!
//! Stable element ids: `#username`, `#password`, `#sign-in` (submit), `#deny`
//! (cancel), `#error` (present after a failed attempt), `#app-name`. The form
//! posts `flow` (hidden: the parked authorize request), `username`, `password`
//! and `action` (`sign_in` | `deny`) to `/{tenant}/oauth2/v2.0/authorize/login`.

use axum::response::Response;
use http::StatusCode;

use crate::errors::{AadError, RequestCtx};
use crate::routes::html::{self, escape};
use crate::sessions::AuthorizeRequest;

/// The page for the parked request `flow`, with `username` prefilled and an
/// optional error from the previous attempt.
pub(crate) fn sign_in(
    ctx: &RequestCtx,
    request: &AuthorizeRequest,
    flow: &str,
    username: Option<&str>,
    error: Option<&AadError>,
) -> Response {
    let action = format!(
        "/{}/oauth2/v2.0/authorize/login",
        url::form_urlencoded::byte_serialize(request.tenant_segment.as_bytes()).collect::<String>()
    );
    let body = format!(
        "<h1>Sign in</h1>\n<p id=\"app-name\">to continue to {app}</p>\n{error}\
         <form id=\"sign-in-form\" method=\"post\" action=\"{action}\">\n\
         <input type=\"hidden\" name=\"flow\" value=\"{flow}\">\n\
         <label for=\"username\">Email, phone, or Skype</label>\n\
         <input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" \
         value=\"{username}\">\n\
         <label for=\"password\">Password</label>\n\
         <input id=\"password\" name=\"password\" type=\"password\" \
         autocomplete=\"current-password\">\n\
         <button id=\"sign-in\" type=\"submit\" name=\"action\" value=\"sign_in\">Sign in</button>\n\
         <button id=\"deny\" type=\"submit\" name=\"action\" value=\"deny\">Cancel</button>\n\
         </form>\n<p class=\"fine\">oxmsal emulator: tenant {tenant}</p>",
        app = escape(&request.app_name),
        error = html::error_line(error),
        action = escape(&action),
        flow = escape(flow),
        username = escape(username.unwrap_or_default()),
        tenant = escape(&request.tenant_segment),
    );
    // A failed attempt is still a page the person acts on, as with Entra: 200.
    html::page(ctx, StatusCode::OK, "Sign in to your account", &body)
}
