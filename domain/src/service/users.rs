//! Portal accounts: signup (a user and their organisation), login with throttling.
use super::{Services, Tenant};
use crate::crypto;
use crate::error::{DomainError, DomainResult};
use crate::ids;
use crate::store::{orgs, users};
use crate::types::Role;
use crate::validation::Problems;
use chrono::Utc;

/// Failed logins for one email within [`THROTTLE_WINDOW_MINUTES`] before further tries wait.
pub const MAX_LOGIN_FAILURES: i64 = 5;
pub const THROTTLE_WINDOW_MINUTES: i64 = 15;
pub const MIN_PASSWORD_LEN: usize = 10;

/// Who is logged in.
#[derive(Debug, Clone)]
pub struct Account {
    pub user_id: String,
    pub email: String,
    pub org_id: String,
    pub org_name: String,
    /// The user's role in this organisation.
    pub role: Role,
}

impl Account {
    pub fn tenant(&self) -> Tenant {
        Tenant::new(
            self.org_id.clone(),
            super::audit::Actor::User {
                id: self.user_id.clone(),
                email: self.email.clone(),
            },
        )
    }
}

impl From<users::UserRow> for Account {
    fn from(u: users::UserRow) -> Self {
        Self {
            user_id: u.id,
            email: u.email,
            org_id: u.org_id,
            org_name: u.org_name,
            // the column's CHECK allows only the three; anything else reads as the least
            role: Role::parse(&u.role).unwrap_or_default(),
        }
    }
}

const COMMON_PASSWORDS: [&str; 8] = [
    "password",
    "password1",
    "1234567890",
    "qwertyuiop",
    "letmein",
    "iloveyou",
    "admin12345",
    "welcome123",
];

/// Why a password is refused, in words a person understands.
pub fn password_problem(password: &str, email: &str) -> Option<String> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Some(format!(
            "Use at least {MIN_PASSWORD_LEN} characters for your password."
        ));
    }
    if password.len() > 1024 {
        return Some("That password is too long (1024 characters at most).".into());
    }
    let lower = password.to_lowercase();
    let distinct = lower.chars().collect::<std::collections::HashSet<_>>().len();
    let local = email.split('@').next().unwrap_or_default().to_lowercase();
    if COMMON_PASSWORDS.iter().any(|c| lower.starts_with(c))
        || distinct < 4
        || (!local.is_empty() && lower.contains(&local))
    {
        return Some(
            "That password is too easy to guess; pick something longer and less predictable.".into(),
        );
    }
    None
}

/// Whether `email` looks like an address (one `@`, a dot in the domain, no spaces).
pub fn email_problem(email: &str) -> Option<String> {
    let valid = email.len() <= 254
        && !email.contains(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        });
    (!valid).then(|| "Enter a valid email address, like you@example.com.".to_string())
}

/// argon2id hashing, off the async threads (it takes tens of milliseconds on purpose).
pub(super) async fn hash_password(password: &str) -> DomainResult<String> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || crypto::hash_password(&password))
        .await
        .map_err(|e| DomainError::Internal(e.to_string()))
}

/// Whether `password` matches the stored `hash`, checked off the async threads.
pub(super) async fn verify_password(password: &str, hash: &str) -> DomainResult<bool> {
    let (password, hash) = (password.to_string(), hash.to_string());
    tokio::task::spawn_blocking(move || crypto::verify_password(&password, &hash))
        .await
        .map_err(|e| DomainError::Internal(e.to_string()))
}

