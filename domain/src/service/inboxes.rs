//! Test inboxes: URLs served by this instance that record what arrives, so a user can watch
//! a delivery (and its retries, and the breaker) without a server of their own.
use super::{Services, Tenant};
use crate::error::{DomainError, DomainResult};
use crate::store::inboxes::{self as store, Arrival, InboxRow, RequestRow};
use crate::types::{EndpointIn, EndpointOut, InboxOut, InboxReplyIn, InboxRequestOut, SignatureCheck};
use crate::{crypto, ids, signing};
use serde_json::Value;

/// An organisation's inboxes at one time: enough to test with, not a storage service.
pub const MAX_INBOXES: i64 = 10;
/// How long an inbox lives.
pub const INBOX_LIFETIME_DAYS: i64 = 7;
/// The longest an inbox may wait before answering.
pub const MAX_REPLY_DELAY_MS: u32 = 30_000;
/// How much of a request's body an inbox keeps.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The path under this instance's URL where inboxes receive.
pub const INBOX_PATH: &str = "/inbox/";

/// The inbox token in `url` when it is one of this instance's inboxes (`public_url` is the
/// instance's base URL): the URL's own spelling, so an address that merely ends the same way
/// on another host is not one.
pub fn inbox_token<'a>(public_url: &str, url: &'a str) -> Option<&'a str> {
    let token = url
        .strip_prefix(public_url.trim_end_matches('/'))?
        .strip_prefix(INBOX_PATH)?;
    (!token.is_empty()
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then_some(token)
}

/// `body` cut to what an inbox keeps (on a character boundary), and whether it was cut.
pub fn kept_body(body: &str) -> (&str, bool) {
    if body.len() <= MAX_BODY_BYTES {
        return (body, false);
    }
    let mut end = MAX_BODY_BYTES;
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    (&body[..end], true)
}

impl Services {
    /// The URL of the inbox whose token is `token`.
    pub fn inbox_url(&self, token: &str) -> String {
        format!(
            "{}{INBOX_PATH}{token}",
            self.opts.public_url.trim_end_matches('/')
        )
    }

    /// Whether `url` is one of this instance's inboxes (delivered inside, never over the
    /// network).
    pub fn is_inbox_url(&self, url: &str) -> bool {
        inbox_token(&self.opts.public_url, url).is_some()
    }

    fn inbox_out(&self, r: InboxRow) -> InboxOut {
        InboxOut {
            url: self.inbox_url(&r.token),
            id: r.id,
            reply_status: u16::try_from(r.reply_status).unwrap_or(200),
            reply_delay_ms: u32::try_from(r.reply_delay_ms).unwrap_or(0),
            created_at: r.created_at,
            expires_at: r.expires_at,
        }
    }

    pub async fn create_inbox(&self, t: &Tenant) -> DomainResult<InboxOut> {
        if store::count_live(&self.pool, &t.org_id).await? >= MAX_INBOXES {
            return Err(DomainError::Conflict(format!(
                "You already have {MAX_INBOXES} test inboxes; delete one you no longer need (they also expire after {INBOX_LIFETIME_DAYS} days)."
            )));
        }
        let expires = chrono::Utc::now() + chrono::Duration::days(INBOX_LIFETIME_DAYS);
        let row = store::insert(
            &self.pool,
            &ids::new_id(ids::INBOX),
            &t.org_id,
            &crypto::random_token(18),
            expires,
        )
        .await?;
        Ok(self.inbox_out(row))
    }

    /// A new inbox and an endpoint of `app` that delivers to it.
    pub async fn create_inbox_endpoint(
        &self,
        t: &Tenant,
        app: &str,
    ) -> DomainResult<(InboxOut, EndpointOut)> {
        let app = self.app(t, app).await?;
        let inbox = self.create_inbox(t).await?;
        let input = EndpointIn {
            url: inbox.url.clone(),
            description: Some("Test inbox".into()),
            ..Default::default()
        };
        match self.create_endpoint(t, &app.id, input).await {
            Ok(ep) => Ok((inbox, ep)),
            Err(e) => {
                // no endpoint, no use for the inbox
                let _ = store::delete(&self.pool, &t.org_id, &inbox.id).await;
                Err(e)
            }
        }
    }

    pub async fn get_inbox(&self, t: &Tenant, id: &str) -> DomainResult<InboxOut> {
        let row = store::get(&self.pool, &t.org_id, id)
            .await?
            .ok_or(DomainError::NotFound("inbox"))?;
        Ok(self.inbox_out(row))
    }

    pub async fn list_inboxes(&self, t: &Tenant) -> DomainResult<Vec<InboxOut>> {
        let rows = store::list(&self.pool, &t.org_id).await?;
        Ok(rows.into_iter().map(|r| self.inbox_out(r)).collect())
    }

    pub async fn set_inbox_reply(&self, t: &Tenant, id: &str, reply: InboxReplyIn) -> DomainResult<InboxOut> {
        let mut problems = Vec::new();
        if !(200..=599).contains(&reply.reply_status) {
            problems.push(crate::error::ValidationErrorItem::body(
                "replyStatus",
                "the status an inbox answers with must be between 200 and 599",
            ));
        }
        if reply.reply_delay_ms > MAX_REPLY_DELAY_MS {
            problems.push(crate::error::ValidationErrorItem::body(
                "replyDelayMs",
                format!("an inbox waits at most {MAX_REPLY_DELAY_MS} ms before answering"),
            ));
        }
        if !problems.is_empty() {
            return Err(DomainError::Validation(problems));
        }
        let row = store::set_reply(
            &self.pool,
            &t.org_id,
            id,
            reply.reply_status as i16,
            reply.reply_delay_ms as i32,
        )
        .await?
        .ok_or(DomainError::NotFound("inbox"))?;
        Ok(self.inbox_out(row))
    }

