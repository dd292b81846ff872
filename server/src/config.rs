//! Typed settings: defaults, then an optional TOML file, then `HOOKLINE_*` environment
//! variables (and `DATABASE_URL`). Validated once at start; secrets are never printed.
use domain::delivery::{BreakerPolicy, DeliveryConfig, EndpointMetrics};
use domain::retry::{parse_duration, parse_schedule, RetryPolicy};
use domain::ssrf::SsrfGuard;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The raw shape read from file and environment (strings for durations and lists).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
struct Raw {
    database_url: Option<String>,
    data_dir: PathBuf,
    listen: String,
    public_url: Option<String>,
    allowed_networks: String,
    retry_schedule: String,
    request_timeout: String,
    worker_concurrency: usize,
    endpoint_concurrency: usize,
    poll_interval: String,
    secret_key: Option<String>,
    max_payload_bytes: usize,
    production: bool,
    breaker_threshold: i32,
    breaker_cooldown: String,
    breaker_max_cooldown: String,
    disable_after: String,
    operational_failing_after: i32,
    db_max_connections: u32,
    log_format: String,
    workers: bool,
    lease: Option<String>,
    retention_sweep: String,
    message_retention: String,
    metrics_endpoints: String,
    metrics_endpoint_limit: usize,
    metrics_listen: Option<String>,
    lookup_cache_ttl: String,
}

