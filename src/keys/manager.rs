//! The key lifecycle at run time (spec §5): every instance re-reads the key states every
//! `keys.refresh_interval`, carries out what `lifecycle::plan` says is due, and rebuilds
//! its ring when the states changed. Each change is one conditional statement in the
//! database, so when several instances find the same change due, exactly one makes it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::lifecycle::{plan, removable_before, Policy, Step};
use super::material::{key_path, prepare_dir, read_key, write_key, KeyError, KeyPair};
use super::ring::{KeyRing, SharedKeyRing};
use super::{Algorithm, Kid};
use crate::audit::{Audit, AuditEvent, EventKind, Events};
use crate::metrics::Metrics;
use crate::store::{KeyRecord, KeyState, Store};

pub struct KeyManager {
    store: Arc<dyn Store>,
    dir: PathBuf,
    alg: Algorithm,
    policy: Policy,
    refresh_every: Duration,
    ring: SharedKeyRing,
    /// When the active key started signing (unix seconds; 0 = unknown).
    active_since: AtomicI64,
    metrics: Arc<Metrics>,
    audit: Audit,
}

impl KeyManager {
    /// Loads the ring (creating the first key on a first start) and carries out
    /// anything already due.
    pub async fn start(
        store: Arc<dyn Store>,
        dir: &Path,
        alg: Algorithm,
        policy: Policy,
        refresh_every: Duration,
        events: Events,
        now: DateTime<Utc>,
    ) -> Result<Arc<Self>, KeyError> {
        prepare_dir(dir)?;
        if !store
            .signing_keys()
            .await?
            .iter()
            .any(|r| r.state == KeyState::Active)
        {
            if let Some(record) =
                create_key(store.as_ref(), dir, alg, KeyState::Active, now).await?
            {
                events
                    .audit
                    .record(AuditEvent::new(EventKind::KeyCreated, now).detail(record.kid.as_str()))
                    .await;
            }
        }
        let records = store.signing_keys().await?;
        let ring = build_ring(dir, &records, None)?;
        let this = Arc::new(Self {
            store,
            dir: dir.to_path_buf(),
            alg,
            policy,
            refresh_every,
            ring: SharedKeyRing::new(ring),
            active_since: AtomicI64::new(0),
            metrics: events.metrics,
            audit: events.audit,
        });
        this.tick(now).await?;
        Ok(this)
    }

    /// The ring requests sign and verify with.
    pub fn ring(&self) -> SharedKeyRing {
        self.ring.clone()
    }

    /// When the active key started signing, as of the last refresh.
    pub fn active_since(&self) -> Option<DateTime<Utc>> {
        match self.active_since.load(Ordering::Relaxed) {
            0 => None,
            secs => DateTime::from_timestamp(secs, 0),
        }
    }

