//! The command line (spec §1). Every subcommand reads the same configuration; only
//! `serve` logs. Errors are one line on stderr; exit 0 ok, 1 runtime error, 2 usage.

use std::io::{BufRead, IsTerminal, Read};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use clap::{Args, Parser, Subcommand};

use crate::accounts::{
    refuse_default_client, AccountError, Accounts, Actor, AuditSink, ClientDraft, Credential,
    Hashing, NewAccount, MAX_PAGE,
};
use crate::audit::{AuditEvent, AuditQuery, EventKind};
use crate::config::{parse_duration, Settings};
use crate::domain::{
    Audience, ClientId, ClientSecret, Email, GrantType, Password, PersonName, Role, Scopes,
    Username,
};
use crate::keys::operations::{KeyListing, KeyOpError, KeyOperations};
use crate::keys::{Algorithm, Kid};
use crate::startup::{key_policy, open_store, Application};
use crate::store::{KeyState, Profile, Store, UsersQuery};
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
    /// Manage OAuth clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Read the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Security events, newest first, one per line: time, event, user id, username,
    /// client, sid, jti, source address, detail ("-" where empty).
    List {
        /// Only events since this long ago (e.g. 24h, 7d) or this RFC 3339 time.
        #[arg(long, value_name = "DURATION|TIME")]
        since: Option<String>,
        /// Only events of this user.
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
        /// Only events of this kind (e.g. login_failed, refresh_reuse).
        #[arg(long, value_name = "EVENT", value_parser = one_of(EventKind::ALL, EventKind::as_str))]
        event: Option<EventKind>,
        /// At most this many events.
        #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(i64).range(1..=100_000))]
        limit: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List the ring: kid, algorithm, state, then its times.
    List,
    /// Create the next key: published at once, signing after keys.prepublish.
    Rotate {
        /// Algorithm of the new key (default: keys.algorithm).
        #[arg(long = "alg", value_parser = one_of(Algorithm::ALL, Algorithm::as_str))]
        alg: Option<Algorithm>,
        /// Emergency: sign with the new key at once, without pre-publication. Verifiers
        /// holding a cached JWKS refetch it on the unknown kid.
        #[arg(long)]
        now: bool,
    },
    /// Emergency: unpublish a next or retired key at once; every token it signed stops
    /// verifying. The active key cannot be removed: rotate --now first.
    Remove {
        /// A kid may start with `-` (base64url): it is taken as a value, not an option.
        #[arg(allow_hyphen_values = true)]
        kid: String,
    },
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
        profile: ProfileArgs,
        #[command(flatten)]
        stdin: PasswordStdin,
    },
    /// Create users from an NDJSON file of existing password hashes.
    ///
    /// One user object per line: {"username", "password_hash", "roles"?, "disabled"?, "email"?,
    /// "email_verified"?, "name"?, "given_name"?, "family_name"?}. Hashes: argon2 (PHC),
    /// bcrypt ($2a$, $2b$, $2y$), pbkdf2-sha256/-sha512 or scrypt (PHC); each user's
    /// first login rewrites theirs as argon2id. A plaintext "password" and unknown
    /// members are refused. At most 10,000 lines; blank lines are skipped. Each line is
    /// created or refused on its own: prints "created N user(s)" on stdout and one
    /// "line L: reason" on stderr per refused line, and exits 1 when any line was
    /// refused (the others are created).
    Import {
        /// The NDJSON file ("-" is not accepted: the file is read twice, to count it first).
        file: PathBuf,
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
    /// Delete a user, revoking every session and access token of theirs.
    ///
    /// The name can be used again; the audit trail keeps the user's id.
    Delete { name: String },
    /// List users, one per line (never a hash).
    List,
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client: confidential with a secret, public without one.
    Add {
        id: String,
        /// Read the secret (at least 32 characters) from stdin; it is never taken from argv.
        #[arg(long = "secret-stdin", conflicts_with = "generate_secret")]
        secret_stdin: bool,
        /// Generate a secret and print it once.
        #[arg(long = "generate-secret")]
        generate_secret: bool,
        /// An audience of its access tokens (repeatable; default: the client id).
        #[arg(long = "audience", value_name = "A")]
        audiences: Vec<String>,
        /// A grant it may use: password, refresh_token, client_credentials (repeatable;
        /// default: client_credentials when confidential, password and refresh_token when
        /// public).
        #[arg(long = "grant", value_name = "G", value_parser = one_of(GrantType::ALL, GrantType::as_str))]
        grants: Vec<GrantType>,
        /// A scope it may request (repeatable).
        #[arg(long = "scope", value_name = "S")]
        scopes: Vec<String>,
        /// A scope it gets when it requests none (repeatable; default: every --scope).
        #[arg(long = "default-scope", value_name = "S")]
        default_scopes: Vec<String>,
    },
    /// List clients, one per line (never a secret).
    List,
    /// Remove a client and revoke its sessions.
    Remove { id: String },
}

