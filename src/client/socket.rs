//! The browser's WebSocket for one room (feature `hydrate` only): carries out what the
//! [`Driver`] decides, against `web_sys`.
//!
//! One [`Conn`] per open room, kept in a thread-local table (the browser is single
//! threaded and `web_sys` handles are not `Send`, so they cannot live in signals). Every
//! browser event (socket open, frame, close; timers; network and visibility changes) is
//! handed to the driver, and the effects it returns are run here. No protocol decision
//! is made in this file.

use super::driver::{Driver, Effect, Timer};
use super::timeline::Edit;
use super::RoomView;
use crate::protocol::{Body, ClientId, Epoch, RoomName, ServerFrame, UserName};
use leptos::prelude::*;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, WebSocket};

/// One room's live connection: the driver, the view it feeds, and the browser handles.
struct Conn {
    driver: Driver,
    view: RoomView,
    ws: Option<WebSocket>,
    /// Handlers of the current socket; dropping them with it would invalidate them.
    handlers: Vec<Closure<dyn FnMut(JsValue)>>,
    /// The pending reconnect timer, cancelled when something better comes.
    reconnect_timer: Option<i32>,
    /// Listeners on the window and document (network, visibility), removed at close.
    page_listeners: Vec<PageListener>,
    /// An embedded page (signed in by tokens, never by the site's cookie).
    embedded: bool,
}

/// A listener on the window or document: where, which event, and the closure to keep alive.
type PageListener = (
    web_sys::EventTarget,
    &'static str,
    Closure<dyn FnMut(JsValue)>,
);

thread_local! {
    static CONNS: RefCell<HashMap<u64, Rc<RefCell<Conn>>>> = RefCell::new(HashMap::new());
    static NEXT_ID: RefCell<u64> = const { RefCell::new(1) };
}

fn conn(id: u64) -> Option<Rc<RefCell<Conn>>> {
    CONNS.with(|d| d.borrow().get(&id).cloned())
}

/// Runs `event` against the room's driver (with its view), then carries out the effects.
fn handle(id: u64, event: impl FnOnce(&mut Driver, &RoomView) -> Vec<Effect>) {
    let Some(c) = conn(id) else { return };
    let effects = {
        let mut c = c.borrow_mut();
        let view = c.view;
        event(&mut c.driver, &view)
    };
    run(id, &c, effects);
}

pub(super) fn open(
    room: RoomName,
    name: Option<UserName>,
    view: RoomView,
    epoch: Option<Epoch>,
    embed: Option<Vec<String>>,
) -> u64 {
    let id = NEXT_ID.with(|n| {
        let mut n = n.borrow_mut();
        *n += 1;
        *n
    });
    let mut driver = Driver::new(room, name, epoch, Box::new(js_sys::Math::random));
    if embed.is_some() {
        driver = driver.with_tokens(Box::new(js_sys::Date::now));
    }
    let c = Rc::new(RefCell::new(Conn {
        driver,
        view,
        ws: None,
        handlers: Vec::new(),
        reconnect_timer: None,
        page_listeners: Vec::new(),
        embedded: embed.is_some(),
    }));
    CONNS.with(|m| m.borrow_mut().insert(id, c.clone()));
    let mut listeners = listen_to_page(id);
    if let Some(origins) = embed {
        listeners.extend(listen_to_embedder(id, origins));
    }
    c.borrow_mut().page_listeners = listeners;
    handle(id, |d, _| d.start(browser_online()));
    id
}

pub(super) fn send(id: u64, body: Body, reply_to: Option<u64>) {
    let client_id = new_client_id();
    let now = js_sys::Date::now() as u64;
    handle(id, |d, _| d.send_message(body, reply_to, client_id, now));
}

pub(super) fn act(id: u64, act: super::driver::Act) {
    handle(id, |d, _| d.act(act));
}

pub(super) fn load_older(id: u64) {
    handle(id, |d, v| v.timeline.with_untracked(|t| d.load_older(t)));
}

pub(super) fn set_name(id: u64, name: UserName) {
    handle(id, |d, v| {
        v.timeline.with_untracked(|t| d.set_name(name, t))
    });
}

pub(super) fn reconnect_now(id: u64) {
    handle(id, |d, _| d.wake(browser_online()));
}

pub(super) fn close(id: u64) {
    handle(id, |d, _| d.close());
    if let Some(c) = CONNS.with(|m| m.borrow_mut().remove(&id)) {
        for (target, event, f) in c.borrow_mut().page_listeners.drain(..) {
            let _ = target.remove_event_listener_with_callback(event, f.as_ref().unchecked_ref());
        }
    }
}

