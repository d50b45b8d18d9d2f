//! Optional introspection (verifier.md §3) against the real server's RFC 7662 endpoint.

use std::time::SystemTime;

use authd_verify::{Introspection, Verifier, VerifyError};

use crate::helpers::{spawn_app, TestApp, ISSUER, PASSWORD};
use crate::support::{jwks_uri, later, secs, verifier};

fn introspecting(app: &TestApp, client_secret: String) -> Verifier {
    Verifier::builder(ISSUER)
        .audience("api")
        .jwks_uri(jwks_uri(app))
        .introspection_endpoint(app.url("/auth/introspect"))
        .introspection_cache(secs(5))
        .revocation(Introspection {
            client_id: "orders-api".into(),
            client_secret,
        })
        .build()
        .unwrap()
}

#[tokio::test]
async fn introspection_refuses_a_token_revoked_at_the_server() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let secret = app
        .add_client("orders-api", true, &[], &["orders-api"], "")
        .await
        .unwrap();
    let verifier_online = introspecting(&app, secret);
    let token = app.login("alice", PASSWORD).await;
    let t0 = SystemTime::now();
    verifier_online.verify_at(&token, t0).await.unwrap();

    // Logout revokes the token at the server.
    let response = app
        .client
        .post(app.url("/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);

    // Offline verification cannot see it: the token stays valid until it expires.
    verifier(&app).verify_at(&token, t0).await.unwrap();
    // Online: the answer cached at t0 serves for 5 s (the revocation delay budget)...
    verifier_online
        .verify_at(&token, later(t0, 4))
        .await
        .unwrap();
    // ...then the endpoint is asked again and says active: false.
    assert_eq!(
        verifier_online.verify_at(&token, later(t0, 6)).await,
        Err(VerifyError::Revoked)
    );
}

#[tokio::test]
async fn introspection_that_cannot_authenticate_fails_closed() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    app.add_client("orders-api", true, &[], &["orders-api"], "")
        .await
        .unwrap();
    let verifier = introspecting(&app, "not-the-secret-0123456789abcdef".into());
    let token = app.login("alice", PASSWORD).await;
    assert_eq!(
        verifier.verify(&token).await,
        Err(VerifyError::IntrospectionUnavailable)
    );
}
