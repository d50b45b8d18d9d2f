//! Users whose password hash was imported from another system (admin API `password_hash`,
//! spec admin-api.md §2) log in with their old password, and that first login rewrites
//! the hash as argon2id with the configured parameters.

use authd::domain::{ImportedHash, Username};
use authd::store::{NewUser, PasswordHash};
use serde_json::json;

use crate::helpers::{assert_oauth_error, spawn_app, TestApp, PASSWORD};

/// Hashes of PASSWORD made outside authd: pbkdf2 and scrypt by Python's hashlib.
const PBKDF2_SHA256: &str = "$pbkdf2-sha256$i=1000,l=32$YXV0aGQtaW1wb3J0LXNhbHQ$CJV+NHgEfgFJJu6QX1vTSJ6cSgIzdr/JE2C3QidnApk";
const PBKDF2_SHA512: &str = "$pbkdf2-sha512$i=1000,l=64$YXV0aGQtaW1wb3J0LXNhbHQ$/aVHhF7OkDUfClFf7qskx2rp8MvzEwHFkjCofW0H6r2r5ndLnu0J7bJIBxlM9gp+eKI5ZAOJZeJ9Ojrme+k1sQ";
const SCRYPT: &str =
    "$scrypt$ln=10,r=8,p=1$YXV0aGQtaW1wb3J0LXNhbHQ$8PbYVnoWPdHHtkmMEvBc+8ybLpLSYgbsP2KKBMDQF/U";

fn bcrypt_of(password: &str) -> String {
    bcrypt::hash_with_salt(password, 4, *b"sixteen byte slt")
        .unwrap()
        .format_for_version(bcrypt::Version::TwoY)
}

/// Creates `name` with `hash` stored as it is, the way an import will.
async fn add_imported(app: &TestApp, name: &str, hash: &str) {
    let hash = ImportedHash::parse(hash).unwrap();
    let new = NewUser {
        username: Username::parse(name).unwrap(),
        password_hash: PasswordHash::from(hash),
        roles: vec![],
        disabled: false,
        profile: Default::default(),
    };
    app.store
        .create_user(new, chrono::Utc::now())
        .await
        .unwrap();
}

async fn stored_hash(app: &TestApp, name: &str) -> String {
    app.store
        .user_by_username(&Username::parse(name).unwrap())
        .await
        .unwrap()
        .unwrap()
        .password_hash
        .0
}

#[tokio::test]
async fn the_first_login_with_an_imported_hash_rewrites_it_as_argon2id() {
    let app = spawn_app().await;
    let bcrypt = bcrypt_of(PASSWORD);
    let imported = [
        ("bea", bcrypt.as_str()),
        ("pia", PBKDF2_SHA256),
        ("pete", PBKDF2_SHA512),
        ("sam", SCRYPT),
    ];
    for (name, hash) in imported {
        add_imported(&app, name, hash).await;
    }

    for (name, hash) in imported {
        app.login(name, PASSWORD).await;
        let rewritten = stored_hash(&app, name).await;
        assert!(
            rewritten.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"),
            "{name}: {hash} was not rewritten under the configured parameters"
        );
        // The new hash serves the next login and stays.
        app.login(name, PASSWORD).await;
        assert_eq!(stored_hash(&app, name).await, rewritten, "{name}");
    }
}

#[tokio::test]
async fn a_wrong_password_on_an_imported_hash_is_invalid_grant_and_keeps_the_hash() {
    let app = spawn_app().await;
    let bcrypt = bcrypt_of(PASSWORD);
    add_imported(&app, "bea", &bcrypt).await;

    let response = app
        .post_json(
            "/auth/token",
            &json!({"username": "bea", "password": "not the password"}),
        )
        .await;

    assert_oauth_error(response, 400, "invalid_grant").await;
    assert_eq!(stored_hash(&app, "bea").await, bcrypt);
    app.login("bea", PASSWORD).await;
    assert!(stored_hash(&app, "bea").await.starts_with("$argon2id$"));
}
