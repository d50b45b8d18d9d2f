//! The command line (spec §1). Every subcommand reads the same configuration; only
//! `serve` logs. Errors are one line on stderr; exit 0 ok, 1 runtime error, 2 usage.

use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal, Read};
use std::path::PathBuf;

use anyhow::{bail, Context};
use chrono::{DateTime, SecondsFormat, Utc};
use clap::{Args, Parser, Subcommand};

use crate::audit::{AuditEvent, AuditQuery, EventKind};
use crate::auth::hash_password;
use crate::clients::Client;
use crate::config::{parse_duration, Settings};
use crate::domain::{
    Audience, ClientId, ClientSecret, GrantType, Password, Role, Scopes, Username,
};
use crate::keys::{create_key, remove_key_file, Algorithm, Kid};
use crate::startup::{key_policy, open_store, Application};
use crate::store::{KeyState, NewUser, RevokeReason, Revoking, Store, StoreError};
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
    let dir = &settings.keys.dir;
    match command {
        KeysCommand::List => {
            let policy = key_policy(settings)?;
            let time = |t: Option<DateTime<Utc>>| {
                t.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
                    .unwrap_or_else(|| "-".to_owned())
            };
            for key in store.signing_keys().await? {
                let due = match key.state {
                    KeyState::Next => format!(
                        "\tsigns_from={}",
                        time(Some(key.created_at + policy.prepublish))
                    ),
                    KeyState::Retired => format!(
                        "\tremoved_after={}",
                        time(key.retired_at.map(|t| t + policy.retired_grace))
                    ),
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
            let alg = alg.unwrap_or(settings.keys.algorithm);
            prepare_key_dir(dir)?;
            let Some(record) = create_key(store.as_ref(), dir, alg, KeyState::Next, now).await?
            else {
                bail!("a next key is already waiting (see authd keys list); remove it with authd keys remove KID to replace it");
            };
            record_key(store.as_ref(), EventKind::KeyCreated, &record.kid, now).await;
            if at_once {
                if !store.promote_key(&record.kid, now).await? {
                    bail!(
                        "key {} could not be activated; see authd keys list",
                        record.kid
                    );
                }
                record_key(store.as_ref(), EventKind::KeyRotated, &record.kid, now).await;
                println!("created key {} ({alg}); it signs now", record.kid);
            } else {
                let from = now + key_policy(settings)?.prepublish;
                println!(
                    "created key {} ({alg}); published now, it signs from {}",
                    record.kid,
                    from.to_rfc3339_opts(SecondsFormat::Secs, true)
                );
            }
        }
        KeysCommand::Remove { kid } => {
            let kid = Kid::parse(&kid).map_err(anyhow::Error::msg)?;
            if !store.remove_key(&kid, None).await? {
                bail!("no next or retired key {kid} (the active key cannot be removed: rotate --now first)");
            }
            remove_key_file(dir, &kid);
            record_key(store.as_ref(), EventKind::KeyRemoved, &kid, now).await;
            println!("removed key {kid}; tokens it signed no longer verify");
        }
    }
    Ok(())
}

async fn record_key(store: &dyn Store, kind: EventKind, kid: &Kid, now: DateTime<Utc>) {
    record(store, AuditEvent::new(kind, now).detail(kid.as_str())).await;
}

/// The key directory must exist and be private before a key is written to it.
fn prepare_key_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    crate::keys::prepare_dir(dir).context("cannot use keys.dir")
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
                Ok(user) => {
                    record(
                        store.as_ref(),
                        AuditEvent::new(EventKind::UserAdded, now).user(user.id),
                    )
                    .await;
                    println!("created user {} ({})", user.username, user.id);
                }
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
            record_user(
                store.as_ref(),
                EventKind::PasswordChanged,
                &username,
                revoked.len(),
                now,
            )
            .await;
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

async fn client(command: ClientCommand, settings: &Settings) -> anyhow::Result<()> {
    let now = Utc::now();
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
            if id == *default_id {
                bail!(
                    "{id} is the configured default client (default_client.id): choose another id"
                );
            }
            let mut client = new_client(id, &audiences, &grants, &scopes, &default_scopes)?;
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
            client.secret = secret.as_ref().map(ClientSecret::digest);
            if client.grants.is_empty() {
                client.grants = if client.is_confidential() {
                    BTreeSet::from([GrantType::ClientCredentials])
                } else {
                    BTreeSet::from([GrantType::Password, GrantType::RefreshToken])
                };
            }
            if !client.is_confidential() && client.may_use(GrantType::ClientCredentials) {
                bail!("client_credentials needs a confidential client: add --generate-secret or --secret-stdin");
            }
            let store = open_store(settings).await?;
            match store.create_client(&client, now).await {
                Ok(()) => {}
                Err(StoreError::Conflict) => bail!("client {} already exists", client.id),
                Err(e) => return Err(e).context("cannot create the client"),
            }
            record(
                store.as_ref(),
                AuditEvent::new(EventKind::ClientAdded, now)
                    .client(client.id.as_str())
                    .detail(client.kind()),
            )
            .await;
            println!("created {} client {}", client.kind(), client.id);
            if generate_secret {
                if let Some(secret) = &secret {
                    // Printed once: only its digest is stored.
                    println!("client_secret: {}", secret.expose());
                }
            }
        }
        ClientCommand::List => {
            let store = open_store(settings).await?;
            let default = Client::default_client(&settings.default_client);
            for client in std::iter::once(default).chain(store.list_clients().await?) {
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
            if id == *default_id {
                bail!("{id} is the configured default client (default_client.id): it cannot be removed");
            }
            let store = open_store(settings).await?;
            let revoking = revoking(settings, RevokeReason::ClientRemoved, now)?;
            let Some(revoked) = store.remove_client(id.as_str(), revoking).await? else {
                bail!("no client named {id}");
            };
            record(
                store.as_ref(),
                AuditEvent::new(EventKind::ClientRemoved, now)
                    .client(id.as_str())
                    .detail(format!("sessions_revoked={}", revoked.len())),
            )
            .await;
            println!("removed client {id}; {} session(s) revoked", revoked.len());
        }
    }
    Ok(())
}

