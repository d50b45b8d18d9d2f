//! Sessions: refresh-token families and the access tokens they carry (spec §2, §3).
//! A login starts a family; each refresh consumes one token and returns its successor;
//! a consumed token presented again is reuse and ends the family with every access token
//! carrying its `sid`. Every endpoint that accepts an access token checks it here.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::audit::{Audit, AuditEvent, EventKind, Events};
use crate::clients::{Client, Clients};
use crate::domain::{GrantType, Scopes};
use crate::metrics::Metrics;
use crate::revocation::{RevocationError, Revocations};
use crate::store::{Family, RevokeReason, Rotation, Store, StoreError, User};
use crate::tokens::{
    AccessClaims, AccessGrant, IssuedToken, RefreshToken, Rejection, TokenIssuer, Validator,
};

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// Unknown, consumed, expired or revoked refresh token, or one of another client.
    #[error("invalid refresh token")]
    InvalidGrant,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Revocation(#[from] RevocationError),
    #[error("signing failed: {0}")]
    Sign(#[from] crate::keys::KeyError),
}

/// Why a presented access token is refused.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("token rejected: {0:?}")]
    Rejected(Rejection),
    #[error("token revoked")]
    Revoked,
    #[error(transparent)]
    Revocation(#[from] RevocationError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A token response's contents.
pub struct TokenPair {
    pub access: IssuedToken,
    pub refresh: Option<RefreshToken>,
    pub scopes: Scopes,
}

#[derive(Clone)]
pub struct Sessions {
    store: Arc<dyn Store>,
    issuer: TokenIssuer,
    validator: Validator,
    revocations: Arc<Revocations>,
    clients: Arc<Clients>,
    idle_ttl: chrono::Duration,
    absolute_ttl: chrono::Duration,
    metrics: Arc<Metrics>,
    audit: Audit,
}

/// Ended sessions are kept this long (for investigation), then deleted with their
/// refresh tokens.
const ENDED_SESSIONS_KEPT: chrono::Duration = chrono::Duration::days(1);
/// How often ended sessions are deleted.
const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Lifetimes of refresh-token families.
#[derive(Debug, Clone, Copy)]
pub struct FamilyLifetimes {
    pub idle: std::time::Duration,
    pub absolute: std::time::Duration,
}

impl Sessions {
    pub fn new(
        store: Arc<dyn Store>,
        issuer: TokenIssuer,
        validator: Validator,
        revocations: Arc<Revocations>,
        clients: Arc<Clients>,
        lifetimes: FamilyLifetimes,
        events: Events,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            store,
            issuer,
            validator,
            revocations,
            clients,
            idle_ttl: chrono::Duration::from_std(lifetimes.idle)?,
            absolute_ttl: chrono::Duration::from_std(lifetimes.absolute)?,
            metrics: events.metrics,
            audit: events.audit,
        })
    }

    pub fn access_ttl(&self) -> i64 {
        self.issuer.access_ttl()
    }

    /// Starts a family for a user who just logged in, with its first refresh token. The
    /// response carries that token only when the client may use the refresh grant; the
    /// family exists either way, since it is the `sid` that revokes the access token.
    pub async fn start(
        &self,
        user: User,
        client: &Client,
        scopes: Scopes,
        source: IpAddr,
        now: DateTime<Utc>,
    ) -> Result<TokenPair, SessionError> {
        let family = Family {
            id: Uuid::new_v4(),
            user_id: user.id,
            client_id: client.id.as_str().to_owned(),
            scope: scopes.to_claim().unwrap_or_default(),
            created_at: now,
            last_used_at: now,
            expires_at: now + self.absolute_ttl,
            revoked_at: None,
            revoked_reason: None,
        };
        let refresh = RefreshToken::generate();
        self.store.create_family(&family, &refresh.hash()).await?;
        let access = self.issue(
            user.id.to_string(),
            user.roles.clone(),
            client,
            &scopes,
            Some(family.id),
            now,
        )?;
        tracing::info!(user_id = %user.id, client_id = %client.id, sid = %family.id, jti = %access.claims.jti, "session started");
        self.metrics.token_issued(GrantType::Password);
        self.audit
            .record(
                AuditEvent::new(EventKind::LoginSucceeded, now)
                    .user(user.id)
                    .client(client.id.as_str())
                    .sid(family.id)
                    .jti(&access.claims.jti)
                    .source(source),
            )
            .await;
        Ok(TokenPair {
            access,
            refresh: client.may_use(GrantType::RefreshToken).then_some(refresh),
            scopes,
        })
    }

    /// A `client_credentials` token (RFC 6749 §4.4): the client is the subject; no
    /// family, no refresh token (spec §2, §3).
    pub fn client_token(
        &self,
        client: &Client,
        scopes: Scopes,
        now: DateTime<Utc>,
    ) -> Result<TokenPair, SessionError> {
        let subject = client.id.as_str().to_owned();
        let access = self.issue(subject, Vec::new(), client, &scopes, None, now)?;
        tracing::info!(client_id = %client.id, jti = %access.claims.jti, "client token issued");
        self.metrics.token_issued(GrantType::ClientCredentials);
        Ok(TokenPair {
            access,
            refresh: None,
            scopes,
        })
    }

    /// Trades a refresh token for a new pair in the same family.
    pub async fn refresh(
        &self,
        presented: &str,
        client: &Client,
        source: IpAddr,
        now: DateTime<Utc>,
    ) -> Result<TokenPair, SessionError> {
        let token = RefreshToken::parse(presented).ok_or(SessionError::InvalidGrant)?;
        let hash = token.hash();
        let next = RefreshToken::generate();
        // The hot path: a live token of a live family of this client, rotated in one
        // round trip.
        if let Some((family, roles)) = self
            .store
            .rotate_live_refresh_token(&hash, &next.hash(), client.id.as_str(), self.idle_ttl, now)
            .await?
        {
            let scopes = Scopes::parse(&family.scope).unwrap_or_default();
            let access = self.issue(
                family.user_id.to_string(),
                roles,
                client,
                &scopes,
                Some(family.id),
                now,
            )?;
            tracing::info!(user_id = %family.user_id, client_id = %client.id, sid = %family.id, jti = %access.claims.jti, "refresh token rotated");
            self.rotated();
            return Ok(TokenPair {
                access,
                refresh: Some(next),
                scopes,
            });
        }
        // Anything else is an error; this path tells which, and acts on reuse. A refresh
        // token only works for the client it was issued to: checked before consuming, so
        // another client cannot burn it.
        match self.store.family_by_token(&hash).await? {
            Some(family) if family.client_id == client.id.as_str() => {}
            _ => return Err(SessionError::InvalidGrant),
        }
        match self
            .store
            .rotate_refresh_token(
                &hash,
                &next.hash(),
                self.idle_ttl,
                self.revocations.revoking(RevokeReason::Reuse, now),
            )
            .await?
        {
            Rotation::Rotated(family) => {
                let user = match self.store.user_by_id(family.user_id).await? {
                    Some(user) => user,
                    None => return Err(SessionError::InvalidGrant),
                };
                let scopes = Scopes::parse(&family.scope).unwrap_or_default();
                let access = self.issue(
                    user.id.to_string(),
                    user.roles,
                    client,
                    &scopes,
                    Some(family.id),
                    now,
                )?;
                tracing::info!(user_id = %user.id, client_id = %client.id, sid = %family.id, jti = %access.claims.jti, "refresh token rotated");
                self.rotated();
                Ok(TokenPair {
                    access,
                    refresh: Some(next),
                    scopes,
                })
            }
            Rotation::Unknown => Err(SessionError::InvalidGrant),
            Rotation::Reused(family) => {
                // A security event: someone holds a token that was already used.
                tracing::warn!(
                    event = "refresh_token_reuse",
                    sid = %family.id,
                    user_id = %family.user_id,
                    client_id = %family.client_id,
                    "refresh token reuse detected: family revoked"
                );
                self.revocations.families_revoked(&[family.id], now).await;
                self.metrics.refresh_reuse_detected();
                self.metrics.families_revoked(RevokeReason::Reuse, 1);
                self.audit
                    .record(
                        AuditEvent::new(EventKind::RefreshReuse, now)
                            .user(family.user_id)
                            .client(&family.client_id)
                            .sid(family.id)
                            .source(source),
                    )
                    .await;
                Err(SessionError::InvalidGrant)
            }
            Rotation::Ended(family) => {
                tracing::info!(sid = %family.id, user_id = %family.user_id, "refresh refused: family ended");
                self.revocations.families_revoked(&[family.id], now).await;
                if family.revoked_at.is_none() {
                    // Ended by this presentation: past its lifetime, or its user is
                    // disabled.
                    let reason = family
                        .end_reason(now, self.idle_ttl, false)
                        .unwrap_or(RevokeReason::UserDisabled);
                    self.metrics.families_revoked(reason, 1);
                    self.audit
                        .record(
                            AuditEvent::new(EventKind::FamilyRevoked, now)
                                .user(family.user_id)
                                .client(&family.client_id)
                                .sid(family.id)
                                .source(source)
                                .detail(reason.as_str()),
                        )
                        .await;
                }
                Err(SessionError::InvalidGrant)
            }
        }
    }

    fn rotated(&self) {
        self.metrics.token_issued(GrantType::RefreshToken);
        self.metrics.refresh_rotated();
    }

    /// An access token for `client`: of a user's session (`sid`), or of the client
    /// itself (`client_credentials`: no sid, no roles).
    fn issue(
        &self,
        subject: String,
        roles: Vec<String>,
        client: &Client,
        scopes: &Scopes,
        sid: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<IssuedToken, SessionError> {
        let grant = AccessGrant {
            subject,
            client_id: client.id.as_str(),
            audience: &client.audience,
            scopes,
            sid: sid.map(|sid| sid.to_string()),
            roles,
        };
        Ok(self.issuer.issue(grant, now.timestamp())?)
    }

    /// Deletes sessions that ended more than a day ago, and expired `Idempotency-Key`
    /// records, at start and then hourly, until its task is aborted: without it every
    /// refresh would leave a row forever.
    pub async fn prune_loop(self) {
        loop {
            let before = Utc::now() - ENDED_SESSIONS_KEPT;
            match self.store.prune_families(before, self.idle_ttl).await {
                Ok(n) if n > 0 => tracing::info!(pruned = n, "ended sessions deleted"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "deleting ended sessions failed"),
            }
            // Idempotency-Key records past their 24 h (admin-api.md §1) go with them.
            match self.store.prune_idempotency_keys(Utc::now()).await {
                Ok(n) if n > 0 => tracing::info!(pruned = n, "expired idempotency keys deleted"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "deleting expired idempotency keys failed"),
            }
            tokio::time::sleep(PRUNE_EVERY).await;
        }
    }

    /// Validates an access token (spec §4) and checks it is not revoked. Its `aud` must
    /// name an audience of the client it was issued to, which must still exist: removing
    /// a client ends its tokens too.
    pub async fn verify_access(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<AccessClaims, AccessError> {
        let claims = self
            .validator
            .validate(token, now.timestamp())
            .map_err(AccessError::Rejected)?;
        match self.clients.find(&claims.client_id).await? {
            Some(client) if client.accepts_audience(&claims.aud) => {}
            _ => return Err(AccessError::Rejected(Rejection::WrongAudience)),
        }
        if self
            .revocations
            .is_revoked(&claims.jti, claims.sid.as_deref(), now)
            .await?
        {
            return Err(AccessError::Revoked);
        }
        Ok(claims)
    }

    /// RFC 7662: the claims of a live access token; `None` for anything else (refresh
    /// tokens, expired, revoked, forged, garbage). Only an unavailable dependency is an
    /// error: an introspection answer must not say "inactive" when it could not check.
    pub async fn introspect(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<AccessClaims>, AccessError> {
        match self.verify_access(token, now).await {
            Ok(claims) => Ok(Some(claims)),
            Err(AccessError::Rejected(_) | AccessError::Revoked) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Logout: ends the token's family and the token itself.
    pub async fn logout(
        &self,
        claims: &AccessClaims,
        source: IpAddr,
        now: DateTime<Utc>,
    ) -> Result<(), SessionError> {
        let sid = claims.sid.as_deref().and_then(|s| Uuid::parse_str(s).ok());
        if let Some(sid) = sid {
            if self
                .revocations
                .revoke_family(sid, RevokeReason::Logout, now)
                .await?
            {
                self.metrics.families_revoked(RevokeReason::Logout, 1);
            }
        }
        self.revoke_access(claims, now).await?;
        tracing::info!(sid = claims.sid.as_deref().unwrap_or_default(), jti = %claims.jti, "logged out");
        let mut event = token_event(EventKind::Logout, claims, now).source(source);
        event.sid = sid;
        self.audit.record(event).await;
        Ok(())
    }

    /// RFC 7009: revokes a refresh token (its family) or an access token (its `jti`),
    /// when it was issued to `client`. Anything else is silently ignored.
    pub async fn revoke(
        &self,
        token: &str,
        client: &Client,
        source: IpAddr,
        now: DateTime<Utc>,
    ) -> Result<(), SessionError> {
        if let Some(refresh) = RefreshToken::parse(token) {
            if let Some(family) = self.store.family_by_token(&refresh.hash()).await? {
                if family.client_id == client.id.as_str() {
                    if self
                        .revocations
                        .revoke_family(family.id, RevokeReason::Revoked, now)
                        .await?
                    {
                        self.metrics.families_revoked(RevokeReason::Revoked, 1);
                    }
                    tracing::info!(sid = %family.id, client_id = %client.id, "refresh token family revoked");
                    self.audit
                        .record(
                            AuditEvent::new(EventKind::TokenRevoked, now)
                                .user(family.user_id)
                                .client(client.id.as_str())
                                .sid(family.id)
                                .source(source)
                                .detail("refresh_token"),
                        )
                        .await;
                }
            }
            return Ok(());
        }
        if let Ok(claims) = self.validator.validate(token, now.timestamp()) {
            if claims.client_id == client.id.as_str() {
                self.revoke_access(&claims, now).await?;
                tracing::info!(jti = %claims.jti, client_id = %client.id, "access token revoked");
                self.audit
                    .record(
                        token_event(EventKind::TokenRevoked, &claims, now)
                            .source(source)
                            .detail("access_token"),
                    )
                    .await;
            }
        }
        Ok(())
    }

    async fn revoke_access(
        &self,
        claims: &AccessClaims,
        now: DateTime<Utc>,
    ) -> Result<(), SessionError> {
        let expires_at =
            DateTime::from_timestamp(claims.exp, 0).unwrap_or(now) + self.validator.leeway();
        self.revocations
            .revoke_jti(&claims.jti, expires_at, now)
            .await?;
        Ok(())
    }
}

/// An event about an access token: its client, jti, and user (a `client_credentials`
/// token's subject is its client, not a user).
fn token_event(kind: EventKind, claims: &AccessClaims, now: DateTime<Utc>) -> AuditEvent {
    let mut event = AuditEvent::new(kind, now)
        .client(&claims.client_id)
        .jti(&claims.jti);
    if claims.sid.is_some() {
        event.user_id = Uuid::parse_str(&claims.sub).ok();
    }
    event
}
