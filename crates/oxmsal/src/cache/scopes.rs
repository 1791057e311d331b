//! Scopes: the `target` string stored in the cache, and the case-insensitive set
//! arithmetic lookups and replacement need.

/// The `target` of a new entry: the granted scopes (the server's `scope`, else
/// what was requested), sorted and space-joined.
///
/// MSAL Python sorts (`' '.join(sorted(event["scope"]))`, where the event's scope is
/// the response's `scope` split on whitespace when present, else the request's),
/// so keys written by both libraries agree. Sorting is by code point, like
/// Python's `sorted`; exact duplicates are dropped.
pub(crate) fn target(granted: Option<&str>, requested: &[String]) -> String {
    let mut scopes: Vec<&str> = match granted {
        Some(s) if !s.trim().is_empty() => s.split_whitespace().collect(),
        _ => requested
            .iter()
            .flat_map(|s| s.split_whitespace())
            .collect(),
    };
    scopes.sort_unstable();
    scopes.dedup();
    scopes.join(" ")
}

/// The scopes of a `target`, lowercased, sorted and deduplicated: the form every
/// comparison uses, because scopes compare case-insensitively.
pub(crate) fn normalized(target: &str) -> Box<[String]> {
    normalize(target.split_whitespace())
}

fn normalize<'a>(scopes: impl Iterator<Item = &'a str>) -> Box<[String]> {
    let mut set: Vec<String> = scopes.map(str::to_lowercase).collect();
    set.sort_unstable();
    set.dedup();
    set.into_boxed_slice()
}

/// Whether `have` (normalized) holds every scope of a request as the caller
/// wrote it: the tests' model `contains_all(have, &normalized_request(requested))`
/// without building the normalized list — this runs on every cache hit.
pub(crate) fn contains_all_requested(have: &[String], requested: &[String]) -> bool {
    // One scope asked, one held, spelled the same (an app's `…/.default`).
    if let ([have], [want]) = (have, requested) {
        if have == want {
            return true;
        }
    }
    let mut any = false;
    for scope in requested.iter().flat_map(|s| s.split_whitespace()) {
        any = true;
        let found = if !scope
            .bytes()
            .any(|b| b.is_ascii_uppercase() || !b.is_ascii())
        {
            // Already in normalized form (the usual case): plain comparisons.
            have.binary_search_by(|h| h.as_str().cmp(scope)).is_ok()
        } else if scope.is_ascii() {
            have.binary_search_by(|h| h.bytes().cmp(scope.bytes().map(|b| b.to_ascii_lowercase())))
                .is_ok()
        } else {
            have.binary_search(&scope.to_lowercase()).is_ok()
        };
        if !found {
            return false;
        }
    }
    any
}

/// Whether two normalized scope sets share a scope.
pub(crate) fn intersects(a: &[String], b: &[String]) -> bool {
    let (mut i, mut j) = (0, 0);
    while let (Some(x), Some(y)) = (a.get(i), b.get(j)) {
        match x.cmp(y) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// [`normalized`] for a list of requested scopes (each item may hold
    /// several): the model [`contains_all_requested`] is tested against.
    pub(crate) fn normalized_request(scopes: &[String]) -> Box<[String]> {
        normalize(scopes.iter().flat_map(|s| s.split_whitespace()))
    }

    /// Whether `have` holds every scope of `want` (both normalized). An empty
    /// `want` is never satisfied: a lookup without scopes is a caller mistake,
    /// not a hit.
    pub(crate) fn contains_all(have: &[String], want: &[String]) -> bool {
        !want.is_empty() && want.iter().all(|w| have.binary_search(w).is_ok())
    }

    fn owned(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn target_prefers_the_granted_scopes_sorted() {
        let requested = owned(&["User.Read"]);
        assert_eq!(
            target(Some("profile openid User.Read email"), &requested),
            "User.Read email openid profile"
        );
        assert_eq!(target(None, &owned(&["b", "a", "a"])), "a b");
        assert_eq!(target(Some("  "), &owned(&["x y"])), "x y");
        assert_eq!(target(None, &[]), "");
    }

    #[test]
    fn subset_matching_is_case_insensitive_and_needs_a_scope() {
        let have = normalized("User.Read Mail.Read openid");
        assert!(contains_all(
            &have,
            &normalized_request(&owned(&["user.read"]))
        ));
        assert!(contains_all(
            &have,
            &normalized_request(&owned(&["MAIL.READ", "User.Read"]))
        ));
        assert!(!contains_all(
            &have,
            &normalized_request(&owned(&["User.Read", "Files.Read"]))
        ));
        assert!(!contains_all(&have, &normalized_request(&[])));
    }

    proptest::proptest! {
        #[test]
        fn requested_matching_agrees_with_the_normalized_form(
            have in proptest::collection::vec("[a-cA-C.é]{0,3}", 0..5),
            want in proptest::collection::vec("[a-cA-C.é ]{0,4}", 0..4),
        ) {
            let have = normalized(&have.join(" "));
            proptest::prop_assert_eq!(
                contains_all_requested(&have, &want),
                contains_all(&have, &normalized_request(&want))
            );
        }
    }

    #[test]
    fn intersection() {
        assert!(intersects(&normalized("a B c"), &normalized("b")));
        assert!(!intersects(&normalized("a c"), &normalized("b d")));
        assert!(!intersects(&normalized(""), &normalized("a")));
    }
}
