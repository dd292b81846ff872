//! Throttle slots: an endpoint's `throttleRate` and its application's, both enforced across
//! every worker by a shared GCRA state in PostgreSQL (the time of the next free slot).
use super::ToSend;
use crate::store::endpoints::{self, Throttle};
use chrono::{DateTime, Utc};

/// The `i`-th of successive slots `1/rate` seconds apart from `first`.
pub(super) fn slot(first: DateTime<Utc>, i: usize, rate: i32) -> DateTime<Utc> {
    first + chrono::Duration::microseconds((i as f64 * 1e6 / f64::from(rate.max(1))) as i64)
}

/// Gives each row the time it may be sent: the later of its endpoint's slot and its
/// application's slot. Each endpoint and application reserves as many successive slots as it
/// has rows, in one statement each. Rows of an endpoint that is gone are dropped (their
/// deliveries went with it).
pub(super) async fn assign_slots(
    pool: &sqlx::PgPool,
    rows: Vec<ToSend>,
) -> sqlx::Result<Vec<(ToSend, DateTime<Utc>)>> {
    let mut out: Vec<(ToSend, DateTime<Utc>)> = Vec::with_capacity(rows.len());
    let mut by_endpoint: Vec<(String, i32, Vec<ToSend>)> = Vec::new();
    for row in rows {
        match row.0.throttle_rate.filter(|r| *r > 0) {
            Some(rate) => match by_endpoint.iter_mut().find(|(ep, _, _)| *ep == row.0.endpoint_id) {
                Some((_, _, group)) => group.push(row),
                None => by_endpoint.push((row.0.endpoint_id.clone(), rate, vec![row])),
            },
            None => out.push((row, DateTime::<Utc>::MIN_UTC)),
        }
    }
    for (endpoint_id, rate, group) in by_endpoint {
        let k = i32::try_from(group.len()).unwrap_or(i32::MAX);
        let Some(first) =
            endpoints::reserve_throttle_slots(pool, Throttle::Endpoint, &endpoint_id, rate, k).await?
        else {
            continue;
        };
        out.extend(
            group
                .into_iter()
                .enumerate()
                .map(|(i, row)| (row, slot(first, i, rate))),
        );
    }
    // The application's slots go to its rows in the order their endpoint slots come.
    out.sort_by_key(|(_, at)| *at);
    let mut apps: Vec<(String, i32, Vec<usize>)> = Vec::new();
    for (i, ((d, _), _)) in out.iter().enumerate() {
        if let Some(rate) = d.app_throttle_rate.filter(|r| *r > 0) {
            match apps.iter_mut().find(|(app, _, _)| *app == d.app_id) {
                Some((_, _, idx)) => idx.push(i),
                None => apps.push((d.app_id.clone(), rate, vec![i])),
            }
        }
    }
    for (app_id, rate, idx) in apps {
        let k = i32::try_from(idx.len()).unwrap_or(i32::MAX);
        let Some(first) =
            endpoints::reserve_throttle_slots(pool, Throttle::Application, &app_id, rate, k).await?
        else {
            continue;
        };
        for (j, i) in idx.into_iter().enumerate() {
            out[i].1 = out[i].1.max(slot(first, j, rate));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_one_over_the_rate_apart() {
        let t0 = DateTime::parse_from_rfc3339("2026-12-03T10:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(slot(t0, 0, 5), t0);
        assert_eq!(slot(t0, 1, 5), t0 + chrono::Duration::milliseconds(200));
        assert_eq!(slot(t0, 10, 2), t0 + chrono::Duration::seconds(5));
    }
}
