//! Portal sessions: tower-sessions over PostgreSQL, with the session id stored only as a
//! SHA-256 digest. The cookie carries the id; the table holds the digest, so a leaked table
//! cannot be replayed as cookies.
use sha2::{Digest, Sha256};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use tower_sessions_sqlx_store::PostgresStore;

#[derive(Debug, Clone)]
pub struct HashedIdStore {
    inner: PostgresStore,
}

impl HashedIdStore {
    /// Creates the store's table if needed.
    pub async fn new(pool: sqlx::PgPool) -> Result<Self, sqlx::Error> {
        let inner = PostgresStore::new(pool);
        inner.migrate().await?;
        Ok(Self { inner })
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
        }
    }
}

fn digest(id: &Id) -> Id {
    let bytes = Sha256::digest(id.0.to_le_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&bytes[..16]);
    Id(i128::from_le_bytes(out))
}

fn hashed(record: &Record) -> Record {
    let mut r = record.clone();
    r.id = digest(&record.id);
    r
}

#[async_trait::async_trait]
impl SessionStore for HashedIdStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // Draw ids until one is free, so the digest of the id we hand out is the stored key.
        while self.inner.load(&digest(&record.id)).await?.is_some() {
            record.id = Id::default();
        }
        self.inner.save(&hashed(record)).await
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.inner.save(&hashed(record)).await
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        Ok(self.inner.load(&digest(id)).await?.map(|mut r| {
            r.id = *id;
            r
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.inner.delete(&digest(id)).await
    }
}
