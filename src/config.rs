//! Typed settings (spec §6): compiled-in defaults from `config/default.toml`, then the
//! file named by `--config`, then `AUTHD__SECTION__KEY` environment variables.
//! Every value is checked here, so an invalid one stops startup with one line naming it.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use config::{Config, Environment, File, FileFormat};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::domain::{ClientId, Role, Scopes};
use crate::keys::Algorithm;

/// The defaults, compiled in so the binary runs from any directory with no config file.
const DEFAULTS: &str = include_str!("../config/default.toml");

/// A configuration problem, phrased as one line that names the setting.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(String);

impl ConfigError {
    fn key(key: &str, problem: impl fmt::Display) -> Self {
        Self(format!("{key}: {problem}"))
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub keys: KeySettings,
    pub tokens: TokenSettings,
    pub default_client: DefaultClientSettings,
    pub clients: ClientSettings,
    pub password: PasswordSettings,
    pub login: LoginSettings,
    pub audit: AuditSettings,
    pub log: LogSettings,
    pub admin: AdminSettings,
    pub registration: RegistrationSettings,
}

#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub bind: String,
    pub issuer: String,
    pub trusted_proxies: Vec<IpAddr>,
    /// 0 = one per core.
    pub workers: usize,
}

#[derive(Clone)]
pub struct DatabaseSettings {
    pub url: DatabaseUrl,
    pub max_connections: u32,
}

impl fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &self.url)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

/// A database URL; it may carry a password, so `Debug` shows only the scheme.
#[derive(Clone)]
pub struct DatabaseUrl(SecretString);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url = Self(SecretString::from(raw.to_owned()));
        url.kind()?;
        Ok(url)
    }

    pub fn kind(&self) -> Result<DatabaseKind, String> {
        let raw = self.0.expose_secret();
        if raw.starts_with("sqlite:") {
            Ok(DatabaseKind::Sqlite)
        } else if raw.starts_with("postgres:") || raw.starts_with("postgresql:") {
            Ok(DatabaseKind::Postgres)
        } else {
            Err("must start with sqlite: or postgres:".to_owned())
        }
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind() {
            Ok(DatabaseKind::Sqlite) => f.write_str("sqlite:[redacted]"),
            Ok(DatabaseKind::Postgres) => f.write_str("postgres:[redacted]"),
            Err(_) => f.write_str("[redacted]"),
        }
    }
}

#[derive(Clone)]
pub struct RedisSettings {
    pub url: Option<SecretString>,
    /// Prepended to every key, so several deployments (or tests) can share one Redis.
    pub key_prefix: String,
}

impl fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = self.url.as_ref().map(|_| "redis:[redacted]");
        f.debug_struct("RedisSettings")
            .field("url", &url)
            .field("key_prefix", &self.key_prefix)
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct KeySettings {
    pub dir: PathBuf,
    pub algorithm: Algorithm,
    pub rotate_every: Duration,
    pub prepublish: Duration,
    pub refresh_interval: Duration,
}

impl KeySettings {
    /// The JWKS `Cache-Control: max-age`: a cache must see a new key before it signs,
    /// and an instance may publish it up to one refresh interval late, so the cache
    /// lifetime is the pre-publication time minus that, and at most five minutes.
    pub fn jwks_max_age(&self) -> Duration {
        self.prepublish
            .saturating_sub(self.refresh_interval)
            .min(Duration::from_secs(300))
    }

    /// How long a retired key stays published: an instance may sign with it for one
    /// more refresh interval, its tokens live `access_window` (TTL + leeway), and a
    /// verifier may hold a JWKS without it for one cache lifetime.
    pub fn retired_grace(&self, access_window: Duration) -> Duration {
        self.refresh_interval + access_window + self.jwks_max_age()
    }
}

#[derive(Debug, Clone)]
pub struct TokenSettings {
    pub access_ttl: Duration,
    pub refresh_idle_ttl: Duration,
    pub refresh_absolute_ttl: Duration,
    pub leeway: Duration,
}

