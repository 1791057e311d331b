//! The interactive flow once end to end in a real browser: headless Chromium
//! (Debian's package) opens the URL, signs in on the emulator's page, and the
//! loopback listener completes the flow.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oxmsal::authority::InstanceDiscovery;
use oxmsal::{Browser, PublicClientApplication, ResponseMode, TokenSource};
use oxmsal_emulator::{Emulator, EmulatorConfig, DEFAULT_USERNAME, DEFAULT_USER_PASSWORD};

fn script() -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../interop/browser");
    assert!(
        dir.join("node_modules/playwright-core").exists()
            && Path::new("/usr/bin/chromium").exists(),
        "Chromium or playwright-core is missing: run scripts/test (it installs both)"
    );
    dir.join("sign_in.mjs")
}

async fn sign_in_in_chromium(mode: ResponseMode) {
    let script = script();
    // The sign-in page, not the test shortcut: a person's path.
    let emulator = Emulator::start_with(EmulatorConfig::default().with_auto_sign_in(false))
        .await
        .unwrap();
    let client_id = emulator.register_public_demo_app().client_id;
    let app = PublicClientApplication::builder(client_id)
        .authority(emulator.authority())
        .extra_root_certificate_pem(emulator.ca_pem().as_bytes().to_vec())
        .instance_discovery(InstanceDiscovery::Disabled)
        .build()
        .unwrap();
    let browser_output = Arc::new(Mutex::new(None));
    let slot = browser_output.clone();
    let browser = Browser::Callback(Arc::new(move |url: &str| {
        let mut cmd = std::process::Command::new("node");
        cmd.arg(&script)
            .args([url, DEFAULT_USERNAME, DEFAULT_USER_PASSWORD]);
        let slot = slot.clone();
        std::thread::spawn(move || {
            let out = cmd.output().expect("node runs");
            *slot.lock().unwrap() = Some(out);
        });
    }));
    let token = app
        .acquire_token_interactive(["User.Read"])
        .response_mode(mode)
        .browser(browser)
        .timeout(Duration::from_secs(60))
        .await;
    // Let the browser script report what it saw.
    for _ in 0..200 {
        if browser_output.lock().unwrap().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let out = browser_output
        .lock()
        .unwrap()
        .take()
        .expect("the browser finished");
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    let token = token.unwrap_or_else(|e| {
        panic!(
            "{e}; browser said {report} {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(token.token_source, TokenSource::IdentityProvider);
    assert_eq!(token.account.unwrap().username, DEFAULT_USERNAME);
    let report: serde_json::Value = serde_json::from_str(report.trim()).unwrap();
    assert_eq!(report["ok"], true, "{report}");
    assert!(
        report["text"]
            .as_str()
            .unwrap()
            .contains("close this window"),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_signs_in_with_a_query_redirect() {
    sign_in_in_chromium(ResponseMode::Query).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_signs_in_with_form_post() {
    sign_in_in_chromium(ResponseMode::FormPost).await;
}
