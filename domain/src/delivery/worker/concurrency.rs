//! An endpoint's concurrency cap (`per_endpoint_concurrency`) across every worker process:
//! a send is reserved in the shared ledger (`store::sends`) before it starts, by the claim
//! statement itself (each claimed row comes with its endpoint's grant). When a send ends,
//! its endpoint's room in this worker is free at once, and its reservation ends with this
//! worker's next claim (which is when that room is used again) or, when the worker has
//! nothing more to send, at its next nap: no statement of its own per send. A lone worker is
//! therefore always granted what it claimed; a grant comes back short only when other
//! workers fill the endpoint.
use super::*;
use crate::store::sends;

/// How long a worker first leaves an endpoint whose sends other workers fill out of its
/// claims; doubled while it stays full, up to [`FULL_BACKOFF_MAX`].
const FULL_BACKOFF_MIN: Duration = Duration::from_millis(50);
const FULL_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// What a claim's grants allow of the rows about to be sent.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Split<T> {
    /// Rows within their endpoint's grant, in claim order.
    pub go: Vec<T>,
    /// Rows over it: other workers fill the endpoint.
    pub back: Vec<T>,
    /// Reservations the claim made that no row uses (rows deferred by the throttle or the
    /// breaker's probe): `(endpoint, how many)`, to end with the next reservation.
    pub unused: Vec<(String, i32)>,
    /// Endpoints that got less than they were to send (the worker backs off from them), and
    /// those that got all (it stops backing off).
    pub short: Vec<String>,
    pub enough: Vec<String>,
}

/// Splits `to_send` (rows of `claimed`, in claim order) by their endpoints' grants. A grant
/// covers at most the endpoint's rows in the claim; `endpoint` and `granted` read a row.
pub(super) fn split_by_grants<'a, T>(
    claimed: impl Iterator<Item = (&'a str, Option<i32>)>,
    to_send: Vec<T>,
    endpoint: impl Fn(&T) -> &str,
) -> Split<T> {
    // per endpoint: (reserved, rows to send, taken so far)
    let mut per: Vec<(String, i32, i32)> = Vec::new();
    for (ep, granted) in claimed {
        let Some(g) = granted else { continue };
        match per.iter_mut().find(|(e, ..)| e == ep) {
            // the grant is per endpoint; each of its claimed rows can use one of it
            Some(p) => p.1 = (p.1 + 1).min(g),
            None => per.push((ep.to_string(), 1.min(g), 0)),
        }
    }
    let mut split = Split {
        go: Vec::with_capacity(to_send.len()),
        back: Vec::new(),
        unused: Vec::new(),
        short: Vec::new(),
        enough: Vec::new(),
    };
    for row in to_send {
        let ep = endpoint(&row);
        match per.iter_mut().find(|(e, ..)| e == ep) {
            Some(p) if p.2 < p.1 => {
                p.2 += 1;
                split.go.push(row);
            }
            _ => {
                if !split.short.iter().any(|s| s == ep) {
                    split.short.push(ep.to_string());
                }
                split.back.push(row);
            }
        }
    }
    for (ep, reserved, taken) in per {
        if reserved > taken {
            split.unused.push((ep.clone(), reserved - taken));
        }
        if !split.short.contains(&ep) {
            split.enough.push(ep);
        }
    }
    split
}

impl Engine {
    /// Notes that a send reserved with `lease` ended (or will not start).
    pub(super) fn send_ended(&self, endpoint_id: String, lease: DateTime<Utc>) {
        self.inner
            .ended
            .lock()
            .expect("ended sends lock")
            .push((endpoint_id, lease));
    }

    /// The sends that ended since the last reservation, for a claim to end them; put back
    /// with [`Engine::sends_not_ended`] should the claim fail.
    pub(super) fn take_ended(&self) -> (Vec<String>, Vec<DateTime<Utc>>) {
        std::mem::take(&mut *self.inner.ended.lock().expect("ended sends lock"))
            .into_iter()
            .unzip()
    }

    pub(super) fn sends_not_ended(&self, endpoints: Vec<String>, leases: Vec<DateTime<Utc>>) {
        self.inner
            .ended
            .lock()
            .expect("ended sends lock")
            .extend(endpoints.into_iter().zip(leases));
    }

