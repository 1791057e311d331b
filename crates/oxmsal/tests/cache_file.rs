//! `FileCache`: load, save only when changed, atomic private writes, and
//! failures that leave the file alone.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;

use oxmsal::cache::FileCache;
use oxmsal::ErrorKind;

const DOC: &str = r#"{
    "AccessToken": {
        "-login.microsoftonline.com-accesstoken-c-t-s": {
            "credential_type": "AccessToken", "secret": "at", "home_account_id": null,
            "environment": "login.microsoftonline.com", "client_id": "c", "target": "s",
            "realm": "t", "token_type": "Bearer", "cached_at": "1", "expires_on": "9999999999",
            "extended_expires_on": "9999999999", "unknown": [1]
        }
    },
    "Account": {
        "u.t-login.microsoftonline.com-t": {
            "home_account_id": "u.t", "environment": "login.microsoftonline.com", "realm": "t",
            "local_account_id": "u", "username": "alice", "authority_type": "MSSTS"
        }
    },
    "Future": {"x": true}
}"#;

#[test]
fn missing_file_is_an_empty_cache_and_nothing_is_written_until_a_change() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.json");
    let file = FileCache::open(&path).unwrap();
    assert_eq!(file.path(), path);
    assert_eq!(file.cache().access_token_count(), 0);
    assert!(!file.save().unwrap());
    assert!(!path.exists());
}

#[test]
fn round_trip_through_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.json");
    fs::write(&path, DOC).unwrap();

    let file = FileCache::open(&path).unwrap();
    assert_eq!(
        (
            file.cache().access_token_count(),
            file.cache().account_count()
        ),
        (1, 1)
    );
    assert!(!file.save().unwrap(), "loaded and unchanged: no write");
    assert_eq!(fs::read_to_string(&path).unwrap(), DOC);

    let account = file.cache().accounts().remove(0);
    assert_eq!(file.cache().remove_account(&account, "c"), 1);
    assert!(file.save().unwrap());
    assert!(!file.cache().has_state_changed());
    assert!(!file.save().unwrap());

    let reopened = FileCache::open(&path).unwrap();
    assert_eq!(
        (
            reopened.cache().access_token_count(),
            reopened.cache().account_count()
        ),
        (1, 0)
    );
    let text = fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("\"unknown\"") && text.contains("\"Future\""),
        "{text}"
    );
    // No temp files left behind.
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["cache.json"]);
}

#[cfg(unix)]
#[test]
fn written_file_is_private_even_when_the_old_one_was_not() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/cache.json");
    let file = FileCache::open(&path).unwrap();
    file.cache().deserialize(DOC).unwrap();
    file.cache().clear();
    assert!(file.save().unwrap());
    let mode = |p: &std::path::Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&dir.path().join("nested")), 0o700);
    assert_eq!(mode(&dir.path().join("nested/dir")), 0o700);

    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let file = FileCache::open(&path).unwrap();
    file.cache().deserialize(DOC).unwrap();
    file.cache().clear();
    assert!(file.save().unwrap());
    assert_eq!(
        mode(&path),
        0o600,
        "a save replaces the file with a private one"
    );
}

#[test]
fn corrupt_file_is_reported_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in [
        ("garbage.json", "{\"AccessToken\": {\"k\": "),
        ("array.json", "[]"),
        (
            "bad-timestamp.json",
            r#"{"AccessToken": {"k": {"expires_on": "never"}}}"#,
        ),
    ] {
        let path = dir.path().join(name);
        fs::write(&path, content).unwrap();
        let err = FileCache::open(&path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Cache, "{name}");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{name}: {err}"
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), content, "{name}");
    }
}

#[test]
fn unreadable_path_is_a_cache_error() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where the file should be.
    let err = FileCache::open(dir.path()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cache);
    assert!(
        err.to_string().contains(&dir.path().display().to_string()),
        "{err}"
    );
}

#[test]
fn a_save_that_cannot_create_its_directory_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    // A file appears where the parent directory is to be created (permissions
    // would not stop root, which these tests may run as).
    let blocked = dir.path().join("blocked");
    let file = FileCache::open(blocked.join("cache.json")).unwrap();
    file.cache().clear();
    fs::write(&blocked, "i am a file").unwrap();
    let err = file.save().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cache);
    assert!(err.to_string().contains("blocked"), "{err}");
    assert!(file.cache().has_state_changed(), "still to be saved");
    assert_eq!(fs::read_to_string(&blocked).unwrap(), "i am a file");
}

#[test]
fn a_failed_replace_leaves_the_target_intact_and_no_temp_file() {
    // The rename fails after the temp file is fully written: the target turned
    // into a non-empty directory between load and save. (A failure mid-write is
    // covered by the unit test `a_failed_write_leaves_the_old_file_and_the_dirty_flag`.)
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.json");
    fs::write(&path, DOC).unwrap();
    let file = FileCache::open(&path).unwrap();
    file.cache().clear();
    fs::remove_file(&path).unwrap();
    fs::create_dir(&path).unwrap();
    fs::write(path.join("keep"), DOC).unwrap();

    let err = file.save().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cache);
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    assert_eq!(fs::read_to_string(path.join("keep")).unwrap(), DOC);
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["cache.json"], "the temp file is removed");
    assert!(file.cache().has_state_changed());
}

/// A file larger than the 1 MiB chunk `open` reads at a time loads exactly as
/// `deserialize` loads its text.
#[test]
fn a_file_of_many_chunks_loads_as_its_text_does() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.json");
    let mut doc = String::from("{\"AccessToken\": {");
    for i in 0..3000 {
        if i > 0 {
            doc.push(',');
        }
        // Multibyte characters and escapes, so some land on chunk boundaries.
        doc.push_str(&format!(
            r#""k-é😀-{i}": {{"credential_type": "AccessToken", "secret": "{}\"ü{i}", "environment": "e", "client_id": "c", "realm": "t", "target": "s", "cached_at": "1", "expires_on": {i}}}"#,
            "x".repeat(400)
        ));
    }
    doc.push_str("}, \"Future\": {\"x\": [1.5, -2]}}");
    assert!(doc.len() > 1 << 20);
    fs::write(&path, &doc).unwrap();

    let file = FileCache::open(&path).unwrap();
    let expected = oxmsal::cache::TokenCache::new();
    expected.deserialize(&doc).unwrap();
    assert_eq!(file.cache().access_token_count(), 3000);
    assert_eq!(
        file.cache().serialize().unwrap(),
        expected.serialize().unwrap()
    );
    assert!(!file.cache().has_state_changed());
}

#[test]
fn a_file_that_is_not_utf8_is_a_read_error_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.json");
    let bytes = b"{\"AccessToken\": {\"k\": {\"secret\": \"\xff\"}}}";
    fs::write(&path, bytes).unwrap();
    let err = FileCache::open(&path).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cache);
    let message = err.to_string();
    assert!(message.contains("cannot read"), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert_eq!(fs::read(&path).unwrap(), bytes);
}
