//! Endpoints' signing secrets: shown (each showing is in the audit log) and rotated with a
//! grace period during which the previous secret keeps signing.
use super::audit::{self, secret_revealed, Entry, SecretsShown};
use super::operational::endpoint_ref;
use super::{AppRef, Services, Tenant};
use crate::error::{DomainError, DomainResult};
use crate::signing::{self, Scheme};
use crate::store;
use crate::types::*;
use crate::validation::Problems;
use chrono::Utc;
use serde_json::json;

/// Default grace period of a rotated secret: 24 hours.
pub const DEFAULT_GRACE_SECONDS: i64 = 86_400;
const MAX_GRACE_SECONDS: i64 = 7 * 86_400;

impl Services {
    pub async fn endpoint_secret<'a>(
        &self,
        t: &Tenant,
        app: impl Into<AppRef<'a>>,
        ep: &str,
    ) -> DomainResult<EndpointSecretOut> {
        let (app, ep) = self.endpoint(t, app, ep).await?;
        let sealed = store::endpoints::current_secret(&self.pool, &ep.id)
            .await?
            .ok_or_else(|| DomainError::Internal("endpoint has no secret".into()))?;
        audit::record(&self.pool, t, secret_revealed(&app.id, &ep.id)).await?;
        let key = self
            .secrets
            .open(&sealed)
            .map_err(|e| DomainError::Internal(e.to_string()))?;
        Ok(EndpointSecretOut {
            key: signing::shown(key),
        })
    }

    /// The current secret and, during a rotation's grace period, the previous one with when it
    /// stops signing (for the portal). Shown on request (`Reveal`, recorded in the audit log)
    /// or as the result of the rotation just made (recorded as that).
    pub async fn endpoint_signing_secrets(
        &self,
        t: &Tenant,
        app: &str,
        ep: &str,
        why: SecretsShown,
    ) -> DomainResult<Vec<(String, Option<chrono::DateTime<Utc>>)>> {
        let (app, ep) = self.endpoint(t, app, ep).await?;
        if why == SecretsShown::Reveal {
            audit::record(&self.pool, t, secret_revealed(&app.id, &ep.id)).await?;
        }
        let rows = store::endpoints::signing_secrets(&self.pool, std::slice::from_ref(&ep.id)).await?;
        rows.into_iter()
            .map(|s| {
                let key = self
                    .secrets
                    .open(&s.ciphertext)
                    .map_err(|e| DomainError::Internal(e.to_string()))?;
                Ok((signing::shown(key), s.expires_at))
            })
            .collect()
    }

    /// Rotates the secret; the old one keeps signing for the grace period (24 h by default).
    /// Returns the new secret (the Svix SDKs expect it in the response), or an Ed25519 key's
    /// public half. Without a key, the new one is of the current one's scheme.
    pub async fn rotate_endpoint_secret<'a>(
        &self,
        t: &Tenant,
        app: impl Into<AppRef<'a>>,
        ep: &str,
        input: EndpointSecretRotateIn,
    ) -> DomainResult<EndpointSecretOut> {
        self.rotate_endpoint_secret_to(t, app, ep, input, None).await
    }

    /// [`Self::rotate_endpoint_secret`], making the new key in `scheme` when none is given
    /// (the portal's switch between HMAC and Ed25519).
    pub async fn rotate_endpoint_secret_to<'a>(
        &self,
        t: &Tenant,
        app: impl Into<AppRef<'a>>,
        ep: &str,
        input: EndpointSecretRotateIn,
        scheme: Option<Scheme>,
    ) -> DomainResult<EndpointSecretOut> {
        let (app, ep) = self.endpoint(t, app, ep).await?;
        let mut p = Problems::default();
        if let Some(k) = &input.key {
            p.secret("key", k);
        }
        let grace = input.grace_period_seconds.unwrap_or(DEFAULT_GRACE_SECONDS);
        if !(0..=MAX_GRACE_SECONDS).contains(&grace) {
            p.add(
                "gracePeriodSeconds",
                format!("gracePeriodSeconds must be between 0 and {MAX_GRACE_SECONDS}"),
            );
        }
        p.finish()?;
        let key_given = input.key.is_some();
        let key = match input.key {
            Some(k) => signing::normalize(k),
            None => {
                let scheme = match scheme {
                    Some(s) => s,
                    None => match store::endpoints::current_secret(&self.pool, &ep.id).await? {
                        Some(sealed) => Scheme::of(
                            &self
                                .secrets
                                .open(&sealed)
                                .map_err(|e| DomainError::Internal(e.to_string()))?,
                        ),
                        None => Scheme::Hmac,
                    },
                };
                scheme.generate()
            }
        };
        let scheme = Scheme::of(&key);
        let mut tx = self.pool.begin().await?;
        store::endpoints::lock(&mut *tx, &ep.id).await?;
        store::endpoints::rotate_secret(&mut tx, &ep.id, &self.secrets.seal(&key), grace).await?;
        let entry = Entry::new("endpoint.secret_rotated").target(&ep.id).app(&app.id);
        let entry =
            entry.details(json!({"gracePeriodSeconds": grace, "keyGiven": key_given, "scheme": scheme}));
        audit::record(&mut *tx, t, entry).await?;
        tx.commit().await?;
        // as Svix: a rotation is an update of the endpoint
        let r = endpoint_ref(&app, &ep.id, ep.uid.as_deref());
        self.emit(&t.org_id, vec![OperationalEvent::EndpointUpdated(r)])
            .await;
        Ok(EndpointSecretOut {
            key: signing::shown(key),
        })
    }
}
