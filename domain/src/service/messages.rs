//! Ingest (grouped with the requests queued meanwhile into one atomic statement: messages,
//! deliveries, idempotency records, one NOTIFY; see `service::ingest`), the message log
//! and the attempt log, and replay of single deliveries.
use super::audit::{self, Entry};
use super::{Services, Tenant};
use crate::error::{DomainError, DomainResult};
use crate::ids;
use crate::store::{
    self, attempts::AttemptFilter, ingest::Inserted, messages::MessageFilter, messages::NewMessage, Page,
};
use crate::types::*;
use crate::validation::{self, Problems};
use serde_json::json;
use tracing::Instrument;

/// Finishes an `Idempotency-Key` claim inside the ingest statement.
pub struct IdempotentCompletion<'a> {
    pub key: &'a str,
    pub status_code: u16,
}

impl Services {
    /// Accepts a message: validates it, then stores it with a delivery row per matching
    /// endpoint (and the idempotency response, if any) in the statement and commit of the batch
    /// it joins, which wakes the workers once. Answers after that commit. Three round trips in
    /// all (authentication, target lookup, the batch's insert), the last shared.
    pub async fn create_message(
        &self,
        t: &Tenant,
        app: &str,
        input: MessageIn,
        with_content: bool,
        idem: Option<IdempotentCompletion<'_>>,
    ) -> DomainResult<MessageOut> {
        let mut p = Problems::default();
        p.identifier("eventType", &input.event_type, validation::MAX_NAME_LEN);
        if let Some(id) = &input.event_id {
            p.uid("eventId", id, ids::MESSAGE);
        }
        if let Some(ch) = &input.channels {
            p.not_empty("channels", ch, "no channel");
            p.identifiers("channels", ch, validation::MAX_CHANNELS_MESSAGE, 128);
        }
        let (raw, content_type) =
            raw_payload(&mut p, input.transformations_params.as_ref(), input.payload.get());
        if raw.is_none() && !input.payload.get().trim_start().starts_with('{') {
            p.add("payload", "payload must be a JSON object");
        }
        let retention_hours = match (input.payload_retention_hours, input.payload_retention_period) {
            (Some(h), _) => {
                if !(1..=90 * 24).contains(&h) {
                    p.add(
                        "payloadRetentionHours",
                        "payloadRetentionHours must be between 1 and 2160 (90 days)",
                    );
                }
                h
            }
            (None, days) => {
                let days = days.unwrap_or(90);
                if !(5..=90).contains(&days) {
                    p.add(
                        "payloadRetentionPeriod",
                        "payloadRetentionPeriod must be between 5 and 90 days",
                    );
                }
                days * 24
            }
        };
        if let Some(tags) = &input.tags {
            p.identifiers("tags", tags, validation::MAX_TAGS, 128);
        }
        let now = now_micros();
        let deliver_at = match input.deliver_at {
            Some(at) if at > now + chrono::Duration::hours(24) => {
                p.add("deliverAt", "deliverAt may be at most 24 hours in the future");
                None
            }
            Some(at) if at > now => Some(at),
            // a time already past is delivered now, and not reported as scheduled
            _ => None,
        };
        p.finish()?;

        // As in Svix, a message's event type need not be in the catalogue: it is only a name.
        // Endpoints that filter by event type are still held to the catalogue.
        let app_id = match (self.ingest_target(t, app).await?, input.application.clone()) {
            (Some(id), _) => id,
            (None, Some(new_app)) => {
                let new_app = super::applications::implicit_app(app, new_app)?;
                self.create_app(t, new_app, true).await?.0.id
            }
            (None, None) => return Err(DomainError::NotFound("application")),
        };
        let id = ids::new_id(ids::MESSAGE);
        let payload = raw.unwrap_or(input.payload.get());
        let skip_endpoints = self
            .filtered_out(
                &app_id,
                &crate::filter::Message {
                    event_type: &input.event_type,
                    payload,
                    raw: raw.is_some(),
                    channels: input.channels.as_deref().unwrap_or_default(),
                    tags: input.tags.as_deref().unwrap_or_default(),
                },
            )
            .await?;
        let out = MessageOut {
            id,
            event_type: input.event_type,
            event_id: input.event_id,
            channels: input.channels,
            tags: input.tags,
            deliver_at,
            payload: store::messages::payload_json(Some(payload), with_content),
            timestamp: now,
        };
        let body = match &idem {
            Some(_) => serde_json::to_vec(&out).map_err(|e| DomainError::Internal(e.to_string()))?,
            None => Vec::new(),
        };
        // the attempts' spans are children of this one, in whichever worker sends them
        let span =
            tracing::info_span!("ingest", msg_id = %out.id, app_id = %app_id, event_type = %out.event_type);
        let traceparent = span.in_scope(crate::trace::current_traceparent);
        let queued = super::ingest::Queued {
            org_id: t.org_id.clone(),
            app_id,
            id: out.id.clone(),
            event_type: out.event_type.clone(),
            event_id: out.event_id.clone(),
            payload: payload.to_owned(),
            content_type: content_type.map(str::to_owned),
            channels: out.channels.clone(),
            tags: out.tags.clone(),
            deliver_at: out.deliver_at,
            retention_hours,
            created_at: out.timestamp,
            idempotency: idem.as_ref().map(|c| (c.key.to_owned(), c.status_code, body)),
            traceparent,
            skip_endpoints,
        };
        // stored with the other requests' messages queued meanwhile, in one commit
        match self.ingest.submit(&self.pool, queued).instrument(span).await? {
            Inserted::Queued(_) => {}
            // deleted since it was looked up (the lookup may have been a cached one)
            Inserted::AppGone => {
                self.lookups.invalidate(super::lookups::Changed::Apps);
                return Err(DomainError::NotFound("application"));
            }
            Inserted::DuplicateEventId => {
                return Err(DomainError::Conflict(format!(
                    "a message with eventId '{}' already exists",
                    out.event_id.as_deref().unwrap_or_default()
                )))
            }
        }
        metrics::counter!("hookline_messages_ingested_total").increment(1);
        Ok(out)
    }

