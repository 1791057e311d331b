//! `oxmsal emulator`: run the local identity platform until interrupted.

use oxmsal_emulator::{Emulator, EmulatorConfig};
use serde_json::{json, Value};

use crate::args::EmulatorArgs;
use crate::exit::Failure;

pub async fn run(args: EmulatorArgs) -> Result<Value, Failure> {
    if let Some(source) = &args.managed_identity {
        return crate::mi_token_cmd::run_emulator(source, &args).await;
    }
    let mut config = EmulatorConfig::default();
    if let Some(port) = args.port {
        config = config.with_port(port);
    }
    if let Some(dir) = args.state_dir {
        config = config.with_state_dir(dir);
    }
    let emulator = Emulator::start_with(config)
        .await
        .map_err(|e| Failure::Internal(format!("cannot start the emulator: {e}")))?;
    let demo = emulator.register_demo_app();
    let public = emulator.register_public_demo_app();
    let ready = json!({
        "base_url": emulator.base_url(),
        "ca_path": emulator.ca_path().display().to_string(),
        "authority": emulator.authority(),
        "tenant_id": emulator.tenant_id(),
        "demo_app": {"client_id": demo.client_id, "secret": demo.secret},
        "public_demo_app": {"client_id": public.client_id, "redirect_uri": public.redirect_uri},
        "default_user": oxmsal_emulator::DEFAULT_USERNAME,
    });
    // The ready line goes out now; the process then runs until a signal.
    println!("{ready}");
    wait_for_shutdown().await;
    drop(emulator);
    Ok(Value::Null)
}

pub(crate) async fn wait_for_shutdown() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
