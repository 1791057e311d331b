//! Sending a token request and reading its answer: shared by every grant.

use serde_json::{Map, Value};

use crate::authority::endpoints::Endpoints;
use crate::client::AppCore;
use crate::error::{Error, InvalidResponse, Result};
use crate::http::{is_rememberable, json_object_or_error, Outgoing, RequestKind, ThrottleKey};
use crate::request_options::{RequestOptions, NO_OPTIONS};
use crate::secret::Secret;

/// A token request's form: values are secrets until they go on the wire.
#[derive(Debug)]
pub(crate) struct TokenRequest<'a> {
    pub api_id: u32,
    pub correlation_id: String,
    pub form: Vec<(&'static str, Secret)>,
    /// The caller's extra query, form and header values (checked when the
    /// request was built).
    pub options: &'a RequestOptions,
}

impl<'a> TokenRequest<'a> {
    pub(crate) fn new(api_id: u32, correlation_id: String) -> Self {
        TokenRequest {
            api_id,
            correlation_id,
            form: Vec::new(),
            options: &NO_OPTIONS,
        }
    }

    pub(crate) fn with_options(mut self, options: &'a RequestOptions) -> Self {
        self.options = options;
        self
    }

    pub(crate) fn field(&mut self, name: &'static str, value: impl Into<Secret>) {
        self.form.push((name, value.into()));
    }
}

/// Form fields that authenticate the client: left out of the throttling key,
/// since a fresh assertion is signed for every request.
const CLIENT_AUTH_FIELDS: [&str; 3] =
    ["client_secret", "client_assertion", "client_assertion_type"];

/// Fields whose (hashed) value tells one user's request from another's.
const GRANT_MATERIAL_FIELDS: [&str; 5] = [
    "refresh_token",
    "code",
    "username",
    "assertion",
    "device_code",
];

/// POSTs the form to the token endpoint, unless the throttle says the server
/// asked us to back off; a 2xx JSON object with a string `access_token` is the
/// success, everything else an error value. The outcome, after any retries, is
/// what the throttle remembers.
pub(crate) async fn send_token_request(
    core: &AppCore,
    endpoints: &Endpoints,
    request: &TokenRequest<'_>,
) -> Result<Map<String, Value>> {
    let mut fields: Vec<(&str, &str)> = request
        .form
        .iter()
        .map(|(k, v)| (*k, v.expose_secret()))
        .collect();
    let extra = request.options;
    // Checked against the reserved names when the request was built; checked
    // here against the fields this request really holds, so that none can go
    // out twice.
    if let Some((name, _)) = extra
        .body()
        .iter()
        .chain(extra.query())
        .find(|(name, _)| fields.iter().any(|(k, _)| k.eq_ignore_ascii_case(name)))
    {
        return Err(Error::configuration(format!(
            "the extra parameter `{}` is one oxmsal sets itself",
            name.escape_debug()
        ))
        .with_correlation_id(request.correlation_id.clone()));
    }
    let own_fields = fields.len();
    fields.extend(extra.body().iter().map(|(k, v)| (k.as_str(), v.as_str())));
    // Keyed on oxmsal's own fields: an extra one never stands for them.
    let value_of = |name: &str| {
        fields
            .iter()
            .take(own_fields)
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
    };
    let url = extra.with_query(endpoints.token_endpoint.clone());
    let keyed_body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(
            fields
                .iter()
                .filter(|(k, _)| !CLIENT_AUTH_FIELDS.contains(k)),
        )
        .finish();
    let key = ThrottleKey {
        url: url.as_str(),
        client_id: &core.client_id,
        scope: value_of("scope").unwrap_or_default(),
        grant_material: GRANT_MATERIAL_FIELDS.iter().find_map(|f| value_of(f)),
        body: keyed_body.as_bytes(),
        rule_b: value_of("grant_type") != Some(DEVICE_CODE_GRANT),
    };
    let now = core.clock.now_epoch();
    core.throttle.check(&key, now).map_err(|e| {
        // The remembered answer may come from a state file or Redis written by
        // another process: it is scrubbed of this (the same) request's secrets too.
        e.scrubbed(&extra.sent_secrets(&fields))
            .with_correlation_id(request.correlation_id.clone())
    })?;
    let outcome = post(core, &url, request, &fields).await;
    if let Err(err) = &outcome {
        if is_rememberable(err) {
            core.throttle
                .record(&key, err, core.clock.now_epoch(), core.default_throttle);
        }
    }
    outcome
}

/// The device code grant, excluded from the 400 rule (polling repeats by design).
pub(crate) const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

async fn post(
    core: &AppCore,
    url: &url::Url,
    request: &TokenRequest<'_>,
    fields: &[(&str, &str)],
) -> Result<Map<String, Value>> {
    let response = core
        .pipeline
        .send(Outgoing {
            method: http::Method::POST,
            url,
            kind: RequestKind::Token {
                api_id: request.api_id,
            },
            correlation_id: &request.correlation_id,
            form: Some(fields),
            extra_headers: request.options.headers(),
        })
        .await?;
    // Whatever comes back may echo the form: its secrets are masked in any error.
    let sent = request.options.sent_secrets(fields);
    let map = json_object_or_error(&response, core.clock.as_ref(), &sent)
        .map_err(|e| e.with_correlation_id(request.correlation_id.clone()))?;
    match map.get("access_token") {
        Some(Value::String(t)) if !t.is_empty() => Ok(map),
        _ => Err(Error::from_invalid_response(InvalidResponse::redacted(
            response.status().as_u16(),
            Some("application/json".into()),
            response.body(),
            "a success response without an `access_token` string",
            &sent,
        ))
        .with_correlation_id(request.correlation_id.clone())),
    }
}
