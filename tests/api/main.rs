//! The integration suite: one binary that boots the real server and speaks HTTP.
//! SQLite by default; Postgres when AUTHD_TEST_DATABASE_URL is set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod account;
mod accounts;
mod admin;
mod admin_clients;
mod admin_keys_audit;
mod admin_sessions;
mod admin_users;
mod admin_users_more;
mod audit;
mod cli;
mod client_cli;
mod clients;
mod concurrency;
mod forged;
mod forged_cases;
mod forger;
mod health;
mod helpers;
mod hostile;
mod idempotency;
mod imported_hashes;
mod introspect;
mod keys;
mod metrics;
mod migrations;
mod openapi;
mod refresh;
mod rotation;
mod secrets;
mod throttle;
mod token;
mod userinfo;
mod well_known;
