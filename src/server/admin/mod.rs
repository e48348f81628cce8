//! The operator's view of the whole server (`/admin` and `/api/admin/...`): live numbers
//! of every node, the busiest rooms, a room's connections, and the operator's actions —
//! disconnect a connection, ban a user from every room, delete a room's history.
//!
//! Who is an operator: the accounts named in `--admins` (`CHORUS_ADMINS`), signed in with
//! the site's cookie (never a token: an application may name its tokens' users anything),
//! and, over the HTTP API, the API key. Everyone else finds nothing there (404).
//!
//! - this file: [`Operator`], what the pages and handlers ask, and the actions;
//! - [`stats`]: a node's numbers, sampled from the `/metrics` counters and shared;
//! - [`http`]: the JSON API and the page's forms.

pub mod http;
pub mod stats;

use crate::protocol::{RoomName, UserId, UserName};
use crate::server::engine::{AdminCommand, RoomNote};
use crate::server::hub::Hub;
use crate::server::moderation::{Act, ActKind, Until};
use crate::server::store::StoreError;
use std::sync::Arc;

/// The accounts that may use `/admin`, by name (compared regardless of case).
#[derive(Clone, Debug, Default)]
pub struct Admins(Vec<String>);

impl Admins {
    /// From `--admins`.
    pub fn new(names: &[UserName]) -> Self {
        Self(names.iter().map(|n| n.as_str().to_lowercase()).collect())
    }

    fn contains(&self, name: &UserName) -> bool {
        let key = name.as_str().to_lowercase();
        self.0.contains(&key)
    }
}

/// Every node's numbers and the busiest rooms over all of them.
#[derive(Clone, Debug)]
pub struct Overview {
    /// Each node (this one first), fresh ones only.
    pub nodes: Vec<stats::NodeNumbers>,
    /// The busiest rooms, summed over nodes.
    pub busiest: Vec<(RoomName, u32)>,
}

/// What the operator's pages and API read and do.
pub struct Operator {
    admins: Admins,
    sampler: Arc<stats::Sampler>,
    hub: Hub,
    accounts: Option<Arc<crate::server::accounts::service::Accounts>>,
    rooms: Arc<crate::server::rooms::access::RoomAccess>,
}

impl Operator {
    /// Over this node's hub; starts sharing its numbers with the other nodes.
    pub fn new(
        admins: Admins,
        hub: Hub,
        accounts: Option<Arc<crate::server::accounts::service::Accounts>>,
        rooms: Arc<crate::server::rooms::access::RoomAccess>,
    ) -> Arc<Self> {
        let sampler = stats::Sampler::new(hub.node_id().to_owned(), hub.clone());
        tokio::spawn(stats::share_periodically(Arc::downgrade(&sampler)));
        Arc::new(Self {
            admins,
            sampler,
            hub,
            accounts,
            rooms,
        })
    }

    /// The signed-in operator (by the session cookie), if the request has one.
    pub async fn signed_in(&self, headers: &axum::http::HeaderMap) -> Option<UserId> {
        let accounts = self.accounts.as_ref()?;
        let id = crate::server::accounts::http::session_cookie(headers)?;
        let identity = accounts.identity(&id).await.ok().flatten()?;
        self.admins
            .contains(&identity.name)
            .then_some(identity.user)
    }

    /// Every node's numbers (this one sampled now) and the busiest rooms.
    pub async fn overview(&self) -> Overview {
        let mine = self.sampler.sample();
        let mut nodes = vec![mine.clone()];
        let fresh_after =
            crate::server::store::now_ms().saturating_sub(stats::STALE_AFTER.as_millis() as u64);
        for json in self.hub.engine().numbers().await.unwrap_or_default() {
            if let Ok(n) = serde_json::from_str::<stats::NodeNumbers>(&json) {
                if n.node != mine.node && n.at_ms >= fresh_after {
                    nodes.push(n);
                }
            }
        }
        nodes[1..].sort_by(|a, b| a.node.cmp(&b.node));
        let busiest = stats::busiest(&nodes, 20);
        Overview { nodes, busiest }
    }

    /// `room`'s connections on every node that answers within a short wait (this one
    /// first), oldest first on each. A node whose answer is unreadable is left out.
    pub async fn room_connections(&self, room: &RoomName) -> Vec<crate::server::hub::RoomConn> {
        let mut all = self.hub.room_connections(room);
        let others = match self.hub.engine().ask_room(room).await {
            Ok(answers) => answers,
            Err(e) => {
                tracing::warn!(error = %e.report(), "cannot ask the other nodes for a room's connections");
                Vec::new()
            }
        };
        let mut theirs: Vec<crate::server::hub::RoomConn> = others
            .iter()
            .filter_map(|json| serde_json::from_str::<Vec<crate::server::hub::RoomConn>>(json).ok())
            .flatten()
            .collect();
        theirs.sort_by(|a, b| (&a.node, a.since, a.id).cmp(&(&b.node, b.since, b.id)));
        all.extend(theirs);
        all
    }

    /// This node's id (connections are named by node and id).
    pub fn node(&self) -> &str {
        self.hub.node_id()
    }

    /// Closes connection `conn` of `node` (it reconnects and resumes): here at once,
    /// elsewhere through the engine. False if it is this node's and not open.
    pub fn disconnect(&self, node: &str, conn: u64) -> bool {
        if node == self.hub.node_id() {
            return self.hub.disconnect_here(conn);
        }
        self.hub.engine().admin(&AdminCommand::Disconnect {
            node: node.to_owned(),
            conn,
        });
        true
    }

    /// Bans `user` from every room (until `until`, or lifts it with `None`), and closes
    /// their connections on every node (reconnected, every join is `forbidden`).
    pub async fn ban_everywhere(
        &self,
        user: &UserId,
        until: Option<Until>,
    ) -> Result<(), StoreError> {
        self.rooms.moderation().set_server_ban(user, until).await?;
        if until.is_some() {
            self.hub.disconnect_user_here(user);
            self.hub
                .engine()
                .admin(&AdminCommand::DisconnectUser { user: user.clone() });
        }
        Ok(())
    }

    /// Deletes `room`'s whole history (a new epoch: its members reconnect and find it
    /// empty), logged in its audit log as `by`.
    pub async fn purge(&self, room: &RoomName, by: &str) -> Result<(), StoreError> {
        let meta = self.hub.purge(room).await?;
        self.hub.notify(room, RoomNote::Reset { epoch: meta.epoch });
        let act = Act {
            act: ActKind::Purge,
            by: by.to_owned(),
            target: None,
            seq: None,
            ts: crate::server::store::now_ms(),
            detail: None,
        };
        if let Err(e) = self.rooms.moderation().record(room, &act).await {
            tracing::error!(error = %e.report(), room = %room, "audit record lost");
        }
        Ok(())
    }
}
