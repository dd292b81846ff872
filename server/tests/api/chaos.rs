//! Chaos: its own durable PostgreSQL, one `serve` (ingest only) and two `worker`s, two
//! receivers on 127.0.0.1, and four clients that send messages, each retrying a failed POST
//! with the same `Idempotency-Key`. Meanwhile a worker is SIGKILLed (and started again) every
//! 2 s, `serve` is SIGKILLed once, PostgreSQL is restarted, and one receiver refuses
//! connections for a while. Outcome: nothing lost, no message created twice, every duplicate delivery a send
//! repeated only after a lease ran out, and the time from the receiver's return until it has
//! every message accepted before. The size is `HOOKLINE_CHAOS_MESSAGES` (default 200, as `scripts/test` runs it;
//! `scripts/chaos` runs a larger one and prints the figures for BENCHMARKS.md).
use crate::procs::{api_key, free_port, OwnCluster, Proc};
use crate::receiver::{Gate, Receiver};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

const LEASE: Duration = Duration::from_secs(5);

fn env(extra: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
    let mut e = vec![
        ("HOOKLINE_WORKERS", "false".to_string()),
        ("HOOKLINE_LEASE", format!("{}s", LEASE.as_secs())),
        ("HOOKLINE_REQUEST_TIMEOUT", "2s".into()),
        (
            "HOOKLINE_RETRY_SCHEDULE",
            "1s,2s,2s,3s,5s,5s,10s,10s,10s,10s".into(),
        ),
    ];
    e.extend_from_slice(extra);
    e
}

