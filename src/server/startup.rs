//! Building and running the server: `Application::build(config)` then
//! `run_until_stopped()`. Tests build it on port 0 with a fresh data directory.

use crate::server::accounts::memory::MemoryAccounts;
use crate::server::accounts::sqlite::SqliteAccounts;
use crate::server::accounts::AccountStore;
use crate::server::config::StoreKind;
use crate::server::config::{site_options, Config, SiteConfigError};
use crate::server::conn_limit::ConnLimit;
use crate::server::engine::local::LocalEngine;
use crate::server::engine::redis::{RedisEngine, RedisSetupError};
use crate::server::engine::{ClusterEvent, Engine};
use crate::server::http::router;
use crate::server::hub::Hub;
use crate::server::listener::HttpLimits;
use crate::server::moderation::memory::MemoryModeration;
use crate::server::moderation::sqlite::SqliteModeration;
use crate::server::moderation::ModerationStore;
use crate::server::rooms::memory::MemoryRooms;
use crate::server::rooms::sqlite::SqliteRooms;
use crate::server::rooms::RoomDirectory;
use crate::server::session::SessionConfig;
use crate::server::shutdown::{self, ShutdownTrigger};
use crate::server::state::AppState;
use crate::server::store::memory::MemoryStore;
use crate::server::store::sqlite::{OpenError, SqliteOptions, SqliteStore};
use crate::server::store::Store;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use thiserror::Error;
use tokio::net::TcpListener;

