//! Endpoints, their secrets and headers, and their replay operations.
use super::audit::{self, Entry};
use super::lookups::Changed;
use super::operational::{endpoint_change, endpoint_ref};
use super::{conflict_on_unique, AppRef, Services, Tenant};
use crate::crypto;
use crate::error::{DomainError, DomainResult};
use crate::ids;
use crate::store::{self, applications::AppRow, endpoints::EndpointRow, endpoints::EndpointWrite, Page};
use crate::types::*;
use crate::validation::{self, Problems};
use chrono::Utc;
use serde_json::{json, Map, Value};

const UID_TAKEN: &str = "an endpoint with this uid already exists in this application";

pub(crate) fn is_sensitive(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "authorization" | "proxy-authorization" | "cookie" | "x-api-key"
    ) || n.contains("secret")
        || n.contains("token")
        || n.contains("password")
}

impl Services {
    /// Validates an endpoint; its event types must exist, except those it already had (an
    /// archived type stays subscribed until removed, and must not block other edits). An
    /// operational-webhook endpoint's must be operational events.
    async fn check_endpoint(
        &self,
        t: &Tenant,
        app: &AppRow,
        input: &EndpointIn,
        had: Option<&[String]>,
    ) -> DomainResult<()> {
        // this instance's own test inboxes are never reached over the network, so plain
        // http does them no harm
        let https_only = self.opts.https_only && !self.is_inbox_url(&input.url);
        validation::endpoint_in(input, https_only)?;
        if app.operational {
            if input.filter.is_some() {
                return Err(DomainError::validation(
                    "filter",
                    "operational webhook endpoints take no payload filter: filter them by event type",
                ));
            }
            return operational_types(input.event_types.as_deref());
        }
        if let Some(types) = &input.event_types {
            let new: Vec<String> = types
                .iter()
                .filter(|n| !had.unwrap_or_default().contains(n))
                .cloned()
                .collect();
            self.require_event_types(t, "filterTypes", &new).await?;
        }
        Ok(())
    }

