//! A managed local PostgreSQL cluster: Hookline's zero-config database and the test harness.
//!
//! Layout: `data_dir/pg` is PGDATA and also holds the unix socket, `postgres.log` and
//! `hookline-port` (so restarts keep their port). Auth is `trust` on 127.0.0.1 only: any local
//! user can connect as superuser, which is fine for dev/tests, not for shared hosts.
//! Everything blocks; call it from `tokio::task::spawn_blocking`.

use std::ffi::OsString;
use std::fmt::Display;
use std::net::TcpListener;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::{fs, io, time::Duration};
use tracing::{info, warn};

const SUPERUSER: &str = "postgres";
const PORT_FILE: &str = "hookline-port";
const LOG_FILE: &str = "postgres.log";
const INSTALL_HINT: &str = "install the PostgreSQL server (Debian/Ubuntu: `apt-get install \
postgresql`, Fedora: `dnf install postgresql-server`, macOS: `brew install postgresql`), or set \
HOOKLINE_PG_BIN_DIR to a directory containing `postgres`, `initdb` and `pg_ctl`, or set \
DATABASE_URL to use an existing PostgreSQL server";

#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("PostgreSQL binaries not found ({detail}). To fix: {hint}", hint = INSTALL_HINT)]
    BinariesNotFound { detail: String },
    #[error(
        "running as root, but PostgreSQL refuses root and /etc/passwd has no `postgres` \
user: create one (`useradd --system --home-dir /var/lib/postgresql postgres`), run Hookline as \
a non-root user, or set DATABASE_URL to use an existing server"
    )]
    NoPostgresUser,
    #[error("running as root, so the cluster must belong to the `postgres` user, but that user \
cannot enter {d} (a private directory such as /root). Set HOOKLINE_DATA_DIR to a directory \
outside it (e.g. /var/lib/hookline) or run `chmod o+x {d}`", d = .0.display())]
    NotAccessible(PathBuf),
    #[error("{0}: {1}")]
    Io(String, #[source] io::Error),
    #[error("{0} failed: {1}")]
    Command(String, String),
    #[error("PostgreSQL did not start: {detail}\n--- end of the server log ---\n{log_tail}")]
    StartFailed { detail: String, log_tail: String },
}

fn io_err(context: impl Display) -> impl FnOnce(io::Error) -> PgError {
    move |e| PgError::Io(context.to_string(), e)
}

#[derive(Debug, Clone)]
pub struct PgOptions {
    /// The cluster lives in `data_dir/pg`.
    pub data_dir: PathBuf,
    /// None = the persisted port if still free, else a free port on 127.0.0.1.
    pub port: Option<u16>,
    /// Tests: fsync/synchronous_commit/full_page_writes off, `initdb -N`, `stop -m immediate`.
    pub ephemeral: bool,
}

#[derive(Debug)]
pub struct ManagedPostgres {
    bin: PathBuf,
    pgdata: PathBuf,
    port: u16,
    /// (uid, gid) of the `postgres` OS user when we are root.
    run_as: Option<(u32, u32)>,
    ephemeral: bool,
    /// We started the postmaster (did not reuse one): only then does stop()/Drop shut it down.
    owned: bool,
}

