//! Exit codes and what goes to stdout and stderr.

use std::io::Write as _;
use std::process::ExitCode;

use oxmsal::{Error, ErrorKind};
use serde_json::{json, Value};

/// Why the command did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// A bad argument or configuration, found before any request (exit 2).
    Usage(String),
    /// An oxmsal error value.
    Library(Error),
    /// Something broke in the CLI itself.
    Internal(String),
    /// `oxmsal call`: the resource answered with a status other than 2xx (exit
    /// 1); its body is already on stdout.
    Resource(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Library(e)
    }
}

/// The contract's exit code of an error kind.
pub fn code_of(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Service | ErrorKind::NoCachedToken => 1,
        ErrorKind::Configuration => 2,
        ErrorKind::Transport | ErrorKind::InvalidResponse => 3,
        ErrorKind::Throttled => 4,
        ErrorKind::Cache => 5,
        ErrorKind::Cancelled => 6,
        _ => 1,
    }
}

fn print_json(value: &Value) {
    let mut out = std::io::stdout().lock();
    // A closed pipe is the reader's choice; nothing useful to do about it.
    let _ = writeln!(out, "{value}");
}

fn print_line(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "oxmsal: {line}");
}

/// Prints the result; `Null` (a server that ran until stopped) prints nothing more.
pub fn success(json: &Value) -> ExitCode {
    if !json.is_null() {
        print_json(json);
    }
    ExitCode::SUCCESS
}

pub fn report(failure: Failure) -> ExitCode {
    match failure {
        Failure::Usage(message) => {
            print_json(&json!({"error": "invalid_configuration", "error_description": message}));
            print_line(&message);
            ExitCode::from(2)
        }
        Failure::Library(err) => {
            print_json(&err.to_msal_json());
            print_line(&err.to_string());
            ExitCode::from(code_of(err.kind()))
        }
        Failure::Resource(line) => {
            print_line(&line);
            ExitCode::from(1)
        }
        Failure::Internal(message) => {
            print_json(&json!({"error": "internal_error", "error_description": message}));
            print_line(&message);
            ExitCode::from(70)
        }
    }
}

/// clap's own errors: help and version print normally; a usage error becomes one
/// line naming the problem, exit 2.
pub fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind as K;
    if matches!(
        e.kind(),
        K::DisplayHelp | K::DisplayVersion | K::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return if e.kind() == K::DisplayHelpOnMissingArgumentOrSubcommand {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        };
    }
    let rendered = e.render().to_string();
    let first = rendered
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ")
        .to_owned();
    report(Failure::Usage(first))
}
