//! authd-verify against the real authd, booted in-process on port 0 by the server's own
//! test harness (tests/api/helpers.rs, included below, not copied). SQLite by default;
//! Postgres and Redis when AUTHD_TEST_DATABASE_URL / AUTHD_TEST_REDIS_URL are set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// Shared with the server's suite: the harness, the token forger and the forged cases.
#[allow(dead_code)]
#[path = "../../../tests/api/forged_cases.rs"]
mod forged_cases;
#[allow(dead_code)]
#[path = "../../../tests/api/forger.rs"]
mod forger;
#[allow(dead_code)]
#[path = "../../../tests/api/helpers.rs"]
mod helpers;

mod extractors;
mod introspection;
mod keys;
mod support;
mod verify;
