//! OAuth clients. Until registered clients exist, the only client is the configured
//! first-party default (spec §6): public, password grant, its audience and scopes.

use crate::config::DefaultClientSettings;
use crate::domain::{ClientId, Scopes};

#[derive(Debug, Clone)]
pub struct Client {
    pub id: ClientId,
    pub audience: Vec<String>,
    /// Scopes the client may request; also what it gets when it asks for none.
    pub scopes: Scopes,
}

impl Client {
    /// The scopes to grant for a request: the requested ones if all are allowed,
    /// the client's defaults if none were requested.
    pub fn grant_scopes(&self, requested: Option<Scopes>) -> Result<Scopes, ScopeError> {
        match requested {
            None => Ok(self.scopes.clone()),
            Some(requested) if requested.is_subset(&self.scopes) => Ok(requested),
            Some(_) => Err(ScopeError),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("requested scope is not allowed for this client")]
pub struct ScopeError;

#[derive(Debug, Clone)]
pub struct Clients {
    default: Client,
}

impl Clients {
    pub fn new(settings: &DefaultClientSettings) -> Self {
        Self {
            default: Client {
                id: settings.id.clone(),
                audience: settings.audience.clone(),
                scopes: settings.scopes.clone(),
            },
        }
    }

    /// The client a request names, or the default one when it names none.
    pub fn resolve(&self, requested: Option<&ClientId>) -> Option<&Client> {
        match requested {
            None => Some(&self.default),
            Some(id) if *id == self.default.id => Some(&self.default),
            Some(_) => None,
        }
    }

    /// Every audience a token of ours may carry (spec §4: `aud` must contain one).
    pub fn audiences(&self) -> Vec<String> {
        self.default.audience.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(scopes: &str) -> Client {
        Client {
            id: ClientId::parse("app").unwrap(),
            audience: vec!["api".into()],
            scopes: Scopes::parse(scopes).unwrap(),
        }
    }

    #[test]
    fn requested_scopes_must_be_allowed() {
        let c = client("read write");
        assert_eq!(
            c.grant_scopes(None).unwrap(),
            Scopes::parse("read write").unwrap()
        );
        assert_eq!(
            c.grant_scopes(Some(Scopes::parse("read").unwrap()))
                .unwrap(),
            Scopes::parse("read").unwrap()
        );
        assert!(c
            .grant_scopes(Some(Scopes::parse("admin").unwrap()))
            .is_err());
    }
}
