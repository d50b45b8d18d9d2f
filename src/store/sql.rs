//! SQL text that Postgres and SQLite both run as written (`$N` placeholders, which
//! sqlx's SQLite driver accepts): written once, bound per dialect by `postgres.rs` and
//! `sqlite.rs` (see the decision in `store/mod.rs`).

/// The columns of a user row, in the order both row types expect.
pub(super) const USER_COLUMNS: &str = "id, username, password_hash, roles, disabled, email, \
     email_verified, name, given_name, family_name, password_changed_at, created_at, updated_at";

// ---- sessions (admin-api.md §2, §3): a session is a live refresh family ----

/// A user's live sessions: not revoked, within their absolute lifetime ($2 = now) and
/// used since $3 (now − idle TTL); newest first.
pub(super) const LIVE_SESSIONS: &str = "select id, user_id, client_id, scope, created_at, \
     last_used_at, expires_at, revoked_at, revoked_reason
     from refresh_families
     where user_id = $1 and revoked_at is null and expires_at > $2 and last_used_at > $3
     order by created_at desc, id";

/// Ends one live session ($2 = now, $3 = reason, $4 = now − idle TTL) and returns it;
/// no row when it is unknown or had already ended.
pub(super) const END_SESSION: &str = "update refresh_families
     set revoked_at = $2, revoked_reason = $3
     where id = $1 and revoked_at is null and expires_at > $2 and last_used_at > $4
     returning id, user_id, client_id, scope, created_at, last_used_at, expires_at, \
     revoked_at, revoked_reason";

/// `END_SESSION` only when the session is user $5's.
pub(super) const END_OWN_SESSION: &str = "update refresh_families
     set revoked_at = $2, revoked_reason = $3
     where id = $1 and revoked_at is null and expires_at > $2 and last_used_at > $4
       and user_id = $5
     returning id, user_id, client_id, scope, created_at, last_used_at, expires_at, \
     revoked_at, revoked_reason";

/// Ends every session of user $1 but $4 (the nil uuid when none is kept); returns their
/// ids.
pub(super) const END_USER_SESSIONS: &str = "update refresh_families
     set revoked_at = $2, revoked_reason = $3
     where user_id = $1 and revoked_at is null and id <> $4
     returning id";

/// Whether user $1 exists (a count, which decodes alike on both databases).
pub(super) const USER_EXISTS: &str = "select count(*) from users where id = $1";

/// Sets user $1's password hash at $3.
pub(super) const SET_PASSWORD_BY_ID: &str = "update users
     set password_hash = $2, password_changed_at = $3, updated_at = $3
     where id = $1";

// ---- Idempotency-Key (admin-api.md §1) ----

/// Deletes caller $1's key $2 when it expired ($3 = now) or its first request has been
/// in progress since before $4 (it died without releasing its claim).
pub(super) const IDEMPOTENCY_DROP_STALE: &str = "delete from idempotency_keys
     where caller = $1 and key = $2
       and (expires_at <= $3 or (state = 'in_progress' and created_at <= $4))";

/// Claims a key: of concurrent claims of one (caller, key), one insert wins.
pub(super) const IDEMPOTENCY_CLAIM: &str = "insert into idempotency_keys
     (caller, key, request_sha256, state, created_at, expires_at)
     values ($1, $2, $3, 'in_progress', $4, $5)
     on conflict (caller, key) do nothing";

pub(super) const IDEMPOTENCY_GET: &str =
    "select request_sha256, state, status, body, location from idempotency_keys
     where caller = $1 and key = $2";

/// Stores the response of a claimed key.
pub(super) const IDEMPOTENCY_COMPLETE: &str = "update idempotency_keys
     set state = 'done', status = $3, body = $4, location = $5
     where caller = $1 and key = $2 and state = 'in_progress'";

/// Releases a claim whose request failed: a retry runs again.
pub(super) const IDEMPOTENCY_RELEASE: &str = "delete from idempotency_keys
     where caller = $1 and key = $2 and state = 'in_progress'";

pub(super) const IDEMPOTENCY_PRUNE: &str = "delete from idempotency_keys where expires_at <= $1";
/// The columns of a client row, in the order both row types expect.
pub(super) const CLIENT_COLUMNS: &str = "id, kind, secret_sha256, grants, audiences, scopes, \
     default_scopes, created_at, updated_at, previous_secret_sha256, previous_secret_expires_at";

/// Rotation: the current secret becomes the previous one, in one statement (a
/// concurrent rotation cannot lose a secret between a read and a write).
pub(super) const ROTATE_CLIENT_SECRET: &str = "update clients
     set previous_secret_sha256 = secret_sha256, previous_secret_expires_at = $3,
         secret_sha256 = $2, updated_at = $4
     where id = $1 and kind = 'confidential'";

