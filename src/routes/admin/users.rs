//! `/admin/v1/users` (admin-api.md §2): create a user, read one.

use actix_web::http::header::{ETAG, LOCATION};
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::auth::AdminCaller;
use super::{read_json_object, scope};
use crate::accounts::{Actor, Credential, NewAccount};
use crate::domain::{Email, ImportedHash, Password, PersonName, Role, Username};
use crate::routes::problem::{FieldError, Problem};
use crate::startup::AppState;
use crate::store::{Profile, User};

/// `POST /admin/v1/users` → `201` + `Location` + the user (scope `admin:users:write`;
/// `roles` also needs `admin:roles:assign`). Audited with the calling client.
#[utoipa::path(
    post,
    path = "/admin/v1/users",
    tag = "users",
    request_body(content = CreateUserBody, content_type = "application/json"),
    responses(
        (status = 201, description = "The user was created", body = UserView,
         headers(("Location" = String, description = "The new user's URL"),
                 ("ETag" = String, description = "The user's strong entity tag"))),
        (status = 409, description = "The username is taken", body = crate::routes::openapi::ProblemBody, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    caller: AdminCaller,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    caller.require(scope::USERS_WRITE)?;
    let create = CreateUser::parse(read_json_object(&req, payload).await?)?;
    if create.sets_roles {
        caller.require(scope::ROLES_ASSIGN)?;
    }
    let actor = Actor::Client(caller.client_id);
    let user = state
        .accounts
        .create_user(&actor, create.account, Utc::now())
        .await?;
    let location = format!("/admin/v1/users/{}", user.id);
    let mut response = HttpResponse::Created();
    response.insert_header((LOCATION, location));
    Ok(represent(response, &user))
}

/// `GET /admin/v1/users/{id}` → the user with its `ETag` (scope `admin:users:read`); an
/// unknown id, or one that is not a UUID, is `404`.
#[utoipa::path(
    get,
    path = "/admin/v1/users/{id}",
    tag = "users",
    params(("id" = String, Path, description = "The user's id (a UUID)")),
    responses(
        (status = 200, description = "The user", body = UserView,
         headers(("ETag" = String, description = "The user's strong entity tag"))),
    )
)]
pub async fn get(
    caller: AdminCaller,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    caller.require(scope::USERS_READ)?;
    let id = Uuid::parse_str(&id).map_err(|_| Problem::not_found())?;
    let user = state
        .accounts
        .user(id)
        .await?
        .ok_or_else(Problem::not_found)?;
    Ok(represent(HttpResponse::Ok(), &user))
}

/// The user representation of admin-api.md §2: absent optional members omitted, never
/// `null`; never a hash.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = User)]
pub struct UserView<'a> {
    id: Uuid,
    username: &'a str,
    roles: &'a [String],
    disabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    email_verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    given_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    family_name: Option<&'a str>,
    created_at: String,
    updated_at: String,
    password_changed_at: String,
}

