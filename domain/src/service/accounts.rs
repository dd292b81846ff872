//! Organisations and API keys.
use super::audit::{self, Actor, Entry, KeyScope};
use super::{Services, Tenant};
use crate::crypto;
use crate::error::{DomainError, DomainResult};
use crate::ids;
use crate::store::orgs;

/// A freshly made key: `key` is shown once and never stored.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub id: String,
    pub org_id: String,
    pub key: String,
    pub prefix: String,
}

impl Services {
    /// Creates an API key for the organisation called `org_name`, creating it if needed (the
    /// operator's command line).
    pub async fn create_api_key_for_org_name(
        &self,
        org_name: &str,
        key_name: &str,
        scope: KeyScope,
    ) -> DomainResult<NewApiKey> {
        let org_name = org_name.trim();
        if org_name.is_empty() || org_name.len() > 128 {
            return Err(DomainError::validation(
                "org",
                "organisation name must be 1 to 128 characters",
            ));
        }
        let org = orgs::get_or_create_org(&self.pool, &ids::new_id(ids::ORG), org_name).await?;
        self.create_api_key(&Tenant::new(org.id, Actor::Operator), key_name, scope)
            .await
    }

    /// Creates a key for the organisation, or for one of its applications (`scope.app_id`, by
    /// id or uid), optionally read-only.
    pub async fn create_api_key(&self, t: &Tenant, name: &str, scope: KeyScope) -> DomainResult<NewApiKey> {
        let name = name.trim();
        if name.is_empty() || name.len() > 128 {
            return Err(DomainError::validation(
                "name",
                "key name must be 1 to 128 characters",
            ));
        }
        let app_id = match &scope.app_id {
            Some(app) => Some(self.app(t, app.as_str()).await?.id),
            None => None,
        };
        let (key, prefix) = crypto::generate_api_key();
        let id = ids::new_id(ids::API_KEY);
        let mut tx = self.pool.begin().await?;
        orgs::insert_api_key(
            &mut *tx,
            &orgs::NewApiKey {
                id: &id,
                org_id: &t.org_id,
                name,
                prefix: &prefix,
                key_hash: &crypto::sha256(&key),
                app_id: app_id.as_deref(),
                read_only: scope.read_only,
            },
        )
        .await?;
        let mut entry = Entry::new("api_key.created")
            .target(&id)
            .details(serde_json::json!({"name": name, "prefix": prefix, "readOnly": scope.read_only}));
        if let Some(app) = &app_id {
            entry = entry.app(app);
        }
        audit::record(&mut *tx, t, entry).await?;
        tx.commit().await?;
        Ok(NewApiKey {
            id,
            org_id: t.org_id.clone(),
            key,
            prefix,
        })
    }

    /// The tenant behind a bearer token, or `Unauthorized`. Touches `last_used_at` at most once
    /// a minute, off the request path.
    pub async fn authenticate_api_key(&self, token: &str) -> DomainResult<Tenant> {
        let hash = crypto::sha256(token);
        if let Some(t) = self.lookups.key(&hash) {
            return Ok(t);
        }
        let ticket = self.lookups.ticket();
        let owner = orgs::find_key_owner(&self.pool, &hash)
            .await?
            .ok_or_else(|| DomainError::Unauthorized("invalid or revoked API key".into()))?;
        let stale = owner
            .last_used_at
            .is_none_or(|t| chrono::Utc::now() - t > chrono::Duration::seconds(60));
        if stale {
            let pool = self.pool.clone();
            let key_id = owner.key_id.clone();
            tokio::spawn(async move {
                let _ = orgs::touch_api_key(&pool, &key_id).await;
            });
        }
        let tenant = Tenant::new(
            owner.org_id,
            Actor::Key {
                id: owner.key_id,
                prefix: owner.prefix,
                scope: KeyScope {
                    app_id: owner.app_id,
                    read_only: owner.read_only,
                },
            },
        );
        self.lookups.store_key(ticket, hash, tenant.clone());
        Ok(tenant)
    }
}

/// What a consumer-portal session keeps: the token's SHA-256 in hex, never the token.
pub fn portal_grant(token: &str) -> String {
    hex::encode(crypto::sha256(token))
}

