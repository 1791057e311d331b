//! The files the chain reads from paths named by variables (the federated
//! token, the client certificate): a regular file, read with a bound, opened
//! without following a symbolic link — except a link that stays within the
//! named file's own directory, which is how Kubernetes mounts secrets and
//! projected tokens.

use std::path::Path;

use crate::cache::persist::fs;
use crate::error::{Error, Result};

/// The largest federated token file accepted: Kubernetes' service-account
/// tokens are about a kilobyte; anything far larger is not a token.
pub(crate) const MAX_TOKEN_FILE_BYTES: u64 = 64 * 1024;

/// The largest certificate file accepted (a PEM or PKCS#12 with a chain).
pub(crate) const MAX_CERTIFICATE_FILE_BYTES: u64 = 1024 * 1024;

/// The bytes of `path`, named by `variable`; a configuration error saying why
/// when it is a link, not a regular file, empty or larger than `max`.
pub(crate) fn read_bounded(path: &Path, variable: &str, max: u64) -> Result<Vec<u8>> {
    let shown = path.display();
    let refused = |why: String| Error::configuration(format!("{variable} `{shown}` {why}"));
    fs::read_small_file(path, max).map_err(|why| refused(why.to_string()))
}

/// Where a link at `path` leads when that is inside `path`'s own directory.
///
/// Kubernetes writes projected volumes (the federated token) atomically: the
/// named file is a link to `..data/<name>`, and `..data` a link to the current
/// version's directory, all inside the volume. Such a link is followed; one
/// leading out of the directory is not (a planted link to another file).
fn link_within_its_directory(path: &Path) -> Option<std::path::PathBuf> {
    let dir = path.parent()?.canonicalize().ok()?;
    let target = path.canonicalize().ok()?;
    target.starts_with(&dir).then_some(target)
}

/// The bytes of `path` as [`read_bounded`] reads them, except that a symbolic
/// link at `path` is followed when it leads to a file within `path`'s own
/// directory (see [`link_within_its_directory`]): Kubernetes mounts secrets
/// and projected tokens that way. The file it leads to is opened without
/// following links.
pub(crate) fn read_mounted(path: &Path, variable: &str, max: u64) -> Result<Vec<u8>> {
    let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if !is_link {
        return read_bounded(path, variable, max);
    }
    let target = link_within_its_directory(path).ok_or_else(|| {
        Error::configuration(format!(
            "{variable} `{}` is a symbolic link leading out of its directory; refused",
            path.display()
        ))
    })?;
    read_bounded(&target, variable, max)
}

/// The federated token in `path` (a JWT: visible ASCII), read anew each time.
pub(crate) fn read_federated_token(path: &Path) -> Result<crate::Secret> {
    let bytes = read_mounted(path, "AZURE_FEDERATED_TOKEN_FILE", MAX_TOKEN_FILE_BYTES)?;
    let text = std::str::from_utf8(&bytes)
        .ok()
        .map(str::trim)
        .filter(|t| t.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            Error::configuration(format!(
                "AZURE_FEDERATED_TOKEN_FILE `{}` does not hold a token (not visible ASCII)",
                path.display()
            ))
        })?;
    Ok(crate::Secret::new(text))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_a_token_and_refuses_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "header.payload.sig\n").unwrap();
        assert_eq!(
            read_federated_token(&token).unwrap().expose_secret(),
            "header.payload.sig"
        );

        let empty = dir.path().join("empty");
        std::fs::write(&empty, " \n").unwrap();
        assert!(read_federated_token(&empty)
            .unwrap_err()
            .to_string()
            .contains("is empty"));

        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'a'; MAX_TOKEN_FILE_BYTES as usize + 1]).unwrap();
        assert!(read_federated_token(&big)
            .unwrap_err()
            .to_string()
            .contains("more than"));

        let binary = dir.path().join("binary");
        std::fs::write(&binary, [0xff, 0x00, 0x41]).unwrap();
        assert!(read_federated_token(&binary).is_err());

        let err = read_federated_token(dir.path()).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Configuration);
        assert!(read_federated_token(&dir.path().join("missing")).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn a_link_out_of_the_directory_is_refused_one_inside_is_followed() {
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("target");
        std::fs::write(&target, "a.b.c").unwrap();
        let volume = tempfile::tempdir().unwrap();
        let link = volume.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = read_federated_token(&link).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        let err = read_mounted(&link, "AZURE_CLIENT_CERTIFICATE_PATH", 10).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        // read_bounded follows no link at all.
        let inside = volume.path().join("inside");
        std::fs::write(&inside, "x").unwrap();
        let link_inside = volume.path().join("link-inside");
        std::os::unix::fs::symlink(&inside, &link_inside).unwrap();
        let err = read_bounded(&link_inside, "V", 10).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");

        // Kubernetes' projected volume: token -> ..data/token, ..data -> ..v1.
        let version = volume.path().join("..v1");
        std::fs::create_dir(&version).unwrap();
        std::fs::write(version.join("token"), "h.p.s").unwrap();
        std::os::unix::fs::symlink("..v1", volume.path().join("..data")).unwrap();
        let token = volume.path().join("token");
        std::os::unix::fs::symlink("..data/token", &token).unwrap();
        assert_eq!(
            read_federated_token(&token).unwrap().expose_secret(),
            "h.p.s"
        );
    }
}
