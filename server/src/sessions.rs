//! Portal sessions: tower-sessions over PostgreSQL, with the session id stored only as a
//! SHA-256 digest. The cookie carries the id; the table holds the digest, so a leaked table
//! cannot be replayed as cookies.
use app::api::ssr::store_key;
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use std::cell::Cell;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use tower_sessions_sqlx_store::PostgresStore;

#[derive(Debug, Clone)]
pub struct HashedIdStore {
    inner: PostgresStore,
    /// For the user's own list of sessions (`domain::store::sessions`).
    pool: sqlx::PgPool,
}

impl HashedIdStore {
    /// Creates the store's table if needed.
    pub async fn new(pool: sqlx::PgPool) -> Result<Self, sqlx::Error> {
        let inner = PostgresStore::new(pool.clone());
        inner.migrate().await?;
        Ok(Self { inner, pool })
    }

    /// Notes a logged-in session in its user's list (the browser and address were put in the
    /// session at login: see `app::api::ssr::start_session`).
    async fn note_user(&self, record: &Record) -> session_store::Result<()> {
        use app::api::ssr::{AGENT_KEY, IP_KEY, USER_KEY};
        let Some(user) = record.data.get(USER_KEY).and_then(|v| v.as_str()) else {
            return Ok(());
        };
        let text = |k: &str| record.data.get(k).and_then(|v| v.as_str());
        domain::store::sessions::record(
            &self.pool,
            &store_key(&record.id),
            user,
            text(AGENT_KEY),
            text(IP_KEY),
        )
        .await
        .map_err(|e| session_store::Error::Backend(e.to_string()))
    }

    /// Deletes expired sessions every `period` until `cancel` fires; a failure (PostgreSQL
    /// away) is logged and tried again next period.
    pub async fn purge_expired_until(
        self,
        period: std::time::Duration,
        cancel: tokio_util::sync::CancellationToken,
    ) {
        use tower_sessions::ExpiredDeletion;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(period) => {}
            }
            if let Err(e) = self.inner.delete_expired().await {
                tracing::warn!(error = %e, "purging expired sessions failed; will try again");
            }
            // and what the user's list kept of them, reset links past their day, and
            // invitations a week after they expired or were used
            let purged = async {
                domain::store::sessions::purge_ended(&self.pool, 1000).await?;
                domain::store::sessions::purge_resets(&self.pool, 1000).await?;
                domain::store::members::purge_invites(&self.pool, 7)
                    .await
                    .map(|_| ())
            };
            if let Err(e) = purged.await {
                tracing::warn!(error = %e, "purging ended sessions failed; will try again");
            }
        }
    }
}

fn digest(id: &Id) -> Id {
    Id(domain::crypto::session_digest(id.0))
}

fn hashed(record: &Record) -> Record {
    let mut r = record.clone();
    r.id = digest(&record.id);
    r
}

tokio::task_local! {
    /// Set when the store failed during the request it is scoped to (see [`store_failure_is_503`]).
    static STORE_FAILED: Cell<bool>;
}

/// Notes a failed save for [`store_failure_is_503`]: the store is the database, so a failure
/// means it is away (the store reports errors as text, so they cannot be told apart).
fn noted<T>(r: session_store::Result<T>) -> session_store::Result<T> {
    if r.is_err() {
        let _ = STORE_FAILED.try_with(|f| f.set(true));
    }
    r
}

/// Middleware around the session layer: when saving a session fails (the database is away),
/// the layer answers a bare 500; this answers 503 with `Retry-After` and the reason in words
/// instead, as the portal does for its own requests: a page for a browser, the portal's
/// error for a server-function call.
pub async fn store_failure_is_503(req: Request, next: Next) -> Response {
    let wants_html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    let (res, failed) = STORE_FAILED
        .scope(Cell::new(false), async {
            let res = next.run(req).await;
            (res, STORE_FAILED.with(Cell::get))
        })
        .await;
    if !failed || res.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return res;
    }
    let e = app::error::PortalError::Unavailable;
    let mut res = if wants_html {
        Html(crate::docs::page_html(
            "Database unavailable",
            &format!(
                "<h1>Please try again in a moment</h1><p>{}</p>",
                crate::docs::esc(&e.to_string())
            ),
        ))
        .into_response()
    } else {
        axum::Json(e).into_response()
    };
    *res.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    res.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
    res
}

#[async_trait::async_trait]
impl SessionStore for HashedIdStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // Draw ids until one is free, so the digest of the id we hand out is the stored key.
        while noted(self.inner.load(&digest(&record.id)).await)?.is_some() {
            record.id = Id::default();
        }
        noted(self.inner.save(&hashed(record)).await)?;
        noted(self.note_user(record).await)
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        noted(self.inner.save(&hashed(record)).await)?;
        noted(self.note_user(record).await)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let record = self.inner.load(&digest(id)).await?;
        let developer = |r: &Record| r.data.contains_key(app::api::ssr::USER_KEY);
        if record.as_ref().is_some_and(developer) {
            // when it was last used, for the user's list (a developer's session: a portal
            // link's has no list); not waited for
            let (pool, key) = (self.pool.clone(), store_key(id));
            tokio::spawn(async move {
                if let Err(e) = domain::store::sessions::touch(&pool, &key).await {
                    tracing::debug!(error = %e, "could not note a session's use");
                }
            });
        }
        Ok(record.map(|mut r| {
            r.id = *id;
            r
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.inner.delete(&digest(id)).await?;
        domain::store::sessions::forget(&self.pool, &store_key(id))
            .await
            .map_err(|e| session_store::Error::Backend(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::post;
    use tower::ServiceExt;
    use tower_sessions::{Session, SessionManagerLayer};

    /// A session store whose database is away (nothing listens on the port), behind the
    /// portal's layers, and a handler that logs someone in without the database.
    fn app() -> axum::Router {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .acquire_timeout(std::time::Duration::from_millis(500))
            .connect_lazy("postgres://hookline@127.0.0.1:1/hookline")
            .unwrap();
        let store = HashedIdStore {
            inner: PostgresStore::new(pool.clone()),
            pool,
        };
        axum::Router::new()
            .route(
                "/touch",
                post(|s: Session| async move {
                    s.insert("user", "someone").await.unwrap();
                    "logged in"
                }),
            )
            .layer(SessionManagerLayer::new(store))
            .layer(axum::middleware::from_fn(store_failure_is_503))
    }

    async fn touch(accept: &str) -> Response {
        let req = axum::http::Request::post("/touch")
            .header(header::ACCEPT, accept)
            .body(Body::empty())
            .unwrap();
        app().oneshot(req).await.unwrap()
    }

    #[tokio::test]
    async fn a_session_that_cannot_be_saved_answers_503_in_words() {
        let res = touch("text/html").await;
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers()[header::RETRY_AFTER], "5");
        let body = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
        let body = String::from_utf8_lossy(&body);
        assert!(body.contains("The database is not reachable right now"), "{body}");
        // a server-function call gets the portal's own error, which the page shows
        let res = touch("application/json").await;
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
        assert_eq!(&body[..], b"\"Unavailable\"");
    }
}
