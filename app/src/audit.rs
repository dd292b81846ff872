//! The organisation's audit log for the portal: filtered by action, actor and application,
//! newest first, paginated.
use crate::error::PortalError;
use domain::types::AuditEntryOut;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use crate::api::ssr;

/// The page's filters, as its query string carries them (every one optional).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditQuery {
    /// an action code (`endpoint.deleted`)
    pub action: String,
    /// text the actor's name (email, key prefix) contains
    pub actor: String,
    pub app: String,
    pub iterator: String,
}

impl AuditQuery {
    /// The query string of this search on another page of results.
    pub fn with_iterator(&self, iterator: &str) -> String {
        let pairs = [
            ("action", self.action.as_str()),
            ("actor", self.actor.as_str()),
            ("app", self.app.as_str()),
            ("iterator", iterator),
        ];
        let mut qs = form_urlencoded::Serializer::new(String::new());
        qs.extend_pairs(pairs.iter().filter(|(_, v)| !v.is_empty()));
        format!("?{}", qs.finish())
    }

    pub fn filtered(&self) -> bool {
        !(self.action.is_empty() && self.actor.is_empty() && self.app.is_empty())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntryOut>,
    /// The organisation's applications (id, name): the filter's choices, and names for ids.
    pub apps: Vec<(String, String)>,
    pub older: Option<String>,
    pub newer: Option<String>,
}

pub const AUDIT_PAGE_SIZE: i64 = 50;

#[server(prefix = "/_fn", endpoint = "audit_log")]
pub async fn audit_log(#[server(default)] query: AuditQuery) -> Result<AuditPage, PortalError> {
    ssr::respond(
        async move {
            use domain::store::{audit::EntryFilter, Page};
            use domain::types::Ordering;
            let t = ssr::account().await?.tenant();
            let s = ssr::services()?;
            let some = |v: &str| Some(v.trim().to_string()).filter(|v| !v.is_empty());
            let filter = EntryFilter {
                action: some(&query.action),
                actor: some(&query.actor),
                app_id: some(&query.app),
            };
            let iterator = some(&query.iterator);
            let page = Page::new(Some(AUDIT_PAGE_SIZE), iterator.clone(), Ordering::Descending);
            let list = s.audit_log(&t, filter, &page).await?;
            let (older, newer) = crate::log::page_links(&list, iterator.as_deref(), |e| &e.id);
            let all = Page::new(Some(250), None, Ordering::Ascending);
            let apps = s
                .list_apps(&t, Default::default(), &all)
                .await?
                .data
                .into_iter()
                .map(|a| (a.id, a.name))
                .collect();
            Ok(AuditPage {
                entries: list.data,
                apps,
                older,
                newer,
            })
        }
        .await,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_keeps_the_filters() {
        let q = AuditQuery {
            action: "endpoint.deleted".into(),
            actor: "ada@".into(),
            ..Default::default()
        };
        assert_eq!(
            q.with_iterator("audit_1"),
            "?action=endpoint.deleted&actor=ada%40&iterator=audit_1"
        );
        assert!(q.filtered());
        assert!(!AuditQuery::default().filtered());
    }
}
