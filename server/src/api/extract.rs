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
            .map(|v| {
                super::guard::header_text("Authorization", v).map_err(|_| {
                    ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "authentication_failed",
                        "the Authorization header must be visible ASCII: 'Bearer <api key>'",
                    )
                })
            })
            .transpose()?
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
        let tenant = if token.starts_with("appsk_") {
            let scope = state
                .services
                .resolve_portal_token(token)
                .await
                .map_err(|e| match e {
                    // the database being away is a 503, not a bad token
                    domain::DomainError::Database(_) | domain::DomainError::Internal(_) => ApiError::from(e),
                    _ => ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "authentication_failed",
                        "invalid or expired app-portal token",
                    ),
                })?;
            super::scope::check_app_scope(state, parts, &scope).await?;
            let tenant = scope.tenant.clone();
            parts.extensions.insert(AppScope {
                scope,
                token: token.to_string(),
            });
            tenant
        } else {
            let tenant = state.services.authenticate_api_key(token).await?;
            if let Some(scope) = tenant.actor.key_scope() {
                super::scope::check_key_scope(state, parts, &tenant, scope).await?;
            }
            tenant
        };
        parts.extensions.insert(tenant.clone());
        Ok(Auth(tenant))
    }
}

/// Set on requests made with an app-portal token (`appsk_…`): the one application it reaches.
#[derive(Clone)]
pub struct AppScope {
    pub scope: domain::service::accounts::PortalScope,
    pub token: String,
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
    if has_nul_escape(bytes) {
        if let Some(loc) = nul_location(bytes) {
            return Err(ApiError::validation(
                loc,
                "text may not contain the NUL character (\\u0000); only a message's payload may",
            ));
        }
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

/// Whether the body may hold an escaped NUL (`\u0000` after an even run of backslashes):
/// a cheap scan, so that only such rare bodies are parsed twice.
fn has_nul_escape(bytes: &[u8]) -> bool {
    bytes.windows(6).enumerate().any(|(i, w)| {
        w == b"\\u0000" && bytes[..i].iter().rev().take_while(|b| **b == b'\\').count() % 2 == 0
    })
}

/// Where a string or key holding NUL sits, outside the top-level `payload` (kept as text,
/// byte for byte, so NUL is fine there). PostgreSQL's text and jsonb cannot hold NUL.
fn nul_location(bytes: &[u8]) -> Option<Vec<String>> {
    fn walk(v: &serde_json::Value, path: &mut Vec<String>) -> bool {
        match v {
            serde_json::Value::String(s) => s.contains('\0'),
            serde_json::Value::Array(items) => items.iter().enumerate().any(|(i, item)| {
                path.push(i.to_string());
                let found = walk(item, path);
                if !found {
                    path.pop();
                }
                found
            }),
            serde_json::Value::Object(map) => map.iter().any(|(k, item)| {
                if path.len() == 1 && k == "payload" {
                    return false;
                }
                path.push(k.clone());
                let found = k.contains('\0') || walk(item, path);
                if !found {
                    path.pop();
                }
                found
            }),
            _ => false,
        }
    }
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let mut path = vec!["body".to_string()];
    walk(&v, &mut path).then_some(path)
}

/// Every query parameter the list endpoints understand, each acted on as Svix does. Names Svix
/// does not know are ignored, as the Svix server ignores them.
#[derive(Debug, Default)]
pub struct Params {
    pub limit: Option<i64>,
    pub iterator: Option<String>,
    pub order: Option<Ordering>,
    pub event_types: Option<Vec<String>>,
    pub channel: Option<String>,
    pub tag: Option<String>,
    /// Hookline's message search (`domain::search`), not a Svix parameter.
    pub search: Option<domain::search::Search>,
    pub before: Option<DateTime<Utc>>,
    pub after: Option<DateTime<Utc>>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub status: Option<i16>,
    pub status_code_class: Option<i32>,
    pub endpoint_id: Option<String>,
    pub with_content: Option<bool>,
    pub with_msg: Option<bool>,
    pub exclude_apps_with_no_endpoints: Option<bool>,
    pub exclude_apps_with_disabled_endpoints: Option<bool>,
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
    /// The message list's filters, with the payload `search` (the message list is the one
    /// listing that takes it).
    pub fn message_filter(&self) -> MessageFilter {
        MessageFilter {
            search: self.search.clone(),
            ..self.svix_message_filter()
        }
    }
    /// Svix's filters on messages, which the attempt listings take too.
    fn svix_message_filter(&self) -> MessageFilter {
        MessageFilter {
            event_types: self.event_types.clone(),
            channel: self.channel.clone(),
            tag: self.tag.clone(),
            before: self.before,
            after: self.after,
            outcome: None,
            id_or_event_id: None,
            search: None,
        }
    }
    pub fn attempt_filter(&self) -> AttemptFilter {
        AttemptFilter {
            message: self.svix_message_filter(),
            status: self.status,
            status_code_class: self.status_code_class,
            endpoint_id: self.endpoint_id.clone(),
            with_msg: self.with_msg(),
        }
    }
    pub fn with_content(&self) -> bool {
        self.with_content.unwrap_or(true)
    }
    pub fn app_filter(&self) -> domain::store::applications::AppFilter {
        domain::store::applications::AppFilter {
            without_endpoints: self.exclude_apps_with_no_endpoints.unwrap_or(false),
            with_disabled_endpoints: self.exclude_apps_with_disabled_endpoints.unwrap_or(false),
        }
    }
    pub fn with_msg(&self) -> bool {
        self.with_msg.unwrap_or(false)
    }
}

/// Decodes a query component (`+` is a space). NUL and bytes that are not UTF-8 can name
/// nothing Hookline stores, so they are refused rather than passed on.
pub fn decode_query_component(raw: &str) -> Result<String, &'static str> {
    let spaced = raw.replace('+', " ");
    let s = percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .map_err(|_| "is not valid UTF-8")?;
    if s.contains('\0') {
        return Err("contains a NUL character");
    }
    Ok(s.into_owned())
}

/// The decoded query pairs; a 422 naming the parameter for NUL or invalid UTF-8.
pub fn query_pairs(query: &str) -> Result<Vec<(String, String)>, ApiError> {
    let mut out = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode_query_component(k)
            .map_err(|why| bad_query("?", format!("a query parameter's name {why}")))?;
        let value = decode_query_component(v)
            .map_err(|why| bad_query(&key, format!("the value of '{key}' {why}")))?;
        out.push((key, value));
    }
    Ok(out)
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

fn parse_order(v: &str) -> Result<Ordering, ApiError> {
    match v {
        "ascending" => Ok(Ordering::Ascending),
        "descending" => Ok(Ordering::Descending),
        _ => Err(bad_query(
            "order",
            format!("order must be 'ascending' or 'descending', not '{v}'"),
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
        for (k, v) in query_pairs(query)? {
            let v = v.trim();
            match k.as_str() {
                "limit" => {
                    let n: i64 = v.parse().map_err(|_| {
                        bad_query("limit", format!("limit must be a whole number, not '{v}'"))
                    })?;
                    if n < 1 {
                        return Err(bad_query("limit", "limit must be at least 1".into()));
                    }
                    if n > domain::store::MAX_LIMIT {
                        return Err(bad_query("limit", "limit must not exceed 250".into()));
                    }
                    p.limit = Some(n);
                }
                "iterator" if !v.is_empty() => p.iterator = Some(v.to_string()),
                "order" => p.order = Some(parse_order(v)?),
                // comma-joined, repeated, or indexed (`event_types[0]=`) as the Svix server takes them
                key if key == "event_types" || (key.starts_with("event_types[") && key.ends_with(']')) => {
                    let list = p.event_types.get_or_insert_with(Vec::new);
                    list.extend(
                        v.split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned),
                    );
                }
                "channel" if !v.is_empty() => p.channel = Some(v.to_string()),
                "tag" if !v.is_empty() => p.tag = Some(v.to_string()),
                "search" if !v.is_empty() => {
                    p.search = Some(domain::search::parse(v).map_err(|e| bad_query("search", e.0))?)
                }
                "before" => p.before = Some(parse_time("before", v)?),
                "after" => p.after = Some(parse_time("after", v)?),
                "since" => p.since = Some(parse_time("since", v)?),
                "until" => p.until = Some(parse_time("until", v)?),
                "status" => {
                    let s: i16 = v.parse().ok().filter(|s| (0..=4).contains(s)).ok_or_else(|| {
                        bad_query(
                            "status",
                            format!(
                                "status must be 0 (success), 1 (pending), 2 (fail), 3 (sending) or 4 (canceled), not '{v}'"
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
                "with_msg" => p.with_msg = Some(parse_bool("with_msg", v)?),
                // Hookline's statuses are the same either way; the value must still be a bool
                "expanded_statuses" => {
                    parse_bool("expanded_statuses", v)?;
                }
                "exclude_apps_with_no_endpoints" => {
                    p.exclude_apps_with_no_endpoints = Some(parse_bool("exclude_apps_with_no_endpoints", v)?)
                }
                "exclude_apps_with_disabled_endpoints" => {
                    p.exclude_apps_with_disabled_endpoints =
                        Some(parse_bool("exclude_apps_with_disabled_endpoints", v)?)
                }
                // Hookline has no Svix Play endpoints, so none are ever excluded
                "exclude_apps_with_svix_play_endpoints" => {
                    parse_bool("exclude_apps_with_svix_play_endpoints", v)?;
                }
                "include_archived" => p.include_archived = Some(parse_bool("include_archived", v)?),
                "expunge" => p.expunge = Some(parse_bool("expunge", v)?),
                "get_if_exists" => p.get_if_exists = Some(parse_bool("get_if_exists", v)?),
                _ => {}
            }
        }
        Ok(p)
    }
}

/// The paging parameters (`limit`, `iterator`, `order`) of a list with its own filters.
pub struct PageQuery {
    limit: Option<i64>,
    iterator: Option<String>,
    order: Ordering,
}

impl PageQuery {
    pub fn newest_first() -> Self {
        Self {
            limit: None,
            iterator: None,
            order: Ordering::Descending,
        }
    }

    /// Takes the pair when it is a paging parameter (a 422 naming it when its value is bad);
    /// other names are left alone.
    pub fn take(&mut self, k: &str, v: String) -> Result<(), ApiError> {
        match k {
            "limit" => {
                let n: i64 = v.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    bad_query(
                        "limit",
                        format!("limit must be a whole number of at least 1, not '{v}'"),
                    )
                })?;
                self.limit = Some(n);
            }
            "iterator" if !v.is_empty() => self.iterator = Some(v),
            "order" => self.order = parse_order(&v)?,
            _ => {}
        }
        Ok(())
    }

    pub fn page(self) -> Page {
        Page::new(self.limit, self.iterator, self.order)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_refused_in_any_string_but_the_payload() {
        assert!(has_nul_escape(br#"{"name":"a\u0000"}"#));
        assert!(
            !has_nul_escape(br#"{"name":"a\\u0000"}"#),
            "an escaped backslash, then text"
        );
        assert_eq!(
            nul_location(br#"{"name":"x","metadata":{"k":"a\u0000"}}"#),
            Some(vec!["body".into(), "metadata".into(), "k".into()])
        );
        assert_eq!(
            nul_location(br#"{"schemas":{"1":{"enum":["ok","\u0000"]}}}"#),
            Some(vec![
                "body".into(),
                "schemas".into(),
                "1".into(),
                "enum".into(),
                "1".into()
            ])
        );
        assert_eq!(
            nul_location(br#"{"eventType":"a","payload":{"s":"\u0000"}}"#),
            None
        );
        let err = parse_json::<serde_json::Value>(br#"{"description":"\u0000"}"#).unwrap_err();
        assert!(matches!(
            err,
            ApiError::Domain(domain::DomainError::Validation(_))
        ));
    }
}
