//! The HTTP ceiling for the JWKS workload: actix-web serving fixed bytes of the same
//! size and headers as authd's JWKS, with no work per request. bench/run.sh serves
//! authd's own JWKS body with it.
//!
//!   cargo run --release --example static_baseline -- <port> <workers> <body file>
#![allow(clippy::unwrap_used, clippy::expect_used)]

use actix_web::web::Bytes;
use actix_web::{web, App, HttpResponse, HttpServer};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = args.get(1).map_or(8090, |p| p.parse().unwrap());
    let workers: usize = args.get(2).map_or(1, |w| w.parse().unwrap());
    let body = Bytes::from(std::fs::read(args.get(3).expect("a body file")).unwrap());
    println!("static baseline on 127.0.0.1:{port}, {} bytes", body.len());
    HttpServer::new(move || {
        let body = body.clone();
        App::new().route(
            "/.well-known/jwks.json",
            web::get().to(move || {
                let body = body.clone();
                async move {
                    HttpResponse::Ok()
                        .content_type("application/json")
                        .insert_header(("cache-control", "public, max-age=300"))
                        .insert_header(("etag", "\"0123456789abcdef0123456789abcdef\""))
                        .insert_header(("x-content-type-options", "nosniff"))
                        .body(body)
                }
            }),
        )
    })
    .workers(workers)
    .bind(("127.0.0.1", port))?
    .run()
    .await
}
