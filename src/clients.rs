//! OAuth clients (RFC 6749 §2): the configured first-party default client (spec §6) and
//! the clients registered with `authd client add`, and "is this client who it says?".
//!
//! Every instance keeps the registered clients in memory, so client authentication and
//! the per-token client check cost no database round trip. A client this instance has
//! not seen yet is looked up in the database on first use; every second each instance
//! checks whether clients were added or removed elsewhere and reloads them if so, so a
//! removed client stops authenticating, and its tokens stop validating, within seconds.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::DefaultClientSettings;
use crate::domain::{ClientId, ClientSecret, GrantType, Scopes, SecretDigest};
use crate::store::{ClientsVersion, Store, StoreError};

/// How often an instance checks for clients added or removed elsewhere.
const SYNC_EVERY: Duration = Duration::from_secs(1);
/// Every this many checks the registry is reloaded whatever the check says.
const FULL_RELOAD_EVERY: u32 = 60;

pub use crate::domain::{Client, PreviousSecret};

/// What only the server's configuration and token endpoint know about a client.
impl Client {
    /// The configured default client: public, password and refresh grants, and every
    /// scope it may request is also its default (spec §6).
    pub fn default_client(settings: &DefaultClientSettings) -> Self {
        Self {
            id: settings.id.clone(),
            secret: None,
            grants: BTreeSet::from([GrantType::Password, GrantType::RefreshToken]),
            audience: settings.audience.clone(),
            scopes: settings.scopes.clone(),
            default_scopes: settings.scopes.clone(),
            created_at: None,
            updated_at: None,
            previous_secret: None,
        }
    }