impl ManagedPostgres {
    /// Find binaries, initdb a new cluster, start it (or reuse one already running on this
    /// data dir) and create the `hookline` database if missing.
    pub fn start(opts: PgOptions) -> Result<Self, PgError> {
        let bin = find_pg_bin_dir()?;
        let dir = opts.data_dir.join("pg");
        fs::create_dir_all(&dir).map_err(io_err(format!("creating {}", dir.display())))?;
        let pgdata = fs::canonicalize(&dir).map_err(io_err(format!("resolving {dir:?}")))?;
        let run_as = if effective_uid() == 0 {
            Some(hand_to_postgres_user(&pgdata)?)
        } else {
            None
        };
        // postgres refuses to start unless PGDATA is 0700 or 0750.
        fs::set_permissions(&pgdata, fs::Permissions::from_mode(0o700))
            .map_err(io_err(format!("chmod {}", pgdata.display())))?;
        let mut pg = ManagedPostgres {
            bin,
            pgdata,
            port: 0, // set below, once we know whether a cluster is already running
            run_as,
            ephemeral: opts.ephemeral,
            owned: false,
        };
        if !pg.pgdata.join("PG_VERSION").exists() {
            info!(pgdata = %pg.pgdata.display(), "initializing PostgreSQL cluster");
            let mut c = pg.cmd("initdb");
            c.arg("-D").arg(&pg.pgdata);
            c.args("-A trust -U postgres --encoding=UTF8 --locale=C --no-instructions".split(' '));
            if pg.ephemeral {
                c.arg("-N"); // no fsync: most of initdb's time
            }
            run("initdb", &mut c)?;
        }
        if let Some(port) = pg.running_port() {
            info!(port, pgdata = %pg.pgdata.display(), "reusing running PostgreSQL cluster");
            if opts.port.is_some_and(|p| p != port) {
                warn!(port, "the running cluster ignores the configured port");
            }
            pg.port = port;
            pg.wait_ready()?;
        } else {
            pg.port = pick_port(opts.port, &pg.pgdata.join(PORT_FILE))?;
            pg.pg_start()?;
            pg.owned = true;
        }
        pg.ensure_database("hookline")?;
        Ok(pg)
    }

    /// `postgres://postgres@127.0.0.1:PORT/hookline`
    pub fn database_url(&self) -> String {
        self.url_for("hookline")
    }

    /// URL for another database on the same cluster (`db` is used verbatim: keep it URL-safe).
    pub fn url_for(&self, db: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{db}", self.port)
    }

    /// Stops the cluster if this handle started it. Idempotent; a no-op for a reused cluster.
    pub fn stop(&mut self) -> Result<(), PgError> {
        if !std::mem::take(&mut self.owned) {
            return Ok(());
        }
        let mode = if self.ephemeral { "immediate" } else { "fast" };
        info!(port = self.port, mode, "stopping PostgreSQL");
        run("pg_ctl stop", self.pg_ctl("stop").args(["-m", mode, "-w"])).map(drop)
    }

    /// A command from the bin dir, run as `postgres` when we are root, with a neutral cwd
    /// (the tools complain about an unreadable cwd such as /root) and no stray PG* env.
    fn cmd(&self, prog: &str) -> Command {
        let mut c = Command::new(self.bin.join(prog));
        c.current_dir("/");
        for v in "PGDATA PGHOST PGPORT PGUSER PGDATABASE PGOPTIONS PGSERVICE".split(' ') {
            c.env_remove(v);
        }
        if let Some((uid, gid)) = self.run_as {
            c.uid(uid).gid(gid);
        }
        c
    }

    fn pg_ctl(&self, action: &str) -> Command {
        let mut c = self.cmd("pg_ctl");
        c.arg(action).arg("-D").arg(&self.pgdata);
        c
    }

    /// Port of a live postmaster on this data dir. `pg_ctl status` checks that the pid in
    /// postmaster.pid is alive, so a stale file (after a crash) reads as "not running", and
    /// the postmaster itself discards it on the next start.
    fn running_port(&self) -> Option<u16> {
        let pidfile = fs::read_to_string(self.pgdata.join("postmaster.pid")).ok()?;
        let port = pidfile.lines().nth(3)?.trim().parse().ok()?;
        let alive = self.pg_ctl("status").output().ok()?.status.success();
        alive.then_some(port)
    }

