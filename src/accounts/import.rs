//! Bulk import of users with their password hashes (admin-api.md §2 `POST /users/import`,
//! §4 `authd user import FILE`): NDJSON, one user object per line, each line created or
//! refused on its own.
//!
//! A line holds `username` and `password_hash` (never a plaintext `password`), and
//! optionally `roles`, `disabled`, `email`, `email_verified`, `name`, `given_name`,
//! `family_name`; any other member is refused (no mass assignment). Memory stays flat:
//! the input is read one bounded line at a time and no user is held past its line.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Seek, SeekFrom};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{AccountError, Accounts, Actor};
use crate::audit::{AuditEvent, EventKind};
use crate::domain::{Email, ImportedHash, PersonName, Role, Username};
use crate::store::{NewUser, PasswordHash, Profile};

/// Most lines (with content) in one import (admin-api.md §2).
pub const MAX_LINES: usize = 10_000;
/// Longest line: a user object is well under 2 KiB; 16 KiB is the admin API's body limit.
pub const MAX_LINE_BYTES: usize = 16 * 1024;

/// Every member a line may have.
const MEMBERS: [&str; 9] = [
    "username",
    "password_hash",
    "roles",
    "disabled",
    "email",
    "email_verified",
    "name",
    "given_name",
    "family_name",
];

/// One line's user, parsed. `Debug` is safe: `ImportedHash` shows its scheme only.
#[derive(Debug, Clone)]
pub struct ImportRecord {
    pub username: Username,
    pub password_hash: ImportedHash,
    pub roles: Vec<Role>,
    pub disabled: bool,
    pub profile: Profile,
}

impl ImportRecord {
    /// Parses one NDJSON line. Errors are one line and never repeat a member's value:
    /// a value may be a hash (or a password put where it does not belong). That is why
    /// the members are read by hand rather than by a serde derive, whose type errors
    /// quote the offending value.
    pub fn parse(line: &str) -> Result<Self, String> {
        // A syntax error names a position, never the text.
        let value: Value =
            serde_json::from_str(line).map_err(|e| format!("not valid JSON: {e}"))?;
        let Value::Object(mut object) = value else {
            return Err("not a JSON object".to_owned());
        };
        if object.contains_key("password") {
            return Err(
                "a plaintext password is refused: give password_hash (an existing hash)".to_owned(),
            );
        }
        if let Some(unknown) = object.keys().find(|k| !MEMBERS.contains(&k.as_str())) {
            let shown: String = unknown.chars().take(64).collect();
            return Err(format!(
                "unknown member {shown:?}; allowed: {}",
                MEMBERS.join(", ")
            ));
        }
        let username = string(&mut object, "username")?
            .ok_or("username is required")
            .map(|raw| Username::parse(&raw))??;
        let password_hash = string(&mut object, "password_hash")?
            .ok_or("password_hash is required")
            .map(|raw| ImportedHash::parse(&raw))??;
        let roles = match object.remove("roles") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(role) => Role::parse(role),
                    _ => Err("roles must be an array of strings".to_owned()),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err("roles must be an array of strings".to_owned()),
        };
        let name = |object: &mut Map<String, Value>, member: &str| {
            string(object, member)?
                .map(|raw| PersonName::parse(&raw, member))
                .transpose()
        };
        let profile = Profile {
            email: string(&mut object, "email")?
                .map(|raw| Email::parse(&raw))
                .transpose()?,
            email_verified: boolean(&mut object, "email_verified")?,
            name: name(&mut object, "name")?,
            given_name: name(&mut object, "given_name")?,
            family_name: name(&mut object, "family_name")?,
        };
        Ok(Self {
            username,
            password_hash,
            roles,
            disabled: boolean(&mut object, "disabled")?,
            profile,
        })
    }
}

/// An optional string member; `null` is the same as absent.
fn string(object: &mut Map<String, Value>, member: &str) -> Result<Option<String>, String> {
    match object.remove(member) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("{member} must be a string")),
    }
}