    pub async fn create_endpoint<'a>(
        &self,
        t: &Tenant,
        app: impl Into<AppRef<'a>>,
        input: EndpointIn,
    ) -> DomainResult<EndpointOut> {
        let app = self.app(t, app).await?;
        let out = self.insert_endpoint(t, &app, input).await?;
        self.emit(&t.org_id, endpoint_change(&app, None, &out)).await;
        Ok(out)
    }

    async fn insert_endpoint(
        &self,
        t: &Tenant,
        app: &AppRow,
        input: EndpointIn,
    ) -> DomainResult<EndpointOut> {
        self.check_endpoint(t, app, &input, None).await?;
        let metadata = input.metadata.clone().unwrap_or_default();
        let headers = input.headers.clone().unwrap_or_default();
        let w = write_of(&input, &metadata);
        let secret = input
            .secret
            .clone()
            .map(crate::signing::normalize)
            .unwrap_or_else(crypto::generate_endpoint_secret);
        let mut tx = self.pool.begin().await?;
        let row = store::endpoints::insert(
            &mut *tx,
            &t.org_id,
            &app.id,
            &ids::new_id(ids::ENDPOINT),
            &w,
            &headers,
        )
        .await
        .map_err(|e| conflict_on_unique(e, UID_TAKEN))?;
        store::endpoints::insert_secret(&mut *tx, &row.id, &self.secrets.seal(&secret)).await?;
        let out: EndpointOut = row.into();
        audit::record(&mut *tx, t, audit::endpoint_entry(&app.id, None, &out)).await?;
        tx.commit().await?;
        // this process's next message sees the filter at once (others hear the trigger)
        self.lookups.invalidate(Changed::Filters);
        Ok(out)
    }

    pub async fn get_endpoint<'a>(
        &self,
        t: &Tenant,
        app: impl Into<AppRef<'a>>,
        ep: &str,
    ) -> DomainResult<store::endpoints::EndpointRow> {
        Ok(self.endpoint(t, app, ep).await?.1)
    }

    pub async fn list_endpoints<'a>(
        &self,
        t: &Tenant,
        app: impl Into<AppRef<'a>>,
        page: &Page,
    ) -> DomainResult<ListResponse<EndpointOut>> {
        let app = self.app(t, app).await?;
        let list = store::endpoints::list(&self.pool, &app.id, page).await?;
        Ok(ListResponse {
            data: list.data.into_iter().map(Into::into).collect(),
            iterator: list.iterator,
            prev_iterator: list.prev_iterator,
            done: list.done,
        })
    }

    /// PUT: replaces the endpoint, or creates it (with `ep` as its uid) when missing.
    pub async fn upsert_endpoint<'a>(
        &self,
        t: &Tenant,
        app: impl Into<AppRef<'a>>,
        ep: &str,
        mut input: EndpointIn,
    ) -> DomainResult<(EndpointOut, bool)> {
        let app = self.app(t, app).await?;
        match store::endpoints::get(&self.pool, &app.id, ep).await? {
            Some(cur) => {
                input.secret = None;
                // The path named it; leaving `uid` out of the body does not erase it.
                input.uid = input.uid.or(cur.uid.clone());
                self.check_endpoint(t, &app, &input, cur.event_types.as_deref())
                    .await?;
                let metadata = input.metadata.clone().unwrap_or_default();
                let out = self
                    .update_endpoint(t, &app, &cur, &write_of(&input, &metadata))
                    .await?;
                self.emit(&t.org_id, endpoint_change(&app, Some(&cur), &out))
                    .await;
                Ok((out, false))
            }
            None => {
                input.uid = input.uid.or_else(|| Some(ep.to_string()));
                let out = self.insert_endpoint(t, &app, input).await?;
                self.emit(&t.org_id, endpoint_change(&app, None, &out)).await;
                Ok((out, true))
            }
        }
    }

    pub async fn patch_endpoint(
        &self,
        t: &Tenant,
        app: &str,
        ep: &str,
        p: EndpointPatch,
    ) -> DomainResult<EndpointOut> {
        let (app, cur) = self.endpoint(t, app, ep).await?;
        let merged = merge_patch(cur.clone(), p);
        self.check_endpoint(t, &app, &merged, cur.event_types.as_deref())
            .await?;
        let metadata = merged.metadata.clone().unwrap_or_default();
        let out = self
            .update_endpoint(t, &app, &cur, &write_of(&merged, &metadata))
            .await?;
        self.emit(&t.org_id, endpoint_change(&app, Some(&cur), &out))
            .await;
        Ok(out)
    }

    /// Writes the endpoint's new settings and their audit entry, in one transaction.
    async fn update_endpoint(
        &self,
        t: &Tenant,
        app: &AppRow,
        cur: &EndpointRow,
        w: &EndpointWrite<'_>,
    ) -> DomainResult<EndpointOut> {
        let mut tx = self.pool.begin().await?;
        let row = store::endpoints::update(&mut *tx, &app.id, &cur.id, w)
            .await
            .map_err(|e| conflict_on_unique(e, UID_TAKEN))?
            .ok_or(DomainError::NotFound("endpoint"))?;
        let out: EndpointOut = row.into();
        let before: EndpointOut = cur.clone().into();
        audit::record(&mut *tx, t, audit::endpoint_entry(&app.id, Some(&before), &out)).await?;
        tx.commit().await?;
        if cur.filter != out.filter {
            self.lookups.invalidate(Changed::Filters);
        }
        Ok(out)
    }

    pub async fn delete_endpoint<'a>(
        &self,
        t: &Tenant,
        app: impl Into<AppRef<'a>>,
        ep: &str,
    ) -> DomainResult<()> {
        let (app, ep) = self.endpoint(t, app, ep).await?;
        let mut tx = self.pool.begin().await?;
        let deleted = store::endpoints::delete(&mut *tx, &app.id, &ep.id).await?;
        if deleted {
            let entry = Entry::new("endpoint.deleted").target(&ep.id).app(&app.id);
            audit::record(&mut *tx, t, entry.details(json!({"uid": ep.uid}))).await?;
        }
        tx.commit().await?;
        if deleted {
            self.lookups.invalidate(Changed::Filters);
            let r = endpoint_ref(&app, &ep.id, ep.uid.as_deref());
            self.emit(&t.org_id, vec![OperationalEvent::EndpointDeleted(r)])
                .await;
        }
        Ok(())
    }

    pub async fn endpoint_headers<'a>(
        &self,
        t: &Tenant,
        app: impl Into<AppRef<'a>>,
        ep: &str,
    ) -> DomainResult<EndpointHeadersOut> {
        let (_, ep) = self.endpoint(t, app, ep).await?;
        Ok(shown_headers(ep.headers.0))
    }

    /// PUT replaces all custom headers; PATCH (`merge`) adds, overwrites, and removes those set
    /// to null or listed in `deleteHeaders`.
    pub async fn set_endpoint_headers<'a>(
        &self,
        t: &Tenant,
        app: impl Into<AppRef<'a>>,
        ep: &str,
        input: EndpointHeadersIn,
        merge: bool,
    ) -> DomainResult<()> {
        let (app, ep) = self.endpoint(t, app, ep).await?;
        let current = if merge { ep.headers.0 } else { Map::new() };
        let headers = merge_headers(current, input)?;
        let mut tx = self.pool.begin().await?;
        store::endpoints::set_headers(&mut *tx, &ep.id, &headers).await?;
        let entry = Entry::new("endpoint.updated").target(&ep.id).app(&app.id);
        audit::record(&mut *tx, t, entry.details(json!({"fields": ["headers"]}))).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn endpoint_stats(
        &self,
        t: &Tenant,
        app: &str,
        ep: &str,
        since: Option<chrono::DateTime<Utc>>,
        until: Option<chrono::DateTime<Utc>>,
    ) -> DomainResult<EndpointStats> {
        let (_, ep) = self.endpoint(t, app, ep).await?;
        let (success, pending, sending, fail) =
            store::deliveries::stats(&self.pool, &ep.id, since, until).await?;
        Ok(EndpointStats {
            success,
            pending,
            sending,
            fail,
            canceled: 0,
        })
    }
}

