//! HTTP routes: the WebSocket upgrade, the pages (SSR through leptos_axum), static files,
//! and small endpoints.

use crate::protocol::{RoomName, MAX_FRAME_BYTES};
use crate::server::client_addr::limit_key;
use crate::server::log_limit::{quote, Throttle, QUOTE_CHARS};
use crate::server::origin::origin_allowed;
use crate::server::session::{self, Admitted, Upgraded};
use crate::server::state::AppState;
use crate::server::websocket::WebSocketUpgrade;
use crate::ui::{shell, App};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::header::{self, HOST, ORIGIN};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use leptos::prelude::{provide_context, LeptosOptions};
use leptos_axum::{generate_route_list, LeptosRoutes};
use serde::Deserialize;
use std::net::SocketAddr;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;

/// All routes of the server.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/ws", get(ws_upgrade))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .route("/join", get(join_redirect))
        .merge(crate::server::api::routes())
        .merge(crate::server::accounts::http::routes())
        .merge(crate::server::accounts::forms::routes())
        .merge(crate::server::rooms::http::routes())
        .merge(crate::server::rooms::members::routes())
        .merge(crate::server::moderation::http::routes())
        .merge(crate::server::admin::http::routes())
        .merge(crate::server::rooms::forms::routes())
        .with_state(state.clone())
        .merge(pages(&state))
        .layer(axum::middleware::from_fn(
            crate::server::accounts::http::cookie_origin_guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.allowed_hosts.clone(),
            check_host,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.embed_origins.clone(),
            frame_options,
        ))
        .layer(TraceLayer::new_for_http())
}

