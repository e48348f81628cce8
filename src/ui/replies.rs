//! Replies (v1.1 "Replies and reactions") in the room: the quote above a reply, which
//! jumps to the message it answers (loading older pages until that one is in, when it
//! is older than what is shown), and the "Replying to …" bar over the composer.

use crate::client::{Line, RoomView};
use crate::protocol::Content;
use leptos::prelude::*;

/// Characters of the answered message a quote shows.
const SNIPPET_CHARS: usize = 90;

/// The room's reply state, given as context by the room page: what the composer is
/// replying to, and the message the list is asked to bring into view.
#[derive(Clone, Copy)]
pub(crate) struct Thread {
    /// The room's rows.
    pub view: RoomView,
    /// The seq the next message answers (the composer's "Replying to" bar).
    pub replying: RwSignal<Option<u64>>,
    /// A seq to scroll to and flash (set by a quote, done by the list).
    pub jump: RwSignal<Option<u64>>,
    /// The row a touch screen shows the actions of (tapped; there is no hover).
    pub selected: RwSignal<Option<u64>>,
}

impl Thread {
    /// Fresh state for the room shown by `view`.
    pub fn new(view: RoomView) -> Self {
        Self {
            view,
            replying: RwSignal::new(None),
            jump: RwSignal::new(None),
            selected: RwSignal::new(None),
        }
    }
}

/// Who and what a quote shows for message `seq`: `None` while it is not loaded.
fn quoted(view: RoomView, seq: u64) -> Option<(String, String)> {
    view.timeline.with(|t| {
        let line: &Line = t.line(seq)?;
        let text = match &line.content {
            Content::Deleted { .. } => "message deleted".to_string(),
            Content::Text { body, .. } => snippet(body.as_str()),
        };
        Some((line.from.to_string(), text))
    })
}

/// The first line of `text`, cut to [`SNIPPET_CHARS`] with an ellipsis.
pub(crate) fn snippet(text: &str) -> String {
    let first = text.lines().next().unwrap_or("");
    let mut out: String = first.chars().take(SNIPPET_CHARS).collect();
    if first.chars().count() > SNIPPET_CHARS || text.lines().nth(1).is_some() {
        out.push('…');
    }
    out
}

/// The quote above a reply: the answered message's author and first words; a click
/// brings it into view. When it is not loaded, it says so, and a click loads older
/// messages until it is.
#[component]
pub(crate) fn ReplyQuote(to: u64) -> impl IntoView {
    let thread = use_context::<Thread>();
    let view = use_context::<RoomView>();
    let shown = move || view.and_then(|v| quoted(v, to));
    view! {
        <button
            type="button"
            class="reply-quote"
            data-reply-to=to.to_string()
            on:click=move |_| if let Some(t) = thread { t.jump.set(Some(to)) }
        >
            <span class="reply-mark" aria-hidden="true">"↪"</span>
            {move || match shown() {
                Some((from, text)) => view! {
                    <span class="sr-only">"In reply to "</span>
                    <span class="quote-from">{from}</span>
                    <span class="quote-text" dir="auto">{text}</span>
                }.into_any(),
                None => view! {
                    <span class="quote-text earlier">"Reply to an earlier message"</span>
                }.into_any(),
            }}
        </button>
    }
}

/// "Replying to Ann: …" over the composer, with a button to stop replying.
#[component]
pub(crate) fn ReplyingBar() -> impl IntoView {
    let Some(thread) = use_context::<Thread>() else {
        return ().into_any();
    };
    let shown = move || {
        let seq = thread.replying.get()?;
        Some(quoted(thread.view, seq).unwrap_or_else(|| ("someone".into(), String::new())))
    };
    view! {
        {move || shown().map(|(from, text)| view! {
            <div class="replying" role="status">
                <span class="reply-mark" aria-hidden="true">"↪"</span>
                <span>"Replying to "<strong>{from}</strong></span>
                <span class="quote-text" dir="auto">{text}</span>
                <button
                    type="button"
                    class="icon"
                    aria-label="Cancel reply"
                    title="Cancel reply (Esc)"
                    on:click=move |_| thread.replying.set(None)
                >"✕"</button>
            </div>
        })}
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::snippet;

    #[test]
    fn snippets_are_one_line_and_short() {
        assert_eq!(snippet("hello"), "hello");
        assert_eq!(snippet("one\ntwo"), "one…");
        let long = "x".repeat(200);
        assert_eq!(snippet(&long).chars().count(), 91);
    }
}
