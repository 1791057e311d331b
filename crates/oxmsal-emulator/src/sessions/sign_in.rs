//! What a checked authorize request carries from the authorize endpoint to the
//! sign-in page and on to the code it earns: kept here, below the routes, as
//! the sessions park it between requests.

use url::Url;

use super::Pkce;

/// How the reply reaches the app (`response_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResponseMode {
    /// 302 with the parameters in the query (the default for `code`).
    Query,
    /// 302 with the parameters in the fragment.
    Fragment,
    /// An auto-submitting HTML form POSTing the parameters.
    FormPost,
}

/// Where and how the app gets its answer.
#[derive(Debug, Clone)]
pub(crate) struct ReplyTarget {
    pub url: Url,
    pub mode: ResponseMode,
    /// Echoed verbatim with every reply, error or not.
    pub state: Option<String>,
}

/// A checked authorize request.
#[derive(Debug, Clone)]
pub(crate) struct AuthorizeRequest {
    /// The tenant segment of the path, as sent.
    pub tenant_segment: String,
    pub client_id: String,
    /// What the sign-in page calls the app.
    pub app_name: String,
    /// As sent; the token request must repeat it.
    pub redirect_uri: String,
    pub reply: ReplyTarget,
    pub scope: String,
    pub nonce: Option<String>,
    pub pkce: Option<Pkce>,
    pub login_hint: Option<String>,
    pub prompt: Option<String>,
    /// Passed on to the token endpoint through the code.
    pub claims: Option<String>,
}
