//! What every API request reads before its own work, kept in memory: the organisation behind
//! an API key and, for ingest, the application behind a path's id or uid and its endpoints'
//! payload filters, compiled. Without them a
//! `POST …/msg` made three round trips to PostgreSQL; with them, one (its batch's insert,
//! which also finds the endpoints to deliver to, so an edited endpoint counts at once).
//!
//! How fresh they stay:
//! - a change made through this process (a key revoked, an application renamed or deleted)
//!   drops the entries at once, after its commit;
//! - a change made anywhere else (another process, the CLI, psql) fires a trigger that
//!   NOTIFYs [`CHANNEL`]; every `serve` process listens and drops the entries when the
//!   notification arrives (milliseconds);
//! - a process that is not listening (its connection is down, or it never started the
//!   listener) caches nothing, and every entry also expires after the configured TTL.
//!
//! A lookup that started before an invalidation never stores its (maybe stale) answer after
//! it: each store checks the invalidation count it read before asking the database.
use super::Tenant;
use moka::sync::Cache;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The notification channel of the invalidation triggers (migration
/// `20261209000001_lookup_invalidation.sql`); the payload names what changed: `keys`, `apps`
/// or `filters`.
pub const CHANNEL: &str = "hookline_lookups";

const MAX_KEYS: u64 = 10_000;
const MAX_APPS: u64 = 100_000;
const MAX_FILTER_APPS: u64 = 100_000;

/// An application's endpoints that have a payload filter, each compiled (`None`: it
/// no longer compiles, and the endpoint gets nothing until it is saved again).
pub type AppFilters = Arc<Vec<(String, Option<crate::filter::Filter>)>>;

/// The two caches. Cheap to clone (shared).
#[derive(Clone)]
pub struct Lookups(Arc<Inner>);

struct Inner {
    /// sha256 of the key → its organisation
    keys: Cache<Vec<u8>, Tenant>,
    /// (organisation, id or uid) → application id
    apps: Cache<(String, String), String>,
    /// application id → its filtered endpoints
    filters: Cache<String, AppFilters>,
    /// Invalidations so far: an answer read before one is not stored after it.
    generation: Mutex<u64>,
    /// Whether invalidations reach this process (its listener is connected); caching is off
    /// otherwise.
    listening: AtomicBool,
    enabled: bool,
}

/// What changed, as named in a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changed {
    Keys,
    Apps,
    Filters,
    /// Unknown, or notifications may have been missed: everything.
    All,
}

impl Changed {
    pub fn from_payload(p: &str) -> Self {
        match p {
            "keys" => Self::Keys,
            "apps" => Self::Apps,
            "filters" => Self::Filters,
            _ => Self::All,
        }
    }
}

/// The invalidation count read before a database lookup, to store its answer with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket(u64);

impl std::fmt::Debug for Lookups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lookups")
            .field("keys", &self.0.keys.entry_count())
            .field("apps", &self.0.apps.entry_count())
            .field("listening", &self.0.listening.load(Ordering::Relaxed))
            .finish()
    }
}

impl Lookups {
    /// Caches whose entries live at most `ttl`; a zero `ttl` turns caching off.
    pub fn new(ttl: Duration) -> Self {
        let enabled = !ttl.is_zero();
        let ttl = ttl.max(Duration::from_millis(1));
        Self(Arc::new(Inner {
            keys: Cache::builder().max_capacity(MAX_KEYS).time_to_live(ttl).build(),
            apps: Cache::builder().max_capacity(MAX_APPS).time_to_live(ttl).build(),
            filters: Cache::builder()
                .max_capacity(MAX_FILTER_APPS)
                .time_to_live(ttl)
                .build(),
            generation: Mutex::new(0),
            listening: AtomicBool::new(false),
            enabled,
        }))
    }

    fn on(&self) -> bool {
        self.0.enabled && self.0.listening.load(Ordering::Acquire)
    }

    pub(crate) fn ticket(&self) -> Ticket {
        Ticket(*self.0.generation.lock().expect("lookups lock"))
    }

    pub(crate) fn key(&self, hash: &[u8]) -> Option<Tenant> {
        self.on().then(|| self.0.keys.get(hash)).flatten()
    }

    pub(crate) fn store_key(&self, ticket: Ticket, hash: Vec<u8>, entry: Tenant) {
        let g = self.0.generation.lock().expect("lookups lock");
        if *g == ticket.0 && self.on() {
            self.0.keys.insert(hash, entry);
        }
    }

    pub(crate) fn app(&self, org_id: &str, id_or_uid: &str) -> Option<String> {
        self.on()
            .then(|| self.0.apps.get(&(org_id.to_string(), id_or_uid.to_string())))
            .flatten()
    }

