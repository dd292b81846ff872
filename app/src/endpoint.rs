//! Server functions of the endpoint page: its health, charts and attempts; editing, enabling,
//! deleting; and recovering failed deliveries.
// A server function takes one argument per form field; the edit form has nine.
#![allow(clippy::too_many_arguments)]
use crate::error::{FieldProblem, PortalError};
use crate::paths::Area;
use crate::timeline::AttemptView;
use chrono::{DateTime, Utc};
use domain::types::{ChartBucket, ChartRange, EndpointHealth, EndpointOut, EndpointStats};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use crate::api::ssr;

/// Everything the endpoint page shows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EndpointPageData {
    pub app_id: String,
    pub app_name: String,
    pub endpoint: EndpointOut,
    pub health: EndpointHealth,
    /// Custom headers whose values may be shown, and the names of the sensitive ones.
    pub headers: Vec<(String, String)>,
    pub sensitive_headers: Vec<String>,
    pub event_types: Vec<String>,
    pub range: ChartRange,
    pub chart: Vec<ChartBucket>,
    pub attempts: Vec<AttemptView>,
    /// Iterator of the next (older) page of attempts, when there is one.
    pub older: Option<String>,
    /// A read-only portal link: no forms.
    pub read_only: bool,
}

#[server(prefix = "/_fn", endpoint = "endpoint_page")]
pub async fn endpoint_page(
    app: String,
    endpoint: String,
    range: String,
    before: Option<String>,
) -> Result<EndpointPageData, PortalError> {
    ssr::respond(
        async move {
            use domain::store::Page;
            use domain::types::Ordering;
            let t = ssr::tenant_for(&app).await?;
            let s = ssr::services()?;
            let range = ChartRange::parse(&range);
            let page = Page::new(Some(25), before, Ordering::Descending);
            let o = s.endpoint_overview(&t, &app, &endpoint, range, &page).await?;
            let ep = o.endpoint;
            // the catalogue, plus anything subscribed that it no longer lists (archived), so
            // that saving the form never drops a subscription by accident
            let mut catalogue = s
                .list_event_types(&t, false, &Page::new(Some(250), None, Ordering::Ascending))
                .await?
                .data;
            ssr::hide_flagged(&mut catalogue).await?;
            let mut event_types: Vec<String> = catalogue.into_iter().map(|e| e.name).collect();
            for name in ep.event_types.iter().flatten() {
                if !event_types.contains(name) {
                    event_types.push(name.clone());
                }
            }
            Ok(EndpointPageData {
                read_only: ssr::is_read_only().await?,
                app_id: o.app_id,
                app_name: o.app_name,
                headers: o
                    .headers
                    .headers
                    .into_iter()
                    .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()))
                    .collect(),
                sensitive_headers: o.headers.sensitive,
                event_types,
                range,
                chart: o.chart,
                older: (!o.attempts.done).then_some(o.attempts.iterator).flatten(),
                attempts: o
                    .attempts
                    .data
                    .into_iter()
                    .map(|(attempt, request_headers)| AttemptView {
                        attempt,
                        request_headers,
                    })
                    .collect(),
                endpoint: ep,
                health: o.health,
            })
        }
        .await,
    )
}

/// Custom headers typed one `Name: value` per line. Blank lines are skipped; a line without a
/// colon is refused with its line number.
pub fn parse_header_lines(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match line.split_once(':') {
            Some((name, value)) if !name.trim().is_empty() => {
                out.push((name.trim().to_string(), value.trim().to_string()))
            }
            _ => return Err(format!("Line {} should look like \"X-Name: value\".", i + 1)),
        }
    }
    Ok(out)
}

fn invalid(field: &str, message: impl Into<String>) -> PortalError {
    PortalError::Invalid(vec![FieldProblem {
        field: Some(field.into()),
        message: message.into(),
    }])
}

/// Parses the form's optional rate limit.
pub fn parse_rate_limit(text: &str) -> Result<Option<i64>, PortalError> {
    match text.trim() {
        "" => Ok(None),
        r => r.parse::<i64>().map(Some).map_err(|_| {
            invalid(
                "rate_limit",
                "Enter the rate limit as a whole number of messages per second.",
            )
        }),
    }
}

/// Splits the form's comma-separated channels; none means "all channels".
pub fn parse_channels(text: &str) -> Option<Vec<String>> {
    let channels: Vec<String> = text
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect();
    (!channels.is_empty()).then_some(channels)
}

