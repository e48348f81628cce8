//! Every open connection of this node, for the operator's view (`/admin`): where it
//! comes from, since when, who it is, and a way to close it.

use super::{ConnHandle, ConnId, Hub, Outbound};
use crate::protocol::{RoomName, UserId, UserName};
use crate::sync::lock;
use std::net::IpAddr;

/// What the operator sees of a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnInfo {
    /// Its id on this node.
    pub id: ConnId,
    /// The client's address.
    pub addr: IpAddr,
    /// Its user, once it has an identity.
    pub user: Option<UserId>,
    /// When it opened (ms since the Unix epoch).
    pub since_ms: u64,
}

/// A connection in one room, as the operator's room view lists it; the same JSON in
/// `/api/admin/rooms/{room}/connections` and between nodes (a cluster's list is every
/// node's answer merged).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RoomConn {
    /// The node holding it (connections are named by node and id).
    pub node: String,
    /// Its id on that node.
    pub id: ConnId,
    /// How it is shown in the room; `None`: a guest that only reads.
    pub name: Option<UserName>,
    /// Its user, once it has an identity.
    pub user: Option<UserId>,
    /// The client's address.
    pub address: IpAddr,
    /// When it opened (ms since the Unix epoch).
    pub since: u64,
}

/// A registered connection: its info and its queue (to close it).
pub(super) struct Registered {
    pub(super) info: ConnInfo,
    pub(super) handle: ConnHandle,
}

/// Removes the connection from the registry when the session ends.
pub struct Registration {
    hub: Hub,
    id: ConnId,
}

impl Drop for Registration {
    fn drop(&mut self) {
        lock(&self.hub.inner.conns).remove(&self.id);
    }
}

impl Hub {
    /// Lists `conn` (from `addr`, as `user`) until the returned guard is dropped.
    pub fn register(&self, conn: &ConnHandle, addr: IpAddr, user: Option<UserId>) -> Registration {
        let info = ConnInfo {
            id: conn.id,
            addr,
            user,
            since_ms: crate::server::store::now_ms(),
        };
        lock(&self.inner.conns).insert(
            conn.id,
            Registered {
                info,
                handle: conn.clone(),
            },
        );
        Registration {
            hub: self.clone(),
            id: conn.id,
        }
    }

    /// The connection authenticated as `user`.
    pub fn set_user(&self, conn: ConnId, user: &UserId) {
        if let Some(r) = lock(&self.inner.conns).get_mut(&conn) {
            r.info.user = Some(user.clone());
        }
    }

    /// Open connections on this node.
    pub fn connection_count(&self) -> usize {
        lock(&self.inner.conns).len()
    }

    /// Closes connection `id` of this node (1012: it reconnects and resumes). False if it
    /// is not open here.
    pub fn disconnect_here(&self, id: ConnId) -> bool {
        match lock(&self.inner.conns).get(&id) {
            Some(r) => {
                r.handle.deliver(Outbound::Disconnect);
                true
            }
            None => false,
        }
    }

    /// Closes every connection of `user` on this node; how many.
    pub fn disconnect_user_here(&self, user: &UserId) -> usize {
        let conns = lock(&self.inner.conns);
        let mine = conns
            .values()
            .filter(|r| r.info.user.as_ref() == Some(user));
        let mut n = 0;
        for r in mine {
            r.handle.deliver(Outbound::Disconnect);
            n += 1;
        }
        n
    }

    /// The connections in `room` on this node, oldest first.
    pub fn room_connections(&self, room: &RoomName) -> Vec<RoomConn> {
        let Some(entry) = self.existing(room) else {
            return Vec::new();
        };
        let members: Vec<(ConnId, Option<UserName>)> = lock(&entry.state)
            .members
            .iter()
            .map(|(id, m)| (*id, m.name.clone()))
            .collect();
        let conns = lock(&self.inner.conns);
        let mut out: Vec<RoomConn> = members
            .into_iter()
            .filter_map(|(id, name)| {
                conns.get(&id).map(|r| RoomConn {
                    node: self.node_id().to_owned(),
                    id,
                    name,
                    user: r.info.user.clone(),
                    address: r.info.addr,
                    since: r.info.since_ms,
                })
            })
            .collect();
        out.sort_by_key(|c| (c.since, c.id));
        out
    }
}
