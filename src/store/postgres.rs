//! `Store` on PostgreSQL.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};
use uuid::Uuid;

use super::sql::{
    self, CLIENT_COLUMNS, REMOVE_PREVIOUS_CLIENT_SECRET, ROTATE_CLIENT_SECRET, UPDATE_CLIENT,
    USER_COLUMNS,
};
use super::{AuditEvent, AuditPageQuery, AuditRecord};
use super::{
    ClaimOutcome, ClientParts, ClientsVersion, Family, IdempotencyClaim, IdempotencyRow, KeyRecord,
    KeyRow, NewUser, PasswordHash, Revocation, RevocationKind, RevocationRow, RevokeReason,
    Revoking, Rotation, Store, StoreError, StoredResponse, User, UserChanges, UsersQuery,
};
use crate::domain::Client;
use crate::domain::Kid;
use crate::domain::{Email, PersonName, SecretDigest, Username};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await?;
        Ok(Self { pool })
    }
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: Uuid,
    username: String,
    password_hash: String,
    roles: Vec<String>,
    disabled: bool,
    email: Option<String>,
    email_verified: bool,
    name: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    password_changed_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: r.id,
            username: r.username,
            password_hash: PasswordHash(r.password_hash),
            roles: r.roles,
            disabled: r.disabled,
            email: r.email,
            email_verified: r.email_verified,
            name: r.name,
            given_name: r.given_name,
            family_name: r.family_name,
            password_changed_at: r.password_changed_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[async_trait]
