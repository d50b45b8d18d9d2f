//! The Redis revocation cache, shared by every instance.
//! Keys: `<prefix>rev:jti:<jti>` and `<prefix>rev:sid:<sid>`, each expiring with what
//! it revokes, and `<prefix>rev:loaded`, set once the cache holds everything the
//! database does; its absence means Redis lost its state. Each new revocation is also
//! published on `<prefix>rev:events` as `<kind> <expires unix seconds> <value>`, so
//! every instance can keep an in-process mirror current.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;

use crate::shared_state::{RedisConnection, SharedRedis};
use crate::store::{Revocation, RevocationKind};

pub struct RedisCache {
    conn: RedisConnection,
    client: redis::Client,
    prefix: String,
}

impl RedisCache {
    pub fn new(redis: SharedRedis, prefix: &str) -> Self {
        Self {
            conn: redis.conn,
            client: redis.client,
            prefix: prefix.to_owned(),
        }
    }

    fn channel(&self) -> String {
        format!("{}rev:events", self.prefix)
    }

    /// Subscribes to revocation events on a connection of its own; `on_subscribed`
    /// runs once the subscription is in place (every later event will arrive), then
    /// each event goes to `on_event`. Returns when the connection is lost.
    pub async fn watch<F>(
        &self,
        on_subscribed: F,
        on_event: impl Fn(Revocation),
    ) -> anyhow::Result<()>
    where
        F: std::future::Future<Output = anyhow::Result<()>>,
    {
        let mut pubsub =
            tokio::time::timeout(Duration::from_secs(5), self.client.get_async_pubsub()).await??;
        pubsub.subscribe(self.channel()).await?;
        on_subscribed.await?;
        let mut messages = pubsub.on_message();
        while let Some(message) = messages.next().await {
            match message
                .get_payload::<String>()
                .ok()
                .and_then(|p| parse_event(&p))
            {
                Some(revocation) => on_event(revocation),
                None => tracing::warn!("malformed revocation event ignored"),
            }
        }
        anyhow::bail!("revocation event subscription closed")
    }

    fn key(&self, kind: RevocationKind, value: &str) -> String {
        format!("{}rev:{}:{value}", self.prefix, kind.as_str())
    }

    fn loaded_key(&self) -> String {
        format!("{}rev:loaded", self.prefix)
    }

    /// `Some(revoked)`, or `None` when Redis has lost its state.
    pub async fn check(&self, jti: &str, sid: Option<&str>) -> anyhow::Result<Option<bool>> {
        let mut cmd = redis::cmd("MGET");
        cmd.arg(self.loaded_key())
            .arg(self.key(RevocationKind::Jti, jti));
        if let Some(sid) = sid {
            cmd.arg(self.key(RevocationKind::Sid, sid));
        }
        let values: Vec<Option<String>> = cmd.query_async(&mut self.conn.clone()).await?;
        let mut values = values.into_iter();
        if values.next().flatten().is_none() {
            return Ok(None);
        }
        Ok(Some(values.any(|v| v.is_some())))
    }

    /// Stores `entries`; with `publish`, also tells every subscribed instance.
    pub async fn add(
        &self,
        entries: &[Revocation],
        publish: bool,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for entry in entries {
            let ttl = (entry.expires_at - now).num_seconds().max(1);
            pipe.cmd("SET")
                .arg(self.key(entry.kind, &entry.value))
                .arg(1)
                .arg("EX")
                .arg(ttl)
                .ignore();
            if publish {
                pipe.cmd("PUBLISH")
                    .arg(self.channel())
                    .arg(format!(
                        "{} {} {}",
                        entry.kind.as_str(),
                        entry.expires_at.timestamp(),
                        entry.value
                    ))
                    .ignore();
            }
        }
        pipe.query_async::<()>(&mut self.conn.clone()).await?;
        Ok(())
    }

    pub async fn mark_loaded(&self) -> anyhow::Result<()> {
        redis::cmd("SET")
            .arg(self.loaded_key())
            .arg(1)
            .query_async::<()>(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    pub async fn loaded(&self) -> anyhow::Result<bool> {
        let exists: bool = redis::cmd("EXISTS")
            .arg(self.loaded_key())
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(exists)
    }

    pub async fn ping(&self) -> anyhow::Result<()> {
        redis::cmd("PING")
            .query_async::<()>(&mut self.conn.clone())
            .await?;
        Ok(())
    }
}

/// `<kind> <expires unix seconds> <value>`, as `add` publishes it.
fn parse_event(payload: &str) -> Option<Revocation> {
    let mut parts = payload.splitn(3, ' ');
    let kind = match parts.next()? {
        "jti" => RevocationKind::Jti,
        "sid" => RevocationKind::Sid,
        _ => return None,
    };
    let expires_at = DateTime::from_timestamp(parts.next()?.parse().ok()?, 0)?;
    let value = parts.next().filter(|v| !v.is_empty())?.to_owned();
    Some(Revocation {
        kind,
        value,
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_parse_back_and_garbage_is_refused() {
        let parsed = parse_event("sid 1700000000 0b5c-42").unwrap();
        assert_eq!(parsed.kind, RevocationKind::Sid);
        assert_eq!(parsed.value, "0b5c-42");
        assert_eq!(parsed.expires_at.timestamp(), 1_700_000_000);
        for bad in [
            "",
            "sid",
            "sid 12",
            "sid 12 ",
            "foo 12 x",
            "jti x y",
            "jti 99999999999999999 y",
        ] {
            assert!(parse_event(bad).is_none(), "{bad:?}");
        }
    }
}