    /// A reused cluster may still be starting up: poll pg_isready for up to ~30 s.
    fn wait_ready(&self) -> Result<(), PgError> {
        let port = self.port.to_string();
        for _ in 0..30 {
            let mut c = self.cmd("pg_isready");
            c.args(["-q", "-h", "127.0.0.1", "-p", &port, "-t", "1"]);
            if c.status().is_ok_and(|s| s.success()) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        let detail = format!("a postmaster runs but 127.0.0.1:{port} is not ready");
        Err(self.start_failed(detail))
    }

    fn pg_start(&self) -> Result<(), PgError> {
        // sun_path holds ~104 bytes: with a long path go TCP-only rather than fail to start.
        let sock = match self.pgdata.to_str() {
            Some(p) if p.len() < 85 => format!("'{}'", p.replace('\'', r"'\''")), // for /bin/sh
            _ => "''".to_string(),
        };
        let mut o = format!("-c listen_addresses=127.0.0.1 -p {} -k {sock}", self.port);
        o.push_str(" -c max_connections=200");
        if self.ephemeral {
            o.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        } else {
            o.push_str(&tuned_settings(memory_kib()));
        }
        info!(port = self.port, pgdata = %self.pgdata.display(), "starting PostgreSQL");
        let mut c = self.pg_ctl("start");
        c.arg("-l").arg(self.pgdata.join(LOG_FILE));
        let out = c.args(["-w", "-t", "60", "-o", &o]).output();
        let out = out.map_err(io_err("running pg_ctl start"))?;
        if !out.status.success() {
            let (port, status, text) = (self.port, out.status, output_text(&out));
            let detail = format!("pg_ctl start, port {port} ({status}): {text}");
            return Err(self.start_failed(detail));
        }
        if let Err(e) = fs::write(self.pgdata.join(PORT_FILE), self.port.to_string()) {
            warn!(error = %e, "could not persist the PostgreSQL port");
        }
        Ok(())
    }

    fn start_failed(&self, detail: String) -> PgError {
        let log = self.pgdata.join(LOG_FILE);
        let text = fs::read_to_string(&log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let log_tail = lines[lines.len().saturating_sub(30)..].join("\n");
        let detail = format!("{detail} (log: {})", log.display());
        PgError::StartFailed { detail, log_tail }
    }

    fn ensure_database(&self, db: &str) -> Result<(), PgError> {
        let psql = |sql: &str| {
            let mut c = self.cmd("psql");
            c.args("-X -q -tA -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres".split(' '));
            c.args(["-p", &self.port.to_string(), "-d", "postgres", "-c", sql]);
            run("psql", &mut c).map(|out| text(&out.stdout))
        };
        if psql(&format!("SELECT 1 FROM pg_database WHERE datname = '{db}'"))? != "1" {
            info!(db, "creating database");
            psql(&format!("CREATE DATABASE \"{db}\""))?;
        }
        Ok(())
    }
}

impl Drop for ManagedPostgres {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            warn!(error = %e, "stopping PostgreSQL failed");
        }
    }
}

/// The managed cluster's settings where PostgreSQL's defaults are made for a small shared
/// box, not for a queue: `shared_buffers` an eighth of the machine's memory (between the
/// default 128 MB and 1 GB; with 128 MB a 30-second benchmark left 94% of them dirty, and
/// the backends wrote out pages themselves); checkpoints no more often than every 10 minutes
/// or 2 GB of WAL (at 1 GB a sustained 1,500 messages a second checkpointed about every two
/// minutes, each followed by a burst of full-page writes); and autovacuum looking for work
/// every 10 seconds instead of every minute, so that the deliveries partitions' own
/// thresholds (see `domain::store::partitions::DELIVERIES_STORAGE`) take effect promptly.
fn tuned_settings(memory_kib: Option<u64>) -> String {
    let buffers_mib = memory_kib.map_or(128, |kib| (kib / 1024 / 8).clamp(128, 1024));
    format!(
        " -c shared_buffers={buffers_mib}MB -c max_wal_size=2GB -c checkpoint_timeout=10min \
         -c autovacuum_naptime=10s"
    )
}

