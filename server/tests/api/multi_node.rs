//! Several `hookline` processes against one PostgreSQL, as a team runs it on two or more
//! machines: `serve` processes (with their workers) and `worker` processes together deliver
//! each message once; an endpoint's concurrency cap, its throttle and the breaker's single
//! probe hold across them;
//! a worker stopped with SIGTERM finishes and records its in-flight sends.
use crate::helpers::{eventually, fresh_database};
use crate::procs::{api_key, free_port, Proc};
use crate::receiver::{Receiver, Reply};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

/// One database, the processes on it, and an API key.
struct Nodes {
    db_url: String,
    dir: PathBuf,
    secret: String,
    key: String,
    /// base URLs of the `serve` processes
    bases: Vec<String>,
    procs: Vec<Proc>,
    http: reqwest::Client,
    env: Vec<(&'static str, String)>,
}

impl Nodes {
    /// `serves` serve processes (running workers unless `env` says otherwise) and `workers`
    /// worker processes, all with `env`.
    async fn start(name: &str, serves: usize, workers: usize, env: &[(&'static str, &str)]) -> Self {
        let (pool, db_url) = fresh_database().await;
        pool.close().await;
        let dir = std::env::temp_dir().join(format!("hookline-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let secret = domain::crypto::SecretBox::generate_key_base64();
        let key = api_key(&db_url, &dir, &secret);
        let mut n = Nodes {
            db_url,
            dir,
            secret,
            key,
            bases: vec![],
            procs: vec![],
            http: reqwest::Client::new(),
            // up to nine processes share the test cluster (max_connections 200)
            env: std::iter::once(("HOOKLINE_DB_MAX_CONNECTIONS", "6".to_string()))
                .chain(env.iter().map(|(k, v)| (*k, v.to_string())))
                .collect(),
        };
        for _ in 0..serves {
            let port = free_port();
            let mut env = n.env.clone();
            env.push(("HOOKLINE_LISTEN", format!("127.0.0.1:{port}")));
            n.procs
                .push(Proc::spawn("serve", &n.db_url, &n.dir, &n.secret, &env));
            n.bases.push(format!("http://127.0.0.1:{port}"));
        }
        for _ in 0..workers {
            n.add_worker();
        }
        for base in n.bases.clone() {
            eventually(60, "serve is up", || async {
                let r = n.http.get(format!("{base}/api/v1/health")).send().await;
                r.ok()
                    .filter(|r| r.status() == StatusCode::NO_CONTENT)
                    .map(|_| ())
            })
            .await;
        }
        n
    }

    fn add_worker(&mut self) -> usize {
        self.procs.push(Proc::spawn(
            "worker",
            &self.db_url,
            &self.dir,
            &self.secret,
            &self.env,
        ));
        self.procs.len() - 1
    }

    /// POST to the `i`-th serve process (round robin).
    async fn post(&self, i: usize, path: &str, body: Value) -> (StatusCode, Value) {
        let base = &self.bases[i % self.bases.len()];
        let r = self
            .http
            .post(format!("{base}{path}"))
            .bearer_auth(&self.key)
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{path}", self.bases[0]))
            .bearer_auth(&self.key)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.json().await.unwrap()
    }

    async fn app(&self) -> String {
        let (s, a) = self.post(0, "/api/v1/app", json!({"name": "nodes"})).await;
        assert_eq!(s, StatusCode::CREATED, "{a}");
        a["id"].as_str().unwrap().to_string()
    }

    async fn endpoint(&self, app: &str, body: Value) -> String {
        let (s, e) = self.post(0, &format!("/api/v1/app/{app}/endpoint"), body).await;
        assert_eq!(s, StatusCode::CREATED, "{e}");
        e["id"].as_str().unwrap().to_string()
    }

    /// Sends `n` messages, spread over the serve processes, a few at a time.
    async fn send(&self, app: &str, n: usize) -> Vec<String> {
        let mut ids = vec![];
        let path = format!("/api/v1/app/{app}/msg");
        for chunk in (0..n).collect::<Vec<_>>().chunks(8) {
            let sends = chunk
                .iter()
                .map(|&i| self.post(i, &path, json!({"eventType": "a.b", "payload": {"i": i}})));
            for (s, m) in futures::future::join_all(sends).await {
                assert_eq!(s, StatusCode::ACCEPTED, "{m}");
                ids.push(m["id"].as_str().unwrap().to_string());
            }
        }
        ids
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        self.procs.clear(); // SIGKILLs what is left
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// How many times each message arrived.
fn arrivals(r: &Receiver) -> HashMap<String, usize> {
    let mut by_msg = HashMap::new();
    for g in r.received() {
        *by_msg.entry(g.msg_id().to_string()).or_insert(0) += 1;
    }
    by_msg
}

#[tokio::test]
async fn two_serves_and_two_workers_deliver_each_message_once() {
    let nodes = Nodes::start("nodes-once", 2, 2, &[]).await;
    let app = nodes.app().await;
    let rs = [
        Receiver::start().await,
        Receiver::start().await,
        Receiver::start().await,
    ];
    for r in &rs {
        nodes.endpoint(&app, json!({"url": r.url("/")})).await;
    }
    let ids = nodes.send(&app, 120).await;
    for r in &rs {
        eventually(60, "every message at every endpoint", || async {
            (r.count() >= ids.len()).then_some(())
        })
        .await;
    }
    // late duplicates would arrive within the poll interval
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for r in &rs {
        let got = arrivals(r);
        assert_eq!(got.len(), ids.len(), "every message arrived");
        let twice: Vec<_> = got.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "sent more than once: {twice:?}");
    }
}

#[tokio::test]
async fn an_endpoint_throttle_and_the_breaker_probe_hold_across_processes() {
    let nodes = Nodes::start(
        "nodes-limits",
        1,
        2,
        &[
            ("HOOKLINE_BREAKER_THRESHOLD", "3"),
            ("HOOKLINE_BREAKER_COOLDOWN", "2s"),
            (
                "HOOKLINE_RETRY_SCHEDULE",
                "100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms",
            ),
        ],
    )
    .await;
    let app = nodes.app().await;
    // 4 per second at most, whichever of the three processes sends
    let slow = Receiver::start().await;
    nodes
        .endpoint(&app, json!({"url": slow.url("/"), "throttleRate": 4}))
        .await;
    nodes.send(&app, 8).await;
    eventually(20, "eight throttled deliveries", || async {
        (slow.count() == 8).then_some(())
    })
    .await;
    let mut at: Vec<_> = slow.received().into_iter().map(|r| r.at).collect();
    at.sort();
    let span = at[7] - at[0];
    assert!(
        span >= Duration::from_millis(1700),
        "eight deliveries in {span:?}"
    );

    // A failing endpoint with a backlog: once its circuit opens, the three processes together
    // send it one probe when the pause ends, not one each.
    let app2 = nodes.app().await;
    let down = Receiver::start().await;
    down.set_default(Reply::status(500));
    let ep = nodes.endpoint(&app2, json!({"url": down.url("/")})).await;
    nodes.send(&app2, 30).await;
    let db = sqlx::PgPool::connect(&nodes.db_url).await.unwrap();
    eventually(20, "the circuit opens", || async {
        let open: bool = sqlx::query_scalar("SELECT circuit_open_until > now() FROM endpoints WHERE id = $1")
            .bind(&ep)
            .fetch_one(&db)
            .await
            .unwrap_or(false);
        open.then_some(())
    })
    .await;
    // what was in flight when it opened has landed by now
    tokio::time::sleep(Duration::from_millis(500)).await;
    let opened = down.count();
    // the pause is 2 s; a failed probe doubles it, so the next one is 4 s later
    tokio::time::sleep(Duration::from_millis(3000)).await;
    assert_eq!(down.count(), opened + 1, "exactly one probe across the processes");
}

/// The most requests `r` had open at once, given each was answered after `delay`: a send
/// ends only after its answer, so the requests that arrived within any `delay` of one another
/// were open together.
fn most_at_once(r: &Receiver, delay: Duration) -> usize {
    let mut at: Vec<_> = r.received().into_iter().map(|g| g.at).collect();
    at.sort();
    (0..at.len())
        .map(|i| at[i..].iter().take_while(|t| **t < at[i] + delay).count())
        .max()
        .unwrap_or(0)
}

#[tokio::test]
async fn an_endpoints_concurrency_cap_holds_across_processes() {
    // each of the three processes may send 4 at once to an endpoint; together, still 4
    let nodes = Nodes::start("nodes-cap", 1, 2, &[("HOOKLINE_ENDPOINT_CONCURRENCY", "4")]).await;
    let app = nodes.app().await;
    let slow = Receiver::start().await;
    let delay = Duration::from_millis(300);
    slow.set_default(Reply {
        delay,
        ..Reply::status(200)
    });
    nodes.endpoint(&app, json!({"url": slow.url("/")})).await;
    let ids = nodes.send(&app, 48).await;
    eventually(60, "every message arrived", || async {
        (slow.count() >= ids.len()).then_some(())
    })
    .await;
    assert_eq!(
        most_at_once(&slow, delay),
        4,
        "the endpoint had its cap in flight, and never more"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got = arrivals(&slow);
    assert_eq!(got.len(), ids.len());
    assert!(got.values().all(|n| *n == 1), "nothing sent twice: {got:?}");
    // every reservation ended with its record
    let db = sqlx::PgPool::connect(&nodes.db_url).await.unwrap();
    let held: i32 = sqlx::query_scalar("SELECT cardinality(endpoint_sends_live(leases)) FROM endpoint_sends")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(held, 0);
}

#[tokio::test]
async fn a_worker_stopped_with_sigterm_finishes_and_records_its_sends() {
    // only worker processes deliver here
    let mut nodes = Nodes::start("nodes-drain", 1, 0, &[("HOOKLINE_WORKERS", "false")]).await;
    let app = nodes.app().await;
    let r = Receiver::start().await;
    r.set_default(Reply {
        delay: Duration::from_secs(2),
        ..Reply::status(200)
    });
    let ep = nodes.endpoint(&app, json!({"url": r.url("/")})).await;
    let ids = nodes.send(&app, 6).await;
    let first = nodes.add_worker();
    eventually(20, "every send in flight", || async {
        (r.count() == 6).then_some(())
    })
    .await;
    let mut worker = nodes.procs.remove(first);
    let status = worker.terminate().await;
    let log = worker.log_tail(30);
    assert!(status.success(), "a clean exit: {status:?}");
    // every in-flight send finished and was recorded before the process exited
    for m in &ids {
        let d = nodes.get(&format!("/api/v1/app/{app}/msg/{m}/endpoint")).await;
        assert_eq!(d["data"][0]["id"], ep.as_str());
        assert_eq!(d["data"][0]["status"], 0, "{m} recorded as delivered: {d}\n{log}");
    }
    // so a new worker finds nothing to send again
    nodes.add_worker();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(r.count(), 6, "nothing was sent twice");
}
