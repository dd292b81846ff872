//! `spawn_app()`: a Hookline server with workers on a random port, backed by a fresh database
//! in a test cluster that Hookline's own managed-Postgres code starts (or `DATABASE_URL`).
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use server::config::Settings;
use server::embedded_pg::{ManagedPostgres, PgOptions};
use server::startup::Application;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Admin URL template of the test cluster: `{db}` is replaced by the database name.
fn cluster_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("HOOKLINE_TEST_DATABASE_URL") {
            let base = url.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap_or(url);
            return format!("{base}/{{db}}");
        }
        // A cluster under target/, reused across runs (ManagedPostgres reuses a running one).
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-pg");
        std::fs::create_dir_all(&dir).expect("create target/test-pg");
        let pg = ManagedPostgres::start(PgOptions {
            data_dir: dir,
            port: None,
            ephemeral: true,
        })
        .expect("start the test PostgreSQL cluster");
        let url = pg.url_for("{db}");
        // Keep it running for the rest of the process (and for later runs).
        std::mem::forget(pg);
        url
    })
}

/// Creates a fresh, migrated database and returns a pool on it.
pub async fn fresh_database() -> (sqlx::PgPool, String) {
    let (pool, url) = empty_database().await;
    // daily partitions, as for a retention of a week or less: the tests reason in days
    domain::store::migrate(&pool, domain::store::partitions::Layout::DAILY)
        .await
        .expect("migrations");
    (pool, url)
}

