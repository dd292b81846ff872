//! The metrics and the monitoring kit in `monitoring/`: the series a scrape shows, the alert
//! rules checked and unit-tested by Debian's `promtool`, and a real Prometheus scraping a
//! running Hookline, which must find every series the dashboard and the rules use and
//! evaluate every one of their queries.
use crate::helpers::*;
use crate::procs::free_port;
use crate::receiver::{Receiver, Reply};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn kit() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../monitoring")
}

/// `promtool` or `prometheus`, from Debian's `prometheus` package (scripts/test installs it).
fn tool(name: &str) -> Command {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "{name} is not installed: apt-get install prometheus (scripts/test installs it)"
    );
    Command::new(name)
}

fn run_ok(mut c: Command, what: &str) {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_alert_rules_and_the_example_configuration_pass_promtool() {
    let dir = kit().join("prometheus");
    let mut check = tool("promtool");
    check
        .current_dir(&dir)
        .args(["check", "rules", "hookline-alerts.yml"]);
    run_ok(check, "promtool check rules");
    let mut test = tool("promtool");
    test.current_dir(&dir)
        .args(["test", "rules", "hookline-alerts.test.yml"]);
    run_ok(test, "promtool test rules");
    let mut config = tool("promtool");
    config
        .current_dir(&dir)
        .args(["check", "config", "prometheus.yml"]);
    run_ok(config, "promtool check config");
}

/// A Prometheus server of the test's own, killed when dropped.
struct Prometheus {
    child: Child,
    base: String,
    dir: PathBuf,
    client: reqwest::Client,
}

impl Prometheus {
    fn start(target: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("hookline-prometheus-{}", free_port()));
        std::fs::create_dir_all(&dir).unwrap();
        let rules = kit().join("prometheus/hookline-alerts.yml");
        std::fs::write(
            dir.join("prometheus.yml"),
            format!(
                "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\n\
                 rule_files: ['{}']\n\
                 scrape_configs:\n  - job_name: hookline\n    static_configs: [{{targets: ['{target}']}}]\n",
                rules.display()
            ),
        )
        .unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
        let child = tool("prometheus")
            .arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start prometheus");
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            dir,
            client: reqwest::Client::new(),
        }
    }

    /// The result vector of an instant query; panics when Prometheus refuses the query.
    async fn query(&self, q: &str) -> Option<Vec<Value>> {
        let resp = self
            .client
            .get(format!("{}/api/v1/query", self.base))
            .query(&[("query", q)])
            .send()
            .await
            .ok()?;
        let body: Value = resp.json().await.ok()?;
        assert_eq!(body["status"], "success", "Prometheus refused {q}: {body}");
        Some(body["data"]["result"].as_array().cloned().unwrap_or_default())
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Every query of the dashboard's panels, as Grafana would send them for "All" endpoints.
fn dashboard_queries() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(kit().join("grafana/hookline-dashboard.json")).unwrap();
    let dash: Value = serde_json::from_str(&text).unwrap();
    let mut out = Vec::new();
    for p in dash["panels"].as_array().unwrap() {
        if p["type"] == "row" {
            continue;
        }
        let targets = p["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "panel {} has no query", p["title"]);
        for t in targets {
            let expr = t["expr"]
                .as_str()
                .unwrap()
                .replace("$__rate_interval", "30s")
                .replace("$endpoint", ".*");
            out.push((p["title"].as_str().unwrap().to_string(), expr));
        }
    }
    out
}

fn series_names(expr: &str) -> Vec<String> {
    regex::Regex::new(r"hookline_[a-z_]+")
        .unwrap()
        .find_iter(expr)
        .map(|m| m.as_str().to_string())
        .collect()
}

/// Traffic that makes every kind of series: successes and a dead letter at endpoints with
/// series of their own, an API error, a deferral-free queue.
async fn traffic(app: &TestApp) -> (String, String) {
    let id = app.setup_app(&["a.b"]).await;
    let ok = Receiver::start().await;
    let down = Receiver::start().await;
    down.set_default(Reply::status(500));
    let good = app.create_endpoint(&id, json!({"url": ok.url("/")})).await;
    let bad = app.create_endpoint(&id, json!({"url": down.url("/")})).await;
    let (good, bad) = (
        good["id"].as_str().unwrap().to_string(),
        bad["id"].as_str().unwrap().to_string(),
    );
    let mut last = String::new();
    for i in 0..5 {
        last = app
            .send(&id, json!({"eventType": "a.b", "payload": {"i": i}}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_string();
    }
    // a person's mistake: answered 422, and counted by route and status
    let (s, _) = app
        .post(&format!("/api/v1/app/{id}/msg"), json!({"payload": {}}))
        .await;
    assert_eq!(s, 422);
    // every delivery, not only the last message's: the five to the failing endpoint
    // finish at different times, each after its own four attempts
    eventually(
        20,
        "every delivery to the failing endpoint exhausts its retries",
        || async {
            // attempts are counted before they are recorded: a settled table means settled counters
            let (pending, failed): (i64, i64) = sqlx::query_as(
                "SELECT count(*) FILTER (WHERE status = 1), count(*) FILTER (WHERE status = 2) FROM deliveries",
            )
            .fetch_one(&app.pool)
            .await
            .unwrap();
            ((pending, failed) == (0, 5) && app.delivery_status(&id, &last, &good).await == Some(0))
                .then_some(())
        },
    )
    .await;
    (good, bad)
}

#[tokio::test]
async fn a_scrape_names_routes_not_paths_and_counts_the_chosen_endpoints_and_the_dead_letter() {
    let app = spawn_app_with(|s| {
        s.delivery.endpoint_metrics = domain::delivery::EndpointMetrics::All { limit: 100 };
    })
    .await;
    let (good, bad) = traffic(&app).await;
    let text = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // a needle ending in a newline is a whole sample: its value is exactly that
    let has = |needle: &str| assert!(text.contains(needle), "{needle:?} is not in the scrape:\n{text}");
    has(r#"hookline_http_requests_total{method="POST",route="/api/v1/app/{app_id}/msg",status="422"} "#);
    has(
        r#"hookline_http_request_duration_seconds_bucket{method="POST",route="/api/v1/app/{app_id}/msg",le="0.005"}"#,
    );
    has(&(format!(r#"hookline_endpoint_attempts_total{{endpoint="{good}",result="success"}} 5"#) + "\n"));
    has(&(format!(r#"hookline_endpoint_attempts_total{{endpoint="{bad}",result="failure"}} 20"#) + "\n"));
    has(&(format!(r#"hookline_endpoint_attempt_duration_seconds_count{{endpoint="{good}"}} 5"#) + "\n"));
    has("# TYPE hookline_dead_letter_deliveries gauge");
    has("# HELP hookline_attempts_total Delivery attempts");
    // the route's template, never an id: label values stay few
    let app_ids = regex::Regex::new(r#"route="[^"]*app_[0-9A-Za-z]{20,}"#).unwrap();
    assert!(!app_ids.is_match(&text), "an id in a route label:\n{text}");
    // the dead letter of this test's database: the five deliveries to the failing endpoint
    let q = domain::store::deliveries::queue_gauges(&app.pool).await.unwrap();
    assert_eq!((q.dead_letter, q.due, q.paused), (5, 0, 0));
}

#[tokio::test]
async fn deliveries_held_by_an_open_breaker_are_not_the_workers_backlog() {
    // no workers: the deliveries stay due
    let app = spawn_app_with(|s| s.run_workers = false).await;
    let id = app.setup_app(&["a.b"]).await;
    let ep = app
        .create_endpoint(&id, json!({"url": "http://127.0.0.1:9/"}))
        .await;
    for i in 0..3 {
        app.send(&id, json!({"eventType": "a.b", "payload": {"i": i}}))
            .await;
    }
    let q = domain::store::deliveries::queue_gauges(&app.pool).await.unwrap();
    assert_eq!((q.due, q.paused), (3, 0));
    assert!(q.oldest_due_age >= 0.0);
    // the endpoint's breaker opens: its deliveries wait on the receiver, and an alert on the
    // backlog's age must not fire for them
    sqlx::query("UPDATE endpoints SET circuit_open_until = now() + interval '1 hour' WHERE id = $1")
        .bind(ep["id"].as_str().unwrap())
        .execute(&app.pool)
        .await
        .unwrap();
    let q = domain::store::deliveries::queue_gauges(&app.pool).await.unwrap();
    assert_eq!((q.due, q.paused, q.oldest_due_age), (0, 3, 0.0));
}

#[tokio::test]
async fn prometheus_finds_every_series_of_the_dashboard_and_the_rules_and_evaluates_their_queries() {
    let app = spawn_app_with(|s| {
        s.delivery.endpoint_metrics = domain::delivery::EndpointMetrics::All { limit: 100 };
    })
    .await;
    traffic(&app).await;
    let target = app.base.trim_start_matches("http://").to_string();
    let prom = Prometheus::start(&target);
    let up = eventually(30, "Prometheus scrapes Hookline", || async {
        let r = prom.query(r#"up{job="hookline"}"#).await?;
        (r.len() == 1 && r[0]["value"][1] == "1").then_some(r)
    })
    .await;
    assert_eq!(up[0]["metric"]["instance"], target.as_str());
    // rates need two scrapes after the traffic
    tokio::time::sleep(Duration::from_secs(3)).await;

    let dashboard = dashboard_queries();
    assert!(dashboard.len() >= 20, "{} queries", dashboard.len());
    let rules: Value = prom
        .client
        .get(format!("{}/api/v1/rules", prom.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rules: Vec<Value> = rules["data"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap().clone())
        .collect();
    assert_eq!(rules.len(), 7, "the alert rules are loaded: {}", prom.log());

    let mut names: Vec<String> = dashboard.iter().flat_map(|(_, q)| series_names(q)).collect();
    for r in &rules {
        names.extend(series_names(r["query"].as_str().unwrap()));
    }
    names.sort();
    names.dedup();
    let mut missing = Vec::new();
    for name in &names {
        if prom
            .query(&format!("count({{__name__=\"{name}\"}})"))
            .await
            .unwrap_or_default()
            .is_empty()
        {
            missing.push(name.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "series the kit uses but a live Hookline does not export: {missing:?}"
    );

    // every panel's query gives data (a rate over counters still at 0 is 0, not nothing)
    let mut empty = Vec::new();
    for (panel, q) in &dashboard {
        if prom.query(q).await.unwrap_or_default().is_empty() {
            empty.push(format!("{panel}: {q}"));
        }
    }
    assert!(empty.is_empty(), "dashboard queries without data: {empty:#?}");

    // every rule evaluates without error against the live series
    eventually(10, "every rule evaluated", || async {
        let body: Value = prom
            .client
            .get(format!("{}/api/v1/rules", prom.base))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        let all: Vec<Value> = body["data"]["groups"][0]["rules"].as_array()?.clone();
        for r in &all {
            assert_ne!(r["health"], "err", "rule {} fails: {}", r["name"], r["lastError"]);
        }
        all.iter().all(|r| r["health"] == "ok").then_some(())
    })
    .await;
    for r in &rules {
        prom.query(r["query"].as_str().unwrap())
            .await
            .expect("the rule's query answers");
    }
}

#[tokio::test]
async fn a_worker_process_serves_its_own_attempts_on_the_metrics_address() {
    use crate::procs::{api_key, Proc};
    let (pool, db_url) = crate::helpers::fresh_database().await;
    let dir = std::env::temp_dir().join(format!("hookline-worker-metrics-{}", free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let secret = domain::crypto::SecretBox::generate_key_base64();
    let key = api_key(&db_url, &dir, &secret);
    let (api, metrics) = (free_port(), free_port());
    let few = ("HOOKLINE_DB_MAX_CONNECTIONS", "4".to_string());
    let _serve = Proc::spawn(
        "serve",
        &db_url,
        &dir,
        &secret,
        &[
            few.clone(),
            ("HOOKLINE_LISTEN", format!("127.0.0.1:{api}")),
            ("HOOKLINE_WORKERS", "false".into()),
        ],
    );
    let _worker = Proc::spawn(
        "worker",
        &db_url,
        &dir,
        &secret,
        &[few, ("HOOKLINE_METRICS_LISTEN", format!("127.0.0.1:{metrics}"))],
    );
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{api}");
    eventually(30, "serve answers", || async {
        http.get(format!("{base}/api/v1/health"))
            .send()
            .await
            .ok()
            .map(|_| ())
    })
    .await;
    let receiver = Receiver::start().await;
    let post = |path: String, body: Value| {
        http.post(format!("{base}{path}"))
            .bearer_auth(&key)
            .json(&body)
            .send()
    };
    let app: Value = post("/api/v1/app".into(), json!({"name": "w"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let app = app["id"].as_str().unwrap();
    post(
        format!("/api/v1/app/{app}/endpoint"),
        json!({"url": receiver.url("/")}),
    )
    .await
    .unwrap();
    for i in 0..3 {
        post(
            format!("/api/v1/app/{app}/msg"),
            json!({"eventType": "a", "payload": {"i": i}}),
        )
        .await
        .unwrap();
    }
    eventually(20, "three deliveries", || async {
        (receiver.count() == 3).then_some(())
    })
    .await;
    // the worker's own counts (the serve process sent nothing), and the deployment's gauges
    let text = eventually(10, "the worker's scrape shows its attempts", || async {
        let t = http
            .get(format!("http://127.0.0.1:{metrics}/metrics"))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        t.contains("hookline_deliveries_succeeded_total 3\n").then_some(t)
    })
    .await;
    assert!(
        text.contains("hookline_attempts_total{result=\"success\"} 3\n"),
        "{text}"
    );
    assert!(text.contains("hookline_dead_letter_deliveries 0\n"), "{text}");
    pool.close().await;
}
