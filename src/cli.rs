//! The command line (spec §1). Every subcommand reads the same configuration; only
//! `serve` logs. Errors are one line on stderr; exit 0 ok, 1 runtime error, 2 usage.

use std::io::{BufRead, IsTerminal, Read};
use std::path::PathBuf;

use anyhow::{bail, Context};
use chrono::{DateTime, SecondsFormat, Utc};
use clap::{Args, Parser, Subcommand};

use crate::auth::hash_password;
use crate::config::Settings;
use crate::domain::{Password, Role, Username};
use crate::startup::{open_store, Application};
use crate::store::{NewUser, RevokeReason, Revoking, StoreError};
use crate::telemetry;

#[derive(Debug, Parser)]
#[command(name = "authd", version, about = "A standalone authentication server")]
pub struct Cli {
    /// A TOML file overriding the compiled-in defaults (environment variables override both).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run migrations if needed, load or create signing keys, serve HTTP.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from stdin.
    Add {
        name: String,
        /// A role for the user (repeatable).
        #[arg(long = "role", value_name = "R")]
        roles: Vec<String>,
        #[command(flatten)]
        stdin: PasswordStdin,
    },
    /// Set a new password; it is read from stdin.
    Passwd {
        name: String,
        #[command(flatten)]
        stdin: PasswordStdin,
    },
    /// Disable a user: they can no longer log in.
    Disable { name: String },
    /// Enable a disabled user.
    Enable { name: String },
    /// List users, one per line (never a hash).
    List,
}

#[derive(Debug, Args)]
pub struct PasswordStdin {
    /// Read the password from stdin (one line); it is never taken from argv.
    #[arg(long = "password-stdin", required = true)]
    pub password_stdin: bool,
}

/// Reports a clap error as one line and returns its exit code (0 for --help/--version).
pub fn usage_error(err: &clap::Error) -> i32 {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        let _ = err.print();
        return 0;
    }
    if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        eprintln!("error: a subcommand is missing (see authd --help)");
        return 2;
    }
    let rendered = err.render().to_string();
    let line = rendered
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:"))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    eprintln!("{line} (see authd --help)");
    2
}

/// Runs a parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve => {
            telemetry::init(&settings.log).map_err(anyhow::Error::msg)?;
            let app = Application::build(settings).await?;
            tracing::info!(
                port = app.port(),
                version = env!("CARGO_PKG_VERSION"),
                "authd listening"
            );
            app.run_until_stopped()
                .await
                .context("HTTP server failed")?;
            tracing::info!("authd stopped");
            Ok(())
        }
        Command::Migrate => {
            open_store(&settings).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::User(command) => user(command, &settings).await,
    }
}

async fn user(command: UserCommand, settings: &Settings) -> anyhow::Result<()> {
    let now = Utc::now();
    match command {
        UserCommand::Add { name, roles, .. } => {
            let username = Username::parse(&name).map_err(anyhow::Error::msg)?;
            let roles = roles
                .iter()
                .map(|r| Role::parse(r))
                .collect::<Result<Vec<_>, _>>()
                .map_err(anyhow::Error::msg)?;
            let password = read_new_password()?;
            let store = open_store(settings).await?;
            let hash = hash_password(&settings.password, password).await?;
            match store
                .create_user(
                    NewUser {
                        username: username.clone(),
                        password_hash: hash,
                        roles,
                    },
                    now,
                )
                .await
            {
                Ok(user) => println!("created user {} ({})", user.username, user.id),
                Err(StoreError::Conflict) => bail!("user {username} already exists"),
                Err(e) => return Err(e).context("cannot create the user"),
            }
        }
        UserCommand::Passwd { name, .. } => {
            let username = Username::parse(&name).map_err(anyhow::Error::msg)?;
            let password = read_new_password()?;
            let store = open_store(settings).await?;
            let hash = hash_password(&settings.password, password).await?;
            let revoking = revoking(settings, RevokeReason::PasswordChanged, now)?;
            let Some(revoked) = store.set_password(&username, &hash, revoking).await? else {
                bail!("no user named {username}");
            };
            println!(
                "password changed for {username}; {} session(s) revoked",
                revoked.len()
            );
        }
        UserCommand::Disable { name } => set_disabled(settings, &name, true).await?,
        UserCommand::Enable { name } => set_disabled(settings, &name, false).await?,
        UserCommand::List => {
            let store = open_store(settings).await?;
            for user in store.list_users().await? {
                println!(
                    "{}\t{}\t{}\troles={}\tcreated={}",
                    user.id,
                    user.username,
                    if user.disabled { "disabled" } else { "enabled" },
                    user.roles.join(","),
                    user.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                );
            }
        }
    }
    Ok(())
}

async fn set_disabled(settings: &Settings, name: &str, disabled: bool) -> anyhow::Result<()> {
    let username = Username::parse(name).map_err(anyhow::Error::msg)?;
    let store = open_store(settings).await?;
    let revoking = revoking(settings, RevokeReason::UserDisabled, Utc::now())?;
    let Some(revoked) = store.set_disabled(&username, disabled, revoking).await? else {
        bail!("no user named {username}");
    };
    if disabled {
        println!("disabled {username}; {} session(s) revoked", revoked.len());
    } else {
        println!("enabled {username}");
    }
    Ok(())
}

/// A revocation made from the CLI: recorded in the database, which every running
/// server polls every second (spec §4: honoured within 5 s).
fn revoking(
    settings: &Settings,
    reason: RevokeReason,
    now: DateTime<Utc>,
) -> anyhow::Result<Revoking> {
    let window = chrono::Duration::from_std(settings.tokens.access_window())?;
    Ok(Revoking {
        at: now,
        sid_expires_at: now + window,
        reason,
    })
}

/// Reads one password line from stdin, stripping one trailing `\n` or `\r\n`. On a
/// terminal it prompts and does not echo.
fn read_new_password() -> anyhow::Result<Password> {
    let line = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Password: ")
            .context("cannot read the password from the terminal")?
    } else {
        let mut line = String::new();
        // Bounded read: a password is at most Password::MAX_BYTES plus the line ending.
        std::io::stdin()
            .lock()
            .take(Password::MAX_BYTES as u64 + 3)
            .read_line(&mut line)
            .context("cannot read the password from stdin (is it UTF-8?)")?;
        let stripped = line
            .strip_suffix('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l));
        stripped.unwrap_or(&line).to_owned()
    };
    if line.is_empty() {
        bail!("no password on stdin: pipe it in, e.g. echo \"$PW\" | authd user add NAME --password-stdin");
    }
    Password::parse_new(&line).map_err(anyhow::Error::msg)
}
