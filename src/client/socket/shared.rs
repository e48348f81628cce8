//! The page's sockets, each carrying one or more rooms.
//!
//! The site's rooms share one socket: a room that connects while it is opening or open
//! attaches to it (and hears `open` at once if it is open already); frames go to the room
//! they name, an `error` to the room or the pending message its `ref` names, `pong` to
//! every room. A room that is done sends `leave` and lets go ([`detach`]); the last one
//! out closes the socket. A room that must start over ([`reset`], after `not_joined`)
//! lets go and hears a close of its own, the others carry on. A socket taken for broken
//! ([`drop_socket`], after an unanswered ping) is closed for every room on it.
//! An embedded page's room always gets a socket of its own (signed in by its tokens).

use super::page::set_timer_with;
use super::{conn, handle, handle_later, Conn};
use crate::protocol::ServerFrame;
use leptos::prelude::*;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, WebSocket};

/// One browser socket and the rooms it carries.
struct Socket {
    ws: WebSocket,
    /// Its handlers; dropping them while the socket lives would invalidate them.
    handlers: Vec<Closure<dyn FnMut(JsValue)>>,
    /// The [`Conn`]s (by id) attached, in the order they came.
    rooms: Vec<u64>,
    /// Other site rooms may attach (not an embedded page's socket).
    shareable: bool,
}

thread_local! {
    static SOCKETS: RefCell<HashMap<u64, Socket>> = RefCell::new(HashMap::new());
    static NEXT_SOCKET: RefCell<u64> = const { RefCell::new(1) };
}

/// Sends `text` on socket `sid` if it is open; otherwise it is dropped (the driver
/// re-sends what matters after the next join).
pub(super) fn send(sid: u64, text: &str) {
    SOCKETS.with(|s| {
        if let Some(sock) = s.borrow().get(&sid) {
            if sock.ws.ready_state() == WebSocket::OPEN {
                let _ = sock.ws.send_with_str(text);
            }
        }
    });
}

/// The room `id` wants a socket: the site's shared one when there is one opening or
/// open, else a new one. A socket that cannot even be made counts as closed.
pub(super) fn attach(id: u64, c: &Rc<RefCell<Conn>>) {
    detach(id, c);
    let embedded = c.borrow().embedded;
    let shared = if embedded {
        None
    } else {
        SOCKETS.with(|s| {
            let mut s = s.borrow_mut();
            let (sid, sock) = s.iter_mut().find(|(_, sock)| {
                sock.shareable
                    && matches!(
                        sock.ws.ready_state(),
                        WebSocket::CONNECTING | WebSocket::OPEN
                    )
            })?;
            sock.rooms.push(id);
            Some((*sid, sock.ws.ready_state() == WebSocket::OPEN))
        })
    };
    let sid = match shared {
        Some((sid, open)) => {
            if open {
                handle_later(id, move |d, v| {
                    if still_on(id, sid) {
                        v.timeline.with_untracked(|t| d.on_open(t))
                    } else {
                        Vec::new()
                    }
                });
            }
            sid
        }
        None => match open_socket(embedded) {
            Some((sid, mut sock)) => {
                sock.rooms.push(id);
                SOCKETS.with(|s| s.borrow_mut().insert(sid, sock));
                sid
            }
            None => return handle_later(id, |d, _| d.on_close(None)),
        },
    };
    c.borrow_mut().socket = Some(sid);
}

/// The room `id` is done with its socket (it sent `leave` first); the last room out
/// closes it.
pub(super) fn detach(id: u64, c: &Rc<RefCell<Conn>>) {
    let Some(sid) = c.borrow_mut().socket.take() else {
        return;
    };
    let empty = SOCKETS.with(|s| {
        let mut s = s.borrow_mut();
        let Some(sock) = s.get_mut(&sid) else {
            return false;
        };
        sock.rooms.retain(|r| *r != id);
        sock.rooms.is_empty()
    });
    if empty {
        close_quietly(sid);
    }
}