/// The profile members of a new user (admin-api.md §2). A malformed value is a usage
/// error (exit 2, spec §1), found before anything runs.
#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// E-mail address.
    #[arg(long, value_name = "E", value_parser = parse_email)]
    pub email: Option<Email>,
    /// The e-mail address is known to reach the user.
    #[arg(long = "email-verified", requires = "email")]
    pub email_verified: bool,
    /// Full name, for display.
    #[arg(long = "name", value_name = "N", value_parser = parse_name)]
    pub full_name: Option<PersonName>,
    /// Given (first) name.
    #[arg(long = "given-name", value_name = "G", value_parser = parse_given_name)]
    pub given_name: Option<PersonName>,
    /// Family (last) name.
    #[arg(long = "family-name", value_name = "F", value_parser = parse_family_name)]
    pub family_name: Option<PersonName>,
}

impl ProfileArgs {
    fn into_profile(self) -> Profile {
        Profile {
            email: self.email,
            email_verified: self.email_verified,
            name: self.full_name,
            given_name: self.given_name,
            family_name: self.family_name,
        }
    }
}

fn parse_email(raw: &str) -> Result<Email, String> {
    Email::parse(raw)
}

fn parse_name(raw: &str) -> Result<PersonName, String> {
    PersonName::parse(raw, "name")
}

fn parse_given_name(raw: &str) -> Result<PersonName, String> {
    PersonName::parse(raw, "given name")
}

fn parse_family_name(raw: &str) -> Result<PersonName, String> {
    PersonName::parse(raw, "family name")
}

#[derive(Debug, Args)]
pub struct PasswordStdin {
    /// Read the password from stdin (one line); it is never taken from argv.
    #[arg(long = "password-stdin", required = true)]
    pub password_stdin: bool,
}

/// The value parser of an enumerated option: clap lists the choices in `--help`, and any
/// other value is a usage error (exit 2, spec §1), reported before anything runs.
fn one_of<T, const N: usize>(
    all: [T; N],
    name: fn(T) -> &'static str,
) -> impl clap::builder::TypedValueParser<Value = T>
where
    T: Copy + Send + Sync + 'static,
{
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(all.map(name)).try_map(move |raw: String| {
        all.into_iter()
            .find(|value| name(*value) == raw)
            .ok_or_else(|| format!("unknown value {raw:?}"))
    })
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
        Command::Client(command) => client(command, &settings).await,
        Command::Keys(command) => keys(command, &settings).await,
        Command::Audit(command) => audit(command, &settings).await,
    }
}

