//! Input validation shared by the API and the portal. Each check adds a
//! [`ValidationErrorItem`] naming the field, so a caller sees every problem at once.
use crate::error::{DomainError, ValidationErrorItem};
use crate::ids;
use crate::types::{ApplicationIn, EndpointIn, EventTypeIn, Metadata};
use once_cell::sync::Lazy;
use regex::Regex;

static NAME_RE: Lazy<Regex> = Lazy::new(|| Regex::new(r"^[a-zA-Z0-9\-_.]+$").expect("valid regex"));
static SECRET_RE: Lazy<Regex> =
    Lazy::new(|| Regex::new(r"^(whsec_)?[a-zA-Z0-9+/=]{32,100}$").expect("valid regex"));
/// An Ed25519 key pair as Svix writes it: `whsk_` + base64 of 64 bytes (seed, public key).
static ED25519_SECRET_RE: Lazy<Regex> =
    Lazy::new(|| Regex::new(r"^whsk_[a-zA-Z0-9+/]{86}==$").expect("valid regex"));

pub const MAX_URL_LEN: usize = 65_536;
pub const MAX_CHANNELS_ENDPOINT: usize = 10;
pub const MAX_CHANNELS_MESSAGE: usize = 5;
pub const MAX_NAME_LEN: usize = 256;
pub const MAX_HEADERS: usize = 50;
pub const MAX_METADATA_BYTES: usize = 4096;
pub const MAX_DESCRIPTION_LEN: usize = 65_536;
pub const MAX_TAGS: usize = 5;

/// A Content-Type value: `type/subtype` with optional parameters, in visible ASCII, at most
/// 255 characters.
pub fn is_media_type(value: &str) -> bool {
    static MEDIA_RE: Lazy<Regex> = Lazy::new(|| {
        Regex::new(r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+([ \t]*;[ \t]*[\x21-\x7e][\x20-\x7e]*)?$")
            .expect("valid regex")
    });
    value.len() <= 255 && MEDIA_RE.is_match(value)
}

/// Collects field errors; `finish` turns them into a 422 when there are any.
#[derive(Default, Debug)]
pub struct Problems(Vec<ValidationErrorItem>);

impl Problems {
    pub fn add(&mut self, field: &str, msg: impl Into<String>) {
        self.0.push(ValidationErrorItem::body(field, msg));
    }
    /// A problem at a nested place, such as `["schemas", "1"]`.
    pub fn add_at(&mut self, path: &[&str], msg: impl Into<String>) {
        let mut loc = vec!["body".to_string()];
        loc.extend(path.iter().map(|s| s.to_string()));
        self.0.push(ValidationErrorItem {
            loc,
            msg: msg.into(),
            kind: "value_error".into(),
        });
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn finish(self) -> Result<(), DomainError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Validation(self.0))
        }
    }

    /// An identifier made of letters, digits, `-`, `_` and `.` (uids, event types, channels).
    pub fn identifier(&mut self, field: &str, value: &str, max: usize) {
        if value.is_empty() {
            self.add(field, format!("{field} must not be empty"));
        } else if value.len() > max {
            self.add(field, format!("{field} must be at most {max} characters"));
        } else if !NAME_RE.is_match(value) {
            self.add(
                field,
                format!("{field} '{value}' may only contain letters, digits, '-', '_' and '.'"),
            );
        }
    }

    /// A uid: an identifier that cannot be mistaken for an id (`prefix` is the id's, as `app`).
    pub fn uid(&mut self, field: &str, value: &str, prefix: &str) {
        let before = self.0.len();
        self.identifier(field, value, MAX_NAME_LEN);
        if self.0.len() == before && value.starts_with(&format!("{prefix}_")) {
            self.add(
                field,
                format!("{field} must not start with '{prefix}_', which ids start with"),
            );
        }
    }

    /// Metadata: string values only (as every Svix SDK reads it), at most 4096 bytes in all.
    pub fn metadata(&mut self, field: &str, m: Option<&Metadata>) {
        let Some(m) = m else { return };
        let mut size = 0;
        for (k, v) in m {
            match v.as_str() {
                Some(s) => size += k.len() + s.len(),
                None => self.add(field, format!("{field}.{k} must be a string, not {v}")),
            }
        }
        if size > MAX_METADATA_BYTES {
            self.add(
                field,
                format!("{field} must be at most {MAX_METADATA_BYTES} bytes (keys and values together)"),
            );
        }
    }

    /// A list that, when given, names at least one item: leaving it out means `all`.
    pub fn not_empty(&mut self, field: &str, values: &[String], all: &str) {
        if values.is_empty() {
            self.add(
                field,
                format!("{field} must list at least one item; leave it out for {all}"),
            );
        }
    }

    pub fn identifiers(&mut self, field: &str, values: &[String], max_items: usize, max_len: usize) {
        if values.len() > max_items {
            self.add(field, format!("{field} may hold at most {max_items} items"));
        }
        let mut seen = std::collections::HashSet::new();
        for v in values {
            self.identifier(field, v, max_len);
            if !seen.insert(v) {
                self.add(field, format!("{field} lists '{v}' more than once"));
            }
        }
    }

    pub fn throttle(&mut self, field: &str, rate: Option<i64>) {
        if let Some(r) = rate {
            if !(1..=u16::MAX as i64).contains(&r) {
                self.add(
                    field,
                    format!("{field} must be between 1 and 65535 (messages per second)"),
                );
            }
        }
    }

    pub fn endpoint_url(&mut self, url: &str, https_only: bool) {
        if let Err(msg) = check_endpoint_url(url, https_only) {
            self.add("url", msg);
        }
    }

    pub fn secret(&mut self, field: &str, secret: &str) {
        if secret.starts_with("whsk_") {
            // the format here; that its public half matches its seed where keys are parsed
            #[cfg(feature = "server")]
            let pair_ok = crate::signing::SigningKey::parse(secret).is_ok();
            #[cfg(not(feature = "server"))]
            let pair_ok = true;
            if !ED25519_SECRET_RE.is_match(secret) || !pair_ok {
                self.add(
                    field,
                    "an Ed25519 secret must be 'whsk_' followed by the base64 of 64 bytes: the 32-byte seed, then its public key",
                );
            }
        } else if !SECRET_RE.is_match(secret) {
            self.add(
                field,
                "secret must be 'whsec_' followed by 32 to 100 base64 characters (HMAC-SHA256), or an Ed25519 key 'whsk_…'",
            );
        }
    }
}

