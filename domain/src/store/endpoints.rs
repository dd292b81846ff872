//! Endpoints, their signing secrets (sealed at rest) and custom headers.
use super::Page;
use crate::types::{EndpointOut, ListResponse, Metadata};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sqlx::types::Json;
use sqlx::PgExecutor;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EndpointRow {
    pub id: String,
    pub app_id: String,
    pub uid: Option<String>,
    pub url: String,
    pub description: String,
    pub version: i32,
    pub event_types: Option<Vec<String>>,
    pub channels: Option<Vec<String>>,
    pub throttle_rate: Option<i32>,
    pub disabled: bool,
    pub disabled_reason: Option<String>,
    pub headers: Json<Map<String, Value>>,
    pub metadata: Json<Metadata>,
    pub consecutive_failures: i32,
    pub failing_since: Option<DateTime<Utc>>,
    pub circuit_open_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// [`FORMAT_STANDARD`] or [`FORMAT_SLACK`].
    pub payload_format: i16,
    /// The payload filter (`crate::filter`), if any.
    pub filter: Option<String>,
}

/// A delivery's body is the message's payload (every endpoint made through the API).
pub const FORMAT_STANDARD: i16 = 0;
/// A delivery's body is a Slack-compatible `{"text": ...}` made from an operational event.
pub const FORMAT_SLACK: i16 = 1;

impl From<EndpointRow> for EndpointOut {
    fn from(r: EndpointRow) -> Self {
        let rate = r.throttle_rate.map(i64::from);
        Self {
            id: r.id,
            uid: r.uid,
            url: r.url,
            description: r.description,
            version: r.version.into(),
            event_types: r.event_types,
            channels: r.channels,
            throttle_rate: rate,
            rate_limit: rate,
            disabled: r.disabled,
            metadata: r.metadata.0,
            filter: r.filter,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

pub(crate) const COLS: &str = "id, app_id, uid, url, description, version, event_types, channels, \
    throttle_rate, disabled, disabled_reason, headers, metadata, consecutive_failures, failing_since, \
    circuit_open_until, created_at, updated_at, payload_format, filter";

/// The user-settable fields of an endpoint.
#[derive(Debug, Clone)]
pub struct EndpointWrite<'a> {
    pub uid: Option<&'a str>,
    pub url: &'a str,
    pub description: &'a str,
    pub version: i32,
    pub event_types: Option<&'a [String]>,
    pub channels: Option<&'a [String]>,
    pub throttle_rate: Option<i32>,
    pub disabled: bool,
    pub metadata: &'a Metadata,
    pub filter: Option<&'a str>,
    /// Written when the endpoint is made, never changed by an update.
    pub payload_format: i16,
}

pub async fn insert(
    db: impl PgExecutor<'_>,
    org_id: &str,
    app_id: &str,
    id: &str,
    w: &EndpointWrite<'_>,
    headers: &Map<String, Value>,
) -> sqlx::Result<EndpointRow> {
    sqlx::query_as(&format!(
        "INSERT INTO endpoints (id, org_id, app_id, uid, url, description, version, event_types, channels,
             throttle_rate, disabled, metadata, headers, payload_format, filter)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING {COLS}"
    ))
    .bind(id)
    .bind(org_id)
    .bind(app_id)
    .bind(w.uid)
    .bind(w.url)
    .bind(w.description)
    .bind(w.version)
    .bind(w.event_types)
    .bind(w.channels)
    .bind(w.throttle_rate)
    .bind(w.disabled)
    .bind(Json(w.metadata))
    .bind(Json(headers))
    .bind(w.payload_format)
    .bind(w.filter)
    .fetch_one(db)
    .await
}

/// Full update. Re-enabling an endpoint clears its failure history and disabled reason.
pub async fn update(
    db: impl PgExecutor<'_>,
    app_id: &str,
    id: &str,
    w: &EndpointWrite<'_>,
) -> sqlx::Result<Option<EndpointRow>> {
    sqlx::query_as(&format!(
        "UPDATE endpoints SET uid = $3, url = $4, description = $5, version = $6, event_types = $7,
             channels = $8, throttle_rate = $9, metadata = $11, filter = $12, updated_at = now(),
             disabled_reason = CASE WHEN $10 THEN disabled_reason ELSE NULL END,
             consecutive_failures = CASE WHEN disabled AND NOT $10 THEN 0 ELSE consecutive_failures END,
             failing_since = CASE WHEN disabled AND NOT $10 THEN NULL ELSE failing_since END,
             circuit_open_until = CASE WHEN disabled AND NOT $10 THEN NULL ELSE circuit_open_until END,
             disabled = $10
         WHERE app_id = $1 AND id = $2 RETURNING {COLS}"
    ))
    .bind(app_id)
    .bind(id)
    .bind(w.uid)
    .bind(w.url)
    .bind(w.description)
    .bind(w.version)
    .bind(w.event_types)
    .bind(w.channels)
    .bind(w.throttle_rate)
    .bind(w.disabled)
    .bind(Json(w.metadata))
    .bind(w.filter)
    .fetch_optional(db)
    .await
}

/// Finds an endpoint by id or uid within an application (itself already scoped to the org).
pub async fn get(
    db: impl PgExecutor<'_>,
    app_id: &str,
    id_or_uid: &str,
) -> sqlx::Result<Option<EndpointRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM endpoints WHERE app_id = $1 AND (id = $2 OR uid = $2)
         ORDER BY (id = $2) DESC LIMIT 1"
    ))
    .bind(app_id)
    .bind(id_or_uid)
    .fetch_optional(db)
    .await
}

