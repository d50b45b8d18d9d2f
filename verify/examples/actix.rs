//! A protected `GET /hello` with actix-web: `hello:read` scope required.
//! `cargo run -p authd-verify --example actix -- http://127.0.0.1:8080 api`
use actix_web::{web, App, HttpServer};
use authd_verify::actix::{AuthdClaims, RequireScope};

async fn hello(AuthdClaims(claims): AuthdClaims) -> String {
    format!("hello {}\n", claims.sub)
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (issuer, audience) = (
        args.next().unwrap_or_default(),
        args.next().unwrap_or_default(),
    );
    let verifier = authd_verify::Verifier::discover(issuer)
        .await?
        .audience(audience);
    HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(verifier.clone()))
            .service(
                web::resource("/hello")
                    .wrap(RequireScope::new(verifier.clone(), "hello:read"))
                    .route(web::get().to(hello)),
            )
    })
    .bind("127.0.0.1:3000")?
    .run()
    .await?;
    Ok(())
}
