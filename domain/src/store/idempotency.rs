//! `Idempotency-Key` records. A request first *claims* its key; a second request with the same
//! key either replays the stored response, or is told the first is still in flight. A claim
//! whose request crashed can be taken over after `locked_until`.
use sqlx::PgExecutor;

pub enum Claim {
    /// This request owns the key: run it, then [`complete`] (or [`release`] on a server error).
    Acquired,
    /// A finished request with this key: replay its response.
    Replay {
        status_code: u16,
        body: Vec<u8>,
        same_request: bool,
    },
    /// Another request with this key is running (or died): its claim ends in `wait_secs`.
    InFlight { wait_secs: i64 },
}

pub async fn claim(
    db: &sqlx::PgPool,
    org_id: &str,
    key: &str,
    request_hash: &[u8],
    lock_secs: f64,
) -> sqlx::Result<Claim> {
    let acquired: Option<i32> = sqlx::query_scalar(
        "INSERT INTO idempotency_keys (org_id, key, request_hash, locked_until)
         VALUES ($1, $2, $3, now() + make_interval(secs => $4))
         ON CONFLICT (org_id, key) DO UPDATE
             SET request_hash = EXCLUDED.request_hash, locked_until = EXCLUDED.locked_until, created_at = now()
             WHERE idempotency_keys.completed_at IS NULL AND idempotency_keys.locked_until < now()
                OR idempotency_keys.created_at < now() - interval '24 hours'
         RETURNING 1",
    )
    .bind(org_id)
    .bind(key)
    .bind(request_hash)
    .bind(lock_secs)
    .fetch_optional(db)
    .await?;
    if acquired.is_some() {
        return Ok(Claim::Acquired);
    }
    let row: Option<StoredResponse> = sqlx::query_as(
        "SELECT status_code, response, request_hash,
                greatest(1, ceil(extract(epoch FROM locked_until - now())))::bigint AS wait_secs
         FROM idempotency_keys WHERE org_id = $1 AND key = $2",
    )
    .bind(org_id)
    .bind(key)
    .fetch_optional(db)
    .await?;
    Ok(match row {
        Some(StoredResponse {
            status_code: Some(code),
            response,
            request_hash: hash,
            ..
        }) => Claim::Replay {
            status_code: code as u16,
            body: response.unwrap_or_default(),
            same_request: hash == request_hash,
        },
        Some(r) => Claim::InFlight {
            wait_secs: r.wait_secs,
        },
        // gone meanwhile (released): try again at once
        None => Claim::InFlight { wait_secs: 1 },
    })
}

#[derive(sqlx::FromRow)]
struct StoredResponse {
    status_code: Option<i32>,
    response: Option<Vec<u8>>,
    request_hash: Vec<u8>,
    wait_secs: i64,
}

/// Stores the response for replay. May run inside the request's own transaction, so that the
/// response is recorded exactly when the work commits.
pub async fn complete(
    db: impl PgExecutor<'_>,
    org_id: &str,
    key: &str,
    status_code: u16,
    body: &[u8],
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE idempotency_keys SET status_code = $3, response = $4, completed_at = now()
         WHERE org_id = $1 AND key = $2",
    )
    .bind(org_id)
    .bind(key)
    .bind(status_code as i32)
    .bind(body)
    .execute(db)
    .await?;
    Ok(())
}

/// Gives the key up (the request failed on our side and may be retried).
pub async fn release(db: impl PgExecutor<'_>, org_id: &str, key: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM idempotency_keys WHERE org_id = $1 AND key = $2 AND completed_at IS NULL")
        .bind(org_id)
        .bind(key)
        .execute(db)
        .await?;
    Ok(())
}
