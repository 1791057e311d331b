//! `WWW-Authenticate` parsing and claims challenges (RFC 9110 §11.6.1).
//!
//! A resource that wants more than the presented token — a fresh sign-in after a
//! revocation, MFA, a compliant device — answers `401` with a challenge such as
//!
//! ```text
//! WWW-Authenticate: Bearer realm="", error="insufficient_claims",
//!     authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize",
//!     claims="eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwgInZhbHVlIjoiMTYwNDEwNjY1MSJ9fX0="
//! ```
//!
//! [`ClaimsChallenge::from_www_authenticate`] finds that challenge and decodes its
//! `claims` into the JSON text to pass to the next token request (which merges in
//! the app's client capabilities, see [`crate::claims::merge_claims`]).
//! [`parse_www_authenticate`] is the general parser underneath.
//!
//! Parsing is strict where the RFC is unambiguous and lenient where real servers
//! are not:
//! - several challenges in one value, empty list elements (`a, , b`) and optional
//!   whitespace around `=` and `,` are accepted;
//! - an unquoted parameter value runs to the next comma or whitespace, so values
//!   that are not RFC tokens (base64 with `=` padding, Azure Arc's
//!   `realm=/var/opt/azcmagent/tokens/x.key`) parse;
//! - a duplicated parameter is kept; [`AuthChallenge::param`] returns the first;
//! - a value that is blank is no challenge at all (`Ok` with nothing), but a value
//!   with characters and no challenge in it (`,,,`) is malformed.
//!
//! Errors carry the byte offset where parsing stopped; no input makes it panic.

use std::fmt;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use serde_json::Value;

/// Why a `WWW-Authenticate` value or its claims challenge was rejected.
///
/// ```
/// use oxmsal::challenge::{parse_www_authenticate, ChallengeError};
/// let err = parse_www_authenticate("Bearer =x").unwrap_err();
/// assert!(matches!(err, ChallengeError::Syntax { position: 7, .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChallengeError {
    /// The header value does not follow the challenge grammar.
    Syntax {
        /// Byte offset in the header value (in the value that failed, when
        /// several were given) where parsing stopped.
        position: usize,
        /// What was expected there.
        reason: &'static str,
    },
    /// The `claims` value is neither base64 (either alphabet) nor JSON.
    BadBase64 {
        /// The decoder's explanation.
        detail: String,
    },
    /// The decoded `claims` bytes are not UTF-8 text.
    NotUtf8,
    /// The decoded `claims` text is not a JSON object.
    NotJsonObject {
        /// What it is instead, or the JSON parser's explanation.
        detail: String,
    },
}

impl fmt::Display for ChallengeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChallengeError::Syntax { position, reason } => {
                write!(
                    f,
                    "malformed WWW-Authenticate header at byte {position}: {reason}"
                )
            }
            ChallengeError::BadBase64 { detail } => {
                write!(f, "the claims challenge is not valid base64: {detail}")
            }
            ChallengeError::NotUtf8 => {
                f.write_str("the decoded claims challenge is not UTF-8 text")
            }
            ChallengeError::NotJsonObject { detail } => {
                write!(
                    f,
                    "the decoded claims challenge is not a JSON object: {detail}"
                )
            }
        }
    }
}

impl std::error::Error for ChallengeError {}

impl From<ChallengeError> for crate::error::Error {
    /// A bad challenge is something the caller handed to oxmsal, hence a
    /// configuration error rather than a service one.
    ///
    /// ```
    /// use oxmsal::challenge::ClaimsChallenge;
    /// let err: oxmsal::Error = ClaimsChallenge::from_www_authenticate("Bearer claims=\"%%\"").unwrap_err().into();
    /// assert_eq!(err.kind(), oxmsal::ErrorKind::Configuration);
    /// ```
    fn from(err: ChallengeError) -> Self {
        crate::error::Error::configuration(err.to_string())
    }
}

