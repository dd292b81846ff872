//! Members of the organisation: the list with roles, invitations by link, role changes,
//! removal and leaving; switching organisations; joining by an invitation link.
use crate::error::PortalError;
#[cfg(feature = "ssr")]
use crate::paths;
use domain::types::{InviteInfo, InviteOut, MemberOut, Role};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use crate::api::ssr;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MembersData {
    /// The person looking, and their role here.
    pub me: String,
    pub my_role: Role,
    pub org_name: String,
    pub members: Vec<MemberOut>,
    /// Open invitations (an admin's view; empty for the others).
    pub invites: Vec<InviteOut>,
    /// Whether the person belongs to another organisation (they may then leave this one).
    pub has_other_org: bool,
}

#[server(prefix = "/_fn", endpoint = "members_page")]
pub async fn members_page() -> Result<MembersData, PortalError> {
    ssr::respond(
        async move {
            let a = ssr::account().await?;
            let t = a.tenant();
            let s = ssr::services()?;
            let invites = if a.role == Role::Admin {
                s.open_invites(&t).await?
            } else {
                Vec::new()
            };
            Ok(MembersData {
                members: s.members(&t).await?,
                has_other_org: s.orgs_of(&a.user_id).await?.len() > 1,
                me: a.user_id,
                my_role: a.role,
                org_name: a.org_name,
                invites,
            })
        }
        .await,
    )
}

#[cfg(feature = "ssr")]
fn role_of(role: &str) -> Result<Role, PortalError> {
    Role::parse(role).ok_or_else(|| {
        PortalError::Invalid(vec![crate::error::FieldProblem {
            field: Some("role".into()),
            message: "Choose admin, developer or viewer.".into(),
        }])
    })
}

/// A new invitation link (one-time, valid for a week) to join with `role`.
#[server(prefix = "/_fn", endpoint = "invite_member")]
pub async fn invite_member(role: String) -> Result<String, PortalError> {
    ssr::respond(
        async move {
            let t = ssr::account_as(Role::Admin).await?.tenant();
            Ok(ssr::services()?.invite(&t, role_of(&role)?).await?)
        }
        .await,
    )
}

#[server(prefix = "/_fn", endpoint = "revoke_invite")]
pub async fn revoke_invite(id: String) -> Result<(), PortalError> {
    ssr::respond(
        async move {
            let t = ssr::account_as(Role::Admin).await?.tenant();
            Ok(ssr::services()?.revoke_invite(&t, &id).await?)
        }
        .await,
    )
}

#[server(prefix = "/_fn", endpoint = "set_member_role")]
pub async fn set_member_role(user: String, role: String) -> Result<(), PortalError> {
    ssr::respond(
        async move {
            let t = ssr::account_as(Role::Admin).await?.tenant();
            Ok(ssr::services()?
                .set_member_role(&t, &user, role_of(&role)?)
                .await?)
        }
        .await,
    )
}

#[server(prefix = "/_fn", endpoint = "remove_member")]
pub async fn remove_member(user: String) -> Result<(), PortalError> {
    ssr::respond(
        async move {
            let t = ssr::account_as(Role::Admin).await?.tenant();
            Ok(ssr::services()?.remove_member(&t, &user).await?)
        }
        .await,
    )
}

/// Leaves this organisation for the person's next one (never their only one, and never as
/// its last admin).
#[server(prefix = "/_fn", endpoint = "leave_org")]
pub async fn leave_org() -> Result<(), PortalError> {
    ssr::respond(
        async move {
            let a = ssr::account().await?;
            let s = ssr::services()?;
            let next = s
                .orgs_of(&a.user_id)
                .await?
                .into_iter()
                .find(|(id, _, _)| *id != a.org_id);
            let Some((next, _, _)) = next else {
                return Err(PortalError::form(
                    "This is your only organisation, so you cannot leave it.",
                ));
            };
            s.remove_member(&a.tenant(), &a.user_id).await?;
            let session = ssr::session().await?;
            session
                .insert(ssr::ORG_KEY, &next)
                .await
                .map_err(ssr::session_error)?;
            leptos_axum::redirect(paths::OVERVIEW);
            Ok(())
        }
        .await,
    )
}

/// Acts in another of the person's organisations from now on.
#[server(prefix = "/_fn", endpoint = "switch_org")]
pub async fn switch_org(org: String) -> Result<(), PortalError> {
    ssr::respond(
        async move {
            let a = ssr::account().await?;
            let there = ssr::services()?.account(&a.user_id, Some(&org)).await?;
            if there.is_none_or(|t| t.org_id != org) {
                return Err(PortalError::NotFound);
            }
            let session = ssr::session().await?;
            session
                .insert(ssr::ORG_KEY, &org)
                .await
                .map_err(ssr::session_error)?;
            leptos_axum::redirect(paths::OVERVIEW);
            Ok(())
        }
        .await,
    )
}

/// What an invitation link offers, and whether someone is logged in to accept it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InviteOffer {
    pub invite: InviteInfo,
    /// The logged-in person's email, when someone is.
    pub logged_in_as: Option<String>,
}

#[server(prefix = "/_fn", endpoint = "invite_details")]
pub async fn invite_details(token: String) -> Result<InviteOffer, PortalError> {
    ssr::respond(
        async move {
            let invite = ssr::services()?.invite_info(&token).await?;
            let logged_in_as = match ssr::account().await {
                Ok(a) => Some(a.email),
                Err(PortalError::LoggedOut) => None,
                Err(e) => return Err(e),
            };
            Ok(InviteOffer { invite, logged_in_as })
        }
        .await,
    )
}

/// The logged-in person joins the invitation's organisation and now acts in it.
#[server(prefix = "/_fn", endpoint = "accept_invite")]
pub async fn accept_invite(token: String) -> Result<(), PortalError> {
    ssr::respond(
        async move {
            let a = ssr::account().await?;
            let joined = ssr::services()?.accept_invite(&a, &token).await?;
            let session = ssr::session().await?;
            session
                .insert(ssr::ORG_KEY, &joined.org_id)
                .await
                .map_err(ssr::session_error)?;
            leptos_axum::redirect(paths::OVERVIEW);
            Ok(())
        }
        .await,
    )
}

/// A new person signs up by the invitation, into its organisation.
#[server(prefix = "/_fn", endpoint = "join_signup")]
pub async fn join_signup(token: String, email: String, password: String) -> Result<(), PortalError> {
    ssr::respond(
        async move {
            let account = ssr::services()?
                .signup_with_invite(&email, &password, &token)
                .await?;
            ssr::start_session(&account).await?;
            leptos_axum::redirect(paths::OVERVIEW);
            Ok(())
        }
        .await,
    )
}
