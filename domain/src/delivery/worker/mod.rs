//! One worker process's delivery engine: the listener and retention sweeper here, the claim
//! loop in `claim`, the sorting and sending of a claimed batch in `dispatch`, and the batching
//! recorder in `record`.
mod claim;
mod concurrency;
mod dispatch;
mod inbox;
mod operational;
mod record;
mod throttle;

use super::breaker::BatchHealth;
use super::sender::{Outgoing, SendResult, Sender, E_EXPUNGED, E_SIGNING};
use super::DeliveryConfig;
use crate::crypto::SecretBox;
use crate::ids;
use crate::store::deliveries::{self, AttemptRecord, ClaimedDelivery, FAILED, PENDING, SUCCESS};
use crate::store::{self, endpoints};
use crate::types::{MessageStatus, TriggerType};
use chrono::{DateTime, Utc};
use rand::Rng;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info_span, warn, Instrument};

const RECORD_BATCH: usize = 512;

/// A running set of workers; the recorder flushes before `join` returns.
pub struct EngineHandle {
    task: tokio::task::JoinHandle<()>,
}

impl EngineHandle {
    pub async fn join(self) {
        let _ = self.task.await;
    }
}

/// One worker process's delivery engine.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    pool: sqlx::PgPool,
    secrets: SecretBox,
    cfg: DeliveryConfig,
    sender: Sender,
    wake: Notify,
    slots: Arc<Semaphore>,
    per_endpoint: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// Endpoints this worker leaves out of its claims until the time given: their breaker is
    /// open, or another send is their half-open probe (see [`Engine::park`]).
    parked: Mutex<HashMap<String, DateTime<Utc>>>,
    /// Endpoints whose sends other workers filled at this worker's last reservation, and how
    /// long it last left them out of its claims (see [`Engine::within_grants`]).
    full: Mutex<HashMap<String, Duration>>,
    /// Sends that ended since the last reservation, as (endpoint, lease): their reservations
    /// end with the next one (see [`Engine::send_ended`]).
    ended: Mutex<Vec<(String, DateTime<Utc>)>>,
    /// Which endpoints have series of their own (see `delivery::metrics`).
    endpoint_labels: super::metrics::EndpointLabels,
}

/// A claimed delivery to send, and whether it is the half-open circuit's probe.
type ToSend = (ClaimedDelivery, bool);

struct Outcome {
    record: AttemptRecord,
    endpoint_was_healthy: bool,
    /// The half-open circuit's single probe.
    probe: bool,
    /// Scheduled attempts the delivery had made before this one (all failed).
    attempts_before: i32,
}

impl Engine {
    pub fn new(pool: sqlx::PgPool, secrets: SecretBox, cfg: DeliveryConfig) -> Self {
        let sender = Sender::new(
            cfg.guard.clone(),
            cfg.request_timeout,
            cfg.max_response_bytes,
            cfg.per_endpoint_concurrency,
        );
        let slots = Arc::new(Semaphore::new(cfg.concurrency));
        Self {
            inner: Arc::new(Inner {
                pool,
                secrets,
                cfg,
                sender,
                wake: Notify::new(),
                slots,
                per_endpoint: Mutex::new(HashMap::new()),
                parked: Mutex::new(HashMap::new()),
                full: Mutex::new(HashMap::new()),
                ended: Mutex::new(Vec::new()),
                endpoint_labels: Default::default(),
            }),
        }
    }

    /// Starts the listener, the recorder and the claim loop. Stops claiming when `cancel`
    /// fires, lets in-flight sends finish and flushes their records.
    pub fn start(self, cancel: CancellationToken) -> EngineHandle {
        let (tx, rx) = mpsc::channel::<Outcome>(4 * RECORD_BATCH);
        let recorder = tokio::spawn(self.clone().record_loop(rx));
        let listener = tokio::spawn(self.clone().listen_loop(cancel.clone()));
        let sweeper = tokio::spawn(self.clone().retention_loop(cancel.clone()));
        let task = tokio::spawn(async move {
            self.claim_loop(tx, cancel).await;
            listener.abort();
            sweeper.abort();
            let _ = recorder.await;
        });
        EngineHandle { task }
    }

