//! Shared set-up of the integration tests: a real emulator over HTTPS and apps
//! pointed at it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use oxmsal::authority::InstanceDiscovery;
use oxmsal::credential::ClientCredential;
use oxmsal::http::RetryPolicy;
use oxmsal::{ConfidentialClientApplication, ManualClock};
use oxmsal_emulator::{DemoApp, Emulator};

pub struct Setup {
    pub emulator: Emulator,
    pub demo: DemoApp,
    pub clock: ManualClock,
}

pub async fn setup() -> Setup {
    setup_with(oxmsal_emulator::EmulatorConfig::default()).await
}

pub async fn setup_with(config: oxmsal_emulator::EmulatorConfig) -> Setup {
    let emulator = Emulator::start_with(config).await.expect("emulator starts");
    let demo = emulator.register_demo_app();
    Setup {
        emulator,
        demo,
        clock: ManualClock::at(std::time::SystemTime::now()),
    }
}

impl Setup {
    /// An app builder for the demo app, trusting the emulator, with the manual clock
    /// (so retry delays take no time).
    pub fn builder(
        &self,
        credential: ClientCredential,
    ) -> oxmsal::app::AppBuilder<oxmsal::app::Confidential> {
        ConfidentialClientApplication::builder(self.demo.client_id.clone(), credential)
            .authority(self.emulator.authority())
            .extra_root_certificate_pem(self.emulator.ca_pem().as_bytes().to_vec())
            .instance_discovery(InstanceDiscovery::Endpoint(
                url::Url::parse(&self.emulator.base_url()).unwrap(),
            ))
            .clock(Arc::new(self.clock.clone()))
            .retry_policy(RetryPolicy::new(1, Duration::from_secs(1)))
    }

    pub fn secret_app(&self) -> ConfidentialClientApplication {
        self.builder(ClientCredential::secret(self.demo.secret.clone()))
            .build()
            .unwrap()
    }

    pub fn token_requests(&self) -> u64 {
        self.emulator.counters().token_requests
    }
}

pub const SCOPE: &str = "api://demo/.default";

/// What a test's tracing subscriber wrote, read back as text.
///
/// A test that installs a subscriber with `set_default` runs in a test binary
/// of its own: a callsite another test's thread registers while the
/// subscriber is being added can keep the interest it had without it.
#[derive(Clone, Default)]
pub struct Logs(Arc<std::sync::Mutex<Vec<u8>>>);

impl Logs {
    /// A plain-text subscriber up to `level`, writing here.
    pub fn subscriber(&self, level: tracing::Level) -> impl tracing::Subscriber + Send + Sync {
        let writer = self.clone();
        tracing_subscriber::fmt()
            .with_max_level(level)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish()
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A managed-identity emulator's variables, nothing else (no real
/// environment, no Arc agent).
pub fn managed_identity_env(
    emu: &oxmsal_emulator::managed_identity::ManagedIdentityEmulator,
) -> oxmsal::managed_identity::ManagedIdentityEnvironment {
    emu.env().into_iter().fold(
        oxmsal::managed_identity::ManagedIdentityEnvironment::empty()
            .himds_path("/nonexistent/oxmsal-test/himds")
            .arc_key_directory(emu.key_dir()),
        |env, (name, value)| env.var(name, value),
    )
}
