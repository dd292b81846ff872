//! Applications.
use super::audit::{self, Entry};
use super::{conflict_on_unique, Services, Tenant};
use crate::error::{DomainError, DomainResult};
use crate::ids;
use crate::store::{self, applications::AppWrite, Page};
use crate::types::{ApplicationIn, ApplicationOut, ApplicationPatch, ListResponse};
use crate::validation;
use serde_json::json;

const UID_TAKEN: &str = "an application with this uid already exists";

impl Services {
    /// Creates an application. With `get_if_exists`, an existing one with the same uid is
    /// returned instead. The flag in the result says whether one was created.
    pub async fn create_app(
        &self,
        t: &Tenant,
        input: ApplicationIn,
        get_if_exists: bool,
    ) -> DomainResult<(ApplicationOut, bool)> {
        validation::application_in(&input)?;
        if get_if_exists {
            if let Some(uid) = &input.uid {
                if let Some(existing) = store::applications::get(&self.pool, &t.org_id, uid).await? {
                    return Ok((existing.into(), false));
                }
            }
        }
        let metadata = input.metadata.clone().unwrap_or_default();
        let w = AppWrite {
            name: input.name.trim(),
            uid: input.uid.as_deref(),
            throttle_rate: input.throttle_rate.or(input.rate_limit).map(|r| r as i32),
            metadata: &metadata,
        };
        let mut tx = self.pool.begin().await?;
        let row = store::applications::insert(&mut *tx, &t.org_id, &ids::new_id(ids::APP), &w)
            .await
            .map_err(|e| conflict_on_unique(e, UID_TAKEN))?;
        let entry = Entry::new("application.created").target(&row.id).app(&row.id);
        audit::record(
            &mut *tx,
            t,
            entry.details(json!({"name": row.name, "uid": row.uid})),
        )
        .await?;
        tx.commit().await?;
        Ok((row.into(), true))
    }

    pub async fn get_app(&self, t: &Tenant, id: &str) -> DomainResult<ApplicationOut> {
        Ok(self.app(t, id).await?.into())
    }

    pub async fn list_apps(
        &self,
        t: &Tenant,
        filter: store::applications::AppFilter,
        page: &Page,
    ) -> DomainResult<ListResponse<ApplicationOut>> {
        Ok(store::applications::list(&self.pool, &t.org_id, filter, page).await?)
    }

    /// PUT: replaces the application, or creates it (with `id` as its uid) when missing.
    pub async fn upsert_app(
        &self,
        t: &Tenant,
        id: &str,
        input: ApplicationIn,
    ) -> DomainResult<(ApplicationOut, bool)> {
        validation::application_in(&input)?;
        let metadata = input.metadata.clone().unwrap_or_default();
        match store::applications::get(&self.pool, &t.org_id, id).await? {
            Some(existing) => {
                // The path named it; leaving `uid` out of the body does not erase it.
                let uid = input.uid.clone().or(existing.uid.clone());
                let w = AppWrite {
                    name: input.name.trim(),
                    uid: uid.as_deref(),
                    throttle_rate: input.throttle_rate.or(input.rate_limit).map(|r| r as i32),
                    metadata: &metadata,
                };
                let before: ApplicationOut = existing.clone().into();
                Ok((self.update_app(t, &before, &w).await?, false))
            }
            None => {
                let mut input = input;
                input.uid = input.uid.or_else(|| Some(id.to_string()));
                self.create_app(t, input, false).await
            }
        }
    }

