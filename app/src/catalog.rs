//! Server functions for an application's endpoints, the event-type catalogue, and test events.
// A server function takes one argument per form field; the endpoint form has eight.
#![allow(clippy::too_many_arguments)]
use crate::error::PortalError;
use domain::types::{ApplicationOut, EndpointOut, EventTypeOut, MessageOut, MessageOutcome};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use crate::api::ssr;

/// Everything the application page shows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppDashboard {
    pub app: ApplicationOut,
    pub endpoints: Vec<EndpointOut>,
    /// Each endpoint's health, by endpoint id.
    pub health: Vec<(String, domain::types::EndpointHealth)>,
    pub event_types: Vec<EventTypeOut>,
    pub messages: Vec<MessageOutcome>,
    /// A read-only portal link: no forms.
    pub read_only: bool,
    /// The test inbox of each endpoint that delivers to one: (endpoint id, inbox id). A
    /// developer's only.
    pub inboxes: Vec<(String, String)>,
}

#[server(prefix = "/_fn", endpoint = "app_overview")]
pub async fn app_overview(app: String) -> Result<AppDashboard, PortalError> {
    ssr::respond(
        async move {
            use domain::store::Page;
            use domain::types::Ordering;
            let t = ssr::tenant_for(&app).await?;
            let s = ssr::services()?;
            let app = s.get_app(&t, &app).await?;
            let endpoints = s
                .list_endpoints(&t, &app.id, &Page::new(Some(250), None, Ordering::Ascending))
                .await?
                .data;
            let health = s.app_endpoints_health(&t, &app.id).await?;
            let mut event_types = s
                .list_event_types(&t, false, &Page::new(Some(250), None, Ordering::Ascending))
                .await?
                .data;
            ssr::hide_flagged(&mut event_types).await?;
            let messages = s
                .message_log(
                    &t,
                    &app.id,
                    &Default::default(),
                    &Page::new(Some(10), None, Ordering::Descending),
                )
                .await?
                .data;
            let inboxes = if ssr::is_consumer().await? {
                Vec::new()
            } else {
                let all = s.list_inboxes(&t).await?;
                endpoints
                    .iter()
                    .filter_map(|e| {
                        let i = all.iter().find(|i| i.url == e.url)?;
                        Some((e.id.clone(), i.id.clone()))
                    })
                    .collect()
            };
            Ok(AppDashboard {
                app,
                endpoints,
                health,
                event_types,
                messages,
                read_only: ssr::is_read_only().await?,
                inboxes,
            })
        }
        .await,
    )
}

/// Adds an endpoint. `event_types` empty means every type; `channels` is comma-separated;
/// `headers` is one `Name: value` per line.
#[server(prefix = "/_fn", endpoint = "add_endpoint")]
pub async fn add_endpoint(
    app: String,
    url: String,
    description: String,
    event_types: Option<Vec<String>>,
    channels: String,
    rate_limit: String,
    headers: Option<String>,
    signing: Option<String>,
    filter: Option<String>,
    submission: Option<String>,
) -> Result<EndpointOut, PortalError> {
    ssr::respond(
        async move {
            use crate::endpoint::{parse_channels, parse_header_lines, parse_rate_limit};
            use crate::error::FieldProblem;
            let t = ssr::tenant_for_change(&app).await?;
            let headers = parse_header_lines(headers.as_deref().unwrap_or_default()).map_err(|m| {
                PortalError::Invalid(vec![FieldProblem {
                    field: Some("headers".into()),
                    message: m,
                }])
            })?;
            // an Ed25519 key pair is made here; HMAC is what an endpoint gets by default
            let secret = parse_scheme("signing", signing.as_deref())?
                .filter(|s| *s == domain::signing::Scheme::Ed25519)
                .map(|s| s.generate());
            let input = domain::types::EndpointIn {
                secret,
                filter: filter.map(|f| f.trim().to_string()).filter(|f| !f.is_empty()),
                url: url.trim().to_string(),
                description: Some(description),
                event_types: event_types.filter(|v| !v.is_empty()),
                channels: parse_channels(&channels),
                throttle_rate: parse_rate_limit(&rate_limit)?,
                headers: (!headers.is_empty()).then(|| {
                    headers
                        .into_iter()
                        .map(|(k, v)| (k, serde_json::Value::String(v)))
                        .collect()
                }),
                ..Default::default()
            };
            let s = ssr::services()?;
            s.once_per_submission(&t, "add_endpoint", submission.as_deref(), || {
                s.create_endpoint(&t, &app, input)
            })
            .await
            .map_err(field_names)
        }
        .await,
    )
}

