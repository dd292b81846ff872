//! What the delivery path tells the operational webhooks: a delivery failing, exhausted or
//! recovered, and an endpoint disabled for failing too long. Queued in the recorder's own
//! transaction, so an attempt is never recorded without its news nor the news sent without it.
use super::*;
use crate::types::{
    AttemptEventData, DisabledTrigger, EndpointDisabledData, EndpointRef, LastAttempt, OperationalEvent,
};
use sqlx::PgConnection;

/// What one attempt changes for the operational webhooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AttemptNews {
    /// The `failing_after`-th scheduled attempt failed, and more are to come.
    Failing,
    /// The last scheduled attempt failed: the delivery is dead-lettered.
    Exhausted,
    /// A delivery reported failing has now succeeded.
    Recovered,
}

/// Pure: the news in an attempt, given the scheduled attempts its delivery had made before.
/// As in Svix, a manual resend tells nothing.
pub(super) fn attempt_news(
    failing_after: i32,
    attempts_before: i32,
    r: &AttemptRecord,
) -> Option<AttemptNews> {
    if r.trigger == TriggerType::Manual || !r.counts_toward_schedule {
        return None;
    }
    if r.status == MessageStatus::Success {
        return (attempts_before >= failing_after).then_some(AttemptNews::Recovered);
    }
    if r.next_status == FAILED {
        return Some(AttemptNews::Exhausted);
    }
    (attempts_before + 1 == failing_after).then_some(AttemptNews::Failing)
}

/// The events for a recorded batch: the attempts' news, and the endpoints the breaker policy
/// disabled (`(endpoint, failing since)`), for the organisations that have operational
/// webhooks (none: no more queries). One lookup names the applications, endpoints and
/// messages by their uids.
pub(super) async fn events(
    conn: &mut PgConnection,
    news: &[(&Outcome, AttemptNews)],
    disabled: &[(String, Option<DateTime<Utc>>)],
    batch: &[Outcome],
) -> sqlx::Result<Vec<store::operational::OrgEvent>> {
    // only for organisations with operational webhooks (one indexed lookup): the others need
    // no uids looked up
    let mut orgs: Vec<String> = news.iter().map(|(o, _)| o.record.org_id.clone()).collect();
    orgs.extend(
        batch
            .iter()
            .filter(|o| disabled.iter().any(|(ep, _)| *ep == o.record.endpoint_id))
            .map(|o| o.record.org_id.clone()),
    );
    orgs.sort();
    orgs.dedup();
    let told: Vec<String> = store::applications::operational_ids(&mut *conn, &orgs)
        .await?
        .into_iter()
        .map(|(org, _)| org)
        .collect();
    if told.is_empty() {
        return Ok(Vec::new());
    }
    let news: Vec<&(&Outcome, AttemptNews)> = news
        .iter()
        .filter(|(o, _)| told.contains(&o.record.org_id))
        .collect();
    // the disabled endpoints' application and a message of theirs, from the batch
    let disabled_of: Vec<(&Outcome, Option<DateTime<Utc>>)> = disabled
        .iter()
        .filter_map(|(ep, since)| {
            let o = batch.iter().find(|o| &o.record.endpoint_id == ep)?;
            told.contains(&o.record.org_id).then_some((o, *since))
        })
        .collect();
    let about: Vec<(String, String, String)> = news
        .iter()
        .map(|x| x.0)
        .chain(disabled_of.iter().map(|(o, _)| *o))
        .map(|o| {
            let r = &o.record;
            (r.app_id.clone(), r.endpoint_id.clone(), r.message_id.clone())
        })
        .collect();
    let uids = store::operational::uids(conn, &about).await?;
    let mut uids = uids.into_iter();
    let mut out = Vec::with_capacity(about.len());
    for (o, n) in news.iter().map(|x| (x.0, x.1)) {
        let (app_uid, _, msg_event_id) = uids.next().unwrap_or_default();
        let r = &o.record;
        let data = AttemptEventData {
            app_id: r.app_id.clone(),
            app_uid,
            msg_id: r.message_id.clone(),
            msg_event_id,
            endpoint_id: r.endpoint_id.clone(),
            last_attempt: LastAttempt {
                id: r.attempt_id.clone(),
                response_status_code: r.response_status_code,
                timestamp: r.at,
            },
        };
        let e = match n {
            AttemptNews::Failing => OperationalEvent::AttemptFailing(data),
            AttemptNews::Exhausted => OperationalEvent::AttemptExhausted(data),
            AttemptNews::Recovered => OperationalEvent::AttemptRecovered(data),
        };
        out.push((r.org_id.clone(), e));
    }
    for (o, since) in disabled_of {
        let (app_uid, endpoint_uid, _) = uids.next().unwrap_or_default();
        let r = &o.record;
        out.push((
            r.org_id.clone(),
            OperationalEvent::EndpointDisabled(EndpointDisabledData {
                endpoint: EndpointRef {
                    app_id: r.app_id.clone(),
                    app_uid,
                    endpoint_id: r.endpoint_id.clone(),
                    endpoint_uid,
                },
                fail_since: since,
                trigger: DisabledTrigger::Automatic,
            }),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(ok: bool, next_status: i16, trigger: TriggerType) -> AttemptRecord {
        AttemptRecord {
            delivery_id: 1,
            lease: Utc::now(),
            attempt_id: "atmpt_1".into(),
            org_id: "org_1".into(),
            app_id: "app_1".into(),
            message_id: "msg_1".into(),
            endpoint_id: "ep_1".into(),
            url: "http://127.0.0.1/".into(),
            status: if ok {
                MessageStatus::Success
            } else {
                MessageStatus::Fail
            },
            trigger,
            response_status_code: if ok { 200 } else { 500 },
            response: String::new(),
            duration_ms: 1,
            error_code: None,
            request_headers: serde_json::Value::Null,
            at: Utc::now(),
            next_status,
            next_attempt_at: Utc::now(),
            counts_toward_schedule: true,
            claimed_trigger: 0,
        }
    }

    #[test]
    fn the_fourth_failure_is_failing_the_last_exhausted_and_a_later_success_recovered() {
        let failed = attempt(false, PENDING, TriggerType::Scheduled);
        let news: Vec<_> = (0..6).map(|before| attempt_news(4, before, &failed)).collect();
        assert_eq!(news, [None, None, None, Some(AttemptNews::Failing), None, None]);
        let last = attempt(false, FAILED, TriggerType::Scheduled);
        assert_eq!(attempt_news(4, 1, &last), Some(AttemptNews::Exhausted));
        let ok = attempt(true, SUCCESS, TriggerType::Scheduled);
        assert_eq!(attempt_news(4, 3, &ok), None, "never reported failing");
        assert_eq!(attempt_news(4, 4, &ok), Some(AttemptNews::Recovered));
        assert_eq!(attempt_news(4, 0, &ok), None);
    }

    #[test]
    fn a_manual_resend_tells_nothing() {
        let failed = attempt(false, FAILED, TriggerType::Manual);
        assert_eq!(attempt_news(4, 3, &failed), None);
        let ok = attempt(true, SUCCESS, TriggerType::Manual);
        assert_eq!(attempt_news(4, 9, &ok), None);
        let mut keeping = attempt(false, PENDING, TriggerType::Scheduled);
        keeping.counts_toward_schedule = false;
        assert_eq!(attempt_news(4, 3, &keeping), None);
    }
}
