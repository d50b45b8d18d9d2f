//! SQL text that Postgres and SQLite both run as written (`$N` placeholders, which
//! sqlx's SQLite driver accepts): written once, bound per dialect by `postgres.rs` and
//! `sqlite.rs` (see the decision in `store/mod.rs`).

/// The columns of a user row, in the order both row types expect.
pub(super) const USER_COLUMNS: &str = "id, username, password_hash, roles, disabled, email, \
     email_verified, name, given_name, family_name, password_changed_at, created_at, updated_at";

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
