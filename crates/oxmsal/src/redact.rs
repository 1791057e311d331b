//! The one redactor: everything that came back from the network passes here
//! before it is kept in an error value or written to a log line.
//!
//! Two layers, applied together:
//!
//! - **What this request sent** ([`SentSecrets`]): the exact values of the
//!   secret form fields (client secret, password, refresh token, code, code
//!   verifier, assertions, device code), in every spelling an echo may use —
//!   raw, form-encoded (`+` for a space), percent-encoded (`%20`), with upper-
//!   or lowercase hex, JSON-escaped and HTML-escaped. A server or proxy that
//!   echoes the request back is the case this layer exists for: patterns cannot
//!   know a password, this layer does.
//! - **Patterns** ([`redact`]): `name=value` pairs of the secret form fields
//!   (names case-insensitive; the value runs to `&` or a character a form value
//!   cannot hold), JWT-shaped runs (`eyJ…`), and the string values of JSON keys
//!   that hold credentials. They catch secrets this process did not send.

use std::borrow::Cow;

use percent_encoding::{percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

use crate::secret::Secret;

/// What every redacted value becomes.
const MASK: &str = "<redacted>";

/// Form fields whose values are secrets: they never appear in an error or a log.
pub(crate) const SECRET_FORM_FIELDS: [&str; 8] = [
    "client_secret",
    "password",
    "refresh_token",
    "code",
    "code_verifier",
    "client_assertion",
    "assertion",
    "device_code",
];

/// JSON keys whose string values are secrets. (`code` is left out: error bodies
/// of other services use it for their error codes, and the code this process
/// sent is caught by its exact value.)
const SECRET_JSON_KEYS: [&str; 9] = [
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "client_assertion",
    "password",
    "assertion",
    "device_code",
    "code_verifier",
];

/// The secret values one request sent, each in every spelling an echo of the
/// request may use; longest first, so a spelling that contains another is
/// replaced whole.
///
/// Made for every token request but needed only when it fails: the form is
/// borrowed, and the spellings are built on the first scrub.
#[derive(Default)]
pub(crate) struct SentSecrets<'a> {
    /// The request's form; its [`SECRET_FORM_FIELDS`] are the secrets.
    form: &'a [(&'a str, &'a str)],
    /// Values added one by one.
    added: Vec<Secret>,
    spellings: std::sync::OnceLock<Vec<Secret>>,
}

impl std::fmt::Debug for SentSecrets<'_> {
    // Never the values.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentSecrets").finish_non_exhaustive()
    }
}

impl<'a> SentSecrets<'a> {
    /// No secret sent (a discovery GET).
    pub(crate) fn none() -> Self {
        SentSecrets::default()
    }

    /// The values of the form's [`SECRET_FORM_FIELDS`].
    pub(crate) fn from_form(form: &'a [(&'a str, &'a str)]) -> Self {
        SentSecrets {
            form,
            ..SentSecrets::default()
        }
    }

    /// Adds one secret value (an empty one hides nothing and is skipped).
    pub(crate) fn add(&mut self, value: &str) {
        self.added.push(Secret::new(value));
        self.spellings = std::sync::OnceLock::new();
    }

    /// Every spelling of every secret, longest first, made once.
    fn spellings(&self) -> &[Secret] {
        self.spellings.get_or_init(|| {
            let form = self
                .form
                .iter()
                .filter(|(name, _)| SECRET_FORM_FIELDS.contains(name))
                .map(|(_, value)| *value);
            let added = self.added.iter().map(Secret::expose_secret);
            let mut all: Vec<Secret> = Vec::new();
            for value in form.chain(added).filter(|v| !v.is_empty()) {
                for spelling in spellings(value) {
                    if !all.iter().any(|s| s.expose_secret() == spelling) {
                        all.push(Secret::new(spelling));
                    }
                }
            }
            all.sort_by_key(|s| std::cmp::Reverse(s.expose_secret().len()));
            all
        })
    }

