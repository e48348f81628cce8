//! The bare Rust relay: the practical limit of a WebSocket relay on this machine.
//!
//! One `broadcast` channel, every text frame a client sends goes to every client as the
//! same shared bytes; no JSON, no rooms, no store, no acks. Each connection's writer sends
//! what is ready and flushes once per wake-up, as any sensible relay does. It is what the
//! seed's server would be in Rust, so Chorus's distance from it is the price of its
//! guarantees.

use futures::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// Frames a slow connection may fall behind before it misses some (counted as loss).
const CHANNEL: usize = 4096;

/// Serves on `addr` until the process is killed; prints `listening on ADDR` once bound.
pub async fn serve(addr: &str) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    println!("listening on {}", listener.local_addr()?);
    let (tx, _) = broadcast::channel::<Utf8Bytes>(CHANNEL);
    loop {
        let (tcp, _) = listener.accept().await?;
        let tx = tx.clone();
        tokio::spawn(connection(tcp, tx));
    }
}

async fn connection(tcp: TcpStream, tx: broadcast::Sender<Utf8Bytes>) {
    let _ = tcp.set_nodelay(true);
    // tungstenite's default read buffer is 128 KiB, zeroed before every read: a relay
    // with thousands of sockets sizes it down, as Chorus does (the same 1 KiB).
    let config = WebSocketConfig::default().read_buffer_size(1024);
    let Ok(ws) = tokio_tungstenite::accept_async_with_config(tcp, Some(config)).await else {
        return;
    };
    let (mut sink, mut stream) = ws.split();
    let mut rx = tx.subscribe();
    let writer = async move {
        loop {
            let frame = match rx.recv().await {
                Ok(f) => f,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            };
            if sink.feed(Message::Text(frame)).await.is_err() {
                return;
            }
            while let Ok(frame) = rx.try_recv() {
                if sink.feed(Message::Text(frame)).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    };
    let reader = async move {
        while let Some(Ok(msg)) = stream.next().await {
            if let Message::Text(text) = msg {
                let _ = tx.send(text);
            }
        }
    };
    tokio::select! {
        _ = writer => {},
        _ = reader => {},
    }
}
