//! Misuse is refused before any request: a bad tenant, a client id or a
//! capability holding CR/LF end the CLI with exit 2 and the emulator sees nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{start, with};

#[tokio::test]
async fn bad_tenant_client_id_or_capability_is_exit_2_without_a_request() {
    let env = start().await;
    let cache = env.path("cache.json").display().to_string();
    let base = with(env.token_args(), &["--cache", &cache]);
    let replace = |flag: &str, value: &str| {
        let mut args = base.clone();
        let at = args.iter().position(|a| a == flag).unwrap();
        args[at + 1] = value.to_owned();
        args
    };
    let authority_with = |tenant: &str| format!("{}/{tenant}", env.emulator.base_url());
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("--tenant ..", with(base.clone(), &["--tenant", ".."])),
        ("--tenant .", with(base.clone(), &["--tenant", "."])),
        ("--tenant a/b", with(base.clone(), &["--tenant", "a/b"])),
        ("--tenant 'a b'", with(base.clone(), &["--tenant", "a b"])),
        ("--tenant ''", with(base.clone(), &["--tenant", ""])),
        (
            "authority tenant a%3Fb",
            replace("--authority", &authority_with("a%3Fb")),
        ),
        (
            "authority tenant a%20b",
            replace("--authority", &authority_with("a%20b")),
        ),
        (
            "client id with CR/LF",
            replace(
                "--client-id",
                &format!("{}\r\nx-injected: 1", env.demo.client_id),
            ),
        ),
        (
            "capability with CR/LF",
            with(base.clone(), &["--capability", "CP1\r\nx-injected: 1"]),
        ),
    ];
    for (what, args) in cases {
        let run = env.run(args).await;
        assert_eq!(run.code, 2, "{what}: {}\n{}", run.stdout, run.stderr);
        assert_eq!(
            run.json["error"], "invalid_configuration",
            "{what}: {}",
            run.stdout
        );
        assert_eq!(
            env.emulator.counters().total_requests,
            0,
            "{what}: the emulator saw a request"
        );
    }
    // The same arguments without the misuse do reach it.
    assert_eq!(env.run(base).await.code, 0);
    assert!(env.emulator.counters().total_requests > 0);
}
