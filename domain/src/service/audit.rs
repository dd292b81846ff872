//! Who acts (the [`Actor`] every [`Tenant`] carries) and the audit log of what they changed.
use super::{Services, Tenant};
use crate::error::{DomainError, DomainResult};
use crate::ids;
use crate::store::{self, audit::EntryFilter, Page};
use crate::types::{AuditActorOut, AuditEntryOut, ListResponse, AUDIT_ACTIONS};
use serde_json::Value;
use sqlx::PgExecutor;

/// Who a request acts as, for the audit log (and, for API keys, what the key may reach).
#[derive(Debug, Clone, PartialEq)]
pub enum Actor {
    /// A person logged in to the portal.
    User { id: String, email: String },
    /// An API key: its id, shown prefix and scope.
    Key {
        id: String,
        prefix: String,
        scope: KeyScope,
    },
    /// A consumer-portal link (an `appsk_` token or a portal session) to one application.
    PortalLink { app_id: String },
    /// The operator's command line (`hookline key create`, `hookline user reset-password`).
    Operator,
}

/// What an API key reaches: the whole organisation or one application, and whether it may
/// change anything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyScope {
    pub app_id: Option<String>,
    pub read_only: bool,
}

impl Actor {
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::User { .. } => "user",
            Actor::Key { .. } => "api_key",
            Actor::PortalLink { .. } => "portal_link",
            Actor::Operator => "operator",
        }
    }

    /// How the audit log names the actor: an email, a key prefix, an application id, `cli`.
    pub fn name(&self) -> &str {
        match self {
            Actor::User { email, .. } => email,
            Actor::Key { prefix, .. } => prefix,
            Actor::PortalLink { app_id } => app_id,
            Actor::Operator => "cli",
        }
    }

    /// The key's scope, for an API key.
    pub fn key_scope(&self) -> Option<&KeyScope> {
        match self {
            Actor::Key { scope, .. } => Some(scope),
            _ => None,
        }
    }
}

/// What happened, to write in the change's transaction with [`record`].
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// One of [`AUDIT_ACTIONS`].
    pub action: &'static str,
    pub target: Option<&'a str>,
    pub app_id: Option<&'a str>,
    pub details: Value,
}

impl<'a> Entry<'a> {
    pub fn new(action: &'static str) -> Self {
        debug_assert!(
            AUDIT_ACTIONS.iter().any(|(c, _)| *c == action),
            "{action} is not in AUDIT_ACTIONS"
        );
        Self {
            action,
            target: None,
            app_id: None,
            details: Value::Object(Default::default()),
        }
    }
    pub fn target(mut self, target: &'a str) -> Self {
        self.target = Some(target);
        self
    }
    pub fn app(mut self, app_id: &'a str) -> Self {
        self.app_id = Some(app_id);
        self
    }
    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
}

/// Why the portal shows an endpoint's signing secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretsShown {
    /// Someone asked to see them: recorded.
    Reveal,
    /// The result of the rotation just made (recorded as the rotation).
    AfterRotation,
}

pub(crate) fn secret_revealed<'a>(app_id: &'a str, endpoint_id: &'a str) -> Entry<'a> {
    Entry::new("endpoint.secret_revealed")
        .target(endpoint_id)
        .app(app_id)
}

/// An endpoint created (`before` is None) or changed: enabled or disabled when that flipped,
/// else edited, with the names of the fields that changed.
pub(crate) fn endpoint_entry<'a>(
    app_id: &'a str,
    before: Option<&crate::types::EndpointOut>,
    after: &'a crate::types::EndpointOut,
) -> Entry<'a> {
    let entry = |action| Entry::new(action).target(&after.id).app(app_id);
    let Some(before) = before else {
        return entry("endpoint.created").details(serde_json::json!({"uid": after.uid}));
    };
    let action = match (before.disabled, after.disabled) {
        (false, true) => "endpoint.disabled",
        (true, false) => "endpoint.enabled",
        _ => "endpoint.updated",
    };
    entry(action).details(serde_json::json!({"fields": changed_fields(before, after)}))
}

