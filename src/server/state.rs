//! What the server's handlers share, and the narrow part of it the pages may see.
//!
//! [`AppState`] is the router's state: every HTTP handler and the `/ws` upgrade take what
//! they need from it. The UI's server functions never see it: server rendering runs with
//! [`PageReads`] in its context instead, which can read a page of history and the busiest
//! rooms, and who is signed in, and nothing else (no API key, no connection limiter, no
//! origins, no publishing).

use crate::protocol::{MessagesPage, RoomName};
use crate::server::conn_limit::ConnLimit;
use crate::server::hub::Hub;
use crate::server::session::SessionConfig;
use crate::server::shutdown::Shutdown;
use crate::server::store::{ByteBudget, StoreError};
use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use std::sync::Arc;

/// What every handler may need.
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
    /// Origins allowed to open sockets besides the page's own.
    pub allowed_origins: Arc<Vec<String>>,
    /// `Host` names requests may be addressed to.
    pub allowed_hosts: Arc<crate::server::origin::AllowedHosts>,
    /// Open sockets per client address.
    pub conn_limit: ConnLimit,
    /// Who the client is behind a proxy.
    pub trusted_proxies: Arc<crate::server::client_addr::TrustedProxies>,
    /// The key for `POST /api/rooms/{room}/messages`; publishing over HTTP is off without.
    pub api_key: Option<Arc<str>>,
    /// How much of a request body is read, and for how long.
    pub body_limits: BodyLimits,
    /// The site's accounts (`None` where the engine has no account store yet).
    pub accounts: Option<Arc<crate::server::accounts::service::Accounts>>,
    /// Whether the session cookie is marked `Secure`.
    pub cookie_secure: bool,
    /// Applications that may frame `/embed/{room}` (`--embed-origins`).
    pub embed_origins: Arc<[String]>,
    /// The operator's view (`/admin`).
    pub operator: Arc<crate::server::admin::Operator>,
}

/// The most of a request body the server reads (`/api` and the pages' server functions),
/// and the time it has to arrive.
#[derive(Clone, Copy, Debug)]
pub struct BodyLimits {
    /// Largest body, in bytes.
    pub max_bytes: usize,
    /// Time for the whole body to arrive.
    pub timeout: std::time::Duration,
}

impl AppState {
    /// The read-only view the pages get.
    pub fn page_reads(&self) -> PageReads {
        PageReads {
            hub: self.hub.clone(),
            accounts: self.accounts.clone(),
            rooms: self.session.rooms.clone(),
            embed_origins: self.embed_origins.clone(),
            operator: self.operator.clone(),
        }
    }
}

/// The most bytes of message bodies a server-rendered room page carries.
pub const FIRST_PAINT_BYTES: usize = 32 * 1024;

/// What the pages' server functions may read (provided as Leptos context while the
/// server renders a page or answers a server function): the same reads anyone gets from
/// `GET /api/rooms/{room}/messages` and the lobby, nothing that writes or that is secret.
#[derive(Clone)]
pub struct PageReads {
    hub: Hub,
    accounts: Option<Arc<crate::server::accounts::service::Accounts>>,
    rooms: Arc<crate::server::rooms::access::RoomAccess>,
    embed_origins: Arc<[String]>,
    operator: Arc<crate::server::admin::Operator>,
}

impl PageReads {
    /// The origins that may frame `/embed/{room}` and hand it tokens (public: they are
    /// in the page's CSP anyway).
    pub fn embed_origins(&self) -> Vec<String> {
        self.embed_origins.to_vec()
    }

