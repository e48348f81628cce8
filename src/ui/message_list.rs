//! The room's scrolling message list (the room page's and the embed's) and one row of it.
//!
//! Where the reader is matters more than anything else here. The list **follows** (stays
//! at the newest message) while the reader is at the bottom: when rows arrive, when the
//! list itself changes size (the page finished laying out after a client-side navigation,
//! the composer grew, the phone's keyboard opened), and when the reader sends. Only the
//! reader scrolling *up* stops following; then the list stays put and counts what
//! arrives in a "new messages" pill. Loading older messages keeps the rows in view where
//! they were.

use crate::client::clock::{clock, clock_utc, now_ms};
use crate::client::{Line, LineState, RoomView};
use crate::protocol::UserName;
use crate::ui::grouping::{avatar_hue, local_zone, place, utc_zone, Placement};
use crate::ui::moderation::{RowActions, RowBody, SenderName};
use crate::ui::reactions::ReactionChips;
use crate::ui::replies::{ReplyQuote, Thread};
use leptos::prelude::*;

/// Within this many pixels of the end the reader is "at the bottom".
const AT_BOTTOM_PX: i32 = 40;

/// The reader's name, for the rows' mentions (given to every row as context).
#[derive(Clone, Copy)]
pub(crate) struct Reader(pub Signal<Option<UserName>>);

