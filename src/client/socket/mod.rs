//! The browser's WebSockets (feature `hydrate` only): carry out what each room's
//! [`Driver`] decides, against `web_sys`.
//!
//! One [`Conn`] per open room, kept in a thread-local table (the browser is single
//! threaded and `web_sys` handles are not `Send`, so they cannot live in signals). The
//! site's rooms share **one** socket ([`shared`]: the protocol lets a connection be in
//! several rooms, so the sidebar's rooms cost one connection, not one each); an embedded
//! page has its own. Every browser event (socket open, frame, close; timers; network and
//! visibility changes, in [`page`]) is handed to the room's driver, and the effects it
//! returns are run here. No protocol decision is made in these files.

mod page;
mod shared;

use super::driver::{Driver, Effect, Timer};
use super::timeline::Edit;
use super::RoomView;
use crate::protocol::{Body, ClientId, Epoch, RoomName, UserName};
use leptos::prelude::*;
use page::{browser_online, cancel_timer, set_timer_with, PageListener};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use wasm_bindgen::JsCast;

/// One room's live connection: the driver, the view it feeds, and the browser handles.
struct Conn {
    driver: Driver,
    view: RoomView,
    /// The socket carrying this room ([`shared`]'s id), while attached to one.
    socket: Option<u64>,
    /// The pending reconnect timer, cancelled when something better comes.
    reconnect_timer: Option<i32>,
    /// Listeners on the window and document (network, visibility), removed at close.
    page_listeners: Vec<PageListener>,
    /// An embedded page (signed in by tokens, never by the site's cookie): its socket is
    /// its own.
    embedded: bool,
}

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

/// [`handle`], after the current browser task: for events that [`shared`] raises while
/// it is carrying out another room's effects.
fn handle_later(id: u64, event: impl FnOnce(&mut Driver, &RoomView) -> Vec<Effect> + 'static) {
    set_timer_with(0.0, move || handle(id, event));
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
        socket: None,
        reconnect_timer: None,
        page_listeners: Vec::new(),
        embedded: embed.is_some(),
    }));
    CONNS.with(|m| m.borrow_mut().insert(id, c.clone()));
    let mut listeners = page::listen_to_page(id);
    if let Some(origins) = embed {
        listeners.extend(page::listen_to_embedder(id, origins));
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

pub(super) fn list_members(id: u64) {
    handle(id, |d, _| d.list_members());
}

pub(super) fn reconnect_now(id: u64) {
    handle(id, |d, _| d.wake(browser_online()));
}

pub(super) fn close(id: u64) {
    handle(id, |d, _| d.close());
    if let Some(c) = CONNS.with(|m| m.borrow_mut().remove(&id)) {
        let mut c = c.borrow_mut();
        cancel_timer(&mut c.reconnect_timer);
        for (target, event, f) in c.page_listeners.drain(..) {
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
                let socket = c.borrow().socket;
                if let Some(sid) = socket {
                    shared::send(sid, &frame.to_json());
                }
            }
            Effect::Connect => shared::attach(id, c),
            Effect::CloseSocket => shared::reset(id, c),
            Effect::DropSocket => shared::drop_socket(id, c),
            Effect::Detach => shared::detach(id, c),
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
            Effect::Presence {
                online,
                members,
                total,
            } => {
                view.online.set(online);
                view.members_total.set(total);
                view.members
                    .set(members.into_iter().map(String::from).collect());
            }
            Effect::Roster {
                names,
                first,
                complete,
            } => view.roster.update(|r| {
                let names = names.into_iter().map(String::from);
                match r {
                    Some(r) if !first => {
                        r.names.extend(names);
                        r.complete = complete;
                    }
                    _ => {
                        *r = Some(super::Roster {
                            names: names.collect(),
                            complete,
                        })
                    }
                }
            }),
            Effect::Notice(n) => view.notice.set(n),
            Effect::HasMore(more) => {
                // Said with every `history` answer: the room's newest page is in.
                view.has_more.set(more);
                view.loaded.set(true);
            }
            Effect::Timeline(edit) => edits.push(edit),
            Effect::RequestToken(n) => page::request_token(n),
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

/// Sets one of the driver's timers; returns its handle.
fn set_timer(id: u64, timer: Timer, ms: f64) -> Option<i32> {
    set_timer_with(ms, move || {
        handle(id, |d, v| {
            v.timeline
                .with_untracked(|t| d.on_timer(timer, browser_online(), t))
        })
    })
}

fn new_client_id() -> ClientId {
    let r = (js_sys::Math::random() * 1e15) as u64;
    let t = js_sys::Date::now() as u64;
    // Hex of time and randomness: unique per tab in practice, valid charset.
    ClientId::parse(&format!("{t:x}-{r:x}")).unwrap_or_else(|_| unreachable!("hex is valid"))
}