/// An optional boolean member, false when absent or `null`.
fn boolean(object: &mut Map<String, Value>, member: &str) -> Result<bool, String> {
    match object.remove(member) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(b),
        Some(_) => Err(format!("{member} must be true or false")),
    }
}

/// Why a line was refused: `Invalid` is the line's own fault (400 over HTTP),
/// `Conflict` a username already taken (409).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    Invalid,
    Conflict,
}

/// A refused line: its number (from 1, counting every line of the input) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineFailure {
    pub line: usize,
    pub kind: FailureKind,
    pub detail: String,
}

/// What an import did. `failed` is bounded by `MAX_LINES`.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    pub created: usize,
    pub failed: Vec<LineFailure>,
}

/// What the first pass over an import found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Scan {
    /// Lines with content (blank lines are skipped, not counted).
    lines: usize,
    /// Some line gives `roles` (not `null`).
    sets_roles: bool,
}

/// A line read only for its `roles` member (`null` reads as absent).
#[derive(serde::Deserialize)]
struct RolesOnly {
    roles: Option<serde::de::IgnoredAny>,
}

/// Counts the lines with content and, when `look_for_roles`, whether any gives `roles`;
/// one bounded line at a time (flat memory).
fn scan(reader: &mut impl BufRead, look_for_roles: bool) -> std::io::Result<Scan> {
    let mut found = Scan {
        lines: 0,
        sets_roles: false,
    };
    let mut buf = Vec::with_capacity(1024);
    while let Some(fits) = read_line(reader, &mut buf)? {
        let text = std::str::from_utf8(&buf).ok();
        if fits && text.is_some_and(|t| t.trim().is_empty()) {
            continue;
        }
        found.lines += 1;
        if look_for_roles && !found.sets_roles {
            // Only whether `roles` is there: no map of the line is built.
            if let Ok(line) = serde_json::from_slice::<RolesOnly>(&buf) {
                found.sets_roles = line.roles.is_some();
            }
        }
    }
    Ok(found)
}

/// Rows per multi-row insert: one round trip and one transaction per batch.
pub const BATCH: usize = 500;

/// Lines parsed and waiting for their batch's insert.
#[derive(Default)]
struct Batch {
    lines: Vec<usize>,
    users: Vec<NewUser>,
    names: HashSet<String>,
}

/// Reads one line into `buf` (without its line ending), at most `MAX_LINE_BYTES`; a
/// longer line is skipped to its end. `None` at the end of the input, `Some(false)`
/// for a line too long.
fn read_line(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<Option<bool>> {
    buf.clear();
    let n = std::io::Read::take(&mut *reader, MAX_LINE_BYTES as u64 + 1).read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        return Ok(Some(true));
    }
    if buf.len() <= MAX_LINE_BYTES {
        // The last line, without a line ending.
        return Ok(Some(true));
    }
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        if let Some(end) = chunk.iter().position(|&b| b == b'\n') {
            reader.consume(end + 1);
            break;
        }
        let n = chunk.len();
        reader.consume(n);
    }
    Ok(Some(false))
}

