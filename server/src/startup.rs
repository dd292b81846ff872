//! Wiring: database (given or managed), migrations, the secret key, the HTTP router and the
//! delivery engine, and their orderly shutdown.
use crate::api::{self, AppState};
use crate::config::Settings;
use crate::embedded_pg::{ManagedPostgres, PgOptions};
use crate::sessions::HashedIdStore;
use crate::{consumer, docs, portal_guard, telemetry};
use anyhow::Context;
use axum::extract::{DefaultBodyLimit, State};
use axum::routing::{any, get};
use axum::Router;
use domain::crypto::SecretBox;
use domain::delivery::{Engine, EngineHandle};
use domain::service::{ServiceOptions, Services};
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use secrecy::ExposeSecret;
use sqlx::postgres::PgPoolOptions;
use std::path::Path;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

/// A database connection and, when Hookline manages the cluster, its handle (stopping the
/// cluster when dropped).
pub struct Database {
    pub pool: sqlx::PgPool,
    pub managed: Option<ManagedPostgres>,
}

/// Connects to `DATABASE_URL`, or starts (or reuses) the managed cluster under the data dir.
pub async fn open_database(settings: &Settings) -> anyhow::Result<Database> {
    let (url, managed) = match &settings.database_url {
        Some(url) => (url.expose_secret().to_string(), None),
        None => {
            let data_dir = std::path::absolute(&settings.data_dir).context("resolving HOOKLINE_DATA_DIR")?;
            std::fs::create_dir_all(&data_dir)
                .with_context(|| format!("creating data directory {}", data_dir.display()))?;
            let opts = PgOptions {
                data_dir,
                port: None,
                ephemeral: false,
            };
            let pg = tokio::task::spawn_blocking(move || ManagedPostgres::start(opts))
                .await?
                .context("starting the managed PostgreSQL (set DATABASE_URL to use your own server)")?;
            (pg.database_url(), Some(pg))
        }
    };
    let connect = domain::store::connect_options(&url).context("DATABASE_URL")?;
    let options = PgPoolOptions::new()
        .max_connections(settings.db_max_connections)
        // while the database is away a request waits this long, then answers 503
        .acquire_timeout(std::time::Duration::from_secs(5));
    // A process started while the database restarts waits for it (a minute), rather than
    // exiting and leaving the retry to a supervisor.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let pool = loop {
        match options.clone().connect_with(connect.clone()).await {
            Ok(pool) => break pool,
            Err(e) if domain::store::is_unavailable(&e) && std::time::Instant::now() < deadline => {
                tracing::warn!(error = %e, "PostgreSQL is not reachable yet; waiting for it");
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            }
            Err(e) => return Err(e).context("connecting to PostgreSQL"),
        }
    };
    let layout = domain::store::partitions::Layout::for_retention(settings.delivery.message_retention);
    domain::store::migrate(&pool, layout)
        .await
        .context("running database migrations")?;
    if !domain::store::sorts_bytewise(&pool).await.unwrap_or(true) {
        tracing::warn!(
            "the database's collation is not C: ids will not list in time order; create the \
             database with LC_COLLATE='C' (Hookline's own cluster does)"
        );
    }
    Ok(Database { pool, managed })
}

/// The instance key for endpoint secrets: `HOOKLINE_SECRET_KEY`, else `secret.key` in the data
/// dir, generated (mode 0600) on first start.
pub fn load_secret_box(settings: &Settings) -> anyhow::Result<SecretBox> {
    if let Some(k) = &settings.secret_key {
        return SecretBox::from_base64(k.expose_secret()).context("HOOKLINE_SECRET_KEY");
    }
    let path = settings.data_dir.join("secret.key");
    if !path.exists() {
        std::fs::create_dir_all(&settings.data_dir)?;
        write_private(&path, &SecretBox::generate_key_base64())?;
        tracing::info!(path = %path.display(), "generated a new secret-encryption key; back it up with your database");
    }
    let key = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    SecretBox::from_base64(&key).with_context(|| format!("the key in {} is not valid", path.display()))
}

fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(content.as_bytes())
}

/// Where the portal's compiled assets are: `LEPTOS_SITE_ROOT`, else `target/site` under the
/// current directory, else `site` next to the executable's target directory.
fn leptos_options(settings: &Settings) -> LeptosOptions {
    let site_root = std::env::var("LEPTOS_SITE_ROOT").ok().unwrap_or_else(|| {
        let candidates = [
            Some(std::path::PathBuf::from("target/site")),
            std::env::current_exe()
                .ok()
                .and_then(|e| e.parent()?.parent().map(|p| p.join("site"))),
        ];
        candidates
            .into_iter()
            .flatten()
            .find(|p| p.join("pkg").exists())
            .unwrap_or_else(|| "target/site".into())
            .to_string_lossy()
            .into_owned()
    });
    LeptosOptions::builder()
        .output_name(std::env::var("LEPTOS_OUTPUT_NAME").unwrap_or_else(|_| "hookline".into()))
        .site_root(site_root)
        .site_pkg_dir(std::env::var("LEPTOS_SITE_PKG_DIR").unwrap_or_else(|_| "pkg".into()))
        .site_addr(settings.listen)
        .build()
}

pub fn services(settings: &Settings, pool: sqlx::PgPool, secrets: SecretBox) -> Services {
    Services::new(
        pool,
        secrets,
        ServiceOptions {
            https_only: settings.production,
            public_url: settings.base_url(),
            lookup_ttl: settings.lookup_cache_ttl,
        },
    )
}

/// The whole HTTP surface.
pub fn router(state: AppState, sessions: HashedIdStore) -> Router {
    let leptos_options = state.leptos_options.clone();
    let routes = generate_route_list(app::App);
    let session_layer = SessionManagerLayer::new(sessions)
        .with_name("hookline_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.settings.production || state.settings.base_url().starts_with("https://"))
        .with_expiry(Expiry::OnInactivity(
            tower_sessions::cookie::time::Duration::days(7),
        ));
    let services = state.services.clone();
    Router::new()
        .merge(api::router(state.clone()))
        .route("/metrics", get(metrics))
        .route("/api/v1/openapi.json", get(docs::openapi))
        .route("/docs", get(docs::page))
        .route(
            "/portal/{token}",
            get(consumer::open_link).post(consumer::switch_to_link),
        )
        .route("/inbox/{token}", any(crate::inbox::receive))
        .layer(DefaultBodyLimit::max(state.settings.max_payload_bytes))
        .leptos_routes_with_context(&state, routes, move || provide_context(services.clone()), {
            let opts = leptos_options.clone();
            move || app::shell(opts.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(app::shell))
        .with_state(state.clone())
        .layer(axum::middleware::from_fn(portal_guard::bad_arguments_are_400))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            portal_guard::no_nul_in_forms,
        ))
        .layer(axum::middleware::from_fn_with_state(state, portal_guard::roles))
        .layer(axum::middleware::from_fn(portal_guard::login_wall))
        .layer(axum::middleware::from_fn(portal_guard::csrf))
        .layer(session_layer)
        .layer(axum::middleware::from_fn(crate::sessions::store_failure_is_503))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(axum::middleware::from_fn(telemetry::metrics::track_requests))
}

/// A request's span: named by its route's template for trace viewers, and a child of the
/// caller's trace when it sends a `traceparent`.
fn request_span<B>(req: &axum::http::Request<B>) -> tracing::Span {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or(telemetry::metrics::FALLBACK_ROUTE, |p| p.as_str());
    let span = tracing::info_span!(
        "request",
        method = %req.method(),
        path = %loggable_path(req.uri().path()),
        otel.name = %format_args!("{} {}", req.method(), route),
        otel.kind = "server",
    );
    let caller = req.headers().get("traceparent").and_then(|v| v.to_str().ok());
    domain::trace::continue_trace(&span, caller);
    span
}

/// The request path as logged: portal links and test inboxes carry a bearer token in the
/// path, which must not reach the logs.
fn loggable_path(path: &str) -> &str {
    let token_of = |prefix: &str| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
    };
    if token_of("/portal/") {
        "/portal/<token>"
    } else if token_of("/inbox/") {
        "/inbox/<token>"
    } else {
        path
    }
}

