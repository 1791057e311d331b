//! Extra query parameters, form (body) parameters and headers for one
//! request: carried by every request builder down to the one place that
//! builds the token request (and the authorization URL).

use std::fmt;

use crate::error::{Error, Result};
use crate::redact::SentSecrets;

/// Parameter names oxmsal sets itself on a token request's form or an
/// authorization URL's query: an extra parameter may not stand in for one
/// (compared without regard to case). The token request refuses a collision
/// with the fields it actually holds as well, so a field added to a flow later
/// cannot go out twice even if this list misses it.
const RESERVED_PARAMETERS: [&str; 27] = [
    // every token request
    "client_id",
    "grant_type",
    "scope",
    "client_info",
    "claims",
    // client authentication
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    // grants
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "username",
    "password",
    "assertion",
    "requested_token_use",
    "device_code",
    // the authorization request
    "response_type",
    "response_mode",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "login_hint",
    "domain_hint",
    "prompt",
    "max_age",
];

/// Extra values below this length are not masked as secrets in errors and
/// logs: they are too short to be a credential, and masking them would
/// garble the server's answer (an extra `1` would mask every digit one of an
/// `AADSTS` code).
const MIN_SECRET_LEN: usize = 8;

/// Extra query parameters, form parameters and headers for one request (MSAL
/// for Python's `params=`, `data=` and `headers=`; MSAL.NET's
/// `WithExtraQueryParameters` and `WithExtraHttpHeaders`), handed to a request
/// builder's `request_options`. Typical uses: a test slice or data-center hint
/// (`dc=…`), a parameter a preview feature of the identity platform needs, a
/// header a gateway in front of it wants.
///
/// - Token requests (client credentials, silent refresh, on-behalf-of, code
///   redemption, device code, password, refresh token, interactive) send all
///   three: query parameters on the token endpoint's URL, form parameters in
///   the body, headers on the request. Discovery requests carry none of them.
/// - Authorization URL builders (`initiate_auth_code_flow`,
///   `authorization_request_url`) take query parameters only; an interactive
///   request sends its query parameters on both the authorization URL and the
///   token request.
/// - A name oxmsal sets itself (`client_id`, `grant_type`, `scope`, `claims`,
///   `client_secret`, `client_assertion*`, `code`, `code_verifier`,
///   `refresh_token`, `assertion`, `redirect_uri`, `state`, `nonce`,
///   `code_challenge*`, `response_type`, …; headers `Authorization`,
///   `Content-Type`, `client-request-id`, `return-client-request-id`,
///   `x-client-*`, `x-ms-lib-capability`, `Host`, `Content-Length`,
///   `Transfer-Encoding`), any case, and a header name or value that is not
///   a valid header (a CR/LF, a control character, non-ASCII text) are refused
///   with a [`Configuration`](crate::ErrorKind::Configuration) error before
///   any request is sent. Use the builder's own methods (`claims`, `tenant`,
///   `login_hint`, …) for those.
/// - They do not change what the cache serves or stores: as in MSAL for
///   Python, a request with extra parameters is answered from the cache when
///   a token is there and its token is cached like any other. Use
///   `force_refresh(true)` to make sure the server sees them.
/// - Form and header values of eight characters or more are treated as the
///   request's secrets: masked wherever an error or a log would echo them
///   (oxmsal cannot know which extra values are credentials). Shorter values
///   cannot be credentials, and masking them would garble the server's answer.
///   Query parameters go into a URL, which is no place for a secret; they are
///   not logged (logs show endpoints without their query).
///
/// ```
/// use oxmsal::{ErrorKind, RequestOptions};
/// let options = RequestOptions::new()
///     .extra_query_parameter("dc", "ESTS-PUB-WUS2-AZ1-FD000-TEST1")
///     .extra_body_parameter("x_feature", "on")
///     .extra_header("x-gateway-route", "blue");
/// assert!(!options.is_empty());
/// let refused = RequestOptions::new().extra_body_parameter("client_secret", "x");
/// let err = refused.check_for_token_request().unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Configuration);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RequestOptions {
    query: Vec<(String, String)>,
    body: Vec<(String, String)>,
    headers: Vec<(String, String)>,
}

