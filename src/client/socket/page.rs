//! What the page around the sockets tells them: the network going and coming back, the tab
//! becoming visible, an embedding page's tokens; and the browser's timers.

use super::handle;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::MessageEvent;

/// A listener on the window or document: where, which event, and the closure to keep alive.
pub(super) type PageListener = (
    web_sys::EventTarget,
    &'static str,
    Closure<dyn FnMut(JsValue)>,
);

/// Reacts to the page's surroundings: the network going and coming back, and the tab
/// becoming visible again (after being hidden, or the laptop waking up).
pub(super) fn listen_to_page(id: u64) -> Vec<PageListener> {
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
pub(super) fn request_token(n: u64) {
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
pub(super) fn listen_to_embedder(id: u64, origins: Vec<String>) -> Vec<PageListener> {
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

pub(super) fn browser_online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}

pub(super) fn set_timer_with(ms: f64, f: impl FnOnce() + 'static) -> Option<i32> {
    let callback = Closure::once_into_js(f);
    web_sys::window()?
        .set_timeout_with_callback_and_timeout_and_arguments_0(callback.unchecked_ref(), ms as i32)
        .ok()
}

pub(super) fn cancel_timer(handle: &mut Option<i32>) {
    if let (Some(h), Some(w)) = (handle.take(), web_sys::window()) {
        w.clear_timeout_with_handle(h);
    }
}