async fn metrics(State(s): State<AppState>) -> String {
    telemetry::metrics::render(&s.services.pool, &s.metrics).await
}

/// A running server (and, optionally, workers), bound to a port.
pub struct Application {
    pub port: u16,
    pub state: AppState,
    listener: tokio::net::TcpListener,
    engine: Option<Engine>,
    sessions: HashedIdStore,
}

impl Application {
    pub async fn build(mut settings: Settings, pool: sqlx::PgPool) -> anyhow::Result<Self> {
        let sessions = HashedIdStore::new(pool.clone())
            .await
            .context("preparing the session store")?;
        let listener = tokio::net::TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("binding {}", settings.listen))?;
        let port = listener.local_addr()?.port();
        // Links (and test inboxes' URLs) must carry the port actually bound.
        settings.listen.set_port(port);
        settings.delivery.public_url = settings.base_url();
        let secrets = load_secret_box(&settings)?;
        let services = services(&settings, pool.clone(), secrets.clone());
        let engine = settings
            .run_workers
            .then(|| Engine::new(pool.clone(), secrets, settings.delivery.clone()));
        let state = AppState::new(crate::api::Shared {
            leptos_options: leptos_options(&settings),
            services,
            settings: Arc::new(settings),
            metrics: telemetry::prometheus(),
        });
        Ok(Self {
            port,
            state,
            listener,
            engine,
            sessions,
        })
    }

    /// Serves until `cancel` fires, then drains in-flight deliveries.
    pub async fn run_until_stopped(self, cancel: CancellationToken) -> anyhow::Result<()> {
        let engine: Option<EngineHandle> = self.engine.map(|e| e.start(cancel.clone()));
        let sweep = self.state.settings.delivery.retention_sweep;
        tokio::spawn(self.sessions.clone().purge_expired_until(sweep, cancel.clone()));
        // API keys and applications are cached while this listens for their changes
        tokio::spawn(
            self.state
                .services
                .lookups()
                .listen(self.state.services.pool.clone(), cancel.clone()),
        );
        let layout =
            domain::store::partitions::Layout::for_retention(self.state.settings.delivery.message_retention);
        tokio::spawn(keep_partitions_made(
            self.state.services.pool.clone(),
            layout,
            sweep,
            cancel.clone(),
        ));
        let app = router(self.state, self.sessions);
        let shutdown = cancel.clone();
        // the peer's address reaches handlers (a portal session lists where it logged in from)
        let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
        let served = axum::serve(self.listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        cancel.cancel();
        if let Some(e) = engine {
            e.join().await;
        }
        served.context("HTTP server failed")
    }
}

/// Keeps the coming days' partitions of the message history made, also where no worker runs
/// in this process (workers do it in their sweep, and drop the expired days), and builds the
/// partitions' parts of indexes a migration added to the history (see
/// `domain::store::partition_indexes`).
async fn keep_partitions_made(
    pool: sqlx::PgPool,
    layout: domain::store::partitions::Layout,
    every: std::time::Duration,
    cancel: CancellationToken,
) {
    use domain::store::{partition_indexes, partitions};
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            built = partition_indexes::build_missing(&pool) => match built {
                Ok(0) => {}
                Ok(n) => tracing::info!(indexes = n, "built the history partitions' missing indexes"),
                Err(e) => tracing::warn!(error = %e, "building the history partitions' indexes failed; will try again"),
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        if let Err(e) = partitions::ensure_now(&pool, layout).await {
            tracing::warn!(error = %e, "making the coming days' partitions failed; will try again");
        }
    }
}

