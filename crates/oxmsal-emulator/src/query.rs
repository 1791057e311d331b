//! Reading a request's query string, below the routes and the error context
//! that both need it.

/// The first value of a query parameter. Parsed by hand so that a malformed query
/// never turns into a framework rejection body that Entra would not send.
pub(crate) fn query_param(uri: &http::Uri, name: &str) -> Option<String> {
    url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}