impl TokenSettings {
    /// How long after a revocation an access token issued before it can still be live:
    /// the access TTL plus the validation leeway.
    pub fn access_window(&self) -> Duration {
        self.access_ttl + self.leeway
    }
}

#[derive(Debug, Clone)]
pub struct DefaultClientSettings {
    pub id: ClientId,
    pub audience: Vec<String>,
    pub scopes: Scopes,
}

/// Registered clients (admin-api.md §2).
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// How long a secret replaced by a rotation keeps working; zero ends it at once.
    pub previous_secret_ttl: Duration,
}

#[derive(Debug, Clone)]
pub struct PasswordSettings {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// 0 = one per core.
    pub workers: usize,
    pub queue: usize,
}

#[derive(Debug, Clone)]
pub struct LoginSettings {
    pub max_failures: u32,
    pub window: Duration,
}

#[derive(Debug, Clone)]
pub struct AuditSettings {
    /// Events older than this are deleted; zero keeps them forever.
    pub retention: Duration,
}

/// The admin API's listener (admin-api.md §2).
#[derive(Debug, Clone, Default)]
pub struct AdminSettings {
    /// When set, `/admin/v1` is served only on this address (and is 404 on `server.bind`).
    pub bind: Option<String>,
}

/// Self-registration at `POST /account/v1/register` (admin-api.md §3).
#[derive(Debug, Clone)]
pub struct RegistrationSettings {
    pub enabled: bool,
    /// Registrations per source address (IPv6: per /64) per hour.
    pub per_address: u32,
    /// Roles every self-registered user gets.
    pub default_roles: Vec<Role>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Auto,
    Pretty,
    Json,
}

#[derive(Debug, Clone)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: String,
}

impl Settings {
    /// Loads defaults, then `file` (if any), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut builder = Config::builder().add_source(File::from_str(DEFAULTS, FileFormat::Toml));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError(format!(
                    "--config {}: no such file; pass the path of a TOML file",
                    path.display()
                )));
            }
            builder = builder.add_source(File::from(path).format(FileFormat::Toml));
        }
        let env = Environment::with_prefix("AUTHD")
            .prefix_separator("__")
            .separator("__")
            .list_separator(",")
            .with_list_parse_key("server.trusted_proxies")
            .with_list_parse_key("default_client.audience")
            .with_list_parse_key("default_client.scopes")
            .with_list_parse_key("registration.default_roles")
            .try_parsing(true);
        let raw: Raw = builder
            .add_source(env)
            .build()
            .and_then(Config::try_deserialize)
            .map_err(|e| ConfigError(e.to_string()))?;
        raw.check()
    }
}

/// Parses `600s`, `10m`, `12h`, `7d`.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let split = raw
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{raw:?} has no unit; write e.g. 600s, 10m, 12h or 7d"))?;
    let (number, unit) = raw.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{raw:?} is not a duration; write e.g. 600s, 10m, 12h or 7d"))?;
    let seconds = match unit {
        "s" => Some(number),
        "m" => number.checked_mul(60),
        "h" => number.checked_mul(3600),
        "d" => number.checked_mul(86_400),
        _ => None,
    }
    .ok_or_else(|| format!("{raw:?} is not a duration; write e.g. 600s, 10m, 12h or 7d"))?;
    Ok(Duration::from_secs(seconds))
}