    /// `text` with every spelling of every sent secret masked.
    pub(crate) fn scrub<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let mut out = Cow::Borrowed(text);
        for spelling in self.spellings() {
            let spelling = spelling.expose_secret();
            if out.contains(spelling) {
                out = Cow::Owned(out.replace(spelling, MASK));
            }
        }
        out
    }

    /// Masks the sent secrets in every string (member names included) of a
    /// JSON value, in place; the value's shape is kept.
    pub(crate) fn scrub_json(&self, value: &mut Value) {
        if self.spellings().is_empty() {
            return;
        }
        match value {
            Value::String(s) => {
                if let Cow::Owned(clean) = self.scrub(s) {
                    *s = clean;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.scrub_json(v)),
            Value::Object(map) => {
                let dirty_keys = map.keys().any(|k| matches!(self.scrub(k), Cow::Owned(_)));
                if dirty_keys {
                    *map = std::mem::take(map)
                        .into_iter()
                        .map(|(k, v)| (self.scrub(&k).into_owned(), v))
                        .collect();
                }
                map.values_mut().for_each(|v| self.scrub_json(v));
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
}

/// The bytes `application/x-www-form-urlencoded` escapes: all but ASCII
/// alphanumerics and `*-._` (the WHATWG URL standard's set, which
/// `url::form_urlencoded` and browsers use).
const FORM_ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'*')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_');

/// Every way an echo may spell `value`.
fn spellings(value: &str) -> Vec<String> {
    let json = serde_json::to_string(value)
        .map(|quoted| quoted[1..quoted.len() - 1].to_owned())
        .unwrap_or_default();
    let html = value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;");
    let mut all = vec![value.to_owned(), json, html];
    // Form (`+` for a space) and percent (`%20`) encoded, each with upper-
    // and lowercase hex digits: servers differ in all four.
    for space in ["+", "%20"] {
        for lowercase in [false, true] {
            all.push(percent_spelling(value, space, lowercase));
        }
    }
    all.retain(|s| !s.is_empty());
    all.sort();
    all.dedup();
    all
}

/// `value` with the bytes of [`FORM_ESCAPED`] percent-encoded, a space
/// spelled `space`, hex digits in lowercase if `lowercase`.
fn percent_spelling(value: &str, space: &str, lowercase: bool) -> String {
    // The encoder yields each escaped byte as its own `%XX` chunk and never
    // leaves a `%` unescaped, so a chunk starting with `%` is one byte.
    percent_encode(value.as_bytes(), FORM_ESCAPED)
        .map(|chunk| match chunk {
            "%20" => Cow::Borrowed(space),
            escaped if lowercase && escaped.starts_with('%') => {
                Cow::Owned(escaped.to_ascii_lowercase())
            }
            other => Cow::Borrowed(other),
        })
        .collect()
}

/// Masks anything token-like in `text`: secret form pairs, JWT-shaped runs and
/// the values of JSON keys that hold credentials.
pub(crate) fn redact(text: &str) -> String {
    redact_json_values(&redact_jwts(&redact_form_pairs(text)))
}

/// [`redact`] after masking the values `sent` holds.
pub(crate) fn redact_with(text: &str, sent: &SentSecrets) -> String {
    redact(&sent.scrub(text))
}

fn redact_jwts(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("eyJ") {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        let len = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '=')))
            .unwrap_or(tail.len());
        out.push_str(MASK);
        rest = &tail[len..];
    }
    out.push_str(rest);
    out
}

/// Whether `c` can be part of a form-encoded value: anything but the pair
/// separator and what form encoding always escapes (space, quotes, angle
/// brackets, backslash, controls).
fn in_form_value(c: char) -> bool {
    !(c == '&' || c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '<' | '>' | '\\'))
}

/// Masks the value of every `name=value` whose name (any case) is a secret
/// form field, and that does not continue a longer name (`error_code=`).
fn redact_form_pairs(text: &str) -> String {
    // ASCII lowercasing keeps every byte offset, so positions found in `lower`
    // are positions in `text`.
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut at = 0;
    while let Some(found) = lower[at..].find('=') {
        let eq = at + found;
        at = eq + 1;
        let name_start = lower[..eq]
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
            .map_or(0, |(p, c)| p + c.len_utf8());
        if !SECRET_FORM_FIELDS.contains(&&lower[name_start..eq]) {
            continue;
        }
        let value_len = text[at..]
            .find(|c: char| !in_form_value(c))
            .unwrap_or(text.len() - at);
        if value_len == 0 {
            continue;
        }
        out.push_str(&text[copied..at]);
        out.push_str(MASK);
        at += value_len;
        copied = at;
    }
    out.push_str(&text[copied..]);
    out
}

