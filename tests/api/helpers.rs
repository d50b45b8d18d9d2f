//! `spawn_app()`: the real server on port 0 with a fresh database (a SQLite file in a
//! temp dir, or a fresh Postgres database), throwaway keys and cheap argon2 parameters.
//!
//! Shared: the server's suite (tests/api) and authd-verify's (verify/tests/authd) both
//! include this file, so they boot the server the same way.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use authd::auth::hash_password;
use authd::config::{DatabaseUrl, Settings};
use authd::domain::{Password, Role, Username};
use authd::keys::KeyManager;
use authd::startup::{open_store, Application};
use authd::store::{NewUser, Store, User};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;
use sqlx::{Connection, Executor, PgConnection};
use std::sync::Arc;

pub const ISSUER: &str = "http://authd.test";

/// The Redis the suite runs against, when AUTHD_TEST_REDIS_URL is set.
pub fn test_redis_url() -> Option<String> {
    std::env::var("AUTHD_TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty())
}
pub const PASSWORD: &str = "correct horse battery staple";

/// A database of its own for one test, dropped with it.
pub struct TestDb {
    pub url: String,
    postgres: Option<(String, String)>, // (admin url, database name)
    _dir: tempfile::TempDir,
}

impl TestDb {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        match std::env::var("AUTHD_TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            None => Self {
                url: format!("sqlite://{}", dir.path().join("authd.db").display()),
                postgres: None,
                _dir: dir,
            },
            Some(admin) => {
                let name = format!("authd_t_{}", uuid::Uuid::new_v4().simple());
                let mut conn = PgConnection::connect(&admin).await.unwrap();
                conn.execute(format!(r#"create database "{name}""#).as_str())
                    .await
                    .unwrap();
                let mut url = url::Url::parse(&admin).unwrap();
                url.set_path(&name);
                Self {
                    url: url.to_string(),
                    postgres: Some((admin, name)),
                    _dir: dir,
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin, name)) = self.postgres.take() else {
            return;
        };
        // Drop cannot await: drop the database from a thread with its own runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(mut conn) = PgConnection::connect(&admin).await {
                    let _ = conn
                        .execute(
                            format!(r#"drop database if exists "{name}" with (force)"#).as_str(),
                        )
                        .await;
                }
            });
        })
        .join();
    }
}

pub struct TestApp {
    pub address: String,
    /// With `admin.bind` set: the admin API's own listener (`http://127.0.0.1:PORT`).
    pub admin_address: Option<String>,
    pub client: reqwest::Client,
    pub store: Arc<dyn Store>,
    pub settings: Settings,
    pub keys_dir: PathBuf,
    /// The key lifecycle: tests call `tick(now)` with a chosen time.
    pub keys: Arc<KeyManager>,
    server: actix_web::dev::ServerHandle,
    admin_server: Option<actix_web::dev::ServerHandle>,
    background: tokio::task::AbortHandle,
    // Dropped last: the server's files and database.
    _keys: tempfile::TempDir,
    pub db: TestDb,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Sends the stop command at once; the returned future only waits for it.
        drop(self.server.stop(false));
        if let Some(admin) = &self.admin_server {
            drop(admin.stop(false));
        }
        self.background.abort();
        if let Some(url) = test_redis_url() {
            delete_redis_prefix(url, self.settings.redis.key_prefix.clone());
        }
    }
}

/// Leaves nothing behind in the shared test Redis: deletes every key under `prefix`.
fn delete_redis_prefix(url: String, prefix: String) {
    let _ = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let Ok(client) = redis::Client::open(url) else {
                return;
            };
            let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
                return;
            };
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(format!("{prefix}*"))
                .query_async(&mut conn)
                .await
                .unwrap_or_default();
            if !keys.is_empty() {
                let _: Result<(), _> = redis::cmd("DEL").arg(keys).query_async(&mut conn).await;
            }
        });
    })
    .join();
}