/// One challenge of a `WWW-Authenticate` header: a scheme and either auth-params
/// or a token68.
///
/// ```
/// use oxmsal::challenge::parse_www_authenticate;
/// let c = &parse_www_authenticate(r#"Bearer Realm="contoso", error=invalid_token"#).unwrap()[0];
/// assert!(c.is_bearer());
/// assert_eq!(c.param("realm"), Some("contoso"));
/// assert_eq!(c.error(), Some("invalid_token"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthChallenge {
    /// The scheme as sent (`Bearer`, `PoP`, `Basic`, `Negotiate`…); compare it
    /// case-insensitively.
    pub scheme: String,
    /// The auth-params in order: names lowercased, values unquoted and unescaped.
    pub params: Vec<(String, String)>,
    /// The token68 form (`Negotiate abc123==`), when the challenge used it.
    pub token68: Option<String>,
}

impl AuthChallenge {
    /// The first value of the parameter `name` (case-insensitive).
    ///
    /// ```
    /// use oxmsal::challenge::parse_www_authenticate;
    /// let c = &parse_www_authenticate(r#"Basic realm="a \"b\"""#).unwrap()[0];
    /// assert_eq!(c.param("REALM"), Some(r#"a "b""#));
    /// assert_eq!(c.param("nonce"), None);
    /// ```
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the scheme is `Bearer` (any case).
    ///
    /// ```
    /// use oxmsal::challenge::parse_www_authenticate;
    /// assert!(parse_www_authenticate("bearer").unwrap()[0].is_bearer());
    /// ```
    pub fn is_bearer(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("bearer")
    }

    /// Whether the scheme is `PoP` (proof of possession, any case).
    ///
    /// ```
    /// use oxmsal::challenge::parse_www_authenticate;
    /// assert!(parse_www_authenticate(r#"PoP nonce="n""#).unwrap()[0].is_pop());
    /// ```
    pub fn is_pop(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("pop")
    }

    /// The `error` parameter, e.g. `insufficient_claims` or `invalid_token`.
    ///
    /// ```
    /// use oxmsal::challenge::parse_www_authenticate;
    /// let c = &parse_www_authenticate(r#"Bearer error="insufficient_claims""#).unwrap()[0];
    /// assert_eq!(c.error(), Some("insufficient_claims"));
    /// ```
    pub fn error(&self) -> Option<&str> {
        self.param("error")
    }

    /// The `claims` parameter as sent (normally base64).
    ///
    /// ```
    /// use oxmsal::challenge::parse_www_authenticate;
    /// let c = &parse_www_authenticate(r#"Bearer claims="e30""#).unwrap()[0];
    /// assert_eq!(c.claims_raw(), Some("e30"));
    /// ```
    pub fn claims_raw(&self) -> Option<&str> {
        self.param("claims")
    }

    /// The `claims` parameter decoded to JSON text that is a JSON object;
    /// `Ok(None)` when the parameter is absent or empty.
    ///
    /// Accepts the standard and the URL-safe base64 alphabets, with or without
    /// padding. As a lenient fallback, a value that already starts with `{` is
    /// taken as the JSON itself (Microsoft documents base64, but some resources
    /// send the JSON raw).
    ///
    /// ```
    /// use oxmsal::challenge::parse_www_authenticate;
    /// let c = &parse_www_authenticate(r#"Bearer claims="eyJhY2Nlc3NfdG9rZW4iOnt9fQ""#).unwrap()[0];
    /// assert_eq!(c.decoded_claims().unwrap().as_deref(), Some(r#"{"access_token":{}}"#));
    /// ```
    pub fn decoded_claims(&self) -> Result<Option<String>, ChallengeError> {
        match self.claims_raw().map(str::trim) {
            None | Some("") => Ok(None),
            Some(raw) => decode_claims(raw).map(Some),
        }
    }
}

/// Parses one `WWW-Authenticate` header value into its challenges, in order.
/// A blank value gives an empty list.
///
/// ```
/// use oxmsal::challenge::parse_www_authenticate;
/// let all = parse_www_authenticate(r#"Negotiate abc123==, Bearer realm="", error="insufficient_claims""#).unwrap();
/// assert_eq!(all[0].token68.as_deref(), Some("abc123=="));
/// assert_eq!(all[1].param("error"), Some("insufficient_claims"));
/// assert!(parse_www_authenticate("Bearer realm=\"unterminated").is_err());
/// ```
pub fn parse_www_authenticate(header: &str) -> Result<Vec<AuthChallenge>, ChallengeError> {
    Parser {
        text: header,
        pos: 0,
    }
    .challenges()
}

