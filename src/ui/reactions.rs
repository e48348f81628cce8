//! Reactions (v1.1 "Replies and reactions") under a message: a chip per emoji with its
//! count, highlighted when the reader is one of them (a click takes it back, a click on
//! another's adds it), "who reacted" on hover (asked of the server with `reactors`), and
//! the picker of common emoji behind the row's "Add reaction" button.
//!
//! Which chips are the reader's is known from their own clicks and from each
//! `reactors` answer; it is kept per room in this browser's localStorage so a reload
//! still shows it (a user's reactions from another device show after a hover).

use crate::client::driver::Act;
use crate::client::RoomView;
use crate::protocol::{Emoji, Reactions, RoomName};
use crate::ui::moderation::Powers;
use leptos::prelude::*;
use std::collections::{BTreeSet, HashMap};

/// The picker's emoji: what chats most react with.
pub(crate) const COMMON: [&str; 8] = ["👍", "❤️", "😂", "🎉", "😮", "😢", "🙏", "👀"];

/// Messages whose "mine" this browser remembers per room at most (the newest seqs).
const REMEMBERED: usize = 500;

/// The reader's own reactions in a room, given as context by the room page.
#[derive(Clone, Copy)]
pub(crate) struct MyReactions {
    room: StoredValue<RoomName>,
    mine: RwSignal<HashMap<u64, BTreeSet<Emoji>>>,
    /// Per message, the order of the reader's last question (`reactors`) and last change
    /// (`react`) on this socket: an answer to a question asked before a change of the
    /// reader's does not know of it, so it must not undo it.
    asked: StoredValue<HashMap<u64, u64>>,
    changed: StoredValue<HashMap<u64, u64>>,
    tick: StoredValue<u64>,
}

impl MyReactions {
    /// What this browser remembers for `room` (nothing on the server; loaded once
    /// hydrated, so the first render agrees with the server's).
    pub fn new(room: RoomName) -> Self {
        let me = Self {
            room: StoredValue::new(room),
            mine: RwSignal::new(HashMap::new()),
            asked: StoredValue::new(HashMap::new()),
            changed: StoredValue::new(HashMap::new()),
            tick: StoredValue::new(0),
        };
        Effect::new(move |_| {
            let loaded = load(&me.room.get_value());
            me.mine.set(loaded);
        });
        me
    }

    /// Whether the reader reacts to `seq` with `emoji`.
    pub fn has(&self, seq: u64, emoji: &Emoji) -> bool {
        self.mine
            .with(|m| m.get(&seq).is_some_and(|set| set.contains(emoji)))
    }

    fn next_tick(&self) -> u64 {
        self.tick.update_value(|t| *t += 1);
        self.tick.get_value()
    }

    /// The reader asks who reacted to `seq` (the answer comes to [`Self::correct`]).
    pub fn asking(&self, seq: u64) {
        let t = self.next_tick();
        self.asked.update_value(|a| {
            a.insert(seq, t);
        });
    }

    /// Records a reaction the reader made or took back.
    pub fn set(&self, seq: u64, emoji: Emoji, on: bool) {
        let t = self.next_tick();
        self.changed.update_value(|c| {
            c.insert(seq, t);
        });
        self.mine.update(|m| {
            let set = m.entry(seq).or_default();
            if on {
                set.insert(emoji);
            } else {
                set.remove(&emoji);
            }
            if set.is_empty() {
                m.remove(&seq);
            }
        });
        self.save();
    }

    /// The server's word on which of `seq`'s reactions are the reader's.
    pub fn correct(&self, seq: u64, mine: &[Emoji]) {
        let asked = self.asked.with_value(|a| a.get(&seq).copied().unwrap_or(0));
        let changed = self
            .changed
            .with_value(|c| c.get(&seq).copied().unwrap_or(0));
        if changed > asked {
            return; // Asked before the reader's own change: the answer is behind it.
        }
        let now: BTreeSet<Emoji> = mine.iter().cloned().collect();
        if self
            .mine
            .with_untracked(|m| m.get(&seq).cloned().unwrap_or_default())
            == now
        {
            return;
        }
        self.mine.update(|m| {
            if now.is_empty() {
                m.remove(&seq);
            } else {
                m.insert(seq, now);
            }
        });
        self.save();
    }

    fn save(&self) {
        self.mine
            .with_untracked(|m| store(&self.room.get_value(), m));
    }
}

#[cfg(feature = "hydrate")]
fn key(room: &RoomName) -> String {
    format!("chorus.reactions.{room}")
}

/// `{"seq": ["emoji", …], …}` in localStorage.
fn load(room: &RoomName) -> HashMap<u64, BTreeSet<Emoji>> {
    #[cfg(feature = "hydrate")]
    {
        let text = web_sys::window()
            .and_then(|w| w.local_storage().ok().flatten())
            .and_then(|s| s.get_item(&key(room)).ok().flatten());
        text.and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = room;
        HashMap::new()
    }
}

