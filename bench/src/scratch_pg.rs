//! A PostgreSQL of the benchmark's own, with Hookline's schema: the storage and search
//! benchmarks fill it directly, without a server.
use anyhow::Context;
use domain::store::partitions::Layout;
use server::embedded_pg::{ManagedPostgres, PgOptions};
use std::path::PathBuf;

pub struct ScratchPg {
    pg: ManagedPostgres,
    dir: PathBuf,
    pub pool: sqlx::PgPool,
}

impl ScratchPg {
    /// Starts a cluster in a fresh directory named after `what` and migrates its database.
    pub async fn start(what: &str, layout: Layout) -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("hookline-{what}-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
        let pg = ManagedPostgres::start(PgOptions {
            data_dir: dir.clone(),
            port: None,
            ephemeral: false,
        })
        .context("starting PostgreSQL")?;
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .connect_with(domain::store::connect_options(&pg.database_url())?)
            .await?;
        domain::store::migrate(&pool, layout).await?;
        Ok(Self { pg, dir, pool })
    }

    /// Stops the cluster and removes its directory.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.pool.close().await;
        self.pg.stop()?;
        let _ = std::fs::remove_dir_all(&self.dir);
        Ok(())
    }
}