/// Sends `n` messages with idempotency keys `c{client}-{k}`, paced over `over`, retrying each
/// until it is accepted; returns the ids the server gave, with when it accepted each.
async fn client(
    base: String,
    key: String,
    app: String,
    client: usize,
    n: usize,
    over: Duration,
) -> Vec<(String, Instant)> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut ids = vec![];
    for k in 0..n {
        let body = json!({"eventType": "a.b", "payload": {"client": client, "k": k}});
        loop {
            let r = http
                .post(format!("{base}/api/v1/app/{app}/msg"))
                .bearer_auth(&key)
                .header("idempotency-key", format!("c{client}-{k}"))
                .json(&body)
                .send()
                .await;
            match r {
                Ok(r) if r.status() == StatusCode::ACCEPTED => {
                    let m: Value = r.json().await.unwrap();
                    ids.push((m["id"].as_str().unwrap().to_string(), Instant::now()));
                    break;
                }
                // refused (serve is down), 503 (the database is), 409 (the key's first try
                // is still held): the same request again shortly
                Ok(r) => assert!(
                    matches!(r.status().as_u16(), 409 | 500..=599),
                    "unexpected {}",
                    r.status()
                ),
                Err(_) => {}
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        tokio::time::sleep(over / n as u32).await;
    }
    ids
}

fn kill(p: &mut Proc) {
    p.child.kill().unwrap();
    p.child.wait().unwrap();
}

#[tokio::test]
async fn nothing_is_lost_while_processes_the_database_and_a_receiver_fail() {
    let messages: usize = std::env::var("HOOKLINE_CHAOS_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let mut pg = OwnCluster::start("chaos").await;
    let secret = domain::crypto::SecretBox::generate_key_base64();
    let port = free_port();
    let serve_env = env(&[("HOOKLINE_LISTEN", format!("127.0.0.1:{port}"))]);
    let mut serve = Proc::spawn("serve", &pg.url, &pg.dir, &secret, &serve_env);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    crate::helpers::eventually(60, "serve is up", || async {
        let r = http.get(format!("{base}/api/v1/health")).send().await;
        r.ok()
            .filter(|r| r.status() == StatusCode::NO_CONTENT)
            .map(|_| ())
    })
    .await;
    let key = api_key(&pg.url, &pg.dir, &secret);
    let post = |path: &str, body: Value| {
        http.post(format!("{base}{path}"))
            .bearer_auth(&key)
            .json(&body)
            .send()
    };
    let a: Value = post("/api/v1/app", json!({"name": "chaos"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let app = a["id"].as_str().unwrap().to_string();
    let (steady, flaky) = (Receiver::start().await, Receiver::start().await);
    // the flaky receiver sits behind a gate that is closed for a while: refused connections
    let gate = Gate::start(&flaky).await;
    let mut endpoint_ids = vec![];
    for url in [steady.url("/"), gate.url("/")] {
        let s = post(&format!("/api/v1/app/{app}/endpoint"), json!({"url": url}))
            .await
            .unwrap();
        assert_eq!(s.status(), StatusCode::CREATED);
        let e: Value = s.json().await.unwrap();
        endpoint_ids.push(e["id"].as_str().unwrap().to_string());
    }
    let worker_env = env(&[]);
    let mut workers: Vec<Proc> = (0..2)
        .map(|_| Proc::spawn("worker", &pg.url, &pg.dir, &secret, &worker_env))
        .collect();

    // the clients send over 12 s; the faults happen meanwhile
    let started = Instant::now();
    let clients: Vec<_> = (0..4)
        .map(|c| {
            let per = messages / 4 + usize::from(c < messages % 4);
            tokio::spawn(client(
                base.clone(),
                key.clone(),
                app.clone(),
                c,
                per,
                Duration::from_secs(12),
            ))
        })
        .collect();
    let at = |secs: f64| tokio::time::sleep_until((started + Duration::from_secs_f64(secs)).into());
    let (mut worker_kills, mut back) = (0, None);
    for step in 0..8 {
        let t = 2.0 * (step + 1) as f64;
        if step == 1 {
            at(3.0).await;
            kill(&mut serve);
            serve = Proc::spawn("serve", &pg.url, &pg.dir, &secret, &serve_env);
        }
        if step == 2 {
            at(5.0).await;
            pg.stop().await;
            at(7.5).await;
            pg.restart().await;
        }
        if step == 4 {
            gate.close();
        }
        if step == 6 {
            gate.open().await;
            back = Some(Instant::now());
        }
        at(t).await;
        let w = &mut workers[step % 2];
        kill(w);
        worker_kills += 1;
        *w = Proc::spawn("worker", &pg.url, &pg.dir, &secret, &worker_env);
    }
    let mut accepted = vec![];
    for c in clients {
        let sent = tokio::time::timeout(Duration::from_secs(120), c).await;
        accepted.extend(
            sent.expect("a client could not get its messages accepted in 2 min")
                .unwrap(),
        );
    }
    let ids: Vec<String> = accepted.iter().map(|(id, _)| id.clone()).collect();
    let sent_by = started.elapsed();
    let back = back.unwrap();

    // every accepted message reaches both endpoints
    let delivered = |r: &Receiver| -> HashMap<String, Vec<Instant>> {
        let mut by = HashMap::<String, Vec<Instant>>::new();
        for g in r.received().into_iter().filter(|g| g.status == 200) {
            by.entry(g.msg_id().to_string()).or_default().push(g.at);
        }
        by
    };
    let want: HashSet<&String> = ids.iter().collect();
    assert_eq!(
        want.len(),
        messages,
        "one message per idempotency key, none created twice"
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        // one map per receiver per poll: the receivers share this thread
        let done = [&steady, &flaky].iter().all(|r| {
            let got = delivered(r);
            want.iter().all(|id| got.contains_key(*id))
        });
        if done {
            break;
        }
        if Instant::now() > deadline {
            let lost: usize = [&steady, &flaky]
                .iter()
                .map(|r| {
                    let got = delivered(r);
                    want.iter().filter(|id| !got.contains_key(**id)).count()
                })
                .sum();
            panic!(
                "{lost} deliveries lost; a worker's log:\n{}",
                workers[0].log_tail(40)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // anything a dead worker's lease still held is re-sent within a lease
    tokio::time::sleep(LEASE + Duration::from_secs(1)).await;

    let mut duplicates = 0;
    for r in [&steady, &flaky] {
        for (id, times) in delivered(r) {
            assert!(want.contains(&id), "{id} was never accepted");
            duplicates += times.len() - 1;
            for pair in times.windows(2) {
                // a delivery is sent again only once the lease of the send before has run out
                assert!(
                    pair[1] - pair[0] >= LEASE - Duration::from_millis(500),
                    "{id} sent twice {:?} apart, inside its lease",
                    pair[1] - pair[0]
                );
            }
        }
    }
    // the gate did refuse: the flaky endpoint's log holds failed connection attempts
    let db = sqlx::PgPool::connect(&pg.url).await.unwrap();
    let refused: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
         WHERE d.endpoint_id = $1 AND a.response_status_code = 0",
    )
    .bind(&endpoint_ids[1])
    .fetch_one(&db)
    .await
    .unwrap();
    assert!(refused > 0, "no attempt found the receiver down");
    db.close().await;
    // recovery: until the flaky receiver has everything accepted before it came back
    let flaky_got = delivered(&flaky);
    let recovery = accepted
        .iter()
        .filter(|(_, at)| *at < back)
        .map(|(id, _)| flaky_got[id][0].saturating_duration_since(back))
        .max()
        .unwrap_or_default();
    let last_any = [&steady, &flaky]
        .iter()
        .flat_map(|r| delivered(r).into_values().flatten())
        .max()
        .unwrap();
    println!(
        "chaos: {messages} messages x 2 endpoints, {worker_kills} worker SIGKILLs, 1 serve SIGKILL, \
         1 PostgreSQL restart (2.5 s down), one receiver refusing connections for 4 s; lost 0, \
         duplicates {duplicates}, {refused} attempts refused; sending took {sent_by:.1?} (clients retrying through the faults), \
         last delivery {:.1?} after the start; the flaky receiver had every message accepted \
         before it came back {recovery:.1?} after it came back",
        last_any.saturating_duration_since(started)
    );
    drop(workers);
    drop(serve);
}