fn store(room: &RoomName, mine: &HashMap<u64, BTreeSet<Emoji>>) {
    #[cfg(feature = "hydrate")]
    {
        let mut seqs: Vec<u64> = mine.keys().copied().collect();
        seqs.sort_unstable_by(|a, b| b.cmp(a));
        let kept: HashMap<u64, &BTreeSet<Emoji>> = seqs
            .into_iter()
            .take(REMEMBERED)
            .filter_map(|s| Some((s, mine.get(&s)?)))
            .collect();
        if let (Some(s), Ok(text)) = (
            web_sys::window().and_then(|w| w.local_storage().ok().flatten()),
            serde_json::to_string(&kept),
        ) {
            let _ = s.set_item(&key(room), &text);
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (room, mine, REMEMBERED);
}

/// The chips under message `seq`, from the row's reactions in the room's timeline (read
/// there, so a reaction redraws the chips and not the row).
#[component]
pub(crate) fn ReactionChips(seq: u64) -> impl IntoView {
    let Some(view) = use_context::<RoomView>() else {
        return ().into_any();
    };
    let powers = use_context::<Powers>();
    let mine = use_context::<MyReactions>();
    let counts = Memo::new(move |_| {
        view.timeline
            .with(|t| t.line(seq).map(|l| l.reactions.clone()))
            .unwrap_or_default()
    });
    // Who reacted, once asked on hover: the newest answer for this message.
    let asked = RwSignal::new(false);
    Effect::new(move |_| {
        if let (Some(answer), Some(mine)) = (view.reactors.get(), mine) {
            if answer.seq == seq {
                mine.correct(seq, &answer.mine);
            }
        }
    });
    let who = move |emoji: &Emoji, n: u32| -> String {
        let names = view.reactors.with(|r| {
            r.as_ref()
                .filter(|r| r.seq == seq)
                .and_then(|r| r.by.get(emoji).cloned())
        });
        match names {
            Some(names) if !names.is_empty() => {
                let more = (n as usize).saturating_sub(names.len());
                let list = names.join(", ");
                if more > 0 {
                    format!("{list} and {more} more reacted with {emoji}")
                } else {
                    format!("{list} reacted with {emoji}")
                }
            }
            _ => format!("{n} reacted with {emoji}"),
        }
    };
    let ask = move || {
        if let (Some(p), false) = (powers, asked.get_untracked()) {
            asked.set(true);
            if let Some(m) = mine {
                m.asking(seq);
            }
            p.act.run(Act::Reactors { seq });
        }
    };
    // A new count may mean new names: ask again on the next hover.
    Effect::new(move |_| {
        counts.track();
        asked.set(false);
    });
    view! {
        <Show when=move || counts.with(|c| !c.is_empty())>
            <div class="reactions" role="group" aria-label="Reactions" on:mouseenter=move |_| ask() on:focusin=move |_| ask()>
                <For
                    each=move || counts.with(|c: &Reactions| c.iter().map(|(e, n)| (e.clone(), n)).collect::<Vec<_>>())
                    key=|(e, n): &(Emoji, u32)| format!("{e}:{n}")
                    children=move |(emoji, n): (Emoji, u32)| {
                        let is_mine = {
                            let emoji = emoji.clone();
                            move || mine.is_some_and(|m| m.has(seq, &emoji))
                        };
                        let label = {
                            let emoji = emoji.clone();
                            move || who(&emoji, n)
                        };
                        let toggle = {
                            let emoji = emoji.clone();
                            let is_mine = is_mine.clone();
                            move |_| react(powers, mine, seq, emoji.clone(), !is_mine())
                        };
                        let mine_class = is_mine.clone();
                        view! {
                            <button
                                type="button"
                                class=move || if mine_class() { "chip mine" } else { "chip" }
                                aria-pressed=move || is_mine().to_string()
                                title=label.clone()
                                aria-label=label
                                disabled=move || !powers.is_some_and(|p| p.speaks.get())
                                on:click=toggle
                            >
                                <span class="chip-emoji" aria-hidden="true">{emoji.to_string()}</span>
                                <span class="chip-count" aria-hidden="true">{n}</span>
                            </button>
                        }
                    }
                />
            </div>
        </Show>
    }
    .into_any()
}

/// Sends a reaction and remembers it as the reader's.
fn react(powers: Option<Powers>, mine: Option<MyReactions>, seq: u64, emoji: Emoji, on: bool) {
    let Some(powers) = powers else { return };
    if let Some(m) = mine {
        m.set(seq, emoji.clone(), on);
    }
    powers.act.run(Act::React { seq, emoji, on });
}

/// The row's "Add reaction" button and its picker of [`COMMON`] emoji.
#[component]
pub(crate) fn ReactionPicker(seq: u64) -> impl IntoView {
    let powers = use_context::<Powers>();
    let mine = use_context::<MyReactions>();
    let open = RwSignal::new(false);
    let items = COMMON
        .iter()
        .filter_map(|e| Emoji::parse(e).ok())
        .map(|emoji| {
            let label = format!("React with {emoji}");
            let shown = emoji.to_string();
            view! {
                <button type="button" role="menuitem" aria-label=label title=shown.clone() on:click=move |_| {
                    open.set(false);
                    let on = !mine.is_some_and(|m| m.has(seq, &emoji));
                    react(powers, mine, seq, emoji.clone(), on);
                }>{shown.clone()}</button>
            }
        })
        .collect_view();
    view! {
        <span class="picker-wrap" on:keydown=move |ev: leptos::ev::KeyboardEvent| if ev.key() == "Escape" { open.set(false) }>
            <button
                type="button"
                aria-label="Add reaction"
                title="Add reaction"
                aria-haspopup="menu"
                aria-expanded=move || open.get().to_string()
                on:click=move |_| open.update(|o| *o = !*o)
            >"☺+"</button>
            <div class="picker" role="menu" aria-label="Pick a reaction" hidden=move || !open.get()>
                {items}
            </div>
        </span>
    }
}
