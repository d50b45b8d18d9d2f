//! `Store` on an embedded SQLite file: the default that needs no services.
//! Uuids are stored as text, roles as a JSON array, times as RFC 3339 text.

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use uuid::Uuid;

use super::{KeyRecord, KeyRow, NewUser, PasswordHash, Store, StoreError, User};
use crate::domain::Username;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        create_private_file(options.get_filename())
            .map_err(|e| StoreError::Unavailable(e.into()))?;
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }
}

/// Creates the database file (and its directory) when missing, readable by its owner
/// only: it holds password hashes. SQLite gives its -wal and -shm files the same mode.
fn create_private_file(path: &Path) -> std::io::Result<()> {
    if path.as_os_str().is_empty() || path == Path::new(":memory:") || path.exists() {
        return Ok(());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
        _ => Ok(()),
    }
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: String,
    username: String,
    password_hash: String,
    roles: String,
    disabled: bool,
    password_changed_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;

    fn try_from(r: UserRow) -> Result<Self, StoreError> {
        Ok(User {
            id: Uuid::parse_str(&r.id).map_err(|e| StoreError::Other(e.into()))?,
            username: r.username,
            password_hash: PasswordHash(r.password_hash),
            roles: serde_json::from_str(&r.roles).map_err(|e| StoreError::Other(e.into()))?,
            disabled: r.disabled,
            password_changed_at: r.password_changed_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

const USER_COLUMNS: &str =
    "id, username, password_hash, roles, disabled, password_changed_at, created_at, updated_at";

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("select 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn create_user(&self, new: NewUser, now: DateTime<Utc>) -> Result<User, StoreError> {
        let roles: Vec<&str> = new.roles.iter().map(|r| r.as_str()).collect();
        let roles = serde_json::to_string(&roles).map_err(|e| StoreError::Other(e.into()))?;
        let row: UserRow = sqlx::query_as(&format!(
            "insert into users (id, username, password_hash, roles, disabled,
                                password_changed_at, created_at, updated_at)
             values (?1, ?2, ?3, ?4, 0, ?5, ?5, ?5)
             returning {USER_COLUMNS}"
        ))
        .bind(Uuid::new_v4().to_string())
        .bind(new.username.as_str())
        .bind(&new.password_hash.0)
        .bind(roles)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        row.try_into()
    }

    async fn user_by_username(&self, username: &Username) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> = sqlx::query_as(&format!(
            "select {USER_COLUMNS} from users where username = ?1"
        ))
        .bind(username.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(User::try_from).transpose()
    }

    async fn user_by_id(&self, id: Uuid) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> =
            sqlx::query_as(&format!("select {USER_COLUMNS} from users where id = ?1"))
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?;
        row.map(User::try_from).transpose()
    }

    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let rows: Vec<UserRow> = sqlx::query_as(&format!(
            "select {USER_COLUMNS} from users order by username"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(User::try_from).collect()
    }

    async fn set_password(
        &self,
        username: &Username,
        hash: &PasswordHash,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "update users set password_hash = ?2, password_changed_at = ?3, updated_at = ?3
             where username = ?1",
        )
        .bind(username.as_str())
        .bind(&hash.0)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn upgrade_password_hash(
        &self,
        id: Uuid,
        old: &PasswordHash,
        new: &PasswordHash,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "update users set password_hash = ?3, updated_at = ?4
             where id = ?1 and password_hash = ?2",
        )
        .bind(id.to_string())
        .bind(&old.0)
        .bind(&new.0)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_disabled(
        &self,
        username: &Username,
        disabled: bool,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done =
            sqlx::query("update users set disabled = ?2, updated_at = ?3 where username = ?1")
                .bind(username.as_str())
                .bind(disabled)
                .bind(now)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn signing_keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
        let rows: Vec<KeyRow> = sqlx::query_as(
            "select kid, alg, state, created_at, activated_at, retired_at
             from signing_keys order by created_at, kid",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(KeyRecord::try_from).collect()
    }

    async fn insert_first_active_key(&self, key: &KeyRecord) -> Result<bool, StoreError> {
        // The partial unique index on state = 'active' makes a second active key a
        // conflict, which `do nothing` turns into zero rows.
        let done = sqlx::query(
            "insert into signing_keys (kid, alg, state, created_at, activated_at)
             values (?1, ?2, 'active', ?3, ?4)
             on conflict do nothing",
        )
        .bind(key.kid.as_str())
        .bind(key.alg.as_str())
        .bind(key.created_at)
        .bind(key.activated_at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
