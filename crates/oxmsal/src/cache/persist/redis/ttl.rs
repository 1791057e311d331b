//! How long Redis keeps a partition: as long as its tokens are worth anything.
//!
//! A partition whose access tokens have all expired and that has no refresh
//! token is dead weight, and a shared Redis fills up with dead partitions
//! unless each key expires on its own; so every write sets a TTL derived from
//! the document just written.

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// The shortest TTL ever set. A document with nothing that lives longer
/// (expired tokens, accounts only) is kept this long rather than dropped at
/// once, so a reader racing the write still finds what was just written.
pub(super) const MIN_TTL_SECS: u64 = 60;

/// What to do with the key after an edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Write {
    /// The document holds no entry: remove the key (Redis refuses `EX 0`, and
    /// an empty document is not worth a key).
    Delete,
    /// `SET key doc EX ttl_secs`, with `ttl_secs >= MIN_TTL_SECS`.
    Set { ttl_secs: u64 },
}

/// The write for `doc` at `now` (epoch seconds): the latest access-token expiry
/// (`expires_on` or `extended_expires_on`, whichever is later) from now, or
/// `refresh_token_ttl_secs` when the document holds a refresh token, kept
/// within [`MIN_TTL_SECS`] and the refresh-token TTL.
///
/// A document that is not a JSON object is refused: it would be shared with
/// every other process.
pub(super) fn plan(doc: &str, now: u64, refresh_token_ttl_secs: u64) -> Result<Write> {
    if doc.trim().is_empty() {
        return Ok(Write::Delete);
    }
    let value: Value = serde_json::from_str(doc).map_err(|e| {
        // serde_json's message names a line and column, never the content.
        Error::cache(
            format!("the cache document to store is not JSON: {e}"),
            None,
        )
    })?;
    let Value::Object(sections) = value else {
        return Err(Error::cache(
            "the cache document to store is not a JSON object",
            None,
        ));
    };
    if entry_count(&sections) == 0 {
        return Ok(Write::Delete);
    }
    let mut ttl = latest_access_token_expiry(&sections).saturating_sub(now);
    let has_refresh_token = sections
        .get("RefreshToken")
        .and_then(Value::as_object)
        .is_some_and(|rts| !rts.is_empty());
    if has_refresh_token {
        ttl = ttl.max(refresh_token_ttl_secs);
    }
    let ceiling = refresh_token_ttl_secs.max(MIN_TTL_SECS);
    Ok(Write::Set {
        ttl_secs: ttl.max(MIN_TTL_SECS).min(ceiling),
    })
}

/// Entries in every section; a top-level value that is not a section (some
/// other MSAL's data) counts as one, so it is not deleted as "empty".
fn entry_count(sections: &Map<String, Value>) -> usize {
    sections
        .values()
        .map(|v| match v {
            Value::Object(entries) => entries.len(),
            Value::Null => 0,
            _ => 1,
        })
        .sum()
}

fn latest_access_token_expiry(sections: &Map<String, Value>) -> u64 {
    let Some(ats) = sections.get("AccessToken").and_then(Value::as_object) else {
        return 0;
    };
    ats.values()
        .filter_map(Value::as_object)
        .flat_map(|at| ["expires_on", "extended_expires_on"].map(|f| at.get(f)))
        .filter_map(|v| v.and_then(epoch_seconds))
        .max()
        .unwrap_or(0)
}

/// MSAL writes timestamps as strings of epoch seconds; readers accept numbers.
fn epoch_seconds(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(|f| f as u64)
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const DAY: u64 = 86_400;
    const RT_TTL: u64 = 90 * DAY;

    fn at(expires: &str, ext: &str) -> String {
        format!(
            r#"{{"AccessToken": {{"k": {{"expires_on": {expires}, "extended_expires_on": {ext}}}}}, "RefreshToken": {{}}}}"#
        )
    }

    #[test]
    fn access_token_lifetime_sets_the_ttl() {
        let doc = at(r#""1003600""#, r#""1003000""#);
        assert_eq!(
            plan(&doc, 1_000_000, RT_TTL).unwrap(),
            Write::Set { ttl_secs: 3600 }
        );
        // The extended expiry counts when it is later; numbers are accepted too.
        let doc = at("1003600", "1007200");
        assert_eq!(
            plan(&doc, 1_000_000, RT_TTL).unwrap(),
            Write::Set { ttl_secs: 7200 }
        );
    }

    #[test]
    fn a_refresh_token_keeps_the_partition_long() {
        let doc = r#"{"AccessToken": {}, "RefreshToken": {"k": {"secret": "x"}}}"#;
        assert_eq!(
            plan(doc, 5, RT_TTL).unwrap(),
            Write::Set { ttl_secs: RT_TTL }
        );
    }

    #[test]
    fn never_zero_or_negative() {
        // Expired tokens only: the floor, not 0 or a wrapped-around huge number.
        let doc = at(r#""10""#, r#""20""#);
        assert_eq!(
            plan(&doc, 1_000_000, RT_TTL).unwrap(),
            Write::Set {
                ttl_secs: MIN_TTL_SECS
            }
        );
        // Accounts only.
        let doc = r#"{"Account": {"a": {}}}"#;
        assert_eq!(
            plan(doc, 1, RT_TTL).unwrap(),
            Write::Set {
                ttl_secs: MIN_TTL_SECS
            }
        );
        // A refresh-token TTL configured below the floor does not invert the range.
        let doc = r#"{"RefreshToken": {"k": {}}}"#;
        assert_eq!(
            plan(doc, 1, 0).unwrap(),
            Write::Set {
                ttl_secs: MIN_TTL_SECS
            }
        );
    }

    #[test]
    fn an_access_token_does_not_outlive_the_refresh_token_ttl() {
        let doc = at(r#""99999999999""#, "0");
        assert_eq!(
            plan(&doc, 0, RT_TTL).unwrap(),
            Write::Set { ttl_secs: RT_TTL }
        );
    }

    #[test]
    fn empty_documents_delete_the_key() {
        for doc in [
            "",
            "  ",
            "{}",
            r#"{"AccessToken": {}, "Account": {}, "X": null}"#,
        ] {
            assert_eq!(plan(doc, 0, RT_TTL).unwrap(), Write::Delete, "{doc:?}");
        }
        // Another MSAL's unknown top-level data is not "empty".
        assert_ne!(plan(r#"{"Other": 1}"#, 0, RT_TTL).unwrap(), Write::Delete);
    }

    #[test]
    fn garbage_is_refused_without_echoing_it() {
        let err = plan(r#"{"secret-token-value"#, 0, RT_TTL).unwrap_err();
        assert_eq!(err.kind(), crate::error::ErrorKind::Cache);
        assert!(!err.to_string().contains("secret-token-value"), "{err}");
        assert!(plan("[1]", 0, RT_TTL).is_err());
    }

    #[test]
    fn odd_timestamps_are_ignored() {
        let doc = at(r#""soon""#, "-5");
        assert_eq!(
            plan(&doc, 0, RT_TTL).unwrap(),
            Write::Set {
                ttl_secs: MIN_TTL_SECS
            }
        );
    }
}
