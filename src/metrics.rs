//! Prometheus metrics (`GET /metrics`): one registry per running server, counters bumped
//! where the event happens, gauges read at scrape time. The crate encodes OpenMetrics
//! text, served to scrapers that ask for it (Prometheus does); everyone else gets the
//! classic Prometheus text format (0.0.4), which differs only in naming counter families
//! with their `_total` suffix and in having no `# EOF`.
//! Label values come from fixed sets (route patterns, grant and reason names), never
//! from input, so the number of series stays bounded.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::domain::GrantType;
use crate::store::RevokeReason;

/// `Content-Type` of the OpenMetrics exposition, and what a scraper sends in `Accept` to
/// get it.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// `Content-Type` of the classic Prometheus text exposition.
pub const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// The matched route pattern, or `unmatched`.
    pub route: String,
    pub method: &'static str,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GrantLabel {
    grant: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DependencyLabel {
    dependency: &'static str,
}

/// A dependency whose failure a request ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dependency {
    Database,
    Redis,
}

impl Dependency {
    fn as_str(self) -> &'static str {
        match self {
            Self::Database => "database",
            Self::Redis => "redis",
        }
    }
}

type HistogramFamily = Family<HttpLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 0.25 ms .. ~4 s
    Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
}

/// Every metric authd exports. Cheap to update from any thread.
pub struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: HistogramFamily,
    tokens_issued: Family<GrantLabel, Counter>,
    refresh_rotations: Counter,
    refresh_reuse: Counter,
    families_revoked: Family<ReasonLabel, Counter>,
    logins: Family<OutcomeLabel, Counter>,
    login_throttled: Counter,
    revocation_cache: Family<ResultLabel, Counter>,
    key_rotations: Counter,
    active_key_age: Gauge,
    password_queue_depth: Gauge,
    password_pool_busy: Counter,
    dependency_errors: Family<DependencyLabel, Counter>,
    audit_write_failures: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("authd");
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route pattern, method and status",
            http_requests.clone(),
        );
        let http_duration: HistogramFamily =
            Family::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route pattern, method and status",
            http_duration.clone(),
        );
        let tokens_issued = Family::<GrantLabel, Counter>::default();
        registry.register(
            "tokens_issued",
            "Access tokens issued, by grant",
            tokens_issued.clone(),
        );
        let refresh_rotations = Counter::default();
        registry.register(
            "refresh_rotations",
            "Refresh tokens consumed and replaced by a successor",
            refresh_rotations.clone(),
        );
        let refresh_reuse = Counter::default();
        registry.register(
            "refresh_reuse_detected",
            "Consumed refresh tokens presented again (the family is revoked)",
            refresh_reuse.clone(),
        );
        let families_revoked = Family::<ReasonLabel, Counter>::default();
        registry.register(
            "families_revoked",
            "Refresh-token families (sessions) revoked by this server, by reason",
            families_revoked.clone(),
        );
        let logins = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "logins",
            "Password checks by outcome (success, failure)",
            logins.clone(),
        );
        let login_throttled = Counter::default();
        registry.register(
            "login_throttled",
            "Logins refused with 429 before any password check",
            login_throttled.clone(),
        );
        let revocation_cache = Family::<ResultLabel, Counter>::default();
        registry.register(
            "revocation_cache_lookups",
            "Revocation checks answered in this process (hit) or by Redis or the database (miss)",
            revocation_cache.clone(),
        );
        let key_rotations = Counter::default();
        registry.register(
            "key_rotations",
            "Signing-key promotions (next to active) carried out by this instance",
            key_rotations.clone(),
        );
        let active_key_age = Gauge::default();
        registry.register(
            "active_key_age_seconds",
            "Seconds since the active signing key started signing",
            active_key_age.clone(),
        );
        let password_queue_depth = Gauge::default();
        registry.register(
            "password_queue_depth",
            "Password checks waiting for an argon2 worker",
            password_queue_depth.clone(),
        );
        let password_pool_busy = Counter::default();
        registry.register(
            "password_pool_busy",
            "Password checks refused with 503 because the argon2 queue was full",
            password_pool_busy.clone(),
        );
        let dependency_errors = Family::<DependencyLabel, Counter>::default();
        registry.register(
            "dependency_errors",
            "Requests that failed because the database or Redis did not answer",
            dependency_errors.clone(),
        );
        let audit_write_failures = Counter::default();
        registry.register(
            "audit_write_failures",
            "Audit events that could not be written to the database",
            audit_write_failures.clone(),
        );
        Self {
            registry,
            http_requests,
            http_duration,
            tokens_issued,
            refresh_rotations,
            refresh_reuse,
            families_revoked,
            logins,
            login_throttled,
            revocation_cache,
            key_rotations,
            active_key_age,
            password_queue_depth,
            password_pool_busy,
            dependency_errors,
            audit_write_failures,
        }
    }

    pub fn request(&self, labels: HttpLabels, elapsed: Duration) {
        self.http_duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        self.http_requests.get_or_create(&labels).inc();
    }

    pub fn token_issued(&self, grant: GrantType) {
        self.tokens_issued
            .get_or_create(&GrantLabel {
                grant: grant.as_str(),
            })
            .inc();
    }

    pub fn refresh_rotated(&self) {
        self.refresh_rotations.inc();
    }

    pub fn refresh_reuse_detected(&self) {
        self.refresh_reuse.inc();
    }

    pub fn families_revoked(&self, reason: RevokeReason, count: usize) {
        self.families_revoked
            .get_or_create(&ReasonLabel {
                reason: reason.as_str(),
            })
            .inc_by(count as u64);
    }

    pub fn login(&self, succeeded: bool) {
        let outcome = if succeeded { "success" } else { "failure" };
        self.logins.get_or_create(&OutcomeLabel { outcome }).inc();
    }

    pub fn login_throttled(&self) {
        self.login_throttled.inc();
    }

    pub fn revocation_lookup(&self, hit: bool) {
        let result = if hit { "hit" } else { "miss" };
        self.revocation_cache
            .get_or_create(&ResultLabel { result })
            .inc();
    }

    pub fn key_rotated(&self) {
        self.key_rotations.inc();
    }

    pub fn password_pool_busy(&self) {
        self.password_pool_busy.inc();
    }

    pub fn dependency_error(&self, dependency: Dependency) {
        self.dependency_errors
            .get_or_create(&DependencyLabel {
                dependency: dependency.as_str(),
            })
            .inc();
    }

    pub fn audit_write_failed(&self) {
        self.audit_write_failures.inc();
    }

    /// The exposition (OpenMetrics, or with `openmetrics` false the classic text format),
    /// with the gauges set from the values read now.
    pub fn render(
        &self,
        active_key_age: Option<Duration>,
        password_queue: usize,
        openmetrics: bool,
    ) -> String {
        self.active_key_age
            .set(active_key_age.map_or(0, |age| age.as_secs() as i64));
        self.password_queue_depth.set(password_queue as i64);
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        if openmetrics {
            out
        } else {
            to_prometheus_text(&out)
        }
    }
}

