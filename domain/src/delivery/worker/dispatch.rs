//! Sorting a claimed batch into sends, deferrals and failures, and the send of one delivery.
use super::record::next_state;
use super::*;
use crate::delivery::metrics::{record_attempt, record_endpoint_attempt};
use crate::signing::SigningKey;

/// How long a worker leaves an endpoint with an open breaker out of its claims before it
/// looks again (at most until the breaker's pause ends). Its claimed rows are put back until
/// the pause ends; the rest of its backlog stays where it is, unread, instead of being claimed
/// and put back batch after batch, which with a large backlog rewrote it all on every trip.
/// Short, so that a breaker closed by hand (recover, or an edit) is seen soon.
const PARK_OPEN: chrono::Duration = chrono::Duration::seconds(5);
/// The same while another send is the endpoint's half-open probe: short, because when the
/// probe succeeds the endpoint's backlog should go at once from every worker.
const PARK_PROBING: chrono::Duration = chrono::Duration::seconds(1);

impl Engine {
    /// Leaves the endpoint out of this worker's claims until `until`.
    pub(super) fn park(&self, endpoint_id: &str, until: DateTime<Utc>) {
        let mut parked = self.inner.parked.lock().expect("parked map lock");
        let at = parked.entry(endpoint_id.to_string()).or_insert(until);
        *at = (*at).max(until);
    }

    /// Claims this worker's endpoints again (its probe closed their breaker).
    pub(super) fn unpark(&self, endpoint_ids: &[String]) {
        let mut parked = self.inner.parked.lock().expect("parked map lock");
        for id in endpoint_ids {
            parked.remove(id);
        }
    }

    /// Sorts a claimed batch into sends, deferrals (throttle, open breaker) and failures
    /// (disabled endpoints), then spawns the sends.
    pub(super) async fn dispatch(
        &self,
        batch: Vec<ClaimedDelivery>,
        lease_ends: Instant,
        tx: &mpsc::Sender<Outcome>,
    ) -> Result<(), sqlx::Error> {
        let inner = &self.inner;
        let now = Utc::now();
        // what the claim reserved, per row: rows not sent give their reservations back
        let grants: Vec<(String, Option<i32>, DateTime<Utc>)> = batch
            .iter()
            .map(|d| (d.endpoint_id.clone(), d.granted, d.leased_until))
            .collect();
        let probe_window = chrono::Duration::from_std(inner.cfg.probe_window()).unwrap_or_default();
        // (row, due at, holds a reserved throttle slot)
        let mut defer: Vec<(ClaimedDelivery, DateTime<Utc>, bool)> = Vec::new();
        let mut disabled: Vec<ClaimedDelivery> = Vec::new();
        let mut probing: HashMap<String, bool> = HashMap::new();
        // rows of throttled endpoints or applications still to be given a slot, in claim order
        let mut throttled: Vec<ToSend> = Vec::new();
        let mut to_send = Vec::with_capacity(batch.len());
        for d in batch {
            let mut probe = false;
            if d.disabled {
                disabled.push(d);
                continue;
            }
            if let Some(until) = d.circuit_open_until {
                if until > now {
                    self.park(&d.endpoint_id, until.min(now + PARK_OPEN));
                    defer.push((d, until, false));
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
                    self.park(&d.endpoint_id, now + PARK_PROBING);
                    defer.push((d, now + probe_window, false));
                    continue;
                }
                probe = true;
            }
            let throttled_here =
                d.throttle_rate.is_some_and(|r| r > 0) || d.app_throttle_rate.is_some_and(|r| r > 0);
            // A row that comes due on the slot reserved for it is sent without asking again.
            if throttled_here && !d.throttle_slot {
                throttled.push((d, probe));
                continue;
            }
            to_send.push((d, probe));
        }
        // Throttled rows get successive send slots of their endpoint and of their application,
        // each reserved in one statement: a row due now is sent; the others wait for their own
        // slot and are then sent without being deferred again (each row is put back once).
        let slotted = super::throttle::assign_slots(&inner.pool, throttled).await?;
        let reserved_at = Utc::now();
        for ((d, probe), at) in slotted {
            if at <= reserved_at {
                to_send.push((d, probe));
            } else {
                metrics::counter!("hookline_deliveries_deferred_total", "reason" => "throttle").increment(1);
                defer.push((d, at, true));
            }
        }
        if !defer.is_empty() {
            let keys = KeyArrays::of(defer.iter().map(|d| &d.0));
            let at: Vec<DateTime<Utc>> = defer.iter().map(|d| d.1).collect();
            let reserved: Vec<bool> = defer.iter().map(|d| d.2).collect();
            deliveries::release(&inner.pool, &keys.keys(), &at, &reserved).await?;
            inner.wake.notify_one();
        }
        if !disabled.is_empty() {
            let keys = KeyArrays::of(disabled.iter());
            deliveries::fail_without_attempt(&inner.pool, &keys.keys()).await?;
        }
        let to_send = self.within_grants(&grants, to_send).await?;
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
            let span = info_span!(
                "delivery",
                msg_id = %d.message_id,
                endpoint_id = %d.endpoint_id,
                attempt = d.attempt_count + 1,
                attempt_id = tracing::field::Empty,
                http.response.status_code = tracing::field::Empty,
                error = tracing::field::Empty,
            );
            // a child of the ingest's trace, whichever process took the message in
            crate::trace::continue_trace(&span, d.traceparent.as_deref());
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
                    let (endpoint_id, lease) = (d.endpoint_id.clone(), d.leased_until);
                    let outcome = engine.attempt(d, probe, &keys).await;
                    // before its room is free here, so the next reservation ends it first
                    engine.send_ended(endpoint_id, lease);
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

    pub(super) fn endpoint_semaphore(&self, endpoint_id: &str) -> Arc<Semaphore> {
        let limit = self.inner.cfg.per_endpoint_concurrency;
        let mut map = self.inner.per_endpoint.lock().expect("semaphore map lock");
        if map.len() > 10_000 {
            map.retain(|_, s| s.available_permits() < limit);
        }
        map.entry(endpoint_id.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(limit)))
            .clone()
    }

