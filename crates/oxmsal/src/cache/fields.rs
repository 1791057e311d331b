//! Typed reads of JSON values that came from outside: cache documents and token
//! responses. Each function says what is wrong in a sentence the caller prefixes
//! with where it was (section and key, or response field).

use serde_json::{Map, Value};

/// A timestamp or duration in whole seconds: `None` when absent, null or `""`;
/// an error when present but not a non-negative number or numeric string.
///
/// The schema writes timestamps as strings, but other writers (and older MSALs)
/// used numbers, and AADv1-style endpoints send `expires_in` as a string; all
/// are accepted. Fractions are truncated.
pub(crate) fn opt_seconds(map: &Map<String, Value>, field: &str) -> Result<Option<u64>, String> {
    opt_seconds_of(map.get(field), field)
}

/// [`opt_seconds`] of a member already looked up.
pub(crate) fn opt_seconds_of(value: Option<&Value>, field: &str) -> Result<Option<u64>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(value) => seconds(value)
            .map(Some)
            .ok_or_else(|| format!("`{field}` is not a number of seconds: {}", excerpt(value))),
    }
}

/// Whole non-negative seconds from a JSON number or numeric string.
pub(crate) fn seconds(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().and_then(float_seconds)),
        Value::String(s) => seconds_str(s),
        _ => None,
    }
}

/// Whole non-negative seconds from a numeric string.
pub(crate) fn seconds_str(s: &str) -> Option<u64> {
    let s = s.trim();
    s.parse::<u64>()
        .ok()
        .or_else(|| s.parse::<f64>().ok().and_then(float_seconds))
}

fn float_seconds(f: f64) -> Option<u64> {
    // `as` saturates at u64::MAX, which is "never expires" for a timestamp: fine.
    (f.is_finite() && f >= 0.0).then_some(f as u64)
}

/// What kind of JSON value this is, for messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A short rendering of a (non-secret) value for an error message.
pub(crate) fn excerpt(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(40) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    /// A string field: `None` when absent or null; an error for any other
    /// type — how the cache document's reader (`entity::Fields`) reads one and
    /// words the problem, kept here to test the wording against `kind`.
    fn opt_str<'a>(map: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, String> {
        match map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(format!("`{field}` is {}, not a string", kind(other))),
        }
    }

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn timestamps_are_numbers_or_numeric_strings() {
        let m = map(
            json!({"a": "1700000000", "b": 1700000000, "c": 1.5, "d": "2.9",
                           "e": null, "f": "", "g": "soon", "h": -1, "i": true, "j": " 7 "}),
        );
        assert_eq!(opt_seconds(&m, "a"), Ok(Some(1_700_000_000)));
        assert_eq!(opt_seconds(&m, "b"), Ok(Some(1_700_000_000)));
        assert_eq!(opt_seconds(&m, "c"), Ok(Some(1)));
        assert_eq!(opt_seconds(&m, "d"), Ok(Some(2)));
        assert_eq!(opt_seconds(&m, "e"), Ok(None));
        assert_eq!(opt_seconds(&m, "f"), Ok(None));
        assert_eq!(opt_seconds(&m, "missing"), Ok(None));
        assert_eq!(opt_seconds(&m, "j"), Ok(Some(7)));
        for bad in ["g", "h", "i"] {
            let err = opt_seconds(&m, bad).unwrap_err();
            assert!(err.contains(&format!("`{bad}`")), "{err}");
        }
    }

    #[test]
    fn strings_reject_other_types() {
        let m = map(json!({"s": "x", "n": null, "i": 1}));
        assert_eq!(opt_str(&m, "s"), Ok(Some("x")));
        assert_eq!(opt_str(&m, "n"), Ok(None));
        assert!(opt_str(&m, "i").unwrap_err().contains("a number"));
    }
}
