//! The OpenAPI document (admin-api.md §1): served without authentication, it lists every
//! route the admin and account APIs register and nothing else, and the committed
//! `docs/openapi.json` is exactly what the code generates.

use serde_json::Value;

use crate::helpers::{json_of, spawn_app};

/// Every (method, path) registered under each API's scope.
fn registered() -> Vec<(String, String)> {
    let apis: [(&str, &[(&str, &str)]); 1] = [("/admin/v1", authd::routes::admin::ROUTES)];
    apis.iter()
        .flat_map(|(scope, routes)| {
            routes
                .iter()
                .map(move |(method, path)| (method.to_string(), format!("{scope}{path}")))
        })
        .collect()
}

#[tokio::test]
async fn the_document_is_served_without_a_token_and_lists_every_registered_route() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/admin/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let doc: Value = json_of(response).await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );

    let routes = registered();
    assert!(routes.len() > 2, "the route tables are read: {routes:?}");
    for (method, path) in &routes {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is registered but missing from the OpenAPI document"
        );
    }
    // And nothing is documented that is not served.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            assert!(
                routes.contains(&(method.clone(), path.clone())),
                "{method} {path} is documented but not registered"
            );
        }
    }
}

#[tokio::test]
async fn every_authenticated_operation_documents_its_problems() {
    let doc: Value =
        serde_json::from_str(&authd::routes::openapi::document_json().unwrap()).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let public = op["security"] == serde_json::json!([{}]);
            if !public {
                for status in ["401", "403", "503"] {
                    assert_eq!(
                        op["responses"][status]["content"]["application/problem+json"]["schema"]
                            ["$ref"],
                        "#/components/schemas/Problem",
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
}

/// `docs/openapi.json` is what the code generates. After changing a route, regenerate it
/// with `AUTHD_WRITE_OPENAPI=1 cargo test --test api openapi` and commit the file.
#[test]
fn the_committed_document_has_not_drifted_from_the_code() {
    let generated = authd::routes::openapi::document_json().unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.json");
    if std::env::var_os("AUTHD_WRITE_OPENAPI").is_some() {
        std::fs::write(path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json differs from the code's document: run \
         `AUTHD_WRITE_OPENAPI=1 cargo test --test api openapi` and commit docs/openapi.json"
    );
}