/// A second server on the same database, keys and Redis prefix as a `TestApp`.
pub struct Sibling {
    pub address: String,
    server: actix_web::dev::ServerHandle,
    background: tokio::task::AbortHandle,
}

impl Drop for Sibling {
    fn drop(&mut self) {
        drop(self.server.stop(false));
        self.background.abort();
    }
}

/// Test settings: compiled-in defaults, the given database and key dir, fast argon2.
pub fn test_settings(db_url: &str, keys_dir: &Path) -> Settings {
    let mut settings = Settings::load(None).unwrap();
    settings.server.issuer = ISSUER.to_owned();
    settings.server.workers = 1;
    settings.database.url = DatabaseUrl::parse(db_url).unwrap();
    settings.database.max_connections = 5;
    settings.keys.dir = keys_dir.to_path_buf();
    settings.password.memory_kib = 1024;
    settings.password.iterations = 1;
    settings.password.workers = 1;
    if let Some(url) = test_redis_url() {
        settings.redis.url = Some(secrecy::SecretString::from(url));
        settings.redis.key_prefix = format!("authd-test-{}:", uuid::Uuid::new_v4().simple());
    }
    settings
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Boots the app after `customize` adjusts the test settings.
pub async fn spawn_app_with(customize: impl FnOnce(&mut Settings)) -> TestApp {
    let db = TestDb::new().await;
    let keys = tempfile::tempdir().unwrap();
    let keys_dir = keys.path().join("keys");
    let mut settings = test_settings(&db.url, &keys_dir);
    customize(&mut settings);
    boot(settings, db, keys).await
}

/// Boots the app with its issuer set to the address it listens on, so its discovery
/// metadata points at itself (for clients that start from discovery).
#[allow(dead_code)] // authd-verify's suite uses it; the server's own tests use ISSUER
pub async fn spawn_app_at_its_issuer() -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let db = TestDb::new().await;
    let keys = tempfile::tempdir().unwrap();
    let keys_dir = keys.path().join("keys");
    let mut settings = test_settings(&db.url, &keys_dir);
    settings.server.issuer = format!("http://127.0.0.1:{port}");
    boot_on(settings, db, keys, listener).await
}

/// Boots an app on an existing database and key directory (a restart).
pub async fn boot(settings: Settings, db: TestDb, key_dir: tempfile::TempDir) -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    boot_on(settings, db, key_dir, listener).await
}

async fn boot_on(
    settings: Settings,
    db: TestDb,
    key_dir: tempfile::TempDir,
    listener: TcpListener,
) -> TestApp {
    let app = Application::with_listener(settings.clone(), listener)
        .await
        .unwrap();
    let port = app.port();
    let server = app.handle();
    let admin_server = app.admin_handle();
    let admin_address = app.admin_port().map(|p| format!("http://127.0.0.1:{p}"));
    let background = app.background();
    let keys = app.keys();
    tokio::spawn(app.run_until_stopped());
    let store = open_store(&settings).await.unwrap();
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        admin_address,
        admin_server,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        store,
        keys_dir: settings.keys.dir.clone(),
        keys,
        settings,
        server,
        background,
        _keys: key_dir,
        db,
    }
}

impl TestApp {
    /// Boots another instance sharing this one's database, keys and Redis prefix.
    pub async fn sibling(&self) -> Sibling {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let app = Application::with_listener(self.settings.clone(), listener)
            .await
            .unwrap();
        let address = format!("http://127.0.0.1:{}", app.port());
        let server = app.handle();
        let background = app.background();
        tokio::spawn(app.run_until_stopped());
        Sibling {
            address,
            server,
            background,
        }
    }

    /// What a revocation by `reason` now records (as the server would).
    pub fn revoking(&self, reason: authd::store::RevokeReason) -> authd::store::Revoking {
        let now = chrono::Utc::now();
        let window = chrono::Duration::from_std(self.settings.tokens.access_window()).unwrap();
        authd::store::Revoking {
            at: now,
            sid_expires_at: now + window,
            reason,
        }
    }