/// The endpoints of an application that have a payload filter, with it (disabled ones too:
/// enabling one notifies nobody, and the fan-out leaves disabled ones out anyway).
pub async fn filters(db: impl PgExecutor<'_>, app_id: &str) -> sqlx::Result<Vec<(String, String)>> {
    sqlx::query_as("SELECT id, filter FROM endpoints WHERE app_id = $1 AND filter IS NOT NULL")
        .bind(app_id)
        .fetch_all(db)
        .await
}

pub async fn delete(db: impl PgExecutor<'_>, app_id: &str, id: &str) -> sqlx::Result<bool> {
    let r = sqlx::query("DELETE FROM endpoints WHERE app_id = $1 AND id = $2")
        .bind(app_id)
        .bind(id)
        .execute(db)
        .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn list(db: &sqlx::PgPool, app_id: &str, page: &Page) -> sqlx::Result<ListResponse<EndpointRow>> {
    let mut qb = sqlx::QueryBuilder::new(format!("SELECT {COLS} FROM endpoints WHERE app_id = "));
    qb.push_bind(app_id);
    page.push_keyset(&mut qb, "id");
    let rows: Vec<EndpointRow> = qb.build_query_as().fetch_all(db).await?;
    Ok(page.finish(rows, |e| e.id.clone()))
}

pub async fn set_headers(
    db: impl PgExecutor<'_>,
    id: &str,
    headers: &Map<String, Value>,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE endpoints SET headers = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(Json(headers))
        .execute(db)
        .await?;
    Ok(())
}

// ------------------------------------------------------------------ secrets

pub async fn insert_secret(db: impl PgExecutor<'_>, endpoint_id: &str, sealed: &[u8]) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO endpoint_secrets (endpoint_id, ciphertext) VALUES ($1, $2)")
        .bind(endpoint_id)
        .bind(sealed)
        .execute(db)
        .await?;
    Ok(())
}

/// The current secret (sealed).
pub async fn current_secret(db: impl PgExecutor<'_>, endpoint_id: &str) -> sqlx::Result<Option<Vec<u8>>> {
    sqlx::query_scalar(
        "SELECT ciphertext FROM endpoint_secrets WHERE endpoint_id = $1 AND expires_at IS NULL
         ORDER BY id DESC LIMIT 1",
    )
    .bind(endpoint_id)
    .fetch_optional(db)
    .await
}

/// A still-signing secret of one endpoint, newest first.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SealedSecret {
    pub endpoint_id: String,
    pub ciphertext: Vec<u8>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Every secret that still signs, for a batch of endpoints: the current one plus any rotated
/// one inside its grace period.
pub async fn signing_secrets(
    db: impl PgExecutor<'_>,
    endpoint_ids: &[String],
) -> sqlx::Result<Vec<SealedSecret>> {
    sqlx::query_as(
        "SELECT endpoint_id, ciphertext, expires_at FROM endpoint_secrets
         WHERE endpoint_id = ANY($1) AND (expires_at IS NULL OR expires_at > now())
         ORDER BY endpoint_id, id DESC",
    )
    .bind(endpoint_ids)
    .fetch_all(db)
    .await
}

/// Rotation: the current secret keeps signing for `grace_seconds`, the new one becomes current.
/// Older rotated secrets stop at once, so at most two sign at any time.
pub async fn rotate_secret(
    db: &mut sqlx::PgConnection,
    endpoint_id: &str,
    sealed_new: &[u8],
    grace_seconds: i64,
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM endpoint_secrets WHERE endpoint_id = $1 AND expires_at IS NOT NULL")
        .bind(endpoint_id)
        .execute(&mut *db)
        .await?;
    sqlx::query(
        "UPDATE endpoint_secrets SET expires_at = now() + make_interval(secs => $2)
         WHERE endpoint_id = $1 AND expires_at IS NULL",
    )
    .bind(endpoint_id)
    .bind(grace_seconds as f64)
    .execute(&mut *db)
    .await?;
    insert_secret(&mut *db, endpoint_id, sealed_new).await
}

/// Lock the endpoint row (used to serialise rotations).
pub async fn lock(db: impl PgExecutor<'_>, id: &str) -> sqlx::Result<()> {
    sqlx::query("SELECT 1 FROM endpoints WHERE id = $1 FOR UPDATE")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Ids of enabled endpoints of the app whose filters accept this event type and channels.
/// `eventTypes` NULL/empty means every type; endpoint `channels` NULL means no channel filter,
/// otherwise the message must carry at least one of the endpoint's channels.
pub const MATCHING_ENDPOINTS_SQL: &str = "SELECT id FROM endpoints
    WHERE app_id = $1 AND NOT disabled
      AND (event_types IS NULL OR cardinality(event_types) = 0 OR $2 = ANY(event_types))
      AND (channels IS NULL OR cardinality(channels) = 0 OR channels && $3::text[])";

// ------------------------------------------------------------------ health and throttling

/// The breaker/health state of an endpoint, read under a row lock while recording attempts.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct HealthRow {
    pub id: String,
    pub consecutive_failures: i32,
    pub failing_since: Option<DateTime<Utc>>,
    pub circuit_open_until: Option<DateTime<Utc>>,
    pub circuit_trips: i32,
    pub disabled: bool,
    pub disabled_reason: Option<String>,
}

/// Locks the endpoints' rows (in id order, so concurrent recorders cannot deadlock). `NO KEY`:
/// ingest's foreign-key checks on the same rows need not wait for a recorder.
pub async fn lock_health(db: impl PgExecutor<'_>, ids: &[String]) -> sqlx::Result<Vec<HealthRow>> {
    sqlx::query_as(
        "SELECT id, consecutive_failures, failing_since, circuit_open_until, circuit_trips, disabled, disabled_reason
         FROM endpoints WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE",
    )
    .bind(ids)
    .fetch_all(db)
    .await
}

pub async fn save_health(db: impl PgExecutor<'_>, rows: &[HealthRow]) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE endpoints e SET consecutive_failures = u.cf, failing_since = u.fs, circuit_open_until = u.co,
             circuit_trips = u.ct, disabled = u.dis, disabled_reason = u.reason,
             updated_at = CASE WHEN u.dis AND NOT e.disabled THEN now() ELSE e.updated_at END
         FROM UNNEST($1::text[], $2::int[], $3::timestamptz[], $4::timestamptz[], $5::int[], $6::bool[], $7::text[])
              AS u(id, cf, fs, co, ct, dis, reason)
         WHERE e.id = u.id",
    )
    .bind(rows.iter().map(|r| r.id.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.consecutive_failures).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.failing_since).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.circuit_open_until).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.circuit_trips).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.disabled).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.disabled_reason.clone()).collect::<Vec<_>>())
    .execute(db)
    .await?;
    Ok(())
}

