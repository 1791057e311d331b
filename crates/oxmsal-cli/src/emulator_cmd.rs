//! `oxmsal emulator`: run the local identity platform until interrupted (then
//! exit 6 with a Cancelled error object after the ready line, as every command
//! ends on SIGINT or SIGTERM).

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
    // The ready line goes out now; the process then serves until a signal
    // (SIGINT or SIGTERM: `main` drops this future, which stops the emulator,
    // and reports the interruption).
    println!("{ready}");
    let _serving = emulator;
    std::future::pending::<()>().await;
    Ok(Value::Null)
}