    pub async fn patch_app(
        &self,
        t: &Tenant,
        id: &str,
        patch: ApplicationPatch,
    ) -> DomainResult<ApplicationOut> {
        let cur = self.app(t, id).await?;
        let before: ApplicationOut = cur.clone().into();
        let merged = ApplicationIn {
            name: patch.name.unwrap_or(cur.name),
            uid: patch.uid.unwrap_or(cur.uid),
            throttle_rate: patch
                .throttle_rate
                .or(patch.rate_limit)
                .unwrap_or(cur.throttle_rate.map(i64::from)),
            rate_limit: None,
            metadata: Some(patch.metadata.unwrap_or(cur.metadata.0)),
        };
        validation::application_in(&merged)?;
        let metadata = merged.metadata.clone().unwrap_or_default();
        let w = AppWrite {
            name: merged.name.trim(),
            uid: merged.uid.as_deref(),
            throttle_rate: merged.throttle_rate.map(|r| r as i32),
            metadata: &metadata,
        };
        self.update_app(t, &before, &w).await
    }

    /// Writes the application's new settings and their audit entry, in one transaction.
    async fn update_app(
        &self,
        t: &Tenant,
        before: &ApplicationOut,
        w: &AppWrite<'_>,
    ) -> DomainResult<ApplicationOut> {
        let mut tx = self.pool.begin().await?;
        let row = store::applications::update(&mut *tx, &t.org_id, &before.id, w)
            .await
            .map_err(|e| conflict_on_unique(e, UID_TAKEN))?
            .ok_or(DomainError::NotFound("application"))?;
        let out: ApplicationOut = row.into();
        let fields = audit::changed_fields(before, &out);
        let entry = Entry::new("application.updated").target(&out.id).app(&out.id);
        audit::record(&mut *tx, t, entry.details(json!({"fields": fields}))).await?;
        tx.commit().await?;
        self.lookups.invalidate(super::lookups::Changed::Apps);
        Ok(out)
    }

    /// For ingest: the id of the application `app` (an id or uid), from memory when it can
    /// (see `lookups`).
    pub(super) async fn ingest_target(&self, t: &Tenant, app: &str) -> DomainResult<Option<String>> {
        if let Some(id) = self.lookups.app(&t.org_id, app) {
            return Ok(Some(id));
        }
        let ticket = self.lookups.ticket();
        let found = store::applications::ingest_target(&self.pool, &t.org_id, app).await?;
        if let Some(id) = &found {
            self.lookups.store_app(ticket, &t.org_id, app, id.clone());
        }
        Ok(found)
    }

    pub async fn delete_app(&self, t: &Tenant, id: &str) -> DomainResult<()> {
        let app = self.app(t, id).await?;
        let mut tx = self.pool.begin().await?;
        if store::applications::delete(&mut *tx, &t.org_id, &app.id).await? {
            let entry = Entry::new("application.deleted").target(&app.id).app(&app.id);
            audit::record(
                &mut *tx,
                t,
                entry.details(json!({"name": app.name, "uid": app.uid})),
            )
            .await?;
        }
        tx.commit().await?;
        self.lookups.invalidate(super::lookups::Changed::Apps);
        Ok(())
    }
}

/// The application a message or portal-access request creates when its path names none:
/// as in Svix, the body's `uid` must be set and be the path's, so a typo cannot route the
/// request to a different, new application.
pub(super) fn implicit_app(path_app: &str, new_app: ApplicationIn) -> DomainResult<ApplicationIn> {
    let (msg, kind) = match new_app.uid.as_deref() {
        Some(uid) if uid == path_app => return Ok(new_app),
        Some(_) => (
            "application.uid must be the application in the path",
            "application_uid_mismatch",
        ),
        None => (
            "application.uid must be set (to the application in the path) to create it",
            "application_uid_missing",
        ),
    };
    Err(DomainError::Validation(vec![crate::error::ValidationErrorItem {
        loc: vec!["body".into(), "application".into(), "uid".into()],
        msg: msg.into(),
        kind: kind.into(),
    }]))
}

impl Services {
    /// Every endpoint of the organisation with what it did since `since` (the overview page).
    pub async fn endpoint_activity(
        &self,
        t: &Tenant,
        since: chrono::DateTime<chrono::Utc>,
    ) -> DomainResult<Vec<store::overview::EndpointActivity>> {
        Ok(store::overview::endpoint_activity(&self.pool, &t.org_id, since).await?)
    }
}