    pub async fn delete_inbox(&self, t: &Tenant, id: &str) -> DomainResult<()> {
        if store::delete(&self.pool, &t.org_id, id).await? {
            Ok(())
        } else {
            Err(DomainError::NotFound("inbox"))
        }
    }

    /// The inbox's requests newer than `after` (0: all it keeps), newest first, each with its
    /// signature checked against the secrets of the organisation's endpoints that point here.
    pub async fn inbox_requests(
        &self,
        t: &Tenant,
        id: &str,
        after: i64,
    ) -> DomainResult<Vec<InboxRequestOut>> {
        let inbox = self.get_inbox(t, id).await?;
        let rows = store::requests(&self.pool, &inbox.id, after).await?;
        let endpoints: Vec<String> = store::endpoints_at(&self.pool, &t.org_id, &inbox.url)
            .await?
            .into_iter()
            .map(|e| e.id)
            .collect();
        let secrets: Vec<String> = crate::store::endpoints::signing_secrets(&self.pool, &endpoints)
            .await?
            .iter()
            .filter_map(|s| self.secrets.open(&s.ciphertext).ok())
            .collect();
        Ok(rows.into_iter().map(|r| request_out(r, &secrets)).collect())
    }

    /// The organisation's endpoints that deliver to `url`, with their application's id.
    pub async fn endpoints_delivering_to(
        &self,
        t: &Tenant,
        url: &str,
    ) -> DomainResult<Vec<(String, EndpointOut)>> {
        Ok(store::endpoints_at(&self.pool, &t.org_id, url)
            .await?
            .into_iter()
            .map(|e| (e.app_id.clone(), EndpointOut::from(e)))
            .collect())
    }

    /// Records a request that arrived over HTTP at the inbox with this token; what to answer
    /// with (status, delay in ms), or `None` when there is no such inbox.
    pub async fn receive_at_inbox(
        &self,
        token: &str,
        method: &str,
        headers: &Value,
        body: &str,
    ) -> DomainResult<Option<(u16, u32)>> {
        let (body, body_truncated) = kept_body(body);
        let arrival = Arrival {
            method,
            headers,
            body,
            body_truncated,
            endpoint_id: None,
        };
        Ok(store::receive(&self.pool, token, &arrival)
            .await?
            .map(|(s, d)| (u16::try_from(s).unwrap_or(200), u32::try_from(d).unwrap_or(0))))
    }
}

fn request_out(r: RequestRow, secrets: &[String]) -> InboxRequestOut {
    let headers: Vec<(String, String)> = match &r.headers.0 {
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect(),
        _ => Vec::new(),
    };
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let msg_id = header("webhook-id").map(str::to_string);
    let signature = match (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
    ) {
        (Some(id), Some(ts), Some(sig)) if !r.body_truncated => {
            let ts = ts.parse::<i64>().unwrap_or_default();
            if secrets
                .iter()
                .any(|s| signing::verify(s, id, ts, r.body.as_bytes(), sig))
            {
                SignatureCheck::Valid
            } else {
                SignatureCheck::Invalid
            }
        }
        (Some(_), Some(_), Some(_)) => SignatureCheck::Truncated,
        _ => SignatureCheck::Unsigned,
    };
    InboxRequestOut {
        id: r.id,
        received_at: r.received_at,
        method: r.method,
        headers,
        body: r.body,
        body_truncated: r.body_truncated,
        answered: u16::try_from(r.answered).unwrap_or(0),
        endpoint_id: r.endpoint_id,
        msg_id,
        signature,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_instances_inbox_urls_are_inboxes() {
        let base = "http://127.0.0.1:8080";
        assert_eq!(
            inbox_token(base, "http://127.0.0.1:8080/inbox/abc_D-9"),
            Some("abc_D-9")
        );
        assert_eq!(
            inbox_token("http://127.0.0.1:8080/", "http://127.0.0.1:8080/inbox/abc"),
            Some("abc")
        );
        // another host, port or scheme with the same path is an ordinary (guarded) URL
        assert_eq!(inbox_token(base, "http://10.0.0.1:8080/inbox/abc"), None);
        assert_eq!(inbox_token(base, "http://127.0.0.1:8081/inbox/abc"), None);
        assert_eq!(inbox_token(base, "https://127.0.0.1:8080/inbox/abc"), None);
        assert_eq!(
            inbox_token(base, "http://127.0.0.1:8080.evil.example/inbox/abc"),
            None
        );
        // nothing after the token: no query, no further path, no userinfo tricks
        assert_eq!(inbox_token(base, "http://127.0.0.1:8080/inbox/abc?x=1"), None);
        assert_eq!(inbox_token(base, "http://127.0.0.1:8080/inbox/abc/../x"), None);
        assert_eq!(inbox_token(base, "http://127.0.0.1:8080/inbox/"), None);
        assert_eq!(inbox_token(base, "http://127.0.0.1:8080/inboxes/abc"), None);
    }

    #[test]
    fn a_long_body_is_cut_on_a_character_boundary() {
        let body = "é".repeat(MAX_BODY_BYTES); // two bytes each
        let (kept, cut) = kept_body(&body);
        assert!(cut);
        assert_eq!(kept.len(), MAX_BODY_BYTES);
        let odd = format!("x{}", "é".repeat(MAX_BODY_BYTES / 2));
        let (kept, cut) = kept_body(&odd);
        assert!(cut && kept.len() == MAX_BODY_BYTES - 1);
        assert_eq!(kept_body("{}"), ("{}", false));
    }
}
