//! Small HTML pages for people and browser automation: the sign-in and device
//! code pages, error pages, and `response_mode=form_post` replies.
//!
//! Pages are deliberately plain (no scripts except form_post's auto-submit) and
//! their inputs carry stable ids for automation, listed where each page is built.

use axum::body::Body;
use axum::response::Response;
use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, PRAGMA};
use http::StatusCode;

use crate::errors::{AadError, RequestCtx};

/// Escapes text for HTML element content and double-quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// A complete page. `body` is trusted markup: callers escape what they interpolate.
pub(crate) fn page(ctx: &RequestCtx, status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>\
         body{{font-family:sans-serif;max-width:28em;margin:3em auto;padding:0 1em}}\
         label,input,button{{display:block;margin:.4em 0}}input{{width:100%;padding:.4em}}\
         .error{{color:#a80000}}.fine{{color:#555;font-size:.8em}}\
         </style>\n</head>\n<body>\n{body}\n</body>\n</html>\n",
        title = escape(title),
    );
    let mut response = Response::new(Body::from(html));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // Pages carry one-time form ids and codes: never cache them, never frame them.
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    ctx.decorate(&mut response);
    response
}

/// The `<p>` showing an error on a form page (`#error`), or nothing.
pub(crate) fn error_line(error: Option<&AadError>) -> String {
    error.map_or_else(String::new, |e| {
        format!(
            "<p id=\"error\" class=\"error\" role=\"alert\">{}</p>\n",
            escape(&e.headline())
        )
    })
}

/// Entra's "we're having trouble signing you in" page, for refusals that must
/// not be sent to the redirect URI (unknown client, unregistered redirect URI…).
/// Ids: `#error-code` (`AADSTSnnn`), `#error-message`.
pub(crate) fn error_page(ctx: &RequestCtx, error: &AadError) -> Response {
    let body = format!(
        "<h1>Sorry, but we're having trouble signing you in.</h1>\n\
         <p id=\"error-code\">AADSTS{code}</p>\n<p id=\"error-message\">{message}</p>\n\
         <p class=\"fine\">Request Id: {trace}<br>Correlation Id: {correlation}<br>\
         Timestamp: {timestamp}</p>",
        code = error.code,
        message = escape(&error.message),
        trace = escape(&ctx.trace_id),
        correlation = escape(&ctx.correlation_id),
        timestamp = escape(&ctx.timestamp()),
    );
    page(ctx, error.status, "Sign in to your account", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