/// The room `id` asked to close its socket to start over: it lets go, and hears a close
/// of its own; other rooms on the socket are not disturbed.
pub(super) fn reset(id: u64, c: &Rc<RefCell<Conn>>) {
    detach(id, c);
    handle_later(id, |d, _| d.on_close(None));
}

/// The room `id` takes its socket for broken: it is closed for every room on it; the
/// others hear it closed, `id` (which asked) does not.
pub(super) fn drop_socket(id: u64, c: &Rc<RefCell<Conn>>) {
    let Some(sid) = c.borrow_mut().socket.take() else {
        return;
    };
    for other in close_quietly(sid).into_iter().filter(|r| *r != id) {
        if let Some(oc) = conn(other) {
            oc.borrow_mut().socket = None;
        }
        handle_later(other, |d, _| d.on_close(None));
    }
}

/// Whether room `id` is still on socket `sid` (a deferred `open` must not reach a room
/// that moved on).
fn still_on(id: u64, sid: u64) -> bool {
    conn(id).is_some_and(|c| c.borrow().socket == Some(sid))
}

/// Forgets socket `sid` and closes it without telling anyone; returns the rooms it had.
fn close_quietly(sid: u64) -> Vec<u64> {
    let Some(sock) = SOCKETS.with(|s| s.borrow_mut().remove(&sid)) else {
        return Vec::new();
    };
    unhook(&sock.ws);
    let _ = sock.ws.close();
    // One of these handlers may be running now (a frame or a close led here): they are
    // dropped after the current task, never under it.
    let handlers = sock.handlers;
    set_timer_with(0.0, move || drop(handlers));
    sock.rooms
}

/// A new socket with its events hooked to the rooms it will carry.
fn open_socket(embedded: bool) -> Option<(u64, Socket)> {
    let ws = WebSocket::new(&socket_url(embedded)?).ok()?;
    let sid = NEXT_SOCKET.with(|n| {
        let mut n = n.borrow_mut();
        *n += 1;
        *n
    });
    let on_open = Closure::<dyn FnMut(JsValue)>::new(move |_| {
        for id in rooms_of(sid) {
            handle(id, |d, v| v.timeline.with_untracked(|t| d.on_open(t)));
        }
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
        for id in recipients(sid, &frame) {
            let frame = frame.clone();
            handle(id, |d, v| {
                v.timeline.with_untracked(|t| d.on_frame(frame, t))
            });
        }
    });
    let on_close = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
        let code = ev.dyn_ref::<web_sys::CloseEvent>().map(|e| e.code());
        for id in close_quietly(sid) {
            if let Some(c) = conn(id) {
                c.borrow_mut().socket = None;
            }
            handle(id, |d, _| d.on_close(code));
        }
    });
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    Some((
        sid,
        Socket {
            ws,
            handlers: vec![on_open, on_message, on_close],
            rooms: Vec::new(),
            shareable: !embedded,
        },
    ))
}

/// The rooms on socket `sid`.
fn rooms_of(sid: u64) -> Vec<u64> {
    SOCKETS.with(|s| {
        s.borrow()
            .get(&sid)
            .map(|s| s.rooms.clone())
            .unwrap_or_default()
    })
}

/// Which rooms on socket `sid` a frame is for: the room it names; for an `error`, the
/// room or pending message its `ref` names (nobody when the `ref` names what this page
/// no longer has), or every room when it has no `ref`; `pong` and `authed` to all.
fn recipients(sid: u64, frame: &ServerFrame) -> Vec<u64> {
    let rooms = rooms_of(sid);
    let is_for =
        |id: &u64, test: &dyn Fn(&Conn) -> bool| conn(*id).is_some_and(|c| test(&c.borrow()));
    if let Some(room) = frame.room() {
        return rooms
            .into_iter()
            .filter(|id| is_for(id, &|c| c.driver.room() == room))
            .collect();
    }
    match frame {
        ServerFrame::Error {
            reference: Some(r), ..
        } => rooms
            .into_iter()
            .filter(|id| {
                is_for(id, &|c| {
                    c.driver.room().as_str() == r
                        || c.view.timeline.with_untracked(|t| t.is_unsent(r))
                })
            })
            .collect(),
        _ => rooms,
    }
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