/// Saves the edit form: settings, and custom headers. Of the headers the form showed
/// (`shown_headers`), those no longer in the text are removed; sensitive headers (whose values
/// are never shown) are kept unless ticked in `remove_headers` or typed again. Headers added
/// elsewhere since the form was loaded are kept.
#[server(prefix = "/_fn", endpoint = "update_endpoint")]
pub async fn update_endpoint(
    app: String,
    endpoint: String,
    url: String,
    description: String,
    event_types: Option<Vec<String>>,
    channels: String,
    rate_limit: String,
    headers: String,
    shown_headers: Option<Vec<String>>,
    remove_headers: Option<Vec<String>>,
    filter: Option<String>,
) -> Result<EndpointOut, PortalError> {
    ssr::respond(
        async move {
            let t = ssr::tenant_for_change(&app).await?;
            let s = ssr::services()?;
            let rate = parse_rate_limit(&rate_limit)?;
            let lines = parse_header_lines(&headers).map_err(|m| invalid("headers", m))?;
            let patch = domain::types::EndpointPatch {
                url: Some(url.trim().to_string()),
                description: Some(description),
                event_types: Some(event_types.filter(|v| !v.is_empty())),
                channels: Some(parse_channels(&channels)),
                throttle_rate: Some(rate),
                // an emptied filter field removes the filter
                filter: filter.map(|f| Some(f.trim().to_string()).filter(|f| !f.is_empty())),
                ..Default::default()
            };
            let mut map = serde_json::Map::new();
            for (k, v) in &lines {
                map.insert(k.clone(), serde_json::Value::String(v.clone()));
            }
            let mut delete: Vec<String> = shown_headers
                .unwrap_or_default()
                .into_iter()
                .filter(|k| !lines.iter().any(|(n, _)| n.eq_ignore_ascii_case(k)))
                .collect();
            // a hidden header ticked for removal but typed again is replaced, not removed
            delete.extend(
                remove_headers
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|k| !lines.iter().any(|(n, _)| n.eq_ignore_ascii_case(k))),
            );
            let headers_in = domain::types::EndpointHeadersIn {
                headers: map,
                delete_headers: Some(delete),
            };
            let out = s
                .edit_endpoint(&t, &app, &endpoint, patch, headers_in)
                .await
                .map_err(field_names)?;
            Ok(out)
        }
        .await,
    )
}

/// Enables or disables the endpoint. Enabling clears the breaker's disabled reason.
/// Tries a payload filter on a message (the event type's example when `payload` is empty).
#[server(prefix = "/_fn", endpoint = "try_filter")]
pub async fn try_filter(
    app: String,
    filter: String,
    event_type: String,
    payload: String,
    channels: String,
) -> Result<domain::types::FilterTrial, PortalError> {
    ssr::respond(
        async move {
            let t = ssr::tenant_for(&app).await?;
            let channels = parse_channels(&channels).unwrap_or_default();
            let s = ssr::services()?;
            if payload.trim().is_empty() {
                // the catalogue's example: a consumer's link sees no event type it was not
                // given the feature flag of, so it does not see that one's example here either
                let mut seen = vec![s.get_event_type(&t, event_type.trim()).await?];
                ssr::hide_flagged(&mut seen).await?;
                if seen.is_empty() {
                    return Err(PortalError::NotFound);
                }
            }
            Ok(s.try_filter(&t, &filter, event_type.trim(), &payload, &channels)
                .await?)
        }
        .await,
    )
}

#[server(prefix = "/_fn", endpoint = "set_endpoint_enabled")]
pub async fn set_endpoint_enabled(app: String, endpoint: String, enabled: bool) -> Result<(), PortalError> {
    ssr::respond(
        async move {
            let t = ssr::tenant_for_change(&app).await?;
            let patch = domain::types::EndpointPatch {
                disabled: Some(!enabled),
                ..Default::default()
            };
            ssr::services()?
                .patch_endpoint(&t, &app, &endpoint, patch)
                .await?;
            Ok(())
        }
        .await,
    )
}

/// Deletes the endpoint once the person has ticked the confirmation, then returns to the
/// application's page.
#[server(prefix = "/_fn", endpoint = "delete_endpoint")]
pub async fn delete_endpoint(
    app: String,
    endpoint: String,
    confirm: Option<String>,
    area: Option<Area>,
) -> Result<(), PortalError> {
    ssr::respond(
        async move {
            let t = ssr::tenant_for_change(&app).await?;
            if confirm.as_deref() != Some("yes") {
                return Err(invalid(
                    "confirm",
                    "Tick the box to confirm: deleting stops all deliveries to this endpoint.",
                ));
            }
            let s = ssr::services()?;
            let app_id = s.get_app(&t, &app).await?.id;
            s.delete_endpoint(&t, &app_id, &endpoint).await?;
            leptos_axum::redirect(&area.unwrap_or_default().app(&app_id));
            Ok(())
        }
        .await,
    )
}