/// Carries out the driver's effects, in order.
fn run(id: u64, c: &Rc<RefCell<Conn>>, effects: Vec<Effect>) {
    let view = c.borrow().view;
    let mut edits: Vec<Edit> = Vec::new();
    for effect in effects {
        match effect {
            Effect::Send(frame) => {
                if let Some(ws) = &c.borrow().ws {
                    if ws.ready_state() == WebSocket::OPEN {
                        let _ = ws.send_with_str(&frame.to_json());
                    }
                }
            }
            Effect::Connect => connect(id, c),
            Effect::CloseSocket => {
                if let Some(ws) = &c.borrow().ws {
                    let _ = ws.close();
                }
            }
            Effect::DropSocket => drop_socket(&mut c.borrow_mut()),
            Effect::Reauthenticate => {
                // Not at once: when this tab signed out itself, the sign-out form's
                // navigation is under way and a reload now would cancel it; a page that
                // is leaving never runs this.
                set_timer_with(REAUTHENTICATE_AFTER_MS, || {
                    if let Some(w) = web_sys::window() {
                        let _ = w.location().reload();
                    }
                });
            }
            Effect::ReconnectIn(ms) => {
                let mut cm = c.borrow_mut();
                cancel_timer(&mut cm.reconnect_timer);
                cm.reconnect_timer = set_timer(id, Timer::Reconnect, ms);
            }
            Effect::CancelReconnect => cancel_timer(&mut c.borrow_mut().reconnect_timer),
            Effect::RetryIn(ms) => {
                set_timer(id, Timer::Retry, ms);
            }
            Effect::PongDeadlineIn(ms) => {
                set_timer(id, Timer::PongDeadline, ms);
            }
            Effect::Status(s) => view.status.set(s),
            Effect::Presence { online, members } => {
                view.online.set(online);
                view.members
                    .set(members.into_iter().map(String::from).collect());
            }
            Effect::Notice(n) => view.notice.set(n),
            Effect::HasMore(more) => view.has_more.set(more),
            Effect::Timeline(edit) => edits.push(edit),
            Effect::RequestToken(n) => request_token(n),
            Effect::TokenTimerIn(n, ms) => {
                set_timer(id, Timer::Token(n), ms);
            }
            Effect::SignedIn(name) => view.me.set(name),
            Effect::Reactors { seq, by, mine } => view.reactors.set(Some(super::ReactorsOf {
                seq,
                by: by
                    .into_iter()
                    .map(|(e, names)| (e, names.into_iter().map(String::from).collect()))
                    .collect(),
                mine,
            })),
        }
    }
    if !edits.is_empty() {
        view.timeline.update(|t| {
            for edit in edits {
                t.apply(edit);
            }
        });
    }
}

/// How long after a 4001 the page reloads to learn who it is now.
const REAUTHENTICATE_AFTER_MS: f64 = 1_000.0;

/// Opens a socket and hooks its events to the driver. A socket that cannot be made
/// counts as closed.
fn connect(id: u64, c: &Rc<RefCell<Conn>>) {
    drop_socket(&mut c.borrow_mut());
    let embedded = c.borrow().embedded;
    let ws = match socket_url(embedded).map(|url| WebSocket::new(&url)) {
        Some(Ok(ws)) => ws,
        _ => return handle(id, |d, _| d.on_close(None)),
    };
    let on_open = Closure::<dyn FnMut(JsValue)>::new(move |_| {
        handle(id, |d, v| v.timeline.with_untracked(|t| d.on_open(t)))
    });
    let on_message = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
        let Some(text) = ev
            .dyn_ref::<MessageEvent>()
            .and_then(|e| e.data().as_string())
        else {
            return;
        };
        let Ok(frame) = serde_json::from_str::<ServerFrame>(&text) else {
            return; // A newer server's frame this page does not know: ignore it.
        };
        handle(id, |d, v| {
            v.timeline.with_untracked(|t| d.on_frame(frame, t))
        });
    });
    let on_close = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
        if let Some(c) = conn(id) {
            if let Some(ws) = c.borrow_mut().ws.take() {
                unhook(&ws);
            }
        }
        let code = ev.dyn_ref::<web_sys::CloseEvent>().map(|e| e.code());
        handle(id, |d, _| d.on_close(code));
    });
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    let mut cm = c.borrow_mut();
    cm.reconnect_timer = None;
    cm.ws = Some(ws);
    cm.handlers = vec![on_open, on_message, on_close];
}