/// Forgets a previous secret that still works (an expired one is already gone).
pub(super) const REMOVE_PREVIOUS_CLIENT_SECRET: &str = "update clients
     set previous_secret_sha256 = null, previous_secret_expires_at = null, updated_at = $2
     where id = $1 and previous_secret_expires_at > $2";

/// A merge patch's result, written only over the version the patch was computed from.
pub(super) const UPDATE_CLIENT: &str = "update clients
     set audiences = $2, grants = $3, scopes = $4, default_scopes = $5, updated_at = $6
     where id = $1 and updated_at = $7";

/// Replaces a user's mutable members (admin-api.md §2 `PATCH /users/{id}`) only if the
/// row is still the version the caller read (`updated_at = $2`): the precondition is
/// part of the write, so two concurrent patches cannot both win. Followed by
/// `returning` and the user columns.
pub(super) const UPDATE_USER: &str = "update users set roles = $3, disabled = $4, email = $5, \
     email_verified = $6, name = $7, given_name = $8, family_name = $9, updated_at = $10 \
     where id = $1 and updated_at = $2";

/// Sets a password by id; with `$4` (the `updated_at` the caller read) only if the row
/// is still that version.
pub(super) const SET_PASSWORD: &str = "update users \
     set password_hash = $2, password_changed_at = $3, updated_at = $3 \
     where id = $1 and ($4 is null or updated_at = $4) returning id";

/// Deletes a user by id; with `$2`, only if the row is still that version.
pub(super) const DELETE_USER: &str =
    "delete from users where id = $1 and ($2 is null or updated_at = $2)";

/// One page of users (admin-api.md §1 keyset pagination), ordered by username: `$1` is
/// how many rows; the filters present follow in this order, each with its own
/// placeholders: `after` (`username > $n`: stable under concurrent inserts, never an
/// offset), `username_prefix` (`$n` the prefix, `$n+1` its length in characters),
/// `role` (the dialect's `role_predicate`, written with `{}` for its placeholder) and
/// `disabled`. The prefix test is `substr(...) = prefix`, right whatever the
/// database's collation (a computed upper bound or `like` is not: wildcards, and
/// non-bytewise collations); `username >= prefix` lets the index start at the prefix.
pub(super) fn users_page(query: &super::UsersQuery, role_predicate: &str) -> String {
    let mut conditions = Vec::new();
    let mut n = 1;
    let mut next = || {
        n += 1;
        n
    };
    if query.after.is_some() {
        conditions.push(format!("username > ${}", next()));
    }
    if query.username_prefix.is_some() {
        let (p, len) = (next(), next());
        conditions.push(format!(
            "username >= ${p} and substr(username, 1, ${len}) = ${p}"
        ));
    }
    if query.role.is_some() {
        conditions.push(role_predicate.replace("{}", &format!("${}", next())));
    }
    if query.disabled.is_some() {
        conditions.push(format!("disabled = ${}", next()));
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!(" where {}", conditions.join(" and "))
    };
    format!("select {USER_COLUMNS} from users{filter} order by username limit $1")
}

/// Columns bound per row by `insert_users`.
pub(super) const INSERT_USER_BINDS: usize = 10;

/// Inserts `rows` users in one statement (the import, admin-api.md §2): `$1` is the
/// time (created, updated, password changed), then per row `INSERT_USER_BINDS` values in
/// the order id, username, password_hash, roles, disabled, email, email_verified, name,
/// given_name, family_name. A taken username is skipped, not an error: the returned
/// usernames are those created, and every other row of the batch was a conflict.
pub(super) fn insert_users(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|row| {
            let first = 2 + row * INSERT_USER_BINDS;
            let binds: Vec<String> = (first..first + INSERT_USER_BINDS)
                .map(|n| format!("${n}"))
                .collect();
            format!("({}, $1, $1, $1)", binds.join(", "))
        })
        .collect();
    format!(
        "insert into users (id, username, password_hash, roles, disabled, email, \
         email_verified, name, given_name, family_name, password_changed_at, created_at, \
         updated_at) values {} on conflict (username) do nothing returning id, username",
        values.join(", ")
    )
}

// ---- statements both backends had written twice, moved here when the seam was decided ----

/// Promotes the waiting key.
pub(super) const ACTIVATE_KEY: &str =
    "update signing_keys set state = 'active', activated_at = $2 where kid = $1 and state = 'next'";

/// What changes whenever a client is added, changed or removed.
pub(super) const CLIENTS_VERSION: &str = "select count(*), max(updated_at) from clients";

/// Consumes a refresh token once: of concurrent attempts one gets its family.
pub(super) const CONSUME_REFRESH_TOKEN: &str =
    "update refresh_tokens set consumed_at = $2 where token_hash = $1 and consumed_at is null returning family_id";

