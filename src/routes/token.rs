//! `POST /auth/token` and `POST /auth/refresh` (spec §3, RFC 6749 §4.3, §5 and §6).

use std::net::IpAddr;
use std::sync::Arc;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde::Serialize;

use super::body::{read_params, BodyKind, Params};
use super::{client_auth, source_address};
use crate::clients::{Client, Presented};
use crate::domain::{GrantType, Password, Scopes, Username};
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
    ClientCredentials {
        scope: Option<Scopes>,
    },
}

impl TokenRequest {
    fn parse(grant: GrantType, params: &mut Params) -> Result<Self, OAuthError> {
        Ok(match grant {
            GrantType::Password => {
                let username = Username::parse(&params.require("username")?).map_err(|_| {
                    OAuthError::invalid_request("username is malformed or too long")
                })?;
                let password = Password::parse(&params.require("password")?)
                    .map_err(|_| OAuthError::invalid_request("password is too long"))?;
                Self::Password {
                    username,
                    password,
                    scope: scope(params)?,
                }
            }
            GrantType::RefreshToken => Self::Refresh {
                refresh_token: params.require("refresh_token")?,
            },
            GrantType::ClientCredentials => Self::ClientCredentials {
                scope: scope(params)?,
            },
        })
    }
}

fn scope(params: &mut Params) -> Result<Option<Scopes>, OAuthError> {
    params
        .take("scope")
        .map(|s| Scopes::parse(&s))
        .transpose()
        .map_err(|_| OAuthError::invalid_scope("scope is malformed"))
}

/// Authenticates the client and checks it may use `grant` (RFC 6749 §5.2:
/// `invalid_client`, `unauthorized_client`).
async fn client_for(
    req: &HttpRequest,
    params: &mut Params,
    state: &AppState,
    grant: GrantType,
) -> Result<Arc<Client>, OAuthError> {
    let presented = client_auth::presented(req, params)?;
    if grant == GrantType::ClientCredentials && matches!(presented, Presented::Nothing) {
        // RFC 6749 §4.4.2: the client must authenticate; there is no default here.
        return Err(OAuthError::invalid_client(
            "client authentication is required for client_credentials",
        ));
    }
    let client = state
        .clients
        .authenticate(presented, chrono::Utc::now())
        .await?;
    if !client.may_use(grant) {
        return Err(OAuthError::unauthorized_client(format!(
            "the client may not use the {grant} grant"
        )));
    }
    Ok(client)
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
    let grant = GrantType::parse(&grant_type)
        .map_err(|_| OAuthError::unsupported_grant_type("grant_type is not supported"))?;
    let client = client_for(&req, &mut params, &state, grant).await?;
    let request = TokenRequest::parse(grant, &mut params)?;
    let source = source_address(&req, &state.trusted_proxies);
    respond(&state, &client, request, source).await
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
    let client = client_for(&req, &mut params, &state, GrantType::RefreshToken).await?;
    let request = TokenRequest::parse(GrantType::RefreshToken, &mut params)?;
    let source = source_address(&req, &state.trusted_proxies);
    respond(&state, &client, request, source).await
}

async fn respond(
    state: &AppState,
    client: &Client,
    request: TokenRequest,
    source: IpAddr,
) -> Result<HttpResponse, OAuthError> {
    let now = Utc::now();
    let granted = |scope| {
        client
            .grant_scopes(scope)
            .map_err(|_| OAuthError::invalid_scope("requested scope is not allowed"))
    };
    let pair = match request {
        TokenRequest::Password {
            username,
            password,
            scope,
        } => {
            let scopes = granted(scope)?;
            let user = state
                .authenticator
                .authenticate(&username, &password, source, now)
                .await?;
            state
                .sessions
                .start(user, client, scopes, source, now)
                .await?
        }
        TokenRequest::Refresh { refresh_token } => {
            state
                .sessions
                .refresh(&refresh_token, client, source, now)
                .await?
        }
        TokenRequest::ClientCredentials { scope } => {
            state.sessions.client_token(client, granted(scope)?, now)?
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
