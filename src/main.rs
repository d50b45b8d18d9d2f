//! `authd`: parse the command line, run it, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

use authd::cli::{self, Cli};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return ExitCode::from(cli::usage_error(&err) as u8),
    };
    match cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line: the context chain joined by ": ".
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
