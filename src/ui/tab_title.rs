//! The browser tab's title for a room: `#general — Chorus`, and while the tab is hidden,
//! what arrived meanwhile, so a glance at the tab bar says whether to come back:
//! `(3) #general — Chorus`, `(3, 1 mention) #general — Chorus`.
//!
//! Written by hand rather than with `leptos-use`'s document-visibility hook: one listener,
//! and the crate would add a large dependency to every build for it.

use crate::client::{Line, RoomView};
use crate::protocol::{RoomName, UserName};
use crate::ui::rich_text::mentions;
use leptos::prelude::*;

/// Messages by others after `seen`, and how many of them mention `me`.
pub fn unread(lines: &[Line], seen: Option<u64>, me: Option<&UserName>) -> (usize, usize) {
    let fresh = lines
        .iter()
        .filter(|l| l.seq.is_some() && l.seq > seen && me != Some(&l.from));
    fresh.fold((0, 0), |(n, m), l| {
        let mention = me.is_some_and(|me| l.body().is_some_and(|b| mentions(b.as_str(), me)));
        (n + 1, m + usize::from(mention))
    })
}

/// The title for `room` with `(unread, mentions)`.
pub fn title(room: &RoomName, (unread, mentions): (usize, usize)) -> String {
    match (unread, mentions) {
        (0, _) => format!("#{room} — Chorus"),
        (n, 0) => format!("({n}) #{room} — Chorus"),
        (n, 1) => format!("({n}, 1 mention) #{room} — Chorus"),
        (n, m) => format!("({n}, {m} mentions) #{room} — Chorus"),
    }
}

/// The room page's live title.
pub fn room_title(
    room: RoomName,
    view_state: RoomView,
    reader: Signal<Option<UserName>>,
) -> Signal<String> {
    let visible = page_visibility();
    let seen = StoredValue::new(None::<u64>);
    let counts = RwSignal::new((0usize, 0usize));
    Effect::new(move |first: Option<()>| {
        let me = reader.get();
        view_state.timeline.with(|t| {
            // What the page opened with counts as read, even in a background tab.
            if first.is_none() || visible.get() {
                seen.set_value(t.lines().iter().filter_map(|l| l.seq).max());
                counts.set((0, 0));
            } else {
                counts.set(unread(t.lines(), seen.get_value(), me.as_ref()));
            }
        });
    });
    // `try_get`: the server reads the title after the page's reactive owner is gone
    // (leptos_axum writes `<head>` last); then the count is nothing, as it is there.
    Signal::derive(move || title(&room, counts.try_get().unwrap_or_default()))
}

/// Whether the page is visible, following `visibilitychange` (always true on the server).
pub(crate) fn page_visibility() -> ReadSignal<bool> {
    let (visible, set_visible) = signal(true);
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::JsCast;
        let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
            return visible;
        };
        let is_visible =
            |d: &web_sys::Document| d.visibility_state() == web_sys::VisibilityState::Visible;
        set_visible.set(is_visible(&doc));
        let listener = Closure::<dyn Fn()>::new({
            let doc = doc.clone();
            move || set_visible.set(is_visible(&doc))
        });
        let _ = doc.add_event_listener_with_callback(
            "visibilitychange",
            listener.as_ref().unchecked_ref(),
        );
        let kept = send_wrapper::SendWrapper::new((doc, listener));
        on_cleanup(move || {
            let (doc, listener) = &*kept;
            let _ = doc.remove_event_listener_with_callback(
                "visibilitychange",
                listener.as_ref().unchecked_ref(),
            );
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = set_visible;
    visible
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::LineState;
    use crate::protocol::{Body, ClientId, Content};

    fn line(seq: Option<u64>, from: &str, body: &str) -> Line {
        Line {
            client_id: ClientId::parse("c").unwrap(),
            seq,
            from: UserName::parse(from).unwrap(),
            content: Content::text(Body::parse(body).unwrap()),
            ts: 0,
            state: LineState::Sent,
            guest: true,
            user: None,
            reply_to: None,
            reactions: Default::default(),
        }
    }

    #[test]
    fn counts_what_others_wrote_since_the_tab_was_left() {
        let me = UserName::parse("ann").unwrap();
        let lines = [
            line(Some(1), "bob", "before"),
            line(Some(2), "bob", "hi @ann"),
            line(Some(3), "ann", "my own @ann"),
            line(None, "ann", "pending"),
            line(Some(4), "cy", "hello"),
        ];
        assert_eq!(unread(&lines, Some(1), Some(&me)), (2, 1));
        assert_eq!(unread(&lines, Some(4), Some(&me)), (0, 0));
        assert_eq!(
            unread(&lines, None, None),
            (4, 0),
            "a reader without a name"
        );
    }

    #[test]
    fn titles_read_like_a_tab_bar() {
        let r = RoomName::parse("general").unwrap();
        assert_eq!(title(&r, (0, 0)), "#general — Chorus");
        assert_eq!(title(&r, (3, 0)), "(3) #general — Chorus");
        assert_eq!(title(&r, (3, 1)), "(3, 1 mention) #general — Chorus");
        assert_eq!(title(&r, (5, 2)), "(5, 2 mentions) #general — Chorus");
    }
}
