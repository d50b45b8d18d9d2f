//! `Application`: wires the services and the route table. Tests boot it on port 0.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::DefaultHeaders;
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use chrono::Utc;
use secrecy::ExposeSecret;

use crate::accounts::registration::Registration;
use crate::accounts::{Accounts, Hashing};
use crate::audit::{Audit, Events};
use crate::auth::{Authenticator, HashPool, Throttle};
use crate::clients::Clients;
use crate::config::Settings;
use crate::keys::lifecycle::Policy;
use crate::keys::operations::KeyOperations;
use crate::keys::{KeyManager, SharedKeyRing};
use crate::metrics::Metrics;
use crate::revocation::Revocations;
use crate::routes::{
    account, admin, health, introspect, logout, problem, revoke, token, userinfo, well_known,
};
use crate::sessions::{FamilyLifetimes, Sessions};
use crate::shared_state;
use crate::store::{self, Store};
use crate::telemetry;
use crate::tokens::{TokenIssuer, Validator};
use crate::user_cache::UserCache;

/// What every request handler can reach.
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub authenticator: Authenticator,
    /// Users read by userinfo, kept for a second.
    pub users: UserCache,
    /// Peers whose `X-Forwarded-For` is believed for the source address.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    pub sessions: Sessions,
    pub revocations: Arc<Revocations>,
    pub keys: SharedKeyRing,
    /// The key lifecycle (the active key's age, for metrics).
    pub key_manager: Arc<KeyManager>,
    pub clients: Arc<Clients>,
    /// The user- and client-management service behind the admin and account APIs.
    pub accounts: Accounts,
    /// Self-registration's switch, default roles and per-address quota.
    pub registration: Registration,
    /// The operator's key operations behind `/admin/v1/keys`.
    pub key_ops: KeyOperations,
    pub issuer_url: String,
    /// The JWKS `Cache-Control` (`public, max-age=N`), N never longer than
    /// `keys.prepublish` (spec §3); built once.
    pub jwks_cache_control: actix_web::http::header::HeaderValue,
}

/// `/admin/v1` with its problem+json default service.
fn admin_scope() -> actix_web::Scope {
    web::scope("/admin/v1")
        .configure(admin::routes)
        .default_service(web::to(problem::no_such_route))
}

/// The store and password pool, opened and migrated: what `serve` and the user
/// commands share.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    let store = store::connect(&settings.database)
        .await
        .context("cannot open the database named by database.url")?;
    store
        .migrate()
        .await
        .context("cannot apply database migrations")?;
    Ok(store)
}

/// The key lifecycle durations from the settings.
pub fn key_policy(settings: &Settings) -> anyhow::Result<Policy> {
    let grace = settings.keys.retired_grace(settings.tokens.access_window());
    Ok(Policy {
        rotate_every: chrono::Duration::from_std(settings.keys.rotate_every)?,
        prepublish: chrono::Duration::from_std(settings.keys.prepublish)?,
        retired_grace: chrono::Duration::from_std(grace)?,
    })
}

pub struct Application {
    port: u16,
    server: Server,
    /// With `admin.bind`: the admin API's own server, and its port.
    admin: Option<(u16, Server)>,
    /// The revocation, client and key sync loops; they end with the server.
    sync: tokio::task::JoinHandle<()>,
    keys: Arc<KeyManager>,
}

