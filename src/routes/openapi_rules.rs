//! The rules the server enforces on input, written into the OpenAPI document so that a
//! request the document allows is one the server accepts (schemathesis'
//! `positive_data_acceptance`) and one it forbids is refused (`negative_data_rejection`).
//! The request body schemas of the admin and account APIs and the constrained query
//! parameters are replaced here with JSON Schema written from the domain rules
//! (`src/domain/*.rs`), so each pattern sits next to the constants it spells out.
//!
//! Where the server normalizes (a username is NFKC-normalized and lowercased, names and
//! e-mail addresses are trimmed), the pattern admits a subset of what the server
//! accepts: every string it admits is one the server takes as given.

use serde_json::{json, Map, Value};

use crate::audit::EventKind;
use crate::domain::{GrantType, Password, PersonName, Username};
use crate::routes::admin::audit::AUDIT_CURSOR_PATTERN;
use crate::routes::admin::CURSOR_PATTERN;

/// `Username::parse`, ASCII only: letters (any case: they are lowercased), digits and
/// `. _ - @ +`, 1 to 64 of them, with ASCII whitespace around (trimmed); at most 256
/// bytes in all.
const USERNAME: &str = r"^[\t\n\u000b\u000c\r ]*[A-Za-z0-9._@+-]{1,64}[\t\n\u000b\u000c\r ]*$";
/// `Role::parse`: 1 to 64 of `a-z 0-9 _ . : -`, starting with a letter or digit.
const ROLE: &str = r"^[a-z0-9][a-z0-9_.:-]{0,63}$";
/// `PersonName::parse`: no control character (Unicode `Cc`) once the whitespace
/// around it (Unicode `White_Space`, as `str::trim`) is trimmed, and not empty.
const PERSON_NAME: &str = r"^[\t\n\u000b\u000c\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\u0000-\u001f\u007f-\u009f]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t\n\u000b\u000c\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$";
/// `Email::parse`, ASCII only: a dot-atom local part of at most 64 characters, `@`, a
/// domain of 1 to 4 labels of letters, digits and inner hyphens.
const EMAIL: &str = r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,32}(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,31})?@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?){0,3}$";
/// `ClientId::parse`: 1 to 128 visible ASCII characters or spaces (RFC 6749 VSCHAR).
const CLIENT_ID: &str = r"^[ -~]{1,128}$";
/// `Audience::parse`: 1 to 256 visible ASCII characters, no spaces.
const AUDIENCE: &str = r"^[!-~]{1,256}$";
/// One RFC 6749 scope-token (`Scopes::parse`), at most 128 characters.
const SCOPE_TOKEN: &str = r"^[!#-\[\]-~]{1,128}$";

/// Writes the rules into the document (module doc).
pub fn apply(doc: &mut Value) {
    for (name, schema) in body_schemas() {
        doc["components"]["schemas"][name] = schema;
    }
    for (path, method, name, schema) in query_schemas() {
        let params = doc["paths"][path][method]["parameters"].as_array_mut();
        for param in params.into_iter().flatten() {
            if param["name"] == name {
                param["schema"] = schema.clone();
            }
        }
    }
}

/// `schema` or `null` (the server reads `null` as absent).
fn nullable(mut schema: Value) -> Value {
    if let Some(kind) = schema["type"].as_str().map(str::to_owned) {
        schema["type"] = json!([kind, "null"]);
    }
    schema
}

fn username() -> Value {
    json!({"type": "string", "pattern": USERNAME, "maxLength": Username::MAX_CHARS * 4,
           "description": "1 to 64 letters, digits and `. _ - @ +`; stored lowercased"})
}

fn person_name(what: &str) -> Value {
    json!({"type": "string", "pattern": PERSON_NAME, "maxLength": PersonName::MAX_CHARS,
           "description": format!("The {what}: no control characters")})
}

fn email() -> Value {
    json!({"type": "string", "pattern": EMAIL, "maxLength": 254})
}

fn roles() -> Value {
    json!({"type": "array", "items": {"type": "string", "pattern": ROLE},
           "description": "Needs the scope `admin:roles:assign` too"})
}

/// A password being set (`Password::parse_new`): 8 characters to 1024 bytes.
fn new_password() -> Value {
    json!({"type": "string", "minLength": Password::MIN_CHARS, "maxLength": Password::MAX_BYTES,
           "description": "At least 8 characters, at most 1024 bytes"})
}

fn password_hash() -> Value {
    json!({"type": "string", "minLength": 1,
           "description": "An existing hash in PHC or modular-crypt form (argon2, bcrypt, pbkdf2, scrypt)"})
}

fn object(properties: Map<String, Value>, required: &[&str], description: &str) -> Value {
    json!({"type": "object", "description": description, "properties": properties,
           "required": required, "additionalProperties": false})
}

/// `{"password"}` xor `{"password_hash"}` with `others`: the member not given may be
/// `null` (the server reads `null` as absent).
fn one_credential(others: &Map<String, Value>, required: &[&str], description: &str) -> Value {
    let branch = |given: &str, schema: Value, other: &str| {
        let mut properties = others.clone();
        properties.insert(given.to_owned(), schema);
        properties.insert(other.to_owned(), json!({"type": "null"}));
        let mut required: Vec<&str> = required.to_vec();
        required.push(given);
        object(properties, &required, "")
    };
    json!({
        "description": description,
        "oneOf": [
            branch("password", new_password(), "password_hash"),
            branch("password_hash", password_hash(), "password"),
        ]
    })
}