// ---- raw shape of the file, checked into `Settings` below ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    server: RawServer,
    database: RawDatabase,
    redis: RawRedis,
    keys: RawKeys,
    tokens: RawTokens,
    default_client: RawDefaultClient,
    clients: RawClients,
    password: RawPassword,
    login: RawLogin,
    audit: RawAudit,
    log: RawLog,
    admin: RawAdmin,
    registration: RawRegistration,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    bind: String,
    issuer: String,
    trusted_proxies: Vec<String>,
    workers: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    url: String,
    max_connections: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRedis {
    url: String,
    key_prefix: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeys {
    dir: String,
    algorithm: String,
    rotate_every: String,
    prepublish: String,
    refresh_interval: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTokens {
    access_ttl: String,
    refresh_idle_ttl: String,
    refresh_absolute_ttl: String,
    leeway: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaultClient {
    id: String,
    audience: Vec<String>,
    scopes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClients {
    previous_secret_ttl: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPassword {
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
    workers: usize,
    queue: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLogin {
    max_failures: u32,
    window: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    retention: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdmin {
    bind: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegistration {
    enabled: bool,
    per_address: u32,
    default_roles: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLog {
    format: String,
    level: String,
}

fn duration(key: &str, raw: &str) -> Result<Duration, ConfigError> {
    parse_duration(raw).map_err(|e| ConfigError::key(key, e))
}

/// A duration that must be at least one second.
fn positive_duration(key: &str, raw: &str) -> Result<Duration, ConfigError> {
    let d = duration(key, raw)?;
    if d.is_zero() {
        return Err(ConfigError::key(key, "must be longer than 0s"));
    }
    Ok(d)
}

impl Raw {
    fn check(self) -> Result<Settings, ConfigError> {
        Ok(Settings {
            server: self.server.check()?,
            database: DatabaseSettings {
                url: DatabaseUrl::parse(self.database.url.trim())
                    .map_err(|e| ConfigError::key("database.url", e))?,
                max_connections: match self.database.max_connections {
                    0 => {
                        return Err(ConfigError::key(
                            "database.max_connections",
                            "must be at least 1",
                        ))
                    }
                    n => n,
                },
            },
            redis: RedisSettings {
                url: match self.redis.url.trim() {
                    "" => None,
                    url if url.starts_with("redis://") || url.starts_with("rediss://") => {
                        Some(SecretString::from(url.to_owned()))
                    }
                    _ => {
                        return Err(ConfigError::key(
                            "redis.url",
                            "must start with redis:// or rediss://",
                        ))
                    }
                },
                key_prefix: self.redis.key_prefix,
            },
            keys: self.keys.check()?,
            tokens: self.tokens.check()?,
            default_client: self.default_client.check()?,
            clients: ClientSettings {
                previous_secret_ttl: duration(
                    "clients.previous_secret_ttl",
                    &self.clients.previous_secret_ttl,
                )?,
            },
            password: self.password.check()?,
            login: LoginSettings {
                max_failures: match self.login.max_failures {
                    0 => return Err(ConfigError::key("login.max_failures", "must be at least 1")),
                    n => n,
                },
                window: positive_duration("login.window", &self.login.window)?,
            },
            audit: AuditSettings {
                retention: duration("audit.retention", &self.audit.retention)?,
            },
            log: LogSettings {
                format: match self.log.format.as_str() {
                    "auto" => LogFormat::Auto,
                    "pretty" => LogFormat::Pretty,
                    "json" => LogFormat::Json,
                    other => {
                        return Err(ConfigError::key(
                            "log.format",
                            format!("{other:?} is not one of auto, pretty, json"),
                        ))
                    }
                },
                level: self.log.level,
            },
            admin: AdminSettings {
                bind: match self.admin.bind.trim() {
                    "" => None,
                    bind if bind.parse::<std::net::SocketAddr>().is_ok() => Some(bind.to_owned()),
                    _ => {
                        return Err(ConfigError::key(
                            "admin.bind",
                            "must be ip:port, e.g. 127.0.0.1:8081, or empty",
                        ))
                    }
                },
            },
            registration: RegistrationSettings {
                enabled: self.registration.enabled,
                per_address: match self.registration.per_address {
                    0 => {
                        return Err(ConfigError::key(
                            "registration.per_address",
                            "must be at least 1 (disable registration with registration.enabled = false)",
                        ))
                    }
                    n => n,
                },
                default_roles: self
                    .registration
                    .default_roles
                    .iter()
                    .filter(|r| !r.trim().is_empty())
                    .map(|r| Role::parse(r.trim()))
                    .collect::<Result<_, _>>()
                    .map_err(|e| ConfigError::key("registration.default_roles", e))?,
            },
        })
    }
}

impl RawServer {
    fn check(self) -> Result<ServerSettings, ConfigError> {
        if self.bind.trim().is_empty() {
            return Err(ConfigError::key(
                "server.bind",
                "must be host:port, e.g. 127.0.0.1:8080",
            ));
        }
        let issuer = self.issuer.trim().to_owned();
        let valid_scheme = issuer.starts_with("https://") || issuer.starts_with("http://");
        if !valid_scheme || issuer.contains(['?', '#']) || issuer.len() > 255 {
            return Err(ConfigError::key(
                "server.issuer",
                "must be an http(s) URL without query or fragment, e.g. https://auth.example.com",
            ));
        }
        let trusted_proxies = self
            .trusted_proxies
            .iter()
            .map(|p| {
                p.trim().parse::<IpAddr>().map_err(|_| {
                    ConfigError::key(
                        "server.trusted_proxies",
                        format!("{p:?} is not an IP address"),
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(ServerSettings {
            bind: self.bind,
            issuer,
            trusted_proxies,
            workers: self.workers,
        })
    }
}

impl RawKeys {
    fn check(self) -> Result<KeySettings, ConfigError> {
        if self.dir.trim().is_empty() {
            return Err(ConfigError::key("keys.dir", "must name a directory"));
        }
        let algorithm = self.algorithm.parse::<Algorithm>().map_err(|_| {
            ConfigError::key(
                "keys.algorithm",
                format!("{:?} is not ES256 or RS256", self.algorithm),
            )
        })?;
        let rotate_every = positive_duration("keys.rotate_every", &self.rotate_every)?;
        let prepublish = duration("keys.prepublish", &self.prepublish)?;
        let refresh_interval = positive_duration("keys.refresh_interval", &self.refresh_interval)?;
        // Every instance must publish a new key (within one refresh) before any signs
        // with it, and a key must sign for a while before the next one takes over.
        if prepublish <= refresh_interval {
            return Err(ConfigError::key(
                "keys.prepublish",
                "must be longer than keys.refresh_interval, so every instance publishes a key before it signs",
            ));
        }
        if rotate_every <= prepublish {
            return Err(ConfigError::key(
                "keys.rotate_every",
                "must be longer than keys.prepublish",
            ));
        }
        Ok(KeySettings {
            dir: PathBuf::from(self.dir),
            algorithm,
            rotate_every,
            prepublish,
            refresh_interval,
        })
    }
}

impl RawTokens {
    fn check(self) -> Result<TokenSettings, ConfigError> {
        let leeway = duration("tokens.leeway", &self.leeway)?;
        if leeway > Duration::from_secs(60) {
            return Err(ConfigError::key("tokens.leeway", "must be at most 60s"));
        }
        let access_ttl = positive_duration("tokens.access_ttl", &self.access_ttl)?;
        if access_ttl > Duration::from_secs(86_400) {
            return Err(ConfigError::key("tokens.access_ttl", "must be at most 1d"));
        }
        let refresh_idle_ttl =
            positive_duration("tokens.refresh_idle_ttl", &self.refresh_idle_ttl)?;
        let refresh_absolute_ttl =
            positive_duration("tokens.refresh_absolute_ttl", &self.refresh_absolute_ttl)?;
        Ok(TokenSettings {
            access_ttl,
            refresh_idle_ttl,
            refresh_absolute_ttl,
            leeway,
        })
    }
}

impl RawDefaultClient {
    fn check(self) -> Result<DefaultClientSettings, ConfigError> {
        let id = ClientId::parse(&self.id).map_err(|e| ConfigError::key("default_client.id", e))?;
        let audience: Vec<String> = self
            .audience
            .into_iter()
            .map(|a| a.trim().to_owned())
            .filter(|a| !a.is_empty())
            .collect();
        if audience.is_empty() {
            return Err(ConfigError::key(
                "default_client.audience",
                "must name at least one audience",
            ));
        }
        let scopes = Scopes::parse(&self.scopes.join(" "))
            .map_err(|e| ConfigError::key("default_client.scopes", e))?;
        Ok(DefaultClientSettings {
            id,
            audience,
            scopes,
        })
    }
}

impl RawPassword {
    fn check(self) -> Result<PasswordSettings, ConfigError> {
        // argon2's own limits: lanes 1..=2^24-1, at least 8 KiB per lane, at least one pass.
        if !(1..=64).contains(&self.parallelism) {
            return Err(ConfigError::key(
                "password.parallelism",
                "must be between 1 and 64",
            ));
        }
        if self.memory_kib < 8 * self.parallelism || self.memory_kib > 4 * 1024 * 1024 {
            return Err(ConfigError::key(
                "password.memory_kib",
                "must be between 8 x parallelism and 4194304 (4 GiB)",
            ));
        }
        if !(1..=100).contains(&self.iterations) {
            return Err(ConfigError::key(
                "password.iterations",
                "must be between 1 and 100",
            ));
        }
        if self.queue == 0 {
            return Err(ConfigError::key("password.queue", "must be at least 1"));
        }
        Ok(PasswordSettings {
            memory_kib: self.memory_kib,
            iterations: self.iterations,
            parallelism: self.parallelism,
            workers: self.workers,
            queue: self.queue,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_the_four_units() {
        assert_eq!(parse_duration("600s"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604_800)));
    }

    #[test]
    fn durations_without_a_known_unit_are_rejected() {
        for bad in [
            "600",
            "10x",
            "m",
            "",
            "-5s",
            "1.5h",
            "99999999999999999999d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn the_compiled_in_defaults_are_valid() {
        let raw: Raw = Config::builder()
            .add_source(File::from_str(DEFAULTS, FileFormat::Toml))
            .build()
            .and_then(Config::try_deserialize)
            .unwrap();
        let settings = raw.check().unwrap();
        assert_eq!(settings.tokens.access_ttl, Duration::from_secs(600));
        assert_eq!(settings.database.url.kind(), Ok(DatabaseKind::Sqlite));
        assert_eq!(settings.default_client.audience, vec!["api".to_owned()]);
        assert!(settings.redis.url.is_none());
    }

    #[test]
    fn the_jwks_max_age_and_retired_grace_follow_the_key_settings() {
        let keys = KeySettings {
            dir: PathBuf::from("keys"),
            algorithm: Algorithm::Es256,
            rotate_every: Duration::from_secs(30 * 86_400),
            prepublish: Duration::from_secs(3600),
            refresh_interval: Duration::from_secs(10),
        };
        assert_eq!(keys.jwks_max_age(), Duration::from_secs(300));
        assert_eq!(
            keys.retired_grace(Duration::from_secs(630)),
            Duration::from_secs(10 + 630 + 300)
        );
        let short = KeySettings {
            prepublish: Duration::from_secs(45),
            ..keys
        };
        assert_eq!(short.jwks_max_age(), Duration::from_secs(35));
    }

    #[test]
    fn database_urls_of_other_schemes_are_rejected() {
        assert!(DatabaseUrl::parse("mysql://x").is_err());
        assert!(DatabaseUrl::parse("postgres://u:p@h/db").is_ok());
    }

    #[test]
    fn database_url_debug_hides_the_password() {
        let url = DatabaseUrl::parse("postgres://u:hunter2@h/db").unwrap();
        assert!(!format!("{url:?}").contains("hunter2"));
    }
}
