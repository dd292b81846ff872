//! PostgreSQL goes away under a running `hookline serve` (with its workers) and a `hookline
//! worker`, and comes back: neither process exits or spins; health and ingest answer 503 (ingest with
//! `Retry-After`), never 500; what was accepted before is delivered after, by itself.
use crate::helpers::eventually;
use crate::procs::{api_key, free_port, OwnCluster, Proc};
use crate::receiver::{Receiver, Reply};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

struct Api {
    base: String,
    key: String,
    http: reqwest::Client,
}

impl Api {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .timeout(Duration::from_secs(20));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("the server answers");
        let (status, headers) = (r.status(), r.headers().clone());
        (status, headers, r.json().await.unwrap_or(Value::Null))
    }
    async fn post(&self, path: &str, body: Value) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }
    /// Sends message number `n` to the application.
    async fn send(&self, app: &str, n: u32) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let body = json!({"eventType": "a.b", "payload": {"n": n}});
        self.post(&format!("/api/v1/app/{app}/msg"), body).await
    }
    async fn health(&self) -> StatusCode {
        let r = self
            .http
            .get(format!("{}/api/v1/health", self.base))
            .timeout(Duration::from_secs(20));
        r.send().await.expect("health answers").status()
    }
}

#[tokio::test]
async fn serve_rides_out_a_database_restart_and_delivers_what_it_accepted() {
    let mut pg = OwnCluster::start("outage").await;
    let secret = domain::crypto::SecretBox::generate_key_base64();
    let port = free_port();
    let mut serve = Proc::spawn(
        "serve",
        &pg.url,
        &pg.dir,
        &secret,
        &[
            ("HOOKLINE_LISTEN", format!("127.0.0.1:{port}")),
            // the retry falls due (3.2-4.8 s later) only once the database is away
            ("HOOKLINE_RETRY_SCHEDULE", "4s,4s".into()),
            ("RUST_LOG", "info,domain=debug".into()),
        ],
    );
    let api = Api {
        base: format!("http://127.0.0.1:{port}"),
        key: String::new(),
        http: reqwest::Client::new(),
    };
    eventually(60, "serve is up", || async {
        let r = api.http.get(format!("{}/api/v1/health", api.base)).send().await;
        r.ok()
            .filter(|r| r.status() == StatusCode::NO_CONTENT)
            .map(|_| ())
    })
    .await;
    let api = Api {
        key: api_key(&pg.url, &pg.dir, &secret),
        ..api
    };
    // and a worker process of its own beside serve's workers
    let mut worker = Proc::spawn("worker", &pg.url, &pg.dir, &secret, &[]);
    let r = Receiver::start().await;
    // the first attempt fails, so that its retry falls due while the database is away
    r.script([Reply::status(500)]);
    let (s, _, a) = api.post("/api/v1/app", json!({"name": "outage"})).await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    let app = a["id"].as_str().unwrap().to_string();
    let (s, _, _) = api
        .post(&format!("/api/v1/app/{app}/endpoint"), json!({"url": r.url("/")}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _, before) = api.send(&app, 1).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    eventually(10, "the first, failed attempt", || async {
        (r.count() == 1).then_some(())
    })
    .await;

    let (s, _, access) = api
        .post(&format!("/api/v1/auth/app-portal-access/{app}"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let scoped = Api {
        base: api.base.clone(),
        key: access["token"].as_str().unwrap().to_string(),
        http: api.http.clone(),
    };

    pg.stop().await;
    assert_eq!(api.health().await, StatusCode::SERVICE_UNAVAILABLE);
    let (s, _, body) = scoped
        .call(reqwest::Method::GET, &format!("/api/v1/app/{app}/endpoint"), None)
        .await;
    assert_eq!(
        s,
        StatusCode::SERVICE_UNAVAILABLE,
        "an app token is not 'invalid' then: {body}"
    );
    // the consumer portal link says so in words, and is not called expired
    let page = api
        .http
        .get(access["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    let text = page.text().await.unwrap();
    assert!(text.contains("database is not reachable"), "{text}");
    let (s, headers, body) = api.send(&app, 2).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["code"], "database_unavailable");
    assert_eq!(headers.get("retry-after").map(|v| v.to_str().unwrap()), Some("5"));
    let (s, _, _) = api
        .call(reqwest::Method::GET, &format!("/api/v1/app/{app}"), None)
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "reads too");
    // Neither exits nor spins: over a few seconds away it uses a small part of one core (a
    // loop retrying without pause would use all of it).
    let per_sec = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    let ticks = [serve.cpu_ticks(), worker.cpu_ticks()];
    tokio::time::sleep(Duration::from_secs(5)).await;
    for (p, before) in [&mut serve, &mut worker].into_iter().zip(ticks) {
        assert!(
            p.alive(),
            "a process exited while the database was away:\n{}",
            p.log_tail(20)
        );
        let used = p.cpu_ticks() - before;
        assert!(
            used < 5 * per_sec / 4,
            "{used} ticks of CPU in 5 s while waiting for the database"
        );
    }
    assert_eq!(r.count(), 1, "nothing could be sent meanwhile");

    // a worker started while the database is away waits for it instead of exiting
    let mut late = Proc::spawn("worker", &pg.url, &pg.dir, &secret, &[]);
    // longer than a connection attempt's 5 s acquire timeout, after which it used to exit
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert!(
        late.alive(),
        "a worker started during the outage exited:\n{}",
        late.log_tail(10)
    );

    pg.restart().await;
    eventually(30, "health recovers", || async {
        (api.health().await == StatusCode::NO_CONTENT).then_some(())
    })
    .await;
    let (s, _, after) = api.send(&app, 3).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let delivered = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let got = r.received();
            let ok = |id: &Value| got.iter().filter(|g| g.msg_id() == id.as_str().unwrap()).count();
            if ok(&before["id"]) == 2 && ok(&after["id"]) == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(
        delivered.is_ok(),
        "the retry and the new message were not delivered; serve's log:\n{}",
        serve.log_tail(80)
    );
    assert_eq!(
        r.count(),
        3,
        "the refused message was not stored, nothing else was sent"
    );
    assert!(serve.alive() && worker.alive() && late.alive());
    assert!(late.terminate().await.success());
    assert!(
        serve.terminate().await.success(),
        "a clean shutdown after the outage"
    );
    assert!(worker.terminate().await.success());
}
