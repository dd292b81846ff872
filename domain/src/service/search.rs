//! Message search (`crate::search`): what only the database can tell of a search.
use super::Services;
use crate::error::{DomainError, DomainResult};
use crate::store::{self, messages::MessageFilter};

impl Services {
    /// Refuses a search that only reading every message could answer: words that only
    /// exclude (`-test`, `-a or b`), with no field to look up.
    pub(crate) async fn check_search(&self, f: &MessageFilter) -> DomainResult<()> {
        if let Some(crate::search::Search {
            contains: None,
            text: Some(words),
        }) = &f.search
        {
            if !store::messages::words_use_index(&self.pool, words).await? {
                return Err(DomainError::Validation(vec![crate::ValidationErrorItem {
                    loc: vec!["query".into(), "search".into()],
                    msg: "this search only excludes words (-word, or -a or b): add a word or a field to look for"
                        .into(),
                    kind: "value_error".into(),
                }]));
            }
        }
        Ok(())
    }
}