/// The machine's memory (`MemTotal` of /proc/meminfo), if it can be read.
fn memory_kib() -> Option<u64> {
    let info = fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Locate a directory holding `postgres`, `initdb` and `pg_ctl`.
pub fn find_pg_bin_dir() -> Result<PathBuf, PgError> {
    let env = std::env::var_os;
    find_bin_dir_with(env("HOOKLINE_PG_BIN_DIR"), env("PATH"))
}

fn is_bin_dir(d: &Path) -> bool {
    let has = |b: &str| d.join(b).is_file();
    has("postgres") && has("initdb") && has("pg_ctl")
}

/// Env values are parameters so tests need not touch the process-global environment.
fn find_bin_dir_with(env: Option<OsString>, path: Option<OsString>) -> Result<PathBuf, PgError> {
    if let Some(d) = env.filter(|d| !d.is_empty()).map(PathBuf::from) {
        // An explicit setting must not silently fall back to something else.
        let detail = format!("HOOKLINE_PG_BIN_DIR={d:?} lacks postgres/initdb/pg_ctl");
        let found = is_bin_dir(&d).then_some(d);
        return found.ok_or(PgError::BinariesNotFound { detail });
    }
    // Resolve PATH links: Debian's /usr/local/bin/initdb points into /usr/lib/postgresql/N/bin,
    // while pg_wrapper links resolve elsewhere and fail is_bin_dir.
    let mut cands: Vec<PathBuf> = std::env::split_paths(&path.unwrap_or_default())
        .flat_map(|dir| ["initdb", "pg_ctl"].map(|b| dir.join(b)))
        .filter_map(|p| Some(fs::canonicalize(p).ok()?.parent()?.to_path_buf()))
        .collect();
    // Debian/Ubuntu layout, newest major version first (numerically: 9.6 < 10 < 15).
    let mut versions: Vec<(Vec<u32>, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let v: Option<Vec<u32>> = name.split('.').map(|p| p.parse().ok()).collect();
            Some((v?, e.path().join("bin")))
        })
        .collect();
    versions.sort();
    cands.extend(versions.into_iter().rev().map(|(_, p)| p));
    if let Some(d) = cands.into_iter().find(|d| is_bin_dir(d)) {
        return Ok(d);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let d = PathBuf::from(text(&out.stdout));
        if out.status.success() && is_bin_dir(&d) {
            return Ok(d);
        }
    }
    let detail = "searched PATH, /usr/lib/postgresql/*/bin, `pg_config --bindir`".to_string();
    Err(PgError::BinariesNotFound { detail })
}

/// /proc/self belongs to the effective uid, so no `unsafe { geteuid() }`; `id -u` elsewhere.
fn effective_uid() -> u32 {
    if let Ok(m) = fs::metadata("/proc/self") {
        return m.uid();
    }
    let out = Command::new("id").arg("-u").output();
    out.ok()
        .and_then(|o| text(&o.stdout).parse().ok())
        .unwrap_or(u32::MAX)
}

/// As root: initdb/postgres/pg_ctl refuse root, so PGDATA must belong to the `postgres` user,
/// which must also be able to enter every ancestor. Only its primary group counts, because
/// std drops supplementary groups when it switches uid.
fn hand_to_postgres_user(pgdata: &Path) -> Result<(u32, u32), PgError> {
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    let (uid, gid) = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 3 && f[0] == SUPERUSER)
        .and_then(|f| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
        .ok_or(PgError::NoPostgresUser)?;
    for dir in pgdata.ancestors().skip(1) {
        let m = fs::metadata(dir).map_err(io_err(format!("stat {}", dir.display())))?;
        let bit = match (m.uid() == uid, m.gid() == gid) {
            (true, _) => 0o100,
            (_, true) => 0o010,
            _ => 0o001,
        };
        if m.mode() & bit == 0 {
            return Err(PgError::NotAccessible(dir.to_path_buf()));
        }
    }
    let m = fs::metadata(pgdata).map_err(io_err(format!("stat {}", pgdata.display())))?;
    if m.uid() != uid {
        chown_r(pgdata, uid, gid).map_err(io_err(format!("chown {}", pgdata.display())))?;
    }
    Ok((uid, gid))
}