/// No extra anything: what a request without options carries.
pub(crate) static NO_OPTIONS: RequestOptions = RequestOptions::new();

impl fmt::Debug for RequestOptions {
    // Names only: form and header values may be secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = |pairs: &[(String, String)]| -> Vec<String> {
            pairs.iter().map(|(name, _)| name.clone()).collect()
        };
        f.debug_struct("RequestOptions")
            .field("query", &names(&self.query))
            .field("body", &names(&self.body))
            .field("headers", &names(&self.headers))
            .finish()
    }
}

impl RequestOptions {
    /// No extra parameters or headers.
    ///
    /// ```
    /// assert!(oxmsal::RequestOptions::new().is_empty());
    /// ```
    pub const fn new() -> Self {
        RequestOptions {
            query: Vec::new(),
            body: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Adds a query parameter (sent on the token endpoint's URL, or on the
    /// authorization URL).
    ///
    /// ```
    /// let o = oxmsal::RequestOptions::new().extra_query_parameter("dc", "ESTS-PUB-WUS2-AZ1-FD000-TEST1");
    /// assert!(o.check_for_authorization_url().is_ok());
    /// ```
    pub fn extra_query_parameter(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// Adds a form parameter to the token request's body.
    ///
    /// ```
    /// let o = oxmsal::RequestOptions::new().extra_body_parameter("x_feature", "on");
    /// assert!(o.check_for_token_request().is_ok());
    /// ```
    pub fn extra_body_parameter(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.body.push((name.into(), value.into()));
        self
    }

    /// Adds a header to the token request.
    ///
    /// ```
    /// let o = oxmsal::RequestOptions::new().extra_header("x-gateway-route", "blue");
    /// assert!(o.check_for_token_request().is_ok());
    /// let bad = oxmsal::RequestOptions::new().extra_header("x-route", "a\r\nx-injected: 1");
    /// assert!(bad.check_for_token_request().is_err());
    /// ```
    pub fn extra_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Whether nothing was added.
    ///
    /// ```
    /// assert!(oxmsal::RequestOptions::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.query.is_empty() && self.body.is_empty() && self.headers.is_empty()
    }

    /// What a token request checks before it sends anything: no name oxmsal
    /// sets itself, valid header names and values. The error is a
    /// [`Configuration`](crate::ErrorKind::Configuration) one.
    ///
    /// ```
    /// let o = oxmsal::RequestOptions::new().extra_header("Content-Type", "text/plain");
    /// assert_eq!(o.check_for_token_request().unwrap_err().kind(), oxmsal::ErrorKind::Configuration);
    /// ```
    pub fn check_for_token_request(&self) -> Result<()> {
        for (kind, pairs) in [("query", &self.query), ("body", &self.body)] {
            for (name, _) in pairs {
                check_parameter(kind, name)?;
            }
        }
        for (name, value) in &self.headers {
            check_header(name, value)?;
        }
        Ok(())
    }

    /// What an authorization URL builder checks: query parameters only (a
    /// URL has no body or headers), none oxmsal sets itself.
    ///
    /// ```
    /// let o = oxmsal::RequestOptions::new().extra_header("x-a", "b");
    /// assert!(o.check_for_authorization_url().is_err());
    /// ```
    pub fn check_for_authorization_url(&self) -> Result<()> {
        if !self.body.is_empty() || !self.headers.is_empty() {
            return Err(Error::configuration(
                "an authorization URL takes extra query parameters only, not body parameters or headers",
            ));
        }
        for (name, _) in &self.query {
            check_parameter("query", name)?;
        }
        Ok(())
    }

    pub(crate) fn query(&self) -> &[(String, String)] {
        &self.query
    }

    pub(crate) fn body(&self) -> &[(String, String)] {
        &self.body
    }

    pub(crate) fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// `url` with the extra query parameters added.
    pub(crate) fn with_query(&self, mut url: url::Url) -> url::Url {
        if !self.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&self.query);
        }
        url
    }

    /// What a request with `fields` (its whole form, extras included) sent
    /// that an echo must not show: its secret fields, and the extra values
    /// long enough to be credentials.
    pub(crate) fn sent_secrets<'a>(&'a self, fields: &'a [(&'a str, &'a str)]) -> SentSecrets<'a> {
        let mut sent = SentSecrets::from_form(fields);
        for value in self.secret_values() {
            sent.add(value);
        }
        sent
    }

    /// The form and header values treated as the request's secrets.
    pub(crate) fn secret_values(&self) -> impl Iterator<Item = &str> {
        self.body
            .iter()
            .chain(&self.headers)
            .map(|(_, value)| value.as_str())
            .filter(|value| value.len() >= MIN_SECRET_LEN)
    }
}

fn check_parameter(kind: &str, name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::configuration(format!(
            "an extra {kind} parameter has an empty name"
        )));
    }
    if is_reserved_parameter(name) {
        return Err(Error::configuration(format!(
            "the extra {kind} parameter `{}` is one oxmsal sets itself; use the request's own option for it",
            name.escape_debug()
        )));
    }
    Ok(())
}