    pub(crate) fn store_app(&self, ticket: Ticket, org_id: &str, id_or_uid: &str, app_id: String) {
        let g = self.0.generation.lock().expect("lookups lock");
        if *g == ticket.0 && self.on() {
            self.0
                .apps
                .insert((org_id.to_string(), id_or_uid.to_string()), app_id);
        }
    }

    pub(crate) fn filters(&self, app_id: &str) -> Option<AppFilters> {
        self.on().then(|| self.0.filters.get(app_id)).flatten()
    }

    pub(crate) fn store_filters(&self, ticket: Ticket, app_id: &str, filters: AppFilters) {
        let g = self.0.generation.lock().expect("lookups lock");
        if *g == ticket.0 && self.on() {
            self.0.filters.insert(app_id.to_string(), filters);
        }
    }

    /// Drops the entries `what` names.
    pub fn invalidate(&self, what: Changed) {
        let mut g = self.0.generation.lock().expect("lookups lock");
        *g += 1;
        if matches!(what, Changed::Keys | Changed::All) {
            self.0.keys.invalidate_all();
        }
        if matches!(what, Changed::Apps | Changed::All) {
            self.0.apps.invalidate_all();
        }
        if matches!(what, Changed::Filters | Changed::All) {
            self.0.filters.invalidate_all();
        }
    }

    fn set_listening(&self, on: bool) {
        self.0.listening.store(on, Ordering::Release);
        // dropped either way: while nobody listened, changes may have gone unheard
        self.invalidate(Changed::All);
    }

    /// Listens for invalidations until `cancel`: caching is on while connected, and the
    /// connection is made again a second after it fails.
    pub async fn listen(self, pool: sqlx::PgPool, cancel: CancellationToken) {
        loop {
            match sqlx::postgres::PgListener::connect_with(&pool).await {
                Ok(mut l) => match l.listen(CHANNEL).await {
                    Ok(()) => {
                        self.set_listening(true);
                        loop {
                            tokio::select! {
                                _ = cancel.cancelled() => {
                                    self.set_listening(false);
                                    return;
                                }
                                n = l.try_recv() => match n {
                                    Ok(Some(n)) => self.invalidate(Changed::from_payload(n.payload())),
                                    // the connection was lost: no caching until a new one
                                    // listens (what was sent meanwhile is lost)
                                    Ok(None) => {
                                        tracing::warn!("the lookups' LISTEN connection was lost; not caching");
                                        break;
                                    }
                                    Err(e) => {
                                        tracing::warn!(error = %e, "the lookups' LISTEN connection failed; not caching");
                                        break;
                                    }
                                }
                            }
                        }
                        self.set_listening(false);
                    }
                    Err(e) => tracing::warn!(error = %e, "LISTEN for lookups failed; not caching"),
                },
                Err(e) => tracing::debug!(error = %e, "cannot open the lookups' LISTEN connection"),
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    #[cfg(test)]
    fn force_listening(&self) {
        self.0.listening.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Tenant {
        Tenant::new("org_1", crate::service::audit::Actor::Operator)
    }

    #[test]
    fn nothing_is_cached_while_invalidations_cannot_arrive() {
        let l = Lookups::new(Duration::from_secs(60));
        let t = l.ticket();
        l.store_key(t, vec![1], entry());
        assert!(l.key(&[1]).is_none());
        l.force_listening();
        let t = l.ticket();
        l.store_key(t, vec![1], entry());
        assert_eq!(l.key(&[1]).unwrap().org_id, "org_1");
    }

    #[test]
    fn an_answer_read_before_an_invalidation_is_not_stored_after_it() {
        let l = Lookups::new(Duration::from_secs(60));
        l.force_listening();
        let before = l.ticket();
        l.invalidate(Changed::Keys);
        l.store_key(before, vec![1], entry());
        assert!(l.key(&[1]).is_none(), "stale answer kept");
        l.store_app(before, "org_1", "my-app", "app_1".into());
        assert!(l.app("org_1", "my-app").is_none(), "stale answer kept");
    }

    #[test]
    fn invalidation_drops_only_what_changed() {
        let l = Lookups::new(Duration::from_secs(60));
        l.force_listening();
        let t = l.ticket();
        l.store_key(t, vec![1], entry());
        l.store_app(t, "org_1", "my-app", "app_1".into());
        l.invalidate(Changed::Apps);
        assert!(l.app("org_1", "my-app").is_none());
        assert!(l.key(&[1]).is_some());
        l.invalidate(Changed::from_payload("keys"));
        assert!(l.key(&[1]).is_none());
    }

    #[test]
    fn a_zero_ttl_caches_nothing() {
        let l = Lookups::new(Duration::ZERO);
        l.force_listening();
        let t = l.ticket();
        l.store_app(t, "org_1", "a", "app_1".into());
        assert!(l.app("org_1", "a").is_none());
    }
}