/// Creates a new database with no schema at all, and returns a pool on it.
pub async fn empty_database() -> (sqlx::PgPool, String) {
    let admin_url = cluster_url().replace("{db}", "postgres");
    let name = format!("hl_test_{}_{}", unix_secs(), uuid_like());
    let mut admin = None;
    for _ in 0..50 {
        match sqlx::PgPool::connect(&admin_url).await {
            Ok(p) => {
                admin = Some(p);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let admin = admin.expect("connect to the test cluster");
    drop_stale_databases(&admin).await;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .expect("create test database");
    admin.close().await;
    let url = cluster_url().replace("{db}", &name);
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(10)
        .connect_with(domain::store::connect_options(&url).unwrap())
        .await
        .expect("connect test db");
    (pool, url)
}

/// The test cluster outlives each run, and every test makes its own database: without this,
/// a developer's `target/test-pg` grows by about 8 MB per test per run (it had reached 9 GB).
/// Once per process, before its first database, the databases earlier runs left are dropped:
/// those made over an hour ago (the name carries the time), so a concurrent run's are spared.
async fn drop_stale_databases(admin: &sqlx::PgPool) {
    static ONCE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    ONCE.get_or_init(|| async {
        let names: Vec<String> =
            sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'hl\\_test\\_%'")
                .fetch_all(admin)
                .await
                .expect("list test databases");
        let hour_ago = unix_secs() - 3600;
        for db in names {
            let made = db
                .strip_prefix("hl_test_")
                .and_then(|rest| rest.split('_').next())
                .and_then(|secs| secs.parse::<u64>().ok())
                .unwrap_or(0);
            if made < hour_ago {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {db}"))
                    .execute(admin)
                    .await;
            }
        }
    })
    .await;
}

fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

fn uuid_like() -> String {
    use rand::Rng;
    let mut r = rand::thread_rng();
    (0..16)
        .map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[r.gen_range(0..36)]))
        .collect()
}

/// Settings for tests: loopback allowed, a fast retry schedule, a private data dir.
pub fn test_settings() -> Settings {
    let mut s = Settings::defaults();
    s.listen = "127.0.0.1:0".parse().unwrap();
    s.data_dir = std::env::temp_dir().join(format!("hookline-test-{}", uuid_like()));
    s.secret_key = Some(domain::crypto::SecretBox::generate_key_base64().into());
    s.delivery.guard =
        domain::ssrf::SsrfGuard::new(domain::ssrf::SsrfGuard::parse_allowed("127.0.0.0/8,::1").unwrap());
    s.delivery.retry.schedule = vec![
        Duration::from_millis(20),
        Duration::from_millis(40),
        Duration::from_millis(80),
    ];
    s.delivery.poll_interval = Duration::from_millis(200);
    s.delivery.request_timeout = Duration::from_secs(5);
    s.max_payload_bytes = 64 * 1024;
    // Tests of the breaker turn it on with their own numbers.
    s.delivery.breaker.failure_threshold = 1_000;
    s
}

pub struct TestApp {
    pub base: String,
    pub key: String,
    pub pool: sqlx::PgPool,
    pub db_url: String,
    pub client: reqwest::Client,
    cancel: CancellationToken,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let (pool, db_url) = fresh_database().await;
    let mut settings = test_settings();
    tweak(&mut settings);
    let app = Application::build(settings, pool.clone())
        .await
        .expect("build app");
    let base = format!("http://127.0.0.1:{}", app.port);
    let services = app.state.services.clone();
    let cancel = CancellationToken::new();
    tokio::spawn(app.run_until_stopped(cancel.clone()));
    let key = services
        .create_api_key_for_org_name("test-org", "tests", Default::default())
        .await
        .unwrap()
        .key;
    TestApp {
        base,
        key,
        pool,
        db_url,
        client: reqwest::Client::new(),
        cancel,
    }
}

impl TestApp {
    /// A second organisation's API key on the same server.
    pub async fn other_org_key(&self) -> String {
        let secrets =
            domain::crypto::SecretBox::from_base64(&domain::crypto::SecretBox::generate_key_base64())
                .unwrap();
        let opts = domain::service::ServiceOptions {
            https_only: false,
            public_url: self.base.clone(),
            lookup_ttl: std::time::Duration::ZERO,
        };
        domain::service::Services::new(self.pool.clone(), secrets, opts)
            .create_api_key_for_org_name("other-org", "tests", Default::default())
            .await
            .unwrap()
            .key
    }

    pub async fn call_as(
        &self,
        key: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path))
            .bearer_auth(key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let v = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, v)
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call_as(&self.key, method, path, body).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    /// Creates event types, an application (uid `app`) and returns its id.
    pub async fn setup_app(&self, event_types: &[&str]) -> String {
        for et in event_types {
            let (s, b) = self
                .post("/api/v1/event-type", json!({"name": et, "description": "test"}))
                .await;
            assert_eq!(s, StatusCode::CREATED, "{b}");
        }
        let (s, b) = self
            .post("/api/v1/app", json!({"name": "Test app", "uid": "app"}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        b["id"].as_str().unwrap().to_string()
    }

    pub async fn create_endpoint(&self, app: &str, body: Value) -> Value {
        let (s, b) = self.post(&format!("/api/v1/app/{app}/endpoint"), body).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        b
    }

    pub async fn send(&self, app: &str, body: Value) -> Value {
        let (s, b) = self.post(&format!("/api/v1/app/{app}/msg"), body).await;
        assert_eq!(s, StatusCode::ACCEPTED, "{b}");
        b
    }

    pub async fn secret(&self, app: &str, ep: &str) -> String {
        let (_, b) = self.get(&format!("/api/v1/app/{app}/endpoint/{ep}/secret")).await;
        b["key"].as_str().unwrap().to_string()
    }

    /// Attempts of a message, oldest first.
    pub async fn attempts(&self, app: &str, msg: &str) -> Vec<Value> {
        let (s, b) = self
            .get(&format!("/api/v1/app/{app}/attempt/msg/{msg}?limit=250"))
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let mut v = b["data"].as_array().unwrap().clone();
        v.reverse();
        v
    }

    /// The delivery status (0 success, 1 pending, 2 fail) of `msg` to `ep`.
    pub async fn delivery_status(&self, app: &str, msg: &str, ep: &str) -> Option<i64> {
        let (_, b) = self.get(&format!("/api/v1/app/{app}/msg/{msg}/endpoint")).await;
        b["data"]
            .as_array()?
            .iter()
            .find(|d| d["id"] == ep)
            .and_then(|d| d["status"].as_i64())
    }
}

/// Polls `check` until it returns `Some`, or panics after `secs` seconds with `what`.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
