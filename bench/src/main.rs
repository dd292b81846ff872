//! Hookline's load benchmark. Starts `hookline serve` (with its managed PostgreSQL, so
//! everything runs on this one box), a receiver on 127.0.0.1, sends N messages at concurrency
//! C to E endpoints, and reports ingest rate, delivery rate, end-to-end latency, lost and
//! duplicate deliveries, and the server's CPU time and memory.
//!
//! `cargo run --release -p bench -- --messages 20000 --concurrency 32 --endpoints 1`
//!
//! With `--outage` the receiver is down until every message is sent (see `outage.rs`).
//! With `--duration S` the clients send for S seconds instead of a number of messages, and
//! with `--rate R` they offer R messages a second instead of as many as ingest takes.
//! With `--against OLD` a previous build runs alternately with `--hookline`, `--rounds`
//! times each, and every pair's ratio is reported: on a VM whose speed drifts, a change is
//! judged by runs made side by side, not against numbers from another day.
mod outage;
mod system;

use system::{free_port, percentile, postgres_cpu, proc_usage, Server};

use anyhow::{bail, Context};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::post;
use axum::Router;
use clap::Parser;
use serde_json::json;
use std::collections::HashSet;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
struct Args {
    /// Messages to send.
    #[arg(long, default_value_t = 20_000)]
    messages: usize,
    /// Concurrent API clients.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Endpoints subscribed to every message.
    #[arg(long, default_value_t = 1)]
    endpoints: usize,
    /// The hookline binary to benchmark.
    #[arg(long, default_value = "target/release/hookline")]
    hookline: PathBuf,
    /// Seconds to wait for the last delivery.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// Separate `hookline worker` processes to deliver; 0: `serve` runs the workers itself.
    #[arg(long, default_value_t = 0)]
    workers: usize,
    /// Give the database the daily partitions of this many past days (empty), as one that has
    /// run that long has: measures what the partition count costs the delivery path.
    #[arg(long, default_value_t = 0)]
    past_days: i64,
    /// Days per partition for `--past-days` (Hookline makes 12 for its default retention of 90
    /// days; 1 measures daily partitions).
    #[arg(long, default_value_t = 12)]
    days_per_partition: i64,
    /// Keep the receiver down until every message is sent, report what the backlog costs,
    /// then bring it back and measure the drain.
    #[arg(long)]
    outage: bool,
    /// With `--outage`: seconds of waiting with the whole backlog queued over which CPU is
    /// measured.
    #[arg(long, default_value_t = 30)]
    quiet_secs: u64,
    /// Send for this many seconds (a sustained run) instead of `--messages` messages.
    #[arg(long)]
    duration: Option<u64>,
    /// Offer this many messages a second, evenly spaced, instead of as fast as ingest answers:
    /// at a rate both builds sustain, latency is the pipeline's, not the queue's.
    #[arg(long)]
    rate: Option<f64>,
    /// A previous hookline build to run alternately with `--hookline`; reports the ratio of
    /// each pair of runs (new / old).
    #[arg(long)]
    against: Option<PathBuf>,
    /// With `--against`: pairs of runs.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Run Hookline on this data directory (kept afterwards) instead of a new temporary one:
    /// e.g. a copy of one whose PostgreSQL was given `pg_stat_statements`, to see what each
    /// statement costs. Not with `--against`.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Give every endpoint this payload filter (a CEL expression, see the README): e.g.
    /// `payload.seq >= 0`, which every message passes, to measure what evaluating costs.
    #[arg(long)]
    filter: Option<String>,
}

/// Reads one figure of a report.
type Figure = fn(&Report) -> f64;

