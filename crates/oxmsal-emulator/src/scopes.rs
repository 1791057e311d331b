//! The `scope` parameter of user flows: one resource's delegated permissions
//! plus the OpenID Connect scopes.
//!
//! `api://demo/read` is permission `read` of resource `api://demo` (split at the
//! last `/`); a bare `User.Read` is Microsoft Graph's, as with Entra. A request
//! without any resource scope gets Graph's `User.Read`, Entra's default. The
//! access token's `aud` is the resource and its `scp` the permissions
//! (`.default` stands for `user_impersonation`: the emulator has no consent model).

use crate::errors::AadError;

/// Microsoft Graph's resource identifier: the resource of bare scopes.
pub(crate) const GRAPH: &str = "https://graph.microsoft.com";

/// The OpenID Connect scopes, which name no resource.
const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// A parsed `scope` parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scopes {
    /// The resource (`aud` of the access token).
    pub resource: String,
    /// Permission names, in request order (`scp` of the access token).
    permissions: Vec<String>,
    /// The resource scopes as requested, in order, without repeats.
    granted: Vec<String>,
    /// `openid`, `profile`, `email` as requested.
    oidc: Vec<String>,
    /// `offline_access` was requested: issue a refresh token.
    pub offline_access: bool,
}

impl Scopes {
    /// Parses and checks a `scope` parameter.
    pub(crate) fn parse(scope: &str) -> Result<Self, AadError> {
        let mut resource: Option<&str> = None;
        let mut permissions = Vec::new();
        let mut granted: Vec<String> = Vec::new();
        let mut oidc: Vec<String> = Vec::new();
        let mut offline_access = false;
        for item in scope.split_whitespace() {
            let lower = item.to_ascii_lowercase();
            if OIDC_SCOPES.contains(&lower.as_str()) {
                if lower == "offline_access" {
                    offline_access = true;
                } else if !oidc.contains(&lower) {
                    oidc.push(lower);
                }
                continue;
            }
            let (res, permission) = match item.rfind('/') {
                Some(i) => (&item[..i], &item[i + 1..]),
                None => (GRAPH, item),
            };
            if res.is_empty() || permission.is_empty() {
                return Err(AadError::invalid_scope(
                    item,
                    "A scope is a resource identifier and a permission, e.g. 'api://app/read'.",
                ));
            }
            match resource {
                None => resource = Some(res),
                Some(known) if known.eq_ignore_ascii_case(res) => {}
                Some(_) => return Err(AadError::several_resources(scope)),
            }
            if !granted.iter().any(|g| g == item) {
                granted.push(item.to_owned());
                permissions.push(permission.to_owned());
            }
        }
        if permissions.len() > 1 && permissions.iter().any(|p| p == ".default") {
            return Err(AadError::invalid_scope(
                scope,
                "'.default' cannot be combined with other scopes of the same resource.",
            ));
        }
        let resource = match resource {
            Some(r) => r.to_owned(),
            None => {
                permissions.push("User.Read".into());
                granted.push("User.Read".into());
                GRAPH.to_owned()
            }
        };
        Ok(Scopes {
            resource,
            permissions,
            granted,
            oidc,
            offline_access,
        })
    }

    /// Checks an authorization request's `scope`: unlike a token request's,
    /// it may name several resources, whose permissions the user consents to
    /// at once (MSAL's "extra scopes to consent"; tokens are then asked for
    /// one resource at a time). Each resource's scopes must hold on their own.
    pub(crate) fn check_consent(scope: &str) -> Result<(), AadError> {
        let mut by_resource: Vec<(String, Vec<&str>)> = Vec::new();
        for item in scope.split_whitespace() {
            let resource = match item.rfind('/') {
                Some(i) => item[..i].to_ascii_lowercase(),
                None => GRAPH.to_owned(),
            };
            match by_resource.iter_mut().find(|(r, _)| *r == resource) {
                Some((_, items)) => items.push(item),
                None => by_resource.push((resource, vec![item])),
            }
        }
        for (_, items) in by_resource {
            Self::parse(&items.join(" "))?;
        }
        Ok(())
    }

    /// `openid` was requested: issue an id token.
    pub(crate) fn openid(&self) -> bool {
        self.oidc.iter().any(|s| s == "openid")
    }

    /// The access token's `scp`: the permissions, space-separated.
    pub(crate) fn scp(&self) -> String {
        self.permissions
            .iter()
            .map(|p| {
                if p == ".default" {
                    "user_impersonation"
                } else {
                    p.as_str()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The response's `scope`: the resource scopes, then `openid profile email`
    /// as requested; never `offline_access` (Entra leaves it out too).
    pub(crate) fn response_scope(&self) -> String {
        self.granted
            .iter()
            .chain(&self.oidc)
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn splits_resource_and_permissions() {
        let s = Scopes::parse("openid profile offline_access api://demo/read api://demo/write")
            .unwrap();
        assert_eq!(s.resource, "api://demo");
        assert_eq!(s.scp(), "read write");
        assert!(s.offline_access && s.openid());
        assert_eq!(
            s.response_scope(),
            "api://demo/read api://demo/write openid profile"
        );

        let g = Scopes::parse("User.Read https://graph.microsoft.com/Mail.Read").unwrap();
        assert_eq!(
            (g.resource.as_str(), g.scp()),
            (GRAPH, "User.Read Mail.Read".into())
        );
        assert!(!g.offline_access && !g.openid());

        let d = Scopes::parse("openid").unwrap();
        assert_eq!(
            (d.resource.as_str(), d.response_scope()),
            (GRAPH, "User.Read openid".into())
        );

        let def = Scopes::parse("api://x/.default offline_access").unwrap();
        assert_eq!(def.scp(), "user_impersonation");
        assert_eq!(def.response_scope(), "api://x/.default");
    }

    #[test]
    fn refuses_bad_scopes() {
        let code = |s: &str| Scopes::parse(s).unwrap_err().code;
        assert_eq!(code("api://a/read api://b/read"), 28000);
        // An authorization request may ask consent for several resources,
        // each valid on its own.
        assert!(Scopes::check_consent("openid User.Read api://b/read api://b/write").is_ok());
        let consent = |s: &str| Scopes::check_consent(s).unwrap_err().code;
        assert_ne!(consent("User.Read api://b/.default api://b/read"), 28000);
        assert_ne!(consent("User.Read api://b/"), 28000);
        assert_eq!(code("api://a/"), 70011);
        assert_eq!(code("/read"), 70011);
        assert_eq!(code("api://a/.default api://a/read"), 70011);
    }
}
