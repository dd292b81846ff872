//! Members of an organisation: invitations by one-time link (no mail server needed), joining
//! as a new or existing user, roles, removal and leaving. The last admin can neither leave
//! nor be demoted or removed, so an organisation is never left without one.
use super::audit::{self, Actor, Entry};
use super::users::{email_problem, hash_password, password_problem, Account};
use super::{Services, Tenant};
use crate::crypto;
use crate::error::{DomainError, DomainResult};
use crate::ids;
use crate::store::{members, users};
use crate::types::{InviteInfo, InviteOut, MemberOut, Role};
use crate::validation::Problems;
use chrono::Utc;
use serde_json::json;

/// How long an invitation link works.
pub const INVITE_DAYS: i64 = 7;
/// Where an invitation link leads (`?token=…`).
pub const INVITE_PATH: &str = "/join";

fn invite_expired() -> DomainError {
    DomainError::Unauthorized(
        "This invitation has expired, was already used or was withdrawn. Ask for a new one.".into(),
    )
}

fn last_admin() -> DomainError {
    DomainError::bad_request(
        "last_admin",
        "An organisation needs at least one admin: make someone else an admin first.",
    )
}

/// Whether the organisation keeps an admin once `user` has role `new` (None: removed).
fn admin_remains(roles: &[(String, String)], user: &str, new: Option<Role>) -> bool {
    roles.iter().any(|(u, r)| {
        let role = if u == user { new } else { Role::parse(r) };
        role == Some(Role::Admin)
    })
}

impl Services {
    pub async fn members(&self, t: &Tenant) -> DomainResult<Vec<MemberOut>> {
        Ok(members::list(&self.pool, &t.org_id)
            .await?
            .into_iter()
            .map(|m| MemberOut {
                user_id: m.user_id,
                email: m.email,
                role: Role::parse(&m.role).unwrap_or_default(),
                joined_at: m.joined_at,
            })
            .collect())
    }

    pub async fn open_invites(&self, t: &Tenant) -> DomainResult<Vec<InviteOut>> {
        Ok(members::open_invites(&self.pool, &t.org_id)
            .await?
            .into_iter()
            .map(|i| InviteOut {
                id: i.id,
                role: Role::parse(&i.role).unwrap_or_default(),
                invited_by: i.invited_by,
                created_at: i.created_at,
                expires_at: i.expires_at,
            })
            .collect())
    }

    /// A new one-time invitation to join with `role`, valid for [`INVITE_DAYS`]: returns the
    /// link to hand over (only its hash is kept).
    pub async fn invite(&self, t: &Tenant, role: Role) -> DomainResult<String> {
        let token = crypto::random_token(24);
        let id = ids::new_id(ids::INVITE);
        let mut tx = self.pool.begin().await?;
        members::insert_invite(
            &mut *tx,
            &members::NewInvite {
                id: &id,
                org_id: &t.org_id,
                token_hash: &crypto::sha256(&token),
                role: role.as_str(),
                invited_by: t.actor.name(),
                expires_at: Utc::now() + chrono::Duration::days(INVITE_DAYS),
            },
        )
        .await?;
        let entry = Entry::new("member.invited").target(&id);
        audit::record(&mut *tx, t, entry.details(json!({"role": role}))).await?;
        tx.commit().await?;
        Ok(format!(
            "{}{INVITE_PATH}?token={token}",
            self.opts.public_url.trim_end_matches('/')
        ))
    }

