//! Payload filters at ingest: which of an application's endpoints a message does not pass.
//! The filters come compiled from memory (`service::lookups`, dropped on any change through
//! NOTIFY), so an application without filtered endpoints pays one cache read per message.
use super::lookups::AppFilters;
use super::{Services, Tenant};
use crate::error::{DomainError, DomainResult};
use crate::filter::{Filter, Message};
use crate::store;
use crate::types::FilterTrial;
use std::sync::Arc;

impl Services {
    /// The application's endpoints with a filter, compiled.
    pub(crate) async fn app_filters(&self, app_id: &str) -> sqlx::Result<AppFilters> {
        if let Some(f) = self.lookups.filters(app_id) {
            return Ok(f);
        }
        let ticket = self.lookups.ticket();
        let rows = store::endpoints::filters(&self.pool, app_id).await?;
        let compiled: AppFilters = Arc::new(
            rows.into_iter()
                .map(|(id, source)| {
                    let f = Filter::compile(&source)
                        .inspect_err(|e| {
                            tracing::warn!(endpoint_id = %id, error = %e,
                                "a stored payload filter no longer compiles; the endpoint gets nothing until it is saved again")
                        })
                        .ok();
                    (id, f)
                })
                .collect(),
        );
        self.lookups.store_filters(ticket, app_id, compiled.clone());
        Ok(compiled)
    }

    /// Tries `filter` on a message of `event_type` with `payload`, or with the event type's
    /// example in the catalogue when `payload` is empty.
    pub async fn try_filter(
        &self,
        t: &Tenant,
        filter: &str,
        event_type: &str,
        payload: &str,
        channels: &[String],
    ) -> DomainResult<FilterTrial> {
        let f = Filter::compile(filter).map_err(|e| DomainError::validation("filter", e.sentence()))?;
        let payload = if payload.trim().is_empty() {
            let et = self.get_event_type(t, event_type).await?;
            super::event_types::example_of(et.schemas.as_ref()).ok_or_else(|| {
                DomainError::validation(
                    "payload",
                    format!("'{event_type}' has no example in the catalogue: paste a payload to try"),
                )
            })?
        } else {
            payload.to_string()
        };
        if let Err(e) = serde_json::from_str::<serde_json::Value>(&payload) {
            return Err(DomainError::validation(
                "payload",
                format!("The payload is not valid JSON: {e}"),
            ));
        }
        let m = Message {
            event_type,
            payload: &payload,
            raw: false,
            channels,
            tags: &[],
        };
        Ok(match f.matches(&m) {
            Ok(passes) => FilterTrial {
                passes,
                reason: None,
                payload,
            },
            Err(e) => FilterTrial {
                passes: false,
                reason: Some(e),
                payload,
            },
        })
    }

    /// The endpoints of `app_id` whose filter `m` does not pass.
    pub(crate) async fn filtered_out(&self, app_id: &str, m: &Message<'_>) -> sqlx::Result<Vec<String>> {
        let filters = self.app_filters(app_id).await?;
        Ok(skipped(&filters, m))
    }
}

/// The endpoints whose filter `m` does not pass: `false`, an evaluation error (a missing
/// field) or a filter that no longer compiles.
pub(crate) fn skipped(filters: &[(String, Option<Filter>)], m: &Message<'_>) -> Vec<String> {
    if filters.is_empty() {
        return Vec::new();
    }
    let prepared = crate::filter::Prepared::new(m);
    filters
        .iter()
        .filter(|(_, f)| match f {
            Some(f) => match f.passes(&prepared) {
                Ok(pass) => !pass,
                Err(e) => {
                    metrics::counter!("hookline_filter_errors_total").increment(1);
                    tracing::debug!(error = %e, "a payload filter could not be evaluated; the message does not pass");
                    true
                }
            },
            None => true,
        })
        .map(|(id, _)| id.clone())
        .collect()
}