/// Half-open breaker: the one caller that moves `circuit_open_until` from `seen` to `until`
/// gets to send the probe. Returns whether this caller won.
pub async fn take_probe(
    db: impl PgExecutor<'_>,
    id: &str,
    seen: DateTime<Utc>,
    until: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let r =
        sqlx::query("UPDATE endpoints SET circuit_open_until = $3 WHERE id = $1 AND circuit_open_until = $2")
            .bind(id)
            .bind(seen)
            .bind(until)
            .execute(db)
            .await?;
    Ok(r.rows_affected() == 1)
}

/// Whose throttle a reservation draws on: an endpoint's own, or its application's (shared by
/// all the application's endpoints). Both keep their GCRA state in a `throttle_tat` column.
#[derive(Debug, Clone, Copy)]
pub enum Throttle {
    Endpoint,
    Application,
}

/// Throttle: reserves the next `k` send slots of the endpoint or application `id`, `1/rate`
/// seconds apart, and returns the first (now, if it has not sent for a slot's length).
/// `None`: no such row.
pub async fn reserve_throttle_slots(
    db: impl PgExecutor<'_>,
    whose: Throttle,
    id: &str,
    rate_per_sec: i32,
    k: i32,
) -> sqlx::Result<Option<DateTime<Utc>>> {
    let table = match whose {
        Throttle::Endpoint => "endpoints",
        Throttle::Application => "applications",
    };
    sqlx::query_scalar(&format!(
        "WITH cur AS (
             SELECT greatest(coalesce(throttle_tat, now()), now()) AS first
             FROM {table} WHERE id = $1 FOR NO KEY UPDATE)
         UPDATE {table} t SET throttle_tat = cur.first + make_interval(secs => $3::float8 / $2)
         FROM cur WHERE t.id = $1
         RETURNING cur.first"
    ))
    .bind(id)
    .bind(rate_per_sec as f64)
    .bind(k)
    .fetch_optional(db)
    .await
}

/// Endpoints whose circuit is open now, and disabled endpoints (for `/metrics`).
pub async fn health_gauges(db: impl PgExecutor<'_>) -> sqlx::Result<(i64, i64)> {
    sqlx::query_as(
        "SELECT count(*) FILTER (WHERE circuit_open_until > now()), count(*) FILTER (WHERE disabled)
         FROM endpoints",
    )
    .fetch_one(db)
    .await
}

/// Health columns of every endpoint of an application: (id, disabled, disabled reason,
/// consecutive failures, failing since, circuit open until).
#[allow(clippy::type_complexity)]
pub async fn app_health(
    db: impl PgExecutor<'_>,
    app_id: &str,
) -> sqlx::Result<
    Vec<(
        String,
        bool,
        Option<String>,
        i32,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
    )>,
> {
    sqlx::query_as(
        "SELECT id, disabled, disabled_reason, consecutive_failures, failing_since, circuit_open_until
         FROM endpoints WHERE app_id = $1",
    )
    .bind(app_id)
    .fetch_all(db)
    .await
}
