//! An endpoint's concurrency cap (`per_endpoint_concurrency`) across every worker process:
//! a send is reserved in the shared ledger (`store::sends`) before it starts. When it ends,
//! its endpoint's room in this worker is free at once, and its reservation ends with this
//! worker's next reservation (which is when that room is used again) or, when the worker has
//! nothing more to send, at its next nap: no statement of its own per send. A lone worker is
//! therefore always granted what it claimed; a reservation comes back short only when other
//! workers fill the endpoint.
use super::*;
use crate::store::sends::{self, Request};

/// How long a worker first leaves an endpoint whose sends other workers fill out of its
/// claims; doubled while it stays full, up to [`FULL_BACKOFF_MAX`].
const FULL_BACKOFF_MIN: Duration = Duration::from_millis(50);
const FULL_BACKOFF_MAX: Duration = Duration::from_secs(1);

impl Engine {
    /// Notes that a send reserved with `lease` ended (or will not start).
    pub(super) fn send_ended(&self, endpoint_id: String, lease: DateTime<Utc>) {
        self.inner
            .ended
            .lock()
            .expect("ended sends lock")
            .push((endpoint_id, lease));
    }

    /// Of the sends about to start, those that fit their endpoint's cap across all workers.
    /// The others are put back, due now and keeping any throttle slot they hold, and their
    /// endpoint is left out of this worker's claims for a moment (longer while it stays full).
    pub(super) async fn reserve_sends(&self, rows: Vec<ToSend>) -> sqlx::Result<Vec<ToSend>> {
        let inner = &self.inner;
        let mut requests: Vec<(String, Request)> = Vec::new();
        for (d, _) in &rows {
            match requests.iter_mut().find(|(e, _)| *e == d.endpoint_id) {
                Some((_, r)) => r.asked += 1,
                None => requests.push((
                    d.endpoint_id.clone(),
                    Request {
                        ended: Vec::new(),
                        asked: 1,
                        // one claim statement leased the whole batch: one lease end
                        lease: Some(d.leased_until),
                    },
                )),
            }
        }
        let asked: Vec<(String, i32)> = requests.iter().map(|(e, r)| (e.clone(), r.asked)).collect();
        let granted: HashMap<String, i32> = self.end_and_reserve(requests).await?.into_iter().collect();
        let mut go = Vec::with_capacity(rows.len());
        let mut back: Vec<ClaimedDelivery> = Vec::new();
        let mut taken: HashMap<String, i32> = HashMap::new();
        for (d, probe) in rows {
            let n = taken.entry(d.endpoint_id.clone()).or_insert(0);
            if *n < granted.get(&d.endpoint_id).copied().unwrap_or(0) {
                *n += 1;
                go.push((d, probe));
            } else {
                back.push(d);
            }
        }
        let now = Utc::now();
        {
            let mut full = inner.full.lock().expect("full map lock");
            for (ep, want) in &asked {
                if granted.get(ep).copied().unwrap_or(0) >= *want {
                    full.remove(ep);
                    continue;
                }
                let wait = full
                    .get(ep)
                    .map_or(FULL_BACKOFF_MIN, |w| (*w * 2).min(FULL_BACKOFF_MAX));
                full.insert(ep.clone(), wait);
                self.park(ep, now + chrono::Duration::from_std(wait).unwrap_or_default());
            }
        }
        if !back.is_empty() {
            metrics::counter!("hookline_deliveries_deferred_total", "reason" => "endpoint_concurrency")
                .increment(back.len() as u64);
            let keys = super::dispatch::KeyArrays::of(back.iter());
            let at = vec![now; back.len()];
            let reserved: Vec<bool> = back.iter().map(|d| d.throttle_slot).collect();
            deliveries::release(&inner.pool, &keys.keys(), &at, &reserved).await?;
        }
        Ok(go)
    }

    /// Ends the reservations of the sends that ended, when there are any (the worker is about
    /// to nap, or to stop); a failure leaves them for the next reservation.
    pub(super) async fn end_sends(&self) {
        if self.inner.ended.lock().expect("ended sends lock").is_empty() {
            return;
        }
        if let Err(e) = self.end_and_reserve(Vec::new()).await {
            warn!(error = %e, "ending sends' reservations failed; will try again");
        }
    }

    /// One reservation statement for `requests` and every send that ended meanwhile. If it
    /// fails, the ended sends are kept for the next one.
    async fn end_and_reserve(
        &self,
        mut requests: Vec<(String, Request)>,
    ) -> sqlx::Result<Vec<(String, i32)>> {
        let ended = std::mem::take(&mut *self.inner.ended.lock().expect("ended sends lock"));
        for (ep, lease) in &ended {
            match requests.iter_mut().find(|(e, _)| e == ep) {
                Some((_, r)) => r.ended.push(*lease),
                None => requests.push((
                    ep.clone(),
                    Request {
                        ended: vec![*lease],
                        ..Request::default()
                    },
                )),
            }
        }
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let cap = i32::try_from(self.inner.cfg.per_endpoint_concurrency).unwrap_or(i32::MAX);
        match sends::reserve(&self.inner.pool, &requests, cap).await {
            Ok(granted) => Ok(granted),
            Err(e) => {
                self.inner.ended.lock().expect("ended sends lock").extend(ended);
                Err(e)
            }
        }
    }
}
