//! Entry keys of MSAL's unified cache schema.
//!
//! Every MSAL writes the same keys, so a cache shared with MSAL for Python (or
//! .NET, Java, Node) addresses the same entry. The formats are MSAL Python's
//! `TokenCache.key_makers` (`msal/token_cache.py`): `-`-joined parts, a missing
//! part empty, the whole key lowercased — except the AppMetadata key, which
//! MSAL Python does not lowercase. The extended access-token key (an `-atext-`
//! descriptor and a trailing `-{ext_cache_key}`) is MSAL.NET's
//! `MsalAccessTokenCacheItem.InitCacheKey`, lowercased as a whole like every
//! other credential key there.
//!
//! Keys are only where an entry is stored: lookups go through the indexes in
//! `store.rs`, built from the entries' fields, so a foreign writer's keys need
//! not match these for its entries to be found.

/// The credential-type part of an ordinary access-token key.
const ACCESS_TOKEN: &str = "accesstoken";
/// The credential-type part of an access-token key with an extended key.
const ACCESS_TOKEN_EXTENDED: &str = "atext";
/// The credential-type part of a refresh-token key.
const REFRESH_TOKEN: &str = "refreshtoken";
/// The credential-type part of an id-token key.
const ID_TOKEN: &str = "idtoken";

/// Joins `parts` with `-` and lowercases the result.
fn lower_join(parts: &[&str]) -> String {
    parts.join("-").to_lowercase()
}

/// `{home_account_id}-{environment}-accesstoken-{client_id}-{realm}-{target}`,
/// or with `ext_cache_key`:
/// `{home_account_id}-{environment}-atext-{client_id}-{realm}-{target}-{ext_cache_key}`.
pub(crate) fn access_token(
    home_account_id: Option<&str>,
    environment: &str,
    client_id: &str,
    realm: &str,
    target: &str,
    ext_cache_key: Option<&str>,
) -> String {
    let home = home_account_id.unwrap_or("");
    match ext_cache_key {
        Some(ext) => lower_join(&[
            home,
            environment,
            ACCESS_TOKEN_EXTENDED,
            client_id,
            realm,
            target,
            ext,
        ]),
        None => lower_join(&[home, environment, ACCESS_TOKEN, client_id, realm, target]),
    }
}

/// `{home_account_id}-{environment}-refreshtoken-{client_id}--{target}`: the realm
/// part is empty because a refresh token works across tenants.
pub(crate) fn refresh_token(
    home_account_id: Option<&str>,
    environment: &str,
    client_id: &str,
    target: &str,
) -> String {
    let home = home_account_id.unwrap_or("");
    lower_join(&[home, environment, REFRESH_TOKEN, client_id, "", target])
}

/// `{home_account_id}-{environment}-idtoken-{client_id}-{realm}-`: the schema keeps
/// an (always empty) target part.
pub(crate) fn id_token(
    home_account_id: Option<&str>,
    environment: &str,
    client_id: &str,
    realm: &str,
) -> String {
    let home = home_account_id.unwrap_or("");
    lower_join(&[home, environment, ID_TOKEN, client_id, realm, ""])
}

/// `{home_account_id}-{environment}-{realm}`.
pub(crate) fn account(home_account_id: &str, environment: &str, realm: &str) -> String {
    lower_join(&[home_account_id, environment, realm])
}

/// `appmetadata-{environment}-{client_id}`, not lowercased (as MSAL Python writes it).
pub(crate) fn app_metadata(environment: &str, client_id: &str) -> String {
    format!("appmetadata-{environment}-{client_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected strings written by hand from MSAL's unified cache schema and MSAL Python's key_makers.
    #[test]
    fn access_token_keys() {
        assert_eq!(
            access_token(
                Some("UID.UTID"),
                "login.microsoftonline.com",
                "Client-ID",
                "Contoso",
                "scope1 scope2",
                None
            ),
            "uid.utid-login.microsoftonline.com-accesstoken-client-id-contoso-scope1 scope2"
        );
        // App-only: no home account, so the key starts with `-`.
        assert_eq!(
            access_token(
                None,
                "login.microsoftonline.com",
                "c",
                "t1",
                "https://graph.microsoft.com/.default",
                None
            ),
            "-login.microsoftonline.com-accesstoken-c-t1-https://graph.microsoft.com/.default"
        );
    }

    #[test]
    fn extended_access_token_key_matches_msal_dotnet() {
        // The shape of MSAL.NET's CacheKeyExtensionTests expected key.
        assert_eq!(
            access_token(
                None,
                "login.windows.net",
                "d3adb33f-c0de-ed0c-c0de-deadb33fc0d3",
                "common",
                "r1/scope1 r1/scope2",
                Some("BNS2ytmx5")
            ),
            "-login.windows.net-atext-d3adb33f-c0de-ed0c-c0de-deadb33fc0d3-common-r1/scope1 r1/scope2-bns2ytmx5"
        );
    }

    #[test]
    fn refresh_token_key_has_an_empty_realm_part() {
        assert_eq!(
            refresh_token(
                Some("uid.utid"),
                "login.microsoftonline.com",
                "c",
                "openid User.Read"
            ),
            "uid.utid-login.microsoftonline.com-refreshtoken-c--openid user.read"
        );
    }

    #[test]
    fn id_token_key_has_an_empty_target_part() {
        assert_eq!(
            id_token(Some("uid.utid"), "login.microsoftonline.com", "c", "tenant"),
            "uid.utid-login.microsoftonline.com-idtoken-c-tenant-"
        );
    }

    #[test]
    fn account_key() {
        assert_eq!(
            account("UID.UTID", "login.microsoftonline.com", "Tenant"),
            "uid.utid-login.microsoftonline.com-tenant"
        );
    }

    #[test]
    fn app_metadata_key_is_not_lowercased() {
        assert_eq!(
            app_metadata("login.microsoftonline.com", "Client-ID"),
            "appmetadata-login.microsoftonline.com-Client-ID"
        );
    }
}
