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
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

/// First reconnect delay, doubled per failed attempt up to [`MAX_BACKOFF_MS`].
const BASE_BACKOFF_MS: f64 = 500.0;
/// Longest wait between reconnect attempts.
const MAX_BACKOFF_MS: f64 = 15_000.0;
/// Spacing of refused messages' retries when the server gave no hint.
const RETRY_PACE_MS: f64 = 250.0;

struct Driver {
    room: RoomName,
    name: UserName,
    view: RoomView,
    ws: Option<WebSocket>,
    epoch: Option<Epoch>,
    attempt: u32,
    closed: bool,
    /// After `recovered: false`, until the `history` answer has rebuilt the list. A
    /// reconnect in between joins without `since`, so the reload starts over.
    reloading: bool,
    /// Unacked messages the server refused for now (rate limit, store unavailable), in
    /// order; re-sent one at a time, paced, so refusals cannot snowball into a flood.
    refused: VecDeque<String>,
    /// Whether a retry timer is running.
    retry_scheduled: bool,
    /// Consecutive refusals without an ack: backoff for retries without a server hint.
    refusals: u32,
    /// Handlers of the current socket; dropping them with it would invalidate them.
    handlers: Vec<Closure<dyn FnMut(JsValue)>>,
    /// The browser says there is no network: no attempts until it says there is again.
    offline: bool,
    /// The pending reconnect timer, cancelled when something better comes (network back,
    /// tab visible again).
    reconnect_timer: Option<i32>,
    /// A liveness ping is out (after the tab came back): no pong in time means the socket
    /// died while the machine slept, though it still looks open.
    awaiting_pong: bool,
    /// Listeners on the window and document (network, visibility), removed at close.
    page_listeners: Vec<PageListener>,
}

/// A listener on the window or document: where, which event, and the closure to keep alive.
type PageListener = (
    web_sys::EventTarget,
    &'static str,
    Closure<dyn FnMut(JsValue)>,
);

thread_local! {
    static DRIVERS: RefCell<HashMap<u64, Rc<RefCell<Driver>>>> = RefCell::new(HashMap::new());
    static NEXT_ID: RefCell<u64> = const { RefCell::new(1) };
}

fn driver(id: u64) -> Option<Rc<RefCell<Driver>>> {
    DRIVERS.with(|d| d.borrow().get(&id).cloned())
}

pub(super) fn open(room: RoomName, name: UserName, view: RoomView, epoch: Option<Epoch>) -> u64 {
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
        epoch,
        attempt: 0,
        closed: false,
        reloading: false,
        refused: VecDeque::new(),
        retry_scheduled: false,
        refusals: 0,
        handlers: Vec::new(),
        offline: false,
        reconnect_timer: None,
        awaiting_pong: false,
        page_listeners: Vec::new(),
    }));
    DRIVERS.with(|m| m.borrow_mut().insert(id, d.clone()));
    d.borrow_mut().page_listeners = listen_to_page(id);
    connect(id);
    id
}

/// How long a liveness ping may go unanswered before the socket is taken for dead.
const PONG_DEADLINE_MS: i32 = 4_000;

/// Reacts to the page's surroundings: the network going and coming back, and the tab
/// becoming visible again (after being hidden, or the laptop waking up).
fn listen_to_page(id: u64) -> Vec<PageListener> {
    let Some(window) = web_sys::window() else {
        return Vec::new();
    };
    let Some(document) = window.document() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut listen =
        |target: web_sys::EventTarget, event: &'static str, f: Closure<dyn FnMut(JsValue)>| {
            let _ = target.add_event_listener_with_callback(event, f.as_ref().unchecked_ref());
            out.push((target, event, f));
        };
    listen(
        window.clone().into(),
        "offline",
        Closure::new(move |_| went_offline(id)),
    );
    listen(
        window.clone().into(),
        "online",
        Closure::new(move |_| wake(id)),
    );
    let doc = document.clone();
    listen(
        document.into(),
        "visibilitychange",
        Closure::new(move |_| {
            if doc.visibility_state() == web_sys::VisibilityState::Visible {
                wake(id);
            }
        }),
    );
    out
}

fn browser_online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}

fn cancel_timer(handle: &mut Option<i32>) {
    if let (Some(h), Some(w)) = (handle.take(), web_sys::window()) {
        w.clear_timeout_with_handle(h);
    }
}

/// The network is gone: drop the socket now and say so, instead of waiting for it to
/// time out while the badge still says "Live".
fn went_offline(id: u64) {
    let Some(d) = driver(id) else { return };
    let mut d = d.borrow_mut();
    d.offline = true;
    cancel_timer(&mut d.reconnect_timer);
    if let Some(ws) = d.ws.take() {
        unhook(&ws);
        let _ = ws.close();
    }
    d.handlers.clear();
    d.view.status.set(ConnStatus::Offline);
}