impl Services {
    /// Creates a user and their organisation. Field problems come back as one 422 naming each
    /// field (`email`, `password`, `organization`).
    pub async fn signup(&self, email: &str, password: &str, org_name: &str) -> DomainResult<Account> {
        let email = email.trim();
        // an organisation named after its first user's email when none is given (unique, as
        // emails are)
        let org_name = match org_name.trim() {
            "" => email,
            n => n,
        };
        let mut p = Problems::default();
        if let Some(m) = email_problem(email) {
            p.add("email", m);
        }
        if let Some(m) = password_problem(password, email) {
            p.add("password", m);
        }
        if org_name.len() > 128 {
            p.add(
                "organization",
                "An organisation's name is at most 128 characters.",
            );
        }
        p.finish()?;
        let mut p = Problems::default();
        if users::email_taken(&self.pool, email).await? {
            p.add("email", "That email is already registered. Log in instead?");
        }
        if users::org_name_taken(&self.pool, org_name).await? {
            p.add("organization", "That organisation name is taken; choose another.");
        }
        p.finish()?;
        let hash = hash_password(password).await?;
        let user_id = ids::new_id(ids::USER);
        let org_id = ids::new_id(ids::ORG);
        let mut tx = self.pool.begin().await?;
        let taken = |e: sqlx::Error| {
            if crate::store::is_unique_violation(&e) {
                DomainError::validation(
                    "email",
                    "That email or organisation name was just taken; try again.",
                )
            } else {
                e.into()
            }
        };
        orgs::insert_org(&mut *tx, &org_id, org_name)
            .await
            .map_err(taken)?;
        users::insert_user(&mut *tx, &user_id, email, &hash)
            .await
            .map_err(taken)?;
        users::insert_membership(&mut *tx, &user_id, &org_id, Role::Admin.as_str()).await?;
        tx.commit().await?;
        Ok(Account {
            user_id,
            email: email.to_string(),
            org_id,
            org_name: org_name.to_string(),
            role: Role::Admin,
        })
    }

    /// Checks credentials. After [`MAX_LOGIN_FAILURES`] failures within the window, refuses
    /// (without checking the password) until the oldest failure leaves the window.
    pub async fn login(&self, email: &str, password: &str) -> DomainResult<Account> {
        let email = email.trim();
        let since = Utc::now() - chrono::Duration::minutes(THROTTLE_WINDOW_MINUTES);
        let (failures, oldest) = users::recent_login_failures(&self.pool, email, since).await?;
        if failures >= MAX_LOGIN_FAILURES {
            let wait = oldest
                .map(|o| (o - since).num_minutes() + 1)
                .unwrap_or(THROTTLE_WINDOW_MINUTES);
            return Err(DomainError::TooManyRequests(format!(
                "Too many failed logins for this email. Try again in {wait} minute{}.",
                if wait == 1 { "" } else { "s" }
            )));
        }
        let user = users::find_by_email(&self.pool, email).await?;
        let ok = match &user {
            Some(u) => verify_password(password, &u.password_hash).await?,
            None => false,
        };
        match (ok, user) {
            (true, Some(u)) => {
                users::clear_login_failures(&self.pool, email).await?;
                Ok(u.into())
            }
            _ => {
                users::record_login_failure(&self.pool, email).await?;
                Err(DomainError::Unauthorized(
                    "That email and password do not match.".into(),
                ))
            }
        }
    }

    /// The account behind a session's user id, as a member of `org` when they still belong
    /// to it, else of their oldest organisation (None once the user is gone or belongs to
    /// none).
    pub async fn account(&self, user_id: &str, org: Option<&str>) -> DomainResult<Option<Account>> {
        Ok(users::find_by_id(&self.pool, user_id, org).await?.map(Into::into))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_must_be_long_and_not_guessable() {
        assert!(password_problem("short", "a@b.co")
            .unwrap()
            .contains("at least 10"));
        assert!(password_problem("password123456", "a@b.co")
            .unwrap()
            .contains("too easy"));
        assert!(password_problem("aaaaaaaaaaaa", "a@b.co").is_some());
        assert!(password_problem("alice-rocks-2026", "alice@example.com").is_some());
        assert!(password_problem("correct horse battery", "alice@example.com").is_none());
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert!(email_problem("you@example.com").is_none());
        for bad in [
            "",
            "you",
            "you@",
            "@example.com",
            "you@example",
            "a b@example.com",
            "you@.com",
        ] {
            assert!(email_problem(bad).is_some(), "{bad}");
        }
    }
}