/// Parses several `WWW-Authenticate` header values (a response may carry the
/// header more than once) into one list of challenges, in order. Any malformed
/// value is an error; its position is within that value.
///
/// ```
/// use oxmsal::challenge::parse_www_authenticate_values;
/// let all = parse_www_authenticate_values([r#"Basic realm="x""#, "Bearer"]).unwrap();
/// assert_eq!(all.len(), 2);
/// ```
pub fn parse_www_authenticate_values<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<AuthChallenge>, ChallengeError> {
    let mut all = Vec::new();
    for value in values {
        all.extend(parse_www_authenticate(value)?);
    }
    Ok(all)
}

/// A claims challenge found in a `WWW-Authenticate` header, decoded and ready to
/// pass to the next token request.
///
/// ```
/// use oxmsal::challenge::ClaimsChallenge;
/// let header = r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwgInZhbHVlIjoiMTYwNDEwNjY1MSJ9fX0=""#;
/// let c = ClaimsChallenge::from_www_authenticate(header).unwrap().unwrap();
/// assert_eq!(c.claims_json(), r#"{"access_token":{"nbf":{"essential":true, "value":"1604106651"}}}"#);
/// assert_eq!(c.error.as_deref(), Some("insufficient_claims"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClaimsChallenge {
    /// The decoded claims: JSON text of an object.
    pub claims: String,
    /// The challenge's `error` parameter (typically `insufficient_claims`).
    pub error: Option<String>,
    /// The scheme that carried it, as sent (`Bearer` or `PoP`).
    pub scheme: String,
    /// The `authorization_uri` parameter: the authority the resource trusts.
    pub authorization_uri: Option<String>,
    /// The `realm` parameter.
    pub realm: Option<String>,
}

impl ClaimsChallenge {
    /// The first `Bearer` or `PoP` challenge of the header that carries a
    /// non-empty `claims` parameter (typically with
    /// `error="insufficient_claims"`); `Ok(None)` when the header has none.
    ///
    /// ```
    /// use oxmsal::challenge::ClaimsChallenge;
    /// assert_eq!(ClaimsChallenge::from_www_authenticate(r#"Bearer realm="api""#).unwrap(), None);
    /// assert!(ClaimsChallenge::from_www_authenticate(r#"Bearer claims="bm90IGpzb24""#).is_err());
    /// ```
    pub fn from_www_authenticate(header: &str) -> Result<Option<ClaimsChallenge>, ChallengeError> {
        Self::first_of(&parse_www_authenticate(header)?)
    }

    /// The same over several header values, searched in order.
    ///
    /// ```
    /// use oxmsal::challenge::ClaimsChallenge;
    /// let c = ClaimsChallenge::from_header_values([r#"Basic realm="x""#, r#"PoP claims="e30""#]).unwrap().unwrap();
    /// assert_eq!((c.scheme.as_str(), c.claims_json()), ("PoP", "{}"));
    /// ```
    pub fn from_header_values<'a>(
        values: impl IntoIterator<Item = &'a str>,
    ) -> Result<Option<ClaimsChallenge>, ChallengeError> {
        Self::first_of(&parse_www_authenticate_values(values)?)
    }

    /// The decoded claims JSON, to pass as the `claims` of the next token request.
    ///
    /// ```
    /// use oxmsal::challenge::ClaimsChallenge;
    /// let c = ClaimsChallenge::from_www_authenticate(r#"Bearer claims="e30""#).unwrap().unwrap();
    /// assert_eq!(c.claims_json(), "{}");
    /// ```
    pub fn claims_json(&self) -> &str {
        &self.claims
    }

    fn first_of(challenges: &[AuthChallenge]) -> Result<Option<ClaimsChallenge>, ChallengeError> {
        for c in challenges.iter().filter(|c| c.is_bearer() || c.is_pop()) {
            if let Some(claims) = c.decoded_claims()? {
                return Ok(Some(ClaimsChallenge {
                    claims,
                    error: c.error().map(str::to_owned),
                    scheme: c.scheme.clone(),
                    authorization_uri: c.param("authorization_uri").map(str::to_owned),
                    realm: c.param("realm").map(str::to_owned),
                }));
            }
        }
        Ok(None)
    }
}

