//! The worker loop, the per-delivery task and the batching recorder.
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
}

/// A claimed delivery to send, and whether it is the half-open circuit's probe.
type ToSend = (ClaimedDelivery, bool);

struct Outcome {
    record: AttemptRecord,
    endpoint_was_healthy: bool,
    /// The half-open circuit's single probe.
    probe: bool,
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

    /// Expunges the payloads of messages whose retention period has passed, in small batches
    /// so that no sweep holds many row locks; every worker sweeps, skipping rows another
    /// worker is already expunging.
    async fn retention_loop(self, cancel: CancellationToken) {
        const BATCH: i64 = 1_000;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(self.inner.cfg.retention_sweep) => {}
            }
            loop {
                match store::messages::expunge_expired(&self.inner.pool, BATCH).await {
                    Ok(n) => {
                        if n > 0 {
                            metrics::counter!("hookline_payloads_expunged_total").increment(n);
                            debug!(expunged = n, "expired payloads expunged");
                        }
                        if n < BATCH as u64 || cancel.is_cancelled() {
                            break;
                        }
                    }
                    Err(e) => {
                        warn!(error = %e, "retention sweep failed; will try again");
                        break;
                    }
                }
            }
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

    async fn claim_loop(self, tx: mpsc::Sender<Outcome>, cancel: CancellationToken) {
        let inner = &self.inner;
        let lease = inner.cfg.lease().as_secs_f64();
        let low_water = (inner.cfg.concurrency / 8).max(1);
        while !cancel.is_cancelled() {
            // Wait for room before claiming, so that nothing claimed sits waiting on a slot.
            let free = inner.slots.available_permits();
            if free < low_water {
                // Nearly full: let a few sends finish so that claims stay batches rather than
                // single rows, but never wait long for them.
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    p = inner.slots.acquire_many(low_water as u32) => drop(p),
                    _ = tokio::time::sleep(Duration::from_millis(2)), if free > 0 => {}
                }
                if inner.slots.available_permits() == 0 {
                    continue;
                }
            }
            let free = inner.slots.available_permits();
            let want = (free as i64).min(inner.cfg.batch_size);
            // The lease runs from the database's clock; timing it from just before the claim,
            // on this process's monotonic clock, never overestimates it.
            let lease_ends = Instant::now() + inner.cfg.lease();
            let (busy, free) = self.endpoint_room();
            let room = deliveries::Room {
                endpoints: &busy,
                free: &free,
                cap: i32::try_from(inner.cfg.per_endpoint_concurrency).unwrap_or(i32::MAX),
            };
            let claimed = match deliveries::claim_due(&inner.pool, want, lease, room).await {
                Ok(c) => c,
                Err(e) => {
                    warn!(error = %e, "claiming deliveries failed; retrying");
                    tokio::select! {
                        _ = cancel.cancelled() => break,
                        _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                    }
                    continue;
                }
            };
            let got = claimed.len() as i64;
            // rows over an endpoint's room were locked but left: others may be due behind them
            let cut_short = claimed.first().is_some_and(|c| c.locked_count > got);
            if got > 0 {
                if let Err(e) = self.dispatch(claimed, lease_ends, &tx).await {
                    // The claimed rows fall due again when their lease expires.
                    warn!(error = %e, "dispatching a batch failed; its leases will expire");
                }
            }
            if got < want {
                // A claim cut short by an endpoint's room may have left other endpoints' due
                // rows unseen behind that endpoint's; it is full now and left out of the next
                // claim, so claim again at once (each round claims something, or naps below).
                if cut_short {
                    continue;
                }
                // Busy: notifications wake us. Idle: sleep until the next retry falls due.
                let nap = if got > 0 {
                    inner.cfg.poll_interval
                } else {
                    self.idle_nap().await
                };
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = inner.wake.notified() => {}
                    _ = tokio::time::sleep(nap) => {}
                }
            }
        }
        // Shutdown: wait for in-flight sends to finish (they hold the slots).
        let _ = inner.slots.acquire_many(inner.cfg.concurrency as u32).await;
    }

    /// Sleep until the next delivery falls due, but never longer than the poll interval.
    async fn idle_nap(&self) -> Duration {
        let poll = self.inner.cfg.poll_interval;
        let (busy, free) = self.endpoint_room();
        let full: Vec<String> = busy
            .into_iter()
            .zip(free)
            .filter_map(|(id, f)| (f <= 0).then_some(id))
            .collect();
        match deliveries::next_due_at(&self.inner.pool, &full).await {
            Ok(Some(at)) => (at - Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(poll)
                .max(Duration::from_millis(2)),
            _ => poll,
        }
    }

    /// Sorts a claimed batch into sends, deferrals (throttle, open breaker) and failures
    /// (disabled endpoints), then spawns the sends.
    async fn dispatch(
        &self,
        batch: Vec<ClaimedDelivery>,
        lease_ends: Instant,
        tx: &mpsc::Sender<Outcome>,
    ) -> Result<(), sqlx::Error> {
        let inner = &self.inner;
        let now = Utc::now();
        let probe_window = chrono::Duration::from_std(inner.cfg.request_timeout + Duration::from_secs(5))
            .unwrap_or_default();
        // (id, lease, due at, holds a reserved throttle slot)
        let mut defer: Vec<(i64, DateTime<Utc>, DateTime<Utc>, bool)> = Vec::new();
        let mut disabled: Vec<(i64, DateTime<Utc>)> = Vec::new();
        let mut probing: HashMap<String, bool> = HashMap::new();
        // rows of throttled endpoints still to be given a slot, by endpoint, in claim order
        let mut throttled: Vec<(String, i32, Vec<ToSend>)> = Vec::new();
        let mut to_send = Vec::with_capacity(batch.len());
        for d in batch {
            let mut probe = false;
            if d.disabled {
                disabled.push((d.id, d.leased_until));
                continue;
            }
            if let Some(until) = d.circuit_open_until {
                if until > now {
                    defer.push((d.id, d.leased_until, until, false));
                    continue;
                }
                // Half-open: exactly one probe across all workers.
                let won = match probing.get(&d.endpoint_id) {
                    Some(_) => false,
                    None => {
                        let w = endpoints::take_probe(&inner.pool, &d.endpoint_id, until, now + probe_window)
                            .await?;
                        probing.insert(d.endpoint_id.clone(), w);
                        w
                    }
                };
                if !won {
                    defer.push((d.id, d.leased_until, now + probe_window, false));
                    continue;
                }
                probe = true;
            }
            if let Some(rate) = d.throttle_rate.filter(|r| *r > 0) {
                // A row that comes due on the slot reserved for it is sent without asking again.
                if !d.throttle_slot {
                    match throttled.iter_mut().find(|(ep, _, _)| *ep == d.endpoint_id) {
                        Some((_, _, rows)) => rows.push((d, probe)),
                        None => throttled.push((d.endpoint_id.clone(), rate, vec![(d, probe)])),
                    }
                    continue;
                }
            }
            to_send.push((d, probe));
        }
        // Each throttled endpoint's rows get successive send slots, reserved in one statement:
        // one that is due now is sent; the others wait for their own slot and are then sent
        // without being deferred again (each row is put back at most once).
        for (endpoint_id, rate, rows) in throttled {
            let k = i32::try_from(rows.len()).unwrap_or(i32::MAX);
            let Some(first) = endpoints::reserve_throttle_slots(&inner.pool, &endpoint_id, rate, k).await?
            else {
                continue; // the endpoint is gone; its deliveries went with it
            };
            let reserved_at = Utc::now();
            for (i, (d, probe)) in rows.into_iter().enumerate() {
                let at = first + chrono::Duration::microseconds((i as f64 * 1e6 / f64::from(rate)) as i64);
                if at <= reserved_at {
                    to_send.push((d, probe));
                } else {
                    metrics::counter!("hookline_deliveries_deferred_total", "reason" => "throttle")
                        .increment(1);
                    defer.push((d.id, d.leased_until, at, true));
                }
            }
        }
        if !defer.is_empty() {
            let ids: Vec<i64> = defer.iter().map(|d| d.0).collect();
            let leases: Vec<DateTime<Utc>> = defer.iter().map(|d| d.1).collect();
            let at: Vec<DateTime<Utc>> = defer.iter().map(|d| d.2).collect();
            let reserved: Vec<bool> = defer.iter().map(|d| d.3).collect();
            deliveries::release(&inner.pool, &ids, &leases, &at, &reserved).await?;
            inner.wake.notify_one();
        }
        if !disabled.is_empty() {
            let (ids, leases): (Vec<_>, Vec<_>) = disabled.into_iter().unzip();
            deliveries::fail_without_attempt(&inner.pool, &ids, &leases).await?;
        }
        if to_send.is_empty() {
            return Ok(());
        }
        let keys = Arc::new(self.signing_keys(to_send.iter().map(|(d, _)| d)));
        for (d, probe) in to_send {
            let Ok(slot) = inner.slots.clone().try_acquire_owned() else {
                // Cannot happen (we claimed no more than the free slots); the lease covers it.
                continue;
            };
            let ep_sem = self.endpoint_semaphore(&d.endpoint_id);
            let ep_room = ep_sem.clone();
            // Taken here rather than in the task, so the room the next claim sees is exact.
            let permit_now = ep_sem.clone().try_acquire_owned().ok();
            let engine = self.clone();
            let keys = keys.clone();
            let tx = tx.clone();
            let span = info_span!("delivery", msg_id = %d.message_id, endpoint_id = %d.endpoint_id, attempt = d.attempt_count + 1);
            tokio::spawn(
                async move {
                    let _slot = slot;
                    let _ep = match permit_now {
                        Some(permit) => permit,
                        None => {
                            let permit = ep_sem.acquire_owned().await;
                            if !engine.lease_covers_a_send(lease_ends) {
                                // It waited too long behind the endpoint's other sends: another
                                // worker may take it once the lease ends, so it goes back unsent.
                                engine.give_back(&d).await;
                                return;
                            }
                            match permit {
                                Ok(p) => p,
                                Err(_) => return, // the semaphore is never closed
                            }
                        }
                    };
                    let outcome = engine.attempt(d, probe, &keys).await;
                    if tx.send(outcome).await.is_err() {
                        warn!("recorder stopped; the delivery will be retried when its lease expires");
                    }
                    // The endpoint had no room, so claims were leaving its rows alone: now it has.
                    let was_full = ep_room.available_permits() == 0;
                    drop(_ep);
                    if was_full {
                        engine.inner.wake.notify_one();
                    }
                }
                .instrument(span),
            );
        }
        Ok(())
    }

    /// Whether the claim still outlasts the slowest send and its recording.
    fn lease_covers_a_send(&self, lease_ends: Instant) -> bool {
        lease_ends.saturating_duration_since(Instant::now()) >= self.inner.cfg.lease_needed_to_send()
    }

    /// Puts a claimed delivery back, due now, without an attempt.
    async fn give_back(&self, d: &ClaimedDelivery) {
        debug!("the claim ran short while waiting for the endpoint; giving the delivery back");
        let (id, lease, keep_slot) = ([d.id], [d.leased_until], [d.throttle_slot]);
        if let Err(e) = deliveries::release(&self.inner.pool, &id, &lease, &[Utc::now()], &keep_slot).await {
            warn!(error = %e, "giving a delivery back failed; it falls due when its lease expires");
        }
        self.inner.wake.notify_one();
    }

    /// The endpoints with sends in flight in this worker, and how many more each may start.
    fn endpoint_room(&self) -> (Vec<String>, Vec<i32>) {
        let limit = self.inner.cfg.per_endpoint_concurrency;
        let map = self.inner.per_endpoint.lock().expect("semaphore map lock");
        map.iter()
            .filter(|(_, s)| s.available_permits() < limit)
            .map(|(id, s)| {
                (
                    id.clone(),
                    i32::try_from(s.available_permits()).unwrap_or(i32::MAX),
                )
            })
            .unzip()
    }

    fn endpoint_semaphore(&self, endpoint_id: &str) -> Arc<Semaphore> {
        let limit = self.inner.cfg.per_endpoint_concurrency;
        let mut map = self.inner.per_endpoint.lock().expect("semaphore map lock");
        if map.len() > 10_000 {
            map.retain(|_, s| s.available_permits() < limit);
        }
        map.entry(endpoint_id.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(limit)))
            .clone()
    }

    /// Raw key bytes of every still-signing secret of the batch's endpoints, newest first,
    /// opened once per endpoint.
    fn signing_keys<'a>(
        &self,
        batch: impl Iterator<Item = &'a ClaimedDelivery>,
    ) -> HashMap<String, Vec<Vec<u8>>> {
        let mut keys: HashMap<String, Vec<Vec<u8>>> = HashMap::new();
        for d in batch {
            if keys.contains_key(&d.endpoint_id) {
                continue;
            }
            let opened = d
                .secrets
                .iter()
                .filter_map(|sealed| match self.inner.secrets.open(sealed).map(|p| crate::signing::secret_bytes(&p)) {
                    Ok(Ok(k)) => Some(k),
                    _ => {
                        warn!(endpoint_id = %d.endpoint_id, "an endpoint secret cannot be decrypted; check HOOKLINE_SECRET_KEY");
                        None
                    }
                })
                .collect();
            keys.insert(d.endpoint_id.clone(), opened);
        }
        keys
    }

    async fn attempt(
        &self,
        d: ClaimedDelivery,
        probe: bool,
        keys: &HashMap<String, Vec<Vec<u8>>>,
    ) -> Outcome {
        let cfg = &self.inner.cfg;
        let now = Utc::now();
        let trigger = match d.next_trigger {
            deliveries::MANUAL_KEEPING_SCHEDULE => TriggerType::Manual,
            t => TriggerType::try_from(t).unwrap_or(TriggerType::Scheduled),
        };
        let (result, (next_status, next_attempt_at)) = match d.payload.as_deref() {
            Some(_) if keys.get(&d.endpoint_id).is_none_or(Vec::is_empty) => {
                // Unsigned, it would be refused by every receiver that verifies (and blamed on
                // the endpoint). Retried on schedule: the server's key may be put right.
                let result = not_sent(
                    E_SIGNING,
                    "none of the endpoint's signing secrets can be decrypted; is HOOKLINE_SECRET_KEY the key they were made with?",
                );
                let next = next_state(cfg, &d, trigger, &result, now);
                (result, next)
            }
            Some(payload) => {
                let result = self
                    .inner
                    .sender
                    .send(&Outgoing {
                        url: &d.url,
                        msg_id: &d.message_id,
                        payload: payload.as_bytes(),
                        keys: &keys[&d.endpoint_id],
                        custom_headers: &d.headers.0,
                        now,
                    })
                    .await;
                let next = next_state(cfg, &d, trigger, &result, now);
                (result, next)
            }
            // The payload was expunged (retention or by request): sending "{}" signed would
            // pass for a real event, so the delivery fails for good instead, with the reason.
            None => (
                not_sent(
                    E_EXPUNGED,
                    "the message's payload was expunged (retention period or request)",
                ),
                (FAILED, now),
            ),
        };
        record_metrics(&result, next_status);
        debug!(status = result.status_code, error = ?result.error_code, "attempt finished");
        let ok = result.ok();
        Outcome {
            endpoint_was_healthy: d.consecutive_failures == 0 && d.circuit_open_until.is_none(),
            probe,
            record: AttemptRecord {
                delivery_id: d.id,
                lease: d.leased_until,
                attempt_id: ids::new_id(ids::ATTEMPT),
                org_id: d.org_id,
                app_id: d.app_id,
                message_id: d.message_id,
                endpoint_id: d.endpoint_id,
                url: d.url,
                status: if ok {
                    MessageStatus::Success
                } else {
                    MessageStatus::Fail
                },
                trigger,
                response_status_code: result.status_code.into(),
                response: if result.body.is_empty() {
                    result.error_detail.clone().unwrap_or_default()
                } else {
                    result.body
                },
                duration_ms: result.duration.as_millis() as i64,
                error_code: result.error_code.map(str::to_owned),
                request_headers: result.request_headers,
                at: now,
                next_status,
                next_attempt_at,
                counts_toward_schedule: d.next_trigger != deliveries::MANUAL_KEEPING_SCHEDULE,
                claimed_trigger: d.next_trigger,
            },
        }
    }

    async fn record_loop(self, mut rx: mpsc::Receiver<Outcome>) {
        let mut batch = Vec::with_capacity(RECORD_BATCH);
        while let Some(first) = rx.recv().await {
            batch.push(first);
            while batch.len() < RECORD_BATCH {
                match rx.try_recv() {
                    Ok(o) => batch.push(o),
                    Err(_) => break,
                }
            }
            if let Err(e) = self.record_until_stored(&batch).await {
                // One record the database refuses must not hold up the others (they may be
                // any tenant's): record them one by one and drop only the refused ones.
                warn!(error = %e, n = batch.len(), "the database refused a batch of attempts; recording them one by one");
                for o in batch.iter() {
                    if let Err(e) = self.record_until_stored(std::slice::from_ref(o)).await {
                        // Its lease runs out and the delivery is tried again (at-least-once).
                        error!(error = %e, delivery_id = o.record.delivery_id, endpoint_id = %o.record.endpoint_id,
                            "dropped an attempt record the database refuses");
                    }
                }
            }
            batch.clear();
        }
    }

    /// Records the batch, retrying transient failures (a lost connection, a deadlock) forever:
    /// the attempts happened. If this worker dies first, the leases expire and the deliveries
    /// are sent again (at-least-once). Returns the error the database gives for the data itself
    /// (classes 22 and 23), which no retry would cure.
    async fn record_until_stored(&self, batch: &[Outcome]) -> Result<(), sqlx::Error> {
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.record(batch).await {
                Ok(()) => return Ok(()),
                Err(e) if refused_data(&e) => return Err(e),
                Err(e) => {
                    warn!(error = %e, n = batch.len(), "recording attempts failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    async fn record(&self, batch: &[Outcome]) -> Result<(), sqlx::Error> {
        let now = Utc::now();
        let mut health: HashMap<&str, BatchHealth> = HashMap::new();
        // An attempt that sent nothing (an expunged payload, a secret that cannot be opened) says
        // nothing about the endpoint: it does not count for the breaker.
        let judged = |o: &&Outcome| !matches!(o.record.error_code.as_deref(), Some(E_EXPUNGED | E_SIGNING));
        for o in batch.iter().filter(judged) {
            if !o.endpoint_was_healthy || o.record.status != MessageStatus::Success {
                health.entry(o.record.endpoint_id.as_str()).or_default();
            }
        }
        for o in batch.iter().filter(judged) {
            if let Some(h) = health.get_mut(o.record.endpoint_id.as_str()) {
                h.observe_attempt(o.record.status == MessageStatus::Success, o.probe, o.record.at);
            }
        }
        let records: Vec<AttemptRecord> = batch.iter().map(|o| o.record.clone()).collect();
        if health.is_empty() {
            // The common case: healthy endpoints, all successes. One statement, no transaction.
            deliveries::record_attempts(&self.inner.pool, &records).await?;
            self.wake_for_soon_retries(&records, now);
            return Ok(());
        }
        let mut tx = self.inner.pool.begin().await?;
        deliveries::record_attempts(&mut *tx, &records).await?;
        {
            let mut ids: Vec<String> = health.keys().map(|s| s.to_string()).collect();
            ids.sort();
            let rows = endpoints::lock_health(&mut *tx, &ids).await?;
            let changed: Vec<_> = rows
                .into_iter()
                .filter_map(|row| {
                    let b = health.get(row.id.as_str())?;
                    let next = self.inner.cfg.breaker.apply(row.clone(), b, now);
                    (next != row).then_some(next)
                })
                .collect();
            if !changed.is_empty() {
                endpoints::save_health(&mut *tx, &changed).await?;
            }
        }
        tx.commit().await?;
        self.wake_for_soon_retries(&records, now);
        Ok(())
    }

    /// A retry due before the next poll wakes the claim loop, which then sleeps until it is due.
    fn wake_for_soon_retries(&self, records: &[AttemptRecord], now: DateTime<Utc>) {
        let soon = now + chrono::Duration::from_std(self.inner.cfg.poll_interval).unwrap_or_default();
        if records
            .iter()
            .any(|r| r.next_status == PENDING && r.next_attempt_at < soon)
        {
            self.inner.wake.notify_one();
        }
    }
}

/// The outcome of an attempt that sent nothing, with the reason.
fn not_sent(code: &'static str, detail: &str) -> SendResult {
    SendResult {
        status_code: 0,
        body: String::new(),
        duration: Duration::ZERO,
        error_code: Some(code),
        error_detail: Some(format!("not sent: {detail}")),
        retry_after: None,
        request_headers: serde_json::Value::Null,
    }
}

/// The delivery's state after an attempt: success, a retry per the policy, or the dead letter.
fn next_state(
    cfg: &DeliveryConfig,
    d: &ClaimedDelivery,
    trigger: TriggerType,
    r: &SendResult,
    now: DateTime<Utc>,
) -> (i16, DateTime<Utc>) {
    if r.ok() {
        return (SUCCESS, now);
    }
    // A resend or recovery of a settled delivery is one attempt; one made while the delivery
    // was still retrying leaves its schedule as it was.
    if trigger == TriggerType::Manual && d.next_trigger != deliveries::MANUAL_KEEPING_SCHEDULE {
        return (FAILED, now);
    }
    let retry_after = match r.status_code {
        429 | 503 => r
            .retry_after
            .as_deref()
            .and_then(|v| crate::retry::parse_retry_after(v, now)),
        _ => None,
    };
    // Scheduled attempts that failed so far; a resend while retrying is not one of them, and
    // restarts the wait for the retry that was due.
    let this_one = i32::from(d.next_trigger != deliveries::MANUAL_KEEPING_SCHEDULE);
    let failed_attempts = (d.attempt_count + this_one).max(1) as u32;
    match cfg
        .retry
        .next_delay(failed_attempts, retry_after, rand::thread_rng().gen())
    {
        Some(delay) => (
            PENDING,
            now + chrono::Duration::from_std(delay).unwrap_or_default(),
        ),
        None => (FAILED, now),
    }
}

fn record_metrics(r: &SendResult, next_status: i16) {
    let result = if r.ok() {
        "success"
    } else {
        r.error_code.unwrap_or("E_UNKNOWN")
    };
    metrics::counter!("hookline_attempts_total", "result" => result).increment(1);
    metrics::histogram!("hookline_attempt_duration_seconds").record(r.duration.as_secs_f64());
    match next_status {
        SUCCESS => metrics::counter!("hookline_deliveries_succeeded_total").increment(1),
        FAILED => metrics::counter!("hookline_deliveries_failed_total").increment(1),
        _ => {}
    }
}

/// Whether the database refused the data itself (SQLSTATE class 22, data exception, or 23,
/// integrity constraint violation) rather than failing for a passing reason.
fn refused_data(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|c| c.starts_with("22") || c.starts_with("23"))
}
