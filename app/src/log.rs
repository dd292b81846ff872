//! The message log of an application: filtered by event type, delivery outcome, time, channel
//! and tag, searchable by id or eventId and by payload content (`domain::search`), paginated.
use crate::error::PortalError;
use domain::types::{MessageOutcome, MessageStatus};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use crate::api::ssr;

/// The log's filters, as the page's query string carries them (every one optional).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogQuery {
    pub event_type: String,
    /// `succeeded`, `pending` or `failed`
    pub status: String,
    /// `datetime-local` values, taken as UTC
    pub after: String,
    pub before: String,
    /// a message id or eventId
    pub q: String,
    /// a payload search: `customer.id = "cus_1"`, words, or both
    pub search: String,
    pub channel: String,
    pub tag: String,
    pub iterator: String,
}

impl LogQuery {
    pub fn outcome(&self) -> Option<MessageStatus> {
        match self.status.as_str() {
            "succeeded" => Some(MessageStatus::Success),
            "pending" => Some(MessageStatus::Pending),
            "failed" => Some(MessageStatus::Fail),
            _ => None,
        }
    }

    /// The query string of this search on another page of results.
    pub fn with_iterator(&self, iterator: &str) -> String {
        let pairs = [
            ("event_type", self.event_type.as_str()),
            ("status", self.status.as_str()),
            ("after", self.after.as_str()),
            ("before", self.before.as_str()),
            ("q", self.q.as_str()),
            ("search", self.search.as_str()),
            ("channel", self.channel.as_str()),
            ("tag", self.tag.as_str()),
            ("iterator", iterator),
        ];
        let mut qs = form_urlencoded::Serializer::new(String::new());
        qs.extend_pairs(pairs.iter().filter(|(_, v)| !v.is_empty()));
        format!("?{}", qs.finish())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogPage {
    pub app_id: String,
    pub app_name: String,
    pub event_types: Vec<String>,
    pub messages: Vec<MessageOutcome>,
    /// Iterators of the older and newer pages, when there are such pages.
    pub older: Option<String>,
    pub newer: Option<String>,
    /// A read-only portal link (the page says so).
    pub read_only: bool,
    /// Why the payload search cannot be run (then no message is listed).
    pub search_error: Option<String>,
}

pub const LOG_PAGE_SIZE: i64 = 25;

#[server(prefix = "/_fn", endpoint = "message_log")]
pub async fn message_log(app: String, #[server(default)] query: LogQuery) -> Result<LogPage, PortalError> {
    ssr::respond(
        async move {
            use crate::endpoint::parse_since;
            use crate::error::FieldProblem;
            use domain::store::{messages::MessageFilter, Page};
            use domain::types::Ordering;
            let t = ssr::tenant_for(&app).await?;
            let s = ssr::services()?;
            let app = s.get_app(&t, &app).await?;
            let time = |field: &str, text: &str| match text.trim() {
                "" => Ok(None),
                v => parse_since(v).map(Some).ok_or_else(|| {
                    PortalError::Invalid(vec![FieldProblem {
                        field: Some(field.into()),
                        message: "Pick a date and time.".into(),
                    }])
                }),
            };
            let given = |v: &str| Some(v.trim().to_string()).filter(|v| !v.is_empty());
            let (search, mut search_error) = match domain::search::parse(query.search.trim()) {
                Ok(found) => (Some(found).filter(|f| *f != Default::default()), None),
                Err(e) => (None, Some(e.0)),
            };
            let filter = MessageFilter {
                event_types: Some(vec![query.event_type.clone()]).filter(|_| !query.event_type.is_empty()),
                after: time("after", &query.after)?,
                before: time("before", &query.before)?,
                outcome: query.outcome(),
                id_or_event_id: given(&query.q),
                channel: given(&query.channel),
                tag: given(&query.tag),
                search,
            };
            let iterator = Some(query.iterator.clone()).filter(|i| !i.is_empty());
            let page = Page::new(Some(LOG_PAGE_SIZE), iterator.clone(), Ordering::Descending);
            let nothing = || domain::types::ListResponse {
                data: Vec::new(),
                iterator: None,
                prev_iterator: None,
                done: true,
            };
            let list = match search_error {
                Some(_) => nothing(),
                None => match s.message_log(&t, &app.id, &filter, &page).await {
                    Ok(list) => list,
                    // what only the database can tell of a search (words that only exclude)
                    // is said under the field too
                    Err(domain::DomainError::Validation(items))
                        if items.iter().any(|i| i.loc.last().is_some_and(|l| l == "search")) =>
                    {
                        search_error = items.into_iter().next().map(|i| i.msg);
                        nothing()
                    }
                    Err(e) => return Err(e.into()),
                },
            };
            let event_types = s
                .list_event_types(&t, true, &Page::new(Some(250), None, Ordering::Ascending))
                .await?
                .data
                .into_iter()
                .map(|e| e.name)
                .collect();
            let (older, newer) = page_links(&list, iterator.as_deref(), |m| &m.message.id);
            Ok(LogPage {
                read_only: ssr::is_read_only().await?,
                app_id: app.id,
                app_name: app.name,
                event_types,
                older,
                newer,
                messages: list.data,
                search_error,
            })
        }
        .await,
    )
}

/// The iterators of the older and newer pages of a newest-first list read with `iterator`
/// (none on the first page), when there are such pages.
pub fn page_links<T>(
    list: &domain::types::ListResponse<T>,
    iterator: Option<&str>,
    id: impl Fn(&T) -> &str,
) -> (Option<String>, Option<String>) {
    let backwards = iterator.is_some_and(|i| i.starts_with('-'));
    // `done` says whether anything lies further in the direction this page was read.
    let at_end = list.done && !backwards;
    let at_start = iterator.is_none() || (backwards && list.done);
    let older = list.data.last().map(|m| id(m).to_string()).filter(|_| !at_end);
    let newer = list
        .data
        .first()
        .map(|m| format!("-{}", id(m)))
        .filter(|_| !at_start);
    (older, newer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_keeps_the_filters() {
        let q = LogQuery {
            event_type: "invoice.paid".into(),
            status: "failed".into(),
            q: "a b".into(),
            search: "customer.id = \"cus_1\"".into(),
            tag: "vip".into(),
            ..Default::default()
        };
        assert_eq!(
            q.with_iterator("msg_1"),
            "?event_type=invoice.paid&status=failed&q=a+b&search=customer.id+%3D+%22cus_1%22&tag=vip&iterator=msg_1"
        );
        assert_eq!(q.outcome(), Some(MessageStatus::Fail));
        assert_eq!(LogQuery::default().outcome(), None);
    }
}
