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
    pub org_id: String,
    pub org_name: String,
    /// The person's role in this organisation (pages leave out what it cannot use).
    pub role: domain::types::Role,
    /// Every organisation the person belongs to, (id, name), to switch between.
    pub orgs: Vec<(String, String)>,
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::*;
    use domain::service::accounts::PortalScope;
    use domain::service::users::Account;
    use domain::service::{Services, Tenant};
    use tower_sessions::Session;

    pub const USER_KEY: &str = "user_id";
    /// The organisation the session acts in (a person may belong to several).
    pub const ORG_KEY: &str = "org_id";
    /// The browser (User-Agent) and address a developer session logged in from, for the
    /// account page's list of sessions.
    pub const AGENT_KEY: &str = "agent";
    pub const IP_KEY: &str = "ip";
    /// A consumer-portal session's grant: the hash of its link's token.
    pub const PORTAL_KEY: &str = "portal_grant";

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

    /// A failure of the session store. The store is PostgreSQL and its queries are fixed, so a
    /// backend error means the database is away: say so, as the API's 503 does.
    pub fn session_error(e: tower_sessions::session::Error) -> PortalError {
        use tower_sessions::session::Error as E;
        use tower_sessions::session_store::Error as S;
        match e {
            E::Store(S::Backend(msg)) => {
                tracing::warn!(error = %msg, "session store unavailable");
                PortalError::Unavailable
            }
            e => {
                tracing::error!(error = %e, "session store failed");
                PortalError::Internal
            }
        }
    }

    pub async fn session() -> Result<Session, PortalError> {
        leptos_axum::extract::<Session>()
            .await
            .map_err(|_| PortalError::Internal)
    }

    /// The account of this request's session, or `LoggedOut`.
    pub async fn account() -> Result<Account, PortalError> {
        let session = session().await?;
        let user_id: Option<String> = session.get(USER_KEY).await.map_err(session_error)?;
        let user_id = user_id.ok_or(PortalError::LoggedOut)?;
        let org: Option<String> = session.get(ORG_KEY).await.map_err(session_error)?;
        services()?
            .account(&user_id, org.as_deref())
            .await?
            .ok_or(PortalError::LoggedOut)
    }

    /// The account of this request's session if its role is at least `needed`, else
    /// `Forbidden` saying why. (The server also checks every server function's call against
    /// `roles::needed` before it runs; this covers what a page reads while it renders.)
    pub async fn account_as(needed: domain::types::Role) -> Result<Account, PortalError> {
        let a = account().await?;
        if a.role < needed {
            return Err(PortalError::Forbidden(crate::roles::refusal(a.role, needed)));
        }
        Ok(a)
    }

    /// Who a request acts as: a logged-in developer (their whole organisation) or a consumer
    /// holding a portal link (one application).
    pub enum Viewer {
        Developer(Account),
        Consumer(PortalScope),
    }

    /// The viewer of this request's session. A developer login wins over a portal grant in the
    /// same browser; a link of another organisation is refused while logged in, and logging in
    /// drops any portal grant (see [`start_portal_session`], [`start_session`]), so both always
    /// name the same organisation.
    pub async fn viewer() -> Result<Viewer, PortalError> {
        match account().await {
            Ok(a) => return Ok(Viewer::Developer(a)),
            Err(PortalError::LoggedOut) => {}
            Err(e) => return Err(e),
        }
        let session = session().await?;
        let grant: Option<String> = session.get(PORTAL_KEY).await.map_err(session_error)?;
        let grant = grant.ok_or(PortalError::LoggedOut)?;
        match services()?.resolve_portal_grant(&grant).await {
            Ok(scope) => Ok(Viewer::Consumer(scope)),
            Err(domain::DomainError::Unauthorized(_)) => Err(PortalError::LinkExpired),
            Err(e) => Err(e.into()),
        }
    }

    /// The tenant to act for on application `app`. A developer reaches every application of
    /// their organisation; a consumer only the one its link names, and any other answers 404.
    pub async fn tenant_for(app: &str) -> Result<Tenant, PortalError> {
        match viewer().await? {
            Viewer::Developer(a) => Ok(a.tenant()),
            Viewer::Consumer(p) => {
                let row = services()?.app(&p.tenant, app).await?;
                if row.id == p.app_id {
                    Ok(p.tenant)
                } else {
                    Err(PortalError::NotFound)
                }
            }
        }
    }

    /// True when this request comes from a consumer-portal session (not a developer).
    /// As [`tenant_for`], for a change: a read-only portal link may not make one.
    pub async fn tenant_for_change(app: &str) -> Result<Tenant, PortalError> {
        match viewer().await? {
            Viewer::Consumer(p) if p.read_only => return Err(PortalError::ReadOnly),
            Viewer::Developer(a) if !a.role.can_change() => {
                return Err(PortalError::Forbidden(crate::roles::refusal(
                    a.role,
                    domain::types::Role::Developer,
                )))
            }
            _ => {}
        }
        tenant_for(app).await
    }

    /// Whether this session may only look: a read-only portal link, or a viewer of the
    /// organisation (the pages then offer no changes).
    pub async fn is_read_only() -> Result<bool, PortalError> {
        Ok(match viewer().await? {
            Viewer::Consumer(p) => p.read_only,
            Viewer::Developer(a) => !a.role.can_change(),
        })
    }

    /// Drops the event types a consumer's link may not see (a feature flag it was not given).
    pub async fn hide_flagged(types: &mut Vec<domain::types::EventTypeOut>) -> Result<(), PortalError> {
        if let Viewer::Consumer(p) = viewer().await? {
            types.retain(|e| p.sees_flag(e.feature_flag.as_deref()));
        }
        Ok(())
    }

    pub async fn is_consumer() -> Result<bool, PortalError> {
        Ok(matches!(viewer().await?, Viewer::Consumer(_)))
    }

    /// Turns a consumer-portal token into a session for its application, and returns the
    /// application's id. A developer of the same organisation stays logged in; a developer of
    /// another organisation is asked to log out first, so one session never spans two
    /// organisations.
    pub async fn start_portal_session(
        session: &Session,
        services: &Services,
        token: &str,
    ) -> Result<String, PortalError> {
        let scope = services.resolve_portal_token(token).await.map_err(|e| match e {
            domain::DomainError::Unauthorized(_) => PortalError::LinkExpired,
            e => e.into(),
        })?;
        let user: Option<String> = session.get(USER_KEY).await.map_err(session_error)?;
        let org: Option<String> = session.get(ORG_KEY).await.map_err(session_error)?;
        if let Some(user) = user {
            if let Some(a) = services.account(&user, org.as_deref()).await? {
                if a.org_id != scope.tenant.org_id {
                    // Not a silent logout (anyone can send a link): the person decides.
                    return Err(PortalError::form(
                        "You are logged in to Hookline for another organisation. Log out first, or open \
                         this link in a private window.",
                    ));
                }
            }
        }
        session.cycle_id().await.map_err(session_error)?;
        session
            .insert(PORTAL_KEY, domain::service::accounts::portal_grant(token))
            .await
            .map_err(session_error)?;
        Ok(scope.app_id)
    }

    /// A new consumer-portal link to the organisation's application `app`, valid for an hour.
    pub async fn consumer_portal_url(app: &str, read_only: bool) -> Result<String, PortalError> {
        let t = account().await?.tenant();
        let input = domain::types::AppPortalAccessIn {
            expiry: Some(CONSUMER_LINK_SECS),
            read_only: Some(read_only),
            ..Default::default()
        };
        Ok(services()?.app_portal_access(&t, app, input).await?.url)
    }

    /// How long a link made from the portal stays valid.
    pub const CONSUMER_LINK_SECS: i64 = 3600;

    /// Starts a fresh session (a new id, against fixation) for the account.
    pub async fn start_session(account: &Account) -> Result<(), PortalError> {
        let session = session().await?;
        session.cycle_id().await.map_err(session_error)?;
        session
            .remove::<String>(PORTAL_KEY)
            .await
            .map_err(session_error)?;
        let (agent, ip) = client().await;
        if let Some(agent) = agent {
            session.insert(AGENT_KEY, agent).await.map_err(session_error)?;
        }
        if let Some(ip) = ip {
            session.insert(IP_KEY, ip).await.map_err(session_error)?;
        }
        session
            .insert(ORG_KEY, &account.org_id)
            .await
            .map_err(session_error)?;
        session
            .insert(USER_KEY, &account.user_id)
            .await
            .map_err(session_error)
    }

    /// The request's User-Agent (at most 256 characters) and peer address, when known.
    async fn client() -> (Option<String>, Option<String>) {
        let agent = leptos_axum::extract::<http::HeaderMap>()
            .await
            .ok()
            .and_then(|h| h.get(http::header::USER_AGENT)?.to_str().ok().map(str::to_string))
            .map(|a| a.chars().take(256).collect());
        let ip = leptos_axum::extract::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .await
            .ok()
            .map(|c| c.0.ip().to_string());
        (agent, ip)
    }

    /// The key a session is stored under (in the session store's table and in the user's
    /// list): the digest of its id, never the id itself.
    pub fn store_key(id: &tower_sessions::session::Id) -> String {
        tower_sessions::session::Id(domain::crypto::session_digest(id.0)).to_string()
    }

    /// The store key of this request's session, to tell it apart in the user's list.
    pub async fn this_session_key() -> Result<Option<String>, PortalError> {
        Ok(session().await?.id().as_ref().map(store_key))
    }
}