/// The scrolling list; `follow` is shared with the composer (sending brings you down).
/// `reader` is the reader's name: mentions of it stand out.
#[component]
pub(crate) fn MessageList(
    view_state: RoomView,
    follow: RwSignal<bool>,
    load_older: Callback<()>,
    #[prop(into)] reader: Signal<Option<UserName>>,
    /// Where the reader left the list scrolled (`None`: at the bottom), kept while the
    /// room is off screen: the list opens there again.
    #[prop(optional)]
    scroll: Option<StoredValue<Option<i32>>>,
) -> impl IntoView {
    provide_context(Reader(reader));
    provide_context(view_state);
    // Days and groups are placed in UTC with full dates as the server rendered them (the
    // hydration must agree whatever the two clocks say), then in the reader's zone with
    // "Today" and "Yesterday" once hydrated (rows whose placement changed are drawn again).
    let zoned = RwSignal::new(false);
    Effect::new(move |_| zoned.set(true));
    let list = NodeRef::<leptos::html::Ol>::new();
    let unseen = RwSignal::new(0usize);
    // (rows, scroll height, oldest seq) after the last change.
    let last = StoredValue::new((0usize, 0i32, None::<u64>));
    // Where the reader's last scroll left the list, to tell up from down.
    let last_top = StoredValue::new(0i32);
    let pin = move |el: &leptos::web_sys::HtmlOListElement| {
        el.set_scroll_top(el.scroll_height());
        last_top.set_value(el.scroll_top());
    };
    // A scroll position to go back to, waiting for the list to be laid out tall enough
    // (right after a client-side navigation it has no height yet).
    let pending = StoredValue::new(None::<i32>);
    // Where the list belongs after its box changed: at the bottom while following, else
    // at the position being restored, if any.
    let settle = move |el: &leptos::web_sys::HtmlOListElement| {
        if follow.get_untracked() {
            pin(el);
        } else if let Some(top) = pending.get_value() {
            el.set_scroll_top(top);
            last_top.set_value(el.scroll_top());
            if (el.scroll_top() - top).abs() <= 1 {
                pending.set_value(None);
            }
        }
    };
    let to_bottom = move || {
        if let Some(el) = list.get_untracked() {
            pin(&el);
        }
        follow.set(true);
        unseen.set(0);
    };
    Effect::new(move |_| {
        let (rows, first) = view_state
            .timeline
            .with(|t| (t.lines().len(), t.first_seq()));
        let following = follow.get();
        let Some(el) = list.get() else { return };
        let (prev_rows, prev_height, prev_first) = last.get_value();
        let restore = scroll
            .filter(|_| prev_rows == 0 && prev_first.is_none())
            .and_then(|m| m.get_value());
        if let (Some(top), false) = (restore, following) {
            // Back in a room the reader left scrolled up: where they were, once laid out.
            pending.set_value(Some(top));
            settle(&el);
            #[cfg(feature = "hydrate")]
            {
                let el = el.clone();
                request_animation_frame(move || settle(&el));
            }
        } else if following {
            pin(&el);
            // The rows this change adds may be drawn after this effect runs: pin again
            // once they are laid out.
            #[cfg(feature = "hydrate")]
            {
                let el = el.clone();
                request_animation_frame(move || {
                    if follow.get_untracked() {
                        pin(&el);
                    }
                });
            }
            unseen.set(0);
        } else if prev_first.is_some() && first < prev_first {
            // Older rows went in above: keep what the reader looks at where it was.
            el.set_scroll_top(el.scroll_top() + el.scroll_height() - prev_height);
            last_top.set_value(el.scroll_top());
        } else if rows > prev_rows {
            unseen.update(|n| *n += rows - prev_rows);
        }
        last.set_value((rows, el.scroll_height(), first));
    });
    keep_in_place_on_resize(list, settle);
    follow_jumps(view_state, list, follow, load_older);
    let thread = use_context::<Thread>();
    let on_scroll = move |_| {
        let Some(el) = list.get_untracked() else {
            return;
        };
        let top = el.scroll_top();
        let bottom = el.scroll_height() - top - el.client_height() < AT_BOTTOM_PX;
        if let Some(m) = scroll {
            m.set_value((!bottom).then_some(top));
        }
        if thread.is_some_and(|t| t.jump.get_untracked().is_some()) {
            // Paging back to a quoted message: the list is where the jump puts it.
            last_top.set_value(top);
            return;
        }
        // A scroll event may report a position from before rows just added below (the
        // list pinned itself, then grew): only a move up is the reader leaving.
        let went_up = top < last_top.get_value();
        last_top.set_value(top);
        if bottom {
            if !follow.get_untracked() {
                follow.set(true);
            }
            unseen.set(0);
        } else if went_up && follow.get_untracked() {
            follow.set(false);
        }
    };
    view! {
        <div class="list-wrap">
            <ol class="messages" node_ref=list on:scroll=on_scroll aria-live="polite" aria-label="Messages">
                <Show when=move || view_state.has_more.get()>
                    <li class="older">
                        <button type="button" on:click=move |_| {
                            follow.set(false);
                            load_older.run(())
                        }>"Load older messages"</button>
                    </li>
                </Show>
                <Show when=move || view_state.timeline.with(|t| t.lines().is_empty())>
                    <li class="empty">"No messages yet. Say hello!"</li>
                </Show>
                <For
                    each=move || {
                        let (now, zone) = if zoned.get() {
                            (Some(now_ms()), local_zone as crate::ui::grouping::Zone)
                        } else {
                            (None, utc_zone as crate::ui::grouping::Zone)
                        };
                        view_state.timeline.with(|t| {
                            let lines = t.lines();
                            lines.iter().cloned().zip(place(lines, now, zone)).collect::<Vec<_>>()
                        })
                    }
                    key=|(line, at): &(Line, Placement)| format!("{}:{}:{:?}", line.key(), at.continued, at.day)
                    children=move |(line, at): (Line, Placement)| view! { <MessageRow line at/> }
                />
            </ol>
            <Show when=move || { unseen.get() > 0 }>
                <button type="button" class="new-pill" on:click=move |_| to_bottom()>
                    {move || match unseen.get() {
                        1 => "1 new message ↓".to_string(),
                        n => format!("{n} new messages ↓"),
                    }}
                </button>
            </Show>
        </div>
    }
    .into_any()
}

/// Whether a click landed on a control inside the row (then it is not a tap on the row).
fn tapped_a_control(ev: &leptos::ev::MouseEvent) -> bool {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        ev.target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|el| {
                el.closest("button, a, textarea, input, .msg-actions")
                    .ok()
                    .flatten()
            })
            .is_some()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ev;
        true
    }
}

