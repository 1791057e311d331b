//! `oxmsal`: tokens from the Microsoft identity platform (or the embedded
//! emulator) as JSON, for scripts.
//!
//! stdout carries exactly one JSON object; the exit code says what happened:
//! 0 token, 1 the identity platform said no, 2 usage or configuration, 3 transport
//! or invalid response, 4 throttled locally, 5 cache, 6 cancelled.

#![forbid(unsafe_code)]

mod accounts_cmd;
mod args;
mod cache_path;
mod challenge_cmd;
mod decode_cmd;
mod emulator_cmd;
mod exit;
mod inputs;
mod logging;
mod login_cmd;
mod mi_token_cmd;
mod session;
mod token_cmd;

use std::process::ExitCode;

use clap::Parser as _;

use crate::args::{Cli, Command};
use crate::exit::Failure;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return exit::usage_error(e),
    };
    logging::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return exit::report(Failure::Internal(format!(
                "cannot start the async runtime: {e}"
            )))
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Token(args) => token_cmd::run(*args).await,
            Command::Login(args) => login_cmd::run(*args).await,
            Command::Accounts(args) => accounts_cmd::list(&args).await,
            Command::Logout(args) => accounts_cmd::logout(&args).await,
            Command::Decode(args) => decode_cmd::run(&args),
            Command::Emulator(args) => emulator_cmd::run(args).await,
            Command::Challenge(args) => challenge_cmd::run(&args),
        }
    });
    match outcome {
        Ok(json) => exit::success(&json),
        Err(failure) => exit::report(failure),
    }
}
