//! Checks one access token from a shell:
//!
//! ```sh
//! echo "$TOKEN" | cargo run -p authd-verify --example verify -- --issuer http://127.0.0.1:8080 --audience api
//! ```
//!
//! Prints the claims as JSON and exits 0, or prints one line `error: KIND: description`
//! and exits 1 (KIND is `VerifyError::kind`, or `setup` when the issuer's metadata or
//! keys cannot be used).

use std::io::Read;
use std::process::ExitCode;

use clap::Parser;

/// Verify one authd access token read from stdin.
#[derive(Parser)]
struct Args {
    /// The issuer, exactly as in the tokens' `iss` (its discovery metadata is read).
    #[arg(long)]
    issuer: String,
    /// An audience this service accepts (repeatable).
    #[arg(long, required = true)]
    audience: Vec<String>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let mut token = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut token) {
        println!("error: setup: cannot read stdin: {e}");
        return ExitCode::FAILURE;
    }
    let mut builder = authd_verify::Verifier::builder(args.issuer);
    for audience in args.audience {
        builder = builder.audience(audience);
    }
    let verifier = match builder.discover().await {
        Ok(verifier) => verifier,
        Err(e) => {
            println!("error: setup: {e}");
            return ExitCode::FAILURE;
        }
    };
    match verifier.verify(token.trim()).await {
        Ok(claims) => {
            println!("{}", serde_json::Value::Object(claims.raw));
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("error: {}: {e}", e.kind());
            ExitCode::FAILURE
        }
    }
}