impl Services {
    /// The health of every endpoint of the application, by endpoint id.
    pub async fn app_endpoints_health(
        &self,
        t: &Tenant,
        app: &str,
    ) -> DomainResult<Vec<(String, crate::types::EndpointHealth)>> {
        let app = self.app(t, app).await?;
        let now = Utc::now();
        Ok(store::endpoints::app_health(&self.pool, &app.id)
            .await?
            .into_iter()
            .map(|(id, disabled, reason, failures, failing_since, open_until)| {
                (
                    id,
                    health(disabled, reason, failures, failing_since, open_until, now),
                )
            })
            .collect())
    }

    /// The endpoint with its health: breaker state, failures in a row, any disabled reason.
    pub async fn endpoint_health(
        &self,
        t: &Tenant,
        app: &str,
        ep: &str,
    ) -> DomainResult<(EndpointOut, crate::types::EndpointHealth)> {
        let (_, row) = self.endpoint(t, app, ep).await?;
        let health = health_of(&row, Utc::now());
        Ok((row.into(), health))
    }

    /// The portal's edit form: settings and custom headers (merged into the current ones),
    /// checked whole and written in one transaction, so a bad form changes nothing.
    pub async fn edit_endpoint(
        &self,
        t: &Tenant,
        app: &str,
        ep: &str,
        patch: EndpointPatch,
        headers: EndpointHeadersIn,
    ) -> DomainResult<EndpointOut> {
        let (app, found) = self.endpoint(t, app, ep).await?;
        let mut tx = self.pool.begin().await?;
        // read it again under a row lock, so a change made meanwhile is merged, not overwritten
        store::endpoints::lock(&mut *tx, &found.id).await?;
        let cur = store::endpoints::get(&mut *tx, &app.id, &found.id)
            .await?
            .ok_or(DomainError::NotFound("endpoint"))?;
        let new_headers = merge_headers(cur.headers.0.clone(), headers)?;
        let merged = merge_patch(cur.clone(), patch);
        self.check_endpoint(t, &app, &merged, cur.event_types.as_deref())
            .await?;
        let metadata = merged.metadata.clone().unwrap_or_default();
        let row = store::endpoints::update(&mut *tx, &app.id, &cur.id, &write_of(&merged, &metadata))
            .await
            .map_err(|e| conflict_on_unique(e, UID_TAKEN))?
            .ok_or(DomainError::NotFound("endpoint"))?;
        let headers_changed = new_headers != cur.headers.0;
        store::endpoints::set_headers(&mut *tx, &cur.id, &new_headers).await?;
        let out: EndpointOut = row.into();
        let before: EndpointOut = cur.clone().into();
        let mut entry = audit::endpoint_entry(&app.id, Some(&before), &out);
        if headers_changed {
            if let Some(fields) = entry.details["fields"].as_array_mut() {
                fields.push("headers".into());
            }
        }
        audit::record(&mut *tx, t, entry).await?;
        tx.commit().await?;
        self.emit(&t.org_id, endpoint_change(&app, Some(&cur), &out))
            .await;
        Ok(out)
    }