/// Only local paths are followed after login, so a crafted link cannot send people elsewhere.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n,
        _ => paths::OVERVIEW,
    }
}

/// A random prefix for the page's form submission tokens (see `pages::SubmissionToken`): made
/// on the server, so the page renders and hydrates with the same one.
#[server(prefix = "/_fn", endpoint = "form_nonce")]
pub async fn form_nonce() -> Result<String, PortalError> {
    Ok(domain::crypto::random_token(12))
}

#[server(prefix = "/_fn", endpoint = "signup")]
pub async fn signup(
    email: String,
    password: String,
    organization: Option<String>,
) -> Result<(), PortalError> {
    ssr::respond(
        async move {
            let account = ssr::services()?
                .signup(&email, &password, organization.as_deref().unwrap_or_default())
                .await?;
            ssr::start_session(&account).await?;
            // straight on to the first webhook
            leptos_axum::redirect(paths::WELCOME);
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
            ssr::session().await?.flush().await.map_err(ssr::session_error)?;
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
                    orgs: ssr::services()?
                        .orgs_of(&a.user_id)
                        .await?
                        .into_iter()
                        .map(|(id, name, _)| (id, name))
                        .collect(),
                    email: a.email,
                    org_id: a.org_id,
                    org_name: a.org_name,
                    role: a.role,
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
            Ok(ssr::services()?
                .list_apps(&t, Default::default(), &page)
                .await?
                .data)
        }
        .await,
    )
}