/// The pages (server-rendered, then hydrated), their server functions, and the static
/// files. A router of its own, whose state is only the site settings: the one server value
/// its Leptos context gets is [`PageReads`](crate::server::state::PageReads).
fn pages(state: &AppState) -> Router {
    let options = state.leptos_options.clone();
    let reads = state.page_reads();
    Router::new()
        .leptos_routes_with_context(
            &options,
            generate_route_list(App),
            move || provide_context(reads.clone()),
            {
                let options = options.clone();
                move || shell(options.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler::<LeptosOptions, _>(
            shell,
        ))
        // Server functions read their bodies themselves: bound them here.
        .layer(RequestBodyLimitLayer::new(state.body_limits.max_bytes))
        .layer(RequestBodyTimeoutLayer::new(state.body_limits.timeout))
        .with_state(options)
}

/// Refuses a request addressed to a `Host` this server does not answer to (403): the
/// defence against DNS rebinding, before any route runs.
async fn check_host(
    State(hosts): State<std::sync::Arc<crate::server::origin::AllowedHosts>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let host = request.headers().get(HOST).and_then(|v| v.to_str().ok());
    if hosts.allows(host) {
        return next.run(request).await;
    }
    static LOGGED: Throttle = Throttle::new();
    if let Some(skipped) = LOGGED.allow() {
        let host = host.map(|h| quote(h, QUOTE_CHARS));
        tracing::info!(?host, skipped, "request for a host not served here refused");
    }
    (
        StatusCode::FORBIDDEN,
        "this server does not answer to that host name",
    )
        .into_response()
}

/// `X-Frame-Options: DENY` for browsers that predate CSP's `frame-ancestors`, on every
/// response but the embeddable room (`/embed/{room}`) once `--embed-origins` names who
/// may frame it: that page's CSP lists them (there is no `X-Frame-Options` value for a
/// list of origins, and modern browsers obey the CSP).
async fn frame_options(
    State(embed_origins): State<std::sync::Arc<[String]>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let embeddable = !embed_origins.is_empty() && request.uri().path().starts_with("/embed/");
    let mut response = next.run(request).await;
    if !embeddable {
        response
            .headers_mut()
            .insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}

/// `GET /ws`: checks the `Origin` (403) and the per-address limit (429), then upgrades.
async fn ws_upgrade(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(options): Query<SocketOptions>,
    headers: HeaderMap,
) -> Response {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    if !origin_allowed(text(ORIGIN), text(HOST), &state.allowed_origins) {
        static LOGGED: Throttle = Throttle::new();
        if let Some(skipped) = LOGGED.allow() {
            let origin = text(ORIGIN).map(|o| quote(o, QUOTE_CHARS));
            tracing::info!(%peer, ?origin, skipped, "cross-origin upgrade refused");
        }
        return (
            StatusCode::FORBIDDEN,
            "this origin may not open a socket here",
        )
            .into_response();
    }
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let client = state.trusted_proxies.client(peer.ip(), &forwarded);
    let Some(permit) = state.conn_limit.acquire(limit_key(client)) else {
        static LOGGED: Throttle = Throttle::new();
        if let Some(skipped) = LOGGED.allow() {
            tracing::info!(%peer, %client, skipped, "per-address connection limit reached");
        }
        return (
            StatusCode::TOO_MANY_REQUESTS,
            "too many open connections from this address",
        )
            .into_response();
    };
    let cookie_counts = options.cookie.as_deref() != Some("ignore");
    let admitted = match admitted(&state, &headers, cookie_counts).await {
        Ok(a) => a,
        Err(refusal) => return refusal,
    };
    ws.on_upgrade(MAX_FRAME_BYTES, move |(sink, stream)| {
        session::serve(
            sink,
            stream,
            state.hub,
            state.session,
            state.shutdown,
            Upgraded {
                peer,
                permit,
                admitted,
            },
        )
    })
}

/// `/ws?cookie=ignore`: the socket is not signed in by the site's session cookie even if
/// the browser sends one (an embedded room on a site that shares Chorus's, whose identity
/// comes from the application's tokens; docs/protocol.md).
#[derive(Deserialize, Default)]
struct SocketOptions {
    cookie: Option<String>,
}

/// The identity a site session cookie gives the socket. An unknown or expired cookie
/// makes the connection a guest (never an error); a store that cannot answer is 503, so
/// a signed-in user is not silently made a guest.
async fn admitted(
    state: &AppState,
    headers: &HeaderMap,
    cookie_counts: bool,
) -> Result<Option<Admitted>, Response> {
    let cookie = crate::server::accounts::http::session_cookie(headers).filter(|_| cookie_counts);
    let (Some(accounts), Some(id)) = (state.accounts.as_ref(), cookie) else {
        return Ok(None);
    };
    match accounts.identity(&id).await {
        Ok(None) => Ok(None),
        Ok(Some(identity)) => {
            let hash = crate::server::identity::SessionHash::of(&id);
            Ok(Some(Admitted {
                identity,
                revocation: state.hub.revocations().watch(hash),
            }))
        }
        Err(e) => {
            tracing::warn!(error = %e.report(), "cannot read a session at an upgrade");
            Err((
                StatusCode::SERVICE_UNAVAILABLE,
                "sessions are unavailable; retry",
            )
                .into_response())
        }
    }
}

/// `GET /readyz`: 200 when this server should get traffic — not shutting down, and the
/// store answers; 503 with the reason otherwise (a load balancer then sends users elsewhere).
async fn readyz(State(state): State<AppState>) -> Response {
    if state.shutdown.is_triggered() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
    }
    match state.hub.ready().await {
        Ok(()) => "ready".into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.report().to_string()).into_response(),
    }
}

/// `GET /metrics`: Prometheus text format.
async fn metrics_text(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        crate::server::metrics::render(state.hub.room_counts().len()),
    )
        .into_response()
}

#[derive(Deserialize)]
struct JoinForm {
    room: String,
}

/// The lobby's form target when JavaScript is off: `/join?room=x` → `/r/x`.
async fn join_redirect(Query(form): Query<JoinForm>) -> Response {
    match RoomName::parse(form.room.trim()) {
        Ok(room) => Redirect::to(&format!("/r/{room}")).into_response(),
        Err(_) => (
            StatusCode::BAD_REQUEST,
            "That room name can only use letters, digits, - and _ (up to 64 characters).",
        )
            .into_response(),
    }
}
