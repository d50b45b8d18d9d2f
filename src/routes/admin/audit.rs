//! `GET /admin/v1/audit` (admin-api.md §2): the audit trail newest first, filtered as
//! `authd audit list` filters it (and by client), paged by a keyset cursor on
//! (occurred_at, id) so no event is skipped or repeated across pages.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::auth::AdminCaller;
use super::{page, query_error, scope, Query};
use crate::audit::{AuditCursor, AuditPageQuery, AuditQuery, AuditRecord, EventKind};
use crate::domain::ClientId;
use crate::routes::problem::Problem;
use crate::startup::AppState;

const PARAMS: [&str; 6] = ["since", "event", "user_id", "client_id", "limit", "cursor"];

/// `GET /admin/v1/audit?since&event&user_id&client_id&limit&cursor` (scope
/// `admin:audit:read`). `since` is an RFC 3339 time; a bad filter `400`.
#[utoipa::path(
    get,
    path = "/admin/v1/audit",
    tag = "audit",
    params(
        ("since" = Option<String>, Query, format = DateTime, description = "Only events at or after this RFC 3339 time"),
        ("event" = Option<String>, Query, description = "Only events of this kind, e.g. login_failed"),
        ("user_id" = Option<String>, Query, format = Uuid, description = "Only events of this user"),
        ("client_id" = Option<String>, Query, description = "Only events naming this client"),
        ("limit" = Option<u16>, Query, minimum = 1, maximum = 500, description = "Page size (default 100)"),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of events, newest first", body = AuditPage,
         headers(("Link" = String, description = "`<...>; rel=\"next\"` when there is a next page"))),
        (status = 400, description = "A bad filter, limit or cursor, or an unknown parameter", body = crate::routes::openapi::ProblemBody, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    caller: AdminCaller,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    caller.require(scope::AUDIT_READ)?;
    let query = Query::parse(&req, &PARAMS)?;
    let limit = query.limit()?;
    let since = query
        .get("since")
        .map(|raw| {
            DateTime::parse_from_rfc3339(raw)
                .map(|at| at.with_timezone(&Utc))
                .map_err(|_| query_error("since", "since must be an RFC 3339 time"))
        })
        .transpose()?;
    let event = query
        .get("event")
        .map(|raw| {
            EventKind::parse(raw).map_err(|_| query_error("event", "event is not an audit event"))
        })
        .transpose()?;
    let user_id = query
        .get("user_id")
        .map(|raw| {
            Uuid::parse_str(raw).map_err(|_| query_error("user_id", "user_id must be a UUID"))
        })
        .transpose()?;
    let client_id = query
        .get("client_id")
        .map(|raw| {
            ClientId::parse(raw)
                .map(|id| id.as_str().to_owned())
                .map_err(|_| query_error("client_id", "client_id is not a client id"))
        })
        .transpose()?;
    let before = query.cursor(decode_cursor)?;
    let page_query = AuditPageQuery {
        query: AuditQuery {
            since,
            user_id,
            event,
            limit: i64::try_from(limit + 1).unwrap_or(i64::MAX),
        },
        client_id,
        before,
    };
    let mut records = state.store.audit_page(&page_query).await?;
    let more = records.len() > limit;
    records.truncate(limit);
    let next = more.then(|| records.last().map(encode_cursor)).flatten();
    let items: Vec<EventView> = records.iter().map(EventView::of).collect();
    Ok(page(&req, &query, items, next))
}

/// The cursor's 16 bytes: the last event's time (nanoseconds since the epoch) and its
/// id, both big-endian `i64`. Any 16 bytes are a position, so the document can say
/// exactly which cursors are valid (`AUDIT_CURSOR_PATTERN`).
fn encode_cursor(record: &AuditRecord) -> Vec<u8> {
    let nanos = record.occurred_at.timestamp_nanos_opt().unwrap_or(i64::MAX);
    let mut bytes = nanos.to_be_bytes().to_vec();
    bytes.extend_from_slice(&record.id.to_be_bytes());
    bytes
}

/// 16 bytes in base64url without padding: 21 characters and one of `AQgw`.
pub const AUDIT_CURSOR_PATTERN: &str = "^[A-Za-z0-9_-]{21}[AQgw]$";

fn decode_cursor(bytes: &[u8]) -> Option<AuditCursor> {
    let (nanos, id) = bytes.split_at_checked(8)?;
    Some(AuditCursor {
        occurred_at: DateTime::from_timestamp_nanos(i64::from_be_bytes(nanos.try_into().ok()?)),
        id: i64::from_be_bytes(id.try_into().ok()?),
    })
}

/// One event: absent members omitted. Times at millisecond precision, as the CLI
/// prints them.
/// A page of events, for the OpenAPI document (`page` renders it).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct AuditPage {
    #[schema(value_type = Vec<EventView>)]
    items: Vec<()>,
    next_cursor: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = AuditEvent)]
pub struct EventView<'a> {
    occurred_at: String,
    event: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jti: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
}

impl<'a> EventView<'a> {
    fn of(r: &'a AuditRecord) -> Self {
        Self {
            occurred_at: r.occurred_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            event: &r.event,
            user_id: r.user_id.as_deref(),
            client_id: r.client_id.as_deref(),
            sid: r.sid.as_deref(),
            jti: r.jti.as_deref(),
            source: r.source.as_deref(),
            detail: r.detail.as_deref(),
        }
    }
}
