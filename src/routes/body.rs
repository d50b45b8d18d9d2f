//! Request bodies of the token endpoint family: form (RFC 6749) or JSON with the same
//! field names, at most 16 KiB, every value a non-empty string, no parameter twice.

use std::collections::BTreeMap;
use std::time::Duration;

use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::{web, HttpRequest};
use futures_util::StreamExt;

use crate::error::OAuthError;
use crate::json;

/// Spec §3: a body over 16384 bytes is a 413, with or without Content-Length.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// A client that has not finished sending its body by then is cut off.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Form,
    Json,
}

/// The parameters of a request body.
#[derive(Debug)]
pub struct Params {
    pub kind: BodyKind,
    fields: BTreeMap<String, String>,
}

impl Params {
    /// Removes and returns a parameter.
    pub fn take(&mut self, name: &str) -> Option<String> {
        self.fields.remove(name)
    }

    /// Removes and returns a parameter that must be present.
    pub fn require(&mut self, name: &'static str) -> Result<String, OAuthError> {
        self.take(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("missing parameter: {name}")))
    }

    pub fn contains(&self, name: &str) -> bool {
        self.fields.contains_key(name)
    }
}

/// Reads and parses the body: 415 for other content types, 413 past the limit,
/// 400 `invalid_request` for anything malformed.
pub async fn read_params(req: &HttpRequest, payload: web::Payload) -> Result<Params, OAuthError> {
    let kind = body_kind(req)?;
    let body = read_bytes(req, payload).await?;
    parse(kind, &body)
}

/// Parses a complete body of `kind` (public for the fuzz targets in `fuzz/`).
pub fn parse(kind: BodyKind, body: &[u8]) -> Result<Params, OAuthError> {
    let fields = match kind {
        BodyKind::Form => parse_form(body)?,
        BodyKind::Json => parse_json(body)?,
    };
    Ok(Params { kind, fields })
}

/// The media type of the body without parameters, lowercased (RFC 9110 §8.3.1).
pub fn media_type(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
}

fn body_kind(req: &HttpRequest) -> Result<BodyKind, OAuthError> {
    match media_type(req).as_deref() {
        Some("application/x-www-form-urlencoded") => Ok(BodyKind::Form),
        Some("application/json") => Ok(BodyKind::Json),
        _ => Err(OAuthError::unsupported_media_type()),
    }
}

/// Why a body could not be read; each door renders it in its own error shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    TooLarge,
    Unreadable,
    TimedOut,
}

impl From<BodyError> for OAuthError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::TooLarge => OAuthError::payload_too_large(MAX_BODY_BYTES),
            BodyError::Unreadable => OAuthError::invalid_request("could not read the request body"),
            BodyError::TimedOut => {
                OAuthError::invalid_request("timed out reading the request body")
            }
        }
    }
}

/// The raw body, at most `MAX_BODY_BYTES` (checked against `Content-Length` first, then
/// while reading), within `BODY_TIMEOUT`. The content type is the caller's business.
pub async fn read_bytes(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<web::BytesMut, BodyError> {
    read_bytes_up_to(req, payload, MAX_BODY_BYTES, BODY_TIMEOUT).await
}

/// The raw body, at most `max` bytes, within `timeout`: `read_bytes` with another limit
/// (the admin API's import takes up to 8 MiB).
pub async fn read_bytes_up_to(
    req: &HttpRequest,
    payload: web::Payload,
    max: usize,
    timeout: Duration,
) -> Result<web::BytesMut, BodyError> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max as u64) {
        return Err(BodyError::TooLarge);
    }
    tokio::time::timeout(timeout, read_limited(payload, max))
        .await
        .map_err(|_| BodyError::TimedOut)?
}

async fn read_limited(mut payload: web::Payload, max: usize) -> Result<web::BytesMut, BodyError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| BodyError::Unreadable)?;
        if body.len() + chunk.len() > max {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A parameter name safe to repeat in an error description.
fn describe(name: &str) -> String {
    if !name.is_empty()
        && name.len() <= 32
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        format!(": {name}")
    } else {
        String::new()
    }
}

fn insert(
    fields: &mut BTreeMap<String, String>,
    name: String,
    value: String,
) -> Result<(), OAuthError> {
    if value.is_empty() {
        return Err(OAuthError::invalid_request(format!(
            "empty parameter{}",
            describe(&name)
        )));
    }
    if fields.contains_key(&name) {
        return Err(OAuthError::invalid_request(format!(
            "duplicate parameter{}",
            describe(&name)
        )));
    }
    fields.insert(name, value);
    Ok(())
}

fn parse_form(body: &[u8]) -> Result<BTreeMap<String, String>, OAuthError> {
    let mut fields = BTreeMap::new();
    for (name, value) in form_urlencoded::parse(body) {
        // Undecodable bytes come back as U+FFFD: the body was not UTF-8.
        if name.contains('\u{FFFD}') || value.contains('\u{FFFD}') {
            return Err(OAuthError::invalid_request(
                "request body is not valid UTF-8",
            ));
        }
        insert(&mut fields, name.into_owned(), value.into_owned())?;
    }
    Ok(fields)
}

fn parse_json(body: &[u8]) -> Result<BTreeMap<String, String>, OAuthError> {
    let object: serde_json::Map<String, serde_json::Value> =
        json::from_slice(body).map_err(|_| {
            OAuthError::invalid_request(
                "request body is not a JSON object without duplicate members",
            )
        })?;
    let mut fields = BTreeMap::new();
    for (name, value) in object {
        match value {
            serde_json::Value::String(s) => insert(&mut fields, name, s)?,
            serde_json::Value::Null => {}
            _ => {
                return Err(OAuthError::invalid_request(format!(
                    "parameter must be a string{}",
                    describe(&name)
                )))
            }
        }
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_reject_duplicates_empties_and_bad_utf8() {
        assert!(parse_form(b"a=1&b=2").is_ok());
        assert!(parse_form(b"a=1&a=2").is_err());
        assert!(parse_form(b"a=").is_err());
        assert!(parse_form(b"a=%FF").is_err());
    }

    #[test]
    fn json_bodies_take_string_members_only() {
        assert_eq!(parse_json(br#"{"a":"1"}"#).unwrap()["a"], "1");
        assert!(parse_json(br#"{"a":"1","a":"2"}"#).is_err());
        assert!(parse_json(br#"{"a":1}"#).is_err());
        assert!(parse_json(br#"{"a":""}"#).is_err());
        assert!(parse_json(br#"["a"]"#).is_err());
        assert!(parse_json(b"\xff").is_err());
    }
}
