//! The state directory's files are never written through a symlink: links
//! planted at `ca.pem` and `emulator.json` (another local user's trap) are
//! replaced, and the files they point to stay untouched. Without state files
//! the emulator touches no file at all.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::symlink;

use oxmsal_emulator::{Emulator, EmulatorConfig};

#[tokio::test]
async fn planted_links_are_replaced_and_their_targets_untouched() {
    let state = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let victim = elsewhere.path().join("victim.txt");
    std::fs::write(&victim, b"the victim's data").unwrap();
    symlink(&victim, state.path().join("ca.pem")).unwrap();
    // A dangling link: following it would create a file somewhere else.
    let would_be_created = elsewhere.path().join("created-through-a-link");
    symlink(&would_be_created, state.path().join("emulator.json")).unwrap();

    let emu = Emulator::start_with(EmulatorConfig::default().with_state_dir(state.path()))
        .await
        .unwrap();

    assert_eq!(std::fs::read(&victim).unwrap(), b"the victim's data");
    assert!(!would_be_created.exists());
    for name in ["ca.pem", "emulator.json"] {
        let meta = std::fs::symlink_metadata(state.path().join(name)).unwrap();
        assert!(meta.file_type().is_file(), "{name} is a regular file now");
    }
    assert_eq!(
        std::fs::read_to_string(state.path().join("ca.pem")).unwrap(),
        emu.ca_pem()
    );
    let names: Vec<_> = std::fs::read_dir(state.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "no temporary file left: {names:?}");
}

#[tokio::test]
async fn the_temporary_state_dir_is_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let emu = Emulator::start().await.unwrap();
    let mode = std::fs::metadata(emu.state_dir())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
}

#[tokio::test]
async fn without_state_files_nothing_is_written() {
    let state = tempfile::tempdir().unwrap();
    let emu = Emulator::start_with(
        EmulatorConfig::default()
            .with_state_dir(state.path())
            .with_state_files(false),
    )
    .await
    .unwrap();
    assert_eq!(emu.ca_path(), std::path::Path::new(""));
    assert_eq!(emu.state_dir(), std::path::Path::new(""));
    assert_eq!(std::fs::read_dir(state.path()).unwrap().count(), 0);
    // Still serving, trusted through the PEM in memory.
    let http = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(emu.ca_pem().as_bytes()).unwrap()])
        .no_proxy()
        .build()
        .unwrap();
    let url = format!("{}/v2.0/.well-known/openid-configuration", emu.authority());
    assert_eq!(http.get(&url).send().await.unwrap().status(), 200);
}