/// What a recovery queued, and the window whose progress the page follows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recovery {
    pub queued: u64,
    pub since: DateTime<Utc>,
    /// When the recovery started: its progress counts messages from `since` until then, so new
    /// traffic does not keep it from finishing.
    pub at: DateTime<Utc>,
}

/// Parses the time picker's value (`datetime-local`, taken as UTC) or an RFC 3339 time.
pub fn parse_since(text: &str) -> Option<DateTime<Utc>> {
    domain::types::parse_datetime(text).or_else(|| {
        chrono::NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%dT%H:%M")
            .ok()
            .map(|n| n.and_utc())
    })
}

/// Re-queues every failed delivery to the endpoint of messages since `since`.
#[server(prefix = "/_fn", endpoint = "recover_failed")]
pub async fn recover_failed(app: String, endpoint: String, since: String) -> Result<Recovery, PortalError> {
    ssr::respond(
        async move {
            let t = ssr::tenant_for_change(&app).await?;
            let since = parse_since(&since)
                .ok_or_else(|| invalid("since", "Pick the date and time to recover from."))?;
            if since > Utc::now() {
                return Err(invalid("since", "Pick a time in the past."));
            }
            let s = ssr::services()?;
            if s.endpoint_health(&t, &app, &endpoint).await?.1.disabled {
                return Err(PortalError::form(
                    "This endpoint is disabled: enable it first, or the recovered messages would wait.",
                ));
            }
            let at = Utc::now();
            let input = domain::types::RecoverIn {
                since,
                until: Some(at),
            };
            let (_, queued) = s
                .recover_endpoint(&t, &app, &endpoint, input)
                .await
                .map_err(field_names)?;
            Ok(Recovery { queued, since, at })
        }
        .await,
    )
}

/// What a replay of missing messages queued, and its background task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Replayed {
    pub queued: i64,
    pub task_id: String,
}

/// Sends the endpoint every message since `since` that its filters match and it never had.
#[server(prefix = "/_fn", endpoint = "replay_missing")]
pub async fn replay_missing(app: String, endpoint: String, since: String) -> Result<Replayed, PortalError> {
    ssr::respond(
        async move {
            let t = ssr::tenant_for_change(&app).await?;
            let since = parse_since(&since)
                .ok_or_else(|| invalid("since", "Pick the date and time to replay from."))?;
            if since > Utc::now() {
                return Err(invalid("since", "Pick a time in the past."));
            }
            let input = domain::types::ReplayIn { since, until: None };
            let (task, queued) = ssr::services()?
                .replay_missing(&t, &app, &endpoint, input)
                .await
                .map_err(field_names)?;
            Ok(Replayed {
                queued,
                task_id: task.id,
            })
        }
        .await,
    )
}

/// How the endpoint's deliveries of messages since `since` stand: a recovery's progress.
#[server(prefix = "/_fn", endpoint = "recovery_progress")]
pub async fn recovery_progress(
    app: String,
    endpoint: String,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<EndpointStats, PortalError> {
    ssr::respond(
        async move {
            let t = ssr::tenant_for(&app).await?;
            Ok(ssr::services()?
                .endpoint_stats(&t, &app, &endpoint, Some(since), Some(until))
                .await?)
        }
        .await,
    )
}

#[cfg(feature = "ssr")]
use crate::catalog::field_names;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lines_are_name_colon_value() {
        let parsed = parse_header_lines("X-Team: billing\n\n  Authorization: Bearer a:b \n").unwrap();
        assert_eq!(
            parsed,
            vec![
                ("X-Team".to_string(), "billing".to_string()),
                ("Authorization".to_string(), "Bearer a:b".to_string())
            ]
        );
        assert_eq!(
            parse_header_lines("X-Ok: 1\nno colon here").unwrap_err(),
            "Line 2 should look like \"X-Name: value\"."
        );
        assert!(parse_header_lines(": value").is_err());
    }

    #[test]
    fn the_time_picker_value_is_read_as_utc() {
        assert_eq!(
            parse_since("2026-11-28T09:30").unwrap().to_rfc3339(),
            "2026-11-28T09:30:00+00:00"
        );
        assert!(parse_since("yesterday").is_none());
    }

    #[test]
    fn channels_and_rate_limits_from_the_form() {
        assert_eq!(parse_channels(" a, ,b "), Some(vec!["a".into(), "b".into()]));
        assert_eq!(parse_channels(" "), None);
        assert_eq!(parse_rate_limit("").unwrap(), None);
        assert_eq!(parse_rate_limit("12").unwrap(), Some(12));
        assert!(parse_rate_limit("fast").is_err());
    }
}
