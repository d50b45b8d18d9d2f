//! The account API, `/account/v1` (admin-api.md §3): a user acting on their own account
//! with their own access token (`auth::AccountCaller`), and self-registration. Errors are
//! RFC 9457 problems (`routes/problem.rs`), bodies as at `/admin/v1` (JSON objects only,
//! 16 KiB, unknown members refused).

pub mod auth;
pub mod me;
pub mod password;
pub mod register;
pub mod sessions;

crate::route_table! {
    "/me" => { get: me::get },
    "/password" => { post: password::change },
    "/sessions" => { get: sessions::list, delete: sessions::end_others },
    "/sessions/{sid}" => { delete: sessions::end },
    "/register" => { post: register::register },
}
