//! Scope checks done before any request.

use crate::error::{Error, Result};

/// Scopes MSAL adds itself to user flows; a caller passing them is a mistake.
pub(crate) const RESERVED_SCOPES: [&str; 3] = ["openid", "profile", "offline_access"];

/// Non-empty, no blank scope, no reserved scope, duplicates removed; sorted
/// (MSAL sends and caches scopes sorted).
pub(crate) fn validate_scopes(scopes: &[String]) -> Result<Vec<String>> {
    check_scopes(scopes)?;
    validate_sign_in_scopes(scopes)
}

/// The checks of [`validate_scopes`] alone, without building the list: a cache
/// hit needs no more (its lookup ignores order, case and repeats).
pub(crate) fn check_scopes(scopes: &[String]) -> Result<()> {
    if scopes.is_empty() {
        return Err(Error::configuration("at least one scope is required"));
    }
    scopes
        .iter()
        .try_for_each(|scope| check_scope(scope.trim()))
}

fn check_scope(s: &str) -> Result<()> {
    if s.is_empty() {
        return Err(Error::configuration("a scope is empty"));
    }
    let has_space = if s.is_ascii() {
        s.bytes().any(|b| b.is_ascii_whitespace() || b == b'\x0b')
    } else {
        s.contains(char::is_whitespace)
    };
    if has_space {
        return Err(Error::configuration(format!(
            "scope `{s}` contains white space; pass each scope separately"
        )));
    }
    if RESERVED_SCOPES.iter().any(|r| r.eq_ignore_ascii_case(s)) {
        return Err(Error::configuration(format!(
            "scope `{s}` is reserved: oxmsal adds openid, profile and offline_access itself where they apply"
        )));
    }
    Ok(())
}

/// The same rules, but an empty list is allowed: a sign-in may ask for the
/// OpenID scopes alone (oxmsal adds them).
pub(crate) fn validate_sign_in_scopes(scopes: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(scopes.len());
    for scope in scopes {
        let s = scope.trim();
        check_scope(s)?;
        if !out.iter().any(|o| o.eq_ignore_ascii_case(s)) {
            out.push(s.to_owned());
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn rules() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(validate_scopes(&[]).is_err());
        for bad in [
            &[][..],
            &v(&["openid"]),
            &v(&[" "]),
            &v(&["a b"]),
            &v(&["a\u{b}b"]),
            &v(&["é\u{a0}b"]),
        ] {
            assert!(check_scopes(bad).is_err());
        }
        assert!(check_scopes(&v(&["b", " a", "B"])).is_ok());
        assert!(validate_scopes(&v(&["openid"])).is_err());
        assert!(validate_scopes(&v(&["a", "Offline_Access"])).is_err());
        assert!(validate_scopes(&v(&[" "])).is_err());
        assert!(validate_scopes(&v(&["a b"])).is_err());
        assert_eq!(
            validate_scopes(&v(&["b", "a", "B"])).unwrap(),
            v(&["a", "b"])
        );
    }
}