/// The classic text format (0.0.4) of an OpenMetrics exposition: a counter family is
/// named after its samples (`x_total`, where OpenMetrics says `x`), and the `# UNIT` and
/// `# EOF` lines, which the classic format does not have, are dropped. Samples, labels
/// and the other types read the same in both.
fn to_prometheus_text(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(name)
                .then(|| format!("{prefix}{name}_total {tail}"))
        });
        match renamed {
            Some(line) => out.push_str(&line),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_classic_text_names_counter_families_after_their_samples_and_has_no_eof() {
        let metrics = Metrics::new();
        metrics.token_issued(GrantType::Password);
        let labels = HttpLabels {
            route: "/auth/token".into(),
            method: "POST",
            status: 200,
        };
        metrics.request(labels, Duration::from_millis(3));
        let open = metrics.render(None, 3, true);
        assert!(open.contains("# TYPE authd_tokens_issued counter\n"));
        assert!(open.ends_with("# EOF\n"));
        let text = metrics.render(None, 3, false);
        assert!(text.contains("# HELP authd_tokens_issued_total Access tokens issued, by grant.\n"));
        assert!(text.contains("# TYPE authd_tokens_issued_total counter\n"));
        assert!(text.contains("authd_tokens_issued_total{grant=\"password\"} 1\n"));
        assert!(text
            .contains("# TYPE authd_password_queue_depth gauge\nauthd_password_queue_depth 3\n"));
        assert!(text.contains("# TYPE authd_http_request_duration_seconds histogram\n"));
        assert!(!text.contains("# EOF") && !text.contains("# UNIT"));
        // Nothing else changes: the same samples, line for line.
        let samples = |s: &str| -> Vec<String> {
            s.lines()
                .filter(|l| !l.starts_with('#'))
                .map(str::to_owned)
                .collect()
        };
        assert_eq!(samples(&open), samples(&text));
    }
}
