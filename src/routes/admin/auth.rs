//! Who may call the admin API (admin-api.md §2): a bearer access token from this authd's
//! `client_credentials` grant (no `sid`) whose `aud` contains `authd-admin` and whose
//! `scope` holds the route's scope. A missing or invalid token is `401` with
//! `WWW-Authenticate: Bearer` (RFC 6750 §3); a user's token is `403` whatever its scopes.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, FromRequest, HttpRequest};
use chrono::Utc;

use crate::domain::ClientId;
use crate::routes::bearer_token;
use crate::routes::problem::{Kind, Problem};
use crate::startup::AppState;

/// The audience an admin token must carry (admin-api.md §2).
pub const ADMIN_AUDIENCE: &str = "authd-admin";

/// A client authenticated for the admin API, with the scopes its token grants.
#[derive(Debug, Clone)]
pub struct AdminCaller {
    pub client_id: ClientId,
    pub scopes: BTreeSet<String>,
}

impl AdminCaller {
    /// `403 insufficient-scope` unless the token grants `scope`.
    pub fn require(&self, scope: &str) -> Result<(), Problem> {
        if self.scopes.contains(scope) {
            Ok(())
        } else {
            Err(Problem::insufficient_scope(scope))
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
        if claims.sid.is_some() {
            return Err(Problem::new(
                Kind::Forbidden,
                "the admin API takes client_credentials tokens only",
            ));
        }
        if !claims.aud.iter().any(|aud| aud == ADMIN_AUDIENCE) {
            return Err(Problem::new(
                Kind::Forbidden,
                "the token's audience does not include authd-admin",
            ));
        }
        // The token was signed by us for a registered client: its id parses.
        let client_id =
            ClientId::parse(&claims.client_id).map_err(|_| Problem::unauthorized(true))?;
        let scopes = claims
            .scope
            .as_deref()
            .unwrap_or_default()
            .split_ascii_whitespace()
            .map(str::to_owned)
            .collect();
        Ok(Self { client_id, scopes })
    }
}

impl FromRequest for AdminCaller {
    type Error = Problem;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Problem>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(Self::authenticate(req.clone()))
    }
}
