//! `POST /auth/token` and `POST /auth/refresh` (spec §3, RFC 6749 §4.3, §5 and §6).

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde::Serialize;

use super::body::{read_params, BodyKind, Params};
use crate::clients::Client;
use crate::domain::{ClientId, Password, Scopes, Username};
use crate::error::OAuthError;
use crate::sessions::TokenPair;
use crate::startup::AppState;

/// A parsed token request, one variant per supported grant.
enum TokenRequest {
    Password {
        username: Username,
        password: Password,
        scope: Option<Scopes>,
    },
    Refresh {
        refresh_token: String,
    },
}

impl TokenRequest {
    fn parse(grant_type: &str, params: &mut Params) -> Result<Self, OAuthError> {
        match grant_type {
            "password" => {
                let username = Username::parse(&params.require("username")?).map_err(|_| {
                    OAuthError::invalid_request("username is malformed or too long")
                })?;
                let password = Password::parse(&params.require("password")?)
                    .map_err(|_| OAuthError::invalid_request("password is too long"))?;
                let scope = params
                    .take("scope")
                    .map(|s| Scopes::parse(&s))
                    .transpose()
                    .map_err(|_| OAuthError::invalid_scope("scope is malformed"))?;
                Ok(Self::Password {
                    username,
                    password,
                    scope,
                })
            }
            "refresh_token" => Ok(Self::Refresh {
                refresh_token: params.require("refresh_token")?,
            }),
            _ => Err(OAuthError::unsupported_grant_type(
                "grant_type is not supported",
            )),
        }
    }
}

/// The client a request is made for. Only public clients exist so far: a request naming
/// another client, or presenting any client credentials, fails client authentication.
pub(super) fn client<'a>(
    req: &HttpRequest,
    params: &mut Params,
    state: &'a AppState,
) -> Result<&'a Client, OAuthError> {
    if req.headers().contains_key(header::AUTHORIZATION) || params.contains("client_secret") {
        return Err(OAuthError::invalid_client("client authentication failed"));
    }
    let client_id = params
        .take("client_id")
        .map(|id| ClientId::parse(&id))
        .transpose()
        .map_err(|_| OAuthError::invalid_request("client_id is malformed"))?;
    state
        .clients
        .resolve(client_id.as_ref())
        .ok_or_else(|| OAuthError::invalid_client("client authentication failed"))
}

pub async fn token(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let mut params = read_params(&req, payload).await?;
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
    let client = client(&req, &mut params, &state)?;
    let request = TokenRequest::parse(&grant_type, &mut params)?;
    respond(&state, client, request).await
}

/// `POST /auth/refresh`: `refresh_token` in a JSON or form body, exactly like the
/// refresh_token grant.
pub async fn refresh(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let mut params = read_params(&req, payload).await?;
    match params.take("grant_type").as_deref() {
        None | Some("refresh_token") => {}
        Some(_) => {
            return Err(OAuthError::unsupported_grant_type(
                "only refresh_token is accepted here",
            ))
        }
    }
    let client = client(&req, &mut params, &state)?;
    let request = TokenRequest::parse("refresh_token", &mut params)?;
    respond(&state, client, request).await
}

async fn respond(
    state: &AppState,
    client: &Client,
    request: TokenRequest,
) -> Result<HttpResponse, OAuthError> {
    let now = Utc::now();
    let pair = match request {
        TokenRequest::Password {
            username,
            password,
            scope,
        } => {
            let scopes = client
                .grant_scopes(scope)
                .map_err(|_| OAuthError::invalid_scope("requested scope is not allowed"))?;
            let user = state
                .authenticator
                .authenticate(&username, &password, now)
                .await?;
            state.sessions.start(user, client, scopes, now).await?
        }
        TokenRequest::Refresh { refresh_token } => {
            state.sessions.refresh(&refresh_token, client, now).await?
        }
    };
    Ok(token_response(pair, state.sessions.access_ttl()))
}

/// The successful token response (RFC 6749 §5.1).
#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
}

/// Token responses are never cached (RFC 6749 §5.1).
fn token_response(pair: TokenPair, expires_in: i64) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((header::PRAGMA, HeaderValue::from_static("no-cache")))
        .json(TokenResponse {
            access_token: pair.access.token,
            token_type: "Bearer",
            expires_in,
            refresh_token: pair.refresh.map(|r| r.into_string()),
            scope: pair.scopes.to_claim(),
        })
}
