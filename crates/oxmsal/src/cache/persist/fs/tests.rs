//! The file rules: links refused where they must be, owners and modes
//! checked, FIFOs never waited on, reads capped.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;

use super::*;
use crate::error::ErrorKind;

const WHAT: &str = "the test file";

/// The error of a read that must fail (the text is never printed).
fn refused(read: Result<Option<WipedString>>) -> Error {
    match read {
        Ok(_) => panic!("read, not refused"),
        Err(e) => e,
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// A user id that is not this process's (`nobody` when running as root).
#[cfg(unix)]
fn someone_else() -> u32 {
    let me = rustix::process::geteuid().as_raw();
    if me == 65534 {
        65533
    } else {
        65534
    }
}

/// Whether this process can give a file away (root can; others cannot).
#[cfg(unix)]
fn can_chown() -> bool {
    rustix::process::geteuid().is_root()
}

#[test]
fn a_private_document_is_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.json");
    fs::write(&path, "{\"a\": 1}").unwrap();
    #[cfg(unix)]
    set_mode(&path, 0o600);
    let text = read_document(&path, 8, Links::Refuse, WHAT)
        .unwrap()
        .unwrap();
    assert_eq!(&**text, "{\"a\": 1}");
    assert!(
        read_document(&dir.path().join("none"), 8, Links::Refuse, WHAT)
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_document_over_the_cap_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.json");
    fs::write(&path, "123456789").unwrap();
    #[cfg(unix)]
    set_mode(&path, 0o600);
    let err = refused(read_document(&path, 8, Links::Follow, WHAT));
    assert_eq!(err.kind(), ErrorKind::Cache);
    let message = err.to_string();
    assert!(message.contains("cap of 8 bytes"), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert_eq!(fs::read_to_string(&path).unwrap(), "123456789");
    assert_eq!(describe_size(DEFAULT_MAX_DOCUMENT_SIZE), "64 MiB");
}

#[test]
fn the_cap_holds_while_reading_a_source_longer_than_it_said() {
    // A file that grows after its size was looked at: the reader stops one
    // byte past the cap.
    let source = std::io::Cursor::new(vec![b'x'; 100]);
    let mut reader = Capped::new(source, 10);
    let mut out = Vec::new();
    let err = reader.read_to_end(&mut out).unwrap_err();
    assert!(err.get_ref().unwrap().is::<OverCap>());
    assert!(out.len() <= 10, "{}", out.len());
    let err = read_error(err, Path::new("/c.json"), 10, WHAT);
    assert!(err.to_string().contains("grew while being read"), "{err}");

    // Exactly at the cap is fine; seeking back counts from the position.
    let mut reader = Capped::new(std::io::Cursor::new(vec![b'y'; 10]), 10);
    let mut out = Vec::new();
    reader.read_to_end(&mut out).unwrap();
    assert_eq!(out.len(), 10);
    reader.seek(io::SeekFrom::Start(4)).unwrap();
    out.clear();
    reader.read_to_end(&mut out).unwrap();
    assert_eq!(out.len(), 6);
}

#[cfg(unix)]
#[test]
fn a_world_writable_document_is_refused_naming_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.json");
    fs::write(&path, "{}").unwrap();
    set_mode(&path, 0o666);
    let err = refused(read_document(&path, 64, Links::Follow, WHAT));
    assert_eq!(err.kind(), ErrorKind::Cache);
    let message = err.to_string();
    assert!(message.contains("writable by every user"), "{message}");
    assert!(
        message.contains(&format!("chmod 600 {}", path.display())),
        "{message}"
    );
    // Group-writable (a 002 umask): read.
    set_mode(&path, 0o664);
    assert!(read_document(&path, 64, Links::Follow, WHAT)
        .unwrap()
        .is_some());
}

#[cfg(unix)]
#[test]
fn a_document_of_another_user_is_refused_naming_the_fix() {
    if !can_chown() {
        eprintln!("skipped: giving a file away needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.json");
    fs::write(&path, "{}").unwrap();
    set_mode(&path, 0o600);
    std::os::unix::fs::chown(&path, Some(someone_else()), None).unwrap();
    let err = refused(read_document(&path, 64, Links::Follow, WHAT));
    assert_eq!(err.kind(), ErrorKind::Cache);
    let message = err.to_string();
    assert!(message.contains("belongs to another user"), "{message}");
    assert!(message.contains("chown"), "{message}");
    // A lock file of another user's: refused too.
    let err = open_lock_file(&path, WHAT).unwrap_err();
    assert!(err.to_string().contains("belongs to another user"), "{err}");
}

#[cfg(unix)]
#[test]
fn links_are_refused_where_asked_and_their_targets_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("precious");
    fs::write(&target, "keep me").unwrap();
    set_mode(&target, 0o600);
    let link = dir.path().join("doc.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();

    let err = refused(read_document(&link, 64, Links::Refuse, WHAT));
    assert!(err.to_string().contains("symbolic link"), "{err}");
    let err = open_lock_file(&link, WHAT).unwrap_err();
    assert!(err.to_string().contains("symbolic link"), "{err}");
    assert!(read_note(&link, 10).is_none());
    let err = create_new_private(&link, true).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    // The cache file itself may be a link (to a file that passes the checks).
    assert_eq!(
        &**read_document(&link, 64, Links::Follow, WHAT)
            .unwrap()
            .unwrap(),
        "keep me"
    );
    assert_eq!(fs::read_to_string(&target).unwrap(), "keep me");
}

#[cfg(unix)]
#[test]
fn a_fifo_is_refused_without_waiting_for_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.json");
    let made = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(made.success());
    let err = refused(read_document(&path, 64, Links::Follow, WHAT));
    assert!(err.to_string().contains("not a regular file"), "{err}");
    assert!(opened_metadata(&path).is_some_and(|m| !m.is_file()));
    let err = open_lock_file(&path, WHAT).unwrap_err();
    assert!(err.to_string().contains("not a regular file"), "{err}");
}

#[test]
fn new_private_files_are_created_exclusively() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new");
    drop(create_new_private(&path, false).unwrap());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert_eq!(
        create_new_private(&path, false).unwrap_err().kind(),
        io::ErrorKind::AlreadyExists
    );
}