/// Why the server could not start.
#[derive(Debug, Error)]
pub enum StartupError {
    /// Options that contradict each other.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The site settings are wrong.
    #[error(transparent)]
    Site(#[from] SiteConfigError),
    /// The data directory cannot be created.
    #[error("cannot use data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The history in the data directory cannot be used.
    #[error(transparent)]
    Store(#[from] OpenError),
    /// The Redis settings cannot be used.
    #[error(transparent)]
    Redis(#[from] RedisSetupError),
    /// The accounts' connection to the database cannot be opened.
    #[error("accounts: {0}")]
    Accounts(String),
    /// A token key in --jwt-keys cannot be used.
    #[error("token keys: {0}")]
    Keys(#[from] crate::server::identity::jwt::KeyError),
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// The longest a stopping server waits for its connections to close.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// A bound, ready-to-run server.
pub struct Application {
    listener: TcpListener,
    hub: Hub,
    state: AppState,
    addr: SocketAddr,
    trigger: ShutdownTrigger,
    limits: HttpLimits,
}

impl Application {
    /// Reads the site settings, prepares the data directory and store, and binds.
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        config.validate().map_err(StartupError::Config)?;
        crate::server::metrics::install();
        let explicit_site = std::env::var_os("CHORUS_SITE_CONFIG").is_some()
            || config.site_config != std::path::Path::new("Leptos.toml");
        let mut leptos_options = site_options(&config.site_config, explicit_site)?;
        std::fs::create_dir_all(&config.data_dir)
            .and_then(|()| {
                // The history and its lock are this server's alone: 0700.
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&config.data_dir, std::fs::Permissions::from_mode(0o700))
            })
            .map_err(|source| StartupError::DataDir {
                path: config.data_dir.clone(),
                source,
            })?;
        let verifier =
            crate::server::identity::jwt::Verifier::from_config(&config.identity)?.map(Arc::new);
        let (engine, events, (account_store, directory, moderation)) = Self::engine(&config)?;
        let hub = Hub::new(engine, events);
        let accounts = account_store.map(|store| {
            Arc::new(crate::server::accounts::service::Accounts::new(
                store,
                crate::server::accounts::service::AccountOptions {
                    session_ttl: config.identity.session_ttl,
                    signups_per_hour: config.identity.signups_per_ip_per_hour,
                },
                hub.revocations().clone(),
            ))
        });
        let addr = config.addr.unwrap_or(leptos_options.site_addr);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartupError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| StartupError::Bind { addr, source })?;
        leptos_options.site_addr = addr;
        let (trigger, shutdown) = shutdown::channel();
        let rooms = Arc::new(crate::server::rooms::access::RoomAccess::new(
            directory, moderation,
        ));
        let trusted_proxies = Arc::new(crate::server::client_addr::TrustedProxies::new(
            config.trusted_proxies.clone(),
        ));
        let operator = crate::server::admin::Operator::new(
            crate::server::admin::Admins::new(&config.identity.admins),
            hub.clone(),
            accounts.clone(),
            rooms.clone(),
        );
        let state = AppState {
            leptos_options,
            hub,
            session: Arc::new(SessionConfig {
                max_rooms: config.max_rooms as usize,
                rate_per_sec: config.rate_per_sec,
                rate_burst: config.rate_burst,
                control_per_sec: config.control_rate_per_sec,
                control_burst: config.control_burst,
                budgets: Arc::new(crate::server::address_budget::AddressBudgets::new(
                    crate::server::address_budget::BudgetSizes {
                        publish_per_sec: config
                            .rate_per_ip_per_sec
                            .unwrap_or(config.rate_per_sec * 3.0),
                        publish_burst: config
                            .rate_per_ip_burst
                            .unwrap_or(config.rate_burst.saturating_mul(3)),
                        new_rooms_per_hour: config.new_rooms_per_ip_per_hour,
                    },
                )),
                outbound_queue: config.outbound_queue as usize,
                ping_interval: config.ping_interval(),
                idle_timeout: config.idle_timeout(),
                replay_stall: config.replay_stall_timeout,
                verifier,
                guests: config.identity.guests == crate::server::config::Guests::On,
                rooms: rooms.clone(),
            }),
            shutdown,
            allowed_origins: Arc::new(config.allowed_origins.clone()),
            allowed_hosts: Arc::new(crate::server::origin::AllowedHosts::from_config(
                &config.allowed_hosts,
                addr.ip().is_loopback(),
            )),
            conn_limit: ConnLimit::new(config.max_conns_per_ip),
            trusted_proxies: trusted_proxies.clone(),
            api_key: config.api_key.as_deref().map(Arc::from),
            body_limits: crate::server::state::BodyLimits {
                max_bytes: config.max_body_bytes as usize,
                timeout: config.body_timeout,
            },
            accounts,
            cookie_secure: config.identity.cookie_secure == crate::server::config::Switch::On,
            embed_origins: Arc::from(config.identity.embed_origins.clone()),
            operator,
        };
        Ok(Self {
            listener,
            hub: state.hub.clone(),
            state,
            addr,
            trigger,
            limits: HttpLimits {
                max_connections: config.max_connections as usize,
                max_per_ip: config.max_tcp_per_ip,
                header_read_timeout: config.header_read_timeout,
                idle_timeout: config.tcp_idle_timeout,
                max_header_bytes: config.max_header_bytes as usize,
                trusted_proxies,
            },
        })
    }

    /// The engine the configuration asks for: Redis when `--redis-url` is given, else
    /// the local engine over the `--store`.
    /// The engine the configuration asks for (Redis when `--redis-url` is given, else
    /// the local engine over the `--store`) and where the site's accounts live beside it.
    #[allow(clippy::type_complexity)]
    fn engine(
        config: &Config,
    ) -> Result<
        (
            Arc<dyn Engine>,
            tokio::sync::mpsc::Receiver<ClusterEvent>,
            (
                Option<Arc<dyn AccountStore>>,
                Arc<dyn RoomDirectory>,
                Arc<dyn ModerationStore>,
            ),
        ),
        StartupError,
    > {
        if let Some(options) = config.redis() {
            tracing::info!(node = %options.node_id, prefix = %options.prefix, "using redis");
            let (engine, events) = RedisEngine::connect(options)?;
            let accounts: Arc<dyn AccountStore> = Arc::new(engine.accounts());
            let rooms: Arc<dyn RoomDirectory> = Arc::new(engine.rooms());
            let moderation: Arc<dyn ModerationStore> = Arc::new(engine.moderation());
            return Ok((engine, events, (Some(accounts), rooms, moderation)));
        }
        let (store, accounts, rooms, moderation): (
            Arc<dyn Store>,
            Arc<dyn AccountStore>,
            Arc<dyn RoomDirectory>,
            Arc<dyn ModerationStore>,
        ) = match config.store {
            StoreKind::Sqlite => {
                let store = SqliteStore::open(
                    &config.data_dir,
                    SqliteOptions {
                        retention: config.retention(),
                        busy_timeout: config.store_busy_timeout,
                        ..SqliteOptions::default()
                    },
                )?;
                let side = || {
                    store
                        .side_connection()
                        .map_err(|e| StartupError::Accounts(e.to_string()))
                };
                let (accounts, rooms) = (SqliteAccounts::new(side()?), SqliteRooms::new(side()?));
                let moderation = SqliteModeration::new(side()?);
                (
                    Arc::new(store),
                    Arc::new(accounts),
                    Arc::new(rooms),
                    Arc::new(moderation),
                )
            }
            StoreKind::Memory => (
                Arc::new(MemoryStore::with_retention(config.retention())),
                Arc::new(MemoryAccounts::default()),
                Arc::new(MemoryRooms::default()),
                Arc::new(MemoryModeration::default()),
            ),
        };
        let (engine, events) = LocalEngine::new(store);
        Ok((engine, events, (Some(accounts), rooms, moderation)))
    }

    /// The address actually bound (the real port when asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `stop` resolves; then stops accepting, closes every socket with 1012,
    /// waits for the connections to end (at most [`SHUTDOWN_GRACE`]), and closes the
    /// store, which commits what is queued and folds its journal into the database file.
    pub async fn run_until_stopped(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let Self {
            listener,
            hub,
            state,
            trigger,
            limits,
            ..
        } = self;
        let app = router(state);
        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        let server = crate::server::listener::serve(listener, app, limits, async move {
            stop.await;
            // Sessions close their sockets with 1012; the listener then waits for them.
            trigger.trigger();
            let _ = stopping_tx.send(());
        });
        let grace = async {
            if stopping_rx.await.is_ok() {
                tokio::time::sleep(SHUTDOWN_GRACE).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            () = server => {}
            () = grace => {
                tracing::warn!("connections still open after {SHUTDOWN_GRACE:?}; stopping anyway");
            }
        }
        if let Err(e) = hub.close().await {
            tracing::warn!(error = %e.report(), "closing the engine failed");
        }
        Ok(())
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
