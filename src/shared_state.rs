//! The connection to Redis, where instances share state: revocations
//! (`revocation::redis_cache`) and login throttling (`auth::throttle`). One connection
//! manager per process, cloned by each user; it reconnects on its own. The client opens
//! the extra connection a subscription needs (revocation events).

use std::time::Duration;

use anyhow::Context;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

pub use redis::aio::ConnectionManager as RedisConnection;

/// The shared connection, and the client that opened it.
#[derive(Clone)]
pub struct SharedRedis {
    pub conn: ConnectionManager,
    pub client: redis::Client,
}

/// Connects to `url`. Short timeouts: a request waiting on a dead Redis should get its
/// 503 quickly rather than hang.
pub async fn connect(url: &str) -> anyhow::Result<SharedRedis> {
    let client = redis::Client::open(url).context("redis.url is not a valid Redis URL")?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Duration::from_secs(1))
        .set_response_timeout(Duration::from_secs(1))
        .set_number_of_retries(1)
        .set_max_delay(500);
    let conn = tokio::time::timeout(
        Duration::from_secs(5),
        client.get_connection_manager_with_config(config),
    )
    .await
    .context("cannot connect to Redis at redis.url (timed out)")?
    .context("cannot connect to Redis at redis.url")?;
    Ok(SharedRedis { conn, client })
}