/// One run's figures, for `--against` to compare.
#[derive(Debug, Clone, Copy)]
struct Report {
    deliveries_per_s: f64,
    ingest_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// CPU microseconds per delivered message: hookline's processes, and PostgreSQL's
    hookline_us: f64,
    postgres_us: f64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.data_dir.is_some() && args.against.is_some() {
        bail!("--data-dir and --against do not go together: each build needs its own database");
    }
    if args.duration.is_some() && args.outage {
        bail!("--duration and --outage do not go together: an outage run sends --messages");
    }
    let Some(old) = args.against.clone() else {
        run(&args, &args.hookline).await?;
        return Ok(());
    };
    let mut pairs = Vec::new();
    for round in 1..=args.rounds.max(1) {
        // the old build first in odd rounds, second in even ones: a drift over the run
        // weighs on both alike
        let order = if round % 2 == 1 {
            [&old, &args.hookline]
        } else {
            [&args.hookline, &old]
        };
        let mut got = Vec::new();
        for bin in order {
            println!("\n== round {round}: {} ==", bin.display());
            got.push(run(&args, bin).await?);
        }
        let (o, n) = if round % 2 == 1 {
            (got[0], got[1])
        } else {
            (got[1], got[0])
        };
        pairs.push((o, n));
    }
    println!(
        "\n== new ({}) / old ({}), per pair of runs ==",
        args.hookline.display(),
        old.display()
    );
    println!("| pair | deliveries/s | ingest/s | p50 | p99 | hookline CPU/msg | PostgreSQL CPU/msg |");
    println!("|---|---|---|---|---|---|---|");
    let ratio = |f: fn(&Report) -> f64| pairs.iter().map(|(o, n)| f(n) / f(o)).collect::<Vec<_>>();
    let columns: [(&str, Figure); 6] = [
        ("deliveries/s", |r| r.deliveries_per_s),
        ("ingest/s", |r| r.ingest_per_s),
        ("p50", |r| r.p50_ms),
        ("p99", |r| r.p99_ms),
        ("hookline CPU/msg", |r| r.hookline_us),
        ("PostgreSQL CPU/msg", |r| r.postgres_us),
    ];
    let table: Vec<Vec<f64>> = columns.iter().map(|(_, f)| ratio(*f)).collect();
    for i in 0..pairs.len() {
        let cells: Vec<String> = table.iter().map(|c| format!("{:.2}", c[i])).collect();
        println!("| {} | {} |", i + 1, cells.join(" | "));
    }
    let medians: Vec<String> = table
        .iter()
        .map(|c| {
            let mut c = c.clone();
            c.sort_by(f64::total_cmp);
            format!("{:.2}", c[c.len() / 2])
        })
        .collect();
    println!("| median | {} |", medians.join(" | "));
    for (o, n) in &pairs {
        println!(
            "  old {:.0}/s p99 {:.0} ms {:.0}+{:.0} us/msg; new {:.0}/s p99 {:.0} ms {:.0}+{:.0} us/msg",
            o.deliveries_per_s,
            o.p99_ms,
            o.hookline_us,
            o.postgres_us,
            n.deliveries_per_s,
            n.p99_ms,
            n.hookline_us,
            n.postgres_us
        );
    }
    Ok(())
}

/// Replaces the history's daily partitions of the benchmark's database (still empty) with
/// ones starting `days` ago and reaching the coming week.
async fn add_past_partitions(
    data_dir: &std::path::Path,
    days: i64,
    days_per_partition: i64,
) -> anyhow::Result<usize> {
    use domain::store::partitions;
    let pid = std::fs::read_to_string(data_dir.join("pg/postmaster.pid"))?;
    let port = pid
        .lines()
        .nth(3)
        .context("postmaster.pid has no port")?
        .trim()
        .to_string();
    let pool = sqlx::PgPool::connect_with(domain::store::connect_options(&format!(
        "postgres://postgres@127.0.0.1:{port}/hookline"
    ))?)
    .await?;
    for p in partitions::list(&pool).await?.iter().filter(|p| p.suffix != "p0") {
        partitions::drop(&pool, p).await?;
    }
    let now = chrono::Utc::now();
    let layout = partitions::Layout {
        days_per_partition: days_per_partition.max(1),
        days_ahead: days + partitions::DAYS_AHEAD,
    };
    partitions::ensure(&pool, now - chrono::Duration::days(days), layout).await?;
    let n = partitions::list(&pool).await?.len();
    pool.close().await;
    Ok(n)
}

#[derive(Default)]
struct Seen {
    unique: HashSet<(usize, u64)>,
    duplicates: u64,
    latencies_us: Vec<u64>,
    first_arrival: Option<Instant>,
    last_arrival: Option<Instant>,
}

struct Recv {
    start: Instant,
    seen: Mutex<Seen>,
}

async fn receive(State(r): State<Arc<Recv>>, Path(ep): Path<usize>, body: Bytes) -> &'static str {
    let now = Instant::now();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let seq = v["seq"].as_u64().unwrap_or(u64::MAX);
    let sent_us = v["sent_us"].as_u64().unwrap_or(0);
    let at_us = (now - r.start).as_micros() as u64;
    let mut s = r.seen.lock().unwrap();
    if s.unique.insert((ep, seq)) {
        s.latencies_us.push(at_us.saturating_sub(sent_us));
    } else {
        s.duplicates += 1;
    }
    s.first_arrival.get_or_insert(now);
    s.last_arrival = Some(now);
    "ok"
}

