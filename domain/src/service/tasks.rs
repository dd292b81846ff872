//! Background tasks: recovering failed deliveries and replaying missing ones. Each runs in
//! one transaction that also stores the task, finished, with what it did; so a task is never
//! stored as done without its work, nor the work done without its task.
use super::audit::{self, Entry};
use super::{Services, Tenant};
use crate::error::{DomainError, DomainResult};
use crate::ids;
use crate::store::{self, tasks::NewTask, tasks::TaskFilter, Page};
use crate::types::*;
use chrono::{DateTime, Utc};
use serde_json::json;

/// Messages a filtered replay reads at a time.
const REPLAY_PAGE: i64 = 1_000;

impl Services {
    /// Re-queues every failed delivery of the endpoint since `since` (until `until`).
    /// Returns the task and how many deliveries were queued.
    pub async fn recover_endpoint(
        &self,
        t: &Tenant,
        app: &str,
        ep: &str,
        input: RecoverIn,
    ) -> DomainResult<(RecoverOut, u64)> {
        let (app, ep) = self.endpoint(t, app, ep).await?;
        check_window(input.since, input.until)?;
        let mut tx = self.pool.begin().await?;
        let n = store::deliveries::recover(&mut *tx, &ep.id, input.since, input.until).await?;
        let data = json!({"since": input.since, "until": input.until, "deliveriesQueued": n});
        let task = store_task(&mut tx, t, &app.id, &ep.id, TASK_RECOVER, &data).await?;
        let entry = Entry::new("endpoint.recovered").target(&ep.id).app(&app.id);
        audit::record(
            &mut *tx,
            t,
            entry.details(
                json!({"task": task.id, "since": input.since, "until": input.until, "deliveriesQueued": n}),
            ),
        )
        .await?;
        store::messages::notify_workers(&mut *tx).await?;
        tx.commit().await?;
        Ok((task.into(), n))
    }

    /// Sends the endpoint every message since `since` (until `until`) it should have had and
    /// never got. Returns the task and how many deliveries were queued.
    pub async fn replay_missing(
        &self,
        t: &Tenant,
        app: &str,
        ep: &str,
        input: ReplayIn,
    ) -> DomainResult<(TaskStartedOut, i64)> {
        let (app, ep) = self.endpoint(t, app, ep).await?;
        check_window(input.since, input.until)?;
        let mut tx = self.pool.begin().await?;
        let n = match ep.filter.as_deref() {
            None => {
                store::deliveries::replay_missing(&mut *tx, &ep.id, input.since, input.until, None).await?
            }
            // the payload filter chooses, a page of messages at a time
            Some(source) => {
                let filter = crate::filter::Filter::compile(source)
                    .map_err(|e| DomainError::Internal(format!("the endpoint's stored filter: {e}")))?;
                let (mut after, mut n) = (String::new(), 0);
                loop {
                    let page = store::deliveries::replay_candidates(
                        &mut *tx,
                        &ep.id,
                        input.since,
                        input.until,
                        &after,
                        REPLAY_PAGE,
                    )
                    .await?;
                    let Some(last) = page.last() else { break };
                    after = last.id.clone();
                    let pass: Vec<String> = page
                        .iter()
                        .filter(|m| {
                            let msg = crate::filter::Message {
                                event_type: &m.event_type,
                                payload: &m.payload,
                                raw: m.content_type.is_some(),
                                channels: m.channels.as_deref().unwrap_or_default(),
                                tags: m.tags.as_deref().unwrap_or_default(),
                            };
                            filter.matches(&msg) == Ok(true)
                        })
                        .map(|m| m.id.clone())
                        .collect();
                    if !pass.is_empty() {
                        n += store::deliveries::replay_missing(
                            &mut *tx,
                            &ep.id,
                            input.since,
                            input.until,
                            Some(&pass),
                        )
                        .await?;
                    }
                }
                n
            }
        };
        let data = json!({"since": input.since, "until": input.until, "messagesQueued": n});
        let task = store_task(&mut tx, t, &app.id, &ep.id, TASK_REPLAY, &data).await?;
        let entry = Entry::new("endpoint.replayed").target(&ep.id).app(&app.id);
        audit::record(
            &mut *tx,
            t,
            entry.details(
                json!({"task": task.id, "since": input.since, "until": input.until, "messagesQueued": n}),
            ),
        )
        .await?;
        if n > 0 {
            store::messages::notify_workers(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok((task.into(), n))
    }

    pub async fn get_background_task(&self, t: &Tenant, id: &str) -> DomainResult<BackgroundTaskOut> {
        store::tasks::get(&self.pool, &t.org_id, id)
            .await?
            .map(Into::into)
            .ok_or(DomainError::NotFound("background task"))
    }

    pub async fn list_background_tasks(
        &self,
        t: &Tenant,
        f: &TaskFilter,
        page: &Page,
    ) -> DomainResult<ListResponse<BackgroundTaskOut>> {
        let list = store::tasks::list(&self.pool, &t.org_id, f, page).await?;
        Ok(super::messages::map_list(list, Into::into))
    }
}

fn check_window(since: DateTime<Utc>, until: Option<DateTime<Utc>>) -> DomainResult<()> {
    if until.is_some_and(|u| u <= since) {
        return Err(DomainError::validation("until", "until must be later than since"));
    }
    Ok(())
}

async fn store_task(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    t: &Tenant,
    app_id: &str,
    endpoint_id: &str,
    task: &str,
    data: &serde_json::Value,
) -> DomainResult<BackgroundTaskOut> {
    let id = ids::new_id(ids::TASK);
    let row = store::tasks::insert(
        &mut **tx,
        &NewTask {
            id: &id,
            org_id: &t.org_id,
            app_id,
            endpoint_id,
            task,
            status: BackgroundTaskStatus::Finished,
            data,
        },
    )
    .await?;
    // told to the operational webhooks in the task's own transaction (in a savepoint: should
    // that fail, the task stands)
    let event = OperationalEvent::TaskFinished(TaskFinishedData {
        task_id: id,
        task: task.to_string(),
        status: BackgroundTaskStatus::Finished,
        data: data.clone(),
    });
    if let Err(e) = store::operational::emit_all(tx, &[(t.org_id.clone(), event)]).await {
        tracing::warn!(error = %e, "queueing background_task.finished failed");
    }
    Ok(row.into())
}