    /// Every still-signing secret of the batch's endpoints (HMAC or Ed25519), newest first,
    /// opened once per endpoint.
    pub(super) fn signing_keys<'a>(
        &self,
        batch: impl Iterator<Item = &'a ClaimedDelivery>,
    ) -> HashMap<String, Vec<SigningKey>> {
        let mut keys: HashMap<String, Vec<SigningKey>> = HashMap::new();
        for d in batch {
            if keys.contains_key(&d.endpoint_id) {
                continue;
            }
            let opened = d
                .secrets
                .iter()
                .filter_map(|sealed| match self.inner.secrets.open(sealed).map(|p| SigningKey::parse(&p)) {
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

    pub(super) async fn attempt(
        &self,
        d: ClaimedDelivery,
        probe: bool,
        keys: &HashMap<String, Vec<SigningKey>>,
    ) -> Outcome {
        let cfg = &self.inner.cfg;
        let now = Utc::now();
        let attempt_id = ids::new_id(ids::ATTEMPT);
        tracing::Span::current().record("attempt_id", attempt_id.as_str());
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
                // a notification destination in Slack's shape gets a readable message instead
                let slack = (d.payload_format == endpoints::FORMAT_SLACK)
                    .then(|| crate::delivery::slack::message(payload, &cfg.public_url));
                let outgoing = Outgoing {
                    url: &d.url,
                    msg_id: &d.message_id,
                    payload: slack.as_deref().unwrap_or(payload).as_bytes(),
                    content_type: if slack.is_some() {
                        None
                    } else {
                        d.content_type.as_deref()
                    },
                    keys: &keys[&d.endpoint_id],
                    custom_headers: &d.headers.0,
                    now,
                };
                let result = match self.inbox_token(&d.url) {
                    Some(token) => self.deliver_to_inbox(token, &d.endpoint_id, &outgoing).await,
                    None => self.inner.sender.send(&outgoing).await,
                };
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
        record_attempt(&result, next_status);
        if let Some(label) = inner_label(self, &d.endpoint_id) {
            record_endpoint_attempt(label, result.ok(), result.duration);
        }
        let span = tracing::Span::current();
        span.record("http.response.status_code", result.status_code);
        if let Some(code) = result.error_code {
            span.record("error", code);
        }
        debug!(status = result.status_code, error = ?result.error_code, "attempt finished");
        let ok = result.ok();
        Outcome {
            endpoint_was_healthy: d.consecutive_failures == 0 && d.circuit_open_until.is_none(),
            probe,
            attempts_before: d.attempt_count,
            record: AttemptRecord {
                delivery_id: d.id,
                lease: d.leased_until,
                attempt_id,
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
}

/// The endpoint's label for its own series, when the operator chose it to have them.
fn inner_label<'a>(engine: &Engine, endpoint_id: &'a str) -> Option<&'a str> {
    let inner = &engine.inner;
    inner
        .endpoint_labels
        .label(&inner.cfg.endpoint_metrics, endpoint_id)
}

/// The outcome of an attempt that sent nothing, with the reason.
pub(super) fn not_sent(code: &'static str, detail: &str) -> SendResult {
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

/// The keys of claimed rows, owned, as [`deliveries::Keys`] borrows them.
pub(super) struct KeyArrays {
    ids: Vec<i64>,
    message_ids: Vec<String>,
    leases: Vec<DateTime<Utc>>,
}

impl KeyArrays {
    pub(super) fn of<'a>(rows: impl Iterator<Item = &'a ClaimedDelivery>) -> Self {
        let mut k = KeyArrays {
            ids: Vec::new(),
            message_ids: Vec::new(),
            leases: Vec::new(),
        };
        for d in rows {
            k.ids.push(d.id);
            k.message_ids.push(d.message_id.clone());
            k.leases.push(d.leased_until);
        }
        k
    }

    pub(super) fn keys(&self) -> deliveries::Keys<'_> {
        deliveries::Keys {
            ids: &self.ids,
            message_ids: &self.message_ids,
            leases: &self.leases,
        }
    }
}
