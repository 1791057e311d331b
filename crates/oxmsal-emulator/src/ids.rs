//! Identifiers the emulator mints: stable GUIDs, opaque random tokens, user codes.

use aws_lc_rs::digest;

use crate::jwt;

/// A GUID that depends only on `parts` (compared case-insensitively), so that
/// service principals and users keep the same object id across emulator restarts.
pub(crate) fn stable_guid(parts: &[&str]) -> String {
    let hash = stable_hash(parts);
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hash[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// SHA-256 over `parts`, lowercased and NUL-separated.
pub(crate) fn stable_hash(parts: &[&str]) -> [u8; 32] {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for p in parts {
        ctx.update(p.to_ascii_lowercase().as_bytes());
        ctx.update(b"\0");
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// 32 random bytes (two v4 UUIDs: the OS CSPRNG behind `getrandom`).
fn random_bytes() -> [u8; 32] {
    let mut out = [0u8; 32];
    out[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    out[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    out
}

/// An opaque, unguessable token: `prefix` followed by 256 random bits in base64url.
/// Entra's codes and refresh tokens are opaque too (`0.A…`); clients must not parse them.
pub(crate) fn random_token(prefix: &str) -> String {
    format!("{prefix}{}", jwt::b64url(&random_bytes()))
}

/// Entra's `uti`: 16 random bytes, base64url (22 characters).
pub(crate) fn unique_token_id() -> String {
    jwt::b64url(uuid::Uuid::new_v4().as_bytes())
}

/// Letters and digits a person can read back and type without confusion
/// (no `0/O`, `1/I/L`, `5/S`, `2/Z`, `8/B`, `U/V`).
const USER_CODE_ALPHABET: &[u8] = b"ACDEFGHJKMNPQRTWXY34679";

/// A device flow user code: 9 characters, upper-case, like Entra's (`GA2Q6SJTK`).
pub(crate) fn user_code() -> String {
    random_bytes()
        .iter()
        .take(9)
        .map(|b| char::from(USER_CODE_ALPHABET[usize::from(*b) % USER_CODE_ALPHABET.len()]))
        .collect()
}

/// A user code as typed, for comparison: upper-case, without spaces or dashes.
pub(crate) fn normalize_user_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_guid_is_stable_and_case_blind() {
        let a = stable_guid(&["x", "ABC"]);
        assert_eq!(a, stable_guid(&["x", "abc"]));
        assert_ne!(a, stable_guid(&["x", "abd"]));
        assert_eq!(a.len(), 36);
        assert!(uuid::Uuid::parse_str(&a).is_ok());
    }

    #[test]
    fn tokens_and_user_codes() {
        let t = random_token("0.A");
        assert!(t.starts_with("0.A") && t.len() == 3 + 43);
        assert_ne!(t, random_token("0.A"));
        let code = user_code();
        assert_eq!(code.len(), 9);
        assert!(code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)));
        assert_eq!(normalize_user_code(" ab-c d"), "ABCD");
    }
}
