//! Runs the example service: configuration from the environment (see `Config::from_env`), `LISTEN`
//! the address (default `127.0.0.1:8080`; port 0 picks a free one). The first line on stdout is
//! `listening on http://ADDR`.

use std::io::Write as _;
use std::sync::Arc;

use gateway_service::{Config, Verifier, app};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(message) => {
            eprintln!("error: {message}");
            return std::process::ExitCode::from(2);
        }
    };
    let listen = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".to_owned());
    let listener = match tokio::net::TcpListener::bind(&listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("error: cannot listen on {listen}: {error}");
            return std::process::ExitCode::from(2);
        }
    };
    let address = match listener.local_addr() {
        Ok(address) => address,
        Err(error) => {
            eprintln!("error: {error}");
            return std::process::ExitCode::from(2);
        }
    };
    println!("listening on http://{address}");
    let _ = std::io::stdout().flush();
    if !config.insecure_skip_scope_for.is_empty() {
        eprintln!(
            "warning: INSECURE_SKIP_SCOPE_FOR: no scope check on {}",
            config.insecure_skip_scope_for.join(", ")
        );
    }
    eprintln!("issuer {}, keys from {}", config.issuer, config.jwks_uri);
    let server = axum::serve(listener, app(Arc::new(Verifier::new(config))))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        });
    match server.await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
