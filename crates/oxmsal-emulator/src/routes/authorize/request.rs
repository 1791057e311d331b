//! Parsing and checking `GET /{tenant}/oauth2/v2.0/authorize`.
//!
//! As with Entra, what makes the redirect URI untrustworthy (unknown tenant or
//! client, a redirect URI that is not registered) is answered with an error
//! page; everything found wrong after that goes back to the app through the
//! redirect URI.

use std::collections::HashMap;

use url::Url;

use crate::errors::AadError;
use crate::scopes::Scopes;
use crate::sessions::{AuthorizeRequest, Pkce, ReplyTarget, ResponseMode};
use crate::shared::Shared;

/// Why an authorize request was refused, and how to tell.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// An error page: the redirect URI cannot be trusted.
    Page(AadError),
    /// An error sent to the (validated) redirect URI.
    Redirect(Box<ReplyTarget>, AadError),
}

/// The query parameters, first value of each (empty ones dropped).
pub(crate) fn parse_query(query: Option<&str>) -> HashMap<String, String> {
    let mut params = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if !v.trim().is_empty() {
            params
                .entry(k.into_owned())
                .or_insert_with(|| v.into_owned());
        }
    }
    params
}

/// Checks the request in Entra's order.
pub(crate) fn validate(
    shared: &Shared,
    tenant_segment: &str,
    params: &HashMap<String, String>,
) -> Result<AuthorizeRequest, Refusal> {
    let get = |name: &str| params.get(name).map(String::as_str);
    if shared.directory.resolve(tenant_segment).is_none() {
        return Err(Refusal::Page(AadError::tenant_not_found(
            tenant_segment,
            "invalid_request",
        )));
    }
    let client_id =
        get("client_id").ok_or_else(|| Refusal::Page(AadError::missing_parameter("client_id")))?;
    let app = shared
        .directory
        .app(client_id)
        .ok_or_else(|| Refusal::Page(AadError::app_not_found(client_id, tenant_segment)))?;
    let redirect_uri = get("redirect_uri")
        .ok_or_else(|| Refusal::Page(AadError::missing_parameter("redirect_uri")))?;
    if app.redirect_uris.is_empty() {
        return Err(Refusal::Page(AadError::no_reply_address()));
    }
    let url = Url::parse(redirect_uri)
        .ok()
        .filter(|url| app.accepts_redirect_uri(url))
        .ok_or_else(|| {
            Refusal::Page(AadError::redirect_uri_mismatch(
                redirect_uri,
                &app.client_id,
            ))
        })?;

    // From here on the redirect URI is trusted with errors.
    let mut reply = ReplyTarget {
        url,
        mode: ResponseMode::Query,
        state: get("state").map(str::to_owned),
    };
    let redirect = |reply: &ReplyTarget, error| Refusal::Redirect(Box::new(reply.clone()), error);
    reply.mode = match get("response_mode") {
        None | Some("query") => ResponseMode::Query,
        Some("fragment") => ResponseMode::Fragment,
        Some("form_post") => ResponseMode::FormPost,
        Some(other) => {
            return Err(redirect(
                &reply,
                AadError::malformed_request(&format!(
                    "response_mode '{other}' is not supported; use 'query', 'fragment' or \
                     'form_post'."
                )),
            ))
        }
    };
    match get("response_type") {
        Some("code") => {}
        Some(other) => return Err(redirect(&reply, AadError::unsupported_response_type(other))),
        None => {
            return Err(redirect(
                &reply,
                AadError::missing_parameter("response_type"),
            ))
        }
    }
    let scope =
        get("scope").ok_or_else(|| redirect(&reply, AadError::missing_parameter("scope")))?;
    Scopes::check_consent(scope).map_err(|e| redirect(&reply, e))?;
    let pkce = Pkce::from_request(get("code_challenge"), get("code_challenge_method"))
        .map_err(|e| redirect(&reply, AadError::malformed_request(&e)))?;

    Ok(AuthorizeRequest {
        tenant_segment: tenant_segment.to_owned(),
        client_id: app.client_id.clone(),
        app_name: app.name().to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        reply,
        scope: scope.to_owned(),
        nonce: get("nonce").map(str::to_owned),
        pkce,
        login_hint: get("login_hint").map(str::to_owned),
        prompt: get("prompt").map(str::to_owned),
        claims: get("claims").map(str::to_owned),
    })
}