/// Detaches and closes the current socket, if any; no close event reaches the driver.
fn drop_socket(c: &mut Conn) {
    if let Some(ws) = c.ws.take() {
        unhook(&ws);
        let _ = ws.close();
    }
    c.handlers.clear();
}

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
        Closure::new(move |_| handle(id, |d, _| d.went_offline())),
    );
    listen(
        window.clone().into(),
        "online",
        Closure::new(move |_| handle(id, |d, _| d.wake(browser_online()))),
    );
    let doc = document.clone();
    listen(
        document.into(),
        "visibilitychange",
        Closure::new(move |_| {
            if doc.visibility_state() == web_sys::VisibilityState::Visible {
                handle(id, |d, _| d.wake(browser_online()));
            }
        }),
    );
    out
}

/// The `type` of a token request to the embedding page, and of its answer.
const TOKEN_REQUEST: &str = "chorus:token-request";
const TOKEN_ANSWER: &str = "chorus:token";

/// Asks the embedding page for a token: `{"type":"chorus:token-request","request":n}`.
/// Posted to any origin: it holds nothing secret, and only answers from `origins` count.
fn request_token(n: u64) {
    let Some(parent) = web_sys::window().and_then(|w| w.parent().ok().flatten()) else {
        return;
    };
    let message = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&message, &"type".into(), &TOKEN_REQUEST.into());
    let _ = js_sys::Reflect::set(&message, &"request".into(), &(n as f64).into());
    let _ = parent.post_message(&message, "*");
}

/// Takes tokens from the embedding page: `{"type":"chorus:token","token","request"?}`,
/// only from the window that frames this page and only from one of `origins` (the
/// operator's `--embed-origins`), so no other frame or window can sign the page in.
fn listen_to_embedder(id: u64, origins: Vec<String>) -> Vec<PageListener> {
    let Some(window) = web_sys::window() else {
        return Vec::new();
    };
    let parent = window.parent().ok().flatten();
    let on_message = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
        let Some(ev) = ev.dyn_ref::<MessageEvent>() else {
            return;
        };
        let from_parent = match (ev.source(), &parent) {
            (Some(source), Some(parent)) => js_sys::Object::is(&source, parent),
            _ => false,
        };
        if !from_parent || !origins.iter().any(|o| *o == ev.origin()) {
            return;
        }
        let data = ev.data();
        let field = |k: &str| js_sys::Reflect::get(&data, &k.into()).ok();
        if field("type").and_then(|t| t.as_string()).as_deref() != Some(TOKEN_ANSWER) {
            return;
        }
        let Some(token) = field("token").and_then(|t| t.as_string()) else {
            return;
        };
        let request = field("request").and_then(|r| r.as_f64()).map(|r| r as u64);
        handle(id, |d, _| d.on_token(request, &token));
    });
    let _ = window.add_event_listener_with_callback("message", on_message.as_ref().unchecked_ref());
    vec![(window.into(), "message", on_message)]
}

fn browser_online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}

/// Sets one of the driver's timers; returns its handle.
fn set_timer(id: u64, timer: Timer, ms: f64) -> Option<i32> {
    set_timer_with(ms, move || {
        handle(id, |d, v| {
            v.timeline
                .with_untracked(|t| d.on_timer(timer, browser_online(), t))
        })
    })
}

fn set_timer_with(ms: f64, f: impl FnOnce() + 'static) -> Option<i32> {
    let callback = Closure::once_into_js(f);
    web_sys::window()?
        .set_timeout_with_callback_and_timeout_and_arguments_0(callback.unchecked_ref(), ms as i32)
        .ok()
}

fn cancel_timer(handle: &mut Option<i32>) {
    if let (Some(h), Some(w)) = (handle.take(), web_sys::window()) {
        w.clear_timeout_with_handle(h);
    }
}

fn new_client_id() -> ClientId {
    let r = (js_sys::Math::random() * 1e15) as u64;
    let t = js_sys::Date::now() as u64;
    // Hex of time and randomness: unique per tab in practice, valid charset.
    ClientId::parse(&format!("{t:x}-{r:x}")).unwrap_or_else(|_| unreachable!("hex is valid"))
}

/// The socket's URL; an embedded page's ignores the site's cookie (its identity is the
/// application's token).
fn socket_url(embedded: bool) -> Option<String> {
    let loc = web_sys::window()?.location();
    let scheme = if loc.protocol().ok()? == "https:" {
        "wss"
    } else {
        "ws"
    };
    let query = if embedded { "?cookie=ignore" } else { "" };
    Some(format!("{scheme}://{}/ws{query}", loc.host().ok()?))
}

/// Detaches the handlers, so the socket never calls closures that are about to be dropped.
fn unhook(ws: &WebSocket) {
    ws.set_onopen(None);
    ws.set_onmessage(None);
    ws.set_onclose(None);
}