    /// The newest `limit` messages of `room`, at most [`FIRST_PAINT_BYTES`] of bodies
    /// (older ones are left to "load older"), with its epoch and newest seq to go live
    /// from. A failure is logged here with its cause; the page shows the room without
    /// them and its socket loads them instead.
    pub async fn newest(&self, room: &RoomName, limit: usize) -> Result<MessagesPage, StoreError> {
        let mut page = self.hub.page(room, None, limit).await.inspect_err(|e| {
            tracing::warn!(error = %e.report(), room = %room.as_str(), "cannot read a room's first page");
        })?;
        // A body is written twice into the page (escaped HTML, and the hydration data),
        // and `<` grows to 4 and 6 bytes there: bound what one request can make us send.
        let mut budget = ByteBudget::new(FIRST_PAINT_BYTES);
        let keep = page
            .messages
            .iter()
            .rev()
            .take_while(|m| budget.admit(m.body_len()))
            .count();
        if keep < page.messages.len() {
            page.messages.drain(..page.messages.len() - keep);
            page.has_more = true;
        }
        Ok(page)
    }

    /// Whether the request's signed-in user (or a guest) may see `room`: a private room
    /// is "not found" to strangers, on its page as over the API. A store failure says no.
    pub async fn may_see(&self, headers: &axum::http::HeaderMap, room: &RoomName) -> bool {
        let who = self.identity(headers).await;
        match self.rooms.standing(room, who.as_ref()).await {
            Ok(s) => s.may_enter(),
            Err(e) => {
                tracing::warn!(error = %e.report(), "cannot read a room's settings for a page");
                false
            }
        }
    }

    /// The room's visibility and the request's user's role in it, for the room page (a
    /// lock, the Invite button); `None` if the store cannot say.
    pub async fn standing(
        &self,
        headers: &axum::http::HeaderMap,
        room: &RoomName,
    ) -> Option<(
        crate::server::rooms::Visibility,
        Option<crate::server::rooms::Role>,
    )> {
        let who = self.identity(headers).await;
        let s = self.rooms.standing(room, who.as_ref()).await.ok()?;
        Some((s.visibility(), s.role))
    }

    /// `room`'s roster, if the request's user may manage it (its owner or a moderator);
    /// `None` otherwise, or if the store cannot say.
    pub async fn roster(
        &self,
        headers: &axum::http::HeaderMap,
        room: &RoomName,
    ) -> Option<Vec<crate::server::rooms::members::Entry>> {
        let who = self.identity(headers).await;
        let s = self.rooms.standing(room, who.as_ref()).await.ok()?;
        if !s.may_manage() || s.settings.is_none() {
            return None;
        }
        crate::server::rooms::members::roster(&self.rooms, self.accounts.as_deref(), room)
            .await
            .inspect_err(|e| tracing::warn!(error = %e.report(), "cannot read a room's members"))
            .ok()
    }

    /// `room`'s slow mode and audit log (with the names of the accounts in it), if the
    /// request's user may moderate it; `None` otherwise, or if the store cannot say.
    pub async fn moderation_log(
        &self,
        headers: &axum::http::HeaderMap,
        room: &RoomName,
    ) -> Option<(
        u32,
        Vec<crate::server::moderation::Act>,
        std::collections::HashMap<crate::protocol::UserId, crate::protocol::UserName>,
    )> {
        let who = self.identity(headers).await;
        let s = self.rooms.standing(room, who.as_ref()).await.ok()?;
        if !s.may_moderate() {
            return None;
        }
        let m = self.rooms.moderation();
        let (slow, acts) = (m.slow_mode(room).await.ok()?, m.acts(room).await.ok()?);
        let mut users: Vec<crate::protocol::UserId> = acts
            .iter()
            .flat_map(|a| [crate::protocol::UserId::parse(&a.by).ok(), a.target.clone()])
            .flatten()
            .collect();
        users.sort();
        users.dedup();
        let names = match self.accounts.as_deref() {
            Some(a) => a.names(&users).await.unwrap_or_default(),
            None => Default::default(),
        };
        Some((slow, acts, names))
    }

