//! What an operator does to the key ring by hand (spec §5): list it, rotate (after the
//! pre-publication, or at once in an emergency), remove a next or retired key in an
//! emergency. The CLI's `keys` commands and the admin API's `/admin/v1/keys` both call
//! these, so they keep one set of rules and write the same audit events, naming who
//! acted (`Actor`).

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::lifecycle::Policy;
use super::material::{prepare_dir, KeyError};
use super::{create_key, remove_key_file, Algorithm, Kid};
use crate::accounts::{Actor, AuditSink};
use crate::audit::{AuditEvent, EventKind};
use crate::store::{KeyRecord, KeyState, Store, StoreError};

/// A key of the ring with the times its state changes next, as `authd keys list`
/// shows them.
#[derive(Debug, Clone)]
pub struct KeyListing {
    pub record: KeyRecord,
    /// A next key: when it starts signing (unless promoted sooner).
    pub signs_from: Option<DateTime<Utc>>,
    /// A retired key: when it is unpublished.
    pub removed_after: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyOpError {
    /// A rotation is already under way: remove the next key first to replace it.
    #[error("a next key is already waiting")]
    NextWaiting,
    /// The new key could not be made active (another instance changed the ring).
    #[error("key {0} could not be activated")]
    NotActivated(Kid),
    #[error("no next or retired key {0}")]
    NoSuchKey(Kid),
    /// The active key signs every new token: rotate at once first.
    #[error("key {0} is the active key")]
    Active(Kid),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The operator's key operations on one store and key directory.
pub struct KeyOperations {
    store: Arc<dyn Store>,
    dir: PathBuf,
    /// The algorithm of a new key when none is asked for (`keys.algorithm`).
    default_alg: Algorithm,
    policy: Policy,
    audit: Arc<dyn AuditSink>,
}

impl KeyOperations {
    pub fn new(
        store: Arc<dyn Store>,
        dir: PathBuf,
        default_alg: Algorithm,
        policy: Policy,
        audit: Arc<dyn AuditSink>,
    ) -> Self {
        Self {
            store,
            dir,
            default_alg,
            policy,
            audit,
        }
    }

    /// Every key of the ring (next, active, retired), oldest first.
    pub async fn list(&self) -> Result<Vec<KeyListing>, StoreError> {
        Ok(self
            .store
            .signing_keys()
            .await?
            .into_iter()
            .map(|record| self.listing(record))
            .collect())
    }

    fn listing(&self, record: KeyRecord) -> KeyListing {
        let signs_from =
            (record.state == KeyState::Next).then(|| record.created_at + self.policy.prepublish);
        let removed_after = match record.state {
            KeyState::Retired => record.retired_at.map(|at| at + self.policy.retired_grace),
            _ => None,
        };
        KeyListing {
            record,
            signs_from,
            removed_after,
        }
    }

    /// Creates the next key (of `alg`, or `keys.algorithm`): published at once, signing
    /// after `keys.prepublish`, or at once when `at_once` (verifiers holding a cached
    /// JWKS refetch it on the unknown kid). Returns the new key as it now stands.
    pub async fn rotate(
        &self,
        actor: &Actor,
        alg: Option<Algorithm>,
        at_once: bool,
        now: DateTime<Utc>,
    ) -> Result<KeyListing, KeyOpError> {
        let alg = alg.unwrap_or(self.default_alg);
        prepare_dir(&self.dir)?;
        let Some(mut record) =
            create_key(self.store.as_ref(), &self.dir, alg, KeyState::Next, now).await?
        else {
            return Err(KeyOpError::NextWaiting);
        };
        self.record(actor, EventKind::KeyCreated, &record.kid, now)
            .await;
        if at_once {
            if !self.store.promote_key(&record.kid, now).await? {
                return Err(KeyOpError::NotActivated(record.kid));
            }
            self.record(actor, EventKind::KeyRotated, &record.kid, now)
                .await;
            record.state = KeyState::Active;
            record.activated_at = Some(now);
        }
        Ok(self.listing(record))
    }

    /// Emergency: unpublishes a next or retired key at once; every token it signed stops
    /// verifying. The active key is refused (`Active`).
    pub async fn remove(
        &self,
        actor: &Actor,
        kid: &Kid,
        now: DateTime<Utc>,
    ) -> Result<(), KeyOpError> {
        if !self.store.remove_key(kid, None).await? {
            let active = self
                .store
                .signing_keys()
                .await?
                .iter()
                .any(|k| k.kid == *kid && k.state == KeyState::Active);
            return Err(if active {
                KeyOpError::Active(kid.clone())
            } else {
                KeyOpError::NoSuchKey(kid.clone())
            });
        }
        remove_key_file(&self.dir, kid);
        self.record(actor, EventKind::KeyRemoved, kid, now).await;
        Ok(())
    }

    async fn record(&self, actor: &Actor, kind: EventKind, kid: &Kid, now: DateTime<Utc>) {
        let event = AuditEvent::new(kind, now).detail(kid.as_str());
        self.audit.record(actor.on_user_event(event)).await;
    }
}