impl Accounts {
    /// Imports NDJSON users from `input`. An input of more than `MAX_LINES` lines with
    /// content is refused whole before anything is created, and so is one where a line
    /// gives `roles` when `may_assign_roles` is false (`RolesNotAllowed`); hence a first
    /// pass (and `Seek`). Blank lines are skipped. Each line is created or refused on
    /// its own, in batches of `BATCH` rows per insert (a taken username, by another user
    /// or an earlier line, refuses that line only); a database failure stops the import
    /// (`ImportStopped`). Reads are blocking: give it a file (the CLI) or a body already
    /// in memory (the admin API).
    pub async fn import_users<R: BufRead + Seek + Send>(
        &self,
        actor: &Actor,
        mut input: R,
        may_assign_roles: bool,
        now: DateTime<Utc>,
    ) -> Result<ImportReport, AccountError> {
        let found = scan(&mut input, !may_assign_roles).map_err(AccountError::Read)?;
        if found.lines > MAX_LINES {
            return Err(AccountError::TooManyLines);
        }
        if found.sets_roles {
            return Err(AccountError::RolesNotAllowed);
        }
        input.seek(SeekFrom::Start(0)).map_err(AccountError::Read)?;
        let mut report = ImportReport::default();
        let mut batch = Batch::default();
        let mut buf = Vec::with_capacity(1024);
        let mut line = 0;
        while let Some(fits) = read_line(&mut input, &mut buf).map_err(AccountError::Read)? {
            line += 1;
            let invalid = |detail: String| LineFailure {
                line,
                kind: FailureKind::Invalid,
                detail,
            };
            if !fits {
                report
                    .failed
                    .push(invalid(format!("longer than {MAX_LINE_BYTES} bytes")));
                continue;
            }
            let Ok(text) = std::str::from_utf8(&buf) else {
                report.failed.push(invalid("not UTF-8".to_owned()));
                continue;
            };
            if text.trim().is_empty() {
                continue;
            }
            let record = match ImportRecord::parse(text) {
                Ok(record) => record,
                Err(detail) => {
                    report.failed.push(invalid(detail));
                    continue;
                }
            };
            // A name twice in one batch: the earlier line goes in first, so the later
            // one meets it as a taken name, as it would line by line.
            if batch.users.len() == BATCH || batch.names.contains(record.username.as_str()) {
                self.insert_batch(actor, &mut batch, &mut report, now)
                    .await?;
            }
            batch.names.insert(record.username.as_str().to_owned());
            batch.lines.push(line);
            batch.users.push(NewUser {
                username: record.username,
                password_hash: PasswordHash::from(record.password_hash),
                roles: record.roles,
                disabled: record.disabled,
                profile: record.profile,
            });
        }
        self.insert_batch(actor, &mut batch, &mut report, now)
            .await?;
        report.failed.sort_by_key(|f| f.line);
        Ok(report)
    }

