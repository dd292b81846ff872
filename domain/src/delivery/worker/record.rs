//! The recorder: stores the outcomes of many attempts in one short transaction.
use super::*;

impl Engine {
    pub(super) async fn record_loop(self, mut rx: mpsc::Receiver<Outcome>) {
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
    pub(super) async fn record_until_stored(&self, batch: &[Outcome]) -> Result<(), sqlx::Error> {
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

    pub(super) async fn record(&self, batch: &[Outcome]) -> Result<(), sqlx::Error> {
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
        let failing_after = self.inner.cfg.failing_after;
        let news: Vec<(&Outcome, operational::AttemptNews)> = batch
            .iter()
            .filter_map(|o| {
                operational::attempt_news(failing_after, o.attempts_before, &o.record).map(|n| (o, n))
            })
            .collect();
        if health.is_empty() && news.is_empty() {
            // The common case: healthy endpoints, all successes. One statement, no transaction.
            deliveries::record_attempts(&self.inner.pool, &records).await?;
            self.wake_for_soon_retries(&records, now);
            return Ok(());
        }
        let mut tx = self.inner.pool.begin().await?;
        deliveries::record_attempts(&mut *tx, &records).await?;
        let mut disabled: Vec<(String, Option<DateTime<Utc>>)> = Vec::new();
        if !health.is_empty() {
            let mut ids: Vec<String> = health.keys().map(|s| s.to_string()).collect();
            ids.sort();
            let rows = endpoints::lock_health(&mut *tx, &ids).await?;
            let mut closed: Vec<String> = Vec::new();
            let changed: Vec<_> = rows
                .into_iter()
                .filter_map(|row| {
                    let b = health.get(row.id.as_str())?;
                    let next = self.inner.cfg.breaker.apply(row.clone(), b, now);
                    if row.circuit_open_until.is_some() && next.circuit_open_until.is_none() {
                        closed.push(row.id.clone());
                    }
                    if !row.disabled && next.disabled {
                        disabled.push((row.id.clone(), next.failing_since));
                    }
                    (next != row).then_some(next)
                })
                .collect();
            if !changed.is_empty() {
                endpoints::save_health(&mut *tx, &changed).await?;
            }
            // The circuit closed (its probe succeeded): the deliveries that waited out the
            // probe go now, in every worker, rather than when the probe's window ends.
            if !closed.is_empty() {
                self.unpark(&closed);
                let window = chrono::Duration::from_std(self.inner.cfg.probe_window()).unwrap_or_default();
                if deliveries::due_now(&mut *tx, &closed, now + window).await? > 0 {
                    store::messages::notify_workers(&mut *tx).await?;
                }
            }
        }
        if !news.is_empty() || !disabled.is_empty() {
            let events = operational::events(&mut tx, &news, &disabled, batch).await?;
            if let Err(e) = store::operational::emit_all(&mut tx, &events).await {
                warn!(error = %e, n = events.len(), "queueing operational webhooks failed");
            }
        }
        tx.commit().await?;
        if !disabled.is_empty() {
            metrics::counter!("hookline_endpoints_auto_disabled_total").increment(disabled.len() as u64);
        }
        self.wake_for_soon_retries(&records, now);
        Ok(())
    }

    /// A retry due before the next poll wakes the claim loop, which then sleeps until it is due.
    pub(super) fn wake_for_soon_retries(&self, records: &[AttemptRecord], now: DateTime<Utc>) {
        let soon = now + chrono::Duration::from_std(self.inner.cfg.poll_interval).unwrap_or_default();
        if records
            .iter()
            .any(|r| r.next_status == PENDING && r.next_attempt_at < soon)
        {
            self.inner.wake.notify_one();
        }
    }
}

/// The delivery's state after an attempt: success, a retry per the policy, or the dead letter.
pub(super) fn next_state(
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

/// Whether the database refused the data itself (SQLSTATE class 22, data exception, or 23,
/// integrity constraint violation) rather than failing for a passing reason.
pub(super) fn refused_data(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|c| c.starts_with("22") || c.starts_with("23"))
}