impl Application {
    /// Binds `server.bind` and builds the server.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&settings.server.bind)
            .with_context(|| format!("cannot listen on server.bind {}", settings.server.bind))?;
        Self::with_listener(settings, listener).await
    }

    /// Builds the server on an already bound listener (port 0 in tests).
    pub async fn with_listener(settings: Settings, listener: TcpListener) -> anyhow::Result<Self> {
        let port = listener.local_addr()?.port();
        let store = open_store(&settings).await?;
        let metrics = Arc::new(Metrics::new());
        let audit = Audit::new(
            Arc::clone(&store),
            Arc::clone(&metrics),
            settings.audit.retention,
        )?;
        let key_manager = KeyManager::start(
            Arc::clone(&store),
            &settings.keys.dir,
            settings.keys.algorithm,
            key_policy(&settings)?,
            settings.keys.refresh_interval,
            Events {
                metrics: Arc::clone(&metrics),
                audit: audit.clone(),
            },
            Utc::now(),
        )
        .await
        .context("cannot load the signing keys")?;
        let keys = key_manager.ring();
        let hasher = HashPool::start(&settings.password)
            .context("cannot start the password hashing pool")?;
        let clients = Clients::load(Arc::clone(&store), &settings.default_client)
            .await
            .context("cannot load the registered clients")?;
        let access_ttl = settings.tokens.access_ttl.as_secs() as i64;
        let redis = match &settings.redis.url {
            Some(url) => Some(shared_state::connect(url.expose_secret()).await?),
            None => None,
        };
        let prefix = settings.redis.key_prefix.as_str();
        let throttle = Arc::new(Throttle::new(
            &settings.login,
            redis.clone().map(|redis| (redis.conn, prefix)),
        ));
        let registration = Registration::new(
            &settings.registration,
            redis.clone().map(|redis| (redis.conn, prefix)),
        );
        let revocations = Revocations::start(
            Arc::clone(&store),
            redis.map(|redis| (redis, prefix)),
            settings.tokens.access_window(),
            Arc::clone(&metrics),
            Utc::now(),
        )
        .await
        .context("cannot load the revocation state")?;
        let sessions = Sessions::new(
            Arc::clone(&store),
            TokenIssuer::new(settings.server.issuer.clone(), access_ttl, keys.clone()),
            Validator::new(
                settings.server.issuer.clone(),
                settings.tokens.leeway.as_secs() as i64,
                access_ttl,
                keys.clone(),
            ),
            Arc::clone(&revocations),
            Arc::clone(&clients),
            FamilyLifetimes {
                idle: settings.tokens.refresh_idle_ttl,
                absolute: settings.tokens.refresh_absolute_ttl,
            },
            Events {
                metrics: Arc::clone(&metrics),
                audit: audit.clone(),
            },
        )?;
        let sync = tokio::spawn({
            let (revocations, clients, key_manager, audit, sessions) = (
                Arc::clone(&revocations),
                Arc::clone(&clients),
                Arc::clone(&key_manager),
                audit.clone(),
                sessions.clone(),
            );
            async move {
                tokio::join!(
                    Arc::clone(&revocations).watch_loop(),
                    revocations.sync_loop(),
                    clients.sync_loop(),
                    key_manager.sync_loop(),
                    audit.prune_loop(),
                    sessions.prune_loop()
                );
            }
        });
        // The admin API hashes on the same bounded pool as logins and audits to the
        // same trail (admin-api.md §2).
        let accounts = Accounts::new(
            Arc::clone(&store),
            Hashing::Pool(hasher.clone()),
            Arc::new(audit.clone()),
            &settings,
        )?
        .with_revocations(Arc::clone(&revocations));
        let key_ops = KeyOperations::new(
            Arc::clone(&store),
            settings.keys.dir.clone(),
            settings.keys.algorithm,
            key_policy(&settings)?,
            Arc::new(audit.clone()),
        );
        let state = web::Data::new(AppState {
            accounts,
            registration,
            key_ops,
            authenticator: Authenticator::new(
                Arc::clone(&store),
                hasher,
                throttle,
                Arc::clone(&metrics),
                audit,
            ),
            users: UserCache::new(Arc::clone(&store)),
            trusted_proxies: settings.server.trusted_proxies.clone(),
            sessions,
            revocations,
            store,
            keys,
            key_manager: Arc::clone(&key_manager),
            clients,
            issuer_url: settings.server.issuer.clone(),
            jwks_cache_control: actix_web::http::header::HeaderValue::from_str(&format!(
                "public, max-age={}",
                settings.keys.jwks_max_age().as_secs()
            ))?,
        });

        let metrics = web::Data::from(metrics);
        // With admin.bind, /admin/v1 lives on a listener of its own (admin-api.md §2):
        // a second server on the same state whose app mounts nothing else, and the
        // public app does not mount it at all (so it is 404 there, like any unknown path).
        let admin_listener = match &settings.admin.bind {
            Some(bind) => Some(
                TcpListener::bind(bind)
                    .with_context(|| format!("cannot listen on admin.bind {bind}"))?,
            ),
            None => None,
        };
        let admin_here = admin_listener.is_none();
        let mut server = HttpServer::new({
            let (state, metrics) = (state.clone(), metrics.clone());
            move || {
                App::new()
                    .app_data(state.clone())
                    .app_data(metrics.clone())
                    .wrap(
                        DefaultHeaders::new()
                            .add(("X-Content-Type-Options", "nosniff"))
                            .add(("Cache-Control", "no-store")),
                    )
                    .wrap_fn(telemetry::request_span)
                    .route("/auth/token", web::post().to(token::token))
                    .route("/auth/refresh", web::post().to(token::refresh))
                    .route("/auth/logout", web::post().to(logout::logout))
                    .route("/auth/revoke", web::post().to(revoke::revoke))
                    .route("/auth/introspect", web::post().to(introspect::introspect))
                    .route("/auth/userinfo", web::get().to(userinfo::userinfo))
                    .route("/auth/userinfo", web::post().to(userinfo::userinfo))
                    .route("/.well-known/jwks.json", web::get().to(well_known::jwks))
                    .route(
                        "/.well-known/openid-configuration",
                        web::get().to(well_known::discovery),
                    )
                    .route(
                        "/.well-known/oauth-authorization-server",
                        web::get().to(well_known::discovery),
                    )
                    .route("/healthz", web::get().to(health::healthz))
                    .route("/readyz", web::get().to(health::readyz))
                    .route("/metrics", web::get().to(health::metrics))
                    .service(
                        web::scope("/account/v1")
                            .configure(account::routes)
                            .default_service(web::to(problem::no_such_route)),
                    )
                    .configure(|cfg| {
                        if admin_here {
                            cfg.service(admin_scope());
                        } else {
                            // Served elsewhere: here every admin path is an unknown one.
                            cfg.service(
                                web::scope("/admin/v1")
                                    .default_service(web::to(problem::no_such_route)),
                            );
                        }
                    })
            }
        })
        .listen(listener)
        .context("cannot start the HTTP server")?
        .client_request_timeout(Duration::from_secs(5))
        .shutdown_timeout(10);
        if settings.server.workers > 0 {
            server = server.workers(settings.server.workers);
        }
        let admin = match admin_listener {
            Some(listener) => {
                let admin_port = listener.local_addr()?.port();
                let mut admin = HttpServer::new(move || {
                    App::new()
                        .app_data(state.clone())
                        .app_data(metrics.clone())
                        .wrap(
                            DefaultHeaders::new()
                                .add(("X-Content-Type-Options", "nosniff"))
                                .add(("Cache-Control", "no-store")),
                        )
                        .wrap_fn(telemetry::request_span)
                        .service(admin_scope())
                        .default_service(web::to(problem::no_such_route))
                })
                .listen(listener)
                .context("cannot start the admin HTTP server")?
                .client_request_timeout(Duration::from_secs(5))
                .shutdown_timeout(10);
                if settings.server.workers > 0 {
                    admin = admin.workers(settings.server.workers);
                }
                Some((admin_port, admin.run()))
            }
            None => None,
        };
        Ok(Self {
            port,
            server: server.run(),
            admin,
            sync,
            keys: key_manager,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the admin API's own listener, when `admin.bind` is set.
    pub fn admin_port(&self) -> Option<u16> {
        self.admin.as_ref().map(|(port, _)| *port)
    }

    /// A handle to stop the admin API's own server, when `admin.bind` is set.
    pub fn admin_handle(&self) -> Option<actix_web::dev::ServerHandle> {
        self.admin.as_ref().map(|(_, server)| server.handle())
    }

    /// The key lifecycle, whose `tick(now)` tests call with a chosen time.
    pub fn keys(&self) -> Arc<KeyManager> {
        Arc::clone(&self.keys)
    }

    /// A handle to stop the server (tests; production stops on SIGTERM/SIGINT).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// A handle to stop the background work (tests stop it with the server).
    pub fn background(&self) -> tokio::task::AbortHandle {
        self.sync.abort_handle()
    }

    /// Serves until SIGTERM or SIGINT, then drains in-flight requests (graceful shutdown).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = match self.admin {
            // Each server stops on the signal; both are drained before we return.
            Some((_, admin)) => {
                let (public, admin) = tokio::join!(self.server, admin);
                public.and(admin)
            }
            None => self.server.await,
        };
        self.sync.abort();
        result
    }
}
