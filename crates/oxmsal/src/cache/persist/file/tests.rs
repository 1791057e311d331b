//! `FileStore`: updates merge under the lock, writes are private and atomic,
//! a foreign file is never overwritten, leftovers of killed writers go.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::cache::persist::merge_documents;
use crate::error::ErrorKind;

fn meta(client: &str) -> String {
    format!(
        r#"{{"AppMetadata": {{"appmetadata-h-{client}": {{"client_id": "{client}", "environment": "h"}}}}}}"#
    )
}

fn any() -> PartitionKey {
    PartitionKey::User {
        home_account_id: "u.t".into(),
    }
}

async fn add(store: &FileStore, client: &str) -> Result<()> {
    let ours = meta(client);
    store
        .update(&any(), &|stored| merge_documents(stored, &ours))
        .await
}

#[tokio::test]
async fn updates_merge_and_loads_see_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(dir.path().join("cache.json"));
    assert_eq!(store.load(&any()).await.unwrap(), None);
    add(&store, "a").await.unwrap();
    add(&store, "b").await.unwrap();
    let doc = store.load(&any()).await.unwrap().unwrap();
    assert!(doc.contains("appmetadata-h-a") && doc.contains("appmetadata-h-b"));
    assert!(!store.lock_path().exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(store.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Dated ahead, so msal-extensions reloads it (see MTIME_LEAD).
    let modified = fs::metadata(store.path()).unwrap().modified().unwrap();
    assert!(modified > SystemTime::now() + MTIME_LEAD / 2);
}

#[tokio::test]
async fn concurrent_updates_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(FileStore::new(dir.path().join("cache.json")));
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { add(&store, &format!("c{i}")).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let doc = store.read_document().await.unwrap().unwrap();
    for i in 0..20 {
        assert!(doc.contains(&format!("appmetadata-h-c{i}\"")), "c{i} lost");
    }
}

#[tokio::test]
async fn a_foreign_file_is_an_error_naming_it_and_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.json");
    let store = FileStore::new(&path);
    for foreign in [
        &b"not json at all"[..],
        b"[1, 2]",
        b"{\"AccessToken\": 7}",
        b"\xff\xfe binary",
    ] {
        fs::write(&path, foreign).unwrap();
        let err = store.load(&any()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Cache);
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        let err = add(&store, "a").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Cache);
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        assert_eq!(fs::read(&path).unwrap(), foreign, "left byte for byte");
        assert!(!store.lock_path().exists());
    }
}

#[tokio::test]
async fn an_empty_file_is_an_empty_cache() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(dir.path().join("cache.json"));
    fs::write(store.path(), "").unwrap();
    assert_eq!(store.load(&any()).await.unwrap().as_deref(), Some(""));
    add(&store, "a").await.unwrap();
}

#[tokio::test]
async fn leftovers_of_killed_writers_are_removed_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(dir.path().join("cache.json"));
    let orphan = dir
        .path()
        .join(".cache.json.0123456789abcdef0123456789abcdef.tmp");
    let unrelated = [
        dir.path()
            .join(".cache.json.throttle.json.0123456789abcdef0123456789abcdef.tmp"),
        dir.path()
            .join(".other.json.0123456789abcdef0123456789abcdef.tmp"),
        dir.path().join("cache.json.tmp"),
    ];
    fs::write(&orphan, "half").unwrap();
    for f in &unrelated {
        fs::write(f, "x").unwrap();
    }
    add(&store, "a").await.unwrap();
    assert!(!orphan.exists());
    for f in &unrelated {
        assert!(f.exists(), "{}", f.display());
    }
}

#[tokio::test]
async fn a_held_lock_makes_an_update_fail_after_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        FileStore::new(dir.path().join("cache.json")).lock_timeout(Duration::from_millis(100));
    let _held = LockFile::acquire(store.lock_path(), Duration::from_secs(1))
        .await
        .unwrap();
    let err = add(&store, "a").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cache);
    assert!(err.to_string().contains("cache.json.lockfile"), "{err}");
    assert!(!store.path().exists());
}

#[test]
fn a_change_settles_after_the_settle_time() {
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_000_000);
    let settle = Duration::from_secs(2);
    assert!(!settled(t, t + Duration::from_secs(1), settle));
    assert!(settled(t, t + settle, settle));
    // A change in the future (a clock set back) has not settled.
    assert!(!settled(t + Duration::from_secs(60), t, settle));
    assert!(settled(t, t, Duration::ZERO));
}

#[tokio::test]
async fn a_file_oxmsal_wrote_has_a_fingerprint_at_once_and_others_once_settled() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.json");
    let store = FileStore::new(&path);
    add(&store, "a").await.unwrap();
    let ours = store.fingerprint(&any()).await.unwrap();
    assert!(ours.is_some(), "our own write is marked");
    // Rewritten in place, as msal-extensions does: not marked, not settled.
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, &text).unwrap();
    assert_eq!(store.fingerprint(&any()).await.unwrap(), None);
    let changed = file_changed(&path);
    let later = file_fingerprint(
        &path,
        changed + Duration::from_secs(2),
        Duration::from_secs(2),
    );
    assert!(later.is_some() && later != ours, "settled, and not ours");
    // Marked again by the next oxmsal write.
    add(&store, "b").await.unwrap();
    assert!(store.fingerprint(&any()).await.unwrap().is_some());
}

#[tokio::test]
async fn the_fingerprint_changes_with_every_write_and_waits_for_a_change_to_settle() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.json");
    let store = FileStore::new(&path).change_settle_time(Duration::ZERO);
    assert_eq!(store.fingerprint(&any()).await.unwrap(), None, "no file");
    add(&store, "a").await.unwrap();
    let first = store.fingerprint(&any()).await.unwrap().expect("a file");
    assert_eq!(
        store.fingerprint(&any()).await.unwrap(),
        Some(first.clone())
    );
    add(&store, "b").await.unwrap();
    let second = store.fingerprint(&any()).await.unwrap().expect("a file");
    assert_ne!(first, second, "a replaced file");
    // Rewritten in place, as msal-extensions does, a byte longer.
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{text} ")).unwrap();
    assert_ne!(store.fingerprint(&any()).await.unwrap(), Some(second));

    // Until a change has settled, there is no fingerprint: the file is read.
    let changed = file_changed(&path);
    let settle = Duration::from_secs(2);
    assert_eq!(
        file_fingerprint(&path, changed + Duration::from_secs(1), settle),
        None
    );
    assert!(file_fingerprint(&path, changed + settle, settle).is_some());
}

/// When the file last changed, as the fingerprint sees it.
fn file_changed(path: &Path) -> SystemTime {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        let m = std::fs::metadata(path).unwrap();
        SystemTime::UNIX_EPOCH + Duration::new(m.ctime() as u64, m.ctime_nsec() as u32)
    }
    #[cfg(not(unix))]
    {
        std::fs::metadata(path).unwrap().modified().unwrap()
    }
}
