//! Shutdown as an object: one trigger, any number of listeners.
//!
//! axum's graceful shutdown waits for open connections, and a WebSocket stays open until
//! someone closes it, so every session listens here and closes its socket with 1012
//! (service restart): clients then reconnect instead of waiting for a dead server.

use tokio::sync::watch;

/// Fires shutdown for every [`Shutdown`] made from it.
#[derive(Debug)]
pub struct ShutdownTrigger(watch::Sender<bool>);

/// Resolves when shutdown has been triggered (or the trigger is gone).
#[derive(Clone, Debug)]
pub struct Shutdown(watch::Receiver<bool>);

/// A connected trigger and listener.
pub fn channel() -> (ShutdownTrigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (ShutdownTrigger(tx), Shutdown(rx))
}

impl ShutdownTrigger {
    /// Tells every listener to stop.
    pub fn trigger(&self) {
        self.0.send_replace(true);
    }
}

impl Shutdown {
    /// Whether shutdown has begun.
    pub fn is_triggered(&self) -> bool {
        *self.0.borrow()
    }

    /// Waits for the trigger. A dropped trigger counts as triggered, so nothing waits on a
    /// server that is gone.
    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}
