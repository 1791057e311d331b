//! The admin API's JSON answers, shared by its handlers.

use axum::response::Response;
use http::StatusCode;
use serde_json::{json, Value};

use crate::errors::json_response;

/// 200 with a JSON body.
pub(super) fn ok(body: &Value) -> Response {
    json_response(StatusCode::OK, body)
}

/// 400 `invalid_request` saying what was wrong.
pub(super) fn bad_request(message: impl std::fmt::Display) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        &json!({"error": "invalid_request", "error_description": message.to_string()}),
    )
}

/// A value as JSON (`null` if it cannot be: never, for the types here).
pub(super) fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}
