//! `POST /auth/token` (spec §3, RFC 6749 §4.3 and §5).

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde::Serialize;
use uuid::Uuid;

use super::body::{read_params, BodyKind, Params};
use crate::domain::{ClientId, Password, Scopes, Username};
use crate::error::OAuthError;
use crate::startup::AppState;
use crate::tokens::AccessGrant;

/// A parsed token request, one variant per supported grant.
enum TokenRequest {
    Password {
        username: Username,
        password: Password,
        client_id: Option<ClientId>,
        scope: Option<Scopes>,
    },
}

impl TokenRequest {
    fn parse(mut params: Params) -> Result<Self, OAuthError> {
        // A JSON body with username and password and no grant_type is the password grant.
        let grant_type = match params.take("grant_type") {
            Some(g) => g,
            None if params.kind == BodyKind::Json
                && params.contains("username")
                && params.contains("password") =>
            {
                "password".to_owned()
            }
            None => return Err(OAuthError::invalid_request("missing parameter: grant_type")),
        };
        if params.contains("client_secret") {
            // Only public clients exist so far, and a public client never presents a secret.
            return Err(OAuthError::invalid_client("client authentication failed"));
        }
        match grant_type.as_str() {
            "password" => {
                let username = Username::parse(&params.require("username")?).map_err(|_| {
                    OAuthError::invalid_request("username is malformed or too long")
                })?;
                let password = Password::parse(&params.require("password")?)
                    .map_err(|_| OAuthError::invalid_request("password is too long"))?;
                let client_id = params
                    .take("client_id")
                    .map(|id| ClientId::parse(&id))
                    .transpose()
                    .map_err(|_| OAuthError::invalid_request("client_id is malformed"))?;
                let scope = params
                    .take("scope")
                    .map(|s| Scopes::parse(&s))
                    .transpose()
                    .map_err(|_| OAuthError::invalid_scope("scope is malformed"))?;
                Ok(Self::Password {
                    username,
                    password,
                    client_id,
                    scope,
                })
            }
            _ => Err(OAuthError::unsupported_grant_type(
                "grant_type is not supported",
            )),
        }
    }
}

/// The successful token response (RFC 6749 §5.1).
#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
}

pub async fn token(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let params = read_params(&req, payload).await?;
    if req.headers().contains_key(header::AUTHORIZATION) {
        // No confidential clients yet: HTTP client authentication cannot succeed.
        return Err(OAuthError::invalid_client("client authentication failed"));
    }
    let now = Utc::now();
    match TokenRequest::parse(params)? {
        TokenRequest::Password {
            username,
            password,
            client_id,
            scope,
        } => {
            let client = state
                .clients
                .resolve(client_id.as_ref())
                .ok_or_else(|| OAuthError::invalid_client("client authentication failed"))?;
            let scopes = client
                .grant_scopes(scope)
                .map_err(|_| OAuthError::invalid_scope("requested scope is not allowed"))?;
            let user = state
                .authenticator
                .authenticate(&username, &password, now)
                .await?;
            let issued = state.issuer.issue(
                AccessGrant {
                    subject: user.id.to_string(),
                    client_id: client.id.as_str(),
                    audience: &client.audience,
                    scopes: &scopes,
                    sid: Some(Uuid::new_v4().to_string()),
                    roles: user.roles,
                },
                now.timestamp(),
            )?;
            tracing::info!(
                user_id = %user.id,
                client_id = %client.id,
                jti = %issued.claims.jti,
                sid = issued.claims.sid.as_deref().unwrap_or_default(),
                kid = %issued.kid,
                "login: access token issued"
            );
            Ok(token_response(TokenResponse {
                access_token: issued.token,
                token_type: "Bearer",
                expires_in: state.issuer.access_ttl(),
                scope: scopes.to_claim(),
            }))
        }
    }
}

/// Token responses are never cached (RFC 6749 §5.1).
fn token_response(body: TokenResponse) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((header::PRAGMA, HeaderValue::from_static("no-cache")))
        .json(body)
}
