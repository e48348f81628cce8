//! One node on its own: history in the embedded store, broadcast and presence in the hub.

use super::{ClusterEvent, Engine, NodePresence};
use crate::protocol::RoomName;
use crate::server::store::{Store, StoreError};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// The single-node engine over any [`Store`]. It has no other nodes to hear from, so its
/// event channel never carries anything.
pub struct LocalEngine {
    store: Arc<dyn Store>,
}

impl LocalEngine {
    /// The engine and its (silent) event channel.
    pub fn new(store: Arc<dyn Store>) -> (Arc<Self>, mpsc::Receiver<ClusterEvent>) {
        let (_tx, rx) = mpsc::channel(1);
        (Arc::new(Self { store }), rx)
    }
}

#[async_trait]
impl Engine for LocalEngine {
    fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    fn node_id(&self) -> &str {
        "local"
    }

    fn heartbeat(&self) -> Option<Duration> {
        None
    }

    async fn subscribe(&self, _room: &RoomName) -> Result<Vec<NodePresence>, StoreError> {
        Ok(Vec::new())
    }

    fn unsubscribe(&self, _room: &RoomName) {}

    fn announce(&self, _: &RoomName, _: super::presence::Announcement, _: &super::NameCounts) {}

    async fn presence(&self, _room: &RoomName) -> Result<Vec<NodePresence>, StoreError> {
        Ok(Vec::new())
    }
}
