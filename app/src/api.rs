//! Server functions: thin — authorise, call one domain service, shape the result.
use crate::error::PortalError;
use crate::paths;
use domain::types::ApplicationOut;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The logged-in account, as pages show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountView {
    pub email: String,
    pub org_name: String,
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::*;
    use domain::service::users::Account;
    use domain::service::Services;
    use tower_sessions::Session;

    pub const USER_KEY: &str = "user_id";

    /// Gives a failing server function the HTTP status that fits: a person's mistake is a 4xx,
    /// never a 500.
    pub fn respond<T>(result: Result<T, PortalError>) -> Result<T, PortalError> {
        if let Err(e) = &result {
            if let Some(opts) = use_context::<leptos_axum::ResponseOptions>() {
                opts.set_status(
                    http::StatusCode::from_u16(e.status()).unwrap_or(http::StatusCode::BAD_REQUEST),
                );
            }
        }
        result
    }

    pub fn services() -> Result<Services, PortalError> {
        use_context::<Services>().ok_or(PortalError::Internal)
    }

    pub async fn session() -> Result<Session, PortalError> {
        leptos_axum::extract::<Session>()
            .await
            .map_err(|_| PortalError::Internal)
    }

    /// The account of this request's session, or `LoggedOut`.
    pub async fn account() -> Result<Account, PortalError> {
        let session = session().await?;
        let user_id: Option<String> = session.get(USER_KEY).await.map_err(|_| PortalError::Internal)?;
        let user_id = user_id.ok_or(PortalError::LoggedOut)?;
        services()?.account(&user_id).await?.ok_or(PortalError::LoggedOut)
    }

    /// Starts a fresh session (a new id, against fixation) for the account.
    pub async fn start_session(account: &Account) -> Result<(), PortalError> {
        let session = session().await?;
        session.cycle_id().await.map_err(|_| PortalError::Internal)?;
        session
            .insert(USER_KEY, &account.user_id)
            .await
            .map_err(|_| PortalError::Internal)
    }
}

/// Only local paths are followed after login, so a crafted link cannot send people elsewhere.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n,
        _ => paths::APPS,
    }
}

#[server(prefix = "/_fn", endpoint = "signup")]
pub async fn signup(email: String, password: String, organization: String) -> Result<(), PortalError> {
    ssr::respond(
        async move {
            let account = ssr::services()?.signup(&email, &password, &organization).await?;
            ssr::start_session(&account).await?;
            leptos_axum::redirect(paths::APPS);
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/_fn", endpoint = "login")]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), PortalError> {
    ssr::respond(
        async move {
            let account = ssr::services()?.login(&email, &password).await?;
            ssr::start_session(&account).await?;
            leptos_axum::redirect(safe_next(next.as_deref()));
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/_fn", endpoint = "logout")]
pub async fn logout() -> Result<(), PortalError> {
    ssr::respond(
        async move {
            ssr::session()
                .await?
                .flush()
                .await
                .map_err(|_| PortalError::Internal)?;
            leptos_axum::redirect(paths::LOGIN);
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/_fn", endpoint = "current_account")]
pub async fn current_account() -> Result<Option<AccountView>, PortalError> {
    ssr::respond(
        async move {
            match ssr::account().await {
                Ok(a) => Ok(Some(AccountView {
                    email: a.email,
                    org_name: a.org_name,
                })),
                Err(PortalError::LoggedOut) => Ok(None),
                Err(e) => Err(e),
            }
        }
        .await,
    )
}

#[server(prefix = "/_fn", endpoint = "list_apps")]
pub async fn list_apps() -> Result<Vec<ApplicationOut>, PortalError> {
    ssr::respond(
        async move {
            let t = ssr::account().await?.tenant();
            let page = domain::store::Page::new(Some(250), None, domain::types::Ordering::Descending);
            Ok(ssr::services()?.list_apps(&t, &page).await?.data)
        }
        .await,
    )
}

#[server(prefix = "/_fn", endpoint = "create_app")]
pub async fn create_app(name: String, uid: String) -> Result<ApplicationOut, PortalError> {
    ssr::respond(
        async move {
            let t = ssr::account().await?.tenant();
            let uid = Some(uid.trim().to_string()).filter(|u| !u.is_empty());
            let input = domain::types::ApplicationIn {
                name,
                uid,
                ..Default::default()
            };
            Ok(ssr::services()?.create_app(&t, input, false).await?.0)
        }
        .await,
    )
}

#[server(prefix = "/_fn", endpoint = "delete_app")]
pub async fn delete_app(id: String) -> Result<(), PortalError> {
    ssr::respond(
        async move {
            let t = ssr::account().await?.tenant();
            Ok(ssr::services()?.delete_app(&t, &id).await?)
        }
        .await,
    )
}

/// An API key in the list: name, shown prefix, when it was last used.
pub use domain::types::ApiKeyOut;

#[server(prefix = "/_fn", endpoint = "list_api_keys")]
pub async fn list_api_keys() -> Result<Vec<ApiKeyOut>, PortalError> {
    ssr::respond(
        async move {
            let t = ssr::account().await?.tenant();
            Ok(ssr::services()?.list_api_keys(&t).await?)
        }
        .await,
    )
}

/// Creates a key and returns it: this is the only time it is shown.
#[server(prefix = "/_fn", endpoint = "create_api_key")]
pub async fn create_api_key(name: String) -> Result<String, PortalError> {
    ssr::respond(
        async move {
            let t = ssr::account().await?.tenant();
            Ok(ssr::services()?.create_api_key(&t, &name).await?.key)
        }
        .await,
    )
}

#[server(prefix = "/_fn", endpoint = "revoke_api_key")]
pub async fn revoke_api_key(id: String) -> Result<(), PortalError> {
    ssr::respond(
        async move {
            let t = ssr::account().await?.tenant();
            Ok(ssr::services()?.revoke_api_key(&t, &id).await?)
        }
        .await,
    )
}
