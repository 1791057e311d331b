//! The state directory's files (`ca.pem`, `emulator.json`), written so that a
//! link planted in the directory is never followed: each file goes to a
//! temporary file created new (`O_CREAT | O_EXCL`, plus `O_NOFOLLOW` on Unix)
//! and is then renamed over its name. A rename replaces a planted symlink
//! itself, never the file it points to.

use std::fs::{DirBuilder, OpenOptions};
use std::io::{self, Write as _};
use std::path::Path;

/// Creates a fresh directory only this user can enter (`0700` on Unix). Fails
/// when anything already has that name, so a planted directory or link is
/// never used.
pub(crate) fn create_private_dir(path: &Path) -> io::Result<()> {
    let mut builder = DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(path)
}

/// Writes `contents` to `dir/name` through a new temporary file and a rename.
pub(crate) fn write_replacing(dir: &Path, name: &str, contents: &[u8]) -> io::Result<()> {
    let temp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let written = write_new(&temp, contents).and_then(|()| std::fs::rename(&temp, dir.join(name)));
    if written.is_err() {
        // Best effort: the temporary file is ours (created new), nothing else.
        let _ = std::fs::remove_file(&temp);
    }
    written
}

/// Creates `path` (it must not exist, not even as a dangling link) and writes it.
fn write_new(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn replaces_files_and_refuses_existing_dirs() {
        let dir = tempfile::tempdir().unwrap();
        write_replacing(dir.path(), "a.txt", b"one").unwrap();
        write_replacing(dir.path(), "a.txt", b"two").unwrap();
        assert_eq!(std::fs::read(dir.path().join("a.txt")).unwrap(), b"two");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );

        let private = dir.path().join("private");
        create_private_dir(&private).unwrap();
        assert!(
            create_private_dir(&private).is_err(),
            "an existing name is refused"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&private).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_link_at_the_temporary_name_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        assert!(write_new(&link, b"overwritten").is_err());
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
    }
}