impl Store for PgStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query(sql::PING).execute(&self.pool).await?;
        Ok(())
    }

    async fn create_user(&self, new: NewUser, now: DateTime<Utc>) -> Result<User, StoreError> {
        let roles: Vec<&str> = new.roles.iter().map(|r| r.as_str()).collect();
        let row: UserRow = sqlx::query_as(&format!(
            "insert into users (id, username, password_hash, roles, disabled, email,
                                email_verified, name, given_name, family_name,
                                password_changed_at, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $11)
             returning {USER_COLUMNS}"
        ))
        .bind(super::new_user_id())
        .bind(new.username.as_str())
        .bind(&new.password_hash.0)
        .bind(&roles)
        .bind(new.disabled)
        .bind(new.profile.email.as_ref().map(Email::as_str))
        .bind(new.profile.email_verified)
        .bind(new.profile.name.as_ref().map(PersonName::as_str))
        .bind(new.profile.given_name.as_ref().map(PersonName::as_str))
        .bind(new.profile.family_name.as_ref().map(PersonName::as_str))
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.into())
    }

    async fn user_by_username(&self, username: &Username) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> = sqlx::query_as(&format!(
            "select {USER_COLUMNS} from users where username = $1"
        ))
        .bind(username.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(User::from))
    }

    async fn user_by_id(&self, id: Uuid) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> =
            sqlx::query_as(&format!("select {USER_COLUMNS} from users where id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(User::from))
    }

    async fn users_page(&self, query: &UsersQuery) -> Result<Vec<User>, StoreError> {
        let sql = sql::users_page(query, "{} = any(roles)");
        let mut q = sqlx::query_as::<_, UserRow>(&sql).bind(i64::from(query.limit));
        if let Some(after) = &query.after {
            q = q.bind(after);
        }
        if let Some(prefix) = &query.username_prefix {
            let chars = i32::try_from(prefix.as_str().chars().count()).unwrap_or(i32::MAX);
            q = q.bind(prefix.as_str()).bind(chars);
        }
        if let Some(role) = &query.role {
            q = q.bind(role.as_str());
        }
        if let Some(disabled) = query.disabled {
            q = q.bind(disabled);
        }
        let rows = q.fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(User::from).collect())
    }

    async fn insert_users(
        &self,
        users: &[NewUser],
        now: DateTime<Utc>,
    ) -> Result<Vec<(Uuid, String)>, StoreError> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let sql = sql::insert_users(users.len());
        let mut q = sqlx::query_as::<_, (Uuid, String)>(&sql).bind(now);
        for new in users {
            let roles: Vec<&str> = new.roles.iter().map(|r| r.as_str()).collect();
            q = q
                .bind(super::new_user_id())
                .bind(new.username.as_str())
                .bind(&new.password_hash.0)
                .bind(roles)
                .bind(new.disabled)
                .bind(new.profile.email.as_ref().map(Email::as_str))
                .bind(new.profile.email_verified)
                .bind(new.profile.name.as_ref().map(PersonName::as_str))
                .bind(new.profile.given_name.as_ref().map(PersonName::as_str))
                .bind(new.profile.family_name.as_ref().map(PersonName::as_str));
        }
        Ok(q.fetch_all(&self.pool).await?)
    }

    async fn set_password(
        &self,
        id: Uuid,
        hash: &PasswordHash,
        expected: Option<DateTime<Utc>>,
        revoking: Revoking,
    ) -> Result<Option<Vec<Uuid>>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let user: Option<(Uuid,)> = sqlx::query_as(sql::SET_PASSWORD)
            .bind(id)
            .bind(&hash.0)
            .bind(revoking.at)
            .bind(expected)
            .fetch_optional(&mut *tx)
            .await?;
        if user.is_none() {
            return Ok(None);
        }
        let revoked = revoke_user_families(&mut tx, id, revoking).await?;
        tx.commit().await?;
        Ok(Some(revoked))
    }

    async fn update_user(
        &self,
        id: Uuid,
        changes: &UserChanges,
        expected: DateTime<Utc>,
        revoking: Revoking,
    ) -> Result<Option<(User, Vec<Uuid>)>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row: Option<UserRow> =
            sqlx::query_as(&format!("{} returning {USER_COLUMNS}", sql::UPDATE_USER))
                .bind(id)
                .bind(expected)
                .bind(&changes.roles)
                .bind(changes.disabled)
                .bind(changes.email.as_deref())
                .bind(changes.email_verified)
                .bind(changes.name.as_deref())
                .bind(changes.given_name.as_deref())
                .bind(changes.family_name.as_deref())
                .bind(revoking.at)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(row) = row else { return Ok(None) };
        let revoked = if changes.disabled {
            revoke_user_families(&mut tx, id, revoking).await?
        } else {
            Vec::new()
        };
        tx.commit().await?;
        Ok(Some((row.into(), revoked)))
    }

    async fn upgrade_password_hash(
        &self,
        id: Uuid,
        old: &PasswordHash,
        new: &PasswordHash,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(sql::UPGRADE_PASSWORD_HASH)
            .bind(id)
            .bind(&old.0)
            .bind(&new.0)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_user(
        &self,
        id: Uuid,
        expected: Option<DateTime<Utc>>,
        revoking: Revoking,
    ) -> Result<Option<Vec<Uuid>>, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Revoked first: the families' rows go with the user (on delete cascade), but the
        // `sid` revocations they record stay until every access token has expired. When
        // the delete matches nothing the transaction rolls back, revocations included.
        let revoked = revoke_user_families(&mut tx, id, revoking).await?;
        let deleted = sqlx::query(sql::DELETE_USER)
            .bind(id)
            .bind(expected)
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 0 {
            return Ok(None);
        }
        tx.commit().await?;
        Ok(Some(revoked))
    }

    async fn create_family(&self, family: &Family, token_hash: &[u8]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(sql::INSERT_FAMILY)
            .bind(family.id)
            .bind(family.user_id)
            .bind(&family.client_id)
            .bind(&family.scope)
            .bind(family.created_at)
            .bind(family.expires_at)
            .execute(&mut *tx)
            .await?;
        sqlx::query(sql::INSERT_REFRESH_TOKEN)
            .bind(token_hash)
            .bind(family.id)
            .bind(family.created_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn rotate_refresh_token(
        &self,
        presented_hash: &[u8],
        new_hash: &[u8],
        idle_ttl: chrono::Duration,
        revoking: Revoking,
    ) -> Result<Rotation, StoreError> {
        let now = revoking.at;
        let mut tx = self.pool.begin().await?;
        // The single-use rule: of every caller presenting this token, one update wins.
        let consumed: Option<(Uuid,)> = sqlx::query_as(sql::CONSUME_REFRESH_TOKEN)
            .bind(presented_hash)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        let Some((family_id,)) = consumed else {
            let family: Option<FamilyRow> = sqlx::query_as(&format!(
                "select {FAMILY_COLUMNS} from refresh_families
                 where id = (select family_id from refresh_tokens where token_hash = $1)"
            ))
            .bind(presented_hash)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(family) = family else {
                return Ok(Rotation::Unknown);
            };
            revoke_family(
                &mut tx,
                family.id,
                Revoking {
                    reason: RevokeReason::Reuse,
                    ..revoking
                },
            )
            .await?;
            tx.commit().await?;
            return Ok(Rotation::Reused(family.into()));
        };
        let row: FamilyAndUser = sqlx::query_as(&format!(
            "select {FAMILY_COLUMNS_F}, u.disabled from refresh_families f
             join users u on u.id = f.user_id where f.id = $1 for update of f"
        ))
        .bind(family_id)
        .fetch_one(&mut *tx)
        .await?;
        let family: Family = row.family.into();
        if family.revoked_at.is_some() {
            tx.commit().await?;
            return Ok(Rotation::Ended(family));
        }
        if let Some(reason) = family.end_reason(now, idle_ttl, row.disabled) {
            revoke_family(&mut tx, family.id, Revoking { reason, ..revoking }).await?;
            tx.commit().await?;
            return Ok(Rotation::Ended(family));
        }
        sqlx::query(sql::INSERT_REFRESH_TOKEN)
            .bind(new_hash)
            .bind(family.id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(sql::SET_SUCCESSOR)
            .bind(presented_hash)
            .bind(new_hash)
            .execute(&mut *tx)
            .await?;
        sqlx::query(sql::TOUCH_FAMILY)
            .bind(family.id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Rotation::Rotated(Family {
            last_used_at: now,
            ..family
        }))
    }

    async fn rotate_live_refresh_token(
        &self,
        presented_hash: &[u8],
        new_hash: &[u8],
        client_id: &str,
        idle_ttl: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<(Family, Vec<String>)>, StoreError> {
        // One statement, one round trip, atomic on its own: of concurrent callers only one
        // update of the token row can see `consumed_at is null`.
        let row: Option<LiveRotationRow> = sqlx::query_as(&format!(
            "with consumed as (
                 update refresh_tokens t set consumed_at = $3, successor_hash = $2
                 from refresh_families f, users u
                 where t.token_hash = $1 and t.consumed_at is null
                   and f.id = t.family_id and f.client_id = $4 and f.revoked_at is null
                   and f.expires_at > $3 and f.last_used_at > $5
                   and u.id = f.user_id and not u.disabled
                 returning t.family_id
             ), successor as (
                 insert into refresh_tokens (token_hash, family_id, created_at)
                 select $2, family_id, $3 from consumed
             ), touched as (
                 update refresh_families f set last_used_at = $3
                 from consumed c where f.id = c.family_id
                 returning {FAMILY_COLUMNS_F}
             )
             select touched.*, u.roles from touched join users u on u.id = touched.user_id"
        ))
        .bind(presented_hash)
        .bind(new_hash)
        .bind(now)
        .bind(client_id)
        .bind(now - idle_ttl)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| (r.family.into(), r.roles)))
    }

    async fn family_by_token(&self, token_hash: &[u8]) -> Result<Option<Family>, StoreError> {
        let row: Option<FamilyRow> = sqlx::query_as(&format!(
            "select {FAMILY_COLUMNS} from refresh_families
             where id = (select family_id from refresh_tokens where token_hash = $1)"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(Family::from))
    }

    async fn revoke_family(&self, id: Uuid, revoking: Revoking) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let revoked = revoke_family(&mut tx, id, revoking).await?;
        tx.commit().await?;
        Ok(revoked)
    }

    async fn revoke_jti(
        &self,
        jti: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        record_revocation(&mut conn, RevocationKind::Jti, jti, expires_at, now).await
    }

    async fn revocations_since(
        &self,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Revocation>, StoreError> {
        let rows: Vec<RevocationRow> = sqlx::query_as(sql::REVOCATIONS_SINCE)
            .bind(since)
            .bind(now)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(Revocation::try_from).collect()
    }

    async fn is_revoked(
        &self,
        jti: &str,
        sid: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (revoked,): (bool,) = sqlx::query_as(
            "select exists (select 1 from revocations
                            where ((kind = 'jti' and value = $1) or (kind = 'sid' and value = $2))
                              and expires_at > $3)",
        )
        .bind(jti)
        .bind(sid)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(revoked)
    }

    async fn prune_revocations(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query(sql::PRUNE_REVOCATIONS)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn prune_families(
        &self,
        before: DateTime<Utc>,
        idle_ttl: chrono::Duration,
    ) -> Result<u64, StoreError> {
        // Their refresh tokens go with them (on delete cascade).
        let done = sqlx::query(sql::PRUNE_FAMILIES)
            .bind(before)
            .bind(before - idle_ttl)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn create_client(
        &self,
        client: &Client,
        now: DateTime<Utc>,
    ) -> Result<Client, StoreError> {
        let c = ClientParts::new(client, now);
        let row: ClientRow = sqlx::query_as(&format!(
            "insert into clients (id, kind, secret_sha256, grants, audiences, scopes,
                                  default_scopes, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $8)
             returning {CLIENT_COLUMNS}"
        ))
        .bind(&c.id)
        .bind(&c.kind)
        .bind(&c.secret_sha256)
        .bind(&c.grants)
        .bind(&c.audiences)
        .bind(&c.scopes)
        .bind(&c.default_scopes)
        .bind(c.created_at)
        .fetch_one(&self.pool)
        .await?;
        row.try_into()
    }

    async fn client_by_id(&self, id: &str) -> Result<Option<Client>, StoreError> {
        let row: Option<ClientRow> = sqlx::query_as(&format!(
            "select {CLIENT_COLUMNS} from clients where id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(Client::try_from).transpose()
    }

    async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        let rows: Vec<ClientRow> =
            sqlx::query_as(&format!("select {CLIENT_COLUMNS} from clients order by id"))
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter().map(Client::try_from).collect()
    }

    async fn clients_page(
        &self,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Client>, StoreError> {
        // `$1::text`: Postgres cannot infer the type of a parameter compared with null.
        // `id` has the "C" collation (migration 9), so the order is byte order.
        let rows: Vec<ClientRow> = sqlx::query_as(&format!(
            "select {CLIENT_COLUMNS} from clients
             where $1::text is null or id > $1 order by id limit $2"
        ))
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(Client::try_from).collect()
    }

    async fn update_client(
        &self,
        client: &Client,
        expected: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<Client>, StoreError> {
        let c = ClientParts::new(client, now);
        let row: Option<ClientRow> =
            sqlx::query_as(&format!("{UPDATE_CLIENT} returning {CLIENT_COLUMNS}"))
                .bind(&c.id)
                .bind(&c.audiences)
                .bind(&c.grants)
                .bind(&c.scopes)
                .bind(&c.default_scopes)
                .bind(now)
                .bind(expected)
                .fetch_optional(&self.pool)
                .await?;
        row.map(Client::try_from).transpose()
    }

    async fn rotate_client_secret(
        &self,
        id: &str,
        secret: &SecretDigest,
        previous_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<Client>, StoreError> {
        let row: Option<ClientRow> = sqlx::query_as(&format!(
            "{ROTATE_CLIENT_SECRET} returning {CLIENT_COLUMNS}"
        ))
        .bind(id)
        .bind(secret.0.as_slice())
        .bind(previous_expires_at)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.map(Client::try_from).transpose()
    }

    async fn remove_previous_client_secret(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(REMOVE_PREVIOUS_CLIENT_SECRET)
            .bind(id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn remove_client(
        &self,
        id: &str,
        expected: Option<DateTime<Utc>>,
        revoking: Revoking,
    ) -> Result<Option<Vec<Uuid>>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let removed = sqlx::query(
            "delete from clients where id = $1 and ($2::timestamptz is null or updated_at = $2)",
        )
        .bind(id)
        .bind(expected)
        .execute(&mut *tx)
        .await?;
        if removed.rows_affected() == 0 {
            return Ok(None);
        }
        let ids: Vec<(Uuid,)> = sqlx::query_as(sql::REVOKE_CLIENT_FAMILIES)
            .bind(id)
            .bind(revoking.at)
            .bind(revoking.reason.as_str())
            .fetch_all(&mut *tx)
            .await?;
        let ids = record_family_revocations(&mut tx, ids, revoking).await?;
        tx.commit().await?;
        Ok(Some(ids))
    }

    async fn clients_version(&self) -> Result<ClientsVersion, StoreError> {
        let (count, last_change): (i64, Option<DateTime<Utc>>) =
            sqlx::query_as(sql::CLIENTS_VERSION)
                .fetch_one(&self.pool)
                .await?;
        Ok(ClientsVersion { count, last_change })
    }

    async fn signing_keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
        let rows: Vec<KeyRow> = sqlx::query_as(sql::SIGNING_KEYS)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(KeyRecord::try_from).collect()
    }

    async fn insert_key(&self, key: &KeyRecord) -> Result<bool, StoreError> {
        // The partial unique indexes on state = 'active' and state = 'next' make a second
        // one a conflict, which `do nothing` turns into zero rows.
        let done = sqlx::query(sql::INSERT_KEY)
            .bind(key.kid.as_str())
            .bind(key.alg.as_str())
            .bind(key.state.as_str())
            .bind(key.created_at)
            .bind(key.activated_at)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn promote_key(&self, kid: &Kid, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Retire first: the unique index allows one active key at any moment.
        sqlx::query(sql::RETIRE_ACTIVE_KEY)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let promoted = sqlx::query(sql::ACTIVATE_KEY)
            .bind(kid.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        if promoted.rows_affected() == 0 {
            // Another instance promoted it first (or it was removed): change nothing.
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn remove_key(
        &self,
        kid: &Kid,
        retired_before: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let done = match retired_before {
            Some(cutoff) => sqlx::query(sql::REMOVE_RETIRED_KEY)
                .bind(kid.as_str())
                .bind(cutoff),
            None => sqlx::query(sql::REMOVE_KEY).bind(kid.as_str()),
        }
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn record_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        sqlx::query(
            "insert into audit_events (occurred_at, event, user_id, client_id, sid, jti, source, detail)
             values ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(event.at)
        .bind(event.kind.as_str())
        .bind(event.user_id)
        .bind(event.client_id.as_deref())
        .bind(event.sid)
        .bind(event.jti.as_deref())
        .bind(event.source.map(|ip| ip.to_string()))
        .bind(event.detail.as_deref())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn record_audits(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        // One statement for the lot: unnest of parallel arrays, one bind each.
        if events.is_empty() {
            return Ok(());
        }
        let column = |f: &dyn Fn(&AuditEvent) -> Option<String>| -> Vec<Option<String>> {
            events.iter().map(f).collect()
        };
        let at: Vec<DateTime<Utc>> = events.iter().map(|e| e.at).collect();
        let user_ids: Vec<Option<Uuid>> = events.iter().map(|e| e.user_id).collect();
        let sids: Vec<Option<Uuid>> = events.iter().map(|e| e.sid).collect();
        sqlx::query(
            "insert into audit_events (occurred_at, event, user_id, client_id, sid, jti, source, detail)
             select * from unnest($1::timestamptz[], $2::text[], $3::uuid[], $4::text[],
                                  $5::uuid[], $6::text[], $7::text[], $8::text[])",
        )
        .bind(at)
        .bind(column(&|e| Some(e.kind.as_str().to_owned())))
        .bind(user_ids)
        .bind(column(&|e| e.client_id.clone()))
        .bind(sids)
        .bind(column(&|e| e.jti.clone()))
        .bind(column(&|e| e.source.map(|ip| ip.to_string())))
        .bind(column(&|e| e.detail.clone()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn audit_page(&self, page: &AuditPageQuery) -> Result<Vec<AuditRecord>, StoreError> {
        let query = &page.query;
        let before = page.before;
        Ok(sqlx::query_as(
            "select a.id, a.occurred_at, a.event, a.user_id::text as user_id, u.username,
                    a.client_id, a.sid::text as sid, a.jti, a.source, a.detail
             from audit_events a left join users u on u.id = a.user_id
             where ($1::timestamptz is null or a.occurred_at >= $1)
               and ($2::uuid is null or a.user_id = $2)
               and ($3::text is null or a.event = $3)
               and ($5::text is null or a.client_id = $5)
               and ($6::timestamptz is null or (a.occurred_at, a.id) < ($6, $7::bigint))
             order by a.occurred_at desc, a.id desc
             limit $4",
        )
        .bind(query.since)
        .bind(query.user_id)
        .bind(query.event.map(|e| e.as_str()))
        .bind(query.limit)
        .bind(page.client_id.as_deref())
        .bind(before.map(|c| c.occurred_at))
        .bind(before.map(|c| c.id))
        .fetch_all(&self.pool)
        .await?)
    }

    async fn prune_audit(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query(sql::PRUNE_AUDIT)
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn live_sessions(
        &self,
        user_id: Uuid,
        idle_ttl: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<Family>>, StoreError> {
        let (users,): (i64,) = sqlx::query_as(sql::USER_EXISTS)
            .bind(user_id)
            .fetch_one(&self.pool)
            .await?;
        if users == 0 {
            return Ok(None);
        }
        let rows: Vec<FamilyRow> = sqlx::query_as(sql::LIVE_SESSIONS)
            .bind(user_id)
            .bind(now)
            .bind(now - idle_ttl)
            .fetch_all(&self.pool)
            .await?;
        Ok(Some(rows.into_iter().map(Family::from).collect()))
    }

    async fn end_session(
        &self,
        sid: Uuid,
        owner: Option<Uuid>,
        idle_ttl: chrono::Duration,
        revoking: Revoking,
    ) -> Result<Option<Family>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let query = sqlx::query_as(match owner {
            Some(_) => sql::END_OWN_SESSION,
            None => sql::END_SESSION,
        })
        .bind(sid)
        .bind(revoking.at)
        .bind(revoking.reason.as_str())
        .bind(revoking.at - idle_ttl);
        let query = match owner {
            Some(owner) => query.bind(owner),
            None => query,
        };
        let row: Option<FamilyRow> = query.fetch_optional(&mut *tx).await?;
        let Some(row) = row else { return Ok(None) };
        record_revocation(
            &mut tx,
            RevocationKind::Sid,
            &sid.to_string(),
            revoking.sid_expires_at,
            revoking.at,
        )
        .await?;
        tx.commit().await?;
        Ok(Some(row.into()))
    }

    async fn end_user_sessions(
        &self,
        user_id: Uuid,
        keep: Option<Uuid>,
        revoking: Revoking,
    ) -> Result<Option<Vec<Uuid>>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let (users,): (i64,) = sqlx::query_as(sql::USER_EXISTS)
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
        if users == 0 {
            return Ok(None);
        }
        let ids = end_user_sessions(&mut tx, user_id, keep, revoking).await?;
        tx.commit().await?;
        Ok(Some(ids))
    }

    async fn set_password_keeping(
        &self,
        user_id: Uuid,
        hash: &PasswordHash,
        keep: Option<Uuid>,
        revoking: Revoking,
    ) -> Result<Option<Vec<Uuid>>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(sql::SET_PASSWORD_BY_ID)
            .bind(user_id)
            .bind(&hash.0)
            .bind(revoking.at)
            .execute(&mut *tx)
            .await?;
        if updated.rows_affected() == 0 {
            return Ok(None);
        }
        let ids = end_user_sessions(&mut tx, user_id, keep, revoking).await?;
        tx.commit().await?;
        Ok(Some(ids))
    }

    async fn claim_idempotency_key(
        &self,
        claim: &IdempotencyClaim<'_>,
    ) -> Result<ClaimOutcome, StoreError> {
        // A claim whose row vanished before it could be read (its request failed and
        // released it) is tried again; past a few rounds the key counts as busy.
        for _ in 0..3 {
            sqlx::query(sql::IDEMPOTENCY_DROP_STALE)
                .bind(claim.caller)
                .bind(claim.key)
                .bind(claim.now)
                .bind(claim.stale_before)
                .execute(&self.pool)
                .await?;
            let inserted = sqlx::query(sql::IDEMPOTENCY_CLAIM)
                .bind(claim.caller)
                .bind(claim.key)
                .bind(&claim.request_sha256[..])
                .bind(claim.now)
                .bind(claim.expires_at)
                .execute(&self.pool)
                .await?;
            if inserted.rows_affected() == 1 {
                return Ok(ClaimOutcome::Claimed);
            }
            let row: Option<IdempotencyRow> = sqlx::query_as(sql::IDEMPOTENCY_GET)
                .bind(claim.caller)
                .bind(claim.key)
                .fetch_optional(&self.pool)
                .await?;
            if let Some(row) = row {
                return row.try_into();
            }
        }
        Ok(ClaimOutcome::InProgress {
            request_sha256: claim.request_sha256.to_vec(),
        })
    }

    async fn complete_idempotency_key(
        &self,
        caller: &str,
        key: &str,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        sqlx::query(sql::IDEMPOTENCY_COMPLETE)
            .bind(caller)
            .bind(key)
            .bind(i32::from(response.status))
            .bind(&response.body)
            .bind(response.location.as_deref())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn release_idempotency_key(&self, caller: &str, key: &str) -> Result<(), StoreError> {
        sqlx::query(sql::IDEMPOTENCY_RELEASE)
            .bind(caller)
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn prune_idempotency_keys(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query(sql::IDEMPOTENCY_PRUNE)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

#[derive(sqlx::FromRow)]
struct FamilyRow {
    id: Uuid,
    user_id: Uuid,
    client_id: String,
    scope: String,
    created_at: DateTime<Utc>,
    last_used_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    revoked_reason: Option<String>,
}

impl From<FamilyRow> for Family {
    fn from(r: FamilyRow) -> Self {
        Family {
            id: r.id,
            user_id: r.user_id,
            client_id: r.client_id,
            scope: r.scope,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            expires_at: r.expires_at,
            revoked_at: r.revoked_at,
            revoked_reason: r.revoked_reason,
        }
    }
}

#[derive(sqlx::FromRow)]
struct LiveRotationRow {
    #[sqlx(flatten)]
    family: FamilyRow,
    roles: Vec<String>,
}

#[derive(sqlx::FromRow)]
struct FamilyAndUser {
    #[sqlx(flatten)]
    family: FamilyRow,
    disabled: bool,
}

const FAMILY_COLUMNS: &str =
    "id, user_id, client_id, scope, created_at, last_used_at, expires_at, revoked_at, revoked_reason";
const FAMILY_COLUMNS_F: &str =
    "f.id, f.user_id, f.client_id, f.scope, f.created_at, f.last_used_at, \
     f.expires_at, f.revoked_at, f.revoked_reason";

/// Revokes one family inside a transaction and records its `sid`; false if it was
/// already revoked.
async fn revoke_family(
    conn: &mut PgConnection,
    id: Uuid,
    revoking: Revoking,
) -> Result<bool, StoreError> {
    let done = sqlx::query(sql::REVOKE_FAMILY)
        .bind(id)
        .bind(revoking.at)
        .bind(revoking.reason.as_str())
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    record_revocation(
        conn,
        RevocationKind::Sid,
        &id.to_string(),
        revoking.sid_expires_at,
        revoking.at,
    )
    .await?;
    Ok(true)
}

/// Revokes every live family of a user inside a transaction; returns their ids.
async fn revoke_user_families(
    conn: &mut PgConnection,
    user_id: Uuid,
    revoking: Revoking,
) -> Result<Vec<Uuid>, StoreError> {
    let ids: Vec<(Uuid,)> = sqlx::query_as(sql::REVOKE_USER_FAMILIES)
        .bind(user_id)
        .bind(revoking.at)
        .bind(revoking.reason.as_str())
        .fetch_all(&mut *conn)
        .await?;
    record_family_revocations(conn, ids, revoking).await
}

/// Records the `sid` of families just revoked; returns their ids.
async fn record_family_revocations(
    conn: &mut PgConnection,
    ids: Vec<(Uuid,)>,
    revoking: Revoking,
) -> Result<Vec<Uuid>, StoreError> {
    for (id,) in &ids {
        record_revocation(
            conn,
            RevocationKind::Sid,
            &id.to_string(),
            revoking.sid_expires_at,
            revoking.at,
        )
        .await?;
    }
    Ok(ids.into_iter().map(|(id,)| id).collect())
}

#[derive(sqlx::FromRow)]
struct ClientRow {
    id: String,
    kind: String,
    secret_sha256: Option<Vec<u8>>,
    grants: Vec<String>,
    audiences: Vec<String>,
    scopes: Vec<String>,
    default_scopes: Vec<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    previous_secret_sha256: Option<Vec<u8>>,
    previous_secret_expires_at: Option<DateTime<Utc>>,
}

impl TryFrom<ClientRow> for Client {
    type Error = StoreError;

    fn try_from(r: ClientRow) -> Result<Self, StoreError> {
        Client::try_from(ClientParts {
            id: r.id,
            kind: r.kind,
            secret_sha256: r.secret_sha256,
            grants: r.grants,
            audiences: r.audiences,
            scopes: r.scopes,
            default_scopes: r.default_scopes,
            created_at: r.created_at,
            updated_at: r.updated_at,
            previous_secret_sha256: r.previous_secret_sha256,
            previous_secret_expires_at: r.previous_secret_expires_at,
        })
    }
}

async fn record_revocation(
    conn: &mut PgConnection,
    kind: RevocationKind,
    value: &str,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into revocations (kind, value, expires_at, revoked_at) values ($1, $2, $3, $4)
         on conflict (kind, value) do update
         set expires_at = greatest(revocations.expires_at, excluded.expires_at), revoked_at = excluded.revoked_at",
    )
    .bind(kind.as_str())
    .bind(value)
    .bind(expires_at)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Ends every session of a user but `keep` inside a transaction and records their
/// `sid`s; returns their ids.
async fn end_user_sessions(
    conn: &mut PgConnection,
    user_id: Uuid,
    keep: Option<Uuid>,
    revoking: Revoking,
) -> Result<Vec<Uuid>, StoreError> {
    let ids: Vec<(Uuid,)> = sqlx::query_as(sql::END_USER_SESSIONS)
        .bind(user_id)
        .bind(revoking.at)
        .bind(revoking.reason.as_str())
        .bind(keep.unwrap_or(Uuid::nil()))
        .fetch_all(&mut *conn)
        .await?;
    record_family_revocations(conn, ids, revoking).await
}