/// Base64 of either alphabet (after mapping `+`/`/` onto `-`/`_`), padding optional.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes a non-empty `claims` value to the JSON text of an object.
fn decode_claims(raw: &str) -> Result<String, ChallengeError> {
    let text = if raw.starts_with('{') {
        raw.to_owned()
    } else {
        let url_safe: String = raw
            .chars()
            .map(|c| match c {
                '+' => '-',
                '/' => '_',
                other => other,
            })
            .collect();
        let bytes = LENIENT_BASE64
            .decode(url_safe)
            .map_err(|e| ChallengeError::BadBase64 {
                detail: e.to_string(),
            })?;
        String::from_utf8(bytes).map_err(|_| ChallengeError::NotUtf8)?
    };
    let not_object = |what: &str| ChallengeError::NotJsonObject {
        detail: format!("it is {what}"),
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(_)) => Ok(text),
        Ok(Value::Array(_)) => Err(not_object("an array")),
        Ok(Value::String(_)) => Err(not_object("a string")),
        Ok(_) => Err(not_object("a scalar")),
        Err(e) => Err(ChallengeError::NotJsonObject {
            detail: e.to_string(),
        }),
    }
}

/// RFC 9110 `tchar`: the characters of schemes and parameter names.
fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// RFC 9110 `token68` characters, `=` padding excluded.
fn is_token68_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~+/".contains(c)
}

