//! The SSRF guard, end to end: loopback receivers are refused when not allow-listed, and the
//! receiver proves nothing reached it. Other ranges are tested as guard decisions (unit tests
//! in domain::ssrf) without connecting anywhere.
use crate::helpers::*;
use crate::receiver::Receiver;
use serde_json::json;

#[tokio::test]
async fn loopback_targets_in_every_spelling_are_refused_unless_allowed() {
    let app = spawn_app_with(|s| s.delivery.guard = domain::ssrf::SsrfGuard::default()).await;
    let id = app.setup_app(&["a.b"]).await;
    let r = Receiver::start().await;
    let p = r.port;
    let urls = [
        format!("http://127.0.0.1:{p}/"),
        format!("http://localhost:{p}/"),
        format!("http://[::1]:{p}/"),
        format!("http://127.1:{p}/"),
        format!("http://2130706433:{p}/"),
        format!("http://[::ffff:127.0.0.1]:{p}/"),
    ];
    let mut eps = vec![];
    for u in &urls {
        eps.push(
            app.create_endpoint(&id, json!({"url": u})).await["id"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
    }
    let msg = app.send(&id, json!({"eventType": "a.b", "payload": {}})).await;
    let m = msg["id"].as_str().unwrap();
    let attempts = eventually(10, "one refused attempt per endpoint", || async {
        let a = app.attempts(&id, m).await;
        (a.len() >= urls.len()).then_some(a)
    })
    .await;
    for a in &attempts {
        assert_eq!(a["errorCode"], "E_SSRF", "{a}");
        assert!(a["response"].as_str().unwrap().contains("refused"), "{a}");
    }
    assert_eq!(r.count(), 0, "nothing may reach a refused address");
}
