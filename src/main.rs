//! The `chorus` server binary: parse the configuration, start, serve until a signal (or,
//! with `chorus token`, print a token and exit).

use chorus::server::config::{Config, LoadError, LogFormat, TokenArgs, Tool};
use chorus::server::startup::{signal, Application};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = match Config::load() {
        Ok(config) => config,
        // --help and --version print and exit 0; wrong values exit 2 with clap's message.
        Err(LoadError::Cli(e)) => e.exit(),
        Err(e) => {
            eprintln!("chorus: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    if let Some(Tool::Token(args)) = &config.tool {
        return token(args, &config);
    }
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=warn"));
    match config.log_format {
        LogFormat::Text => tracing_subscriber::fmt().with_env_filter(filter).init(),
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_env_filter(filter)
            .init(),
    }
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

/// `chorus token`: prints a token signed with the configured secret.
fn token(args: &TokenArgs, config: &Config) -> std::process::ExitCode {
    if let Err(e) = config.identity.validate() {
        eprintln!("chorus token: {e}");
        return std::process::ExitCode::FAILURE;
    }
    let Some(secret) = &config.identity.jwt_secret else {
        eprintln!("chorus token: needs the secret: --jwt-secret or CHORUS_JWT_SECRET");
        return std::process::ExitCode::FAILURE;
    };
    match chorus::server::identity::jwt::mint(secret, args, &config.identity) {
        Ok(token) => {
            println!("{token}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("chorus token: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