/// Whether oxmsal sets a parameter of this name itself (any case).
pub(crate) fn is_reserved_parameter(name: &str) -> bool {
    RESERVED_PARAMETERS
        .iter()
        .any(|reserved| reserved.eq_ignore_ascii_case(name))
}

fn check_header(name: &str, value: &str) -> Result<()> {
    if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err(Error::configuration(format!(
            "`{}` is not a valid header name",
            name.escape_debug()
        )));
    }
    if crate::http::is_reserved_header(name) {
        return Err(Error::configuration(format!(
            "the extra header `{name}` is one oxmsal (or the transport) sets itself"
        )));
    }
    crate::http::checked_header_value(name, value).map(|_| ())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn reserved_names_are_refused_in_any_case() {
        for name in [
            "client_secret",
            "Client_Assertion",
            "SCOPE",
            "state",
            "code_challenge",
        ] {
            let body = RequestOptions::new().extra_body_parameter(name, "v");
            assert_eq!(
                body.check_for_token_request().unwrap_err().kind(),
                ErrorKind::Configuration,
                "{name}"
            );
            let query = RequestOptions::new().extra_query_parameter(name, "v");
            assert!(query.check_for_token_request().is_err(), "{name}");
            assert!(query.check_for_authorization_url().is_err(), "{name}");
        }
        for header in [
            "Authorization",
            "content-type",
            "Client-Request-Id",
            "return-client-request-id",
            "x-client-sku",
            "X-Client-Anything",
            "x-ms-lib-capability",
            "host",
            "Content-Length",
            "transfer-encoding",
        ] {
            let o = RequestOptions::new().extra_header(header, "v");
            assert!(o.check_for_token_request().is_err(), "{header}");
        }
    }

    #[test]
    fn malformed_headers_are_refused() {
        for (name, value) in [
            ("x-a", "a\r\nx-injected: 1"),
            ("x-a", "a\nb"),
            ("x a", "v"),
            ("", "v"),
            ("x-a\r\n", "v"),
            ("x-a", "é"),
        ] {
            let o = RequestOptions::new().extra_header(name, value);
            assert!(o.check_for_token_request().is_err(), "{name:?}: {value:?}");
        }
        assert!(RequestOptions::new()
            .extra_body_parameter("", "v")
            .check_for_token_request()
            .is_err());
    }

    #[test]
    fn free_names_pass_and_debug_hides_values() {
        let o = RequestOptions::new()
            .extra_query_parameter("dc", "ESTS-PUB")
            .extra_body_parameter("x_feature", "a-long-secret-value")
            .extra_header("x-gateway-route", "blue");
        o.check_for_token_request().unwrap();
        let shown = format!("{o:?}");
        assert!(shown.contains("x_feature") && !shown.contains("a-long-secret-value"));
        let secrets: Vec<&str> = o.secret_values().collect();
        assert_eq!(
            secrets,
            ["a-long-secret-value"],
            "short values are not secrets"
        );
    }
}