/// Maps API field names (camelCase) to the form's input names.
#[cfg(feature = "ssr")]
pub(crate) fn field_names(e: domain::DomainError) -> PortalError {
    let mut err = PortalError::from(e);
    if let PortalError::Invalid(ps) = &mut err {
        for p in ps {
            p.field = p.field.take().map(|f| match f.as_str() {
                "filterTypes" => "event_types".into(),
                "throttleRate" | "rateLimit" => "rate_limit".into(),
                "eventType" => "event_type".into(),
                _ => f,
            });
        }
    }
    err
}

/// Creates an event type; `schema` and `example` are optional JSON objects.
#[server(prefix = "/_fn", endpoint = "add_event_type")]
pub async fn add_event_type(
    name: String,
    description: String,
    schema: String,
    example: String,
    submission: Option<String>,
) -> Result<EventTypeOut, PortalError> {
    ssr::respond(
        async move {
            let t = ssr::account().await?.tenant();
            let schema = schema_from_form(&schema, &example)?;
            let input = domain::types::EventTypeIn {
                name: name.trim().to_string(),
                description,
                schemas: Some(schema),
                ..Default::default()
            };
            let s = ssr::services()?;
            Ok(
                s.once_per_submission(&t, "add_event_type", submission.as_deref(), || {
                    s.create_event_type(&t, input)
                })
                .await?,
            )
        }
        .await,
    )
}

/// The `schemas` of an event type from the form's two text areas: version "1" is the schema
/// (an object; `{"type": "object"}` when empty) with the example, if any, under `examples`.
pub fn schema_from_form(schema: &str, example: &str) -> Result<serde_json::Value, PortalError> {
    use crate::error::FieldProblem;
    let parse = |field: &str, text: &str| -> Result<Option<serde_json::Value>, PortalError> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(v) if v.is_object() => Ok(Some(v)),
            Ok(_) => Err(PortalError::Invalid(vec![FieldProblem {
                field: Some(field.into()),
                message: "This must be a JSON object, like {\"id\": \"inv_1\"}.".into(),
            }])),
            Err(e) => Err(PortalError::Invalid(vec![FieldProblem {
                field: Some(field.into()),
                message: format!("This is not valid JSON: {e}."),
            }])),
        }
    };
    let mut schema = parse("schema", schema)?.unwrap_or_else(|| serde_json::json!({"type": "object"}));
    if let Some(ex) = parse("example", example)? {
        schema["examples"] = serde_json::json!([ex]);
    } else if let Some(obj) = schema.as_object_mut() {
        obj.remove("examples");
    }
    Ok(serde_json::json!({ "1": schema }))
}

/// The form's view of an event type's schema: version "1" without its examples, pretty.
pub fn schema_text(et: &EventTypeOut) -> String {
    et.schemas
        .as_ref()
        .and_then(|s| s.get("1"))
        .map(|v| {
            let mut v = v.clone();
            if let Some(o) = v.as_object_mut() {
                o.remove("examples");
            }
            serde_json::to_string_pretty(&v).unwrap_or_default()
        })
        .unwrap_or_default()
}