    /// Everything the portal's endpoint page shows, from one lookup of the endpoint: its
    /// health, custom headers, the attempts chart over `range`, and a page of attempts (newest
    /// first, request headers with sensitive values masked).
    pub async fn endpoint_overview(
        &self,
        t: &Tenant,
        app: &str,
        ep: &str,
        range: crate::types::ChartRange,
        page: &Page,
    ) -> DomainResult<EndpointOverview> {
        let (app, row) = self.endpoint(t, app, ep).await?;
        let (len, n) = range.buckets();
        let chart =
            store::attempts::chart(&self.pool, &row.id, range.window_start(Utc::now()), len, n).await?;
        let attempts = store::attempts::list(
            &self.pool,
            &app.id,
            "endpoint_id",
            &row.id,
            &Default::default(),
            page,
        )
        .await?;
        Ok(EndpointOverview {
            health: health_of(&row, Utc::now()),
            headers: shown_headers(row.headers.0.clone()),
            chart,
            attempts: super::messages::map_list(attempts, super::messages::with_shown_headers),
            app_name: app.name,
            app_id: app.id,
            endpoint: row.into(),
        })
    }
}

fn write_of<'a>(input: &'a EndpointIn, metadata: &'a Map<String, Value>) -> EndpointWrite<'a> {
    EndpointWrite {
        uid: input.uid.as_deref(),
        url: &input.url,
        description: input.description.as_deref().unwrap_or(""),
        version: input.version.unwrap_or(1).clamp(1, i32::MAX as i64) as i32,
        event_types: input.event_types.as_deref(),
        channels: input.channels.as_deref(),
        throttle_rate: input.throttle_rate.or(input.rate_limit).map(|r| r as i32),
        disabled: input.disabled.unwrap_or(false),
        metadata,
        filter: input.filter.as_deref(),
        payload_format: input.payload_format,
    }
}

/// The endpoint `cur` with the fields a PATCH sets replaced.
fn merge_patch(cur: EndpointRow, p: EndpointPatch) -> EndpointIn {
    let rate = p
        .throttle_rate
        .or(p.rate_limit)
        .unwrap_or(cur.throttle_rate.map(i64::from));
    EndpointIn {
        url: p.url.unwrap_or(cur.url),
        uid: p.uid.unwrap_or(cur.uid),
        description: Some(p.description.unwrap_or(cur.description)),
        version: Some(p.version.unwrap_or(cur.version.into())),
        // a patch may send [] (its schema has no minimum): every type, every channel
        event_types: p.event_types.map(none_if_empty).unwrap_or(cur.event_types),
        channels: p.channels.map(none_if_empty).unwrap_or(cur.channels),
        throttle_rate: rate,
        rate_limit: None,
        disabled: Some(p.disabled.unwrap_or(cur.disabled)),
        metadata: Some(p.metadata.unwrap_or(cur.metadata.0)),
        secret: None,
        headers: None,
        filter: p.filter.unwrap_or(cur.filter),
        payload_format: cur.payload_format,
    }
}