impl Default for Raw {
    fn default() -> Self {
        Self {
            database_url: None,
            data_dir: PathBuf::from("./data"),
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            allowed_networks: String::new(),
            retry_schedule: "5s,5m,30m,2h,5h,10h,10h".into(),
            request_timeout: "15s".into(),
            worker_concurrency: 128,
            endpoint_concurrency: 64,
            poll_interval: "1s".into(),
            secret_key: None,
            max_payload_bytes: 1024 * 1024,
            production: false,
            breaker_threshold: 5,
            breaker_cooldown: "5s".into(),
            breaker_max_cooldown: "1m".into(),
            disable_after: "5d".into(),
            operational_failing_after: 4,
            db_max_connections: 20,
            log_format: "text".into(),
            retention_sweep: "5m".into(),
            message_retention: "90d".into(),
            workers: true,
            lease: None,
            metrics_endpoints: String::new(),
            metrics_endpoint_limit: 100,
            metrics_listen: None,
            lookup_cache_ttl: "10s".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: Option<SecretString>,
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// Base URL for links; `None` means derived from the listen address.
    pub public_url: Option<String>,
    pub secret_key: Option<SecretString>,
    pub max_payload_bytes: usize,
    /// Production mode: https-only endpoints and Secure cookies.
    pub production: bool,
    pub db_max_connections: u32,
    pub json_logs: bool,
    /// Whether `serve` also runs the delivery workers.
    pub run_workers: bool,
    pub delivery: DeliveryConfig,
    /// Where a `worker` process serves its `/metrics` (`serve` has them on its own address).
    pub metrics_listen: Option<SocketAddr>,
    /// How long API keys' and applications' lookups are kept in memory at most (changes reach
    /// every process at once through NOTIFY; this is the backstop). Zero keeps none.
    pub lookup_cache_ttl: Duration,
}

impl Settings {
    /// The base URL of this instance for links: `HOOKLINE_PUBLIC_URL`, else the listen address.
    pub fn base_url(&self) -> String {
        if let Some(u) = &self.public_url {
            return u.trim_end_matches('/').to_string();
        }
        let l = self.listen;
        let host = match l.ip() {
            ip if ip.is_unspecified() => "127.0.0.1".to_string(),
            std::net::IpAddr::V6(v6) => format!("[{v6}]"),
            ip => ip.to_string(),
        };
        format!("http://{host}:{}", l.port())
    }

    /// The built-in defaults, without reading any file or environment variable.
    pub fn defaults() -> Self {
        Self::from_raw(Raw::default()).expect("the defaults are valid")
    }

    /// Loads settings from `file` (if given, else `./hookline.toml` when present) and the
    /// environment. Errors name the setting at fault.
    pub fn load(file: Option<&std::path::Path>) -> Result<Self, String> {
        let mut fig = Figment::from(Serialized::defaults(Raw::default()));
        match file {
            Some(f) => {
                if !f.exists() {
                    return Err(format!("config file {} does not exist", f.display()));
                }
                fig = fig.merge(Toml::file(f));
            }
            None if std::path::Path::new("hookline.toml").exists() => {
                fig = fig.merge(Toml::file("hookline.toml"))
            }
            None => {}
        }
        fig = fig
            .merge(Env::prefixed("HOOKLINE_").ignore(&["CONFIG", "PG_BIN_DIR"]))
            .merge(Env::raw().only(&["DATABASE_URL"]));
        let raw: Raw = fig.extract().map_err(|e| format!("invalid configuration: {e}"))?;
        Self::from_raw(raw)
    }

    fn from_raw(raw: Raw) -> Result<Self, String> {
        let dur = |name: &str, v: &str| parse_duration(v).map_err(|e| format!("HOOKLINE_{name}: {e}"));
        let listen: SocketAddr = raw.listen.parse().map_err(|_| {
            format!(
                "HOOKLINE_LISTEN: '{}' is not an address such as 127.0.0.1:8080",
                raw.listen
            )
        })?;
        let schedule =
            parse_schedule(&raw.retry_schedule).map_err(|e| format!("HOOKLINE_RETRY_SCHEDULE: {e}"))?;
        let allowed = SsrfGuard::parse_allowed(&raw.allowed_networks)
            .map_err(|e| format!("HOOKLINE_ALLOWED_NETWORKS: {e}"))?;
        let request_timeout = dur("REQUEST_TIMEOUT", &raw.request_timeout)?;
        if request_timeout.is_zero() {
            return Err("HOOKLINE_REQUEST_TIMEOUT must be more than zero".into());
        }
        if raw.worker_concurrency == 0 || raw.endpoint_concurrency == 0 {
            return Err(
                "HOOKLINE_WORKER_CONCURRENCY and HOOKLINE_ENDPOINT_CONCURRENCY must be at least 1".into(),
            );
        }
        if raw.operational_failing_after < 1 {
            return Err("HOOKLINE_OPERATIONAL_FAILING_AFTER must be at least 1".into());
        }
        if raw.max_payload_bytes < 1024 {
            return Err("HOOKLINE_MAX_PAYLOAD_BYTES must be at least 1024".into());
        }
        let public_url = raw.public_url.clone().filter(|u| !u.is_empty());
        let delivery = DeliveryConfig {
            retry: RetryPolicy {
                schedule,
                ..RetryPolicy::default()
            },
            breaker: BreakerPolicy {
                failure_threshold: raw.breaker_threshold.max(1),
                cooldown: dur("BREAKER_COOLDOWN", &raw.breaker_cooldown)?,
                max_cooldown: dur("BREAKER_MAX_COOLDOWN", &raw.breaker_max_cooldown)?
                    .max(dur("BREAKER_COOLDOWN", &raw.breaker_cooldown)?),
                disable_after: dur("DISABLE_AFTER", &raw.disable_after)?,
            },
            request_timeout,
            concurrency: raw.worker_concurrency,
            per_endpoint_concurrency: raw.endpoint_concurrency,
            batch_size: (raw.worker_concurrency as i64).min(256),
            poll_interval: dur("POLL_INTERVAL", &raw.poll_interval)?.max(Duration::from_millis(10)),
            max_response_bytes: 16 * 1024,
            guard: SsrfGuard::new(allowed),
            lease: None,
            retention_sweep: dur("RETENTION_SWEEP", &raw.retention_sweep)?.max(Duration::from_millis(100)),
            message_retention: dur("MESSAGE_RETENTION", &raw.message_retention)?,
            // set from the address actually bound (see `Settings::base_url`)
            public_url: String::new(),
            failing_after: raw.operational_failing_after,
            endpoint_metrics: EndpointMetrics::parse(&raw.metrics_endpoints, raw.metrics_endpoint_limit)
                .map_err(|e| format!("HOOKLINE_METRICS_ENDPOINTS: {e}"))?,
        };
        // A delivery still retrying, or scheduled up to 24 h ahead (deliverAt), must not be
        // dropped with its message.
        let floor = delivery.retry.schedule.iter().sum::<Duration>() + Duration::from_secs(86_400);
        if delivery.message_retention < floor {
            return Err(format!(
                "HOOKLINE_MESSAGE_RETENTION must be at least the retry schedule plus a day (about {} h), or \
                 deliveries still retrying or scheduled would be dropped",
                floor.as_secs().div_ceil(3600)
            ));
        }
        let mut delivery = delivery;
        if let Some(l) = raw.lease.as_deref().filter(|l| !l.is_empty()) {
            let lease = dur("LEASE", l)?;
            if lease <= request_timeout {
                return Err("HOOKLINE_LEASE must be longer than HOOKLINE_REQUEST_TIMEOUT, or deliveries would be sent twice".into());
            }
            delivery.lease = Some(lease);
        }
        let metrics_listen = match raw
            .metrics_listen
            .as_deref()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            Some(l) => Some(l.parse().map_err(|_| {
                format!("HOOKLINE_METRICS_LISTEN: '{l}' is not an address such as 127.0.0.1:9091")
            })?),
            None => None,
        };
        Ok(Self {
            metrics_listen,
            lookup_cache_ttl: dur("LOOKUP_CACHE_TTL", &raw.lookup_cache_ttl)?,
            database_url: raw.database_url.filter(|s| !s.is_empty()).map(SecretString::from),
            data_dir: raw.data_dir,
            listen,
            public_url,
            secret_key: raw.secret_key.filter(|s| !s.is_empty()).map(SecretString::from),
            max_payload_bytes: raw.max_payload_bytes,
            production: raw.production,
            db_max_connections: raw.db_max_connections.max(2),
            json_logs: raw.log_format.eq_ignore_ascii_case("json"),
            run_workers: raw.workers,
            delivery,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_follow_the_documented_values() {
        let s = Settings::from_raw(Raw::default()).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.delivery.retry.schedule.len(), 7);
        assert_eq!(s.delivery.request_timeout, Duration::from_secs(15));
        assert_eq!(s.base_url(), "http://127.0.0.1:8080");
        assert!(s.database_url.is_none());
    }

    #[test]
    fn a_toml_file_sets_values_and_names_bad_ones() {
        let dir = std::env::temp_dir().join(format!("hookline-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("hookline.toml");
        std::fs::write(
            &file,
            "retry_schedule = \"1s,2s\"\nworker_concurrency = 7\nallowed_networks = \"10.0.0.0/8\"\n",
        )
        .unwrap();
        let s = Settings::load(Some(&file)).unwrap();
        assert_eq!(
            s.delivery.retry.schedule,
            vec![Duration::from_secs(1), Duration::from_secs(2)]
        );
        assert_eq!(s.delivery.concurrency, 7);
        std::fs::write(&file, "request_timeout = \"soon\"\n").unwrap();
        assert!(Settings::load(Some(&file))
            .unwrap_err()
            .contains("HOOKLINE_REQUEST_TIMEOUT"));
        assert!(Settings::load(Some(&dir.join("missing.toml")))
            .unwrap_err()
            .contains("does not exist"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_values_name_the_setting() {
        let raw = Raw {
            retry_schedule: "5s,later".into(),
            ..Raw::default()
        };
        assert!(Settings::from_raw(raw)
            .unwrap_err()
            .contains("HOOKLINE_RETRY_SCHEDULE"));
        let raw = Raw {
            allowed_networks: "nonsense".into(),
            ..Raw::default()
        };
        assert!(Settings::from_raw(raw)
            .unwrap_err()
            .contains("HOOKLINE_ALLOWED_NETWORKS"));
        let raw = Raw {
            listen: "8080".into(),
            ..Raw::default()
        };
        assert!(Settings::from_raw(raw).unwrap_err().contains("HOOKLINE_LISTEN"));
        // the default schedule retries for about 28 h, and deliverAt may be 24 h ahead
        let raw = Raw {
            message_retention: "2d".into(),
            ..Raw::default()
        };
        let e = Settings::from_raw(raw).unwrap_err();
        assert!(
            e.contains("HOOKLINE_MESSAGE_RETENTION") && e.contains("52 h"),
            "{e}"
        );
        let raw = Raw {
            message_retention: "3d".into(),
            ..Raw::default()
        };
        assert!(Settings::from_raw(raw).is_ok());
    }
}
