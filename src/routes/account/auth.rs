//! Who may call the account API (admin-api.md §3): a user's own access token, that is
//! any valid token with a `sid` (a session). A `client_credentials` token has no user:
//! `403`. A missing or invalid token, or one of an ended session, is `401` with
//! `WWW-Authenticate: Bearer` (RFC 6750 §3).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, FromRequest, HttpRequest};
use chrono::Utc;
use uuid::Uuid;

use crate::accounts::sessions::SessionOwner;
use crate::accounts::Actor;
use crate::routes::problem::{Kind, Problem};
use crate::routes::{bearer_token, source_address};
use crate::startup::AppState;

/// The user behind the request's token, and the session it belongs to.
#[derive(Debug, Clone)]
pub struct AccountCaller {
    pub user_id: Uuid,
    pub sid: Uuid,
    /// The client the token was issued to, and where the request came from (audit).
    pub actor: Actor,
}

impl AccountCaller {
    /// The caller as the service sees it.
    pub fn owner(&self) -> SessionOwner {
        SessionOwner {
            user_id: self.user_id,
            sid: self.sid,
            actor: self.actor.clone(),
        }
    }

    async fn authenticate(req: HttpRequest) -> Result<Self, Problem> {
        if req.headers().get(AUTHORIZATION).is_none() {
            return Err(Problem::unauthorized(false));
        }
        let token = bearer_token(&req).map_err(|_| Problem::unauthorized(true))?;
        let state = req
            .app_data::<web::Data<AppState>>()
            .ok_or_else(Problem::internal)?;
        let claims = state.sessions.verify_access(token, Utc::now()).await?;
        let Some(sid) = claims.sid.as_deref() else {
            return Err(Problem::new(
                Kind::Forbidden,
                "the account API takes a user's token; this one has no user",
            ));
        };
        // Both were written by us for a session: they parse.
        let sid = Uuid::parse_str(sid).map_err(|_| Problem::unauthorized(true))?;
        let user_id = Uuid::parse_str(&claims.sub).map_err(|_| Problem::unauthorized(true))?;
        Ok(Self {
            user_id,
            sid,
            actor: Actor::User {
                client_id: claims.client_id,
                source: source_address(&req, &state.trusted_proxies),
            },
        })
    }
}

impl FromRequest for AccountCaller {
    type Error = Problem;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Problem>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(Self::authenticate(req.clone()))
    }
}
