//! The `chorus` server binary: parse the configuration, start, serve until a signal.

use chorus::server::config::Config;
use chorus::server::startup::{signal, Application};
use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,tower_http=warn")),
        )
        .init();
    let config = Config::parse();
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("chorus: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let addr = app.local_addr();
    tracing::info!("listening on http://{addr}");
    println!("Chorus is running: open http://{addr}");
    match app.run_until_stopped(signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chorus: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
