//! Sending one signed webhook: the HTTP client (keep-alive pool, no redirects, no proxies,
//! timeout, SSRF-guarded resolver) and the classification of what happened.
use crate::signing;
use crate::ssrf::{check_literal_host, GuardedResolver, ResolveError, SsrfGuard};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const E_TIMEOUT: &str = "E_TIMEOUT";
pub const E_CONNECTION: &str = "E_CONNECTION";
pub const E_DNS: &str = "E_DNS";
pub const E_SSRF: &str = "E_SSRF";
pub const E_HTTP: &str = "E_HTTP";
pub const E_URL: &str = "E_URL";
/// Not sent: the message's payload was expunged.
pub const E_EXPUNGED: &str = "E_EXPUNGED";
/// Not sent: none of the endpoint's secrets could be decrypted, so it could not be signed.
pub const E_SIGNING: &str = "E_SIGNING";

/// The HTTP client deliveries go through.
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    guard: Arc<SsrfGuard>,
    max_response_bytes: usize,
}

/// What one attempt produced.
#[derive(Debug, Clone)]
pub struct SendResult {
    /// 0 when no response arrived.
    pub status_code: u16,
    pub body: String,
    pub duration: Duration,
    pub error_code: Option<&'static str>,
    /// Human-readable reason when no response arrived.
    pub error_detail: Option<String>,
    pub retry_after: Option<String>,
    pub request_headers: Value,
}

impl SendResult {
    pub fn ok(&self) -> bool {
        self.error_code.is_none()
    }
}

/// Everything needed to send one message to one endpoint.
pub struct Outgoing<'a> {
    pub url: &'a str,
    pub msg_id: &'a str,
    pub payload: &'a [u8],
    /// `None` is application/json; a raw payload may name another.
    pub content_type: Option<&'a str>,
    /// Every secret that still signs (HMAC or Ed25519), newest first.
    pub keys: &'a [crate::signing::SigningKey],
    pub custom_headers: &'a Map<String, Value>,
    pub now: DateTime<Utc>,
}

impl Sender {
    pub fn new(guard: SsrfGuard, timeout: Duration, max_response_bytes: usize, pool_per_host: usize) -> Self {
        let guard = Arc::new(guard);
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver { guard: guard.clone() }))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .pool_max_idle_per_host(pool_per_host)
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .user_agent(concat!("Hookline/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client configuration is valid");
        Self {
            client,
            guard,
            max_response_bytes,
        }
    }

    pub async fn send(&self, o: &Outgoing<'_>) -> SendResult {
        let started = Instant::now();
        let mut req = self
            .client
            .post(o.url)
            .header("content-type", o.content_type.unwrap_or("application/json"));
        let headers = delivery_headers(o);
        for (name, value) in &headers {
            req = req.header(name.as_str(), value.as_str());
        }
        let shown = shown_headers(&headers);
        let fail = |code: &'static str, detail: String| SendResult {
            status_code: 0,
            body: String::new(),
            duration: started.elapsed(),
            error_code: Some(code),
            error_detail: Some(detail),
            retry_after: None,
            request_headers: shown.clone(),
        };

        let url = match url::Url::parse(o.url) {
            Ok(u) => u,
            Err(e) => return fail(E_URL, format!("invalid endpoint URL: {e}")),
        };
        if let Err(blocked) = check_literal_host(&self.guard, &url) {
            return fail(E_SSRF, blocked.to_string());
        }
        let mut resp = match req.body(o.payload.to_vec()).send().await {
            Ok(r) => r,
            Err(e) => {
                let (code, detail) = classify(&e);
                return fail(code, detail);
            }
        };
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut body = Vec::new();
        let mut body_error = None;
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    let room = self.max_response_bytes.saturating_sub(body.len());
                    body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    if body.len() >= self.max_response_bytes {
                        break; // the rest is dropped along with the connection
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    body_error = Some(classify(&e));
                    break;
                }
            }
        }
        // PostgreSQL text cannot hold NUL: a body with one would fail every insert of its batch.
        let body = String::from_utf8_lossy(&body).replace('\0', "\u{FFFD}");
        // The status line decides: a 2xx means the endpoint took the message, even if the rest of
        // its answer was lost (retrying would only send a duplicate). The body error is logged.
        if let Some((code, detail)) = &body_error {
            tracing::debug!(code, %detail, status = status.as_u16(), "reading the answer's body failed");
        }
        let (error_code, error_detail) = if status.is_success() {
            (None, None)
        } else {
            (
                Some(E_HTTP),
                Some(format!("endpoint answered HTTP {}", status.as_u16())),
            )
        };
        SendResult {
            status_code: status.as_u16(),
            body,
            duration: started.elapsed(),
            error_code,
            error_detail,
            retry_after,
            request_headers: shown,
        }
    }
}

/// The headers a delivery carries besides its content type: the endpoint's own, then the
/// Standard Webhooks ones (and the same values as `svix-*`, for Svix's libraries).
pub fn delivery_headers(o: &Outgoing<'_>) -> Vec<(String, String)> {
    let ts = o.now.timestamp();
    let signature = signing::signature_header(o.keys, o.msg_id, ts, o.payload);
    let ts = ts.to_string();
    let mut headers: Vec<(String, String)> = o
        .custom_headers
        .iter()
        .filter_map(|(name, value)| Some((name.clone(), value.as_str()?.to_string())))
        .collect();
    for (name, value) in [
        ("webhook-id", o.msg_id),
        ("webhook-timestamp", ts.as_str()),
        ("webhook-signature", signature.as_str()),
        ("svix-id", o.msg_id),
        ("svix-timestamp", ts.as_str()),
        ("svix-signature", signature.as_str()),
    ] {
        headers.push((name.to_string(), value.to_string()));
    }
    headers
}

/// The headers as an attempt records them.
pub fn shown_headers(headers: &[(String, String)]) -> Value {
    Value::Object(
        headers
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect::<Map<String, Value>>(),
    )
}

/// Maps a reqwest error to a stable code, looking through the source chain for our resolver's
/// verdicts.
fn classify(e: &reqwest::Error) -> (&'static str, String) {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(r) = s.downcast_ref::<ResolveError>() {
            return match r {
                ResolveError::Blocked(b) => (E_SSRF, b.to_string()),
                other => (E_DNS, other.to_string()),
            };
        }
        source = s.source();
    }
    if e.is_timeout() {
        (E_TIMEOUT, "the endpoint did not answer within the timeout".into())
    } else {
        (E_CONNECTION, format!("connection failed: {}", root_cause(e)))
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
