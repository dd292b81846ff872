//! Real `hookline` processes for the tests that run several of them, or take their database
//! away: each test owns a PostgreSQL cluster it may stop and start, and the processes it
//! spawns are killed when their handles drop.
use server::embedded_pg::{ManagedPostgres, PgOptions};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A PostgreSQL cluster of this test's own, under `dir/pg`, which it can stop and restart
/// (on the same port: the port is persisted in the data dir). Durable, unlike the shared test
/// cluster: a commit that was acknowledged survives the stop, as in production.
pub struct OwnCluster {
    pub dir: PathBuf,
    pg: Option<ManagedPostgres>,
    pub url: String,
}

impl OwnCluster {
    pub async fn start(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("hookline-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let pg = Self::boot(&dir).await;
        let url = pg.database_url();
        Self {
            dir,
            pg: Some(pg),
            url,
        }
    }

    async fn boot(dir: &Path) -> ManagedPostgres {
        let opts = PgOptions {
            data_dir: dir.to_path_buf(),
            port: None,
            ephemeral: false,
        };
        tokio::task::spawn_blocking(move || ManagedPostgres::start(opts))
            .await
            .unwrap()
            .expect("start the test's own PostgreSQL")
    }

    /// Stops PostgreSQL (fast mode: every client's connection is cut at once).
    pub async fn stop(&mut self) {
        let mut pg = self.pg.take().expect("running");
        tokio::task::spawn_blocking(move || pg.stop().expect("stop PostgreSQL"))
            .await
            .unwrap();
    }

    pub async fn restart(&mut self) {
        assert!(self.pg.is_none(), "stopped first");
        let pg = Self::boot(&self.dir).await;
        assert_eq!(pg.database_url(), self.url, "the same port again");
        self.pg = Some(pg);
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        if let Some(mut pg) = self.pg.take() {
            let _ = pg.stop();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A free port on 127.0.0.1 (free when asked; the process binds it right after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `hookline` child process, killed (SIGKILL) when dropped.
pub struct Proc {
    pub child: Child,
    log: PathBuf,
}

impl Proc {
    /// `hookline <cmd>` on `db_url` with a test configuration; `extra` env vars override it.
    pub fn spawn(
        cmd: &str,
        db_url: &str,
        data_dir: &Path,
        secret_key: &str,
        extra: &[(&str, String)],
    ) -> Self {
        let mut c = Command::new(env!("CARGO_BIN_EXE_hookline"));
        c.arg(cmd)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", db_url)
            .env("HOOKLINE_DATA_DIR", data_dir)
            .env("HOOKLINE_SECRET_KEY", secret_key)
            .env("HOOKLINE_ALLOWED_NETWORKS", "127.0.0.0/8")
            .env("HOOKLINE_REQUEST_TIMEOUT", "3s")
            .env("HOOKLINE_RETRY_SCHEDULE", "1s,1s,1s,1s,1s")
            .env("HOOKLINE_POLL_INTERVAL", "200ms")
            .stdout(Stdio::null());
        // its log, for a failing test to show (`Proc::log`)
        let log = data_dir.join(format!("{cmd}-{}.log", rand_suffix()));
        c.stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in extra {
            c.env(k, v);
        }
        Self {
            child: c.spawn().expect("start hookline"),
            log,
        }
    }

    /// The last lines of the process's log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Still running (it has not exited or crashed).
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// CPU time used so far, in clock ticks (user + system), from /proc.
    pub fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap();
        // the fields after the command name, which is in parentheses and may hold spaces
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let f: Vec<&str> = rest.split(' ').collect();
        f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
    }

    /// SIGTERM, then the exit status. Waits without blocking the runtime: the test's own
    /// receivers must go on answering while the process drains its sends.
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `hookline api-key create`: a key for a new organisation, as an operator makes one.
pub fn api_key(db_url: &str, data_dir: &Path, secret_key: &str) -> String {
    api_key_with(db_url, data_dir, secret_key, &[]).unwrap_or_else(|e| panic!("{e}"))
}

/// `hookline api-key create --org test-org --name tests` with more arguments: the key, or
/// what the command said on stderr when it failed.
pub fn api_key_with(
    db_url: &str,
    data_dir: &Path,
    secret_key: &str,
    extra: &[&str],
) -> Result<String, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_hookline"))
        .args(["api-key", "create", "--org", "test-org", "--name", "tests"])
        .args(extra)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db_url)
        .env("HOOKLINE_DATA_DIR", data_dir)
        .env("HOOKLINE_SECRET_KEY", secret_key)
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(String::from_utf8(out.stdout).unwrap().trim().to_string())
}

fn rand_suffix() -> String {
    use rand::Rng;
    format!("{:08x}", rand::thread_rng().gen::<u32>())
}
