//! Request extractors: the authenticated tenant, JSON bodies with readable errors, and the
//! query parameters of list endpoints (accepting the SDKs' comma-joined lists).
use super::error::ApiError;
use super::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use domain::service::Tenant;
use domain::store::attempts::AttemptFilter;
use domain::store::messages::MessageFilter;
use domain::store::Page;
use domain::types::{parse_datetime, Ordering};
use serde::de::DeserializeOwned;

/// The organisation of the bearer API key.
pub struct Auth(pub Tenant);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(t) = parts.extensions.get::<Tenant>() {
            return Ok(Auth(t.clone()));
        }
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "authentication_failed",
                    "missing 'Authorization: Bearer <api key>' header",
                )
            })?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "authentication_failed",
                    "the Authorization header must be 'Bearer <api key>'",
                )
            })?;
        let tenant = state.services.authenticate_api_key(token).await?;
        parts.extensions.insert(tenant.clone());
        Ok(Auth(tenant))
    }
}

/// A JSON body. Malformed JSON is a 400, a body of the wrong shape a 422 naming the field,
/// an oversized one a 413.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!(
                        "the request body is larger than the {} byte limit",
                        state.settings.max_payload_bytes
                    ),
                )
            } else {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_body",
                    format!("the request body could not be read: {e}"),
                )
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "the request body is empty; send a JSON object",
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("the request body is not valid JSON: {inner}"),
            )
        } else {
            let mut loc = vec!["body".to_string()];
            loc.extend(
                path.split('.')
                    .filter(|s| !s.is_empty() && *s != "?")
                    .map(str::to_owned),
            );
            ApiError::validation(loc, inner.to_string())
        }
    })
}

/// Every query parameter the list endpoints understand. Unknown ones are ignored (the SDKs send
/// extras such as `tag` and `expanded_statuses`).
#[derive(Debug, Default)]
pub struct Params {
    pub limit: Option<i64>,
    pub iterator: Option<String>,
    pub order: Option<Ordering>,
    pub event_types: Option<Vec<String>>,
    pub channel: Option<String>,
    pub before: Option<DateTime<Utc>>,
    pub after: Option<DateTime<Utc>>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub status: Option<i16>,
    pub status_code_class: Option<i32>,
    pub endpoint_id: Option<String>,
    pub with_content: Option<bool>,
    pub include_archived: Option<bool>,
    pub expunge: Option<bool>,
    pub get_if_exists: Option<bool>,
}

impl Params {
    pub fn page(&self, default_order: Ordering) -> Page {
        Page::new(
            self.limit,
            self.iterator.clone(),
            self.order.unwrap_or(default_order),
        )
    }
    pub fn message_filter(&self) -> MessageFilter {
        MessageFilter {
            event_types: self.event_types.clone(),
            channel: self.channel.clone(),
            before: self.before,
            after: self.after,
            outcome: None,
            id_or_event_id: None,
        }
    }
    pub fn attempt_filter(&self) -> AttemptFilter {
        AttemptFilter {
            message: self.message_filter(),
            status: self.status,
            status_code_class: self.status_code_class,
            endpoint_id: self.endpoint_id.clone(),
        }
    }
    pub fn with_content(&self) -> bool {
        self.with_content.unwrap_or(true)
    }
}

fn bad_query(name: &str, msg: String) -> ApiError {
    ApiError::validation(vec!["query".into(), name.into()], msg)
}

fn parse_bool(name: &str, v: &str) -> Result<bool, ApiError> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(bad_query(
            name,
            format!("{name} must be true or false, not '{v}'"),
        )),
    }
}

fn parse_time(name: &str, v: &str) -> Result<DateTime<Utc>, ApiError> {
    parse_datetime(v).ok_or_else(|| {
        bad_query(
            name,
            format!("{name} '{v}' is not a date-time such as 2024-01-31T12:00:00Z"),
        )
    })
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let mut p = Params::default();
        let query = parts.uri.query().unwrap_or("");
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            let v = v.trim();
            match k.as_ref() {
                "limit" => {
                    let n: i64 = v.parse().map_err(|_| {
                        bad_query("limit", format!("limit must be a whole number, not '{v}'"))
                    })?;
                    if n < 1 {
                        return Err(bad_query("limit", "limit must be at least 1".into()));
                    }
                    p.limit = Some(n);
                }
                "iterator" if !v.is_empty() => p.iterator = Some(v.to_string()),
                "order" => {
                    p.order = Some(match v {
                        "ascending" => Ordering::Ascending,
                        "descending" => Ordering::Descending,
                        _ => {
                            return Err(bad_query(
                                "order",
                                format!("order must be 'ascending' or 'descending', not '{v}'"),
                            ))
                        }
                    })
                }
                "event_types" | "event_types[]" => {
                    let list = p.event_types.get_or_insert_with(Vec::new);
                    list.extend(
                        v.split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned),
                    );
                }
                "channel" if !v.is_empty() => p.channel = Some(v.to_string()),
                "before" => p.before = Some(parse_time("before", v)?),
                "after" => p.after = Some(parse_time("after", v)?),
                "since" => p.since = Some(parse_time("since", v)?),
                "until" => p.until = Some(parse_time("until", v)?),
                "status" => {
                    let s: i16 = v.parse().ok().filter(|s| (0..=4).contains(s)).ok_or_else(|| {
                        bad_query(
                            "status",
                            format!(
                                "status must be 0 (success), 1 (pending), 2 (fail) or 3 (sending), not '{v}'"
                            ),
                        )
                    })?;
                    p.status = Some(s);
                }
                "status_code_class" => {
                    let c: i32 = v
                        .parse()
                        .ok()
                        .filter(|c| [0, 100, 200, 300, 400, 500].contains(c))
                        .ok_or_else(|| {
                            bad_query(
                                "status_code_class",
                                format!("status_code_class must be 0, 100, 200, 300, 400 or 500, not '{v}'"),
                            )
                        })?;
                    p.status_code_class = Some(c);
                }
                "endpoint_id" if !v.is_empty() => p.endpoint_id = Some(v.to_string()),
                "with_content" => p.with_content = Some(parse_bool("with_content", v)?),
                "include_archived" => p.include_archived = Some(parse_bool("include_archived", v)?),
                "expunge" => p.expunge = Some(parse_bool("expunge", v)?),
                "get_if_exists" => p.get_if_exists = Some(parse_bool("get_if_exists", v)?),
                _ => {}
            }
        }
        Ok(p)
    }
}

/// A JSON body that may be left out entirely (the SDKs send body-less POSTs); an empty body
/// gives `T::default()`.
pub struct JsonOrDefault<T>(pub T);

impl<T: DeserializeOwned + Default> FromRequest<AppState> for JsonOrDefault<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            ApiError::new(
                e.status(),
                "invalid_body",
                format!("the request body could not be read: {}", e.body_text()),
            )
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(T::default()));
        }
        parse_json(&bytes).map(JsonOrDefault)
    }
}