/// Optional whitespace (OWS/BWS).
fn is_ows(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// A recursive-descent cursor over one header value; `pos` is always on a char
/// boundary because it only ever advances by whole chars.
struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn error(&self, reason: &'static str) -> ChallengeError {
        ChallengeError::Syntax {
            position: self.pos,
            reason,
        }
    }

    fn skip_while(&mut self, keep: impl Fn(char) -> bool) -> &str {
        let start = self.pos;
        while self.peek().is_some_and(&keep) {
            self.bump();
        }
        &self.text[start..self.pos]
    }

    fn skip_ows(&mut self) -> bool {
        !self.skip_while(is_ows).is_empty()
    }

    /// Skips whitespace and the commas of empty list elements.
    fn skip_separators(&mut self) {
        self.skip_while(|c| is_ows(c) || c == ',');
    }

    fn token(&mut self) -> Option<String> {
        Some(self.skip_while(is_tchar).to_owned()).filter(|t| !t.is_empty())
    }

    /// `#challenge`, at least one when the value is not blank.
    fn challenges(mut self) -> Result<Vec<AuthChallenge>, ChallengeError> {
        let mut all = Vec::new();
        self.skip_ows();
        if self.peek().is_none() {
            return Ok(all);
        }
        self.skip_separators();
        loop {
            if self.peek().is_none() {
                if all.is_empty() {
                    return Err(self.error("expected an authentication scheme"));
                }
                return Ok(all);
            }
            let (challenge, more) = self.challenge()?;
            all.push(challenge);
            if !more {
                return Ok(all);
            }
        }
    }

    /// One challenge; also says whether another one follows.
    fn challenge(&mut self) -> Result<(AuthChallenge, bool), ChallengeError> {
        let scheme = self
            .token()
            .ok_or_else(|| self.error("expected an authentication scheme"))?;
        let mut challenge = AuthChallenge {
            scheme,
            params: Vec::new(),
            token68: None,
        };
        let spaced = self.skip_ows();
        if !matches!(self.peek(), None | Some(',')) {
            if !spaced {
                return Err(self.error("expected a space after the scheme"));
            }
            challenge.token68 = self.token68();
            if challenge.token68.is_none() {
                challenge.params.push(self.param()?);
            }
        }
        // Each comma-separated item is either another auth-param of this
        // challenge (`name =`) or the scheme of the next challenge.
        loop {
            self.skip_ows();
            match self.peek() {
                None => return Ok((challenge, false)),
                Some(',') => self.skip_separators(),
                Some(_) => return Err(self.error("expected ',' or the end of the header")),
            }
            if self.peek().is_none() {
                return Ok((challenge, false));
            }
            if challenge.token68.is_some() || !self.param_ahead() {
                return Ok((challenge, true));
            }
            challenge.params.push(self.param()?);
        }
    }

    /// A token68 when one stands alone here (followed by the end or a comma);
    /// otherwise nothing is consumed and the caller reads auth-params.
    fn token68(&mut self) -> Option<String> {
        let start = self.pos;
        self.skip_while(is_token68_char);
        if self.pos > start {
            self.skip_while(|c| c == '=');
            let end = self.pos;
            self.skip_ows();
            if matches!(self.peek(), None | Some(',')) {
                return Some(self.text[start..end].to_owned());
            }
        }
        self.pos = start;
        None
    }

    /// Whether `token BWS "="` follows, without consuming it.
    fn param_ahead(&mut self) -> bool {
        let start = self.pos;
        let found = self.token().is_some() && {
            self.skip_ows();
            self.peek() == Some('=')
        };
        self.pos = start;
        found
    }

    /// `auth-param = token BWS "=" BWS ( token / quoted-string )`.
    fn param(&mut self) -> Result<(String, String), ChallengeError> {
        let name = self
            .token()
            .ok_or_else(|| self.error("expected a parameter name"))?
            .to_ascii_lowercase();
        self.skip_ows();
        if self.bump() != Some('=') {
            return Err(ChallengeError::Syntax {
                position: self.pos.saturating_sub(1),
                reason: "expected '=' after the parameter name",
            });
        }
        self.skip_ows();
        let value = if self.peek() == Some('"') {
            self.quoted_string()?
        } else {
            let value = self.skip_while(|c| !(is_ows(c) || c == ',' || c == '"' || c.is_control()));
            if value.is_empty() {
                return Err(self.error("expected a parameter value"));
            }
            value.to_owned()
        };
        Ok((name, value))
    }

    /// A quoted-string, unescaped; the cursor is on the opening quote.
    fn quoted_string(&mut self) -> Result<String, ChallengeError> {
        let open = self.pos;
        self.bump();
        let mut value = String::new();
        loop {
            let at = self.pos;
            let c = match self.bump() {
                Some('"') => return Ok(value),
                Some('\\') => self.bump(),
                other => other,
            };
            match c {
                None => {
                    return Err(ChallengeError::Syntax {
                        position: open,
                        reason: "unterminated quoted string",
                    })
                }
                Some(c) if c.is_control() && c != '\t' => {
                    return Err(ChallengeError::Syntax {
                        position: at,
                        reason: "control character in a quoted string",
                    })
                }
                Some(c) => value.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use proptest::prelude::*;

    const NBF_1604106651: &str =
        "eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwgInZhbHVlIjoiMTYwNDEwNjY1MSJ9fX0=";
    const NBF_1604106651_JSON: &str =
        r#"{"access_token":{"nbf":{"essential":true, "value":"1604106651"}}}"#;

    fn b64(text: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    fn syntax_position(header: &str) -> usize {
        match parse_www_authenticate(header) {
            Err(ChallengeError::Syntax { position, .. }) => position,
            other => panic!("{header:?} gave {other:?}"),
        }
    }

    #[test]
    fn graph_cae_challenge() {
        let header = format!(
            r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="{NBF_1604106651}""#
        );
        let c = ClaimsChallenge::from_www_authenticate(&header)
            .unwrap()
            .unwrap();
        assert_eq!(c.claims_json(), NBF_1604106651_JSON);
        assert_eq!(c.error.as_deref(), Some("insufficient_claims"));
        assert_eq!(c.scheme, "Bearer");
        assert_eq!(c.realm.as_deref(), Some(""));
        assert_eq!(
            c.authorization_uri.as_deref(),
            Some("https://login.microsoftonline.com/common/oauth2/authorize")
        );
    }

    #[test]
    fn claims_without_padding_and_in_the_url_safe_alphabet() {
        let unpadded = NBF_1604106651.trim_end_matches('=');
        let header = format!(r#"Bearer error="insufficient_claims", claims="{unpadded}""#);
        let c = ClaimsChallenge::from_www_authenticate(&header)
            .unwrap()
            .unwrap();
        assert_eq!(c.claims_json(), NBF_1604106651_JSON);

        // `?>` and `?~` encode to `/` and `+` in the standard alphabet.
        let json = r#"{"k":"?>?~"}"#;
        let standard = b64(json);
        assert!(
            standard.contains('/') || standard.contains('+'),
            "{standard}"
        );
        let url_safe = standard.replace('+', "-").replace('/', "_");
        for claims in [
            standard.clone(),
            url_safe.clone(),
            url_safe.trim_end_matches('=').to_owned(),
        ] {
            let header = format!(r#"Bearer claims="{claims}""#);
            let c = ClaimsChallenge::from_www_authenticate(&header)
                .unwrap()
                .unwrap();
            assert_eq!(c.claims_json(), json, "{claims}");
        }
    }

    #[test]
    fn arm_revoked_session_challenge() {
        let header = r#"Bearer authorization_uri="https://login.windows.net/", error="invalid_token", error_description="User session has been revoked", claims="eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwgInZhbHVlIjoiMTYwMzc0MjgwMCJ9fX0=""#;
        let all = parse_www_authenticate(header).unwrap();
        assert_eq!(
            all[0].param("error_description"),
            Some("User session has been revoked")
        );
        let c = ClaimsChallenge::from_www_authenticate(header)
            .unwrap()
            .unwrap();
        assert_eq!(c.error.as_deref(), Some("invalid_token"));
        assert_eq!(c.realm, None);
        let v: Value = serde_json::from_str(c.claims_json()).unwrap();
        assert_eq!(v["access_token"]["nbf"]["value"], "1603742800");
    }

    #[test]
    fn conditional_access_authentication_context() {
        let json = r#"{"access_token":{"acrs":{"essential":true,"value":"c1"}}}"#;
        let header = format!(
            r#"Bearer realm="", error="insufficient_claims", claims="{}""#,
            b64(json)
        );
        let c = ClaimsChallenge::from_www_authenticate(&header)
            .unwrap()
            .unwrap();
        assert_eq!(c.claims_json(), json);
    }

    #[test]
    fn raw_json_claims_are_accepted_leniently() {
        let header = r#"Bearer claims="{\"access_token\":{\"acrs\":{\"essential\":true,\"value\":\"c2\"}}}""#;
        let c = ClaimsChallenge::from_www_authenticate(header)
            .unwrap()
            .unwrap();
        assert_eq!(
            c.claims_json(),
            r#"{"access_token":{"acrs":{"essential":true,"value":"c2"}}}"#
        );
    }

    #[test]
    fn pop_then_bearer_in_one_header() {
        let header = format!(
            r#"PoP realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", nonce="AAAB-nonce", Bearer realm="", error="insufficient_claims", claims="{NBF_1604106651}""#
        );
        let all = parse_www_authenticate(&header).unwrap();
        assert_eq!(all.len(), 2);
        assert!(all[0].is_pop());
        assert_eq!(all[0].param("nonce"), Some("AAAB-nonce"));
        assert_eq!(all[0].params.len(), 3);
        assert!(all[1].is_bearer());
        let c = ClaimsChallenge::from_www_authenticate(&header)
            .unwrap()
            .unwrap();
        assert_eq!(c.scheme, "Bearer");
        assert_eq!(c.claims_json(), NBF_1604106651_JSON);
    }

    #[test]
    fn basic_then_bearer() {
        let header = format!(
            r#"Basic realm="x", Bearer error="insufficient_claims", claims="{NBF_1604106651}""#
        );
        let all = parse_www_authenticate(&header).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].scheme, "Basic");
        assert_eq!(all[0].params, vec![("realm".to_owned(), "x".to_owned())]);
        assert_eq!(all[1].params.len(), 2);
        assert!(ClaimsChallenge::from_www_authenticate(&header)
            .unwrap()
            .is_some());
    }

    #[test]
    fn token68_then_bearer() {
        let header = r#"Negotiate abc123==, Bearer realm="api", claims="e30""#;
        let all = parse_www_authenticate(header).unwrap();
        assert_eq!(all[0].scheme, "Negotiate");
        assert_eq!(all[0].token68.as_deref(), Some("abc123=="));
        assert!(all[0].params.is_empty());
        assert_eq!(all[1].param("realm"), Some("api"));
        assert_eq!(
            ClaimsChallenge::from_www_authenticate(header)
                .unwrap()
                .unwrap()
                .claims,
            "{}"
        );
    }

    #[test]
    fn claims_on_other_schemes_are_ignored() {
        let header = r#"Basic claims="e30", Bearer realm="x""#;
        assert_eq!(
            ClaimsChallenge::from_www_authenticate(header).unwrap(),
            None
        );
    }

    #[test]
    fn several_header_values() {
        let values = [
            r#"Negotiate"#,
            r#"Bearer error="insufficient_claims", claims="e30""#,
        ];
        let c = ClaimsChallenge::from_header_values(values)
            .unwrap()
            .unwrap();
        assert_eq!(c.claims_json(), "{}");
        assert_eq!(parse_www_authenticate_values(values).unwrap().len(), 2);
        assert!(
            ClaimsChallenge::from_header_values(["Bearer claims=\"e30\"", "Bearer \"x"]).is_err()
        );
        assert_eq!(ClaimsChallenge::from_header_values([]).unwrap(), None);
    }

    #[test]
    fn escapes_in_quoted_strings() {
        let all =
            parse_www_authenticate(r#"Bearer realm="a \"quoted\" \\ path\\", x="\y""#).unwrap();
        assert_eq!(all[0].param("realm"), Some(r#"a "quoted" \ path\"#));
        assert_eq!(all[0].param("x"), Some("y"));
    }

    #[test]
    fn whitespace_case_and_empty_elements() {
        let all = parse_www_authenticate(" \tBEARER   Realm = \"r\" ,\t ERROR=\"e\" , , Basic  ")
            .unwrap();
        assert_eq!(all.len(), 2);
        assert!(all[0].is_bearer());
        assert_eq!(
            all[0].params,
            vec![("realm".into(), "r".into()), ("error".into(), "e".into())]
        );
        assert_eq!(all[1].scheme, "Basic");
        assert!(all[1].params.is_empty() && all[1].token68.is_none());
    }

    #[test]
    fn unquoted_values_that_are_not_tokens() {
        let all = parse_www_authenticate(
            r"Basic realm=/var/opt/azcmagent/tokens/a.key, Bearer claims=e30=",
        )
        .unwrap();
        assert_eq!(
            all[0].param("realm"),
            Some("/var/opt/azcmagent/tokens/a.key")
        );
        assert_eq!(all[1].claims_raw(), Some("e30="));
        let windows = parse_www_authenticate(
            r"Basic realm=C:\ProgramData\AzureConnectedMachineAgent\Tokens\a.key",
        )
        .unwrap();
        assert_eq!(
            windows[0].param("realm"),
            Some(r"C:\ProgramData\AzureConnectedMachineAgent\Tokens\a.key")
        );
    }

    #[test]
    fn blank_headers_have_no_challenge() {
        assert_eq!(parse_www_authenticate("").unwrap(), vec![]);
        assert_eq!(parse_www_authenticate(" \t ").unwrap(), vec![]);
        assert_eq!(ClaimsChallenge::from_www_authenticate("").unwrap(), None);
    }

    #[test]
    fn headers_without_claims() {
        for header in [
            r#"Bearer realm="", error="invalid_token""#,
            r#"Bearer claims="""#,
            "Negotiate",
            r#"Basic realm="x""#,
        ] {
            assert_eq!(
                ClaimsChallenge::from_www_authenticate(header).unwrap(),
                None,
                "{header}"
            );
        }
    }

    #[test]
    fn garbage_is_an_error_with_a_position() {
        assert_eq!(syntax_position("Bearer =x"), 7);
        assert_eq!(syntax_position(r#"Bearer realm="x"#), 13);
        assert_eq!(syntax_position(",,,"), 3);
        assert_eq!(syntax_position(r#"Bearer realm="x" error="y""#), 17);
        assert_eq!(syntax_position("Bearer a=b, c="), 14);
        assert_eq!(syntax_position("Bearer a=\"\u{1}\""), 10);
        assert_eq!(syntax_position("Bearer\"x\""), 6);
        assert_eq!(syntax_position("Négociez"), 1);
        assert_eq!(syntax_position("Negotiate abc==, x=y"), 18);
        assert_eq!(syntax_position("Bearer a=\"x\\"), 9);
    }

    #[test]
    fn bad_claims_are_errors() {
        let bad = |claims: &str| {
            ClaimsChallenge::from_www_authenticate(&format!(r#"Bearer claims="{claims}""#))
                .unwrap_err()
        };
        assert!(matches!(bad("%%%"), ChallengeError::BadBase64 { .. }));
        assert!(matches!(bad("e30=="), ChallengeError::BadBase64 { .. }));
        assert_eq!(
            bad(&b64("\u{0}")),
            ChallengeError::NotJsonObject {
                detail: "expected value at line 1 column 1".into()
            }
        );
        assert_eq!(bad("_w"), ChallengeError::NotUtf8);
        assert!(matches!(
            bad(&b64("[1]")),
            ChallengeError::NotJsonObject { .. }
        ));
        assert!(matches!(
            bad(&b64("\"s\"")),
            ChallengeError::NotJsonObject { .. }
        ));
        assert!(matches!(
            bad("{not json"),
            ChallengeError::NotJsonObject { .. }
        ));
        let err: crate::error::Error = bad("%%%").into();
        assert_eq!(err.kind(), crate::error::ErrorKind::Configuration);
        assert!(err.to_string().contains("base64"), "{err}");
    }

    #[test]
    fn display_names_the_position() {
        let err = parse_www_authenticate("Bearer =x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "malformed WWW-Authenticate header at byte 7: expected a parameter name"
        );
    }

    /// Renders a challenge the way a server would, quoting values unless they are tokens.
    fn render(scheme: &str, params: &[(String, String)], quote_all: bool) -> String {
        let rendered: Vec<String> = params
            .iter()
            .map(|(name, value)| {
                if !quote_all && !value.is_empty() && value.chars().all(is_tchar) {
                    format!("{name}={value}")
                } else {
                    let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
                    format!("{name} = \"{escaped}\"")
                }
            })
            .collect();
        if rendered.is_empty() {
            scheme.to_owned()
        } else {
            format!("{scheme} {}", rendered.join(" ,  "))
        }
    }

    fn challenge_strategy() -> impl Strategy<Value = (String, Vec<(String, String)>)> {
        let name = "[A-Za-z][A-Za-z0-9_.!#-]{0,8}";
        let value = prop_oneof![
            "[a-zA-Z0-9_.-]{0,6}",
            "[ -~\u{a0}-\u{17f}]{0,16}",
            "[\"\\\\=, ]{0,5}"
        ];
        (
            "[A-Za-z][A-Za-z0-9-]{0,8}",
            proptest::collection::vec((name, value), 0..5),
        )
            .prop_map(|(scheme, raw)| {
                // Parameter names are unique (case-insensitively) within a challenge.
                let mut params: Vec<(String, String)> = Vec::new();
                for (name, value) in raw {
                    if !params.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
                        params.push((name, value));
                    }
                }
                (scheme, params)
            })
    }

    proptest! {
        #[test]
        fn rendered_challenges_parse_back(
            challenges in proptest::collection::vec(challenge_strategy(), 1..4),
            quote_all in any::<bool>(),
        ) {
            let header = challenges
                .iter()
                .map(|(scheme, params)| render(scheme, params, quote_all))
                .collect::<Vec<_>>()
                .join(", ");
            let parsed = parse_www_authenticate(&header).unwrap();
            prop_assert_eq!(parsed.len(), challenges.len(), "{}", header);
            for (got, (scheme, params)) in parsed.iter().zip(&challenges) {
                prop_assert_eq!(&got.scheme, scheme);
                prop_assert_eq!(got.token68.as_deref(), None);
                let expected: Vec<(String, String)> =
                    params.iter().map(|(n, v)| (n.to_ascii_lowercase(), v.clone())).collect();
                prop_assert_eq!(&got.params, &expected, "{}", header);
            }
        }

        #[test]
        fn arbitrary_text_never_panics(text in any::<String>()) {
            let _ = parse_www_authenticate(&text);
            let _ = ClaimsChallenge::from_www_authenticate(&text);
        }

        #[test]
        fn header_like_text_never_panics(text in "[A-Za-z0-9 \t,=\"\\\\/+_-]{0,40}") {
            if let Ok(all) = parse_www_authenticate(&text) {
                for c in &all {
                    let _ = c.decoded_claims();
                }
            }
            let _ = ClaimsChallenge::from_www_authenticate(&text);
        }

        #[test]
        fn arbitrary_claims_never_panic(claims in any::<String>()) {
            let _ = decode_claims(&claims);
        }
    }
}