/// Writes the entry for the tenant's actor, with the executor of the change it records.
pub(crate) async fn record(db: impl PgExecutor<'_>, t: &Tenant, e: Entry<'_>) -> sqlx::Result<()> {
    record_as(db, &t.org_id, &t.actor, e).await
}

pub(crate) async fn record_as(
    db: impl PgExecutor<'_>,
    org_id: &str,
    actor: &Actor,
    e: Entry<'_>,
) -> sqlx::Result<()> {
    let id = ids::new_id(ids::AUDIT);
    store::audit::record(
        db,
        org_id,
        &store::audit::NewEntry {
            id: &id,
            actor_kind: actor.kind(),
            actor: actor.name(),
            action: e.action,
            target: e.target,
            app_id: e.app_id,
            details: &e.details,
        },
    )
    .await
}

/// Writes the entry in every organisation the user belongs to: a change to the account itself
/// (its password) concerns each of them.
pub(crate) async fn record_for_user(
    conn: &mut sqlx::PgConnection,
    user_id: &str,
    actor: &Actor,
    e: Entry<'_>,
) -> sqlx::Result<()> {
    for org in store::audit::member_orgs(&mut *conn, user_id).await? {
        record_as(&mut *conn, &org, actor, e.clone()).await?;
    }
    Ok(())
}

/// The names of the fields whose values differ between two versions of a resource (both
/// serialised as JSON objects), leaving out its `updatedAt`. Values are not kept: a URL or a
/// header may hold a credential.
pub(crate) fn changed_fields<T: serde::Serialize>(before: &T, after: &T) -> Vec<String> {
    let (Ok(Value::Object(a)), Ok(Value::Object(b))) =
        (serde_json::to_value(before), serde_json::to_value(after))
    else {
        return Vec::new();
    };
    let mut names: Vec<String> = a
        .keys()
        .chain(b.keys().filter(|k| !a.contains_key(*k)))
        .filter(|k| *k != "updatedAt" && a.get(*k) != b.get(*k))
        .cloned()
        .collect();
    names.sort();
    names
}

impl Services {
    /// The organisation's audit log, newest first by default.
    pub async fn audit_log(
        &self,
        t: &Tenant,
        f: EntryFilter,
        page: &Page,
    ) -> DomainResult<ListResponse<AuditEntryOut>> {
        if let Some(a) = &f.action {
            if !AUDIT_ACTIONS.iter().any(|(c, _)| c == a) {
                let known: Vec<&str> = AUDIT_ACTIONS.iter().map(|(c, _)| *c).collect();
                return Err(DomainError::Validation(vec![crate::error::ValidationErrorItem {
                    loc: vec!["query".into(), "action".into()],
                    msg: format!("unknown action '{a}'; the actions are {}", known.join(", ")),
                    kind: "value_error".into(),
                }]));
            }
        }
        let mut f = f;
        // a uid names the application it names now; an id also a deleted application's
        if let Some(app) = &f.app_id {
            match self.app(t, app.as_str()).await {
                Ok(row) => f.app_id = Some(row.id),
                Err(DomainError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let list = store::audit::list(&self.pool, &t.org_id, &f, page).await?;
        Ok(super::messages::map_list(list, |r| AuditEntryOut {
            id: r.id,
            timestamp: r.at,
            actor: AuditActorOut {
                kind: r.actor_kind,
                name: r.actor,
            },
            action: r.action,
            target: r.target,
            app_id: r.app_id,
            details: r.details.0,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_the_names_of_changed_fields_are_kept() {
        let a = json!({"url": "https://a/?token=s3cret", "disabled": false, "updatedAt": "1", "uid": null});
        let b =
            json!({"url": "https://b/?token=other", "disabled": true, "updatedAt": "2", "uid": null, "x": 1});
        assert_eq!(changed_fields(&a, &b), vec!["disabled", "url", "x"]);
        assert!(changed_fields(&a, &a).is_empty());
    }

    #[test]
    fn actors_are_named_without_secrets() {
        let key = Actor::Key {
            id: "key_1".into(),
            prefix: "sk_abcd".into(),
            scope: KeyScope::default(),
        };
        assert_eq!((key.kind(), key.name()), ("api_key", "sk_abcd"));
        assert_eq!(Actor::Operator.name(), "cli");
    }
}
