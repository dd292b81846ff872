//! A user's own account: change the password, see the portal sessions and end the others,
//! and the operator's one-time password-reset links.
use super::audit::{self, Entry};
use super::users::{hash_password, password_problem, verify_password, Account};
use super::Services;
use crate::crypto;
use crate::error::{DomainError, DomainResult};
pub use crate::store::sessions::SessionRow;
use crate::store::{sessions, users};
use crate::validation::Problems;
use chrono::Utc;

/// How long a password-reset link works.
pub const RESET_LINK_MINUTES: i64 = 60;

/// Why a new password (typed twice) is refused, by field.
fn new_password_problems(p: &mut Problems, password: &str, confirm: &str, email: &str) {
    if let Some(m) = password_problem(password, email) {
        p.add("password", m);
    } else if password != confirm {
        p.add("confirm", "The two passwords differ; type the new one twice.");
    }
}

impl Services {
    /// Changes the user's password after checking the current one, and ends their other
    /// sessions (someone who knew the old password is logged out everywhere but here).
    /// Returns how many sessions ended.
    pub async fn change_password(
        &self,
        account: &Account,
        current: &str,
        password: &str,
        confirm: &str,
        this_session: Option<&str>,
    ) -> DomainResult<u64> {
        let mut p = Problems::default();
        new_password_problems(&mut p, password, confirm, &account.email);
        if current == password && p.is_empty() {
            p.add("password", "That is your current password; choose a new one.");
        }
        p.finish()?;
        let user = users::find_by_id(&self.pool, &account.user_id, None)
            .await?
            .ok_or(DomainError::NotFound("user"))?;
        if !verify_password(current, &user.password_hash).await? {
            return Err(DomainError::validation(
                "current",
                "That is not your current password.",
            ));
        }
        let hash = hash_password(password).await?;
        let mut tx = self.pool.begin().await?;
        sessions::set_password_hash(&mut *tx, &account.user_id, &hash).await?;
        let ended = sessions::end_all_but(&mut *tx, &account.user_id, this_session).await?;
        let entry = Entry::new("user.password_changed").details(serde_json::json!({"sessionsEnded": ended}));
        audit::record_for_user(&mut tx, &account.user_id, &account.tenant().actor, entry).await?;
        tx.commit().await?;
        Ok(ended)
    }

    /// The user's live portal sessions, most recently seen first.
    pub async fn sessions(&self, user_id: &str) -> DomainResult<Vec<SessionRow>> {
        Ok(sessions::list(&self.pool, user_id).await?)
    }

    /// Ends every session of the user but `keep`; returns how many ended.
    pub async fn end_other_sessions(&self, user_id: &str, keep: &str) -> DomainResult<u64> {
        Ok(sessions::end_all_but(&self.pool, user_id, Some(keep)).await?)
    }

    /// An operator's one-time reset token for the user with `email`, valid for
    /// [`RESET_LINK_MINUTES`]; the user's earlier links stop working. Only the token's digest
    /// is stored.
    pub async fn password_reset_token(&self, email: &str) -> DomainResult<String> {
        let user = users::find_by_email(&self.pool, email.trim())
            .await?
            .ok_or(DomainError::NotFound("user"))?;
        let token = crypto::random_token(32);
        let expires = Utc::now() + chrono::Duration::minutes(RESET_LINK_MINUTES);
        sessions::insert_reset(&self.pool, &crypto::sha256(&token), &user.id, expires).await?;
        Ok(token)
    }

    /// Whether a reset token still works (the page says so before asking for a password).
    pub async fn reset_token_works(&self, token: &str) -> DomainResult<bool> {
        Ok(sessions::reset_user(&self.pool, &crypto::sha256(token))
            .await?
            .is_some())
    }

    /// Sets a new password with a reset token, which is then used up, ends every session of
    /// the user and clears their failed logins. Returns the account, to log it in.
    pub async fn reset_password(&self, token: &str, password: &str, confirm: &str) -> DomainResult<Account> {
        let digest = crypto::sha256(token);
        let user_id = sessions::reset_user(&self.pool, &digest)
            .await?
            .ok_or_else(link_expired)?;
        let account: Account = users::find_by_id(&self.pool, &user_id, None)
            .await?
            .ok_or_else(link_expired)?
            .into();
        let mut p = Problems::default();
        new_password_problems(&mut p, password, confirm, &account.email);
        p.finish()?;
        let hash = hash_password(password).await?;
        let mut tx = self.pool.begin().await?;
        // used up in the same transaction: of two requests with one link, one wins
        if sessions::take_reset(&mut *tx, &digest).await?.as_deref() != Some(user_id.as_str()) {
            return Err(link_expired());
        }
        sessions::set_password_hash(&mut *tx, &user_id, &hash).await?;
        sessions::end_all_but(&mut *tx, &user_id, None).await?;
        users::clear_login_failures(&mut *tx, &account.email).await?;
        let actor = account.tenant().actor;
        audit::record_for_user(&mut tx, &user_id, &actor, Entry::new("user.password_reset")).await?;
        tx.commit().await?;
        Ok(account)
    }
}

fn link_expired() -> DomainError {
    DomainError::Unauthorized(
        "This reset link has expired or was already used. Ask your Hookline operator for a new one.".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_password_must_be_good_and_typed_twice_alike() {
        let problems = |pw: &str, confirm: &str| {
            let mut p = Problems::default();
            new_password_problems(&mut p, pw, confirm, "ada@example.com");
            p.finish().err().map(|e| format!("{e:?}"))
        };
        assert!(problems("correct horse battery", "correct horse battery").is_none());
        assert!(problems("correct horse battery", "correct horse")
            .unwrap()
            .contains("confirm"));
        assert!(problems("short", "short").unwrap().contains("at least"));
    }
}
