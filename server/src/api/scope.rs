//! What a credential for part of an organisation may reach: an API key limited to one
//! application or to reading, and an app-portal token (`appsk_…`) of one application.
use super::error::ApiError;
use super::AppState;
use axum::http::request::Parts;
use axum::http::StatusCode;
use domain::service::Tenant;

/// A read-only API key may only read (GET and HEAD); a key for one application reaches its
/// application's paths and the event-type catalogue, to read. Another organisation's or
/// application's ids answer 404 as they do for any key; anything else out of scope, 403.
pub(super) async fn check_key_scope(
    state: &AppState,
    parts: &Parts,
    tenant: &Tenant,
    scope: &domain::service::audit::KeyScope,
) -> Result<(), ApiError> {
    let reads = matches!(parts.method, axum::http::Method::GET | axum::http::Method::HEAD);
    if !reads && scope.read_only {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this API key is read-only: it cannot make changes",
        ));
    }
    let Some(app_id) = &scope.app_id else {
        return Ok(());
    };
    match app_path(state, parts, tenant, app_id, "an API key for one application").await? {
        AppPath::Catalogue if reads => Ok(()),
        AppPath::PortalAccess => Ok(()),
        AppPath::Own { whole_app: true } if !reads => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "an API key for one application cannot change or delete the application itself",
        )),
        AppPath::Own { .. } => Ok(()),
        AppPath::Catalogue => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "an API key for one application may read the event types, not change them",
        )),
    }
}

/// Where a request made with a credential for one application goes.
enum AppPath {
    /// Under `/api/v1/app/{its app}`; `whole_app` when it is the application itself.
    Own { whole_app: bool },
    /// The event-type catalogue.
    Catalogue,
    /// Consumer-portal links of its application (`auth/app-portal-access/{app}`,
    /// `auth/dashboard-access/{app}`, `auth/app/{app}/expire-all`).
    PortalAccess,
}

/// Places the request for a credential of application `app_id`: its own paths or the
/// catalogue; another application of the organisation, or one of another organisation,
/// answers 404 (as if it did not exist), anything else 403 naming `who`.
async fn app_path(
    state: &AppState,
    parts: &Parts,
    tenant: &Tenant,
    app_id: &str,
    who: &str,
) -> Result<AppPath, ApiError> {
    let path = parts.uri.path();
    if path == "/api/v1/event-type" || path.starts_with("/api/v1/event-type/") {
        return Ok(AppPath::Catalogue);
    }
    let first = |rest: &str| rest.split_once('/').map_or(rest, |(app, _)| app).to_string();
    let (app, place) = if let Some(rest) = path.strip_prefix("/api/v1/app/") {
        let whole_app = !rest.contains('/');
        (first(rest), AppPath::Own { whole_app })
    } else if let Some(rest) = [
        "/api/v1/auth/app-portal-access/",
        "/api/v1/auth/dashboard-access/",
    ]
    .iter()
    .find_map(|p| path.strip_prefix(p))
    {
        (first(rest), AppPath::PortalAccess)
    } else if let Some(app) = path
        .strip_prefix("/api/v1/auth/app/")
        .and_then(|rest| rest.strip_suffix("/expire-all"))
    {
        (app.to_string(), AppPath::PortalAccess)
    } else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("{who} reaches only that application's paths"),
        ));
    };
    let app = percent_encoding::percent_decode_str(&app)
        .decode_utf8_lossy()
        .into_owned();
    match state.services.app(tenant, app.as_str()).await {
        Ok(row) if row.id == app_id => Ok(place),
        Ok(_) | Err(domain::DomainError::NotFound(_)) => {
            Err(domain::DomainError::NotFound("application").into())
        }
        Err(e) => Err(e.into()),
    }
}

/// An app-portal token reaches its own application's paths (read-only tokens only to read),
/// the event-type catalogue to read, and `auth/logout`. Another application's paths answer
/// 404, as if they did not exist; anything else 403.
pub(super) async fn check_app_scope(
    state: &AppState,
    parts: &Parts,
    scope: &domain::service::accounts::PortalScope,
) -> Result<(), ApiError> {
    let reads = matches!(parts.method, axum::http::Method::GET | axum::http::Method::HEAD);
    let forbidden = |why: &str| ApiError::new(StatusCode::FORBIDDEN, "forbidden", why.to_string());
    if parts.uri.path() == "/api/v1/auth/logout" {
        return Ok(());
    }
    match app_path(state, parts, &scope.tenant, &scope.app_id, "an app-portal token").await? {
        AppPath::Catalogue if reads => Ok(()),
        AppPath::Catalogue | AppPath::PortalAccess => Err(forbidden(
            "an app-portal token reaches only its own application's paths",
        )),
        AppPath::Own { whole_app: true } if !reads => Err(forbidden(
            "an app-portal token cannot change or delete its application",
        )),
        AppPath::Own { .. } if !reads && scope.read_only => {
            Err(forbidden("this app-portal token is read-only"))
        }
        AppPath::Own { .. } => Ok(()),
    }
}
