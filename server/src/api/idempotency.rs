//! `Idempotency-Key` on POSTs. The first request with a key claims it and runs; its 2xx
//! response is stored and replayed to later requests with the same key for 24 hours. A second
//! request while the first still runs gets 409. Message ingest stores its response inside its
//! own transaction (see `RecordedInHandler`), so a crash can never leave a message without its
//! idempotency record or the other way round.
use super::error::ApiError;
use super::extract::Auth;
use super::AppState;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::store::idempotency::{self, Claim};
use sha2::{Digest, Sha256};

/// The key of the current request, for handlers that record the response themselves.
#[derive(Clone, Debug)]
pub struct IdempotencyKey(pub String);

/// Set on a response whose idempotency record the handler already wrote.
#[derive(Clone, Copy, Debug)]
pub struct RecordedInHandler;

const MAX_KEY_LEN: usize = 256;
/// How long a claimed key is held before a crashed request's key can be taken over.
const LOCK_SECS: f64 = 60.0;

pub async fn middleware(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(raw) = req.headers().get("idempotency-key") else {
        return next.run(req).await;
    };
    let key = match super::guard::header_text("Idempotency-Key", raw) {
        Ok(k) => k.to_owned(),
        Err(e) => return e.into_response(),
    };
    match run(state, key, req, next).await {
        Ok(r) | Err(r) => r,
    }
}

async fn run(state: AppState, key: String, req: Request, next: Next) -> Result<Response, Response> {
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_idempotency_key",
            format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} characters"),
        )
        .into_response());
    }
    let (mut parts, body) = req.into_parts();
    let Auth(tenant) = Auth::from_request_parts(&mut parts, &state)
        .await
        .map_err(IntoResponse::into_response)?;
    let limit = state.settings.max_payload_bytes;
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body is larger than the {limit} byte limit"),
        )
        .into_response()
    })?;
    let mut h = Sha256::new();
    h.update(parts.uri.path().as_bytes());
    h.update([0]);
    h.update(parts.uri.query().unwrap_or("").as_bytes());
    h.update([0]);
    h.update(&bytes);
    let hash = h.finalize().to_vec();
    let pool = &state.services.pool;
    let org = tenant.org_id.clone();
    match idempotency::claim(pool, &org, &key, &hash, LOCK_SECS)
        .await
        .map_err(|e| ApiError::from(e).into_response())?
    {
        Claim::Replay {
            same_request: false, ..
        } => Err(ApiError::new(
            StatusCode::CONFLICT,
            "idempotency_conflict",
            "this Idempotency-Key was already used for a different request",
        )
        .into_response()),
        Claim::Replay {
            status_code, body, ..
        } => {
            let mut resp = Response::new(Body::from(body));
            *resp.status_mut() = StatusCode::from_u16(status_code).unwrap_or(StatusCode::OK);
            resp.headers_mut()
                .insert("content-type", HeaderValue::from_static("application/json"));
            resp.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(resp)
        }
        Claim::InFlight { wait_secs } => {
            // the first request may have died: its claim is taken over when its lock ends
            let mut r = ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_in_progress",
                "a request with this Idempotency-Key is still being processed; retry after Retry-After seconds",
            )
            .into_response();
            r.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                HeaderValue::from(wait_secs.max(1)),
            );
            Err(r)
        }
        Claim::Acquired => {
            parts.extensions.insert(IdempotencyKey(key.clone()));
            let resp = next.run(Request::from_parts(parts, Body::from(bytes))).await;
            if resp.extensions().get::<RecordedInHandler>().is_some() {
                return Ok(resp);
            }
            if !resp.status().is_success() {
                // Only successes are replayed; a failed request may be retried with the key.
                // If the database is away (the likely cause), keep trying in the background,
                // so the key is not held for the whole lock after it returns.
                if idempotency::release(pool, &org, &key).await.is_err() {
                    let pool = pool.clone();
                    tokio::spawn(async move {
                        for _ in 0..12 {
                            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                            if idempotency::release(&pool, &org, &key).await.is_ok() {
                                return;
                            }
                        }
                    });
                }
                return Ok(resp);
            }
            let (rparts, rbody) = resp.into_parts();
            let body = axum::body::to_bytes(rbody, usize::MAX).await.unwrap_or_default();
            if let Err(e) = idempotency::complete(pool, &org, &key, rparts.status.as_u16(), &body).await {
                tracing::warn!(error = %e, "storing an idempotent response failed");
            }
            Ok(Response::from_parts(rparts, Body::from(body)))
        }
    }
}
