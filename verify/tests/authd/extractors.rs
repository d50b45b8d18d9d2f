//! The axum and actix-web integrations served over HTTP with the real server's tokens:
//! RFC 6750 answers (401 + `WWW-Authenticate: Bearer error="invalid_token"`, 403
//! `insufficient_scope`), the Bearer scheme case-insensitive.

use std::net::TcpListener;

use authd_verify::Verifier;
use serde_json::json;

use crate::forger::Forger;
use crate::helpers::{spawn_app, TestApp, PASSWORD};
use crate::support::verifier;

/// `/hello` needs a valid token; `/orders` also `orders:read`; `/admin` `orders:write`.
async fn serve_axum(verifier: Verifier) -> String {
    use authd_verify::axum::{AuthdClaims, RequireScope};
    use axum::routing::get;

    async fn hello(AuthdClaims(claims): AuthdClaims) -> String {
        format!("hello {}", claims.sub)
    }
    let app = axum::Router::new()
        .route("/hello", get(hello))
        .route(
            "/orders",
            get(hello).route_layer(RequireScope::new(verifier.clone(), "orders:read")),
        )
        .route(
            "/admin",
            get(hello).route_layer(RequireScope::new(verifier.clone(), "orders:write")),
        )
        .with_state(verifier);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// The same routes with actix-web.
fn serve_actix(verifier: Verifier) -> String {
    use actix_web::{web, App, HttpServer};
    use authd_verify::actix::{AuthdClaims, RequireScope};

    async fn hello(AuthdClaims(claims): AuthdClaims) -> String {
        format!("hello {}", claims.sub)
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(verifier.clone()))
            .route("/hello", web::get().to(hello))
            .service(
                web::resource("/orders")
                    .wrap(RequireScope::new(verifier.clone(), "orders:read"))
                    .route(web::get().to(hello)),
            )
            .service(
                web::resource("/admin")
                    .wrap(RequireScope::new(verifier.clone(), "orders:write"))
                    .route(web::get().to(hello)),
            )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    base
}

/// The same expectations for either framework at `base`.
async fn assert_rfc_6750(app: &TestApp, base: &str) {
    let f = Forger::new(app).await;
    let alice = app.login("alice", PASSWORD).await;
    let secret = app
        .add_client(
            "job",
            true,
            &["client_credentials"],
            &["api"],
            "orders:read",
        )
        .await
        .unwrap();
    let body: serde_json::Value = app
        .post_form_basic(
            "/auth/token",
            ("job", &secret),
            &[("grant_type", "client_credentials")],
        )
        .await
        .json()
        .await
        .unwrap();
    let job = body["access_token"].as_str().unwrap().to_owned();
    let client = &app.client;
    let get = |path: &str, authorization: Option<String>| {
        let mut request = client.get(format!("{base}{path}"));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        request.send()
    };
    let challenge = |r: &reqwest::Response| {
        r.headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned())
    };

    // No credentials: 401 and a bare challenge (RFC 6750 §3.1: no error code).
    let r = get("/hello", None).await.unwrap();
    assert_eq!(
        (r.status().as_u16(), challenge(&r)),
        (401, Some("Bearer".into()))
    );
    // A valid token, the scheme in any case.
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let r = get("/hello", Some(format!("{scheme} {alice}")))
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{scheme}");
        assert_eq!(r.text().await.unwrap(), format!("hello {}", f.sub));
    }
    // Invalid tokens: 401 invalid_token.
    let now = chrono::Utc::now().timestamp();
    for token in [
        f.with_claim("exp", json!(now - 120)),
        f.with_header("alg", json!("RS256")),
        "garbage".to_owned(),
    ] {
        let r = get("/hello", Some(format!("Bearer {token}")))
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        let c = challenge(&r).unwrap();
        assert!(c.starts_with("Bearer error=\"invalid_token\""), "{c}");
        assert!(!c.contains(&token));
    }
    // Scopes: granted → 200; not granted → 403 insufficient_scope naming the scope.
    let r = get("/orders", Some(format!("Bearer {job}"))).await.unwrap();
    assert_eq!(r.status(), 200);
    for (path, token) in [("/admin", &job), ("/orders", &alice)] {
        let r = get(path, Some(format!("Bearer {token}"))).await.unwrap();
        assert_eq!(r.status(), 403, "{path}");
        let c = challenge(&r).unwrap();
        assert!(c.contains("error=\"insufficient_scope\""), "{c}");
    }
    let r = get("/admin", Some(format!("Bearer {job}"))).await.unwrap();
    assert!(challenge(&r).unwrap().contains("scope=\"orders:write\""));
    // A scope layer refuses a missing token with 401 too.
    let r = get("/orders", None).await.unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn the_axum_extractor_and_scope_layer_answer_as_rfc_6750_says() {
    let app = spawn_app().await;
    let base = serve_axum(verifier(&app)).await;
    assert_rfc_6750(&app, &base).await;
}

#[tokio::test]
async fn the_actix_extractor_and_scope_middleware_answer_as_rfc_6750_says() {
    let app = spawn_app().await;
    let base = serve_actix(verifier(&app));
    assert_rfc_6750(&app, &base).await;
}