/// Brings the message a reply quote asks for ([`Thread::jump`]) into view and flashes
/// it; when it is older than what is loaded, loads older pages (one at a time) until it
/// is in, or says it is gone when the history has nothing older.
fn follow_jumps(
    view_state: RoomView,
    list: NodeRef<leptos::html::Ol>,
    follow: RwSignal<bool>,
    load_older: Callback<()>,
) {
    let Some(thread) = use_context::<Thread>() else {
        return;
    };
    // The oldest seq when older messages were last asked for: one request per page.
    let asked = StoredValue::new(None::<Option<u64>>);
    let flashing = StoredValue::new(false);
    Effect::new(move |_| {
        let Some(target) = thread.jump.get() else {
            asked.set_value(None);
            return;
        };
        let (loaded, first) = view_state
            .timeline
            .with(|t| (t.line(target).is_some(), t.first_seq()));
        follow.set(false);
        if loaded {
            if !flashing.get_value() {
                flashing.set_value(true);
                // The jump stays under way until the row is in view, so that nothing
                // pins the list back to the bottom meanwhile.
                flash(list, target, move || {
                    follow.set(false);
                    flashing.set_value(false);
                    thread.jump.set(None);
                });
            }
        } else if view_state.has_more.get() {
            if asked.get_value() != Some(first) {
                asked.set_value(Some(first));
                load_older.run(());
            }
        } else {
            thread.jump.set(None);
            view_state.notice.set(Some(
                "That message is no longer in the room's history.".into(),
            ));
        }
    });
}

/// Scrolls row `seq` to the middle of the list (once drawn) and marks it for a moment;
/// then calls `done`.
fn flash(list: NodeRef<leptos::html::Ol>, seq: u64, done: impl FnOnce() + 'static) {
    #[cfg(feature = "hydrate")]
    request_animation_frame(move || {
        let row = list.get_untracked().and_then(|el| {
            el.query_selector(&format!("li.msg[data-seq=\"{seq}\"]"))
                .ok()
                .flatten()
        });
        let Some(row) = row else {
            done();
            return;
        };
        let options = web_sys::ScrollIntoViewOptions::new();
        options.set_block(web_sys::ScrollLogicalPosition::Center);
        // At once, not smoothly: a smooth scroll's first steps are still "at the bottom",
        // which would make the list follow (and pin back down) before it got anywhere.
        options.set_behavior(web_sys::ScrollBehavior::Instant);
        row.scroll_into_view_with_scroll_into_view_options(&options);
        done();
        let _ = row.class_list().add_1("flash");
        set_timeout(
            move || {
                let _ = row.class_list().remove_1("flash");
            },
            std::time::Duration::from_millis(1600),
        );
    });
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (list, seq);
        done();
    }
}