    /// One refresh at `now`: makes the due changes, then reloads the ring if the states
    /// in the database differ from it.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<(), KeyError> {
        let mut records = self.store.signing_keys().await?;
        let steps = plan(&records, now, &self.policy);
        if !steps.is_empty() {
            for step in steps {
                self.apply(step, now).await?;
            }
            records = self.store.signing_keys().await?;
        }
        let activated_at = records
            .iter()
            .find(|r| r.state == KeyState::Active)
            .and_then(|r| r.activated_at);
        self.active_since.store(
            activated_at.map_or(0, |at| at.timestamp()),
            Ordering::Relaxed,
        );
        let current = self.ring.current();
        if !current.matches(&records) {
            self.ring
                .replace(build_ring(&self.dir, &records, Some(&current))?);
            tracing::info!(
                keys = records.len(),
                active = records
                    .iter()
                    .find(|r| r.state == KeyState::Active)
                    .map(|r| r.kid.as_str())
                    .unwrap_or_default(),
                "signing key ring reloaded"
            );
        }
        Ok(())
    }

    async fn apply(&self, step: Step, now: DateTime<Utc>) -> Result<(), KeyError> {
        match step {
            Step::CreateNext => {
                if let Some(record) = create_key(
                    self.store.as_ref(),
                    &self.dir,
                    self.alg,
                    KeyState::Next,
                    now,
                )
                .await?
                {
                    tracing::info!(event = "key_rotation_scheduled", kid = %record.kid, alg = %record.alg, "next signing key created");
                    self.record(EventKind::KeyCreated, &record.kid, now).await;
                }
            }
            Step::Promote(kid) => {
                if self.store.promote_key(&kid, now).await? {
                    tracing::info!(event = "key_rotated", kid = %kid, "next signing key is now active");
                    self.metrics.key_rotated();
                    self.record(EventKind::KeyRotated, &kid, now).await;
                }
            }
            Step::Remove(kid) => {
                let cutoff = removable_before(now, &self.policy);
                if self.store.remove_key(&kid, Some(cutoff)).await? {
                    remove_key_file(&self.dir, &kid);
                    tracing::info!(event = "key_removed", kid = %kid, "retired signing key unpublished");
                    self.record(EventKind::KeyRemoved, &kid, now).await;
                }
            }
        }
        Ok(())
    }

    async fn record(&self, kind: EventKind, kid: &Kid, now: DateTime<Utc>) {
        self.audit
            .record(AuditEvent::new(kind, now).detail(kid.as_str()))
            .await;
    }

    /// Re-reads the key states every refresh interval; runs until its task is aborted.
    pub async fn sync_loop(self: Arc<Self>) {
        loop {
            tokio::time::sleep(self.refresh_every).await;
            if let Err(e) = self.tick(Utc::now()).await {
                tracing::warn!(error = %e, "signing key refresh failed; keeping the current ring");
            }
        }
    }
}

/// Builds a ring from the records, reusing keys `previous` already parsed and reading
/// the others from `dir`. A key file that cannot be read fails the build when the key is
/// active (this instance could not sign), and is otherwise left out with an error logged
/// (this instance cannot verify its tokens until the file is there).
fn build_ring(
    dir: &Path,
    records: &[KeyRecord],
    previous: Option<&KeyRing>,
) -> Result<KeyRing, KeyError> {
    let mut keys = Vec::with_capacity(records.len());
    for record in records {
        let pair = match previous.and_then(|ring| ring.key(record.kid.as_str())) {
            Some(pair) => pair,
            None => match read_key(dir, &record.kid, record.alg) {
                Ok(pair) => Arc::new(pair),
                Err(e) if record.state != KeyState::Active => {
                    tracing::error!(error = %e, kid = %record.kid, "a published key cannot be loaded: is keys.dir shared by every instance?");
                    continue;
                }
                Err(e) => return Err(e),
            },
        };
        keys.push((record.state, pair));
    }
    KeyRing::new(keys)
}

/// Generates a key of `alg`, writes `<kid>.pem` and records it in `state` (`active` for
/// the first key, `next` for a rotation). `None` when another key already holds that
/// state (another instance got there first): the file is removed again.
pub async fn create_key(
    store: &dyn Store,
    dir: &Path,
    alg: Algorithm,
    state: KeyState,
    now: DateTime<Utc>,
) -> Result<Option<KeyRecord>, KeyError> {
    let (pair, pem) = tokio::task::spawn_blocking(move || KeyPair::generate(alg))
        .await
        .map_err(|e| KeyError::Crypto(e.to_string()))??;
    let path = write_key(dir, &pair.kid, &pem)?;
    let record = KeyRecord {
        kid: pair.kid.clone(),
        alg,
        state,
        created_at: now,
        activated_at: (state == KeyState::Active).then_some(now),
        retired_at: None,
    };
    let inserted = store.insert_key(&record).await;
    if !matches!(inserted, Ok(true)) {
        // Lost the race, or the write failed: the file must not outlive its row.
        let _ = std::fs::remove_file(&path);
        inserted?;
        return Ok(None);
    }
    Ok(Some(record))
}

/// Deletes a removed key's file. Best effort: the key is already out of every ring.
pub fn remove_key_file(dir: &Path, kid: &Kid) {
    let path = key_path(dir, kid);
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(error = %e, kid = %kid, "cannot delete a removed key's file"),
    }
}
