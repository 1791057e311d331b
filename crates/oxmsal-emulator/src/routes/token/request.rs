//! One parsed token request, below the dispatcher and the grants that read it.

use std::collections::BTreeMap;

use http::HeaderMap;

use crate::errors::{AadError, RequestCtx};
use crate::shared::Shared;
use crate::state::TenantRef;

/// One parsed token request, what every grant handler works from.
pub(crate) struct TokenRequest<'a> {
    pub shared: &'a Shared,
    pub ctx: &'a RequestCtx,
    /// The tenant segment as sent.
    pub tenant_segment: &'a str,
    pub tenant: TenantRef<'a>,
    pub form: &'a BTreeMap<String, String>,
    pub headers: &'a HeaderMap,
}

impl TokenRequest<'_> {
    /// A non-empty form parameter.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.form
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// A non-empty form parameter, or AADSTS900144.
    pub(crate) fn require(&self, name: &str) -> Result<&str, AadError> {
        self.param(name)
            .ok_or_else(|| AadError::missing_parameter(name))
    }
}
