//! GET /auth/userinfo with good tokens and without any.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, PASSWORD};

#[tokio::test]
async fn userinfo_returns_the_user_of_a_valid_token() {
    let app = spawn_app().await;
    let user = app.add_user("alice", PASSWORD, &["admin"]).await;
    let token = app.login("alice", PASSWORD).await;
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let response = app
            .client
            .get(app.url("/auth/userinfo"))
            .header("authorization", format!("{scheme} {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "scheme {scheme}");
        assert_eq!(response.headers()["cache-control"], "no-store");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body,
            json!({"sub": user.id.to_string(), "preferred_username": "alice", "roles": ["admin"]})
        );
    }
    let post = app
        .client
        .post(app.url("/auth/userinfo"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 200);
}

#[tokio::test]
async fn userinfo_without_a_bearer_token_is_401_with_a_challenge() {
    let app = spawn_app().await;
    let cases = [
        None,
        Some("Basic YWxpY2U6cHc="),
        Some("Bearer"),
        Some("Bearer "),
        Some("Token abc"),
    ];
    for header in cases {
        let mut request = app.client.get(app.url("/auth/userinfo"));
        if let Some(h) = header {
            request = request.header("authorization", h);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{header:?}");
        assert!(
            response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer"),
            "{header:?}"
        );
    }
}

#[tokio::test]
async fn a_disabled_users_token_is_rejected() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let token = app.login("alice", PASSWORD).await;
    app.disable_user("alice").await;
    assert_eq!(app.userinfo(&token).await.status(), 401);
}
