//! Who is here, above the message list: a chip per distinct name (however many tabs it
//! has open); in a big room the first few, "and N more", and a search over the whole
//! member list, which is fetched page by page (`members`) only when the reader opens it.

use crate::client::RoomView;
use leptos::prelude::*;

/// Chips shown before "and N more": a bar of names, not a wall of them.
const CHIPS: usize = 10;
/// Matches shown at once in the search.
const MATCHES: usize = 50;

/// The names of a room, and, when there are more than fit, the way to the rest.
/// `list_members` asks for the whole list (absent on pages that cannot).
#[component]
pub(crate) fn Members(
    view_state: RoomView,
    #[prop(optional)] list_members: Option<Callback<()>>,
) -> impl IntoView {
    let open = use_context::<crate::ui::room::MembersOpen>().map(|m| m.0);
    let searching = RwSignal::new(false);
    let shown = move || {
        view_state
            .members
            .with(|m| m.iter().take(CHIPS).cloned().collect::<Vec<_>>())
    };
    let more = move || {
        let listed = view_state.members.with(|m| m.len().min(CHIPS));
        (view_state.members_total.get() as usize).saturating_sub(listed)
    };
    view! {
        <ul
            id="people-here"
            class=move || if open.is_some_and(|o| o.get()) { "members open" } else { "members" }
            aria-label="People here"
        >
            <For
                each=shown
                key=|name: &String| name.clone()
                children=move |name: String| view! { <li class="member">{name}</li> }
            />
            <Show when=move || { more() > 0 && list_members.is_some() }>
                <li class="member-more">
                    <button
                        type="button"
                        aria-expanded=move || searching.get().to_string()
                        aria-controls="member-search"
                        on:click=move |_| {
                            let now = !searching.get_untracked();
                            searching.set(now);
                            if now {
                                if let Some(list) = list_members {
                                    list.run(());
                                }
                            }
                        }
                    >
                        {move || format!("and {} more", group(more()))}
                    </button>
                </li>
            </Show>
        </ul>
        <Show when=move || searching.get()>
            <MemberSearch view_state close=Callback::new(move |_| searching.set(false))/>
        </Show>
    }
}

/// A search box over the room's whole member list.
#[component]
fn MemberSearch(view_state: RoomView, close: Callback<()>) -> impl IntoView {
    let query = RwSignal::new(String::new());
    // Opened to type in: the box has the focus (`autofocus` counts only on page load).
    let input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(el) = input.get() {
            let _ = el.focus();
        }
    });
    let found = Memo::new(move |_| {
        let q = query.get().to_lowercase();
        view_state.roster.with(|r| {
            let Some(r) = r else {
                return (Vec::new(), 0usize);
            };
            let mut hits = r
                .names
                .iter()
                .filter(|n| q.is_empty() || n.to_lowercase().contains(&q));
            let first: Vec<String> = hits.by_ref().take(MATCHES).cloned().collect();
            let count = first.len() + hits.count();
            (first, count)
        })
    });
    let status = move || {
        let (shown, count) = found.get();
        let loading = view_state
            .roster
            .with(|r| !r.as_ref().is_some_and(|r| r.complete));
        let total = view_state.members_total.get() as usize;
        match (loading, count) {
            (true, 0) => "Loading the member list…".to_string(),
            (_, 0) => "Nobody by that name here.".to_string(),
            (_, n) if n > shown.len() => format!(
                "{} of {} shown; type more of the name",
                shown.len(),
                group(n)
            ),
            (_, n) if query.with(String::is_empty) => {
                format!("{} of {} people", group(n), group(total))
            }
            (_, n) => format!("{} found", group(n)),
        }
    };
    view! {
        <section id="member-search" class="member-search" aria-label="Find people in this room">
            <div class="member-search-bar">
                <input
                    type="search"
                    placeholder="Find someone in this room"
                    aria-label="Find someone in this room"
                    autocomplete="off"
                    prop:value=query
                    on:input=move |ev| query.set(event_target_value(&ev))
                    on:keydown=move |ev| if ev.key() == "Escape" { close.run(()) }
                    node_ref=input
                />
                <button type="button" class="close" aria-label="Close the member search" on:click=move |_| close.run(())>"✕"</button>
            </div>
            <p class="member-search-status" role="status">{status}</p>
            <ul class="member-results">
                <For
                    each=move || found.get().0
                    key=|n: &String| n.clone()
                    children=move |n: String| view! { <li class="member">{n}</li> }
                />
            </ul>
        </section>
    }
}

/// `n` with thousands separated by commas, as people read counts.
pub fn group(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_read_with_thousands_separated() {
        assert_eq!(super::group(0), "0");
        assert_eq!(super::group(999), "999");
        assert_eq!(super::group(1000), "1,000");
        assert_eq!(super::group(9900), "9,900");
        assert_eq!(super::group(1234567), "1,234,567");
    }
}
