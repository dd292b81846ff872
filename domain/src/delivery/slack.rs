//! Slack-compatible destinations of operational webhooks: the event, which Hookline signs
//! and sends as JSON to ordinary endpoints, becomes a readable `{"text": ...}` message for an
//! incoming-webhook URL (Slack, Mattermost, Rocket.Chat and others read the same shape).
//! Pure: the worker calls [`message`] on the payload before signing and sending it.
use serde_json::{json, Value};

/// The event type of the portal's "send a test" to a notification destination.
pub const TEST_EVENT: &str = "hookline.test";

/// The Slack message for an operational event's payload (`{"type", "data"}`); links point into
/// the portal at `public_url`. A payload it cannot read is shown as it is, shortened.
pub fn message(payload: &str, public_url: &str) -> String {
    let text = match serde_json::from_str::<Value>(payload) {
        Ok(v) => describe(&v, public_url.trim_end_matches('/')),
        Err(_) => None,
    }
    .unwrap_or_else(|| format!("Hookline event: {}", shorten(payload, 500)));
    json!({ "text": text }).to_string()
}

fn describe(v: &Value, base: &str) -> Option<String> {
    let kind = v["type"].as_str()?;
    let d = &v["data"];
    let s = |k: &str| d[k].as_str().unwrap_or("?").to_string();
    let named = |id: String, uid: &Value| match uid.as_str() {
        Some(u) => format!("{u} ({id})"),
        None => id,
    };
    let app = named(s("appId"), &d["appUid"]);
    let endpoint_link = format!("{base}/apps/{}/endpoint/{}", s("appId"), s("endpointId"));
    let endpoint = format!("<{endpoint_link}|{}>", named(s("endpointId"), &d["endpointUid"]));
    let attempt = || {
        let code = d["lastAttempt"]["responseStatusCode"].as_i64().unwrap_or(0);
        let answer = if code == 0 {
            "no answer".to_string()
        } else {
            format!("HTTP {code}")
        };
        let msg_link = format!("{base}/apps/{}/msg/{}", s("appId"), s("msgId"));
        let msg = match d["msgEventId"].as_str() {
            Some(e) => format!("<{msg_link}|{e}>"),
            None => format!("<{msg_link}|{}>", s("msgId")),
        };
        (msg, answer)
    };
    Some(match kind {
        "endpoint.disabled" => {
            let how = match d["trigger"].as_str() {
                Some("manual") => "by hand".to_string(),
                _ => match d["failSince"].as_str() {
                    Some(since) => format!("automatically: failing since {since}"),
                    None => "automatically".to_string(),
                },
            };
            format!(":red_circle: Endpoint {endpoint} of {app} was disabled ({how}). Deliveries to it wait until it is enabled again.")
        }
        "endpoint.enabled" => format!(":large_green_circle: Endpoint {endpoint} of {app} was enabled."),
        "endpoint.created" => format!("Endpoint {endpoint} was added to {app}."),
        "endpoint.updated" => format!("Endpoint {endpoint} of {app} was changed."),
        "endpoint.deleted" => format!(
            "Endpoint {} of {app} was deleted.",
            named(s("endpointId"), &d["endpointUid"])
        ),
        "message.attempt.failing" => {
            let (msg, answer) = attempt();
            format!(":warning: Message {msg} keeps failing at endpoint {endpoint} of {app}: last {answer}. Hookline keeps retrying.")
        }
        "message.attempt.exhausted" => {
            let (msg, answer) = attempt();
            format!(":x: Message {msg} could not be delivered to endpoint {endpoint} of {app}: last {answer}, no retries left. Recover it from the endpoint's page once it is fixed.")
        }
        "message.attempt.recovered" => {
            let (msg, _) = attempt();
            format!(":white_check_mark: Message {msg} reached endpoint {endpoint} of {app} after failing.")
        }
        "background_task.finished" => format!(
            "Background task {} ({}) {}: {}",
            s("taskId"),
            s("task"),
            s("status"),
            shorten(&d["data"].to_string(), 300)
        ),
        TEST_EVENT => ":wave: A test from Hookline: its notifications reach this channel.".to_string(),
        other => format!("Hookline event {other}: {}", shorten(&d.to_string(), 500)),
    })
}

fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(payload: Value) -> String {
        let m: Value = serde_json::from_str(&message(&payload.to_string(), "http://h:8080/")).unwrap();
        m["text"].as_str().unwrap().to_string()
    }

    #[test]
    fn an_exhausted_delivery_reads_as_a_sentence_with_links() {
        let t = text(json!({"type": "message.attempt.exhausted", "data": {
            "appId": "app_1", "appUid": "acme", "msgId": "msg_1", "msgEventId": null, "endpointId": "ep_1",
            "lastAttempt": {"id": "atmpt_1", "responseStatusCode": 503, "timestamp": "2026-12-07T10:00:00Z"}}}));
        assert_eq!(
            t,
            ":x: Message <http://h:8080/apps/app_1/msg/msg_1|msg_1> could not be delivered to endpoint \
             <http://h:8080/apps/app_1/endpoint/ep_1|ep_1> of acme (app_1): last HTTP 503, no retries left. \
             Recover it from the endpoint's page once it is fixed."
        );
    }

    #[test]
    fn a_disabled_endpoint_says_how_and_since_when() {
        let t = text(json!({"type": "endpoint.disabled", "data": {
            "appId": "app_1", "appUid": null, "endpointId": "ep_1", "endpointUid": "billing",
            "failSince": "2026-12-01T00:00:00Z", "trigger": "automatic"}}));
        assert!(t.contains("billing (ep_1)"), "{t}");
        assert!(
            t.contains("automatically: failing since 2026-12-01T00:00:00Z"),
            "{t}"
        );
        let t = text(
            json!({"type": "message.attempt.failing", "data": {"appId": "a", "msgId": "m",
            "endpointId": "e", "lastAttempt": {"responseStatusCode": 0}}}),
        );
        assert!(t.contains("last no answer"), "{t}");
    }

    #[test]
    fn anything_else_is_shown_as_it_is_and_stays_valid_json() {
        assert_eq!(
            text(json!({"type": "hookline.test", "data": {}})),
            ":wave: A test from Hookline: its notifications reach this channel."
        );
        let m: Value = serde_json::from_str(&message("not json \"quoted\"", "")).unwrap();
        assert_eq!(m["text"], "Hookline event: not json \"quoted\"");
        let long = "é".repeat(600);
        let m: Value = serde_json::from_str(&message(&long, "")).unwrap();
        assert!(m["text"].as_str().unwrap().ends_with('…'));
    }
}
