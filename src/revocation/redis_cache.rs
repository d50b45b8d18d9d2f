//! The Redis revocation cache, shared by every instance.
//! Keys: `<prefix>rev:jti:<jti>` and `<prefix>rev:sid:<sid>`, each expiring with what
//! it revokes, and `<prefix>rev:loaded`, set once the cache holds everything the
//! database does; its absence means Redis lost its state.

use chrono::{DateTime, Utc};

use crate::shared_state::RedisConnection;
use crate::store::{Revocation, RevocationKind};

pub struct RedisCache {
    conn: RedisConnection,
    prefix: String,
}

impl RedisCache {
    pub fn new(conn: RedisConnection, prefix: &str) -> Self {
        Self {
            conn,
            prefix: prefix.to_owned(),
        }
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

    pub async fn add(&self, entries: &[Revocation], now: DateTime<Utc>) -> anyhow::Result<()> {
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