/// One run of `hookline`: starts it, loads it, prints the figures and returns them.
async fn run(args: &Args, hookline: &std::path::Path) -> anyhow::Result<Report> {
    if !hookline.exists() {
        bail!(
            "{} not found: build it first with `cargo leptos build --release`",
            hookline.display()
        );
    }
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let nth = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let data_dir = match &args.data_dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("hookline-bench-{}-{nth}", std::process::id())),
    };
    std::fs::create_dir_all(&data_dir)?;
    std::fs::set_permissions(&data_dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let env = |c: &mut Command| {
        c.env("HOOKLINE_DATA_DIR", &data_dir)
            .env("HOOKLINE_LISTEN", format!("127.0.0.1:{port}"))
            .env("HOOKLINE_ALLOWED_NETWORKS", "127.0.0.0/8")
            .env("RUST_LOG", "warn")
            .env_remove("DATABASE_URL");
    };
    let mut cmd = Command::new(hookline);
    cmd.arg("serve").stdout(Stdio::null()).stderr(Stdio::inherit());
    env(&mut cmd);
    if args.workers > 0 {
        cmd.env("HOOKLINE_WORKERS", "false");
    }
    let server = Server(cmd.spawn().context("starting hookline")?);
    let pid = server.0.id();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let started = Instant::now();
    while client
        .get(format!("{base}/api/v1/health"))
        .send()
        .await
        .map(|r| r.status().is_success())
        .ok()
        != Some(true)
    {
        if started.elapsed() > Duration::from_secs(120) {
            bail!("hookline did not become healthy");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if args.past_days > 0 {
        let n = add_past_partitions(&data_dir, args.past_days, args.days_per_partition).await?;
        println!("history partitions: {n}");
    }
    // --outage reads the portal's pages, so its key is made by a portal user
    let (cookie, key) = if args.outage {
        outage::portal_login(&client, &base).await?
    } else {
        let mut kc = Command::new(hookline);
        kc.args(["api-key", "create", "--org", "bench"]);
        env(&mut kc);
        (
            String::new(),
            String::from_utf8(kc.output()?.stdout)?.trim().to_string(),
        )
    };
    // worker processes share serve's data dir: its PostgreSQL and its secret key
    let mut workers = Vec::new();
    for _ in 0..args.workers {
        let mut wc = Command::new(hookline);
        wc.arg("worker").stdout(Stdio::null()).stderr(Stdio::inherit());
        env(&mut wc);
        workers.push(Server(wc.spawn().context("starting hookline worker")?));
    }
    let pids: Vec<u32> = std::iter::once(pid)
        .chain(workers.iter().map(|w| w.0.id()))
        .collect();
    let hookline_cpu = || pids.iter().map(|p| proc_usage(*p).0).sum::<f64>();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_, idle_rss, _) = proc_usage(pid);

    let recv = Arc::new(Recv {
        start: Instant::now(),
        seen: Mutex::new(Seen::default()),
    });
    let router = Router::new()
        .route("/e/{ep}", post(receive))
        .with_state(recv.clone());
    let rport = free_port();
    let serve_receiver = move || async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", rport)).await?;
        tokio::spawn(async move { axum::serve(listener, router).await });
        Ok::<(), anyhow::Error>(())
    };
    let serve_receiver = if args.outage {
        Some(serve_receiver)
    } else {
        serve_receiver().await?;
        None
    };

    let api = |path: &str| format!("{base}/api/v1{path}");
    let post_json = |url: String, body: serde_json::Value| {
        let c = client.clone();
        let key = key.clone();
        async move {
            let r = c.post(url).bearer_auth(key).json(&body).send().await?;
            if !r.status().is_success() {
                bail!("{} {}", r.status(), r.text().await.unwrap_or_default());
            }
            Ok::<serde_json::Value, anyhow::Error>(r.json().await?)
        }
    };
    post_json(
        api("/event-type"),
        json!({"name": "bench.event", "description": "benchmark"}),
    )
    .await?;
    let app = post_json(api("/app"), json!({"name": "bench"})).await?;
    let app_id = app["id"].as_str().unwrap().to_string();
    let mut endpoint_ids = Vec::new();
    for e in 0..args.endpoints {
        let ep = post_json(
            api(&format!("/app/{app_id}/endpoint")),
            match &args.filter {
                Some(f) => json!({"url": format!("http://127.0.0.1:{rport}/e/{e}"), "filter": f}),
                None => json!({"url": format!("http://127.0.0.1:{rport}/e/{e}")}),
            },
        )
        .await?;
        endpoint_ids.push(ep["id"].as_str().unwrap_or_default().to_string());
    }
    let pool = match args.outage {
        true => Some(outage::database(&data_dir).await?),
        false => None,
    };
    let cpu0 = hookline_cpu();
    let pg0 = postgres_cpu();
    let me0 = proc_usage(std::process::id()).0;

    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    // messages accepted (202): a sustained run sends as many as it can in its time
    let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let ingest_start = Instant::now();
    let stop_at = args.duration.map(|d| ingest_start + Duration::from_secs(d));
    let rate = args.rate.filter(|r| *r > 0.0);
    let limit = if stop_at.is_some() {
        usize::MAX
    } else {
        args.messages
    };
    let mut tasks = vec![];
    for _ in 0..args.concurrency {
        let next = next.clone();
        let url = api(&format!("/app/{app_id}/msg"));
        let c = client.clone();
        let key = key.clone();
        let recv = recv.clone();
        let sent = sent.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                if stop_at.is_some_and(|t| Instant::now() >= t) {
                    return Ok::<(), anyhow::Error>(());
                }
                let seq = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if seq >= limit {
                    return Ok::<(), anyhow::Error>(());
                }
                if let Some(rate) = rate {
                    let due = ingest_start + Duration::from_secs_f64(seq as f64 / rate);
                    tokio::time::sleep_until(due.into()).await;
                }
                let sent_us = recv.start.elapsed().as_micros() as u64;
                let body = json!({"eventType": "bench.event", "payload": {"seq": seq, "sent_us": sent_us, "data": "x".repeat(200)}});
                let r = c.post(&url).bearer_auth(&key).json(&body).send().await?;
                if r.status() != reqwest::StatusCode::ACCEPTED {
                    bail!("ingest answered {}", r.status());
                }
                sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }));
    }
    if let Some(pool) = pool.clone() {
        // the claim's cost and the server's memory as the backlog grows
        let next = next.clone();
        let n = args.messages;
        let skipped = endpoint_ids.clone();
        tokio::spawn(async move {
            for pct in [1, 10, 50, 90] {
                while next.load(std::sync::atomic::Ordering::Relaxed) < n * pct / 100 {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                let plain = outage::claim_cost(&pool, &[]).await.unwrap_or((-1, f64::NAN));
                let skipping = outage::claim_cost(&pool, &skipped)
                    .await
                    .unwrap_or((-1, f64::NAN));
                println!(
                    "  at {pct}% sent: claim {} pages ({:.1} ms), skipping claim {} pages ({:.1} ms), server RSS {:.1} MiB",
                    plain.0,
                    plain.1,
                    skipping.0,
                    skipping.1,
                    proc_usage(pid).1 as f64 / 1024.0
                );
            }
        });
    }
    for t in tasks {
        t.await??;
    }
    let ingest_secs = ingest_start.elapsed().as_secs_f64();
    let messages = sent.load(std::sync::atomic::Ordering::Relaxed);
    let mut returned = ingest_start;
    if let (Some(pool), Some(serve_receiver)) = (&pool, serve_receiver) {
        println!(
            "  ingest with the receiver down: {:.0} msgs/s ({ingest_secs:.1} s), server RSS {:.1} MiB",
            messages as f64 / ingest_secs,
            proc_usage(pid).1 as f64 / 1024.0
        );
        outage::report_backlog(
            pool,
            &client,
            &base,
            (&cookie, &key),
            (&app_id, &endpoint_ids),
            || (hookline_cpu(), postgres_cpu()),
            Duration::from_secs(args.quiet_secs),
        )
        .await?;
        println!(
            "  server RSS:    {:.1} MiB with the backlog queued",
            proc_usage(pid).1 as f64 / 1024.0
        );
        serve_receiver().await?;
        returned = Instant::now();
    }
    // deliveries waiting on a retry scheduled after the drain (attempted before the breaker
    // opened): not lost, but not waited for
    let mut later = 0_i64;
    let mut checked = Instant::now();
    let expected = messages * args.endpoints;
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    loop {
        let got = recv.seen.lock().unwrap().unique.len();
        if got >= expected || Instant::now() > deadline {
            break;
        }
        if let Some(pool) = pool
            .as_ref()
            .filter(|_| checked.elapsed() > Duration::from_secs(2))
        {
            checked = Instant::now();
            let (pending, far) = outage::pending(pool, Duration::from_secs(60)).await?;
            if pending == far && got as i64 + far >= expected as i64 {
                later = far;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await; // catch stragglers and duplicates
    let cpu1 = hookline_cpu();
    let (_, _, peak_rss) = proc_usage(pid);
    let worker_peak = workers.iter().map(|w| proc_usage(w.0.id()).2).max();
    let pg1 = postgres_cpu();
    let me1 = proc_usage(std::process::id()).0;
    let mut seen = std::mem::take(&mut *recv.seen.lock().unwrap());
    let delivered = seen.unique.len();
    if args.outage {
        let first = seen.first_arrival.unwrap_or(returned);
        let last = seen.last_arrival.unwrap_or(returned);
        println!(
            "  after the receiver's return: first delivery in {:.1} s (the breaker's pause), then {delivered} in {:.1} s = {:.0} deliveries/s; {later} wait on their retry schedule",
            (first - returned).as_secs_f64(),
            (last - first).as_secs_f64(),
            delivered as f64 / (last - first).as_secs_f64()
        );
    }
    let span = seen
        .last_arrival
        .map(|l| l - ingest_start)
        .unwrap_or_default()
        .as_secs_f64();
    seen.latencies_us.sort_unstable();
    println!(
        "hookline benchmark: {} messages x {} endpoint(s), concurrency {}, {}",
        messages,
        args.endpoints,
        args.concurrency,
        match args.workers {
            0 => "serve delivering".to_string(),
            n => format!("{n} worker process(es) delivering"),
        }
    );
    println!(
        "  ingest:        {:.0} msgs/s ({:.2} s)",
        messages as f64 / ingest_secs,
        ingest_secs
    );
    println!(
        "  delivered:     {delivered}/{expected} in {span:.2} s = {:.0} deliveries/s",
        delivered as f64 / span
    );
    // (with --outage every latency includes the outage)
    println!(
        "  latency (send -> arrival): p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&seen.latencies_us, 0.50),
        percentile(&seen.latencies_us, 0.95),
        percentile(&seen.latencies_us, 0.99),
        percentile(&seen.latencies_us, 1.0)
    );
    let lost = expected as i64 - delivered as i64 - later;
    println!("  lost:          {lost}");
    println!("  duplicates:    {}", seen.duplicates);
    println!(
        "  CPU seconds:   hookline (all processes) {:.1}, PostgreSQL {:.1}, this load generator and receiver {:.1} (of {:.1} s x 2 cores)",
        cpu1 - cpu0,
        pg1 - pg0,
        me1 - me0,
        span
    );
    let per_msg = |cpu: f64| cpu * 1e6 / delivered.max(1) as f64;
    println!(
        "  CPU per delivered message: hookline {:.0} us, PostgreSQL {:.0} us",
        per_msg(cpu1 - cpu0),
        per_msg(pg1 - pg0)
    );
    println!(
        "  server RSS:    idle {:.1} MiB, peak {:.1} MiB (excluding PostgreSQL)",
        idle_rss as f64 / 1024.0,
        peak_rss as f64 / 1024.0
    );
    if let Some(w) = worker_peak {
        println!(
            "  worker RSS:    peak {:.1} MiB (the largest worker)",
            w as f64 / 1024.0
        );
    }
    drop(workers); // before serve, which stops the PostgreSQL they share
    drop(server);
    if args.data_dir.is_none() {
        let _ = std::fs::remove_dir_all(&data_dir);
    }
    if lost > 0 {
        bail!("{lost} deliveries lost");
    }
    Ok(Report {
        deliveries_per_s: delivered as f64 / span,
        ingest_per_s: messages as f64 / ingest_secs,
        p50_ms: percentile(&seen.latencies_us, 0.50),
        p99_ms: percentile(&seen.latencies_us, 0.99),
        hookline_us: per_msg(cpu1 - cpu0),
        postgres_us: per_msg(pg1 - pg0),
    })
}