/// The network is back or the tab is visible again: reconnect at once if the socket is
/// gone, or check that an open-looking one still answers.
fn wake(id: u64) {
    let Some(d) = driver(id) else { return };
    let mut dm = d.borrow_mut();
    if dm.closed || !browser_online() {
        return;
    }
    dm.offline = false;
    match dm.ws.as_ref().map(|ws| ws.ready_state()) {
        None => {
            cancel_timer(&mut dm.reconnect_timer);
            dm.attempt = 0;
            drop(dm);
            connect(id);
        }
        Some(WebSocket::OPEN) if !dm.awaiting_pong => {
            dm.awaiting_pong = true;
            dm.send(&ClientFrame::Ping);
            drop(dm);
            let check = Closure::once_into_js(move || {
                let Some(d) = driver(id) else { return };
                let dead = d.borrow().awaiting_pong;
                if dead {
                    drop_dead_socket(id);
                }
            });
            if let Some(w) = web_sys::window() {
                let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(
                    check.unchecked_ref(),
                    PONG_DEADLINE_MS,
                );
            }
        }
        _ => {}
    }
}

/// Gives up on a socket that stopped answering and connects again right away.
fn drop_dead_socket(id: u64) {
    let Some(d) = driver(id) else { return };
    {
        let mut d = d.borrow_mut();
        d.awaiting_pong = false;
        if let Some(ws) = d.ws.take() {
            unhook(&ws);
            let _ = ws.close();
        }
        d.handlers.clear();
        d.attempt = 0;
    }
    connect(id);
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
        cancel_timer(&mut d.reconnect_timer);
        if let Some(ws) = d.ws.take() {
            unhook(&ws);
            let _ = ws.close();
        }
        d.handlers.clear();
        for (target, event, f) in d.page_listeners.drain(..) {
            let _ = target.remove_event_listener_with_callback(event, f.as_ref().unchecked_ref());
        }
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

/// Detaches the handlers, so the socket never calls closures that are about to be dropped.
fn unhook(ws: &WebSocket) {
    ws.set_onopen(None);
    ws.set_onmessage(None);
    ws.set_onclose(None);
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
    {
        let mut d = d.borrow_mut();
        d.reconnect_timer = None;
        d.awaiting_pong = false;
        if d.closed {
            return;
        }
        if !browser_online() {
            // Nothing to try until the browser fires `online`.
            d.offline = true;
            d.view.status.set(ConnStatus::Offline);
            return;
        }
    }
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
    let since = if d.reloading {
        None
    } else {
        d.view.timeline.with_untracked(|t| t.resume_seq())
    };
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
            unhook(&ws);
        }
        if d.offline {
            d.view.status.set(ConnStatus::Offline);
            return;
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
        let handle = w
            .set_timeout_with_callback_and_timeout_and_arguments_0(
                retry.unchecked_ref(),
                delay as i32,
            )
            .ok();
        d.borrow_mut().reconnect_timer = handle;
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
            d.refused.clear();
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
            d.refusals = 0;
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
                    // Still pending: queue it for a paced retry after the server's hint.
                    if let Some(r) = reference {
                        if !d.refused.contains(&r) {
                            d.refused.push_back(r);
                        }
                    }
                    let delay = retry_after_ms.map_or_else(
                        || (1000.0 * 2f64.powi(d.refusals.min(4) as i32)).min(MAX_BACKOFF_MS),
                        |ms| ms as f64,
                    );
                    d.refusals += 1;
                    drop(d);
                    schedule_retry(id, delay);
                }
                // The server does not count this connection in the room (or could not join
                // it): reconnect, which joins again and re-sends what is unsent.
                (_, ErrorCode::NotJoined) | (false, ErrorCode::Unavailable) => {
                    view.notice.set(Some(message));
                    if let Some(ws) = d.ws.as_ref() {
                        let _ = ws.close();
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
        ServerFrame::Pong => d.awaiting_pong = false,
        ServerFrame::Left { .. } => {}
    }
}

/// Publishes every unacked, unrefused message again (after a join), same `client_id`s.
fn resend_unsent(id: u64) {
    let Some(d) = driver(id) else { return };
    let d = d.borrow();
    for (client_id, body) in d.view.timeline.with_untracked(|t| t.unsent()) {
        d.publish_again(&client_id, &body);
    }
}

fn schedule_retry(id: u64, delay_ms: f64) {
    let Some(d) = driver(id) else { return };
    {
        let mut d = d.borrow_mut();
        if d.retry_scheduled {
            return;
        }
        d.retry_scheduled = true;
    }
    let retry = Closure::once_into_js(move || retry_next(id));
    if let Some(w) = web_sys::window() {
        let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(
            retry.unchecked_ref(),
            delay_ms as i32,
        );
    }
}

/// Re-sends the oldest refused message, then schedules the next one.
fn retry_next(id: u64) {
    let Some(d) = driver(id) else { return };
    let more = {
        let mut d = d.borrow_mut();
        d.retry_scheduled = false;
        if let Some(client_id) = d.refused.pop_front() {
            let body = d.view.timeline.with_untracked(|t| {
                t.unsent()
                    .into_iter()
                    .find(|(c, _)| *c == client_id)
                    .map(|(_, b)| b)
            });
            if let Some(body) = body {
                d.publish_again(&client_id, &body);
            }
        }
        !d.refused.is_empty()
    };
    if more {
        schedule_retry(id, RETRY_PACE_MS);
    }
}

impl Driver {
    fn publish_again(&self, client_id: &str, body: &str) {
        if let (Ok(client_id), Ok(body)) = (ClientId::parse(client_id), Body::parse(body)) {
            self.send(&ClientFrame::Publish {
                room: self.room.clone(),
                body,
                client_id,
            });
        }
    }
}
