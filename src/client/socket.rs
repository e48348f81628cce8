//! The browser's WebSocket for one room (feature `hydrate` only).
//!
//! One [`Driver`] per open room, kept in a thread-local table (the browser is single
//! threaded and `web_sys` handles are not `Send`, so they cannot live in signals). The
//! driver joins with `since` + `epoch` from what it already shows, so a reconnect replays
//! exactly what was missed; when the server answers `recovered: false` it reloads the view
//! from `history`. Unacked messages are re-sent with their original `client_id`, so the
//! server stores each once. Reconnects back off exponentially with jitter, capped.

use super::{ConnStatus, RoomView};
use crate::protocol::{
    Body, ClientFrame, ClientId, Epoch, ErrorCode, HistoryLimit, RoomName, ServerFrame, UserName,
};
use leptos::prelude::*;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

/// First reconnect delay, doubled per failed attempt up to [`MAX_BACKOFF_MS`].
const BASE_BACKOFF_MS: f64 = 500.0;
/// Longest wait between reconnect attempts.
const MAX_BACKOFF_MS: f64 = 15_000.0;

struct Driver {
    room: RoomName,
    name: UserName,
    view: RoomView,
    ws: Option<WebSocket>,
    epoch: Option<Epoch>,
    attempt: u32,
    closed: bool,
    /// After `recovered: false`, the next `history` answer rebuilds the list.
    reloading: bool,
    /// Handlers of the current socket; dropping them with it would invalidate them.
    handlers: Vec<Closure<dyn FnMut(JsValue)>>,
}

thread_local! {
    static DRIVERS: RefCell<HashMap<u64, Rc<RefCell<Driver>>>> = RefCell::new(HashMap::new());
    static NEXT_ID: RefCell<u64> = const { RefCell::new(1) };
}

fn driver(id: u64) -> Option<Rc<RefCell<Driver>>> {
    DRIVERS.with(|d| d.borrow().get(&id).cloned())
}

pub(super) fn open(room: RoomName, name: UserName, view: RoomView) -> u64 {
    let id = NEXT_ID.with(|n| {
        let mut n = n.borrow_mut();
        *n += 1;
        *n
    });
    let d = Rc::new(RefCell::new(Driver {
        room,
        name,
        view,
        ws: None,
        epoch: None,
        attempt: 0,
        closed: false,
        reloading: false,
        handlers: Vec::new(),
    }));
    DRIVERS.with(|m| m.borrow_mut().insert(id, d));
    connect(id);
    id
}

pub(super) fn send(id: u64, body: Body) {
    let Some(d) = driver(id) else { return };
    let d = d.borrow();
    let client_id = new_client_id();
    d.view.timeline.update(|t| {
        t.add_pending(
            client_id.to_string(),
            d.name.to_string(),
            body.to_string(),
            js_sys::Date::now() as u64,
        )
    });
    d.send(&ClientFrame::Publish {
        room: d.room.clone(),
        body,
        client_id,
    });
}

pub(super) fn load_older(id: u64) {
    let Some(d) = driver(id) else { return };
    let d = d.borrow();
    let before = d.view.timeline.with_untracked(|t| t.first_seq());
    d.send(&ClientFrame::History {
        room: d.room.clone(),
        before,
        limit: HistoryLimit::default(),
    });
}

pub(super) fn close(id: u64) {
    if let Some(d) = DRIVERS.with(|m| m.borrow_mut().remove(&id)) {
        let mut d = d.borrow_mut();
        d.closed = true;
        if let Some(ws) = d.ws.take() {
            let _ = ws.close();
        }
        d.handlers.clear();
    }
}

fn new_client_id() -> ClientId {
    let r = (js_sys::Math::random() * 1e15) as u64;
    let t = js_sys::Date::now() as u64;
    // Base-36-ish hex of time and randomness: unique per tab in practice, valid charset.
    ClientId::parse(&format!("{t:x}-{r:x}")).unwrap_or_else(|_| unreachable!("hex is valid"))
}

fn socket_url() -> Option<String> {
    let loc = web_sys::window()?.location();
    let scheme = if loc.protocol().ok()? == "https:" {
        "wss"
    } else {
        "ws"
    };
    Some(format!("{scheme}://{}/ws", loc.host().ok()?))
}

impl Driver {
    fn send(&self, frame: &ClientFrame) {
        if let Some(ws) = &self.ws {
            if ws.ready_state() == WebSocket::OPEN {
                let _ = ws.send_with_str(&frame.to_json());
            }
        }
    }
}

