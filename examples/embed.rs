//! The contract's embedding example ("The Rust library"): bring a bottle up, read its published
//! port, fetch the bundle's page, and take the bottle down.
//!
//! The image is `BOTTLE_TEST_IMAGE` (default `bot-bottle-sidecars:latest`), the token is
//! `API_TOKEN` from the environment. `BOTTLE_PREFIX` and `BOTTLE_POOL` (a CIDR, /24 blocks), when
//! set, keep a test run apart from everything else on the engine. The test suite runs this
//! (tests/it/library.rs, after `cargo build --example embed` in scripts/test.sh).

use std::io::{Read, Write};

use bottle::{Bottles, Engine, Pool, Slug, Spec};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let image = std::env::var("BOTTLE_TEST_IMAGE")
        .unwrap_or_else(|_| "bot-bottle-sidecars:latest".to_string());
    let token = std::env::var("API_TOKEN").unwrap_or_default();
    let prefix = std::env::var("BOTTLE_PREFIX").unwrap_or_else(|_| "bot-bottle".to_string());

    // The contract's example, with the image and the prefix read above.
    let mut bottles = Bottles::new(Engine::detect()?).prefix(prefix.parse()?);
    if let Ok(pool) = std::env::var("BOTTLE_POOL") {
        bottles = bottles.pool(Pool::new(pool.parse()?, 24)?);
    }
    let spec = Spec::builder(image)
        .publish(8080)
        .secret_env("API_TOKEN", token)
        .build()?;
    let slug: Slug = "demo".parse()?;
    let up = bottles.up(&slug, &spec)?; // up.action: Created | Kept | Replaced | Started
    let addr: std::net::SocketAddr = up.bottle.port(8080).expect("published");
    println!("{} {addr}", up.action.as_str());

    // What a launcher does next: point its agent at `addr`. Here, fetch the page once.
    let page = fetch(addr);
    bottles.down(&slug)?;
    print!("{}", page?);
    Ok(())
}

/// `GET /` on `addr`, retrying for a few seconds while the bundle's server starts.
fn fetch(addr: std::net::SocketAddr) -> std::io::Result<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let attempt = (|| {
            let mut s = std::net::TcpStream::connect(addr)?;
            s.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
            s.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
            let mut body = String::new();
            s.read_to_string(&mut body)?;
            match body.is_empty() {
                true => Err(std::io::Error::other("empty answer")),
                false => Ok(body),
            }
        })();
        match attempt {
            Ok(body) => return Ok(body),
            Err(e) if std::time::Instant::now() >= deadline => return Err(e),
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(200)),
        }
    }
}