/// Puts the list back where it belongs (`settle`: pinned while following, or at a
/// position being restored) whenever its box changes size: its first layout after a
/// client-side navigation (before that it has no height to scroll), the composer growing
/// or being swapped in, a phone's keyboard. The observer lives as long as the list's
/// owner.
fn keep_in_place_on_resize(
    list: NodeRef<leptos::html::Ol>,
    settle: impl Fn(&leptos::web_sys::HtmlOListElement) + Clone + 'static,
) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::JsCast;
        Effect::new(move |_| {
            let Some(el) = list.get() else { return };
            let target: leptos::web_sys::HtmlOListElement = el.clone();
            let settle = settle.clone();
            let on_resize = Closure::<dyn Fn()>::new({
                let target = target.clone();
                move || settle(&target)
            });
            let Ok(observer) = web_sys::ResizeObserver::new(on_resize.as_ref().unchecked_ref())
            else {
                return;
            };
            observer.observe(&target);
            let observer = send_wrapper::SendWrapper::new((observer, on_resize));
            on_cleanup(move || observer.0.disconnect());
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (list, settle);
}

/// One message: avatar, name, time, body, and the actions the reader may take on it;
/// a day separator above it when it opens a day. A row that continues its author's group
/// shows no avatar or header (the time appears in the gutter on hover), but keeps them
/// for screen readers.
#[component]
fn MessageRow(line: Line, at: Placement) -> impl IntoView {
    let (state_class, state_text) = match &line.state {
        LineState::Pending => ("pending", Some("sending…".to_string())),
        LineState::Sent => ("sent", None),
        LineState::Failed(why) => ("failed", Some(format!("not sent: {why}"))),
    };
    // A row with a state to show keeps its header.
    let continued = at.continued && state_text.is_none();
    let initial = line
        .from
        .as_str()
        .chars()
        .next()
        .unwrap_or('?')
        .to_uppercase()
        .to_string();
    // The server renders UTC (it does not know the reader's zone); the browser switches
    // to local time once hydrated.
    let ts = line.ts;
    let time = RwSignal::new(clock_utc(ts, now_ms()));
    Effect::new(move |_| time.set(clock(ts)));
    let editing = RwSignal::new(false);
    let (for_name, for_body, for_actions) = (line.clone(), line.clone(), line.clone());
    // A class, not an inline style: the page's Content-Security-Policy allows no inline styles.
    let avatar_class = format!("avatar hue-{}", avatar_hue(&line));
    let class = format!(
        "msg {state_class}{}",
        if continued { " continued" } else { "" }
    );
    let reader = use_context::<Reader>();
    let thread = use_context::<Thread>();
    let body_text = line.body().map(|b| b.to_string());
    let author = line.from.clone();
    let seq = line.seq;
    let selected = move || thread.is_some_and(|t| seq.is_some() && t.selected.get() == seq);
    let class = move || {
        let me = reader.and_then(|r| r.0.get());
        let mentioned = matches!((&body_text, me), (Some(body), Some(me))
            if me != author && crate::ui::rich_text::mentions(body, &me));
        format!(
            "{class}{}{}",
            if mentioned { " mentions-me" } else { "" },
            if selected() { " selected" } else { "" }
        )
    };
    // On a touch screen a tap on a row shows its actions (there is no hover); a tap on
    // something of its own (a button, a link) is that thing's.
    let on_tap = move |ev: leptos::ev::MouseEvent| {
        let (Some(t), Some(seq)) = (thread, seq) else {
            return;
        };
        if tapped_a_control(&ev) {
            return;
        }
        t.selected
            .update(|s| *s = if *s == Some(seq) { None } else { Some(seq) });
    };
    let guest = line.guest.then(|| {
        view! {
            <span class="guest" title="Not signed in: anyone can use this name">"guest"</span>
        }
    });
    let time_view = move || view! { <time>{move || time.get()}</time> };
    let (left, meta) = if continued {
        (
            view! { <span class="gutter-time" aria-hidden="true">{move || time.get()}</span> }
                .into_any(),
            view! {
                <div class="meta sr-only">
                    <span class="from">{line.from.to_string()}</span>
                    {guest}
                    {time_view()}
                </div>
            }
            .into_any(),
        )
    } else {
        (
            view! { <span class=avatar_class><span aria-hidden="true">{initial}</span></span> }
                .into_any(),
            view! {
                <div class="meta">
                    <SenderName line=for_name/>
                    {guest}
                    {time_view()}
                    {state_text.map(|t| view! { <span class="state">{t}</span> })}
                </div>
            }
            .into_any(),
        )
    };
    view! {
        {at.day.map(|day| view! {
            <li class="day-sep" role="separator" aria-label=day.clone()><span>{day.clone()}</span></li>
        })}
        <li class=class data-seq=line.seq.map(|s| s.to_string()) on:click=on_tap>
            {left}
            <div class="msg-main">
                {meta}
                {line.reply_to.map(|to| view! { <ReplyQuote to/> })}
                <RowBody line=for_body editing/>
                {line.seq.map(|seq| view! { <ReactionChips seq/> })}
            </div>
            <RowActions line=for_actions editing/>
        </li>
    }
    .into_any()
}