fn members(pairs: Vec<(&str, Value)>) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn body_schemas() -> Vec<(&'static str, Value)> {
    let string_list =
        |pattern: &str| json!({"type": "array", "items": {"type": "string", "pattern": pattern}});
    let grants = json!({"type": "array", "items": {"type": "string",
        "enum": GrantType::ALL.iter().map(|g| g.as_str()).collect::<Vec<_>>()}});
    let scopes = json!({"type": "array", "maxItems": 64,
        "items": {"type": "string", "pattern": SCOPE_TOKEN}});
    let profile = |user: bool| {
        let mut m = members(vec![
            ("email", nullable(email())),
            ("name", nullable(person_name("full name"))),
        ]);
        if user {
            m.insert("roles".into(), nullable(roles()));
            m.insert("disabled".into(), json!({"type": ["boolean", "null"]}));
            m.insert(
                "email_verified".into(),
                json!({"type": ["boolean", "null"]}),
            );
            m.insert("given_name".into(), nullable(person_name("given name")));
            m.insert("family_name".into(), nullable(person_name("family name")));
        }
        m
    };
    let mut create_user = profile(true);
    create_user.insert("username".into(), username());
    let client_public = json!({"kind": {"enum": [null, "public"]}, "secret": {"type": "null"}});
    vec![
        ("CreateUser", one_credential(&create_user, &["username"],
            "The body of `POST /admin/v1/users`: `password` or `password_hash`, not both; `null` is the same as absent.")),
        ("SetPassword", one_credential(&Map::new(), &[],
            "The body of `PUT /admin/v1/users/{id}/password`: exactly one of the two members.")),
        ("PatchUser", object(profile(true), &[],
            "A JSON merge patch (RFC 7396) of a user; `null` removes an optional member (`roles` becomes `[]`, `disabled` and `email_verified` false).")),
        ("Register", object({
            let mut m = profile(false);
            m.insert("username".into(), username());
            m.insert("password".into(), new_password());
            m
        }, &["username", "password"], "The body of `POST /account/v1/register`.")),
        ("ChangePassword", object(members(vec![
            ("current_password", json!({"type": "string", "minLength": 1, "maxLength": Password::MAX_BYTES})),
            ("new_password", new_password()),
        ]), &["current_password", "new_password"], "The body of `POST /account/v1/password`.")),
        ("RotateKey", object(members(vec![
            ("alg", json!({"enum": [null, "ES256", "RS256"], "description": "Default `keys.algorithm`"})),
            ("now", json!({"type": ["boolean", "null"], "description": "Sign with the new key at once (emergency), without pre-publication"})),
        ]), &[], "The body of `POST /admin/v1/keys/rotate`.")),
        ("ClientPatch", object(members(vec![
            ("audiences", string_list(AUDIENCE)),
            ("grants", grants.clone()),
            ("scopes", scopes.clone()),
            ("default_scopes", scopes.clone()),
        ]), &[], "A merge patch of a client (RFC 7396): each member given replaces the whole list (`[]`: the default); none can be removed. `default_scopes` must stay within `scopes`.")),
        ("CreateClient", {
            let mut schema = object(members(vec![
                ("client_id", json!({"type": "string", "pattern": CLIENT_ID})),
                ("kind", json!({"enum": [null, "confidential", "public"],
                    "description": "`confidential` (with `\"secret\": \"generate\"`) or `public` (the default)"})),
                ("secret", json!({"enum": [null, "generate"], "description": "authd generates the secret of a confidential client"})),
                ("audiences", nullable(string_list(AUDIENCE))),
                ("grants", nullable(grants)),
                ("scopes", nullable(scopes.clone())),
                ("default_scopes", nullable(scopes)),
                ("token_policy", json!({"type": ["object", "null"], "additionalProperties": false, "description": "Only `{}` for now"})),
            ]), &["client_id"], "The body of `POST /admin/v1/clients`. `default_scopes` (default: `scopes`) must be within `scopes`.");
            schema["allOf"] = json!([
                // A public client has no secret,
                {"not": {"required": ["kind", "secret"], "properties": {"kind": {"const": "public"}, "secret": {"const": "generate"}}}},
                // and no client_credentials grant.
                {"not": {"required": ["grants"], "properties": {
                    "kind": client_public["kind"], "secret": client_public["secret"],
                    "grants": {"type": "array", "contains": {"const": "client_credentials"}}}}},
            ]);
            schema
        }),
    ]
}

fn query_schemas() -> Vec<(&'static str, &'static str, &'static str, Value)> {
    let cursor = json!({"type": "string", "pattern": CURSOR_PATTERN});
    vec![
        ("/admin/v1/users", "get", "cursor", cursor.clone()),
        (
            "/admin/v1/users",
            "get",
            "role",
            json!({"type": "string", "pattern": ROLE}),
        ),
        ("/admin/v1/users", "get", "username_prefix", username()),
        ("/admin/v1/clients", "get", "cursor", cursor),
        (
            "/admin/v1/audit",
            "get",
            "cursor",
            json!({"type": "string", "pattern": AUDIT_CURSOR_PATTERN}),
        ),
        (
            "/admin/v1/audit",
            "get",
            "event",
            json!({"type": "string",
            "enum": EventKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>()}),
        ),
        (
            "/admin/v1/audit",
            "get",
            "client_id",
            json!({"type": "string", "pattern": CLIENT_ID}),
        ),
        (
            "/account/v1/sessions",
            "delete",
            "scope",
            json!({"type": "string", "enum": ["others"]}),
        ),
    ]
}