    /// Logs in and returns the whole token response.
    pub async fn login_pair(&self, username: &str, password: &str) -> Value {
        let response = self
            .post_json(
                "/auth/token",
                &serde_json::json!({"username": username, "password": password}),
            )
            .await;
        assert_eq!(response.status(), 200, "login as {username} failed");
        response.json().await.unwrap()
    }

    /// Logs in asking for `scope` and returns the whole token response.
    pub async fn login_pair_with_scope(
        &self,
        username: &str,
        password: &str,
        scope: &str,
    ) -> Value {
        let response = self
            .post_json(
                "/auth/token",
                &serde_json::json!({"username": username, "password": password, "scope": scope}),
            )
            .await;
        assert_eq!(response.status(), 200, "login as {username} failed");
        response.json().await.unwrap()
    }

    /// Presents a refresh token at /auth/refresh.
    pub async fn refresh(&self, refresh_token: &str) -> reqwest::Response {
        self.post_json(
            "/auth/refresh",
            &serde_json::json!({"refresh_token": refresh_token}),
        )
        .await
    }

    /// Stops this server and boots a new one on the same database and key directory.
    pub async fn restart(mut self) -> TestApp {
        self.server.stop(true).await;
        if let Some(admin) = self.admin_server.take() {
            admin.stop(true).await;
        }
        let placeholder = TestDb {
            url: String::new(),
            postgres: None,
            _dir: tempfile::tempdir().unwrap(),
        };
        let db = std::mem::replace(&mut self.db, placeholder);
        let keys = std::mem::replace(&mut self._keys, tempfile::tempdir().unwrap());
        boot(self.settings.clone(), db, keys).await
    }

    /// Creates a user directly in the store, hashed with the app's parameters.
    pub async fn add_user(&self, name: &str, password: &str, roles: &[&str]) -> User {
        let hash = hash_password(&self.settings.password, Password::parse(password).unwrap())
            .await
            .unwrap();
        let new = NewUser {
            username: Username::parse(name).unwrap(),
            password_hash: hash,
            roles: roles.iter().map(|r| Role::parse(r).unwrap()).collect(),
            disabled: false,
            profile: Default::default(),
        };
        self.store
            .create_user(new, chrono::Utc::now())
            .await
            .unwrap()
    }

