//! A worker process killed with SIGKILL mid-batch loses nothing: its leases expire and another
//! worker delivers every message, and not before the lease says so.
use crate::helpers::*;
use crate::receiver::{Receiver, Reply};
use serde_json::json;
use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::Duration;

const LEASE_SECS: u64 = 4;

fn worker_process(app: &TestApp, data_dir: &std::path::Path, key: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_hookline"))
        .arg("worker")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &app.db_url)
        .env("HOOKLINE_DATA_DIR", data_dir)
        .env("HOOKLINE_SECRET_KEY", key)
        .env("HOOKLINE_ALLOWED_NETWORKS", "127.0.0.0/8")
        .env("HOOKLINE_REQUEST_TIMEOUT", "3s")
        .env("HOOKLINE_LEASE", format!("{LEASE_SECS}s"))
        .env("HOOKLINE_RETRY_SCHEDULE", "50ms")
        .env("HOOKLINE_POLL_INTERVAL", "100ms")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start hookline worker")
}

#[tokio::test]
async fn a_worker_killed_mid_batch_loses_nothing() {
    // The API server runs no workers of its own here: only the child processes deliver.
    let secret_key = domain::crypto::SecretBox::generate_key_base64();
    let sk = secret_key.clone();
    let app = spawn_app_with(move |s| {
        s.run_workers = false;
        s.secret_key = Some(sk.into());
    })
    .await;
    let id = app.setup_app(&["a.b"]).await;
    let r = Receiver::start().await;
    // The first worker's sends hang until it is killed.
    r.set_default(Reply {
        delay: Duration::from_secs(2),
        ..Reply::status(200)
    });
    app.create_endpoint(&id, json!({"url": r.url("/")})).await;
    let mut ids = vec![];
    for i in 0..20 {
        ids.push(
            app.send(&id, json!({"eventType": "a.b", "payload": {"i": i}}))
                .await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let dir = std::env::temp_dir().join(format!("hookline-crash-{}", std::process::id()));
    let mut first = worker_process(&app, &dir, &secret_key);
    eventually(20, "the first worker is mid-batch", || async {
        (r.count() >= 5).then_some(())
    })
    .await;
    first.kill().expect("SIGKILL the worker");
    first.wait().unwrap();
    let in_flight: Vec<String> = r.received().iter().map(|g| g.msg_id().to_string()).collect();

    r.set_default(Reply::status(200));
    let mut second = worker_process(&app, &dir, &secret_key);
    let all_done = eventually(30, "every message delivered", || async {
        let mut done = 0;
        for m in &ids {
            let (_, d) = app.get(&format!("/api/v1/app/{id}/msg/{m}/endpoint")).await;
            if d["data"][0]["status"] == 0 {
                done += 1;
            }
        }
        (done == ids.len()).then_some(done)
    })
    .await;
    second.kill().ok();
    second.wait().ok();
    assert_eq!(all_done, 20);

    let got = r.received();
    let mut by_msg: HashMap<&str, Vec<std::time::Instant>> = HashMap::new();
    for g in &got {
        by_msg.entry(g.msg_id()).or_default().push(g.at);
    }
    assert_eq!(by_msg.len(), 20, "every message arrived");
    for m in &in_flight {
        let times = &by_msg[m.as_str()];
        assert!(
            times.len() >= 2,
            "{m} was in flight when the worker died, so it is sent again"
        );
        // Not re-sent before the dead worker's lease expired.
        assert!(
            times[1] - times[0] >= Duration::from_secs(LEASE_SECS) - Duration::from_millis(500),
            "{m} re-sent after {:?}",
            times[1] - times[0]
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}