async fn audit(command: AuditCommand, settings: &Settings) -> anyhow::Result<()> {
    let AuditCommand::List {
        since,
        user,
        event,
        limit,
    } = command;
    let now = Utc::now();
    let since = since.map(|raw| parse_since(&raw, now)).transpose()?;
    let user = user
        .map(|raw| Username::parse(&raw))
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let store = open_store(settings).await?;
    let user_id = match user {
        Some(name) => match store.user_by_username(&name).await? {
            Some(user) => Some(user.id),
            None => bail!("no user named {name}"),
        },
        None => None,
    };
    let query = AuditQuery {
        since,
        user_id,
        event,
        limit,
    };
    let dash = |v: Option<String>| v.unwrap_or_else(|| "-".to_owned());
    for record in store.audit_events(&query).await? {
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            record
                .occurred_at
                .to_rfc3339_opts(SecondsFormat::Millis, true),
            record.event,
            dash(record.user_id),
            dash(record.username),
            dash(record.client_id),
            dash(record.sid),
            dash(record.jti),
            dash(record.source),
            dash(record.detail),
        );
    }
    Ok(())
}

/// `--since`: a duration back from `now` (24h, 7d) or an RFC 3339 time.
fn parse_since(raw: &str, now: DateTime<Utc>) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return Ok(at.with_timezone(&Utc));
    }
    let back = parse_duration(raw)
        .ok()
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .with_context(|| {
            format!("--since {raw:?}: write a duration (e.g. 24h, 7d) or an RFC 3339 time (e.g. 2026-11-24T00:00:00Z)")
        })?;
    Ok(now - back)
}

/// Records an event of a change the CLI has just made. The change stands if this
/// fails; the operator is told.
async fn record(store: &dyn Store, event: AuditEvent) {
    if let Err(e) = store.record_audit(&event).await {
        eprintln!(
            "warning: the change was made but its audit event ({}) was not recorded: {e}",
            event.kind.as_str()
        );
    }
}

async fn keys(command: KeysCommand, settings: &Settings) -> anyhow::Result<()> {
    let now = Utc::now();
    let store = open_store(settings).await?;
    let audit = Arc::new(WarnOnFailure(Arc::clone(&store)));
    let ops = KeyOperations::new(
        store,
        settings.keys.dir.clone(),
        settings.keys.algorithm,
        key_policy(settings)?,
        audit,
    );
    let actor = Actor::Cli;
    match command {
        KeysCommand::List => {
            let time = |t: Option<DateTime<Utc>>| {
                t.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
                    .unwrap_or_else(|| "-".to_owned())
            };
            for KeyListing {
                record: key,
                signs_from,
                removed_after,
            } in ops.list().await?
            {
                let due = match key.state {
                    KeyState::Next => format!("\tsigns_from={}", time(signs_from)),
                    KeyState::Retired => format!("\tremoved_after={}", time(removed_after)),
                    KeyState::Active => String::new(),
                };
                println!(
                    "{}\t{}\t{}\tcreated={}\tactivated={}\tretired={}{due}",
                    key.kid,
                    key.alg,
                    key.state.as_str(),
                    time(Some(key.created_at)),
                    time(key.activated_at),
                    time(key.retired_at),
                );
            }
        }
        KeysCommand::Rotate { alg, now: at_once } => {
            prepare_key_dir(&settings.keys.dir)?;
            let key = match ops.rotate(&actor, alg, at_once, now).await {
                Ok(key) => key,
                Err(KeyOpError::NextWaiting) => bail!("a next key is already waiting (see authd keys list); remove it with authd keys remove KID to replace it"),
                Err(KeyOpError::NotActivated(kid)) => {
                    bail!("key {kid} could not be activated; see authd keys list")
                }
                Err(e) => return Err(e.into()),
            };
            let (kid, alg) = (&key.record.kid, key.record.alg);
            match key.signs_from {
                None => println!("created key {kid} ({alg}); it signs now"),
                Some(from) => println!(
                    "created key {kid} ({alg}); published now, it signs from {}",
                    from.to_rfc3339_opts(SecondsFormat::Secs, true)
                ),
            }
        }
        KeysCommand::Remove { kid } => {
            let kid = Kid::parse(&kid).map_err(anyhow::Error::msg)?;
            match ops.remove(&actor, &kid, now).await {
                Ok(()) => {}
                Err(KeyOpError::NoSuchKey(_) | KeyOpError::Active(_)) => {
                    bail!("no next or retired key {kid} (the active key cannot be removed: rotate --now first)")
                }
                Err(e) => return Err(e.into()),
            }
            println!("removed key {kid}; tokens it signed no longer verify");
        }
    }
    Ok(())
}

