//! `oxmsal`: tokens from the Microsoft identity platform (or the embedded
//! emulator) as JSON, for scripts.
//!
//! stdout carries exactly one JSON object; the exit code says what happened:
//! 0 token, 1 the identity platform said no, 2 usage or configuration, 3 transport
//! or invalid response, 4 throttled locally, 5 cache, 6 cancelled (also by
//! SIGINT or SIGTERM, in any command).

#![forbid(unsafe_code)]

mod accounts_cmd;
mod args;
mod cache_path;
mod call_cmd;
mod challenge_cmd;
mod decode_cmd;
mod emulator_cmd;
mod exit;
mod inputs;
mod logging;
mod login_cmd;
mod mi_token_cmd;
mod session;
mod signals;
mod token_cmd;

use std::process::ExitCode;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{CommandFactory as _, FromArgMatches as _};
use serde_json::Value;

use crate::args::{Cli, Command};
use crate::exit::Failure;

fn main() -> ExitCode {
    let matches = match Cli::command().try_get_matches() {
        Ok(matches) => matches,
        Err(e) => return exit::usage_error(e),
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => return exit::usage_error(e),
    };
    // `accounts --authority` filters; its default (every command has one) does not.
    let authority_given = matches
        .subcommand_matches("accounts")
        .is_some_and(|m| m.value_source("authority") == Some(ValueSource::CommandLine));
    logging::init();
    // The emulator serves other processes on every core; a client command does
    // one thing at a time, and a cache hit is most of what it does: no worker
    // threads to start (a third of a whole-process hit's time went to
    // starting the process and its threads).
    let mut builder = match cli.command {
        Command::Emulator(_) => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(2);
            builder
        }
        _ => tokio::runtime::Builder::new_current_thread(),
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            return exit::report(Failure::Internal(format!(
                "cannot start the async runtime: {e}"
            )))
        }
    };
    let outcome = runtime.block_on(async {
        // Before the command starts, so no signal finds the default action.
        let interrupted = signals::interrupted();
        tokio::select! {
            outcome = run(cli.command, authority_given) => outcome,
            signal = interrupted => Err(Failure::Library(oxmsal::Error::cancelled(
                format!("interrupted by {signal}"),
            ))),
        }
    });
    // A task still running (the command's future is gone) does not hold the
    // exit up for long.
    runtime.shutdown_timeout(Duration::from_millis(500));
    match outcome {
        Ok(json) => exit::success(&json),
        Err(failure) => exit::report(failure),
    }
}

/// `authority_given`: whether `accounts --authority` came from the command line
/// (it filters then; its default does not).
async fn run(command: Command, authority_given: bool) -> Result<Value, Failure> {
    match command {
        Command::Token(args) => token_cmd::run(*args).await,
        Command::Login(args) => login_cmd::run(*args).await,
        Command::Accounts(args) => accounts_cmd::list(&args, authority_given).await,
        Command::Logout(args) => accounts_cmd::logout(&args).await,
        Command::Decode(args) => decode_cmd::run(&args),
        Command::Emulator(args) => emulator_cmd::run(args).await,
        Command::Challenge(args) => challenge_cmd::run(&args),
        Command::Call(args) => call_cmd::run(*args).await,
    }
}
