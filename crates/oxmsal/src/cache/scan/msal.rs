//! Access tokens as MSAL writes them, read in one pass.
//!
//! Every MSAL (and oxmsal) writes an access token's members in one order —
//! `credential_type`, `secret`, `home_account_id`, `environment`,
//! `client_id`, `target`, `realm`, `token_type`, `cached_at`, `expires_on`,
//! then `extended_expires_on`, `refresh_on`, `ext_cache_key` when it has them
//! — with strings as strings and timestamps as strings of digits. Such an
//! object goes straight into an [`MsalAccessToken`], not through the general
//! machinery that must take any member in any order and any JSON type
//! ([`Fields`](crate::cache::entity::Fields): a slot per field id, the order
//! of the members, a class per member, cleared after each entry), which was a
//! fifth of loading a document of small tokens.
//!
//! Anything else — another member, another order, another type, a timestamp
//! that is not plain digits, the input ending inside the object — is `None`,
//! and the general path reads the object from its start and decides, so the
//! two paths cannot disagree on what is accepted; on what is built, the
//! differential test below holds them to the same entry.

use super::{Gap, Input, Step};
use crate::cache::entity::{AccessTokenEntry, MsalAccessToken, View as _};

impl<'a> Input<'a> {
    /// The access token object at `pos`, when it is written as MSAL writes
    /// one, and the position after it.
    /// `gap`: the whitespace before a member, as in the last token (see
    /// [`Input::skip_gap`]).
    pub(super) fn msal_access_token(
        &self,
        pos: usize,
        gap: &mut Gap,
    ) -> Option<(MsalAccessToken<'a>, usize)> {
        let ok = |step: Step<usize>| step.ok();
        let mut token = MsalAccessToken::default();
        if self.at(pos).ok()? != b'{' {
            return None;
        }
        let mut i = ok(self.skip_gap(pos + 1, gap))?;
        let mut next_id = 0;
        loop {
            // The next member is one of the fields after the last one, in
            // order (a field an MSAL leaves out is skipped).
            let (id, after) = (next_id..AccessTokenEntry::FIELDS.len())
                .find_map(|id| Some((id, self.known_name::<AccessTokenEntry>(i, id)?)))?;
            let at_value = ok(self.expect(ok(self.skip_ws(after))?, b':'))?;
            let next = match self.at(at_value).ok()? {
                b'"' => {
                    let (text, next) = self.string(at_value).ok()?;
                    token.string(id, text)?;
                    next
                }
                b'n' => {
                    token.null(id)?;
                    ok(self.null(at_value))?
                }
                _ => return None,
            };
            next_id = id + 1;
            i = ok(self.skip_ws(next))?;
            match self.at(i).ok()? {
                b',' => i = ok(self.skip_gap(i + 1, gap))?,
                b'}' => return Some((token, i + 1)),
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::borrow::Cow;

    use proptest::prelude::*;

    use super::super::{Gap, Input};
    use crate::cache::entity::{AccessTokenEntry, Entity as _, Fields};

    /// MSAL's members of an access token, in its order.
    const MEMBERS: [(&str, &str); 13] = [
        ("credential_type", r#""AccessToken""#),
        ("secret", r#""eyJ0.eyJ1.sig""#),
        ("home_account_id", r#""uid.utid""#),
        ("environment", r#""login.microsoftonline.com""#),
        ("client_id", r#""c0ffee""#),
        ("target", r#""User.Read openid""#),
        ("realm", r#""utid""#),
        ("token_type", r#""Bearer""#),
        ("cached_at", r#""1700000000""#),
        ("expires_on", r#""1700003600""#),
        ("extended_expires_on", r#""1700007200""#),
        ("refresh_on", r#""1700001800""#),
        ("ext_cache_key", r#""k""#),
    ];

    /// Values a member may take instead: the shapes the fast path takes and
    /// the near misses it must leave to the general path.
    const OTHER_VALUES: [&str; 16] = [
        "null",
        r#""""#,
        r#""AccessToken ""#,
        r#""accesstoken""#,
        r#""x\"y\u00e9""#,
        r#""0""#,
        r#""007""#,
        r#"" 5 ""#,
        r#""18446744073709551616""#,
        r#""9999999999999999999""#,
        "1700000000",
        "1.5",
        "true",
        "[]",
        r#"{"a": 1}"#,
        r#""Bearer""#,
    ];

    /// Both readers on one object: the fast path's entry (when it takes the
    /// object) and the general path's, as comparable text, secrets shown.
    fn both(object: &str, gap: Gap) -> (Option<String>, Option<String>) {
        let input = Input {
            bytes: object.as_bytes(),
            text: Some(object),
            eof: true,
        };
        let shown = |entry: &AccessTokenEntry, secret: Option<Cow<'_, str>>, next: usize| {
            format!("{entry:?} secret={secret:?} next={next}")
        };
        let fast = input
            .msal_access_token(0, &mut { gap })
            .map(|(token, next)| {
                let (entry, secret) = Fields::new().build_msal_access_token(token);
                shown(&entry, secret, next)
            });
        let mut fields = Fields::new();
        fields.defer_secrets(true);
        let general = input
            .entry::<AccessTokenEntry>(0, &mut fields)
            .ok()
            .and_then(|next| {
                let entry = AccessTokenEntry::build(&mut fields).ok()?;
                Some(shown(&entry, fields.take_deferred_secret(), next))
            });
        (fast, general)
    }

    #[test]
    fn msal_layout_takes_the_fast_path_with_the_general_paths_entry() {
        let all: Vec<String> = MEMBERS
            .iter()
            .map(|(name, value)| format!(r#""{name}": {value}"#))
            .collect();
        for object in [
            format!("{{{}}}", all.join(", ")),
            // As pretty-printed, an app token (null home) without the optional three.
            format!(
                "{{\n    {},\n    \"home_account_id\": null,\n    {}\n}}",
                all[..2].join(",\n    "),
                all[3..10].join(",\n    ")
            ),
        ] {
            for gap in gaps() {
                let (fast, general) = both(&object, gap);
                assert!(fast.is_some(), "{object}");
                assert_eq!(fast, general, "{object}");
            }
        }
    }

    /// Whitespace the fast path may have learned from earlier tokens: none,
    /// MSAL's (a newline and twelve spaces), and runs one space shorter or
    /// longer, or of another level, which must not be taken for it.
    fn gaps() -> Vec<Gap> {
        [
            "",
            "\n            ",
            "\n           ",
            "\n             ",
            "\n        ",
            "\n\t\t\t\t\t\t\t\t",
        ]
        .iter()
        .map(|run| Gap::of(run.as_bytes()))
        .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Any subset of the members, some with other values, some moved or
        /// unknown, pretty or compact: whenever the fast path takes the
        /// object, the general path builds the same entry from it.
        #[test]
        fn the_fast_path_builds_what_the_general_path_builds(
            kept in proptest::collection::vec(any::<bool>(), 13),
            replaced in proptest::collection::vec(proptest::option::weighted(0.15, 0usize..16), 13),
            swap in proptest::option::weighted(0.1, (0usize..13, 0usize..13)),
            unknown in proptest::option::weighted(0.1, 0usize..14),
            pretty: bool,
            learned in 0usize..6,
            odd in proptest::option::weighted(0.2, (0usize..14, prop_oneof![Just(" "), Just("\n"), Just("\t"), Just(""), Just("x")])),
        ) {
            let mut members: Vec<String> = MEMBERS
                .iter()
                .zip(&kept)
                .zip(&replaced)
                .filter(|((_, keep), _)| **keep)
                .map(|(((name, value), _), other)| {
                    let value = other.map_or(*value, |o| OTHER_VALUES[o]);
                    format!(r#""{name}": {value}"#)
                })
                .collect();
            if let Some((a, b)) = swap {
                if a < members.len() && b < members.len() {
                    members.swap(a, b);
                }
            }
            if let Some(at) = unknown {
                members.insert(at.min(members.len()), r#""foo": "bar""#.to_owned());
            }
            let indent = if pretty { "\n            " } else { " " };
            // One gap made different: longer by a byte, none at all, or
            // the usual length with a byte that is not whitespace in it
            // (past the first eight, where only the tail word looks).
            let gap_before = |at: usize| match odd {
                Some((i, "x")) if i == at => {
                    let mut run = indent.to_owned();
                    run.replace_range(run.len().min(10)..run.len().min(11), "x");
                    run
                }
                Some((i, "")) if i == at => String::new(),
                Some((i, extra)) if i == at => format!("{indent}{extra}"),
                _ => indent.to_owned(),
            };
            let mut object = format!("{{{}", gap_before(0));
            for (at, member) in members.iter().enumerate() {
                if at > 0 {
                    object.push(',');
                    object.push_str(&gap_before(at));
                }
                object.push_str(member);
            }
            object.push_str(if pretty { "\n        }" } else { "}" });
            let (fast, general) = both(&object, gaps()[learned]);
            if fast.is_some() {
                prop_assert_eq!(fast, general, "{}", object);
            }
        }
    }
}
