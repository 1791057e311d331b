//! The interactive sign-in's loopback listener against the emulator: requests
//! that are not this sign-in's redirect (a favicon, a forged or foreign `state`)
//! are answered and ignored, and the real redirect still completes the sign-in.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use oxmsal::authority::InstanceDiscovery;
use oxmsal::{Browser, PublicClientApplication, TokenSource};
use oxmsal_emulator::{Emulator, DEFAULT_USERNAME};

/// One plain-HTTP GET to the listener; returns the status code and the page.
async fn get(port: u16, path_and_query: &str) -> (u16, String) {
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("http://127.0.0.1:{port}{path_and_query}"))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_that_are_not_the_redirect_do_not_end_the_sign_in() {
    let emulator = Emulator::start().await.unwrap();
    let client_id = emulator.register_public_demo_app().client_id;
    // The real clock: the wait for the browser runs on the app's clock.
    let app = PublicClientApplication::builder(client_id)
        .authority(emulator.authority())
        .extra_root_certificate_pem(emulator.ca_pem().as_bytes().to_vec())
        .instance_discovery(InstanceDiscovery::Disabled)
        .build()
        .unwrap();
    let ca = emulator.ca_pem().to_owned();
    let seen: Arc<Mutex<Vec<(String, u16, String)>>> = Arc::default();
    let record = seen.clone();
    // The "browser" launcher: before the user's browser arrives, a local
    // neighbour probes the listener; then the real authorize round trip.
    let browser = Browser::Callback(Arc::new(move |url: &str| {
        let url = url::Url::parse(url).unwrap();
        let redirect = url
            .query_pairs()
            .find(|(k, _)| k == "redirect_uri")
            .map(|(_, v)| url::Url::parse(&v).unwrap())
            .unwrap();
        let port = redirect.port().unwrap();
        let ca = ca.clone();
        let record = record.clone();
        tokio::spawn(async move {
            for probe in [
                "/favicon.ico",
                "/?code=forged&state=not-this-sign-in",
                "/?code=forged",
                "/?error=access_denied&error_description=forged",
            ] {
                let (status, page) = get(port, probe).await;
                record
                    .lock()
                    .unwrap()
                    .push((probe.to_owned(), status, page));
            }
            let client = reqwest::Client::builder()
                .tls_certs_only([reqwest::Certificate::from_pem(ca.as_bytes()).unwrap()])
                .no_proxy()
                .build()
                .unwrap();
            let response = client.get(url).send().await.unwrap();
            let status = response.status().as_u16();
            let page = response.text().await.unwrap();
            record
                .lock()
                .unwrap()
                .push(("the real redirect".to_owned(), status, page));
        });
    }));
    let token = app
        .acquire_token_interactive(["User.Read"])
        .login_hint(DEFAULT_USERNAME)
        .browser(browser)
        .timeout(Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("{e}; the listener answered {:?}", seen.lock().unwrap()));
    assert_eq!(token.token_source, TokenSource::IdentityProvider);
    assert_eq!(token.account.unwrap().username, DEFAULT_USERNAME);

    // The real redirect's page is written before the sign-in returns; give the
    // browser task a bounded moment to record it.
    for _ in 0..200 {
        if seen.lock().unwrap().len() == 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert_eq!(seen[0].1, 404, "a favicon request is ignored: {seen:?}");
    for (probe, status, page) in &seen[1..4] {
        assert_eq!(*status, 400, "{probe}: {page}");
        assert!(
            page.contains("not the sign-in you started"),
            "{probe}: {page}"
        );
    }
    let (_, status, page) = &seen[4];
    assert_eq!(*status, 200, "{page}");
    assert!(page.contains("Authentication complete"), "{page}");
}
