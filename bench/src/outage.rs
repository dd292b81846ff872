//! `--outage`: the receiver stays down while every message is sent, so the whole run queues
//! up as a backlog; then the benchmark measures what the backlog costs (the claim statement's
//! pages, the server's memory and CPU while it waits, the portal's pages of that
//! application), brings the receiver back and measures the drain.
use anyhow::{bail, Context};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

/// A developer signed up through the portal (as a browser posts the form) and an API key of
/// their organisation: (session cookie, API key).
pub async fn portal_login(client: &reqwest::Client, base: &str) -> anyhow::Result<(String, String)> {
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let r = no_redirects
        .post(format!("{base}/_fn/signup"))
        .header("origin", base)
        .header("accept", "text/html")
        .form(&[
            ("email", "bench@example.com"),
            ("password", "vermilion otter tabletop 8841"),
            ("organization", "Bench"),
        ])
        .send()
        .await?;
    let status = r.status();
    let Some(set_cookie) = r.headers().get("set-cookie").cloned() else {
        bail!(
            "signup answered {status} without a session cookie: {}",
            r.text().await?
        );
    };
    let cookie = set_cookie
        .to_str()?
        .split(';')
        .next()
        .unwrap_or_default()
        .to_string();
    let r = client
        .post(format!("{base}/_fn/create_api_key"))
        .header("origin", base)
        .header("cookie", &cookie)
        .form(&[("name", "bench")])
        .send()
        .await?;
    if !r.status().is_success() {
        bail!("create_api_key answered {}", r.status());
    }
    let key: String = r.json().await?;
    Ok((cookie, key))
}

/// The benchmark's database (serve's managed PostgreSQL).
pub async fn database(data_dir: &Path) -> anyhow::Result<sqlx::PgPool> {
    let pid = std::fs::read_to_string(data_dir.join("pg/postmaster.pid"))?;
    let port = pid
        .lines()
        .nth(3)
        .context("postmaster.pid has no port")?
        .trim()
        .to_string();
    Ok(
        sqlx::PgPool::connect_with(domain::store::connect_options(&format!(
            "postgres://postgres@127.0.0.1:{port}/hookline"
        ))?)
        .await?,
    )
}

/// Pages and milliseconds of one claim of 128 rows, explained inside a transaction that is
/// rolled back: the plain claim (what runs once the endpoints are back), or the one that
/// skips `skipped` (what runs while their breaker is open).
pub async fn claim_cost(pool: &sqlx::PgPool, skipped: &[String]) -> anyhow::Result<(i64, f64)> {
    use domain::store::deliveries::{CLAIM_SKIPPING_SQL, CLAIM_SQL};
    let sql = if skipped.is_empty() {
        CLAIM_SQL
    } else {
        CLAIM_SKIPPING_SQL
    };
    let free = vec![0_i32; skipped.len()];
    let mut tx = pool.begin().await?;
    let plan: Value = sqlx::query_scalar(&format!("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}"))
        .bind(128_i64)
        .bind(60.0_f64)
        .bind(skipped)
        .bind(&free)
        .bind(64_i32)
        .bind(skipped)
        .bind(Vec::<String>::new())
        .bind(Vec::<chrono::DateTime<chrono::Utc>>::new())
        .fetch_one(&mut *tx)
        .await?;
    tx.rollback().await?;
    let top = &plan[0]["Plan"];
    let pages =
        top["Shared Hit Blocks"].as_i64().unwrap_or(0) + top["Shared Read Blocks"].as_i64().unwrap_or(0);
    Ok((pages, plan[0]["Execution Time"].as_f64().unwrap_or(f64::NAN)))
}

/// Median and slowest milliseconds of five GETs of `url` (after one to warm up), checking
/// each answers 200.
pub async fn time_get(client: &reqwest::Client, url: &str, auth: (&str, &str)) -> anyhow::Result<(f64, f64)> {
    let mut ms = Vec::new();
    for i in 0..6 {
        let t = Instant::now();
        let r = client.get(url).header(auth.0, auth.1).send().await?;
        let status = r.status();
        let body = r.bytes().await?;
        if !status.is_success() {
            bail!("{url} answered {status}: {}", String::from_utf8_lossy(&body));
        }
        if i > 0 {
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    ms.sort_by(f64::total_cmp);
    Ok((ms[ms.len() / 2], ms[ms.len() - 1]))
}

/// Deliveries still pending, and of them those waiting on a retry due after `within`
/// from now (the attempts made before the breaker opened, which keep their schedule).
pub async fn pending(pool: &sqlx::PgPool, within: Duration) -> anyhow::Result<(i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE next_attempt_at > now() + make_interval(secs => $1))
         FROM deliveries WHERE status = 1",
    )
    .bind(within.as_secs_f64())
    .fetch_one(pool)
    .await?)
}

/// Prints what the backlog costs while the receiver is down: the claim's pages, the portal's
/// pages and API lists of the application, and the processes' CPU over a quiet `quiet`.
pub async fn report_backlog(
    pool: &sqlx::PgPool,
    client: &reqwest::Client,
    base: &str,
    (cookie, key): (&str, &str),
    (app_id, endpoints): (&str, &[String]),
    cpu: impl Fn() -> (f64, f64),
    quiet: Duration,
) -> anyhow::Result<()> {
    let (n, _) = pending(pool, Duration::ZERO).await?;
    println!("  backlog:       {n} deliveries pending with the receiver down");
    let (pages, ms) = claim_cost(pool, &[]).await?;
    println!("  claim (plain): {pages} pages, {ms:.1} ms for 128 rows");
    let (pages, ms) = claim_cost(pool, endpoints).await?;
    println!("  claim (skipping the endpoints, as while their breaker is open): {pages} pages, {ms:.1} ms");
    let ep = &endpoints[0];
    let bearer = format!("Bearer {key}");
    for (what, path, auth) in [
        (
            "portal message log",
            format!("/apps/{app_id}/messages"),
            ("cookie", cookie),
        ),
        (
            "portal endpoint page",
            format!("/apps/{app_id}/endpoint/{ep}"),
            ("cookie", cookie),
        ),
        (
            "portal application page",
            format!("/apps/{app_id}"),
            ("cookie", cookie),
        ),
        (
            "API message list",
            format!("/api/v1/app/{app_id}/msg?limit=50"),
            ("authorization", bearer.as_str()),
        ),
        (
            "API endpoint's messages",
            format!("/api/v1/app/{app_id}/endpoint/{ep}/msg?limit=50"),
            ("authorization", bearer.as_str()),
        ),
        (
            "API endpoint's attempts",
            format!("/api/v1/app/{app_id}/attempt/endpoint/{ep}?limit=50"),
            ("authorization", bearer.as_str()),
        ),
    ] {
        let (median, max) = time_get(client, &format!("{base}{path}"), auth).await?;
        println!("  {what:<24} median {median:.1} ms, slowest {max:.1} ms (of 5, on loopback)");
    }
    let (h0, p0) = cpu();
    tokio::time::sleep(quiet).await;
    let (h1, p1) = cpu();
    println!(
        "  while waiting: {:.2} s hookline CPU and {:.2} s PostgreSQL CPU over {:.0} s",
        h1 - h0,
        p1 - p0,
        quiet.as_secs_f64()
    );
    Ok(())
}