/// A client from `client add`'s options; without a secret and with the grants given
/// (possibly none yet).
fn new_client(
    id: ClientId,
    audiences: &[String],
    grants: &[GrantType],
    scopes: &[String],
    default_scopes: &[String],
) -> anyhow::Result<Client> {
    let audience = if audiences.is_empty() {
        vec![id.as_str().to_owned()]
    } else {
        audiences
            .iter()
            .map(|a| Audience::parse(a).map(|a| a.as_str().to_owned()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(anyhow::Error::msg)?
    };
    let grants: BTreeSet<GrantType> = grants.iter().copied().collect();
    let scope_set = |values: &[String]| -> anyhow::Result<Scopes> {
        if let Some(bad) = values.iter().find(|v| v.contains(' ') || v.is_empty()) {
            bail!("{bad:?} is not one scope: repeat --scope for each");
        }
        Scopes::parse(&values.join(" ")).map_err(anyhow::Error::msg)
    };
    let scopes = scope_set(scopes)?;
    let default_scopes = if default_scopes.is_empty() {
        scopes.clone()
    } else {
        scope_set(default_scopes)?
    };
    if !default_scopes.is_subset(&scopes) {
        bail!("every --default-scope must also be given as --scope");
    }
    Ok(Client {
        id,
        secret: None,
        grants,
        audience,
        scopes,
        default_scopes,
        created_at: None,
    })
}

async fn set_disabled(settings: &Settings, name: &str, disabled: bool) -> anyhow::Result<()> {
    let username = Username::parse(name).map_err(anyhow::Error::msg)?;
    let store = open_store(settings).await?;
    let now = Utc::now();
    let revoking = revoking(settings, RevokeReason::UserDisabled, now)?;
    let Some(revoked) = store.set_disabled(&username, disabled, revoking).await? else {
        bail!("no user named {username}");
    };
    let kind = if disabled {
        EventKind::UserDisabled
    } else {
        EventKind::UserEnabled
    };
    record_user(store.as_ref(), kind, &username, revoked.len(), now).await;
    if disabled {
        println!("disabled {username}; {} session(s) revoked", revoked.len());
    } else {
        println!("enabled {username}");
    }
    Ok(())
}

/// Records an event about a user changed by name, with the sessions it revoked.
async fn record_user(
    store: &dyn Store,
    kind: EventKind,
    username: &Username,
    revoked: usize,
    now: DateTime<Utc>,
) {
    let mut event = AuditEvent::new(kind, now).detail(format!("sessions_revoked={revoked}"));
    event.user_id = store
        .user_by_username(username)
        .await
        .ok()
        .flatten()
        .map(|u| u.id);
    record(store, event).await;
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