/// Checks that `url` is an absolute http(s) URL with a host. `https_only` is production mode.
pub fn check_endpoint_url(url: &str, https_only: bool) -> Result<(), String> {
    if url.is_empty() {
        return Err("url must not be empty".into());
    }
    if url.len() > MAX_URL_LEN {
        return Err(format!("url must be at most {MAX_URL_LEN} characters"));
    }
    let parsed = url::Url::parse(url).map_err(|e| format!("'{url}' is not a valid URL ({e})"))?;
    match parsed.scheme() {
        "https" => {}
        "http" if !https_only => {}
        "http" => return Err("url must use https (plain http is refused in production mode)".into()),
        other => return Err(format!("url must use http or https, not '{other}'")),
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("url must include a host name".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("url must not contain credentials; use custom headers instead".into());
    }
    Ok(())
}

pub fn application_in(app: &ApplicationIn) -> Result<(), DomainError> {
    let mut p = Problems::default();
    if app.name.trim().is_empty() {
        p.add("name", "name must not be empty");
    } else if app.name.len() > MAX_NAME_LEN {
        p.add("name", format!("name must be at most {MAX_NAME_LEN} characters"));
    }
    if let Some(uid) = &app.uid {
        p.uid("uid", uid, ids::APP);
    }
    p.throttle("throttleRate", app.throttle_rate);
    p.throttle("rateLimit", app.rate_limit);
    p.metadata("metadata", app.metadata.as_ref());
    p.finish()
}

pub fn endpoint_in(ep: &EndpointIn, https_only: bool) -> Result<(), DomainError> {
    let mut p = Problems::default();
    p.endpoint_url(&ep.url, https_only);
    if let Some(uid) = &ep.uid {
        p.uid("uid", uid, ids::ENDPOINT);
    }
    p.metadata("metadata", ep.metadata.as_ref());
    if let Some(types) = &ep.event_types {
        p.not_empty("filterTypes", types, "every event type");
        p.identifiers("filterTypes", types, 1_000, MAX_NAME_LEN);
    }
    if let Some(ch) = &ep.channels {
        p.not_empty("channels", ch, "every channel");
        p.identifiers("channels", ch, MAX_CHANNELS_ENDPOINT, 128);
    }
    p.throttle("throttleRate", ep.throttle_rate);
    p.throttle("rateLimit", ep.rate_limit);
    if let Some(s) = &ep.secret {
        p.secret("secret", s);
    }
    if let Some(d) = &ep.description {
        if d.len() > 1024 {
            p.add("description", "description must be at most 1024 characters");
        }
    }
    if let Some(h) = &ep.headers {
        headers(&mut p, h);
    }
    if let Some(f) = &ep.filter {
        filter(&mut p, f);
    }
    p.finish()
}

/// A payload filter: compiled on the server (the error says where it is wrong); its length
/// everywhere.
pub fn filter(p: &mut Problems, f: &str) {
    #[cfg(feature = "server")]
    if let Err(e) = crate::filter::Filter::compile(f) {
        p.add("filter", e.sentence());
    }
    #[cfg(not(feature = "server"))]
    if f.len() > 2_000 {
        p.add("filter", "a filter may be at most 2000 characters");
    }
}

/// Custom delivery headers: string values, sane names, none that would clash with signing.
pub fn headers(p: &mut Problems, h: &serde_json::Map<String, serde_json::Value>) {
    if h.len() > MAX_HEADERS {
        p.add(
            "headers",
            format!("at most {MAX_HEADERS} custom headers are allowed"),
        );
    }
    for (name, value) in h {
        let lower = name.to_ascii_lowercase();
        let valid_name = !name.is_empty()
            && name.len() <= 256
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid_name {
            p.add("headers", format!("'{name}' is not a valid header name"));
        } else if lower.starts_with("webhook-")
            || lower.starts_with("svix-")
            || matches!(
                lower.as_str(),
                "host" | "content-length" | "content-type" | "connection" | "transfer-encoding"
            )
        {
            p.add(
                "headers",
                format!("header '{name}' is reserved and cannot be set"),
            );
        }
        match value {
            serde_json::Value::String(s) if s.len() <= 4096 && !s.contains(['\r', '\n']) => {}
            serde_json::Value::Null => {}
            _ => p.add(
                "headers",
                format!("header '{name}' must have a single-line string value"),
            ),
        }
    }
}

/// Checks an event type, and folds the list form `featureFlags` into `featureFlag` (Hookline
/// keeps one flag per event type).
pub fn event_type_in(et: &mut EventTypeIn) -> Result<(), DomainError> {
    let mut p = Problems::default();
    p.identifier("name", &et.name, MAX_NAME_LEN);
    if let Some(flags) = et.feature_flags.take() {
        match (flags.as_slice(), &et.feature_flag) {
            ([], _) => {}
            ([one], None) => et.feature_flag = Some(one.clone()),
            ([one], Some(f)) if one == f => {}
            ([_], Some(_)) => p.add(
                "featureFlags",
                "featureFlags and featureFlag name different flags; send one of them",
            ),
            _ => p.add(
                "featureFlags",
                "Hookline supports one feature flag per event type",
            ),
        }
    }
    if let Some(f) = &et.feature_flag {
        p.identifier("featureFlag", f, MAX_NAME_LEN);
    }
    if let Some(g) = &et.group_name {
        p.identifier("groupName", g, MAX_NAME_LEN);
    }
    if et.description.len() > MAX_DESCRIPTION_LEN {
        p.add(
            "description",
            format!("description must be at most {MAX_DESCRIPTION_LEN} bytes"),
        );
    }
    match &et.schemas {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::Object(versions)) => {
            for (version, schema) in versions {
                if !schema.is_object() {
                    p.add_at(
                        &["schemas", version],
                        "each version's schema must be a JSON Schema object, such as {\"type\": \"object\"}",
                    );
                }
            }
        }
        Some(_) => p.add(
            "schemas",
            "schemas must be an object keyed by version, such as {\"1\": {\"type\": \"object\"}}",
        ),
    }
    p.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_urls_must_be_absolute_http_urls() {
        assert!(check_endpoint_url("https://example.com/hook", true).is_ok());
        assert!(check_endpoint_url("http://127.0.0.1:8080/x", false).is_ok());
        assert!(check_endpoint_url("http://example.com", true)
            .unwrap_err()
            .contains("https"));
        assert!(check_endpoint_url("ftp://example.com", false)
            .unwrap_err()
            .contains("http or https"));
        assert!(check_endpoint_url("not a url", false)
            .unwrap_err()
            .contains("not a valid URL"));
        assert!(check_endpoint_url("https://user:pw@example.com", false).is_err());
    }

    #[test]
    fn identifiers_reject_spaces_and_duplicates() {
        let mut p = Problems::default();
        p.identifiers(
            "filterTypes",
            &["a.b".into(), "a.b".into(), "bad name".into()],
            10,
            256,
        );
        let Err(DomainError::Validation(items)) = p.finish() else {
            panic!("expected errors")
        };
        assert_eq!(items.len(), 2);
    }

    #[test]
    fn reserved_headers_are_refused() {
        let mut p = Problems::default();
        let h = serde_json::json!({"webhook-id": "x", "X-Ok": "1"});
        headers(&mut p, h.as_object().unwrap());
        let Err(DomainError::Validation(items)) = p.finish() else {
            panic!("expected errors")
        };
        assert_eq!(items.len(), 1);
        assert!(items[0].msg.contains("reserved"));
    }
}
