//! Server functions of the account page (password, sessions) and of password-reset links.
use crate::error::PortalError;
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One live portal session of the logged-in user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionView {
    pub browser: String,
    pub ip: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The session of this browser.
    pub current: bool,
}

/// What the account page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountPageData {
    pub email: String,
    pub org_name: String,
    pub sessions: Vec<SessionView>,
}

/// A short name for a User-Agent: the browser and the system, e.g. "Chrome on Linux".
pub fn browser_name(agent: Option<&str>) -> String {
    let Some(a) = agent else {
        return "Unknown browser".into();
    };
    let browser = [
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]
    .iter()
    .find(|(mark, _)| a.contains(mark))
    .map_or("Other client", |(_, name)| name);
    let system = [
        ("Windows", "Windows"),
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("Mac OS", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(mark, _)| a.contains(mark))
    .map(|(_, name)| *name);
    match system {
        Some(s) => format!("{browser} on {s}"),
        None => browser.to_string(),
    }
}

#[server(prefix = "/_fn", endpoint = "account_page")]
pub async fn account_page() -> Result<AccountPageData, PortalError> {
    use crate::api::ssr;
    ssr::respond(
        async move {
            let a = ssr::account().await?;
            let this = ssr::this_session_key().await?;
            let sessions = ssr::services()?
                .sessions(&a.user_id)
                .await?
                .into_iter()
                .map(|s| SessionView {
                    browser: browser_name(s.user_agent.as_deref()),
                    ip: s.ip,
                    created_at: s.created_at,
                    last_seen_at: s.last_seen_at,
                    expires_at: s.expires_at,
                    current: this.as_deref() == Some(s.session_key.as_str()),
                })
                .collect();
            Ok(AccountPageData {
                email: a.email,
                org_name: a.org_name,
                sessions,
            })
        }
        .await,
    )
}

/// Changes the password (the current one first) and ends the user's other sessions; returns
/// how many ended.
#[server(prefix = "/_fn", endpoint = "change_password")]
pub async fn change_password(current: String, password: String, confirm: String) -> Result<u64, PortalError> {
    use crate::api::ssr;
    ssr::respond(
        async move {
            let a = ssr::account().await?;
            let this = ssr::this_session_key().await?;
            Ok(ssr::services()?
                .change_password(&a, &current, &password, &confirm, this.as_deref())
                .await?)
        }
        .await,
    )
}

/// Logs the user out everywhere but in this browser; returns how many sessions ended.
#[server(prefix = "/_fn", endpoint = "end_other_sessions")]
pub async fn end_other_sessions() -> Result<u64, PortalError> {
    use crate::api::ssr;
    ssr::respond(
        async move {
            let a = ssr::account().await?;
            let this = ssr::this_session_key().await?.ok_or(PortalError::LoggedOut)?;
            Ok(ssr::services()?.end_other_sessions(&a.user_id, &this).await?)
        }
        .await,
    )
}

/// Whether a reset link's token still works.
#[server(prefix = "/_fn", endpoint = "reset_link_works")]
pub async fn reset_link_works(token: String) -> Result<bool, PortalError> {
    use crate::api::ssr;
    ssr::respond(async move { Ok(ssr::services()?.reset_token_works(&token).await?) }.await)
}

/// Sets a new password with a reset link, ends every other session of the user, and logs
/// this browser in.
#[server(prefix = "/_fn", endpoint = "reset_password")]
pub async fn reset_password(token: String, password: String, confirm: String) -> Result<(), PortalError> {
    use crate::api::ssr;
    ssr::respond(
        async move {
            let account = ssr::services()?
                .reset_password(&token, &password, &confirm)
                .await?;
            ssr::start_session(&account).await?;
            leptos_axum::redirect(crate::paths::OVERVIEW);
            Ok(())
        }
        .await,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_are_named_in_words() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                      HeadlessChrome/120.0.0.0 Safari/537.36";
        assert_eq!(browser_name(Some(chrome)), "Chrome on Linux");
        let firefox = "Mozilla/5.0 (Windows NT 10.0; rv:120.0) Gecko/20100101 Firefox/120.0";
        assert_eq!(browser_name(Some(firefox)), "Firefox on Windows");
        assert_eq!(browser_name(Some("reqwest/0.12")), "Other client");
        assert_eq!(browser_name(None), "Unknown browser");
    }
}