#[server(prefix = "/_fn", endpoint = "create_app")]
pub async fn create_app(
    name: String,
    uid: String,
    submission: Option<String>,
) -> Result<ApplicationOut, PortalError> {
    ssr::respond(
        async move {
            let t = ssr::account().await?.tenant();
            let uid = Some(uid.trim().to_string()).filter(|u| !u.is_empty());
            let input = domain::types::ApplicationIn {
                name,
                uid,
                ..Default::default()
            };
            let s = ssr::services()?;
            Ok(
                s.once_per_submission(&t, "create_app", submission.as_deref(), || async {
                    Ok(s.create_app(&t, input, false).await?.0)
                })
                .await?,
            )
        }
        .await,
    )
}

/// The application's settings: name, uid (empty: none) and rate limit (empty: none).
#[server(prefix = "/_fn", endpoint = "update_app")]
pub async fn update_app(
    app: String,
    name: String,
    uid: String,
    rate_limit: String,
) -> Result<ApplicationOut, PortalError> {
    ssr::respond(
        async move {
            let t = ssr::account().await?.tenant();
            let uid = Some(uid.trim().to_string()).filter(|u| !u.is_empty());
            let patch = domain::types::ApplicationPatch {
                name: Some(name),
                uid: Some(uid),
                throttle_rate: Some(crate::endpoint::parse_rate_limit(&rate_limit)?),
                ..Default::default()
            };
            ssr::services()?
                .patch_app(&t, &app, patch)
                .await
                .map_err(crate::catalog::field_names)
        }
        .await,
    )
}

#[server(prefix = "/_fn", endpoint = "delete_app")]
pub async fn delete_app(id: String, to_list: Option<String>) -> Result<(), PortalError> {
    ssr::respond(
        async move {
            let t = ssr::account().await?.tenant();
            ssr::services()?.delete_app(&t, &id).await?;
            // deleted from its own page: that page is gone, so on to the list
            if to_list.is_some() {
                leptos_axum::redirect(paths::APPS);
            }
            Ok(())
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
            let t = ssr::account_as(domain::types::Role::Admin).await?.tenant();
            Ok(ssr::services()?.list_api_keys(&t).await?)
        }
        .await,
    )
}

/// Creates a key and returns it: this is the only time it is shown. `app` (empty: every
/// application) limits it to one application; `read_only` ("true", a ticked box) to reading.
#[server(prefix = "/_fn", endpoint = "create_api_key")]
pub async fn create_api_key(
    name: String,
    app: Option<String>,
    read_only: Option<String>,
) -> Result<String, PortalError> {
    ssr::respond(
        async move {
            let t = ssr::account_as(domain::types::Role::Admin).await?.tenant();
            let scope = domain::service::audit::KeyScope {
                app_id: app.filter(|a| !a.trim().is_empty()),
                read_only: read_only.as_deref() == Some("true"),
            };
            Ok(ssr::services()?.create_api_key(&t, &name, scope).await?.key)
        }
        .await,
    )
}

#[server(prefix = "/_fn", endpoint = "revoke_api_key")]
pub async fn revoke_api_key(id: String) -> Result<(), PortalError> {
    ssr::respond(
        async move {
            let t = ssr::account_as(domain::types::Role::Admin).await?.tenant();
            Ok(ssr::services()?.revoke_api_key(&t, &id).await?)
        }
        .await,
    )
}

/// Makes an app-portal-access link (valid for an hour) and opens it: the developer sees the
/// consumer portal exactly as their customer will.
#[server(prefix = "/_fn", endpoint = "open_consumer_portal")]
pub async fn open_consumer_portal(app: String) -> Result<(), PortalError> {
    ssr::respond(
        async move {
            let url = ssr::consumer_portal_url(&app, false).await?;
            leptos_axum::redirect(&url);
            Ok(())
        }
        .await,
    )
}

/// Makes an app-portal-access link to hand to a customer, valid for an hour; with
/// `read_only` ("true", a ticked box), a link that can look but not change anything.
#[server(prefix = "/_fn", endpoint = "consumer_portal_link")]
pub async fn consumer_portal_link(app: String, read_only: Option<String>) -> Result<String, PortalError> {
    ssr::respond(ssr::consumer_portal_url(&app, read_only.as_deref() == Some("true")).await)
}
