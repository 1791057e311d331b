//! The lock file protocol: exclusion between threads of one process (each
//! acquisition opens its own descriptor, as separate processes do), the holder
//! note, release, timeouts, and which abandoned lock files are taken over.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::SystemTime;

use super::*;
use crate::error::ErrorKind;

const SHORT: Duration = Duration::from_millis(150);

#[test]
fn the_holder_note_is_written_and_the_file_removed_on_release() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/cache.json.lockfile");
    let lock = LockFile::acquire_blocking(&path, SHORT).unwrap();
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        format!("{} oxmsal", std::process::id())
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    drop(lock);
    assert!(!path.exists());
}

#[test]
fn a_held_lock_times_out_with_an_error_naming_the_lock_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.lockfile");
    let _held = LockFile::acquire_blocking(&path, SHORT).unwrap();
    let started = Instant::now();
    let err = LockFile::acquire_blocking(&path, SHORT).unwrap_err();
    assert!(started.elapsed() >= SHORT);
    assert_eq!(err.kind(), ErrorKind::Cache);
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("oxmsal"), "names the holder: {message}");
}

#[test]
fn threads_take_turns() {
    let dir = tempfile::tempdir().unwrap();
    let lock_path = Arc::new(dir.path().join("n.lockfile"));
    let counter = Arc::new(dir.path().join("n"));
    fs::write(&*counter, "0").unwrap();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (lock_path, counter) = (lock_path.clone(), counter.clone());
            std::thread::spawn(move || {
                for _ in 0..25 {
                    let _lock =
                        LockFile::acquire_blocking(&lock_path, Duration::from_secs(20)).unwrap();
                    // A read-modify-write that loses updates unless exclusive.
                    let n: u32 = fs::read_to_string(&*counter).unwrap().parse().unwrap();
                    std::thread::yield_now();
                    fs::write(&*counter, (n + 1).to_string()).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(fs::read_to_string(&*counter).unwrap(), "100");
    assert!(!lock_path.exists());
}

#[test]
fn a_lock_file_flocked_by_another_holder_is_respected() {
    // msal-extensions with portalocker: the file exists and is flocked.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.lockfile");
    fs::write(&path, "1 /usr/bin/python3 app.py").unwrap();
    let holder = File::open(&path).unwrap();
    holder.lock().unwrap();
    assert!(LockFile::acquire_blocking(&path, SHORT).is_err());
    // Released (and removed) by its holder: ours at once.
    fs::remove_file(&path).unwrap();
    drop(holder);
    drop(LockFile::acquire_blocking(&path, SHORT).unwrap());
}

#[test]
fn an_msal_extensions_lock_file_of_a_live_process_is_respected() {
    // msal-extensions without portalocker: existence only, no flock.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.lockfile");
    fs::write(
        &path,
        format!("{} /usr/bin/python3 app.py", std::process::id()),
    )
    .unwrap();
    assert!(LockFile::acquire_blocking(&path, SHORT).is_err());
    assert!(path.exists(), "not taken over");
    // Still there long after msal-extensions' own waiters gave up: abandoned.
    let old = SystemTime::now() - STALE_AFTER - Duration::from_secs(1);
    File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(old)
        .unwrap();
    drop(LockFile::acquire_blocking(&path, SHORT).unwrap());
}

#[test]
fn lock_files_of_dead_holders_are_taken_over_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.lockfile");
    // An oxmsal holder killed: its note, no flock (the kernel dropped it).
    fs::write(&path, "4000000000 oxmsal").unwrap();
    let started = Instant::now();
    let lock = LockFile::acquire_blocking(&path, Duration::from_secs(3)).unwrap();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        format!("{} oxmsal", std::process::id())
    );
    drop(lock);

    #[cfg(target_os = "linux")]
    {
        // An msal-extensions holder whose process is gone (pids stop at 2^22).
        fs::write(&path, "4000000000 /usr/bin/python3 app.py").unwrap();
        let started = Instant::now();
        drop(LockFile::acquire_blocking(&path, Duration::from_secs(3)).unwrap());
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}

#[test]
fn abandonment_rules() {
    let fresh = Duration::ZERO;
    let old = STALE_AFTER + Duration::from_secs(1);
    assert!(
        abandoned("123 oxmsal", fresh),
        "an oxmsal note without its flock"
    );
    assert!(!abandoned("", fresh), "being created: judged by age");
    assert!(abandoned("", old));
    assert!(!abandoned("123 oxmsal extra", fresh) || process_is_gone(123));
    let me = std::process::id();
    assert!(!abandoned(&format!("{me} /usr/bin/python3 app.py"), fresh));
    assert!(abandoned(&format!("{me} /usr/bin/python3 app.py"), old));
}

#[tokio::test]
async fn the_async_wait_does_not_block_the_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.lockfile");
    let held = LockFile::acquire(&path, SHORT).await.unwrap();
    let waiter = {
        let path = path.clone();
        tokio::spawn(async move { LockFile::acquire(&path, Duration::from_secs(5)).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    drop(held);
    drop(waiter.await.unwrap().unwrap());
    assert!(!path.exists());
}

#[cfg(unix)]
#[test]
fn a_planted_link_is_refused_and_its_target_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("victim.txt");
    fs::write(&target, "the victim's data").unwrap();
    let path = dir.path().join("cache.json.lockfile");
    std::os::unix::fs::symlink(&target, &path).unwrap();
    let err = LockFile::acquire_blocking(&path, SHORT).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cache);
    let message = err.to_string();
    assert!(message.contains("symbolic link"), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert_eq!(fs::read_to_string(&target).unwrap(), "the victim's data");
    assert!(fs::symlink_metadata(&path)
        .unwrap()
        .file_type()
        .is_symlink());
    // A link to a file that does not exist yet: not created through it.
    let dangling = dir.path().join("other.lockfile");
    let nowhere = dir.path().join("created-through-the-link");
    std::os::unix::fs::symlink(&nowhere, &dangling).unwrap();
    assert!(LockFile::acquire_blocking(&dangling, SHORT).is_err());
    assert!(!nowhere.exists());
}