    /// Disables a user directly in the store (revoking every session of theirs), as the
    /// CLI's `user disable` does.
    pub async fn disable_user(&self, name: &str) {
        let user = self
            .store
            .user_by_username(&Username::parse(name).unwrap())
            .await
            .unwrap()
            .unwrap();
        let mut changes = authd::store::UserChanges::from(&user);
        changes.disabled = true;
        self.store
            .update_user(
                user.id,
                &changes,
                user.updated_at,
                self.revoking(authd::store::RevokeReason::UserDisabled),
            )
            .await
            .unwrap()
            .unwrap();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Logs in with the password grant (JSON) and returns the access token.
    pub async fn login(&self, username: &str, password: &str) -> String {
        let response = self
            .post_json(
                "/auth/token",
                &serde_json::json!({"username": username, "password": password}),
            )
            .await;
        assert_eq!(response.status(), 200, "login as {username} failed");
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn userinfo(&self, token: &str) -> reqwest::Response {
        self.client
            .get(self.url("/auth/userinfo"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// The PKCS#8 PEM of the active signing key (tests forge tokens with it).
    pub fn signing_key_pem(&self) -> (String, String) {
        let entry = std::fs::read_dir(&self.keys_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "pem"))
            .unwrap();
        let kid = entry.file_stem().unwrap().to_str().unwrap().to_owned();
        (kid, std::fs::read_to_string(entry).unwrap())
    }

    /// Registers a client directly in the store, its default scopes equal to `scopes`;
    /// returns its secret when confidential.
    pub async fn add_client(
        &self,
        id: &str,
        confidential: bool,
        grants: &[&str],
        audience: &[&str],
        scopes: &str,
    ) -> Option<String> {
        use authd::domain::{ClientId, ClientSecret, GrantType, Scopes};
        let secret = confidential.then(ClientSecret::generate);
        let client = authd::clients::Client {
            id: ClientId::parse(id).unwrap(),
            secret: secret.as_ref().map(ClientSecret::digest),
            grants: grants
                .iter()
                .map(|g| GrantType::parse(g).unwrap())
                .collect(),
            audience: audience.iter().map(|a| a.to_string()).collect(),
            scopes: Scopes::parse(scopes).unwrap(),
            default_scopes: Scopes::parse(scopes).unwrap(),
            created_at: None,
            updated_at: None,
            previous_secret: None,
        };
        self.store
            .create_client(&client, chrono::Utc::now())
            .await
            .unwrap();
        secret.map(|s| s.expose().to_owned())
    }

    /// Introspects `token` as a resource server (a confidential client registered on
    /// first use) and returns the RFC 7662 answer.
    pub async fn introspect(&self, token: &str) -> Value {
        use authd::domain::{ClientId, ClientSecret, Scopes};
        const ID: &str = "test-resource-server";
        const SECRET: &str = "test-resource-server-secret-0123456789";
        if self.store.client_by_id(ID).await.unwrap().is_none() {
            let client = authd::clients::Client {
                id: ClientId::parse(ID).unwrap(),
                secret: Some(ClientSecret::parse_new(SECRET).unwrap().digest()),
                grants: Default::default(),
                audience: vec![ID.to_owned()],
                scopes: Scopes::default(),
                default_scopes: Scopes::default(),
                created_at: None,
                updated_at: None,
                previous_secret: None,
            };
            self.store
                .create_client(&client, chrono::Utc::now())
                .await
                .unwrap();
        }
        let response = self
            .post_form_basic("/auth/introspect", (ID, SECRET), &[("token", token)])
            .await;
        assert_eq!(response.status(), 200, "introspection answers 200");
        response.json().await.unwrap()
    }

    /// POSTs a form authenticated with HTTP Basic (`client_secret_basic`).
    pub async fn post_form_basic(
        &self,
        path: &str,
        (id, secret): (&str, &str),
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .basic_auth(id, Some(secret))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Runs the `authd` binary against this app's database and keys.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> Output {
        run_cli(&self.db.url, &self.keys_dir, args, stdin, &[])
    }
}

/// `authd serve` as a child process on a free port with JSON logs at debug level, its
/// output captured: for tests of the binary itself (signals, what it logs).
pub struct ServeProcess {
    pub base: String,
    child: std::process::Child,
}

impl ServeProcess {
    /// Starts it on `app`'s database and keys and waits until /healthz answers.
    pub async fn start(app: &TestApp, env: &[(&str, &str)]) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = Command::new(authd_binary());
        command
            .arg("serve")
            .env_clear()
            .env("AUTHD__DATABASE__URL", &app.db.url)
            .env("AUTHD__KEYS__DIR", &app.keys_dir)
            .env("AUTHD__SERVER__BIND", format!("127.0.0.1:{port}"))
            .env("AUTHD__PASSWORD__MEMORY_KIB", "1024")
            .env("AUTHD__PASSWORD__ITERATIONS", "1")
            .env("AUTHD__LOG__FORMAT", "json")
            .env("AUTHD__LOG__LEVEL", "debug")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(url) = test_redis_url() {
            command
                .env("AUTHD__REDIS__URL", url)
                .env("AUTHD__REDIS__KEY_PREFIX", &app.settings.redis.key_prefix);
        }
        let child = command.spawn().unwrap();
        let this = Self {
            base: format!("http://127.0.0.1:{port}"),
            child,
        };
        for _ in 0..100 {
            if reqwest::get(format!("{}/healthz", this.base))
                .await
                .is_ok_and(|r| r.status() == 200)
            {
                return this;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("authd serve did not answer /healthz within 10 s");
    }

    /// SIGKILL: the process ends at once, with no shutdown of any kind.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Sends SIGTERM, waits (at most 15 s) for the exit, and returns its status and
    /// everything it printed.
    pub async fn stop(mut self) -> (std::process::ExitStatus, String) {
        assert!(Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success());
        let mut status = None;
        for _ in 0..150 {
            if let Some(s) = self.child.try_wait().unwrap() {
                status = Some(s);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let Some(status) = status else {
            let _ = self.child.kill();
            panic!("authd did not stop after SIGTERM");
        };
        let output = self.child.wait_with_output().unwrap();
        let logs = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (status, logs)
    }
}

/// The `authd` binary. Cargo names it only to the server's own test binary; other
/// packages including this file (authd-verify) drive the CLI in-process instead.
fn authd_binary() -> &'static str {
    match option_env!("CARGO_BIN_EXE_authd") {
        Some(path) => path,
        None => panic!("the authd binary is known to authd's own tests only"),
    }
}

/// Runs the `authd` binary with a clean environment pointing at `db_url` and `keys_dir`.
pub fn run_cli(
    db_url: &str,
    keys_dir: &Path,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> Output {
    let mut command = Command::new(authd_binary());
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AUTHD__DATABASE__URL", db_url)
        .env("AUTHD__KEYS__DIR", keys_dir)
        .env("AUTHD__PASSWORD__MEMORY_KIB", "1024")
        .env("AUTHD__PASSWORD__ITERATIONS", "1")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(input) = stdin {
        // A command that fails before reading stdin (e.g. on a bad name) closes the pipe:
        // that is its answer, checked by the caller through the exit code and stderr.
        match pipe.write_all(input.as_bytes()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            other => other.unwrap(),
        }
    }
    drop(pipe);
    // Drained while it runs: a command writing more than a pipe holds would otherwise
    // block on its output and never exit.
    let drain = |mut from: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut from, &mut out).unwrap();
            out
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    // Bounded: a command that should exit but serves instead fails the test, not hangs it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("authd {args:?} did not exit within 60 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// The JSON of a base64url JWT segment.
pub fn segment(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The JSON body of a response that must be 200.
pub async fn json_of(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Polls `check` for up to 5 s (the spec's bound for changes made elsewhere).
pub async fn within_five_seconds(mut check: impl AsyncFnMut() -> bool) -> bool {
    for _ in 0..50 {
        if check().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    false
}

/// Standard base64 with padding, as in HTTP Basic.
pub fn b64_std(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Asserts an RFC 6749 error body with the given status and code.
pub async fn assert_oauth_error(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status(), status, "expected {status} {code}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], code, "body: {body}");
    assert!(body["error_description"].is_string(), "body: {body}");
    body
}

/// Runs one SQL statement (no parameters) on the app's database, behind its back.
pub async fn execute_sql(app: &TestApp, sql: &str) {
    if app.db.url.starts_with("postgres") {
        let mut conn = PgConnection::connect(&app.db.url).await.unwrap();
        conn.execute(sql).await.unwrap();
    } else {
        let mut conn = sqlx::SqliteConnection::connect(&app.db.url).await.unwrap();
        conn.execute(sql).await.unwrap();
    }
}

impl TestApp {
    /// The `/metrics` text of the instance at `base` (this app or a sibling).
    pub async fn metrics_text(&self, base: &str) -> String {
        self.client
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The status of a userinfo request with `token` at the instance at `base`.
    pub async fn userinfo_at(&self, base: &str, token: &str) -> u16 {
        self.client
            .get(format!("{base}/auth/userinfo"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

/// The value of one unlabelled-or-labelled series (`name{labels}` as written) in a
/// metrics text, if it has a sample.
pub fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap())
}