/// Edits an event type's description, schema and example; its name stays.
#[server(prefix = "/_fn", endpoint = "update_event_type")]
pub async fn update_event_type(
    name: String,
    description: String,
    schema: String,
    example: String,
) -> Result<EventTypeOut, PortalError> {
    ssr::respond(
        async move {
            let t = ssr::account().await?.tenant();
            // the form edits version "1"; other versions made through the API stay
            let v1 = schema_from_form(&schema, &example)?["1"].take();
            Ok(ssr::services()?
                .set_event_type_version(&t, &name, &description, "1", v1)
                .await?)
        }
        .await,
    )
}

#[server(prefix = "/_fn", endpoint = "archive_event_type")]
pub async fn archive_event_type(name: String) -> Result<(), PortalError> {
    ssr::respond(
        async move {
            let t = ssr::account().await?.tenant();
            Ok(ssr::services()?.delete_event_type(&t, &name, false).await?)
        }
        .await,
    )
}

#[server(prefix = "/_fn", endpoint = "list_event_types")]
pub async fn list_event_types() -> Result<Vec<EventTypeOut>, PortalError> {
    ssr::respond(
        async move {
            use domain::store::Page;
            let t = ssr::account().await?.tenant();
            let page = Page::new(Some(250), None, domain::types::Ordering::Ascending);
            Ok(ssr::services()?.list_event_types(&t, false, &page).await?.data)
        }
        .await,
    )
}

/// Sends a test event to the application's subscribed endpoints.
#[server(prefix = "/_fn", endpoint = "send_test_event")]
pub async fn send_test_event(
    app: String,
    event_type: String,
    payload: String,
    endpoint: Option<String>,
    area: Option<crate::paths::Area>,
    submission: Option<String>,
) -> Result<MessageOut, PortalError> {
    ssr::respond(
        async move {
            use crate::error::FieldProblem;
            let t = ssr::tenant_for_change(&app).await?;
            let payload = parse_payload(&payload)?;
            let s = ssr::services()?;
            let endpoint = endpoint.filter(|e| !e.is_empty());
            // a consumer tests its own endpoints one at a time (as Svix's send-example)
            if endpoint.is_none() && ssr::is_consumer().await? {
                return Err(PortalError::Invalid(vec![FieldProblem {
                    field: Some("endpoint".into()),
                    message: "Pick the endpoint to send the test event to.".into(),
                }]));
            }
            let send = || async {
                match endpoint {
                    // just one endpoint, as the API's send-example does (any event type)
                    Some(ep) => {
                        s.send_test_event(&t, &app, &ep, event_type.trim(), &payload)
                            .await
                    }
                    None => {
                        let input = domain::types::MessageIn {
                            event_type: event_type.trim().to_string(),
                            payload,
                            event_id: None,
                            channels: None,
                            payload_retention_period: None,
                            payload_retention_hours: None,
                            tags: None,
                            deliver_at: None,
                            transformations_params: None,
                            application: None,
                        };
                        s.create_message(&t, &app, input, true, None).await
                    }
                }
            };
            let msg = s
                .once_per_submission(&t, "send_test_event", submission.as_deref(), send)
                .await
                .map_err(field_names)?;
            // straight to the message's timeline
            let app_id = ssr::services()?.get_app(&t, &app).await?.id;
            leptos_axum::redirect(&area.unwrap_or_default().message(&app_id, &msg.id));
            Ok(msg)
        }
        .await,
    )
}

/// The signature scheme picked in a form (`field`): none (keep or default), HMAC or Ed25519.
#[cfg(feature = "ssr")]
pub(crate) fn parse_scheme(
    field: &str,
    value: Option<&str>,
) -> Result<Option<domain::signing::Scheme>, PortalError> {
    use domain::signing::Scheme;
    match value.map(str::trim).unwrap_or_default() {
        "" => Ok(None),
        "hmac" => Ok(Some(Scheme::Hmac)),
        "ed25519" => Ok(Some(Scheme::Ed25519)),
        other => Err(PortalError::Invalid(vec![crate::error::FieldProblem {
            field: Some(field.into()),
            message: format!("'{other}' is not a signature scheme: pick HMAC-SHA256 or Ed25519."),
        }])),
    }
}

