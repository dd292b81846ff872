//! The binary as an operator uses it: `hookline serve` with no DATABASE_URL manages its own
//! PostgreSQL under the data dir, `hookline api-key create` works beside it and without it,
//! and data survives a restart.
use reqwest::StatusCode;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn hookline(data_dir: &std::path::Path, port: u16) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hookline"));
    c.env_remove("DATABASE_URL")
        .env("HOOKLINE_DATA_DIR", data_dir)
        .env("HOOKLINE_LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn");
    c
}

fn api_key(data_dir: &std::path::Path, port: u16) -> String {
    let out = hookline(data_dir, port)
        .args(["api-key", "create", "--org", "cli-test"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(key.starts_with("sk_"), "{key}");
    key
}

struct Serve(Child);
impl Drop for Serve {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .status();
        let _ = self.0.wait();
    }
}

async fn serve(data_dir: &std::path::Path, port: u16) -> Serve {
    let child = hookline(data_dir, port)
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let s = Serve(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    let url = format!("http://127.0.0.1:{port}/api/v1/health");
    while reqwest::get(&url).await.map(|r| r.status()).ok() != Some(StatusCode::NO_CONTENT) {
        assert!(Instant::now() < deadline, "hookline serve did not become healthy");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    s
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn serve_manages_its_own_postgres_and_keeps_data_across_restarts() {
    let dir = std::env::temp_dir().join(format!("hookline-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // the managed cluster runs as the postgres user when tests run as root
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let port = free_port();
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}/api/v1");

    let first_key = {
        let _server = serve(&dir, port).await;
        // a key made by the CLI while serve runs on the same data dir works at once
        let key = api_key(&dir, port);
        let r = client
            .post(format!("{base}/app"))
            .bearer_auth(&key)
            .json(&serde_json::json!({"name": "kept", "uid": "kept"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        key
    };
    // with serve stopped, the CLI starts the cluster itself
    let offline_key = api_key(&dir, port);

    let _server = serve(&dir, port).await;
    for key in [&first_key, &offline_key] {
        let r = client
            .get(format!("{base}/app/kept"))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "data and keys survive a restart");
    }
    drop(_server);
    let _ = std::fs::remove_dir_all(&dir);
}