fn chown_r(p: &Path, uid: u32, gid: u32) -> io::Result<()> {
    std::os::unix::fs::lchown(p, Some(uid), Some(gid))?;
    if fs::symlink_metadata(p)?.is_dir() {
        for e in fs::read_dir(p)? {
            chown_r(&e?.path(), uid, gid)?;
        }
    }
    Ok(())
}

/// Explicit port, else the persisted one if still free, else one the OS picks (a tiny race
/// until postgres binds it).
fn pick_port(requested: Option<u16>, port_file: &Path) -> Result<u16, PgError> {
    let saved = fs::read_to_string(port_file).ok();
    let saved = saved.and_then(|s| s.trim().parse().ok());
    let free = |p: &u16| TcpListener::bind(("127.0.0.1", *p)).is_ok();
    if let Some(p) = requested.or(saved.filter(free)) {
        return Ok(p);
    }
    let addr = TcpListener::bind(("127.0.0.1", 0)).and_then(|l| l.local_addr());
    Ok(addr.map_err(io_err("finding a free port"))?.port())
}

fn run(what: &str, c: &mut Command) -> Result<Output, PgError> {
    let out = c.output().map_err(io_err(format!("running {what}")))?;
    if out.status.success() {
        return Ok(out);
    }
    let output = format!("{}: {}", out.status, output_text(&out));
    Err(PgError::Command(what.into(), output))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim().to_string()
}