    /// Inserts a batch in one statement, reports each of its lines, audits the users
    /// created, and empties the batch.
    async fn insert_batch(
        &self,
        actor: &Actor,
        batch: &mut Batch,
        report: &mut ImportReport,
        now: DateTime<Utc>,
    ) -> Result<(), AccountError> {
        if batch.users.is_empty() {
            return Ok(());
        }
        let created = match self.store.insert_users(&batch.users, now).await {
            Ok(created) => created,
            Err(e) => {
                // The database failed: later lines would fail alike, so the import
                // stops and says how far it got (no line of this batch was created).
                return Err(AccountError::ImportStopped {
                    line: batch.lines.first().copied().unwrap_or_default(),
                    created: report.created,
                    source: Box::new(AccountError::Store(e)),
                });
            }
        };
        let ids: HashMap<String, Uuid> = created.into_iter().map(|(id, n)| (n, id)).collect();
        let mut events = Vec::with_capacity(ids.len());
        for (line, user) in batch.lines.drain(..).zip(batch.users.drain(..)) {
            match ids.get(user.username.as_str()) {
                Some(id) => {
                    report.created += 1;
                    let event = AuditEvent::new(EventKind::UserAdded, now)
                        .user(*id)
                        .detail("password_hash_imported");
                    events.push(actor.on_user_event(event));
                }
                None => report.failed.push(LineFailure {
                    line,
                    kind: FailureKind::Conflict,
                    detail: AccountError::UsernameTaken(user.username).to_string(),
                }),
            }
        }
        batch.names.clear();
        self.audit.record_all(events).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bcrypt hash at the lowest cost, as another system would have made it.
    fn bcrypt_hash() -> String {
        bcrypt::hash_with_salt("a password", 4, *b"sixteen byte slt")
            .unwrap()
            .format_for_version(bcrypt::Version::TwoB)
    }

    #[test]
    fn a_full_line_parses_into_domain_values() {
        let h = bcrypt_hash();
        let line = format!(
            r#"{{"username":"Jane","password_hash":"{h}","roles":["ops"],"disabled":true,
                "email":"jane@Example.com","email_verified":true,"name":"Jane Doe",
                "given_name":"Jane","family_name":"Doe"}}"#
        )
        .replace('\n', " ");
        let record = ImportRecord::parse(&line).unwrap();
        assert_eq!(record.username.as_str(), "jane");
        assert_eq!(record.roles, vec![Role::parse("ops").unwrap()]);
        assert!(record.disabled && record.profile.email_verified);
        assert_eq!(record.profile.email.unwrap().as_str(), "jane@example.com");
        assert_eq!(record.profile.family_name.unwrap().as_str(), "Doe");
    }

    #[test]
    fn optional_members_may_be_absent_or_null() {
        let h = bcrypt_hash();
        let line = format!(r#"{{"username":"a","password_hash":"{h}","email":null,"roles":null}}"#);
        let record = ImportRecord::parse(&line).unwrap();
        assert!(record.roles.is_empty() && record.profile == Profile::default());
    }

    #[test]
    fn plaintext_passwords_unknown_members_and_bad_types_are_refused_without_echoing_values() {
        let h = bcrypt_hash();
        let secret = "Hunter2-Secret-Value";
        for (line, needle) in [
            (
                format!(r#"{{"username":"a","password":"{secret}"}}"#),
                "plaintext",
            ),
            (
                format!(r#"{{"username":"a","password_hash":"{h}","admin":true}}"#),
                "unknown member \"admin\"",
            ),
            (
                format!(r#"{{"username":"a","password_hash":"{h}","disabled":"{secret}"}}"#),
                "disabled",
            ),
            (
                format!(r#"{{"username":"a","password_hash":"{h}","roles":"{secret}"}}"#),
                "roles",
            ),
            (
                format!(r#"{{"username":"a","password_hash":"{secret}"}}"#),
                "password_hash must be",
            ),
            (
                format!(r#"{{"username":"a","password_hash":["{secret}"]}}"#),
                "password_hash must be a string",
            ),
            (
                format!(r#"{{"username":"a","password_hash":"{h}","email":"{secret}"}}"#),
                "@",
            ),
            (format!(r#"["{secret}"]"#), "not a JSON object"),
            (format!(r#""{secret}""#), "not a JSON object"),
            (
                format!(r#"{{"username":"a","password_hash":"{secret}"#),
                "not valid JSON",
            ),
            (
                format!(r#"{{"password_hash":"{h}"}}"#),
                "username is required",
            ),
            (
                r#"{"username":"a"}"#.to_owned(),
                "password_hash is required",
            ),
        ] {
            let err = ImportRecord::parse(&line).unwrap_err();
            assert!(err.contains(needle), "{line}: {err}");
            assert!(!err.contains(secret) && !err.contains(&h), "{err}");
        }
    }

    #[test]
    fn lines_are_counted_by_content_and_read_bounded() {
        let text = b"a\n\n  \nb\r\nc";
        let found = scan(&mut &text[..], true).unwrap();
        assert_eq!(found.lines, 3);
        assert!(!found.sets_roles);
        let text = b"{\"roles\":null}\n{\"username\":\"a\",\"roles\":[]}\n";
        assert!(scan(&mut &text[..], true).unwrap().sets_roles);
        assert!(!scan(&mut &text[..], false).unwrap().sets_roles);
        let mut long = vec![b'x'; MAX_LINE_BYTES + 10];
        long.extend_from_slice(b"\nnext\n");
        let mut reader = &long[..];
        let mut buf = Vec::new();
        assert_eq!(read_line(&mut reader, &mut buf).unwrap(), Some(false));
        assert_eq!(read_line(&mut reader, &mut buf).unwrap(), Some(true));
        assert_eq!(buf, b"next");
        assert_eq!(read_line(&mut reader, &mut buf).unwrap(), None);
        let mut crlf = &b"one\r\ntwo"[..];
        assert_eq!(read_line(&mut crlf, &mut buf).unwrap(), Some(true));
        assert_eq!(buf, b"one");
        assert_eq!(read_line(&mut crlf, &mut buf).unwrap(), Some(true));
        assert_eq!(buf, b"two");
    }
}