    /// Of the sends about to start, those within the grants their claim got. The others are
    /// put back, due now and keeping any throttle slot they hold, and their endpoint is left
    /// out of this worker's claims for a moment (longer while it stays full); reservations no
    /// row uses end with the next reservation.
    pub(super) async fn within_grants(
        &self,
        claimed: &[(String, Option<i32>, DateTime<Utc>)],
        rows: Vec<ToSend>,
    ) -> sqlx::Result<Vec<ToSend>> {
        let inner = &self.inner;
        let grants = claimed.iter().map(|(e, g, _)| (e.as_str(), *g));
        let split = split_by_grants(grants, rows, |(d, _)| d.endpoint_id.as_str());
        for (ep, n) in &split.unused {
            // one claim statement leased its rows: one lease end per endpoint
            if let Some((_, _, lease)) = claimed.iter().find(|(e, ..)| e == ep) {
                for _ in 0..*n {
                    self.send_ended(ep.clone(), *lease);
                }
            }
        }
        let now = Utc::now();
        {
            let mut full = inner.full.lock().expect("full map lock");
            for ep in &split.enough {
                full.remove(ep);
            }
            for ep in &split.short {
                let wait = full
                    .get(ep)
                    .map_or(FULL_BACKOFF_MIN, |w| (*w * 2).min(FULL_BACKOFF_MAX));
                full.insert(ep.clone(), wait);
                self.park(ep, now + chrono::Duration::from_std(wait).unwrap_or_default());
            }
        }
        if !split.back.is_empty() {
            metrics::counter!("hookline_deliveries_deferred_total", "reason" => "endpoint_concurrency")
                .increment(split.back.len() as u64);
            let back: Vec<&ClaimedDelivery> = split.back.iter().map(|(d, _)| d).collect();
            let keys = super::dispatch::KeyArrays::of(back.iter().copied());
            let at = vec![now; back.len()];
            let reserved: Vec<bool> = back.iter().map(|d| d.throttle_slot).collect();
            deliveries::release(&inner.pool, &keys.keys(), &at, &reserved).await?;
        }
        Ok(split.go)
    }

    /// Ends the reservations of the sends that ended, when there are any (the worker is about
    /// to nap, or to stop); a failure leaves them for the next claim.
    pub(super) async fn end_sends(&self) {
        let (endpoints, leases) = self.take_ended();
        if endpoints.is_empty() {
            return;
        }
        let mut requests: Vec<(String, sends::Request)> = Vec::new();
        for (ep, lease) in endpoints.iter().zip(&leases) {
            match requests.iter_mut().find(|(e, _)| e == ep) {
                Some((_, r)) => r.ended.push(*lease),
                None => requests.push((
                    ep.clone(),
                    sends::Request {
                        ended: vec![*lease],
                        ..sends::Request::default()
                    },
                )),
            }
        }
        let cap = i32::try_from(self.inner.cfg.per_endpoint_concurrency).unwrap_or(i32::MAX);
        if let Err(e) = sends::reserve(&self.inner.pool, &requests, cap).await {
            warn!(error = %e, "ending sends' reservations failed; will try again");
            self.sends_not_ended(endpoints, leases);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(claimed: &[(String, Option<i32>)]) -> impl Iterator<Item = (&str, Option<i32>)> {
        claimed.iter().map(|(e, g)| (e.as_str(), *g))
    }

    #[test]
    fn rows_within_the_grant_go_and_the_rest_go_back() {
        let claimed = vec![
            ("ep_a".to_string(), Some(2)),
            ("ep_a".to_string(), Some(2)),
            ("ep_a".to_string(), Some(2)),
            ("ep_b".to_string(), Some(1)),
        ];
        let rows = vec![("ep_a", 1), ("ep_a", 2), ("ep_a", 3), ("ep_b", 4)];
        let s = split_by_grants(pairs(&claimed), rows, |r| r.0);
        assert_eq!(s.go, vec![("ep_a", 1), ("ep_a", 2), ("ep_b", 4)]);
        assert_eq!(s.back, vec![("ep_a", 3)]);
        assert_eq!(s.short, vec!["ep_a".to_string()]);
        assert_eq!(s.enough, vec!["ep_b".to_string()]);
        assert!(s.unused.is_empty());
    }

    #[test]
    fn reservations_of_rows_not_sent_are_ended_and_rows_without_a_reservation_never_go() {
        // three claimed for ep_a, all granted, but the throttle deferred one; ep_c's breaker
        // was open (no reservation): its row, were it offered, goes back
        let claimed = vec![
            ("ep_a".to_string(), Some(3)),
            ("ep_a".to_string(), Some(3)),
            ("ep_a".to_string(), Some(3)),
            ("ep_c".to_string(), None),
        ];
        let s = split_by_grants(
            pairs(&claimed),
            vec![("ep_a", 1), ("ep_a", 2), ("ep_c", 3)],
            |r| r.0,
        );
        assert_eq!(s.go, vec![("ep_a", 1), ("ep_a", 2)]);
        assert_eq!(s.back, vec![("ep_c", 3)]);
        assert_eq!(s.unused, vec![("ep_a".to_string(), 1)]);
    }

    #[test]
    fn a_grant_of_nothing_sends_nothing_and_reserves_nothing() {
        let claimed = vec![("ep_a".to_string(), Some(0)), ("ep_a".to_string(), Some(0))];
        let s = split_by_grants(pairs(&claimed), vec![("ep_a", 1), ("ep_a", 2)], |r| r.0);
        assert!(s.go.is_empty());
        assert_eq!(s.back.len(), 2);
        assert!(s.unused.is_empty());
        assert_eq!(s.short, vec!["ep_a".to_string()]);
    }
}
