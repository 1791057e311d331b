//! Scope checks done before any request.

use crate::error::{Error, Result};

/// Scopes MSAL adds itself to user flows; a caller passing them is a mistake.
pub(crate) const RESERVED_SCOPES: [&str; 3] = ["openid", "profile", "offline_access"];

/// The scopes of a request as the caller gave them: one (an app's
/// `…/.default`, the usual case) kept inline, or several. A cache hit costs
/// about as much as one allocation, so the list does not add its own.
#[derive(Debug, Clone)]
pub(crate) enum ScopeList {
    One(String),
    Many(Vec<String>),
}

impl Default for ScopeList {
    fn default() -> Self {
        ScopeList::Many(Vec::new())
    }
}

impl std::ops::Deref for ScopeList {
    type Target = [String];
    fn deref(&self) -> &[String] {
        match self {
            ScopeList::One(scope) => std::slice::from_ref(scope),
            ScopeList::Many(scopes) => scopes,
        }
    }
}

impl FromIterator<String> for ScopeList {
    fn from_iter<I: IntoIterator<Item = String>>(iter: I) -> Self {
        let mut iter = iter.into_iter();
        let Some(first) = iter.next() else {
            return ScopeList::default();
        };
        match iter.next() {
            None => ScopeList::One(first),
            Some(second) => {
                let mut all = vec![first, second];
                all.extend(iter);
                ScopeList::Many(all)
            }
        }
    }
}

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
    fn a_scope_list_keeps_one_scope_inline() {
        let one: ScopeList = ["a".to_owned()].into_iter().collect();
        assert!(matches!(one, ScopeList::One(_)));
        assert_eq!(&*one, ["a".to_owned()]);
        let many: ScopeList = ["a", "b", "c"].into_iter().map(str::to_owned).collect();
        assert_eq!(&*many, ["a".to_owned(), "b".to_owned(), "c".to_owned()]);
        let none: ScopeList = std::iter::empty().collect();
        assert!(none.is_empty());
    }

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
