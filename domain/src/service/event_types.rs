//! The event-type catalogue.
use super::{Services, Tenant};
use crate::error::{DomainError, DomainResult};
use crate::store::{self, event_types::EventTypeWrite, Page};
use crate::types::{EventTypeIn, EventTypeOut, EventTypePatch, EventTypeUpdate, ListResponse};
use crate::validation;

impl Services {
    pub async fn create_event_type(&self, t: &Tenant, mut input: EventTypeIn) -> DomainResult<EventTypeOut> {
        validation::event_type_in(&mut input)?;
        let w = EventTypeWrite {
            description: &input.description,
            schemas: input.schemas.as_ref(),
            archived: input.archived.unwrap_or(false),
            deprecated: input.deprecated.unwrap_or(false),
            feature_flag: input.feature_flag.as_deref(),
            group_name: input.group_name.as_deref(),
        };
        store::event_types::insert(&self.pool, &t.org_id, &input.name, &w)
            .await?
            .map(Into::into)
            .ok_or_else(|| DomainError::Conflict("an event type with this name already exists".into()))
    }

    pub async fn get_event_type(&self, t: &Tenant, name: &str) -> DomainResult<EventTypeOut> {
        store::event_types::get(&self.pool, &t.org_id, name)
            .await?
            .map(Into::into)
            .ok_or(DomainError::NotFound("event type"))
    }

    pub async fn list_event_types(
        &self,
        t: &Tenant,
        include_archived: bool,
        page: &Page,
    ) -> DomainResult<ListResponse<EventTypeOut>> {
        Ok(store::event_types::list(&self.pool, &t.org_id, include_archived, page).await?)
    }

    /// PUT: replaces the event type, or creates it. The flag says whether it was created.
    pub async fn upsert_event_type(
        &self,
        t: &Tenant,
        name: &str,
        u: EventTypeUpdate,
    ) -> DomainResult<(EventTypeOut, bool)> {
        let mut input = EventTypeIn {
            name: name.to_string(),
            description: u.description,
            schemas: u.schemas,
            archived: u.archived,
            deprecated: u.deprecated,
            feature_flag: u.feature_flag,
            feature_flags: u.feature_flags,
            group_name: u.group_name,
        };
        validation::event_type_in(&mut input)?;
        let w = EventTypeWrite {
            description: &input.description,
            schemas: input.schemas.as_ref(),
            archived: input.archived.unwrap_or(false),
            deprecated: input.deprecated.unwrap_or(false),
            feature_flag: input.feature_flag.as_deref(),
            group_name: input.group_name.as_deref(),
        };
        match store::event_types::update(&self.pool, &t.org_id, name, &w).await? {
            Some(row) => Ok((row.into(), false)),
            None => Ok((self.create_event_type(t, input).await?, true)),
        }
    }

    pub async fn patch_event_type(
        &self,
        t: &Tenant,
        name: &str,
        p: EventTypePatch,
    ) -> DomainResult<EventTypeOut> {
        let cur = self.get_event_type(t, name).await?;
        // A PATCH that names either flag field replaces the flag; one naming neither keeps it.
        let (feature_flag, feature_flags) = match (p.feature_flag, p.feature_flags) {
            (None, None) => (cur.feature_flag, None),
            (f, fs) => (f.flatten(), fs.flatten()),
        };
        let mut merged = EventTypeIn {
            name: cur.name,
            description: p.description.unwrap_or(cur.description),
            schemas: p.schemas.unwrap_or(cur.schemas),
            archived: Some(p.archived.unwrap_or(cur.archived)),
            deprecated: Some(p.deprecated.unwrap_or(cur.deprecated)),
            feature_flag,
            feature_flags,
            group_name: p.group_name.unwrap_or(cur.group_name),
        };
        validation::event_type_in(&mut merged)?;
        let w = EventTypeWrite {
            description: &merged.description,
            schemas: merged.schemas.as_ref(),
            archived: merged.archived.unwrap_or(false),
            deprecated: merged.deprecated.unwrap_or(false),
            feature_flag: merged.feature_flag.as_deref(),
            group_name: merged.group_name.as_deref(),
        };
        store::event_types::update(&self.pool, &t.org_id, name, &w)
            .await?
            .map(Into::into)
            .ok_or(DomainError::NotFound("event type"))
    }

    /// Sets the description and one version's schema, keeping the other versions.
    pub async fn set_event_type_version(
        &self,
        t: &Tenant,
        name: &str,
        description: &str,
        version: &str,
        schema: serde_json::Value,
    ) -> DomainResult<EventTypeOut> {
        let mut schemas = self
            .get_event_type(t, name)
            .await?
            .schemas
            .filter(|v| v.is_object())
            .unwrap_or_else(|| serde_json::json!({}));
        schemas[version] = schema;
        let patch = EventTypePatch {
            description: Some(description.to_string()),
            schemas: Some(Some(schemas)),
            ..Default::default()
        };
        self.patch_event_type(t, name, patch).await
    }

    /// Archives (default) or, with `expunge`, deletes the event type.
    pub async fn delete_event_type(&self, t: &Tenant, name: &str, expunge: bool) -> DomainResult<()> {
        let found = if expunge {
            store::event_types::expunge(&self.pool, &t.org_id, name).await?
        } else {
            store::event_types::archive(&self.pool, &t.org_id, name).await?
        };
        found.then_some(()).ok_or(DomainError::NotFound("event type"))
    }

    /// 422 naming every event type in `names` that the catalogue does not have.
    pub async fn require_event_types(&self, t: &Tenant, field: &str, names: &[String]) -> DomainResult<()> {
        if names.is_empty() {
            return Ok(());
        }
        let unknown = store::event_types::unknown_names(&self.pool, &t.org_id, names).await?;
        if unknown.is_empty() {
            return Ok(());
        }
        Err(unknown_event_types(field, &unknown))
    }
}

/// The 422 for event types the catalogue does not have, naming them and how to fix it.
fn unknown_event_types(field: &str, unknown: &[String]) -> DomainError {
    DomainError::validation(
        field,
        format!(
            "unknown event type{} {}: create {} first with POST /api/v1/event-type",
            if unknown.len() > 1 { "s" } else { "" },
            unknown
                .iter()
                .map(|n| format!("'{n}'"))
                .collect::<Vec<_>>()
                .join(", "),
            if unknown.len() > 1 { "them" } else { "it" },
        ),
    )
}

/// The first example in an event type's schemas (`{"1": {"examples": [...]}}`), as JSON text.
pub fn example_of(schemas: Option<&serde_json::Value>) -> Option<String> {
    example_at(schemas, 0)
}

/// The `index`-th example of the first schema version that has one (`examples[index]`, or
/// `example` for index 0), as JSON text.
pub fn example_at(schemas: Option<&serde_json::Value>, index: usize) -> Option<String> {
    let versions = schemas?.as_object()?;
    versions.values().find_map(|schema| {
        let listed = schema
            .get("examples")
            .and_then(|e| e.as_array())
            .and_then(|a| a.get(index));
        let ex = match (listed, index) {
            (Some(ex), _) => ex,
            (None, 0) => schema.get("example")?,
            (None, _) => return None,
        };
        ex.is_object().then(|| ex.to_string())
    })
}