/// RFC 3339 in UTC (admin-api.md §1).
fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A strong ETag (RFC 9110 §8.8.3) that changes on every change: the store bumps
/// `updated_at` on each write, so a digest of the id and `updated_at` (full precision).
fn etag(user: &User) -> String {
    let digest = Sha256::new()
        .chain_update(user.id.as_bytes())
        .chain_update(user.updated_at.to_rfc3339_opts(SecondsFormat::Nanos, true))
        .finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

fn represent(mut response: HttpResponseBuilder, user: &User) -> HttpResponse {
    response.insert_header((ETAG, etag(user))).json(UserView {
        id: user.id,
        username: &user.username,
        roles: &user.roles,
        disabled: user.disabled,
        email: user.email.as_deref(),
        email_verified: user.email_verified,
        name: user.name.as_deref(),
        given_name: user.given_name.as_deref(),
        family_name: user.family_name.as_deref(),
        created_at: timestamp(user.created_at),
        updated_at: timestamp(user.updated_at),
        password_changed_at: timestamp(user.password_changed_at),
    })
}

/// The body of `POST /admin/v1/users`, for the OpenAPI document (the handler parses the
/// object itself to refuse unknown members and report every bad one).
#[derive(utoipa::ToSchema)]
#[schema(as = CreateUser)]
#[allow(dead_code)]
pub struct CreateUserBody {
    username: String,
    /// A new password (the CLI's rules); give this or `password_hash`.
    password: Option<String>,
    /// An existing hash in PHC or modular-crypt form (argon2, bcrypt, pbkdf2, scrypt).
    password_hash: Option<String>,
    roles: Option<Vec<String>>,
    disabled: Option<bool>,
    email: Option<String>,
    email_verified: Option<bool>,
    name: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
}

/// Every member a create body may have; any other is refused (no mass assignment).
const MEMBERS: [&str; 10] = [
    "username",
    "password",
    "password_hash",
    "roles",
    "disabled",
    "email",
    "email_verified",
    "name",
    "given_name",
    "family_name",
];

/// A parsed `POST /users` body.
struct CreateUser {
    account: NewAccount,
    /// `roles` was given: the caller needs `admin:roles:assign` too.
    sets_roles: bool,
}

impl CreateUser {
    /// Parses the body into domain values, collecting one error per bad member. No
    /// detail repeats a value: it may be a password or a hash.
    fn parse(object: Map<String, Value>) -> Result<Self, Problem> {
        let unknown: Vec<FieldError> = object
            .keys()
            .filter(|k| !MEMBERS.contains(&k.as_str()))
            .map(|k| FieldError::new(k.chars().take(64).collect::<String>(), "unknown member"))
            .collect();
        if !unknown.is_empty() {
            return Err(Problem::invalid_fields(unknown));
        }
        let sets_roles = !matches!(object.get("roles"), None | Some(Value::Null));
        let mut f = Fields {
            object,
            errors: Vec::new(),
        };
        let username = f.parsed("username", Username::parse);
        if username.is_none() && f.errors.is_empty() {
            f.fail("username", "username is required");
        }
        let credential = f.credential();
        let roles = f.roles();
        let disabled = f.boolean("disabled");
        let profile = Profile {
            email: f.parsed("email", Email::parse),
            email_verified: f.boolean("email_verified"),
            name: f.parsed("name", |raw| PersonName::parse(raw, "name")),
            given_name: f.parsed("given_name", |raw| PersonName::parse(raw, "given_name")),
            family_name: f.parsed("family_name", |raw| PersonName::parse(raw, "family_name")),
        };
        match (username, credential) {
            (Some(username), Some(credential)) if f.errors.is_empty() => Ok(Self {
                account: NewAccount {
                    username,
                    credential,
                    roles,
                    disabled,
                    profile,
                },
                sets_roles,
            }),
            _ => Err(Problem::invalid_fields(f.errors)),
        }
    }
}

/// The members of a body being parsed, and the errors found so far.
struct Fields {
    object: Map<String, Value>,
    errors: Vec<FieldError>,
}

impl Fields {
    fn fail(&mut self, member: &str, detail: impl Into<String>) {
        self.errors.push(FieldError::new(member, detail));
    }

    /// An optional string member; `null` is the same as absent.
    fn string(&mut self, member: &str) -> Option<String> {
        match self.object.remove(member) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => {
                self.fail(member, format!("{member} must be a string"));
                None
            }
        }
    }

    fn parsed<T>(
        &mut self,
        member: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let raw = self.string(member)?;
        parse(&raw).map_err(|detail| self.fail(member, detail)).ok()
    }

    /// An optional boolean member, false when absent or `null`.
    fn boolean(&mut self, member: &str) -> bool {
        match self.object.remove(member) {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => b,
            Some(_) => {
                self.fail(member, format!("{member} must be true or false"));
                false
            }
        }
    }

    fn roles(&mut self) -> Vec<Role> {
        let roles = match self.object.remove("roles") {
            None | Some(Value::Null) => return Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(role) => Role::parse(role),
                    _ => Err("roles must be an array of strings".to_owned()),
                })
                .collect::<Result<_, _>>(),
            Some(_) => Err("roles must be an array of strings".to_owned()),
        };
        roles
            .map_err(|detail| self.fail("roles", detail))
            .unwrap_or_default()
    }

    /// Exactly one of `password` (the CLI's rules for a new password) and
    /// `password_hash` (an existing hash, admin-api.md §2).
    fn credential(&mut self) -> Option<Credential> {
        let password = self.parsed("password", Password::parse_new);
        let hash = self.parsed("password_hash", ImportedHash::parse);
        match (password, hash) {
            (Some(password), None) => Some(Credential::Password(password)),
            (None, Some(hash)) => Some(Credential::Hash(hash)),
            (Some(_), Some(_)) => {
                self.fail("password", "give password or password_hash, not both");
                None
            }
            (None, None) => {
                if !self.errors.iter().any(|e| e.field.starts_with("password")) {
                    self.fail("password", "password or password_hash is required");
                }
                None
            }
        }
    }
}