    /// The scopes to grant for a request: the requested ones if all are allowed,
    /// the client's defaults if none were requested (RFC 6749 §3.3).
    pub fn grant_scopes(&self, requested: Option<Scopes>) -> Result<Scopes, ScopeError> {
        match requested {
            None => Ok(self.default_scopes.clone()),
            Some(requested) if requested.is_subset(&self.scopes) => Ok(requested),
            Some(_) => Err(ScopeError),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("requested scope is not allowed for this client")]
pub struct ScopeError;

/// How a request identifies its client (RFC 6749 §2.3).
#[derive(Debug)]
pub enum Presented {
    /// Nothing: the configured default client.
    Nothing,
    /// A `client_id` alone: only a public client may do that.
    Id(ClientId),
    /// An id and a secret (`client_secret_basic` or `client_secret_post`).
    Secret(ClientId, ClientSecret),
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Unknown client, wrong secret, a confidential client without its secret, or a
    /// public client presenting one: all answer `401 invalid_client`, alike.
    #[error("client authentication failed")]
    AuthenticationFailed,
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Registered = HashMap<String, Arc<Client>>;

pub struct Clients {
    store: Arc<dyn Store>,
    default: Arc<Client>,
    registered: RwLock<Arc<Registered>>,
    /// What the database said when the registry was last loaded.
    version: Mutex<Option<ClientsVersion>>,
    /// Compared against when no client matches, so an unknown id costs what a wrong
    /// secret does.
    dummy: SecretDigest,
}

impl Clients {
    /// Loads every registered client.
    pub async fn load(
        store: Arc<dyn Store>,
        default: &DefaultClientSettings,
    ) -> Result<Arc<Self>, StoreError> {
        let this = Arc::new(Self {
            store,
            default: Arc::new(Client::default_client(default)),
            registered: RwLock::new(Arc::default()),
            version: Mutex::new(None),
            dummy: ClientSecret::generate().digest(),
        });
        this.reload(true).await?;
        Ok(this)
    }

    pub fn default_client(&self) -> &Arc<Client> {
        &self.default
    }

    /// The client a request identifies at `now`, if its credentials are right.
    /// Confidential clients must present their secret, or the secret a rotation replaced
    /// while it still works; public clients must not present one.
    pub async fn authenticate(
        &self,
        presented: Presented,
        now: DateTime<Utc>,
    ) -> Result<Arc<Client>, ClientError> {
        match presented {
            Presented::Nothing => Ok(Arc::clone(&self.default)),
            Presented::Id(id) => match self.find(id.as_str()).await? {
                Some(client) if !client.is_confidential() => Ok(client),
                _ => Err(ClientError::AuthenticationFailed),
            },
            Presented::Secret(id, secret) => {
                let client = self.find(id.as_str()).await?;
                let digest = client
                    .as_ref()
                    .and_then(|c| c.secret.as_ref())
                    .unwrap_or(&self.dummy);
                let previous = client
                    .as_ref()
                    .and_then(|c| c.live_previous_secret(now))
                    .unwrap_or(&self.dummy);
                // Both digests are always compared, and combined without short-circuit,
                // so the time taken does not tell which one matched, or whether there
                // is a previous secret at all.
                let matched = digest.matches(&secret) | previous.matches(&secret);
                match client {
                    Some(client) if matched && client.is_confidential() => Ok(client),
                    _ => Err(ClientError::AuthenticationFailed),
                }
            }
        }
    }

    /// A client by id: the default one, a registered one this instance knows, or one
    /// registered since the last reload.
    pub async fn find(&self, id: &str) -> Result<Option<Arc<Client>>, StoreError> {
        if id == self.default.id.as_str() {
            return Ok(Some(Arc::clone(&self.default)));
        }
        if let Some(client) = self.snapshot().get(id) {
            return Ok(Some(Arc::clone(client)));
        }
        let Some(client) = self.store.client_by_id(id).await? else {
            return Ok(None);
        };
        let client = Arc::new(client);
        let mut registered = self.write_lock();
        let mut next = Registered::clone(&registered);
        next.insert(id.to_owned(), Arc::clone(&client));
        *registered = Arc::new(next);
        Ok(Some(client))
    }

    /// Every scope some client may request, for discovery (`scopes_supported`).
    pub fn scopes_supported(&self) -> Vec<String> {
        let registered = self.snapshot();
        let all: BTreeSet<&str> = std::iter::once(&self.default)
            .chain(registered.values())
            .flat_map(|c| c.scopes.iter())
            .collect();
        all.into_iter().map(str::to_owned).collect()
    }

    fn snapshot(&self) -> Arc<Registered> {
        Arc::clone(
            &self
                .registered
                .read()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    fn write_lock(&self) -> std::sync::RwLockWriteGuard<'_, Arc<Registered>> {
        self.registered
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Reloads every client now: this instance made a change (the admin API) and
    /// follows it at once; the others see it within `SYNC_EVERY`. A failure is logged:
    /// the sync loop retries.
    pub async fn reload_now(&self) {
        if let Err(e) = self.reload(true).await {
            tracing::warn!(error = %e, "client registry reload failed; the sync loop retries");
        }
    }

    /// Reloads the registry when clients were added or removed since the last load, or
    /// when `always`.
    async fn reload(&self, always: bool) -> Result<(), StoreError> {
        let version = self.store.clients_version().await?;
        if !always && *self.version.lock().unwrap_or_else(PoisonError::into_inner) == Some(version)
        {
            return Ok(());
        }
        let all: Registered = self
            .store
            .list_clients()
            .await?
            .into_iter()
            .map(|c| (c.id.as_str().to_owned(), Arc::new(c)))
            .collect();
        *self.write_lock() = Arc::new(all);
        *self.version.lock().unwrap_or_else(PoisonError::into_inner) = Some(version);
        Ok(())
    }

    /// Checks for changes made elsewhere (the CLI, another instance) every second, and
    /// reloads everything now and then whatever the check says; runs until its task is
    /// aborted.
    pub async fn sync_loop(self: Arc<Self>) {
        let mut ticks: u32 = 0;
        loop {
            tokio::time::sleep(SYNC_EVERY).await;
            ticks = ticks.wrapping_add(1);
            if let Err(e) = self.reload(ticks.is_multiple_of(FULL_RELOAD_EVERY)).await {
                tracing::warn!(error = %e, "client registry reload failed; retrying");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(scopes: &str, defaults: &str) -> Client {
        Client {
            id: ClientId::parse("app").unwrap(),
            secret: None,
            grants: BTreeSet::from([GrantType::Password]),
            audience: vec!["api".into()],
            scopes: Scopes::parse(scopes).unwrap(),
            default_scopes: Scopes::parse(defaults).unwrap(),
            created_at: None,
            updated_at: None,
            previous_secret: None,
        }
    }

    #[test]
    fn requested_scopes_must_be_allowed_and_default_to_the_defaults() {
        let c = client("read write", "read");
        assert_eq!(
            c.grant_scopes(None).unwrap(),
            Scopes::parse("read").unwrap()
        );
        assert_eq!(
            c.grant_scopes(Some(Scopes::parse("write read").unwrap()))
                .unwrap(),
            Scopes::parse("read write").unwrap()
        );
        assert!(c
            .grant_scopes(Some(Scopes::parse("read admin").unwrap()))
            .is_err());
    }

    #[test]
    fn a_token_must_name_one_of_the_clients_audiences() {
        let c = client("", "");
        assert!(c.accepts_audience(&["other".into(), "api".into()]));
        assert!(!c.accepts_audience(&["other".into()]));
        assert!(!c.accepts_audience(&[]));
    }
}
