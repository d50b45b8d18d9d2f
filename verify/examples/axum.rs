//! A protected `GET /hello` with axum: `hello:read` scope required.
//! `cargo run -p authd-verify --example axum -- http://127.0.0.1:8080 api`
use authd_verify::axum::{AuthdClaims, RequireScope};
use axum::{routing::get, Router};

async fn hello(AuthdClaims(claims): AuthdClaims) -> String {
    format!("hello {}\n", claims.sub)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (issuer, audience) = (
        args.next().unwrap_or_default(),
        args.next().unwrap_or_default(),
    );
    let verifier = authd_verify::Verifier::discover(issuer)
        .await?
        .audience(audience);
    let app = Router::new()
        .route("/hello", get(hello))
        .route_layer(RequireScope::new(verifier.clone(), "hello:read"))
        .with_state(verifier);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    axum::serve(listener, app).await?;
    Ok(())
}