fn redact_json_values(text: &str) -> String {
    let mut out = text.to_owned();
    for key in SECRET_JSON_KEYS {
        out = redact_json_key(&out, key);
    }
    out
}

/// Masks the string values of the member `key`, in one pass that copies the
/// text once (a body may be a MiB of such members: no shifting its tail per
/// value).
fn redact_json_key(text: &str, key: &str) -> String {
    let needle = format!("\"{key}\"");
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut from = 0;
    while let Some(found) = text[from..].find(&needle) {
        let after_key = from + found + needle.len();
        let rest = &text[after_key..];
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
        let value_len = text[value_start..]
            .find('"')
            .unwrap_or(text.len() - value_start);
        out.push_str(&text[copied..value_start]);
        out.push_str(MASK);
        copied = value_start + value_len;
        from = copied;
    }
    out.push_str(&text[copied..]);
    out
}

/// At most `limit` characters of `body` (lossy UTF-8), redacted by patterns.
pub(crate) fn excerpt(body: &[u8], limit: usize) -> String {
    excerpt_with(body, limit, &SentSecrets::none())
}

/// At most `limit` characters of `body` (lossy UTF-8), with the values `sent`
/// holds and every pattern masked. The whole text is redacted before it is
/// cut: a secret straddling the cut is masked whole, and masks that shorten the
/// text ahead of the cut cannot pull an unmasked piece of one into view. (The
/// transport bounds the body — `HttpConfig::max_response_bytes` — and this runs
/// only when an error is made.)
pub(crate) fn excerpt_with(body: &[u8], limit: usize, sent: &SentSecrets) -> String {
    let text = String::from_utf8_lossy(body);
    let clean = redact_with(&text, sent);
    let mut out: String = clean.chars().take(limit).collect();
    if out.len() < clean.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn encoded_spellings_agree_with_the_form_encoder_for_every_byte() {
        let mut every: String = (0..=127u8).map(char::from).collect();
        every.push_str("é€😀");
        let form: String = url::form_urlencoded::byte_serialize(every.as_bytes()).collect();
        let percent = form.replace('+', "%20");
        assert_eq!(percent_spelling(&every, "+", false), form);
        assert_eq!(percent_spelling(&every, "%20", false), percent);
        // Lowercase hex changes the two digits after each `%` and nothing else.
        let lower = percent_spelling(&every, "%20", true);
        assert_eq!(lower.to_ascii_uppercase(), percent.to_ascii_uppercase());
        assert!(lower.contains("%2f") && lower.contains("%c3%a9") && lower.contains("XYZ%5b"));
        assert_eq!(percent_spelling("a b+c", "+", true), "a+b%2bc");
    }

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

    #[test]
    fn every_json_member_is_masked_and_the_rest_kept() {
        let text = r#"{"password" : "a", "password":1, "x":"password", "device_code":"b","code_verifier":
 "c"} tail"#;
        assert_eq!(
            redact(text),
            r#"{"password" : "<redacted>", "password":1, "x":"password", "device_code":"<redacted>","code_verifier":
 "<redacted>"} tail"#
        );
    }

    #[test]
    fn form_pairs_of_every_secret_field_any_case() {
        for name in SECRET_FORM_FIELDS {
            let upper = name.to_ascii_uppercase();
            for shown in [name.to_owned(), upper] {
                let text = format!("echo: grant_type=x&{shown}=s3cr%2Bt.val&scope=a+b end");
                let out = redact(&text);
                assert!(!out.contains("s3cr"), "{name}: {out}");
                assert!(out.contains("scope=a+b end"), "{out}");
                assert!(out.contains(&format!("{shown}=<redacted>")), "{out}");
            }
        }
    }

    #[test]
    fn form_values_end_where_a_form_value_cannot_go_on() {
        let out = redact("<pre>password=hunter2</pre> and \"client_secret=abc\"");
        assert_eq!(
            out,
            "<pre>password=<redacted></pre> and \"client_secret=<redacted>\""
        );
        // A longer name is not a secret field; an empty value stays empty.
        assert_eq!(redact("error_code=50076&code="), "error_code=50076&code=");
        assert_eq!(redact("code=abc"), "code=<redacted>");
    }

    #[test]
    fn sent_values_are_masked_in_every_spelling() {
        let secret = "p@ss w/rd&<\"é\">";
        let mut sent = SentSecrets::none();
        sent.add(secret);
        let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        let percent = form.replace('+', "%20");
        let json = serde_json::to_string(secret).unwrap();
        for echo in [
            secret.to_owned(),
            form.clone(),
            percent.clone(),
            form.to_ascii_lowercase(),
            percent.to_ascii_lowercase(),
            json[1..json.len() - 1].to_owned(),
            "p@ss w/rd&amp;&lt;&quot;é&quot;&gt;".to_owned(),
        ] {
            let text = format!("AADSTS900144: you sent [{echo}] here");
            let out = redact_with(&text, &sent);
            assert_eq!(out, "AADSTS900144: you sent [<redacted>] here", "{echo}");
        }
    }

    #[test]
    fn sent_values_in_a_kept_json_object() {
        let mut sent = SentSecrets::none();
        sent.add("hunter 2");
        let mut body = serde_json::json!({
            "error": "invalid_request",
            "error_description": "bad: password=hunter+2 and hunter 2",
            "nested": [{"hunter 2": "x hunter%202"}],
            "n": 5
        });
        sent.scrub_json(&mut body);
        let text = body.to_string();
        assert!(!text.contains("hunter"), "{text}");
        assert_eq!(body["n"], 5);
        assert_eq!(body["error"], "invalid_request");
    }

    #[test]
    fn from_form_takes_only_secret_fields() {
        let sent = SentSecrets::from_form(&[
            ("grant_type", "password"),
            ("username", "alice@contoso.com"),
            ("password", "pw-value"),
            ("client_secret", ""),
        ]);
        assert_eq!(
            redact_with("password alice@contoso.com pw-value", &sent),
            "password alice@contoso.com <redacted>"
        );
    }

    #[test]
    fn a_secret_across_the_cut_is_masked_whole() {
        let mut sent = SentSecrets::none();
        sent.add("ABCDEFGH");
        let out = excerpt_with(b"0123ABCDEFGH tail", 6, &sent);
        assert!(!out.contains("AB"), "{out}");
        assert!(out.starts_with("0123<r") && out.ends_with('…'), "{out}");
    }

    proptest::proptest! {
        /// Any text, any limit: no panic, and a sent secret (of characters the
        /// mask does not have) is gone from the excerpt in every spelling it
        /// was echoed in, wherever it sat relative to the cut.
        #[test]
        fn sent_secrets_never_survive(
            before in "\\PC{0,80}",
            after in "\\PC{0,80}",
            secret in "[A-Z0-9 &+/%=\"é]{4,24}",
            spelling in 0usize..4,
            limit in 0usize..200,
        ) {
            let mut sent = SentSecrets::none();
            sent.add(&secret);
            let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
            let echoed = [secret.clone(), form.clone(), form.replace('+', "%20"), percent_spelling(&secret, "+", true)];
            let jwt = if limit % 2 == 0 { "eyJ".to_owned() + &"a".repeat(limit) } else { String::new() };
            let text = format!("{before}{jwt}{}{after}", echoed[spelling]);
            let out = excerpt_with(text.as_bytes(), limit, &sent);
            // Not even a piece: no 3 characters of the secret in a row.
            let chars: Vec<char> = secret.chars().collect();
            for piece in chars.windows(3) {
                let piece: String = piece.iter().collect();
                let shown = out.replace("<redacted>", "\u{0}");
                let plain = format!("{before}{after}");
                if !plain.contains(&piece) {
                    proptest::prop_assert!(!shown.contains(&piece), "{piece:?} in {out}");
                }
            }
            proptest::prop_assert!(!out.contains(&form), "{out}");
            let _ = redact(&text);
            let _ = excerpt(text.as_bytes(), limit);
        }
    }
}
