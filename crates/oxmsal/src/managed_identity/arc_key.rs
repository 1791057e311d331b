//! Azure Arc's challenge key file, read defensively: the challenge names a
//! path, but only its file name's stem is used; the file is opened in the
//! platform's key directory without following a symbolic link, must be a
//! regular file of at most 4096 bytes (checked before reading), and is read
//! with a bound.

use std::path::Path;

use crate::cache::persist::fs;
use crate::error::{Error, Result};
use crate::secret::Secret;

/// The largest key file accepted (MSAL's limit).
pub(crate) const MAX_KEY_FILE_BYTES: u64 = 4096;

/// The stem of the realm's file name: after the last `/` or `\`, before the
/// last `.`; only `[A-Za-z0-9_.-]`, not starting with a dot.
fn stem(realm: &str) -> Result<&str> {
    let name = realm.rsplit(['/', '\\']).next().unwrap_or(realm);
    let stem = match name.rfind('.') {
        Some(0) | None => name,
        Some(i) => &name[..i],
    };
    let valid = !stem.is_empty()
        && !stem.starts_with('.')
        && stem
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if valid {
        Ok(stem)
    } else {
        Err(Error::configuration(format!(
            "the Azure Arc challenge names a key file `{name}` that is not a plain file name; refused"
        )))
    }
}

/// Reads `<dir>/<stem of realm's file name>.key`.
pub(crate) fn read_key(dir: &Path, realm: &str) -> Result<Secret> {
    let path = dir.join(format!("{}.key", stem(realm)?));
    let shown = path.display();
    let refused = |why: String| {
        Error::configuration(format!(
            "Azure Arc key file `{shown}` {why}; refused, nothing sent"
        ))
    };
    let bytes =
        fs::read_small_file(&path, MAX_KEY_FILE_BYTES).map_err(|why| refused(why.to_string()))?;
    let key = String::from_utf8(bytes).map_err(|_| refused("is not text".to_owned()))?;
    Ok(Secret::new(key.trim()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_the_stem_is_taken() {
        assert_eq!(
            stem("/var/opt/azcmagent/tokens/abc-1.key").unwrap(),
            "abc-1"
        );
        assert_eq!(
            stem(r"C:\ProgramData\AzureConnectedMachineAgent\Tokens\x.key").unwrap(),
            "x"
        );
        assert_eq!(stem("/etc/passwd").unwrap(), "passwd");
        for bad in [
            "/tmp/..",
            "/tmp/",
            "/tmp/.key",
            "/tmp/a b.key",
            "/tmp/\u{e9}.key",
        ] {
            assert!(stem(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_a_regular_file_and_refuses_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("good.key"), "s3cret\n").unwrap();
        assert_eq!(
            read_key(dir.path(), "/x/good.key").unwrap().expose_secret(),
            "s3cret"
        );

        std::fs::write(dir.path().join("big.key"), vec![b'a'; 4097]).unwrap();
        let err = read_key(dir.path(), "/x/big.key").unwrap_err();
        assert!(err.to_string().contains("4097 bytes"), "{err}");

        std::fs::write(dir.path().join("edge.key"), vec![b'a'; 4096]).unwrap();
        assert!(read_key(dir.path(), "/x/edge.key").is_ok());

        std::fs::create_dir(dir.path().join("d.key")).unwrap();
        assert!(read_key(dir.path(), "/x/d.key")
            .unwrap_err()
            .to_string()
            .contains("not a regular file"));

        assert!(read_key(dir.path(), "/x/missing.key").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("real.key"), "s").unwrap();
        std::os::unix::fs::symlink(outside.path().join("real.key"), dir.path().join("link.key"))
            .unwrap();
        let err = read_key(dir.path(), "/x/link.key").unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }
}