    /// Stores a message with its deliveries. Should today's partition of the history be
    /// missing (no process has made the coming days' partitions for a week: say, only `serve`
    /// ran, and it was never restarted), it is made and the insert tried again, rather than
    /// the message refused.
    pub(crate) async fn insert_message(&self, m: &NewMessage<'_>) -> sqlx::Result<i64> {
        match store::messages::insert_with_deliveries(&self.pool, m).await {
            Err(e) if store::is_missing_partition(&e) => {
                tracing::warn!("no partition for today's messages; making the coming days' now");
                // daily: the workers' sweep carries on with the configured spans after these.
                // Tried again whatever happens: a concurrent request may have made the day.
                if let Err(e) =
                    store::partitions::ensure_now(&self.pool, store::partitions::Layout::DAILY).await
                {
                    tracing::warn!(error = %e, "making the missing partition failed");
                }
                store::messages::insert_with_deliveries(&self.pool, m).await
            }
            r => r,
        }
    }

    /// Sends an event type's example (or a given payload) to one endpoint only.
    pub async fn send_example(
        &self,
        t: &Tenant,
        app: &str,
        ep: &str,
        input: EventExampleIn,
    ) -> DomainResult<MessageOut> {
        let (app, ep) = self.endpoint(t, app, ep).await?;
        // `svix.ping` is Svix's built-in test event: it needs no catalogue entry.
        let (name, schemas) = match self.get_event_type(t, &input.event_type).await {
            Ok(et) => (et.name, et.schemas),
            Err(DomainError::NotFound(_)) if input.event_type == PING_EVENT => (PING_EVENT.to_string(), None),
            Err(e) => return Err(e),
        };
        let index = input.example_index.unwrap_or(0);
        let payload = match (input.payload, example_at(schemas.as_ref(), index)) {
            (Some(p), _) => p.get().to_string(),
            (None, Some(ex)) => ex,
            (None, None) if name == PING_EVENT => r#"{"success":true}"#.to_string(),
            (None, None) if index > 0 => {
                return Err(DomainError::validation(
                    "exampleIndex",
                    format!("the event type '{name}' has no example at index {index}"),
                ))
            }
            (None, None) => format!(r#"{{"type":"{name}","example":true}}"#),
        };
        self.send_to_endpoint(t, &app, &ep, name, payload).await
    }

    /// A test event from the portal to one endpoint: as [`Services::send_example`], but any
    /// event type name will do, in the catalogue or not (as for a message).
    pub async fn send_test_event(
        &self,
        t: &Tenant,
        app: &str,
        ep: &str,
        event_type: &str,
        payload: &serde_json::value::RawValue,
    ) -> DomainResult<MessageOut> {
        let (app, ep) = self.endpoint(t, app, ep).await?;
        let mut p = validation::Problems::default();
        p.identifier("eventType", event_type, validation::MAX_NAME_LEN);
        p.finish()?;
        self.send_to_endpoint(t, &app, &ep, event_type.to_string(), payload.get().to_string())
            .await
    }

    async fn send_to_endpoint(
        &self,
        t: &Tenant,
        app: &store::applications::AppRow,
        ep: &store::endpoints::EndpointRow,
        name: String,
        payload: String,
    ) -> DomainResult<MessageOut> {
        if !payload.trim_start().starts_with('{') {
            return Err(DomainError::validation(
                "payload",
                "payload must be a JSON object",
            ));
        }
        let id = ids::new_id(ids::MESSAGE);
        let timestamp = now_micros();
        let span = tracing::info_span!("ingest", msg_id = %id, app_id = %app.id, event_type = %name);
        let traceparent = span.in_scope(crate::trace::current_traceparent);
        self.insert_message(&NewMessage {
            org_id: &t.org_id,
            app_id: &app.id,
            id: &id,
            event_type: &name,
            event_id: None,
            payload: &payload,
            content_type: None,
            channels: None,
            tags: None,
            deliver_at: None,
            retention_hours: 90 * 24,
            created_at: timestamp,
            only_endpoint: Some(&ep.id),
            skip_endpoints: &[],
            idempotency: None,
            traceparent: traceparent.as_deref(),
        })
        .instrument(span)
        .await?;
        Ok(MessageOut {
            id,
            event_type: name,
            event_id: None,
            channels: None,
            tags: None,
            deliver_at: None,
            payload: store::messages::payload_json(Some(&payload), true),
            timestamp,
        })
    }

    pub async fn get_message(
        &self,
        t: &Tenant,
        app: &str,
        msg: &str,
        with_content: bool,
    ) -> DomainResult<MessageOut> {
        let app = self.app(t, app).await?;
        Ok(self.message(&app.id, msg).await?.into_out(with_content))
    }

    pub async fn list_messages(
        &self,
        t: &Tenant,
        app: &str,
        f: &MessageFilter,
        with_content: bool,
        page: &Page,
    ) -> DomainResult<ListResponse<MessageOut>> {
        let app = self.app(t, app).await?;
        self.check_search(f).await?;
        let list = store::messages::list(&self.pool, &app.id, f, page).await?;
        Ok(map_list(list, |m| m.into_out(with_content)))
    }

    pub async fn expunge_message(&self, t: &Tenant, app: &str, msg: &str) -> DomainResult<()> {
        let app = self.app(t, app).await?;
        let m = self.message(&app.id, msg).await?;
        store::messages::expunge_content(&self.pool, &app.id, &m.id).await?;
        Ok(())
    }

    /// A page of the application's messages, each with how its deliveries stand, for the
    /// portal's message log.
    pub async fn message_log(
        &self,
        t: &Tenant,
        app: &str,
        filter: &MessageFilter,
        page: &Page,
    ) -> DomainResult<ListResponse<crate::types::MessageOutcome>> {
        let app = self.app(t, app).await?;
        self.check_search(filter).await?;
        let list = store::messages::list(&self.pool, &app.id, filter, page).await?;
        let ids: Vec<String> = list.data.iter().map(|m| m.id.clone()).collect();
        let counts = store::deliveries::outcomes(&self.pool, &app.id, &ids).await?;
        Ok(map_list(list, |m| {
            let (_, succeeded, pending, failed) =
                counts.iter().find(|c| c.0 == m.id).cloned().unwrap_or_default();
            crate::types::MessageOutcome {
                message: m.into_out(false),
                succeeded,
                pending,
                failed,
            }
        }))
    }

    pub async fn list_attempts_by_msg(
        &self,
        t: &Tenant,
        app: &str,
        msg: &str,
        f: &AttemptFilter,
        with_content: bool,
        page: &Page,
    ) -> DomainResult<ListResponse<MessageAttemptOut>> {
        let app = self.app(t, app).await?;
        let m = self.message(&app.id, msg).await?;
        // The endpoint filter takes an id or a uid, and names an endpoint that exists.
        let mut f = f.clone();
        if let Some(ep) = f.endpoint_id.take() {
            f.endpoint_id = Some(self.endpoint(t, &app.id, &ep).await?.1.id);
        }
        let list = store::attempts::list(&self.pool, &app.id, "message_id", &m.id, &f, page).await?;
        let msg = f.with_msg.then(|| m.into_out(with_content));
        Ok(map_list(list, |a| MessageAttemptOut {
            msg: msg.clone(),
            ..a.into_out(with_content)
        }))
    }

    /// Every attempt of a message, oldest first, each with the request headers that were sent
    /// (values of sensitive custom headers masked), for the portal's timeline.
    pub async fn attempts_with_headers(
        &self,
        t: &Tenant,
        app: &str,
        msg: &str,
    ) -> DomainResult<Vec<(MessageAttemptOut, Vec<(String, String)>)>> {
        let app = self.app(t, app).await?;
        let m = self.message(&app.id, msg).await?;
        let page = Page::new(Some(250), None, Ordering::Ascending);
        let rows = store::attempts::list(
            &self.pool,
            &app.id,
            "message_id",
            &m.id,
            &Default::default(),
            &page,
        )
        .await?;
        Ok(rows.data.into_iter().map(with_shown_headers).collect())
    }

    /// The message's deliveries being sent right now, and when each send started.
    pub async fn sending_since(
        &self,
        t: &Tenant,
        app: &str,
        msg: &str,
    ) -> DomainResult<Vec<(String, chrono::DateTime<chrono::Utc>)>> {
        let app = self.app(t, app).await?;
        Ok(store::deliveries::sending_since(&self.pool, &app.id, msg).await?)
    }

    pub async fn list_attempts_by_endpoint(
        &self,
        t: &Tenant,
        app: &str,
        ep: &str,
        f: &AttemptFilter,
        with_content: bool,
        page: &Page,
    ) -> DomainResult<ListResponse<MessageAttemptOut>> {
        let (app, ep) = self.endpoint(t, app, ep).await?;
        let list = store::attempts::list(&self.pool, &app.id, "endpoint_id", &ep.id, f, page).await?;
        let mut out = map_list(list, |a| a.into_out(with_content));
        if f.with_msg {
            let mut ids: Vec<String> = out.data.iter().map(|a| a.msg_id.clone()).collect();
            ids.dedup();
            let msgs: std::collections::HashMap<String, MessageOut> =
                store::messages::get_many(&self.pool, &app.id, &ids)
                    .await?
                    .into_iter()
                    .map(|m| (m.id.clone(), m.into_out(with_content)))
                    .collect();
            for a in &mut out.data {
                a.msg = msgs.get(&a.msg_id).cloned();
            }
        }
        Ok(out)
    }

    /// One attempt, with the request headers that were sent (for timelines).
    pub async fn get_attempt(
        &self,
        t: &Tenant,
        app: &str,
        msg: &str,
        attempt: &str,
    ) -> DomainResult<store::attempts::AttemptRow> {
        let app = self.app(t, app).await?;
        let m = self.message(&app.id, msg).await?;
        store::attempts::get(&self.pool, &app.id, &m.id, attempt)
            .await?
            .ok_or(DomainError::NotFound("attempt"))
    }

    pub async fn expunge_attempt(&self, t: &Tenant, app: &str, msg: &str, attempt: &str) -> DomainResult<()> {
        let app = self.app(t, app).await?;
        let m = self.message(&app.id, msg).await?;
        store::attempts::expunge_content(&self.pool, &app.id, &m.id, attempt)
            .await?
            .then_some(())
            .ok_or(DomainError::NotFound("attempt"))
    }

    pub async fn message_destinations(
        &self,
        t: &Tenant,
        app: &str,
        msg: &str,
        page: &Page,
    ) -> DomainResult<ListResponse<MessageEndpointOut>> {
        let app = self.app(t, app).await?;
        let m = self.message(&app.id, msg).await?;
        Ok(store::attempts::destinations(&self.pool, &app.id, &m.id, page).await?)
    }

    pub async fn endpoint_messages(
        &self,
        t: &Tenant,
        app: &str,
        ep: &str,
        f: &AttemptFilter,
        with_content: bool,
        page: &Page,
    ) -> DomainResult<ListResponse<EndpointMessageOut>> {
        let (_, ep) = self.endpoint(t, app, ep).await?;
        Ok(store::attempts::endpoint_messages(&self.pool, &ep.id, f, with_content, page).await?)
    }

    /// Queues a manual attempt of the message to the endpoint now.
    pub async fn resend(&self, t: &Tenant, app: &str, msg: &str, ep: &str) -> DomainResult<()> {
        let (app, ep) = self.endpoint(t, app, ep).await?;
        let m = self.message(&app.id, msg).await?;
        if m.payload.is_none() {
            return Err(DomainError::bad_request(
                "missing_payload",
                "the message's payload was expunged, so it cannot be sent again",
            ));
        }
        if ep.disabled {
            return Err(DomainError::bad_request(
                "endpoint_disabled",
                "the endpoint is disabled; enable it before resending",
            ));
        }
        let mut tx = self.pool.begin().await?;
        store::deliveries::resend(&mut *tx, &t.org_id, &app.id, &m.id, &ep.id).await?;
        let entry = Entry::new("message.resent").target(&m.id).app(&app.id);
        audit::record(&mut *tx, t, entry.details(json!({"endpoint": ep.id}))).await?;
        store::messages::notify_workers(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }
}

pub(super) fn map_list<A, B>(l: ListResponse<A>, f: impl FnMut(A) -> B) -> ListResponse<B> {
    ListResponse {
        data: l.data.into_iter().map(f).collect(),
        iterator: l.iterator,
        prev_iterator: l.prev_iterator,
        done: l.done,
    }
}

use super::event_types::example_at;

/// Svix's built-in test event type.
pub const PING_EVENT: &str = "svix.ping";

/// Now, at PostgreSQL's microsecond precision, so a response and a later read agree.
pub(crate) fn now_micros() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}

/// An attempt with the request headers it sent, values of sensitive custom headers masked.
pub(super) fn with_shown_headers(
    row: store::attempts::AttemptRow,
) -> (MessageAttemptOut, Vec<(String, String)>) {
    let headers = row
        .request_headers
        .as_ref()
        .and_then(|h| h.0.as_object())
        .map(|h| {
            h.iter()
                .map(|(k, v)| {
                    let v = v.as_str().unwrap_or_default();
                    let shown = if super::endpoints::is_sensitive(k) {
                        "•••"
                    } else {
                        v
                    };
                    (k.clone(), shown.to_string())
                })
                .collect()
        })
        .unwrap_or_default();
    (row.into_out(true), headers)
}

/// The raw payload and Content-Type that `transformationsParams` asks for, as the SDKs'
/// raw-payload helpers send them (`payload` is then `{}`); problems are added to `p`.
fn raw_payload<'a>(
    p: &mut Problems,
    params: Option<&'a TransformationsParams>,
    payload: &str,
) -> (Option<&'a str>, Option<&'a str>) {
    let Some(params) = params else {
        return (None, None);
    };
    let raw = params.raw_payload.as_deref();
    if raw.is_some_and(|r| r.contains('\0')) {
        // PostgreSQL's text cannot hold it; a JSON payload keeps it escaped (\u0000)
        p.add_at(
            &["transformationsParams", "rawPayload"],
            "rawPayload must not contain NUL characters (\\u0000)",
        );
    }
    if raw.is_some() && payload.split_whitespace().collect::<String>() != "{}" {
        p.add(
            "payload",
            "payload must be {} when transformationsParams.rawPayload is sent (the raw payload is what is delivered)",
        );
    }
    let mut content_type = None;
    for (name, value) in params.headers.iter().flatten() {
        let at = ["transformationsParams", "headers", name.as_str()];
        if !name.eq_ignore_ascii_case("content-type") {
            p.add_at(
                &at,
                format!("only content-type can be set here, not '{name}' (use the endpoint's headers)"),
            );
        } else if !validation::is_media_type(value) {
            p.add_at(
                &at,
                format!("'{value}' is not a media type such as text/plain or application/xml"),
            );
        } else {
            content_type = Some(value.as_str());
        }
    }
    (raw, content_type)
}