/// Where a consumer-portal token leads.
#[derive(Debug, Clone)]
pub struct PortalScope {
    pub tenant: Tenant,
    pub app_id: String,
    pub read_only: bool,
    /// Event types with a feature flag are shown only when the token carries it.
    pub feature_flags: Vec<String>,
}

impl PortalScope {
    /// Whether the portal may show an event type with this feature flag.
    pub fn sees_flag(&self, flag: Option<&str>) -> bool {
        flag.is_none_or(|f| self.feature_flags.iter().any(|g| g == f))
    }
}

/// Svix's portal capabilities, as Hookline's two portal modes: returns whether the portal is
/// read-only. Sets that fit neither mode are refused rather than widened or narrowed.
pub fn portal_mode(capabilities: Option<&[String]>, read_only: Option<bool>) -> DomainResult<bool> {
    const VIEW: [&str; 2] = ["ViewBase", "ViewEndpointSecret"];
    const MANAGE: [&str; 3] = ["ManageEndpoint", "ManageEndpointSecret", "CreateAttempts"];
    let Some(caps) = capabilities else {
        return Ok(read_only.unwrap_or(false));
    };
    if let Some(bad) = caps
        .iter()
        .find(|c| !VIEW.contains(&c.as_str()) && !MANAGE.contains(&c.as_str()))
    {
        let msg = if bad == "ManageTransformations" {
            "Hookline does not run transformations, so ManageTransformations cannot be granted".to_string()
        } else {
            format!("unknown capability '{bad}'; Hookline knows ViewBase, ViewEndpointSecret, ManageEndpoint, ManageEndpointSecret and CreateAttempts")
        };
        return Err(DomainError::validation("capabilities", msg));
    }
    let manages = caps.iter().filter(|c| MANAGE.contains(&c.as_str())).count();
    let caps_read_only = match manages {
        0 => true,
        n if n == MANAGE.len() => false,
        _ => {
            return Err(DomainError::validation(
                "capabilities",
                "Hookline's portal is either read-only (ViewBase, ViewEndpointSecret) or full (adds ManageEndpoint, ManageEndpointSecret and CreateAttempts together)",
            ))
        }
    };
    if read_only.is_some_and(|r| r != caps_read_only) {
        return Err(DomainError::validation(
            "readOnly",
            "readOnly contradicts the capabilities given",
        ));
    }
    Ok(caps_read_only)
}

impl Services {
    /// A link to the consumer portal of one application, valid for `expiry` seconds
    /// (default one hour, at most a week).
    pub async fn app_portal_access(
        &self,
        t: &Tenant,
        app: &str,
        input: crate::types::AppPortalAccessIn,
    ) -> DomainResult<crate::types::AppPortalAccessOut> {
        let app = match (self.app(t, app).await, input.application) {
            (Ok(a), _) => a,
            (Err(DomainError::NotFound(_)), Some(new_app)) => {
                let new_app = super::applications::implicit_app(app, new_app)?;
                let (created, _) = self.create_app(t, new_app, true).await?;
                self.app(t, &created.id).await?
            }
            (Err(e), _) => return Err(e),
        };
        let expiry = input.expiry.unwrap_or(3600);
        if !(60..=7 * 86_400).contains(&expiry) {
            return Err(DomainError::validation(
                "expiry",
                "expiry must be between 60 and 604800 seconds",
            ));
        }
        let read_only = portal_mode(input.capabilities.as_deref(), input.read_only)?;
        let flags = input.feature_flags.unwrap_or_default();
        let mut p = crate::validation::Problems::default();
        p.identifiers("featureFlags", &flags, 100, crate::validation::MAX_NAME_LEN);
        if let Some(sid) = &input.session_id {
            p.identifier("sessionId", sid, crate::validation::MAX_NAME_LEN);
        }
        p.finish()?;
        let token = format!("appsk_{}", crypto::random_token(24));
        let expires_at = chrono::Utc::now() + chrono::Duration::seconds(expiry);
        orgs::insert_portal_token(
            &self.pool,
            &orgs::NewPortalToken {
                token_hash: &crypto::sha256(&token),
                org_id: &t.org_id,
                app_id: &app.id,
                read_only,
                feature_flags: &flags,
                session_id: input.session_id.as_deref(),
                expires_at,
            },
        )
        .await?;
        let url = format!("{}/portal/{}", self.opts.public_url.trim_end_matches('/'), token);
        Ok(crate::types::AppPortalAccessOut { url, token })
    }