/// Custom headers after a change: `input.headers` are validated, then added or overwritten
/// (null removes), and `deleteHeaders` removed, names compared case-insensitively.
fn merge_headers(
    mut headers: Map<String, Value>,
    input: EndpointHeadersIn,
) -> DomainResult<Map<String, Value>> {
    let mut p = Problems::default();
    validation::headers(&mut p, &input.headers);
    p.finish()?;
    for (k, v) in input.headers {
        headers.retain(|name, _| !name.eq_ignore_ascii_case(&k));
        if !v.is_null() {
            headers.insert(k, v);
        }
    }
    for k in input.delete_headers.unwrap_or_default() {
        headers.retain(|name, _| !name.eq_ignore_ascii_case(&k));
    }
    if headers.len() > validation::MAX_HEADERS {
        return Err(DomainError::validation(
            "headers",
            format!("at most {} custom headers are allowed", validation::MAX_HEADERS),
        ));
    }
    Ok(headers)
}

/// What the portal's endpoint page shows (see [`Services::endpoint_overview`]).
pub struct EndpointOverview {
    pub app_id: String,
    pub app_name: String,
    pub endpoint: EndpointOut,
    pub health: crate::types::EndpointHealth,
    pub headers: EndpointHeadersOut,
    pub chart: Vec<crate::types::ChartBucket>,
    pub attempts: ListResponse<(MessageAttemptOut, Vec<(String, String)>)>,
}

fn health(
    disabled: bool,
    disabled_reason: Option<String>,
    consecutive_failures: i32,
    failing_since: Option<chrono::DateTime<Utc>>,
    circuit_open_until: Option<chrono::DateTime<Utc>>,
    now: chrono::DateTime<Utc>,
) -> crate::types::EndpointHealth {
    crate::types::EndpointHealth {
        disabled,
        disabled_reason,
        consecutive_failures: consecutive_failures.into(),
        failing_since,
        breaker: crate::types::BreakerState::at(circuit_open_until, now),
    }
}

pub(crate) fn health_of(row: &EndpointRow, now: chrono::DateTime<Utc>) -> crate::types::EndpointHealth {
    health(
        row.disabled,
        row.disabled_reason.clone(),
        row.consecutive_failures,
        row.failing_since,
        row.circuit_open_until,
        now,
    )
}

/// Custom headers as they may be shown: values of the sensitive ones withheld, names listed.
fn shown_headers(all: Map<String, Value>) -> EndpointHeadersOut {
    let mut headers = Map::new();
    let mut sensitive = Vec::new();
    for (k, v) in all {
        if is_sensitive(&k) {
            sensitive.push(k);
        } else {
            headers.insert(k, v);
        }
    }
    EndpointHeadersOut { headers, sensitive }
}

fn none_if_empty(list: Option<Vec<String>>) -> Option<Vec<String>> {
    list.filter(|l| !l.is_empty())
}

/// An operational-webhook endpoint's `eventTypes`: operational events only, at least one (none
/// at all is written by leaving the field out).
fn operational_types(types: Option<&[String]>) -> DomainResult<()> {
    let Some(types) = types else { return Ok(()) };
    let mut p = Problems::default();
    if types.is_empty() {
        p.add(
            "eventTypes",
            "eventTypes must name at least one event; leave it out to receive them all",
        );
    }
    for t in types {
        if !OPERATIONAL_EVENT_TYPES.contains(&t.as_str()) {
            p.add(
                "eventTypes",
                format!(
                    "'{t}' is not an operational event; they are: {}",
                    OPERATIONAL_EVENT_TYPES.join(", ")
                ),
            );
        }
    }
    p.finish()
}