fn shutdown_on_signal() -> CancellationToken {
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
        tracing::info!("shutting down: finishing in-flight deliveries");
        c.cancel();
    });
    cancel
}

pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let db = open_database(&settings).await?;
    let app = Application::build(settings, db.pool.clone()).await?;
    let url = app.state.settings.base_url();
    tracing::info!(%url, "Hookline is running: portal at {url}/, API at {url}/api/v1, docs at {url}/docs");
    eprintln!("\n  Hookline is running at {url}\n  Get an API key:  hookline api-key create --org <your-org>\n  API docs:        {url}/docs\n");
    let result = app.run_until_stopped(shutdown_on_signal()).await;
    db.pool.close().await;
    drop(db.managed);
    result
}

pub async fn worker(settings: Settings) -> anyhow::Result<()> {
    let db = open_database(&settings).await?;
    let secrets = load_secret_box(&settings)?;
    tracing::info!(
        concurrency = settings.delivery.concurrency,
        "delivery worker started"
    );
    let mut delivery = settings.delivery.clone();
    // the inboxes of the instance whose HOOKLINE_PUBLIC_URL (or address) this worker shares
    delivery.public_url = settings.base_url();
    let engine = Engine::new(db.pool.clone(), secrets, delivery);
    let cancel = shutdown_on_signal();
    if let Some(addr) = settings.metrics_listen {
        serve_worker_metrics(addr, db.pool.clone(), cancel.clone()).await?;
    }
    engine.start(cancel).join().await;
    db.pool.close().await;
    drop(db.managed);
    Ok(())
}

/// A worker process's own `/metrics` (its attempts, and the deployment's gauges) on
/// `HOOKLINE_METRICS_LISTEN`: a `worker` serves nothing else.
async fn serve_worker_metrics(
    addr: std::net::SocketAddr,
    pool: sqlx::PgPool,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    let handle = telemetry::prometheus();
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let (pool, handle) = (pool.clone(), handle.clone());
            async move { telemetry::metrics::render(&pool, &handle).await }
        }),
    );
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("HOOKLINE_METRICS_LISTEN: binding {addr}"))?;
    tracing::info!(%addr, "worker metrics at /metrics");
    tokio::spawn(async move {
        let stopped = cancel.cancelled_owned();
        if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stopped).await {
            tracing::warn!(error = %e, "the worker's metrics server stopped");
        }
    });
    Ok(())
}

pub async fn migrate_only(settings: Settings) -> anyhow::Result<()> {
    let db = open_database(&settings).await?;
    tracing::info!("migrations are up to date");
    db.pool.close().await;
    Ok(())
}

/// `hookline user reset-password --email …`: prints a one-time link that sets a new password
/// (for someone who forgot theirs; there is no mail server to send it).
pub async fn reset_password_link(settings: Settings, email: &str) -> anyhow::Result<()> {
    let db = open_database(&settings).await?;
    let secrets = load_secret_box(&settings)?;
    let token = services(&settings, db.pool.clone(), secrets)
        .password_reset_token(email)
        .await
        .map_err(|e| match e {
            domain::DomainError::NotFound(_) => anyhow::anyhow!("no user has the email {email:?}"),
            e => anyhow::anyhow!("{e}"),
        })?;
    println!(
        "{}{}?token={token}",
        settings.base_url(),
        app::paths::RESET_PASSWORD
    );
    eprintln!(
        "The link works once, for {} minutes; it logs the user out everywhere.",
        domain::service::account_security::RESET_LINK_MINUTES
    );
    db.pool.close().await;
    Ok(())
}

pub async fn create_api_key(
    settings: Settings,
    org: &str,
    name: &str,
    scope: domain::service::audit::KeyScope,
) -> anyhow::Result<()> {
    let db = open_database(&settings).await?;
    let secrets = load_secret_box(&settings)?;
    let key = services(&settings, db.pool.clone(), secrets)
        .create_api_key_for_org_name(org, name, scope)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("{}", key.key);
    db.pool.close().await;
    Ok(())
}