/// The key directory must exist and be private before a key is written to it.
fn prepare_key_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    crate::keys::prepare_dir(dir).context("cannot use keys.dir")
}

/// The CLI's audit sink: a change stands if its event cannot be recorded, and the
/// operator is told on stderr (the CLI has no log).
struct WarnOnFailure(Arc<dyn Store>);

#[async_trait]
impl AuditSink for WarnOnFailure {
    async fn record(&self, event: AuditEvent) {
        record(self.0.as_ref(), event).await;
    }

    async fn record_all(&self, events: Vec<AuditEvent>) {
        if let Err(e) = self.0.record_audits(&events).await {
            eprintln!(
                "warning: {} audit event(s) not recorded: {e:#}",
                events.len()
            );
        }
    }
}

/// The service behind the `user` and `client` commands, acting as the CLI.
async fn accounts(settings: &Settings) -> anyhow::Result<Accounts> {
    let store = open_store(settings).await?;
    let audit = Arc::new(WarnOnFailure(Arc::clone(&store)));
    Accounts::new(
        store,
        Hashing::OneShot(settings.password.clone()),
        audit,
        settings,
    )
}

async fn user(command: UserCommand, settings: &Settings) -> anyhow::Result<()> {
    let now = Utc::now();
    let actor = Actor::Cli;
    match command {
        UserCommand::Add {
            name,
            roles,
            profile,
            ..
        } => {
            let username = Username::parse(&name).map_err(anyhow::Error::msg)?;
            let roles = roles
                .iter()
                .map(|r| Role::parse(r))
                .collect::<Result<Vec<_>, _>>()
                .map_err(anyhow::Error::msg)?;
            let password = read_new_password()?;
            let accounts = accounts(settings).await?;
            let new = NewAccount {
                username,
                credential: Credential::Password(password),
                roles,
                disabled: false,
                profile: profile.into_profile(),
            };
            let user = match accounts.create_user(&actor, new, now).await {
                Ok(user) => user,
                Err(e @ (AccountError::UsernameTaken(_) | AccountError::Hash(_))) => {
                    return Err(e.into())
                }
                Err(e) => return Err(e).context("cannot create the user"),
            };
            println!("created user {} ({})", user.username, user.id);
        }
        UserCommand::Import { file } => {
            let input = std::fs::File::open(&file)
                .with_context(|| format!("cannot open {}", file.display()))?;
            let accounts = accounts(settings).await?;
            let report = accounts
                .import_users(&actor, std::io::BufReader::new(input), true, now)
                .await?;
            println!("created {} user(s)", report.created);
            for failure in &report.failed {
                eprintln!("line {}: {}", failure.line, failure.detail);
            }
            if !report.failed.is_empty() {
                bail!(
                    "{} line(s) refused (listed above); {} user(s) created",
                    report.failed.len(),
                    report.created
                );
            }
        }
        UserCommand::Passwd { name, .. } => {
            let username = Username::parse(&name).map_err(anyhow::Error::msg)?;
            let password = read_new_password()?;
            let accounts = accounts(settings).await?;
            let revoked = accounts
                .set_password(&actor, &username, Credential::Password(password), now)
                .await?;
            println!("password changed for {username}; {revoked} session(s) revoked");
        }
        UserCommand::Disable { name } => {
            let username = Username::parse(&name).map_err(anyhow::Error::msg)?;
            let revoked = accounts(settings)
                .await?
                .set_disabled(&actor, &username, true, now)
                .await?;
            println!("disabled {username}; {revoked} session(s) revoked");
        }
        UserCommand::Enable { name } => {
            let username = Username::parse(&name).map_err(anyhow::Error::msg)?;
            accounts(settings)
                .await?
                .set_disabled(&actor, &username, false, now)
                .await?;
            println!("enabled {username}");
        }
        UserCommand::Delete { name } => {
            let username = Username::parse(&name).map_err(anyhow::Error::msg)?;
            let revoked = accounts(settings)
                .await?
                .delete_user(&actor, &username, now)
                .await?;
            println!("deleted {username}; {revoked} session(s) revoked");
        }
        UserCommand::List => {
            let or_empty = |v: &Option<String>| v.clone().unwrap_or_default();
            let accounts = accounts(settings).await?;
            // Page by page, as the admin API lists them: never every user in memory.
            let mut query = UsersQuery {
                limit: MAX_PAGE,
                ..UsersQuery::default()
            };
            loop {
                let page = accounts.users_page(&query).await?;
                for user in &page.items {
                    // The profile columns come last, so the first five stay where scripts
                    // read them.
                    println!(
                    "{}\t{}\t{}\troles={}\tcreated={}\temail={}\temail_verified={}\tname={}\tgiven_name={}\tfamily_name={}",
                    user.id,
                    user.username,
                    if user.disabled { "disabled" } else { "enabled" },
                    user.roles.join(","),
                    user.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                    or_empty(&user.email),
                    user.email_verified,
                    or_empty(&user.name),
                    or_empty(&user.given_name),
                    or_empty(&user.family_name),
                );
                }
                match page.next_after {
                    Some(last) => query.after = Some(last),
                    None => break,
                }
            }
        }
    }
    Ok(())
}