fn output_text(out: &Output) -> String {
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    format!("{stdout} {stderr}").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn tmp_dir(tag: &str) -> PathBuf {
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::UNIX_EPOCH.elapsed().unwrap().subsec_nanos();
        let n = N.fetch_add(1, Ordering::Relaxed);
        let name = format!("hookline-pg-{tag}-{}-{nanos}-{n}", std::process::id());
        let d = std::env::temp_dir().join(name);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn start(data_dir: &Path, ephemeral: bool) -> Result<ManagedPostgres, PgError> {
        let (data_dir, port) = (data_dir.to_path_buf(), None);
        ManagedPostgres::start(PgOptions {
            data_dir,
            port,
            ephemeral,
        })
    }

    /// Runs SQL through a URL, as an application would.
    fn sql(pg: &ManagedPostgres, url: &str, q: &str) -> String {
        let mut c = Command::new(pg.bin.join("psql"));
        c.args(["-X", "-tA", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", q]);
        let out = c.output().unwrap();
        assert!(out.status.success(), "psql {q}: {}", output_text(&out));
        text(&out.stdout)
    }

    #[test]
    fn shared_buffers_are_an_eighth_of_memory_within_bounds() {
        let buffers = |kib| {
            let s = tuned_settings(kib);
            let at = s.find("shared_buffers=").unwrap() + "shared_buffers=".len();
            s[at..].split_whitespace().next().unwrap().to_string()
        };
        assert_eq!(buffers(Some(4 * 1024 * 1024)), "512MB");
        assert_eq!(buffers(Some(512 * 1024)), "128MB", "never below the default");
        assert_eq!(buffers(Some(64 * 1024 * 1024)), "1024MB", "at most 1 GB");
        assert_eq!(buffers(None), "128MB");
    }

    #[test]
    fn start_query_stop_restart_persists() {
        let dir = tmp_dir("restart");
        let mut pg = start(&dir, false).unwrap();
        let url = pg.database_url();
        assert!(url.starts_with("postgres://postgres@127.0.0.1:") && url.ends_with("/hookline"));
        assert_eq!(sql(&pg, &url, "select 1"), "1");
        // a cluster that keeps data runs with the settings made for Hookline
        assert_eq!(sql(&pg, &url, "show autovacuum_naptime"), "10s");
        assert_eq!(sql(&pg, &url, "show max_wal_size"), "2GB");
        sql(&pg, &url, "create table t (v text); insert into t values ('k')");
        sql(&pg, &pg.url_for("postgres"), "create database other");
        let other = sql(&pg, &pg.url_for("other"), "select current_database()");
        assert_eq!(other, "other");
        pg.stop().unwrap();
        pg.stop().unwrap(); // idempotent
        assert!(!dir.join("pg/postmaster.pid").exists());
        let pg2 = start(&dir, false).unwrap();
        assert!(pg2.owned);
        assert_eq!(pg2.database_url(), url, "persisted port is reused");
        assert_eq!(sql(&pg2, &url, "select v from t"), "k");
        drop(pg2);
        assert!(!dir.join("pg/postmaster.pid").exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn reuses_running_cluster_and_leaves_it_running() {
        let dir = tmp_dir("reuse");
        let (a, mut b) = (start(&dir, true).unwrap(), start(&dir, true).unwrap());
        assert!(a.owned && !b.owned);
        assert_eq!(a.database_url(), b.database_url());
        b.stop().unwrap();
        drop(b);
        assert_eq!(sql(&a, &a.database_url(), "select 1"), "1");
        drop(a);
        assert!(!dir.join("pg/postmaster.pid").exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn recovers_from_killed_postmaster() {
        let dir = tmp_dir("crash");
        let pg = start(&dir, true).unwrap();
        let pidfile = fs::read_to_string(dir.join("pg/postmaster.pid")).unwrap();
        let pid = pidfile.lines().next().unwrap();
        let kill = Command::new("kill").args(["-9", pid]).status();
        assert!(kill.unwrap().success());
        std::thread::sleep(Duration::from_millis(500)); // let orphaned backends exit
        drop(pg); // stop fails (already dead): only a warning
        assert!(dir.join("pg/postmaster.pid").exists(), "stale pid file");
        let pg = start(&dir, true).unwrap();
        assert!(pg.owned);
        assert_eq!(sql(&pg, &pg.database_url(), "select 1"), "1");
        drop(pg);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn start_failure_reports_log_tail() {
        let dir = tmp_dir("busy");
        let busy = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = Some(busy.local_addr().unwrap().port());
        let opts = PgOptions {
            data_dir: dir.clone(),
            port,
            ephemeral: true,
        };
        let err = ManagedPostgres::start(opts).unwrap_err();
        assert!(matches!(err, PgError::StartFailed { .. }), "{err}");
        assert!(err.to_string().contains("could not bind IPv4 address"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn discovery_errors_and_symlinks() {
        let dir = tmp_dir("bin");
        let err = find_bin_dir_with(Some(dir.clone().into()), None).unwrap_err();
        assert!(matches!(err, PgError::BinariesNotFound { .. }));
        let msg = err.to_string();
        let dir_s = format!("{dir:?}");
        for needle in [
            "apt-get install postgresql",
            "brew install",
            "DATABASE_URL",
            &dir_s,
        ] {
            assert!(msg.contains(needle), "{needle:?} missing from: {msg}");
        }
        // A PATH entry whose initdb is a symlink resolves to the real bin dir.
        let real = find_pg_bin_dir().unwrap();
        std::os::unix::fs::symlink(real.join("initdb"), dir.join("initdb")).unwrap();
        let found = find_bin_dir_with(None, Some(dir.clone().into())).unwrap();
        assert_eq!(found, fs::canonicalize(&real).unwrap());
        assert!(is_bin_dir(&found));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn root_needs_traversable_parents() {
        if effective_uid() != 0 {
            return;
        }
        let dir = tmp_dir("locked");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
        let err = start(&dir.join("data"), true).unwrap_err();
        assert!(matches!(err, PgError::NotAccessible(_)), "{err}");
        assert!(err.to_string().contains("HOOKLINE_DATA_DIR"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
