//! Cutting and redacting text that came from the network before it is kept in an
//! error or a log line.

/// Replaces anything token-like in `text`: JWT-shaped runs (`eyJ…`) and the values
/// of JSON keys that hold credentials.
pub(crate) fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("eyJ") {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        let len = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '=')))
            .unwrap_or(tail.len());
        out.push_str("<redacted>");
        rest = &tail[len..];
    }
    out.push_str(rest);
    redact_json_values(&out)
}

/// Keys whose string values are secrets.
const SECRET_KEYS: [&str; 8] = [
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "client_assertion",
    "password",
    "assertion",
    "device_code",
];

fn redact_json_values(text: &str) -> String {
    let mut out = text.to_owned();
    for key in SECRET_KEYS {
        let needle = format!("\"{key}\"");
        let mut from = 0;
        while let Some(found) = out[from..].find(&needle) {
            let after_key = from + found + needle.len();
            let rest = &out[after_key..];
            let Some(colon) = rest.find(|c: char| !c.is_whitespace()) else {
                break;
            };
            if !rest[colon..].starts_with(':') {
                from = after_key;
                continue;
            }
            let after_colon = &rest[colon + 1..];
            let Some(quote) = after_colon.find(|c: char| !c.is_whitespace()) else {
                break;
            };
            if !after_colon[quote..].starts_with('"') {
                from = after_key;
                continue;
            }
            let value_start = after_key + colon + 1 + quote + 1;
            let value_len = out[value_start..]
                .find('"')
                .unwrap_or(out.len() - value_start);
            out.replace_range(value_start..value_start + value_len, "<redacted>");
            from = value_start + "<redacted>".len();
        }
    }
    out
}

/// At most `limit` characters of `body` (lossy UTF-8), redacted.
pub(crate) fn excerpt(body: &[u8], limit: usize) -> String {
    let text = String::from_utf8_lossy(body);
    let cut: String = text.chars().take(limit).collect();
    let mut out = redact(&cut);
    if text.chars().count() > limit {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_jwts_and_secret_values() {
        let text =
            r#"{"access_token": "abc.def", "refresh_token":"0.AAA", "x":"eyJhbGc.eyJzdWI.sig ok"}"#;
        let out = redact(text);
        assert!(
            !out.contains("abc.def") && !out.contains("0.AAA") && !out.contains("eyJhbGc"),
            "{out}"
        );
        assert!(out.contains("ok"));
    }

    #[test]
    fn cuts_on_char_boundaries() {
        let out = excerpt("ééééé".as_bytes(), 2);
        assert_eq!(out, "éé…");
    }

    #[test]
    fn truncated_value_is_still_hidden() {
        assert!(!redact(r#"{"access_token":"secretvalue"#).contains("secretvalue"));
    }
}