async fn client(command: ClientCommand, settings: &Settings) -> anyhow::Result<()> {
    let now = Utc::now();
    let actor = Actor::Cli;
    let default_id = &settings.default_client.id;
    match command {
        ClientCommand::Add {
            id,
            secret_stdin,
            generate_secret,
            audiences,
            grants,
            scopes,
            default_scopes,
        } => {
            let id = ClientId::parse(&id).map_err(anyhow::Error::msg)?;
            if refuse_default_client(&id, default_id).is_err() {
                bail!(
                    "{id} is the configured default client (default_client.id): choose another id"
                );
            }
            let draft = client_draft(
                id,
                default_id,
                &audiences,
                &grants,
                &scopes,
                &default_scopes,
            )?;
            let secret = if generate_secret {
                Some(ClientSecret::generate())
            } else if secret_stdin {
                let line = read_stdin_line(
                    "Client secret: ",
                    ClientSecret::MAX_BYTES,
                    "the secret",
                    "echo \"$SECRET\" | authd client add ID --secret-stdin",
                )?;
                Some(ClientSecret::parse_new(&line).map_err(anyhow::Error::msg)?)
            } else {
                None
            };
            let accounts = accounts(settings).await?;
            let client = match accounts
                .create_client(&actor, draft, secret.as_ref(), now)
                .await
            {
                Ok(client) => client,
                Err(e @ AccountError::ClientTaken(_)) => return Err(e.into()),
                Err(AccountError::PublicClientCredentials) => {
                    bail!("client_credentials needs a confidential client: add --generate-secret or --secret-stdin")
                }
                Err(e) => return Err(e).context("cannot create the client"),
            };
            println!("created {} client {}", client.kind(), client.id);
            if generate_secret {
                if let Some(secret) = &secret {
                    // Printed once: only its digest is stored.
                    println!("client_secret: {}", secret.expose());
                }
            }
        }
        ClientCommand::List => {
            for client in accounts(settings).await?.list_clients().await? {
                println!(
                    "{}\t{}\tgrants={}\taudience={}\tscopes={}\tdefault_scopes={}\t{}",
                    client.id,
                    client.kind(),
                    client
                        .grants
                        .iter()
                        .map(|g| g.as_str())
                        .collect::<Vec<_>>()
                        .join(","),
                    client.audience.join(","),
                    client.scopes.iter().collect::<Vec<_>>().join(","),
                    client.default_scopes.iter().collect::<Vec<_>>().join(","),
                    match client.created_at {
                        Some(at) =>
                            format!("created={}", at.to_rfc3339_opts(SecondsFormat::Secs, true)),
                        None => "configured".to_owned(),
                    },
                );
            }
        }
        ClientCommand::Remove { id } => {
            let id = ClientId::parse(&id).map_err(anyhow::Error::msg)?;
            if refuse_default_client(&id, default_id).is_err() {
                bail!("{id} is the configured default client (default_client.id): it cannot be removed");
            }
            let revoked = accounts(settings)
                .await?
                .remove_client(&actor, &id, None, now)
                .await?;
            println!("removed client {id}; {revoked} session(s) revoked");
        }
    }
    Ok(())
}