/// A test event's payload as typed into the form: JSON, or a 422 on the field.
#[cfg(feature = "ssr")]
pub(crate) fn parse_payload(payload: &str) -> Result<Box<serde_json::value::RawValue>, PortalError> {
    serde_json::value::RawValue::from_string(payload.trim().to_string()).map_err(|e| {
        PortalError::Invalid(vec![crate::error::FieldProblem {
            field: Some("payload".into()),
            message: format!("The payload is not valid JSON: {e}. Nothing was sent."),
        }])
    })
}

/// The first example of an event type's schema, pretty-printed, if it has one.
pub fn example_text(et: &EventTypeOut) -> Option<String> {
    et.schemas
        .as_ref()
        .and_then(|s| s.as_object())
        .and_then(|versions| {
            versions.values().find_map(|v| {
                v.get("examples")
                    .and_then(|e| e.as_array())
                    .and_then(|a| a.first())
                    .cloned()
            })
        })
        .and_then(|ex| serde_json::to_string_pretty(&ex).ok())
}

/// The payload to pre-fill for a test event: the type's example, or a small placeholder.
pub fn example_payload(et: &EventTypeOut) -> String {
    example_text(et).unwrap_or_else(|| "{\n  \"hello\": \"world\"\n}".into())
}

/// An endpoint's signing secrets: the current one, and during a rotation's grace period the
/// previous one with when it stops signing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SigningSecrets {
    pub endpoint_id: String,
    pub current: String,
    pub previous: Option<(String, chrono::DateTime<chrono::Utc>)>,
}

impl SigningSecrets {
    /// From the service's `(secret, expires_at)` list: the one without expiry is current.
    pub fn from_keys(
        endpoint_id: String,
        keys: Vec<(String, Option<chrono::DateTime<chrono::Utc>>)>,
    ) -> Self {
        let current = keys
            .iter()
            .find(|(_, exp)| exp.is_none())
            .map(|(k, _)| k.clone())
            .unwrap_or_default();
        let previous = keys.into_iter().find_map(|(k, exp)| exp.map(|e| (k, e)));
        Self {
            endpoint_id,
            current,
            previous,
        }
    }
}

#[server(prefix = "/_fn", endpoint = "reveal_secret")]
pub async fn reveal_secret(app: String, endpoint: String) -> Result<SigningSecrets, PortalError> {
    ssr::respond(
        async move {
            let t = ssr::tenant_for(&app).await?;
            let keys = ssr::services()?
                .endpoint_signing_secrets(&t, &app, &endpoint, domain::service::audit::SecretsShown::Reveal)
                .await?;
            Ok(SigningSecrets::from_keys(endpoint, keys))
        }
        .await,
    )
}

/// Rotates the secret, to a new one of `scheme` (`hmac`, `ed25519`; empty keeps the current
/// one's); the old one keeps signing for 24 hours. Returns both.
#[server(prefix = "/_fn", endpoint = "rotate_secret")]
pub async fn rotate_secret(
    app: String,
    endpoint: String,
    scheme: Option<String>,
) -> Result<SigningSecrets, PortalError> {
    ssr::respond(
        async move {
            let t = ssr::tenant_for_change(&app).await?;
            let scheme = parse_scheme("scheme", scheme.as_deref())?;
            let s = ssr::services()?;
            s.rotate_endpoint_secret_to(&t, &app, &endpoint, Default::default(), scheme)
                .await?;
            let keys = s
                .endpoint_signing_secrets(
                    &t,
                    &app,
                    &endpoint,
                    domain::service::audit::SecretsShown::AfterRotation,
                )
                .await?;
            Ok(SigningSecrets::from_keys(endpoint, keys))
        }
        .await,
    )
}
