//! What a reader can do to messages and people in a room: react and reply (anyone who
//! may speak: [`crate::ui::reactions`], [`crate::ui::replies`]), edit and delete (their
//! own; any message for moderators), and, for moderators, mute and ban someone from the
//! sender's name. Controls appear once the page is hydrated (they need the socket), on
//! hover or keyboard focus (always on touch screens).

use crate::client::driver::Act;
use crate::client::Line;
use crate::protocol::{Body, Content, SanctionKind, UserId};
use leptos::prelude::*;

/// What the room page lets its reader do, given to every row as context.
#[derive(Clone, Copy)]
pub struct Powers {
    /// The reader's user id when signed in (`None` before hydration and for guests).
    pub me: Signal<Option<UserId>>,
    /// Whether the reader may moderate the room.
    pub moderator: Signal<bool>,
    /// Whether the reader may speak here (has a name, is still in the room): then they
    /// may reply and react.
    pub speaks: Signal<bool>,
    /// Sends an act on the room's socket.
    pub act: Callback<Act>,
}

impl Powers {
    fn own(&self, line: &Line) -> bool {
        let me = self.me.get();
        me.is_some() && me.as_ref() == line.user.as_ref()
    }
}

/// A row's body: its text (with "(edited)"), "message deleted", or the edit box.
#[component]
pub fn RowBody(line: Line, editing: RwSignal<bool>) -> impl IntoView {
    let powers = use_context::<Powers>();
    let seq = line.seq;
    match line.content.clone() {
        Content::Deleted { .. } => {
            view! { <p class="body deleted">"message deleted"</p> }.into_any()
        }
        Content::Text { body, edited_ts } => {
            let text = body.to_string();
            let draft = RwSignal::new(text.clone());
            let save = move || {
                editing.set(false);
                let (Some(powers), Some(seq)) = (powers, seq) else {
                    return;
                };
                match Body::parse(&draft.get_untracked()) {
                    Ok(new) if new.as_str() != text => powers.act.run(Act::Edit { seq, body: new }),
                    _ => {}
                }
            };
            let save_click = save.clone();
            view! {
                <Show
                    when=move || editing.get()
                    fallback={
                        let body = body.to_string();
                        let reader = use_context::<crate::ui::message_list::Reader>();
                        move || view! {
                            <p class="body" dir="auto">
                                {
                                    let body = body.clone();
                                    move || {
                                        let me = reader.and_then(|r| r.0.get());
                                        crate::ui::rich_text::render(&body, me.as_ref())
                                    }
                                }
                                {edited_ts.map(|_| view! { <span class="edited">" (edited)"</span> })}
                            </p>
                        }
                    }
                >
                    {
                        // `autofocus` does nothing for an element added after load.
                        let input = NodeRef::<leptos::html::Textarea>::new();
                        Effect::new(move |_| if let Some(el) = input.get() { let _ = el.focus(); });
                        let save = save.clone();
                        let save_click = save_click.clone();
                        view! {
                    <div class="edit-box">
                        <textarea
                            node_ref=input
                            aria-label="Edit message"
                            dir="auto"
                            prop:value=move || draft.get()
                            on:input=move |ev| draft.set(event_target_value(&ev))
                            on:keydown={
                                let save = save.clone();
                                move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
                                    "Enter" if !ev.shift_key() => { ev.prevent_default(); save() }
                                    "Escape" => editing.set(false),
                                    _ => {}
                                }
                            }
                        ></textarea>
                        <div class="edit-actions">
                            <span class="muted">"Enter to save · Esc to cancel"</span>
                            <button type="button" class="secondary" on:click=move |_| editing.set(false)>"Cancel"</button>
                            <button type="button" class="primary small" on:click={let s = save_click.clone(); move |_| s()}>"Save"</button>
                        </div>
                    </div>
                        }
                    }
                </Show>
            }
            .into_any()
        }
    }
}

