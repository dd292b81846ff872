//! The claim loop: leases due deliveries in batches, sized by the free send slots and each
//! endpoint's room, and naps until a NOTIFY, a due retry or the poll interval.
use super::*;

impl Engine {
    pub(super) async fn claim_loop(self, tx: mpsc::Sender<Outcome>, cancel: CancellationToken) {
        let inner = &self.inner;
        let lease = inner.cfg.lease().as_secs_f64();
        let low_water = (inner.cfg.concurrency / 8).max(1);
        let mut backoff = Duration::from_millis(500);
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
            // the claim ends these sends' reservations as it makes its own
            let (ended_endpoints, ended_leases) = self.take_ended();
            let room = deliveries::Room {
                endpoints: &busy,
                free: &free,
                cap: i32::try_from(inner.cfg.per_endpoint_concurrency).unwrap_or(i32::MAX),
                ended_endpoints: &ended_endpoints,
                ended_leases: &ended_leases,
            };
            let claimed = match deliveries::claim_due(&inner.pool, want, lease, room).await {
                Ok(c) => c,
                Err(e) => {
                    self.sends_not_ended(ended_endpoints, ended_leases);
                    warn!(error = %e, retry_in = ?backoff, "claiming deliveries failed; retrying");
                    tokio::select! {
                        _ = cancel.cancelled() => break,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    // while the database is away: 0.5 s, 1 s, 2 s, then every 4 s
                    backoff = (backoff * 2).min(Duration::from_secs(4));
                    continue;
                }
            };
            backoff = Duration::from_millis(500);
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
                    // nothing to reserve that would end them: other workers should not count
                    // this one's finished sends while it sleeps
                    self.end_sends().await;
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
        self.end_sends().await;
    }

    /// Sleep until the next delivery falls due, but never longer than the poll interval.
    pub(super) async fn idle_nap(&self) -> Duration {
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

    /// Whether the claim still outlasts the slowest send and its recording.
    pub(super) fn lease_covers_a_send(&self, lease_ends: Instant) -> bool {
        lease_ends.saturating_duration_since(Instant::now()) >= self.inner.cfg.lease_needed_to_send()
    }

    /// Puts a claimed delivery back, due now, without an attempt, and ends its reservation.
    pub(super) async fn give_back(&self, d: &ClaimedDelivery) {
        debug!("the claim ran short while waiting for the endpoint; giving the delivery back");
        self.send_ended(d.endpoint_id.clone(), d.leased_until);
        let keys = super::dispatch::KeyArrays::of(std::iter::once(d));
        if let Err(e) =
            deliveries::release(&self.inner.pool, &keys.keys(), &[Utc::now()], &[d.throttle_slot]).await
        {
            warn!(error = %e, "giving a delivery back failed; it falls due when its lease expires");
        }
        self.inner.wake.notify_one();
    }

    /// The endpoints with sends in flight in this worker, and how many more each may start;
    /// parked endpoints (see [`Engine::park`]) have no room.
    pub(super) fn endpoint_room(&self) -> (Vec<String>, Vec<i32>) {
        let limit = self.inner.cfg.per_endpoint_concurrency;
        let (mut busy, mut free): (Vec<String>, Vec<i32>) = {
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
        };
        let now = Utc::now();
        let mut parked = self.inner.parked.lock().expect("parked map lock");
        parked.retain(|_, until| *until > now);
        for id in parked.keys() {
            match busy.iter().position(|b| b == id) {
                Some(i) => free[i] = 0,
                None => {
                    busy.push(id.clone());
                    free.push(0);
                }
            }
        }
        (busy, free)
    }
}
