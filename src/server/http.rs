//! HTTP routes: the WebSocket upgrade, the pages (SSR through leptos_axum), static files,
//! and small endpoints.

use crate::protocol::{RoomName, MAX_FRAME_BYTES};
use crate::server::hub::Hub;
use crate::server::session::{self, SessionConfig};
use crate::server::shutdown::Shutdown;
use crate::ui::{shell, App};
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, FromRef, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use leptos::prelude::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::Arc;
use tower_http::trace::TraceLayer;

/// What every handler may need. `LeptosOptions` is taken from it by leptos_axum.
#[derive(Clone, FromRef)]
pub struct AppState {
    /// Site settings for SSR and static files.
    pub leptos_options: LeptosOptions,
    /// Rooms and fan-out.
    pub hub: Hub,
    /// Per-connection limits.
    pub session: Arc<SessionConfig>,
    /// Tells sessions to close when the server stops.
    pub shutdown: Shutdown,
}

/// All routes of the server.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    Router::new()
        .route("/ws", get(ws_upgrade))
        .route("/healthz", get(|| async { "ok" }))
        .route("/join", get(join_redirect))
        .merge(crate::server::api::routes())
        .leptos_routes(&state, routes, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn ws_upgrade(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Response {
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| {
            session::run(socket, state.hub, state.session, peer, state.shutdown)
        })
}

#[derive(Deserialize)]
struct JoinForm {
    room: String,
}

/// The lobby's form target when JavaScript is off: `/join?room=x` → `/r/x`.
async fn join_redirect(Query(form): Query<JoinForm>) -> Response {
    match RoomName::parse(form.room.trim()) {
        Ok(room) => Redirect::to(&format!("/r/{room}")).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}
