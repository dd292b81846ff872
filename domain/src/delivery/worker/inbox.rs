//! Deliveries to this instance's own test inboxes: recorded in the database instead of sent,
//! so that they never connect anywhere (the SSRF guard may refuse the instance's own address,
//! and a delivery to it must not need an exception). They are signed, timed and answered just
//! like a real receiver's, with the status and delay the inbox was told to give.
use super::dispatch::not_sent;
use super::*;
use crate::delivery::sender::{delivery_headers, shown_headers, E_HTTP, E_TIMEOUT};
use crate::service::inboxes::kept_body;
use crate::store::inboxes::{self, Arrival};

impl Engine {
    /// The inbox token of `url` when it is one of this instance's test inboxes.
    pub(super) fn inbox_token<'a>(&self, url: &'a str) -> Option<&'a str> {
        crate::service::inboxes::inbox_token(&self.inner.cfg.public_url, url)
    }

    pub(super) async fn deliver_to_inbox(
        &self,
        token: &str,
        endpoint_id: &str,
        o: &Outgoing<'_>,
    ) -> SendResult {
        let started = Instant::now();
        let mut headers = vec![(
            "content-type".to_string(),
            o.content_type.unwrap_or("application/json").to_string(),
        )];
        headers.extend(delivery_headers(o));
        let shown = shown_headers(&headers);
        let body = String::from_utf8_lossy(o.payload);
        let (body, body_truncated) = kept_body(&body);
        let arrival = Arrival {
            method: "POST",
            headers: &shown,
            body,
            body_truncated,
            endpoint_id: Some(endpoint_id),
        };
        let reply = inboxes::receive(&self.inner.pool, token, &arrival).await;
        let result = |status: u16, body: &str| SendResult {
            status_code: status,
            body: body.to_string(),
            duration: started.elapsed(),
            error_code: (!(200..300).contains(&status)).then_some(E_HTTP),
            error_detail: (!(200..300).contains(&status)).then(|| format!("endpoint answered HTTP {status}")),
            retry_after: None,
            request_headers: shown.clone(),
        };
        match reply {
            Ok(Some((status, delay_ms))) => {
                let delay = Duration::from_millis(u64::try_from(delay_ms).unwrap_or(0));
                let timeout = self.inner.cfg.request_timeout;
                if delay >= timeout {
                    tokio::time::sleep(timeout).await;
                    let mut r = result(0, "");
                    r.error_code = Some(E_TIMEOUT);
                    r.error_detail = Some("the endpoint did not answer within the timeout".into());
                    return r;
                }
                tokio::time::sleep(delay).await;
                let status = u16::try_from(status).unwrap_or(200);
                result(status, "recorded by the test inbox")
            }
            Ok(None) => result(410, "no such test inbox: it was deleted or has expired"),
            Err(e) => {
                warn!(error = %e, "recording a delivery in a test inbox failed");
                let mut r = not_sent(
                    E_HTTP,
                    "the test inbox could not record it (database error); it is retried",
                );
                r.request_headers = shown;
                r
            }
        }
    }
}