/// Starts a session (refresh-token family).
pub(super) const INSERT_FAMILY: &str =
    "insert into refresh_families (id, user_id, client_id, scope, created_at, last_used_at, expires_at) values ($1, $2, $3, $4, $5, $5, $6)";

/// Adds a key; one already stored under the kid is left alone.
pub(super) const INSERT_KEY: &str =
    "insert into signing_keys (kid, alg, state, created_at, activated_at) values ($1, $2, $3, $4, $5) on conflict do nothing";

/// Stores a refresh token's SHA-256 in its family.
pub(super) const INSERT_REFRESH_TOKEN: &str =
    "insert into refresh_tokens (token_hash, family_id, created_at) values ($1, $2, $3)";

/// Readiness.
pub(super) const PING: &str = "select 1";

/// Deletes audit events older than $1 (`audit.retention`).
pub(super) const PRUNE_AUDIT: &str = "delete from audit_events where occurred_at < $1";

/// Deletes sessions that ended before $1 (revoked, past their absolute end) or were last
/// used before $2 (idle); their refresh tokens go with them.
pub(super) const PRUNE_FAMILIES: &str =
    "delete from refresh_families where revoked_at < $1 or expires_at < $1 or last_used_at < $2";

/// Deletes revocations no token can outlive any more.
pub(super) const PRUNE_REVOCATIONS: &str = "delete from revocations where expires_at <= $1";

/// Removes a key that is not the active one.
pub(super) const REMOVE_KEY: &str = "delete from signing_keys where kid = $1 and state <> 'active'";

/// Removes a key retired at or before $2 (its tokens have expired).
pub(super) const REMOVE_RETIRED_KEY: &str =
    "delete from signing_keys where kid = $1 and state = 'retired' and retired_at <= $2";

/// Retires the active key (before promoting the next).
pub(super) const RETIRE_ACTIVE_KEY: &str =
    "update signing_keys set state = 'retired', retired_at = $1 where state = 'active'";

/// Revocations recorded since $1 that still matter at $2.
pub(super) const REVOCATIONS_SINCE: &str =
    "select kind, value, expires_at from revocations where revoked_at >= $1 and expires_at > $2";

/// Ends every live session of client $1; returns their ids.
pub(super) const REVOKE_CLIENT_FAMILIES: &str =
    "update refresh_families set revoked_at = $2, revoked_reason = $3 where client_id = $1 and revoked_at is null returning id";

/// Ends one session if it is live.
pub(super) const REVOKE_FAMILY: &str =
    "update refresh_families set revoked_at = $2, revoked_reason = $3 where id = $1 and revoked_at is null";

/// Ends every live session of user $1; returns their ids.
pub(super) const REVOKE_USER_FAMILIES: &str =
    "update refresh_families set revoked_at = $2, revoked_reason = $3 where user_id = $1 and revoked_at is null returning id";

/// Records which token replaced a consumed one.
pub(super) const SET_SUCCESSOR: &str =
    "update refresh_tokens set successor_hash = $2 where token_hash = $1";

/// Every key, oldest first.
pub(super) const SIGNING_KEYS: &str =
    "select kid, alg, state, created_at, activated_at, retired_at from signing_keys order by created_at, kid";

/// Marks a session used.
pub(super) const TOUCH_FAMILY: &str = "update refresh_families set last_used_at = $2 where id = $1";

/// Rewrites an imported or outdated hash as argon2id, only if it is still the one verified.
pub(super) const UPGRADE_PASSWORD_HASH: &str =
    "update users set password_hash = $3, updated_at = $4 where id = $1 and password_hash = $2";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Role, Username};
    use crate::store::UsersQuery;

    #[test]
    fn a_page_binds_its_filters_in_order() {
        let all = UsersQuery {
            after: Some("a".into()),
            username_prefix: Some(Username::parse("b").unwrap()),
            role: Some(Role::parse("ops").unwrap()),
            disabled: Some(true),
            limit: 10,
        };
        let sql = users_page(&all, "{} = any(roles)");
        assert!(sql.contains("username > $2 and username >= $3 and substr(username, 1, $4) = $3 and $5 = any(roles) and disabled = $6"), "{sql}");
        let none = UsersQuery {
            limit: 10,
            ..UsersQuery::default()
        };
        assert!(!users_page(&none, "x").contains("where"));
    }

    #[test]
    fn a_multi_row_insert_numbers_each_rows_placeholders() {
        let sql = insert_users(2);
        assert!(sql.contains("($2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $1, $1, $1), ($12,"));
        assert!(sql.contains("$21, $1, $1, $1) on conflict"), "{sql}");
    }
}
