//! Services: the operations behind the REST API and the portal. They validate, open
//! transactions, call the store and map rows to wire types. Handlers and server functions stay
//! thin: authorise, call one of these, shape the response.
pub mod account_security;
pub mod accounts;
pub mod applications;
pub mod audit;
pub mod endpoint_secrets;
pub mod endpoints;
pub mod event_types;
mod filters;
pub mod inboxes;
mod ingest;
pub mod lookups;
pub mod members;
pub mod messages;
pub mod operational;
mod search;
pub mod submissions;
pub mod tasks;
pub mod users;

use crate::crypto::SecretBox;
use crate::error::{DomainError, DomainResult};
use crate::store::{self, applications::AppRow, endpoints::EndpointRow};

/// Options that change behaviour of the services.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    /// Production mode: endpoint URLs must be https.
    pub https_only: bool,
    /// Base URL of this instance, used in portal links (e.g. `http://127.0.0.1:8080`).
    pub public_url: String,
    /// How long an API key's or an application's lookup is kept at most (see `lookups`);
    /// zero keeps none.
    pub lookup_ttl: std::time::Duration,
}

/// Shared, cheap to clone.
#[derive(Debug, Clone)]
pub struct Services {
    pub pool: sqlx::PgPool,
    pub secrets: SecretBox,
    pub opts: ServiceOptions,
    /// This process's group commit of ingested messages.
    ingest: ingest::Ingest,
    /// API keys' organisations and applications' ids, kept in memory (see `lookups`).
    lookups: lookups::Lookups,
}

/// The organisation a request acts for, and who acts. Every service call takes one.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub org_id: String,
    pub actor: audit::Actor,
}

impl Tenant {
    pub fn new(org_id: impl Into<String>, actor: audit::Actor) -> Self {
        Self {
            org_id: org_id.into(),
            actor,
        }
    }
}

impl Services {
    pub fn new(pool: sqlx::PgPool, secrets: SecretBox, opts: ServiceOptions) -> Self {
        Self {
            pool,
            secrets,
            lookups: lookups::Lookups::new(opts.lookup_ttl),
            opts,
            ingest: ingest::Ingest::default(),
        }
    }

    /// The lookups' caches, for the process to keep fresh (`Lookups::listen`).
    pub fn lookups(&self) -> lookups::Lookups {
        self.lookups.clone()
    }

    /// The tenant's application `app` (by id or uid), or 404; or its operational application
    /// (made on first use).
    pub async fn app<'a>(&self, t: &Tenant, app: impl Into<AppRef<'a>>) -> DomainResult<AppRow> {
        match app.into() {
            AppRef::Named(id_or_uid) => store::applications::get(&self.pool, &t.org_id, id_or_uid)
                .await?
                .ok_or(DomainError::NotFound("application")),
            AppRef::Operational => Ok(store::applications::operational(
                &self.pool,
                &t.org_id,
                &crate::ids::new_id(crate::ids::APP),
            )
            .await?),
        }
    }

    /// The endpoint `ep` of the tenant's application `app`, or 404.
    pub async fn endpoint<'a>(
        &self,
        t: &Tenant,
        app: impl Into<AppRef<'a>>,
        ep: &str,
    ) -> DomainResult<(AppRow, EndpointRow)> {
        let app = self.app(t, app).await?;
        let ep = store::endpoints::get(&self.pool, &app.id, ep)
            .await?
            .ok_or(DomainError::NotFound("endpoint"))?;
        Ok((app, ep))
    }
}

/// Which application a call is about: one the tenant names (by id or uid), or the tenant's
/// operational application, home of its operational-webhook endpoints, which no name reaches.
#[derive(Debug, Clone, Copy)]
pub enum AppRef<'a> {
    Named(&'a str),
    Operational,
}

impl<'a> From<&'a str> for AppRef<'a> {
    fn from(s: &'a str) -> Self {
        AppRef::Named(s)
    }
}

impl<'a> From<&'a String> for AppRef<'a> {
    fn from(s: &'a String) -> Self {
        AppRef::Named(s)
    }
}

impl Services {
    /// The message `id_or_event_id` of an application already resolved for the tenant, or 404.
    pub async fn message(
        &self,
        app_id: &str,
        id_or_event_id: &str,
    ) -> DomainResult<store::messages::MessageRow> {
        store::messages::get(&self.pool, app_id, id_or_event_id)
            .await?
            .ok_or(DomainError::NotFound("message"))
    }
}

/// Maps a unique violation to a 409 with `what`, other errors unchanged.
pub(crate) fn conflict_on_unique(e: sqlx::Error, what: &str) -> DomainError {
    if store::is_unique_violation(&e) {
        DomainError::Conflict(what.to_string())
    } else {
        DomainError::Database(e)
    }
}