/// A client from `client add`'s options, checked by the service before a secret is
/// read; without a secret and with the grants given (possibly none yet).
fn client_draft(
    id: ClientId,
    default_id: &ClientId,
    audiences: &[String],
    grants: &[GrantType],
    scopes: &[String],
    default_scopes: &[String],
) -> anyhow::Result<ClientDraft> {
    let audiences = audiences
        .iter()
        .map(|a| Audience::parse(a))
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    let scope_set = |values: &[String]| -> anyhow::Result<Scopes> {
        if let Some(bad) = values.iter().find(|v| v.contains(' ') || v.is_empty()) {
            bail!("{bad:?} is not one scope: repeat --scope for each");
        }
        Scopes::parse(&values.join(" ")).map_err(anyhow::Error::msg)
    };
    let scopes = scope_set(scopes)?;
    let default_scopes = if default_scopes.is_empty() {
        None
    } else {
        Some(scope_set(default_scopes)?)
    };
    match ClientDraft::new(
        id,
        default_id,
        audiences,
        grants.iter().copied().collect(),
        scopes,
        default_scopes,
    ) {
        Ok(draft) => Ok(draft),
        Err(AccountError::DefaultScopesNotAllowed) => {
            bail!("every --default-scope must also be given as --scope")
        }
        Err(e) => Err(e.into()),
    }
}

/// Reads one password line from stdin (see `read_stdin_line`).
fn read_new_password() -> anyhow::Result<Password> {
    let line = read_stdin_line(
        "Password: ",
        Password::MAX_BYTES,
        "the password",
        "echo \"$PW\" | authd user add NAME --password-stdin",
    )?;
    Password::parse_new(&line).map_err(anyhow::Error::msg)
}

/// Reads one secret line of at most `max_bytes` from stdin, stripping one trailing `\n`
/// or `\r\n`. On a terminal it prompts and does not echo.
fn read_stdin_line(
    prompt: &str,
    max_bytes: usize,
    what: &str,
    example: &str,
) -> anyhow::Result<String> {
    let line = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt)
            .with_context(|| format!("cannot read {what} from the terminal"))?
    } else {
        let mut line = String::new();
        // Bounded read: at most max_bytes plus the line ending.
        std::io::stdin()
            .lock()
            .take(max_bytes as u64 + 3)
            .read_line(&mut line)
            .with_context(|| format!("cannot read {what} from stdin (is it UTF-8?)"))?;
        let stripped = line
            .strip_suffix('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l));
        stripped.unwrap_or(&line).to_owned()
    };
    if line.is_empty() {
        bail!(
            "no {} on stdin: pipe it in, e.g. {example}",
            what.trim_start_matches("the ")
        );
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// clap checks the command definitions (e.g. unique argument ids) only when a
    /// command line is parsed in a debug build; this makes `cargo test` check them.
    #[test]
    fn the_command_definitions_are_consistent() {
        Cli::command().debug_assert();
    }
}