    /// Expunges the payloads of messages whose retention period has passed, then purges the
    /// records that have outlived their use (see [`store::maintenance`]). Both go in small
    /// batches so that no sweep holds many row locks; every worker sweeps, skipping rows
    /// another worker is already on.
    async fn retention_loop(self, cancel: CancellationToken) {
        const BATCH: i64 = 1_000;
        let pool = &self.inner.pool;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(self.inner.cfg.retention_sweep) => {}
            }
            let n = drain(&cancel, "payloads", BATCH, || {
                store::messages::expunge_expired(pool, BATCH)
            })
            .await;
            metrics::counter!("hookline_payloads_expunged_total").increment(n);
            self.sweep_history(&cancel, BATCH).await;
            for (i, table) in store::maintenance::TABLES.iter().enumerate() {
                let n = drain(&cancel, table, BATCH, || {
                    store::maintenance::purge_batch(pool, i, BATCH)
                })
                .await;
                metrics::counter!("hookline_records_purged_total", "table" => *table).increment(n);
            }
        }
    }

    /// Keeps the coming days' partitions of the history made, and drops the spans past the
    /// message retention, then the event ids of the messages they held (so that an eventId is
    /// never free while its message is still there). Dates are the database's.
    async fn sweep_history(&self, cancel: &CancellationToken, batch: i64) {
        use store::partitions;
        let pool = &self.inner.pool;
        let cfg = &self.inner.cfg;
        let now = match partitions::db_now(pool).await {
            Ok(now) => now,
            Err(e) => return warn!(error = %e, "reading the database's clock failed"),
        };
        if let Err(e) = partitions::ensure(
            pool,
            now,
            partitions::Layout::for_retention(cfg.message_retention),
        )
        .await
        {
            warn!(error = %e, "making the coming days' partitions failed; will try again");
        }
        // a retention too long for a date never expires anything
        let retention = chrono::Duration::from_std(cfg.message_retention).unwrap_or(chrono::Duration::MAX);
        let existing = match partitions::list(pool).await {
            Ok(p) => p,
            Err(e) => return warn!(error = %e, "listing the history's partitions failed"),
        };
        for p in partitions::expired(&existing, now, retention) {
            if cancel.is_cancelled() {
                return;
            }
            match partitions::drop(pool, &p).await {
                Ok(()) => {
                    tracing::info!(partition = %p.suffix, "dropped history past retention");
                    metrics::counter!("hookline_history_days_dropped_total").increment(1);
                }
                Err(e) => {
                    warn!(error = %e, partition = %p.suffix, "dropping history past retention failed; will try again");
                    break;
                }
            }
        }
        match partitions::drop_orphans(pool).await {
            Ok(orphans) if !orphans.is_empty() => {
                tracing::info!(tables = ?orphans, "dropped history tables an interrupted drop had left detached");
            }
            Ok(_) => {}
            Err(e) => warn!(error = %e, "dropping detached history tables failed; will try again"),
        }
        let oldest = match partitions::list(pool).await {
            Ok(p) => p.first().and_then(|p| p.lower.clone()),
            Err(_) => None,
        };
        if let Some(lower) = oldest {
            drain(cancel, "event ids", batch, || {
                partitions::purge_event_ids(pool, &lower, batch)
            })
            .await;
        }
    }

    async fn listen_loop(self, cancel: CancellationToken) {
        loop {
            match sqlx::postgres::PgListener::connect_with(&self.inner.pool).await {
                Ok(mut l) => {
                    if let Err(e) = l.listen(store::DELIVERY_CHANNEL).await {
                        warn!(error = %e, "LISTEN failed; relying on polling");
                    } else {
                        // Anything committed while we were not listening is picked up now.
                        self.inner.wake.notify_one();
                        loop {
                            tokio::select! {
                                _ = cancel.cancelled() => return,
                                n = l.recv() => match n {
                                    Ok(_) => self.inner.wake.notify_one(),
                                    Err(e) => { warn!(error = %e, "LISTEN connection lost"); break; }
                                }
                            }
                        }
                    }
                }
                Err(e) => warn!(error = %e, "cannot open LISTEN connection; relying on polling"),
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }
}

/// Runs `batch` until it removes fewer than `size` rows (or fails, or the worker stops);
/// returns how many it removed.
async fn drain<F, Fut>(cancel: &CancellationToken, what: &str, size: i64, mut batch: F) -> u64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = sqlx::Result<u64>>,
{
    let mut total = 0;
    loop {
        match batch().await {
            Ok(n) => {
                total += n;
                if n < size as u64 || cancel.is_cancelled() {
                    break;
                }
            }
            Err(e) => {
                warn!(error = %e, what, "sweep failed; will try again");
                break;
            }
        }
    }
    if total > 0 {
        debug!(removed = total, what, "swept");
    }
    total
}