fn connect(id: u64) {
    let Some(d) = driver(id) else { return };
    let Some(url) = socket_url() else { return };
    let ws = match WebSocket::new(&url) {
        Ok(ws) => ws,
        Err(_) => return schedule_reconnect(id),
    };
    let on_open = Closure::<dyn FnMut(JsValue)>::new(move |_| on_open(id));
    let on_message = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
        if let Some(text) = ev
            .dyn_ref::<MessageEvent>()
            .and_then(|e| e.data().as_string())
        {
            on_text(id, &text);
        }
    });
    let on_close = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
        let _code = ev.dyn_ref::<CloseEvent>().map(|e| e.code());
        on_closed(id);
    });
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    let mut d = d.borrow_mut();
    d.view.status.set(ConnStatus::Connecting);
    d.ws = Some(ws);
    d.handlers = vec![on_open, on_message, on_close];
}

fn on_open(id: u64) {
    let Some(d) = driver(id) else { return };
    let d = d.borrow();
    let since = d.view.timeline.with_untracked(|t| t.last_seq());
    d.send(&ClientFrame::Join {
        room: d.room.clone(),
        name: d.name.clone(),
        since,
        epoch: since.and(d.epoch.clone()),
    });
}

fn on_closed(id: u64) {
    let Some(d) = driver(id) else { return };
    {
        let mut d = d.borrow_mut();
        if d.closed {
            return;
        }
        if let Some(ws) = d.ws.take() {
            ws.set_onopen(None);
            ws.set_onmessage(None);
            ws.set_onclose(None);
        }
    }
    schedule_reconnect(id);
}

fn schedule_reconnect(id: u64) {
    let Some(d) = driver(id) else { return };
    let delay = {
        let mut d = d.borrow_mut();
        let exp = BASE_BACKOFF_MS * 2f64.powi(d.attempt.min(10) as i32);
        let delay = exp.min(MAX_BACKOFF_MS) * (0.5 + js_sys::Math::random() * 0.5);
        d.attempt += 1;
        d.view.status.set(ConnStatus::Reconnecting {
            in_secs: (delay / 1000.0).round() as u32,
        });
        delay
    };
    let retry = Closure::once_into_js(move || connect(id));
    if let Some(w) = web_sys::window() {
        let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(
            retry.unchecked_ref(),
            delay as i32,
        );
    }
}

fn on_text(id: u64, text: &str) {
    let Some(d) = driver(id) else { return };
    let Ok(frame) = serde_json::from_str::<ServerFrame>(text) else {
        return; // A newer server's frame this page does not know: ignore it.
    };
    let mut d = d.borrow_mut();
    let view = d.view;
    match frame {
        ServerFrame::Joined {
            epoch,
            online,
            members,
            recovered,
            ..
        } => {
            d.attempt = 0;
            d.epoch = Some(epoch);
            view.status.set(ConnStatus::Connected);
            view.online.set(online);
            view.members
                .set(members.into_iter().map(String::from).collect());
            view.notice.set(None);
            if !recovered {
                d.reloading = true;
                view.timeline.update(|t| t.forget_confirmed());
                d.send(&ClientFrame::History {
                    room: d.room.clone(),
                    before: None,
                    limit: HistoryLimit::default(),
                });
            }
            drop(d);
            resend_unsent(id);
        }
        ServerFrame::Message(m) => view.timeline.update(|t| t.insert(&m)),
        ServerFrame::History {
            messages, has_more, ..
        } => {
            d.reloading = false;
            view.has_more.set(has_more);
            view.timeline.update(|t| {
                for m in &messages {
                    t.insert(m);
                }
            });
        }
        ServerFrame::Ack { client_id, seq, .. } => {
            view.timeline.update(|t| t.ack(client_id.as_str(), seq))
        }
        ServerFrame::Presence {
            online, members, ..
        } => {
            view.online.set(online);
            view.members
                .set(members.into_iter().map(String::from).collect());
        }
        ServerFrame::Error {
            code,
            message,
            reference,
            retry_after_ms,
        } => {
            let pending = reference.as_deref().is_some_and(|r| {
                view.timeline
                    .with_untracked(|t| t.unsent().iter().any(|(c, _)| c == r))
            });
            match (pending, code) {
                (true, ErrorCode::RateLimited | ErrorCode::Unavailable) => {
                    // Still pending: try again after the server's hint.
                    let wait = retry_after_ms.unwrap_or(1000) as i32;
                    let retry = Closure::once_into_js(move || resend_unsent(id));
                    if let Some(w) = web_sys::window() {
                        let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(
                            retry.unchecked_ref(),
                            wait,
                        );
                    }
                }
                (true, _) => {
                    if let Some(r) = reference {
                        view.timeline.update(|t| t.fail(&r, message));
                    }
                }
                (false, _) => view.notice.set(Some(message)),
            }
        }
        ServerFrame::Left { .. } | ServerFrame::Pong => {}
    }
}

fn resend_unsent(id: u64) {
    let Some(d) = driver(id) else { return };
    let d = d.borrow();
    for (client_id, body) in d.view.timeline.with_untracked(|t| t.unsent()) {
        if let (Ok(client_id), Ok(body)) = (ClientId::parse(&client_id), Body::parse(&body)) {
            d.send(&ClientFrame::Publish {
                room: d.room.clone(),
                body,
                client_id,
            });
        }
    }
}