    /// The operator's page, if the request's user is an operator (`--admins`): every
    /// node's numbers, the busiest rooms, and `room`'s connections on this node.
    pub async fn admin_page(
        &self,
        headers: &axum::http::HeaderMap,
        room: Option<String>,
    ) -> Option<crate::ui::admin::AdminPage> {
        use crate::ui::admin::{AdminPage, ConnRow, NodeRow};
        self.operator.signed_in(headers).await?;
        let o = self.operator.overview().await;
        let room = match room.and_then(|r| RoomName::parse(&r).ok()) {
            Some(r) => {
                let conns = self
                    .operator
                    .room_connections(&r)
                    .await
                    .into_iter()
                    .map(|c| ConnRow {
                        node: c.node,
                        id: c.id,
                        // A guest reading without a name.
                        name: c.name.map_or_else(|| "(reading)".into(), |n| n.to_string()),
                        user: c.user.map(|u| u.to_string()),
                        address: c.address.to_string(),
                        since: c.since,
                    })
                    .collect();
                Some((r.to_string(), conns))
            }
            None => None,
        };
        Some(AdminPage {
            nodes: o
                .nodes
                .into_iter()
                .map(|n| NodeRow {
                    node: n.node,
                    connections: n.connections,
                    rooms: n.rooms,
                    in_per_s: n.messages_in_per_s,
                    out_per_s: n.messages_out_per_s,
                    commit_ms: n.commit_ms,
                })
                .collect(),
            busiest: o
                .busiest
                .into_iter()
                .map(|(r, n)| (r.to_string(), n))
                .collect(),
            room,
        })
    }

    /// The room an unexpired invite code is for (for `/i/{code}`, before accepting).
    pub async fn invite_room(&self, code: &str) -> Option<RoomName> {
        if code.is_empty() || code.len() > 64 {
            return None;
        }
        let hash = crate::server::rooms::invites::code_hash(code);
        self.rooms
            .directory()
            .invite(hash, crate::server::store::now_ms())
            .await
            .ok()
            .flatten()
    }

    /// The identity the request's session cookie gives (`None`: a guest, or a store
    /// that cannot say, which is logged).
    async fn identity(
        &self,
        headers: &axum::http::HeaderMap,
    ) -> Option<crate::server::identity::Identity> {
        let accounts = self.accounts.as_ref()?;
        let id = crate::server::accounts::http::session_cookie(headers)?;
        accounts
            .identity(&id)
            .await
            .inspect_err(
                |e| tracing::warn!(error = %e.report(), "cannot read a session for a page"),
            )
            .ok()
            .flatten()
    }

    /// Rooms with people in them on this node and how many connections each has,
    /// busiest first, at most `max`, of those the request's user may see: private rooms
    /// only to their members.
    pub async fn busiest_rooms_for(
        &self,
        headers: &axum::http::HeaderMap,
        max: usize,
    ) -> Vec<(RoomName, u32)> {
        let who = self.identity(headers).await;
        let mut out = Vec::new();
        for (room, n) in self.hub.room_counts() {
            if out.len() >= max {
                break;
            }
            if self
                .rooms
                .standing(&room, who.as_ref())
                .await
                .is_ok_and(|s| s.may_enter())
            {
                out.push((room, n));
            }
        }
        out
    }

    /// The rooms the request's signed-in user owns or is a member of (none for a guest,
    /// or when the store cannot say), at most `max`.
    pub async fn rooms_of_reader(
        &self,
        headers: &axum::http::HeaderMap,
        max: usize,
    ) -> Vec<RoomName> {
        let Some(who) = self.identity(headers).await else {
            return Vec::new();
        };
        match self.rooms.directory().rooms_of(&who.user, max).await {
            Ok(rooms) => rooms,
            Err(e) => {
                tracing::warn!(error = %e.report(), "cannot list a user's rooms for a page");
                Vec::new()
            }
        }
    }

    /// Who the request's session cookie says is signed in (its account's id and name),
    /// for the header and the room's composer. A store failure reads as signed out.
    pub async fn who(
        &self,
        headers: &axum::http::HeaderMap,
    ) -> Option<(crate::protocol::UserId, crate::protocol::UserName)> {
        self.identity(headers).await.map(|i| (i.user, i.name))
    }
}