    pub async fn revoke_invite(&self, t: &Tenant, id: &str) -> DomainResult<()> {
        let mut tx = self.pool.begin().await?;
        if !members::revoke_invite(&mut *tx, &t.org_id, id).await? {
            return Err(DomainError::NotFound("invitation"));
        }
        audit::record(&mut *tx, t, Entry::new("member.invite_withdrawn").target(id)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// What an invitation link offers, or why it no longer works.
    pub async fn invite_info(&self, token: &str) -> DomainResult<InviteInfo> {
        let i = members::find_invite(&self.pool, &crypto::sha256(token))
            .await?
            .ok_or_else(invite_expired)?;
        Ok(InviteInfo {
            org_name: i.org_name,
            role: Role::parse(&i.role).unwrap_or_default(),
            invited_by: i.invited_by,
        })
    }

    /// A logged-in user joins the invitation's organisation; returns their account there.
    pub async fn accept_invite(&self, user: &Account, token: &str) -> DomainResult<Account> {
        let mut tx = self.pool.begin().await?;
        let i = members::take_invite(&mut *tx, &crypto::sha256(token))
            .await?
            .ok_or_else(invite_expired)?;
        if !members::add(&mut *tx, &user.user_id, &i.org_id, &i.role).await? {
            return Err(DomainError::bad_request(
                "already_member",
                format!("You already belong to {}.", i.org_name),
            ));
        }
        let actor = user.tenant().actor;
        audit::record_as(&mut *tx, &i.org_id, &actor, joined(&i)).await?;
        tx.commit().await?;
        self.account(&user.user_id, Some(&i.org_id))
            .await?
            .ok_or_else(invite_expired)
    }

    /// Signs up a new user into the invitation's organisation (no organisation of their own).
    pub async fn signup_with_invite(
        &self,
        email: &str,
        password: &str,
        token: &str,
    ) -> DomainResult<Account> {
        let email = email.trim();
        let mut p = Problems::default();
        if let Some(m) = email_problem(email) {
            p.add("email", m);
        }
        if let Some(m) = password_problem(password, email) {
            p.add("password", m);
        }
        p.finish()?;
        if users::email_taken(&self.pool, email).await? {
            return Err(DomainError::validation(
                "email",
                "That email is already registered: log in, then open the invitation again.",
            ));
        }
        let hash = hash_password(password).await?;
        let user_id = ids::new_id(ids::USER);
        let mut tx = self.pool.begin().await?;
        let i = members::take_invite(&mut *tx, &crypto::sha256(token))
            .await?
            .ok_or_else(invite_expired)?;
        users::insert_user(&mut *tx, &user_id, email, &hash)
            .await
            .map_err(|e| {
                if crate::store::is_unique_violation(&e) {
                    DomainError::validation("email", "That email was just registered; log in instead.")
                } else {
                    e.into()
                }
            })?;
        members::add(&mut *tx, &user_id, &i.org_id, &i.role).await?;
        let actor = Actor::User {
            id: user_id.clone(),
            email: email.to_string(),
        };
        audit::record_as(&mut *tx, &i.org_id, &actor, joined(&i)).await?;
        tx.commit().await?;
        Ok(Account {
            user_id,
            email: email.to_string(),
            org_id: i.org_id,
            org_name: i.org_name,
            role: Role::parse(&i.role).unwrap_or_default(),
        })
    }

    /// Gives a member another role. The last admin keeps theirs.
    pub async fn set_member_role(&self, t: &Tenant, user_id: &str, role: Role) -> DomainResult<()> {
        let email = self.email_of(user_id).await?;
        let mut tx = self.pool.begin().await?;
        let roles = members::lock_roles(&mut *tx, &t.org_id).await?;
        let Some((_, old)) = roles.iter().find(|(u, _)| u == user_id) else {
            return Err(DomainError::NotFound("member"));
        };
        if !admin_remains(&roles, user_id, Some(role)) {
            return Err(last_admin());
        }
        members::set_role(&mut *tx, &t.org_id, user_id, role.as_str()).await?;
        if role != Role::Admin {
            // an admin's open invitations would let them back in as admin
            if let Some(email) = &email {
                members::withdraw_invites_by(&mut *tx, &t.org_id, email).await?;
            }
        }
        let entry = Entry::new("member.role_changed").target(user_id);
        let entry = entry.details(json!({"from": old, "to": role, "email": email}));
        audit::record(&mut *tx, t, entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes a member (yourself: leaving). The last admin stays.
    pub async fn remove_member(&self, t: &Tenant, user_id: &str) -> DomainResult<()> {
        let email = self.email_of(user_id).await?;
        let mut tx = self.pool.begin().await?;
        let roles = members::lock_roles(&mut *tx, &t.org_id).await?;
        if !roles.iter().any(|(u, _)| u == user_id) {
            return Err(DomainError::NotFound("member"));
        }
        if !admin_remains(&roles, user_id, None) {
            return Err(last_admin());
        }
        members::remove(&mut *tx, &t.org_id, user_id).await?;
        if let Some(email) = &email {
            members::withdraw_invites_by(&mut *tx, &t.org_id, email).await?;
        }
        // a person in no organisation could never log in or be invited again under their
        // email: the account goes with its last membership
        members::delete_user_without_orgs(&mut *tx, user_id).await?;
        let leaving = matches!(&t.actor, Actor::User { id, .. } if id == user_id);
        let action = if leaving { "member.left" } else { "member.removed" };
        let entry = Entry::new(action).target(user_id);
        audit::record(&mut *tx, t, entry.details(json!({"email": email}))).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The organisations the user belongs to: (id, name, role).
    pub async fn orgs_of(&self, user_id: &str) -> DomainResult<Vec<(String, String, Role)>> {
        Ok(members::orgs_of(&self.pool, user_id)
            .await?
            .into_iter()
            .map(|(id, name, role)| (id, name, Role::parse(&role).unwrap_or_default()))
            .collect())
    }

    async fn email_of(&self, user_id: &str) -> DomainResult<Option<String>> {
        Ok(users::find_by_id(&self.pool, user_id, None)
            .await?
            .map(|u| u.email))
    }
}

fn joined(i: &members::InviteRow) -> Entry<'_> {
    Entry::new("member.joined")
        .target(&i.id)
        .details(json!({"role": i.role, "invitedBy": i.invited_by}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_admin_cannot_go() {
        let roles = vec![
            ("a".to_string(), "admin".to_string()),
            ("b".to_string(), "viewer".to_string()),
        ];
        assert!(!admin_remains(&roles, "a", Some(Role::Developer)));
        assert!(!admin_remains(&roles, "a", None));
        assert!(admin_remains(&roles, "b", None));
        assert!(admin_remains(&roles, "b", Some(Role::Admin)));
        let two = vec![
            ("a".to_string(), "admin".to_string()),
            ("b".to_string(), "admin".to_string()),
        ];
        assert!(admin_remains(&two, "a", None));
    }
}
