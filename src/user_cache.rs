//! Recently read users, for `/auth/userinfo`: a resource server calling userinfo on every
//! request would otherwise cost a database round trip each time. An entry lives one
//! second, so a change made through the CLI (disable, password, roles) shows within the
//! five seconds spec §4 allows; a disabled user's tokens are refused sooner anyway, by
//! the revocation of their sessions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::store::{Store, StoreError, User};

const TTL: Duration = Duration::from_secs(1);
/// Past this many entries the cache is emptied rather than grown.
const MAX_ENTRIES: usize = 10_000;

pub struct UserCache {
    store: Arc<dyn Store>,
    entries: Mutex<HashMap<Uuid, (Instant, Arc<User>)>>,
}

impl UserCache {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The user `id`, from the cache when read less than a second ago.
    pub async fn get(&self, id: Uuid) -> Result<Option<Arc<User>>, StoreError> {
        let now = Instant::now();
        if let Some((read, user)) = self.lock().get(&id) {
            if now.duration_since(*read) < TTL {
                return Ok(Some(Arc::clone(user)));
            }
        }
        let Some(user) = self.store.user_by_id(id).await? else {
            self.lock().remove(&id);
            return Ok(None);
        };
        let user = Arc::new(user);
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(id, (now, Arc::clone(&user)));
        Ok(Some(user))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, (Instant, Arc<User>)>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
