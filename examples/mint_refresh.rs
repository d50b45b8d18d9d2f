//! Mints refresh tokens straight into authd's database for the refresh benchmark (each
//! token is single use, and logging in 100,000 times would measure argon2, not refresh):
//! one family per token, for an existing user and the default client, exactly as a login
//! stores them (`Store::create_family`). The peer's benchmark mints its tokens the same
//! way (shared/bench/peer-oidc-provider/server.mjs). Uses authd's configuration
//! (AUTHD__DATABASE__URL ...).
//!
//!   cargo run --release --example mint_refresh -- <username> <count> <out file>
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;

use authd::config::Settings;
use authd::domain::Username;
use authd::startup::open_store;
use authd::store::Family;
use authd::tokens::RefreshToken;
use futures_util::StreamExt;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let username = Username::parse(&args[1]).unwrap();
    let count: usize = args[2].parse().unwrap();
    let settings = Settings::load(None).unwrap();
    let store = open_store(&settings).await.unwrap();
    let user = store
        .user_by_username(&username)
        .await
        .unwrap()
        .expect("the user exists");
    let client = settings.default_client.id.as_str().to_owned();
    let absolute = chrono::Duration::from_std(settings.tokens.refresh_absolute_ttl).unwrap();
    let start = std::time::Instant::now();
    let tokens: Vec<String> = futures_util::stream::iter(0..count)
        .map(|_| {
            let (store, client) = (store.clone(), client.clone());
            async move {
                let now = chrono::Utc::now();
                let token = RefreshToken::generate();
                let family = Family {
                    id: uuid::Uuid::new_v4(),
                    user_id: user.id,
                    client_id: client,
                    scope: String::new(),
                    created_at: now,
                    last_used_at: now,
                    expires_at: now + absolute,
                    revoked_at: None,
                    revoked_reason: None,
                };
                store.create_family(&family, &token.hash()).await.unwrap();
                token.into_string()
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let mut out = std::io::BufWriter::new(std::fs::File::create(&args[3]).unwrap());
    for token in &tokens {
        writeln!(out, "{token}").unwrap();
    }
    out.flush().unwrap();
    eprintln!("minted {count} refresh tokens in {:?}", start.elapsed());
}
