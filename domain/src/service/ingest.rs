//! Group commit: concurrent `POST …/msg` requests of this process are stored together, in one
//! statement and one commit (`store::ingest`). A request hands its message to the queue and
//! waits for its own outcome; it is answered only after the commit that stored it, so nothing
//! is acknowledged before it is durable. There is no waiting window: a batch is whatever
//! queued while the previous one was being written, so a lone request goes at once and a busy
//! process writes dozens of messages per commit.
use crate::store::{self, ingest::Inserted, messages::NewMessage};
use chrono::{DateTime, Utc};
use std::sync::{Arc, OnceLock};
use tokio::sync::{mpsc, oneshot, Mutex};

/// Batches written at once (each holds a connection while it is written).
const WRITERS: usize = 2;
/// The most messages in one batch, and the most payload bytes (a batch with one message over
/// this still goes, alone).
const MAX_MESSAGES: usize = 256;
const MAX_BYTES: usize = 4 << 20;

/// A message as queued for a batch (owned: it outlives the request's borrow while it waits).
#[derive(Debug, Clone)]
pub(crate) struct Queued {
    pub org_id: String,
    pub app_id: String,
    pub id: String,
    pub event_type: String,
    pub event_id: Option<String>,
    pub payload: String,
    pub content_type: Option<String>,
    pub channels: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
    pub deliver_at: Option<DateTime<Utc>>,
    pub retention_hours: i64,
    pub created_at: DateTime<Utc>,
    pub idempotency: Option<(String, u16, Vec<u8>)>,
    pub traceparent: Option<String>,
    /// Endpoints whose payload filter the message does not pass.
    pub skip_endpoints: Vec<String>,
}

impl Queued {
    fn borrowed(&self) -> NewMessage<'_> {
        NewMessage {
            org_id: &self.org_id,
            app_id: &self.app_id,
            id: &self.id,
            event_type: &self.event_type,
            event_id: self.event_id.as_deref(),
            payload: &self.payload,
            content_type: self.content_type.as_deref(),
            channels: self.channels.as_deref(),
            tags: self.tags.as_deref(),
            deliver_at: self.deliver_at,
            retention_hours: self.retention_hours,
            created_at: self.created_at,
            only_endpoint: None,
            skip_endpoints: &self.skip_endpoints,
            idempotency: self
                .idempotency
                .as_ref()
                .map(|(k, c, b)| (k.as_str(), *c, b.as_slice())),
            traceparent: self.traceparent.as_deref(),
        }
    }
}

struct Job {
    message: Queued,
    reply: oneshot::Sender<sqlx::Result<Inserted>>,
}

/// The process's ingest queue (one per `Services`, started on first use).
#[derive(Debug, Clone, Default)]
pub(crate) struct Ingest {
    queue: Arc<OnceLock<mpsc::Sender<Job>>>,
}

impl Ingest {
    /// Stores `message` with the batch it joins; answers once that batch is committed.
    pub(crate) async fn submit(&self, pool: &sqlx::PgPool, message: Queued) -> sqlx::Result<Inserted> {
        let queue = self.queue.get_or_init(|| start(pool.clone()));
        let (reply, answer) = oneshot::channel();
        queue
            .send(Job { message, reply })
            .await
            .map_err(|_| sqlx::Error::PoolClosed)?;
        // dropped unanswered only when the runtime stops: the message may or may not be stored,
        // and the caller is told it failed (at-least-once: it will send again)
        answer.await.unwrap_or(Err(sqlx::Error::PoolClosed))
    }
}

fn start(pool: sqlx::PgPool) -> mpsc::Sender<Job> {
    let (tx, rx) = mpsc::channel::<Job>(4 * MAX_MESSAGES);
    let rx = Arc::new(Mutex::new(rx));
    for _ in 0..WRITERS {
        let (pool, rx) = (pool.clone(), rx.clone());
        tokio::spawn(async move {
            while let Some(batch) = next_batch(&rx).await {
                write(&pool, batch).await;
            }
        });
    }
    tx
}

/// Waits for a message, then takes whatever else is queued, within the batch's bounds.
async fn next_batch(rx: &Mutex<mpsc::Receiver<Job>>) -> Option<Vec<Job>> {
    let mut rx = rx.lock().await;
    let first = rx.recv().await?;
    let mut bytes = first.message.payload.len();
    let mut batch = vec![first];
    while batch.len() < MAX_MESSAGES && bytes < MAX_BYTES {
        match rx.try_recv() {
            Ok(job) => {
                bytes += job.message.payload.len();
                batch.push(job);
            }
            Err(_) => break,
        }
    }
    Some(batch)
}

/// Writes a batch and answers each of its requests. Should the batch fail as a whole for a
/// reason one of its messages may carry (a value the database refuses), each message is
/// written alone, so that only that one fails; when the database is away, all fail alike.
async fn write(pool: &sqlx::PgPool, mut batch: Vec<Job>) {
    metrics::counter!("hookline_ingest_batches_total").increment(1);
    match insert(pool, &batch).await {
        Ok(outcomes) => {
            for (job, outcome) in batch.into_iter().zip(outcomes) {
                let _ = job.reply.send(Ok(outcome));
            }
        }
        Err(e) if batch.len() == 1 => {
            let _ = batch.remove(0).reply.send(Err(e));
        }
        Err(e) if store::is_unavailable(&e) => {
            // an I/O error is "unavailable" too: each request is answered 503, as alone
            for job in batch {
                let _ = job
                    .reply
                    .send(Err(sqlx::Error::Io(std::io::Error::other(e.to_string()))));
            }
        }
        Err(e) => {
            tracing::debug!(error = %e, n = batch.len(), "a batch failed; writing its messages one by one");
            for job in batch {
                let one = insert(pool, std::slice::from_ref(&job)).await;
                let _ = job.reply.send(one.map(|mut v| v.remove(0)));
            }
        }
    }
}

/// One batch statement; a missing partition of today's history is made and the batch tried
/// again (see `Services::insert_message`).
async fn insert(pool: &sqlx::PgPool, batch: &[Job]) -> sqlx::Result<Vec<Inserted>> {
    let messages: Vec<NewMessage<'_>> = batch.iter().map(|j| j.message.borrowed()).collect();
    match store::ingest::insert_batch(pool, &messages).await {
        Err(e) if store::is_missing_partition(&e) => {
            tracing::warn!("no partition for today's messages; making the coming days' now");
            if let Err(e) = store::partitions::ensure_now(pool, store::partitions::Layout::DAILY).await {
                tracing::warn!(error = %e, "making the missing partition failed");
            }
            store::ingest::insert_batch(pool, &messages).await
        }
        r => r,
    }
}
