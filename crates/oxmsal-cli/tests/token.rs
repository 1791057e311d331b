//! `oxmsal token` against a real emulator: the CLI contract (JSON, exit codes).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{run_oxmsal, start, with};
use oxmsal_emulator::testing::client_certificate;
use oxmsal_emulator::{AppRegistration, Fault};
use serde_json::json;

#[test]
fn main_job_prints_a_token_from_the_embedded_emulator() {
    let run = run_oxmsal(
        &["token", "--emulator", "--scope", "api://demo/.default"],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.json["access_token"]
        .as_str()
        .unwrap()
        .starts_with("eyJ"));
    assert_eq!(run.json["token_source"], "identity_provider");
    assert_eq!(run.json["token_type"], "Bearer");
    assert_eq!(
        run.stdout.trim().lines().count(),
        1,
        "exactly one JSON object"
    );
}

#[tokio::test]
async fn second_run_with_a_cache_file_is_a_cache_hit() {
    let env = start().await;
    let cache = env.path("cache.json");
    let args = with(env.token_args(), &["--cache", cache.to_str().unwrap()]);
    let first = env.run(args.clone()).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(first.json["token_source"], "identity_provider");
    let second = env.run(args).await;
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(second.json["token_source"], "cache");
    assert_eq!(second.json["access_token"], first.json["access_token"]);
    assert_eq!(env.emulator.counters().token_requests, 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

#[tokio::test]
async fn certificate_pem_and_pfx() {
    let env = start().await;
    let cert = client_certificate("cli-cert");
    env.emulator
        .register_app(
            AppRegistration::new("cli-cert-app").with_certificate_der(cert.cert_der.clone()),
        )
        .unwrap();
    let pem = env.path("app.pem");
    std::fs::write(&pem, cert.combined_pem()).unwrap();
    let pfx = env.path("app.pfx");
    std::fs::write(&pfx, cert.pfx("pw-123")).unwrap();
    let base = |cred: &[&str]| {
        let mut a: Vec<String> = [
            "token",
            "--authority",
            &env.emulator.authority(),
            "--client-id",
            "cli-cert-app",
            "--ca-cert",
            &env.ca(),
            "--no-instance-discovery",
            "--no-cache",
            "--scope",
            "api://demo/.default",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.extend(cred.iter().map(|s| s.to_string()));
        a
    };
    let run = env
        .run(base(&["--certificate", pem.to_str().unwrap()]))
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let secret_env = [("PFX_PW", "pw-123")];
    let args = base(&[
        "--certificate",
        pfx.to_str().unwrap(),
        "--certificate-password-env",
        "PFX_PW",
    ]);
    let run = tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        run_oxmsal(&refs, &secret_env)
    })
    .await
    .unwrap();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(env.emulator.counters().token_requests, 2);
}

#[tokio::test]
async fn aadsts_error_prints_the_server_body_and_exits_1() {
    let env = start().await;
    let body = json!({
        "error": "unauthorized_client",
        "error_description": "AADSTS700016: Application with identifier 'x' was not found in the directory 'y'. Trace ID: t-1 Correlation ID: c-1 Timestamp: 2026-11-25 12:00:00Z",
        "error_codes": [700016],
        "timestamp": "2026-11-25 12:00:00Z",
        "trace_id": "t-1",
        "correlation_id": "c-1",
        "error_uri": "https://login.microsoftonline.com/error?code=700016",
        "suberror": "x_sub",
        "claims": "{\"access_token\":{}}",
        "extra_field": [1, 2]
    });
    env.emulator.inject(Fault::Oauth {
        status: 400,
        error: "unauthorized_client".into(),
        error_description: body["error_description"].as_str().unwrap().into(),
        error_codes: vec![700016],
        suberror: None,
        claims: None,
        retry_after: None,
        extra: body.as_object().unwrap().clone(),
    });
    let run = env.run(with(env.token_args(), &["--no-cache"])).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    let printed = run.json.as_object().unwrap();
    let sent = body.as_object().unwrap();
    assert_eq!(
        printed.len(),
        sent.len(),
        "no key added or dropped: {printed:?}"
    );
    for (k, v) in sent {
        assert_eq!(printed.get(k), Some(v), "key {k}");
    }
    assert!(run.stderr.contains("AADSTS700016"), "{}", run.stderr);
}

#[tokio::test]
async fn fault_kinds_map_to_exit_codes() {
    let env = start().await;
    let cases: Vec<(Vec<Fault>, i32, &str)> = vec![
        (
            vec![Fault::server_error(500), Fault::server_error(500)],
            3,
            "invalid_response",
        ),
        (
            vec![Fault::DropConnection, Fault::DropConnection],
            3,
            "transport_error",
        ),
        (vec![Fault::TruncatedJson], 3, "invalid_response"),
        (
            vec![Fault::Throttle {
                retry_after: Some("30".into()),
            }],
            1,
            "temporarily_unavailable",
        ),
        (vec![Fault::server_error(503)], 0, ""),
        (vec![Fault::DropConnection], 0, ""),
    ];
    for (faults, code, error) in cases {
        env.emulator.clear_faults();
        for f in faults.clone() {
            env.emulator.inject(f);
        }
        let run = env.run(with(env.token_args(), &["--no-cache"])).await;
        assert_eq!(run.code, code, "{faults:?}: {}", run.stderr);
        if code != 0 {
            assert_eq!(run.json["error"], error, "{faults:?}");
            assert_eq!(
                run.stderr.lines().count(),
                1,
                "one line on stderr: {}",
                run.stderr
            );
        } else {
            assert!(run.json["access_token"].is_string());
        }
    }
}

#[tokio::test]
async fn misuse_exits_2_before_any_request() {
    let env = start().await;
    let pem = env.path("missing.pem");
    let auth = env.emulator.authority();
    let ca = env.ca();
    let cases: Vec<Vec<String>> = vec![
        // http:// to a non-loopback host
        vec![
            "token",
            "--authority",
            "http://login.example.com/t",
            "--client-id",
            "c",
            "--secret-env",
            "APP_SECRET",
            "--scope",
            "api://x/.default",
        ],
        // no scope
        vec![
            "token",
            "--authority",
            &auth,
            "--client-id",
            "c",
            "--secret-env",
            "APP_SECRET",
        ],
        // reserved scopes
        vec![
            "token",
            "--authority",
            &auth,
            "--client-id",
            "c",
            "--secret-env",
            "APP_SECRET",
            "--ca-cert",
            &ca,
            "--no-cache",
            "--scope",
            "openid",
        ],
        vec![
            "token",
            "--authority",
            &auth,
            "--client-id",
            "c",
            "--secret-env",
            "APP_SECRET",
            "--ca-cert",
            &ca,
            "--no-cache",
            "--scope",
            "api://x/.default",
            "--scope",
            "offline_access",
        ],
        vec![
            "token",
            "--authority",
            &auth,
            "--client-id",
            "c",
            "--secret-env",
            "APP_SECRET",
            "--ca-cert",
            &ca,
            "--no-cache",
            "--scope",
            "profile",
        ],
        // both credentials
        vec![
            "token",
            "--authority",
            &auth,
            "--client-id",
            "c",
            "--secret-env",
            "APP_SECRET",
            "--certificate",
            pem.to_str().unwrap(),
            "--scope",
            "api://x/.default",
        ],
        // unreadable certificate
        vec![
            "token",
            "--authority",
            &auth,
            "--client-id",
            "c",
            "--certificate",
            pem.to_str().unwrap(),
            "--scope",
            "api://x/.default",
        ],
        // secret variable not set
        vec![
            "token",
            "--authority",
            &auth,
            "--client-id",
            "c",
            "--secret-env",
            "OXMSAL_TEST_UNSET_VAR",
            "--scope",
            "api://x/.default",
        ],
    ]
    .into_iter()
    .map(|v| v.into_iter().map(str::to_owned).collect())
    .collect();
    for args in cases {
        let run = env.run(args.clone()).await;
        assert_eq!(run.code, 2, "{args:?}: {} {}", run.stdout, run.stderr);
        assert_eq!(
            run.stderr.trim().lines().count(),
            1,
            "one line on stderr: {}",
            run.stderr
        );
    }
    assert_eq!(
        env.emulator.counters().total_requests,
        0,
        "no request was sent"
    );
}

#[tokio::test]
async fn certificate_file_that_is_not_a_certificate_exits_2() {
    let env = start().await;
    let bad = env.path("bad.pem");
    std::fs::write(
        &bad,
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let run = env
        .run(vec![
            "token".into(),
            "--authority".into(),
            env.emulator.authority(),
            "--client-id".into(),
            "c".into(),
            "--certificate".into(),
            bad.display().to_string(),
            "--scope".into(),
            "api://x/.default".into(),
        ])
        .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--certificate"), "{}", run.stderr);
}

#[tokio::test]
async fn throttle_state_beside_the_cache_refuses_a_second_run_with_exit_4() {
    let env = start().await;
    let cache = env.path("throttled.json");
    let args = with(env.token_args(), &["--cache", cache.to_str().unwrap()]);
    env.emulator.inject(Fault::Throttle {
        retry_after: Some("30".into()),
    });
    let first = env.run(args.clone()).await;
    assert_eq!(first.code, 1, "{}", first.stderr);
    assert_eq!(env.emulator.counters().token_requests, 1);

    let second = env.run(args.clone()).await;
    assert_eq!(second.code, 4, "{}", second.stderr);
    assert_eq!(second.json, first.json, "the remembered answer");
    assert!(second.stderr.contains("try again in"), "{}", second.stderr);
    assert_eq!(
        env.emulator.counters().token_requests,
        1,
        "nothing was sent"
    );

    // Another scope is not blocked.
    let other = env
        .run(
            env.token_args()
                .into_iter()
                .map(|a| {
                    if a == "api://demo/.default" {
                        "api://other/.default".into()
                    } else {
                        a
                    }
                })
                .chain(["--cache".to_string(), cache.display().to_string()])
                .collect(),
        )
        .await;
    assert_eq!(other.code, 0, "{}", other.stderr);

    // A corrupt state file is a cache error (exit 5) naming it, left untouched.
    let state = env.path("throttled.json.throttle.json");
    std::fs::write(&state, "{not json").unwrap();
    let broken = env.run(args).await;
    assert_eq!(broken.code, 5, "{}", broken.stderr);
    assert!(
        broken.stderr.contains("throttled.json.throttle.json"),
        "{}",
        broken.stderr
    );
    assert_eq!(std::fs::read_to_string(&state).unwrap(), "{not json");
}

#[test]
fn emulator_command_prints_one_ready_line_and_serves() {
    use std::io::BufRead as _;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_oxmsal"))
        .arg("emulator")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = std::io::BufReader::new(stdout)
        .lines()
        .next()
        .unwrap()
        .unwrap();
    let ready: serde_json::Value = serde_json::from_str(&line).unwrap();
    let base = ready["base_url"].as_str().unwrap().to_owned();
    let ca = ready["ca_path"].as_str().unwrap().to_owned();
    let secret = ready["demo_app"]["secret"].as_str().unwrap().to_owned();
    let client = ready["demo_app"]["client_id"].as_str().unwrap().to_owned();
    assert!(ready["public_demo_app"]["client_id"].is_string());
    let authority = ready["authority"].as_str().unwrap().to_owned();
    assert!(authority.starts_with(&base));
    let run = run_oxmsal(
        &[
            "token",
            "--authority",
            &authority,
            "--client-id",
            &client,
            "--secret-env",
            "S",
            "--ca-cert",
            &ca,
            "--no-instance-discovery",
            "--no-cache",
            "--scope",
            "api://demo/.default",
        ],
        &[("S", &secret)],
    );
    child.kill().unwrap();
    let _ = child.wait();
    assert_eq!(run.code, 0, "{}", run.stderr);
}