    /// The application a portal token opens, or `Unauthorized` when unknown or expired.
    pub async fn resolve_portal_token(&self, token: &str) -> DomainResult<PortalScope> {
        self.resolve_portal_grant(&portal_grant(token)).await
    }

    /// Like [`Self::resolve_portal_token`], from the grant a portal session keeps instead of the
    /// token itself (see [`portal_grant`]). Checked on every request, so an expired or revoked
    /// token ends the session at once.
    pub async fn resolve_portal_grant(&self, grant: &str) -> DomainResult<PortalScope> {
        let hash = hex::decode(grant)
            .map_err(|_| DomainError::Unauthorized("this portal link is invalid or has expired".into()))?;
        let (org_id, app_id, read_only, feature_flags) = orgs::find_portal_token(&self.pool, &hash)
            .await?
            .ok_or_else(|| DomainError::Unauthorized("this portal link is invalid or has expired".into()))?;
        Ok(PortalScope {
            tenant: Tenant::new(
                org_id,
                Actor::PortalLink {
                    app_id: app_id.clone(),
                },
            ),
            app_id,
            read_only,
            feature_flags,
        })
    }

    /// Ends the application's portal tokens (or only those of the given sessions), now or
    /// after `expiry` seconds (at most a day).
    pub async fn expire_portal_tokens(
        &self,
        t: &Tenant,
        app: &str,
        input: crate::types::ApplicationTokenExpireIn,
    ) -> DomainResult<u64> {
        let app = self.app(t, app).await?;
        let secs = input.expiry.unwrap_or(0);
        if !(0..=86_400).contains(&secs) {
            return Err(DomainError::validation(
                "expiry",
                "expiry must be between 0 and 86400 seconds",
            ));
        }
        let at = chrono::Utc::now() + chrono::Duration::seconds(secs);
        Ok(
            orgs::expire_portal_tokens(&self.pool, &t.org_id, &app.id, input.session_ids.as_deref(), at)
                .await?,
        )
    }

    /// Ends the portal token itself (`auth/logout` called with an `appsk_` token).
    pub async fn logout_portal_token(&self, token: &str) -> DomainResult<()> {
        orgs::delete_portal_token(&self.pool, &crypto::sha256(token)).await?;
        Ok(())
    }
}

use crate::types::ApiKeyOut;

impl Services {
    pub async fn list_api_keys(&self, t: &Tenant) -> DomainResult<Vec<ApiKeyOut>> {
        Ok(orgs::list_api_keys(&self.pool, &t.org_id)
            .await?
            .into_iter()
            .map(|k| ApiKeyOut {
                id: k.id,
                name: k.name,
                prefix: k.prefix,
                created_at: k.created_at,
                last_used_at: k.last_used_at,
                revoked_at: k.revoked_at,
                app_id: k.app_id,
                app_name: k.app_name,
                read_only: k.read_only,
            })
            .collect())
    }

    /// Revokes a key of this organisation (404 for anyone else's, or an already revoked one).
    pub async fn revoke_api_key(&self, t: &Tenant, id: &str) -> DomainResult<()> {
        let mut tx = self.pool.begin().await?;
        let revoked = orgs::revoke_api_key(&mut *tx, &t.org_id, id).await?;
        let Some(prefix) = revoked else {
            return Err(DomainError::NotFound("API key"));
        };
        audit::record(
            &mut *tx,
            t,
            Entry::new("api_key.revoked")
                .target(id)
                .details(serde_json::json!({"prefix": prefix})),
        )
        .await?;
        tx.commit().await?;
        // here at once; other processes when the trigger's notification reaches them
        self.lookups.invalidate(super::lookups::Changed::Keys);
        Ok(())
    }
}