/// The hover bar of a stored message: React and Reply (anyone who may speak), Edit (its
/// author), Delete (its author or a moderator, with a confirmation).
#[component]
pub fn RowActions(line: Line, editing: RwSignal<bool>) -> impl IntoView {
    let Some(powers) = use_context::<Powers>() else {
        return ().into_any();
    };
    let (Some(seq), false) = (line.seq, matches!(line.content, Content::Deleted { .. })) else {
        return ().into_any();
    };
    let thread = use_context::<crate::ui::replies::Thread>();
    let confirming = RwSignal::new(false);
    let for_edit = line.clone();
    let for_delete = line.clone();
    let can_edit = move || powers.own(&for_edit);
    let can_delete = move || powers.own(&for_delete) || powers.moderator.get();
    let any = {
        let can_delete = can_delete.clone();
        move || powers.speaks.get() || can_delete()
    };
    view! {
        <Show when=move || !editing.get() && any()>
            <div class="msg-actions" role="group" aria-label="Message actions">
                <Show
                    when=move || confirming.get()
                    fallback={
                        let can_edit = can_edit.clone();
                        let can_delete = can_delete.clone();
                        move || view! {
                            <Show when=move || powers.speaks.get()>
                                <crate::ui::reactions::ReactionPicker seq/>
                                <button type="button" on:click=move |_| {
                                    if let Some(t) = thread {
                                        t.replying.set(Some(seq));
                                        t.selected.set(None);
                                    }
                                }>"Reply"</button>
                            </Show>
                            <Show when=can_edit.clone()>
                                <button type="button" on:click=move |_| editing.set(true)>"Edit"</button>
                            </Show>
                            <Show when=can_delete.clone()>
                                <button type="button" class="danger-text" on:click=move |_| confirming.set(true)>"Delete"</button>
                            </Show>
                        }
                    }
                >
                    <span>"Delete this message?"</span>
                    <button type="button" class="danger-text" on:click=move |_| {
                        confirming.set(false);
                        powers.act.run(Act::Delete { seq })
                    }>"Delete"</button>
                    <button type="button" on:click=move |_| confirming.set(false)>"Cancel"</button>
                </Show>
            </div>
        </Show>
    }
    .into_any()
}

/// The sender's name; for a moderator, a button that opens a menu to mute or ban them
/// (not for guests, who have no user to sanction, nor for the reader themselves).
#[component]
pub fn SenderName(line: Line) -> impl IntoView {
    let name = line.from.to_string();
    let powers = use_context::<Powers>();
    let target = line.user.clone();
    let menu_for = move || match (powers, &target) {
        (Some(p), Some(user)) if p.moderator.get() && p.me.get().as_ref() != Some(user) => {
            Some((p, user.clone()))
        }
        _ => None,
    };
    move || match menu_for() {
        Some((powers, user)) => view! { <NameMenu name=name.clone() user powers/> }.into_any(),
        None => view! { <span class="from">{name.clone()}</span> }.into_any(),
    }
}

/// A moderator's menu on someone's name: mute or ban them, for a while or for good.
#[component]
fn NameMenu(name: String, user: UserId, powers: Powers) -> impl IntoView {
    let label = name.clone();
    let open = RwSignal::new(false);
    let item = move |label: &'static str, kind: SanctionKind, duration_s: Option<u64>| {
        let user = user.clone();
        view! {
            <button type="button" role="menuitem" on:click=move |_| {
                open.set(false);
                powers.act.run(Act::Sanction { kind, user: user.clone(), duration_s })
            }>{label}</button>
        }
    };
    let items = (
        item("Mute for 10 minutes", SanctionKind::Mute, Some(600)),
        item("Mute", SanctionKind::Mute, None),
        item("Ban for 1 hour", SanctionKind::Ban, Some(3600)),
        item("Ban from the room", SanctionKind::Ban, None),
    );
    // Opening the menu moves the focus into it, so it works from the keyboard.
    let menu = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        if !open.get() {
            return;
        }
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let first = menu
                .get()
                .and_then(|m| m.query_selector("button").ok().flatten())
                .and_then(|b| b.dyn_into::<web_sys::HtmlElement>().ok());
            if let Some(b) = first {
                let _ = b.focus();
            }
        }
    });
    view! {
        <span class="name-menu" on:keydown=move |ev: leptos::ev::KeyboardEvent| if ev.key() == "Escape" { open.set(false) }>
            <button
                type="button"
                class="from"
                aria-haspopup="menu"
                aria-expanded=move || open.get().to_string()
                on:click=move |_| open.update(|o| *o = !*o)
            >{label}</button>
            <div class="menu" role="menu" aria-label="Moderate" node_ref=menu hidden=move || !open.get()>
                <span class="menu-title" aria-hidden="true">{format!("Moderate {name}")}</span>
                {items}
            </div>
        </span>
    }
}
