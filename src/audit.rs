//! The audit trail: security events written to `audit_events` (read with
//! `authd audit list`), kept for `audit.retention`. An event names who (user, client),
//! what (event, session or token id, a fixed-vocabulary detail), when and from where;
//! never a password, a secret, a token, or a username that matches no user.
//!
//! Events are written after the change they describe has committed. A failed write
//! does not undo that change or fail the request: it is logged and counted
//! (`authd_audit_write_failures_total`).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use crate::metrics::Metrics;
use crate::store::Store;

// The records themselves are what the store reads and writes: they live below it.
pub use crate::store::{
    AuditCursor, AuditEvent, AuditPageQuery, AuditQuery, AuditRecord, EventKind,
};

/// Expired events are deleted this often by every running instance.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Where a service reports what it did: counters, and the audit trail.
#[derive(Clone)]
pub struct Events {
    pub metrics: Arc<Metrics>,
    pub audit: Audit,
}

/// Writes events; shared by the request handlers and the background loops.
#[derive(Clone)]
pub struct Audit {
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    retention: Option<chrono::Duration>,
}

impl Audit {
    /// `retention` zero keeps events forever.
    pub fn new(
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
        retention: Duration,
    ) -> anyhow::Result<Self> {
        let retention = (!retention.is_zero())
            .then(|| chrono::Duration::from_std(retention))
            .transpose()?;
        Ok(Self {
            store,
            metrics,
            retention,
        })
    }

    /// Records `event`; a failure is logged and counted, never returned.
    pub async fn record(&self, event: AuditEvent) {
        if let Err(e) = self.store.record_audit(&event).await {
            self.metrics.audit_write_failed();
            tracing::error!(error = %e, event = event.kind.as_str(), "audit event not recorded");
        }
    }

    /// Records `events` in one write (an import's); a failure is logged and counted
    /// once per event, never returned.
    pub async fn record_all(&self, events: &[AuditEvent]) {
        if let Err(e) = self.store.record_audits(events).await {
            for _ in events {
                self.metrics.audit_write_failed();
            }
            tracing::error!(error = %e, events = events.len(), "audit events not recorded");
        }
    }

    /// Deletes events older than the retention, every hour, until the task is aborted.
    pub async fn prune_loop(self) {
        let Some(retention) = self.retention else {
            return;
        };
        loop {
            match self.store.prune_audit(Utc::now() - retention).await {
                Ok(n) if n > 0 => tracing::info!(pruned = n, "expired audit events deleted"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "pruning audit events failed"),
            }
            tokio::time::sleep(PRUNE_EVERY).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_name_parses_back_and_unknown_names_list_the_known_ones() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Ok(kind));
        }
        let err = EventKind::parse("login").unwrap_err();
        assert!(err.contains("login_succeeded") && err.contains("key_removed"));
    }
}
