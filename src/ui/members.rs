//! `/r/{room}/members`: the member manager of a room with an owner, for its owner and
//! moderators: who is in it with which role, change a role, remove someone, add someone
//! by account name. Plain forms posting to `/account/members` (303 back here), so it
//! works without JavaScript; to anyone else the page is "not found".

use crate::protocol::RoomName;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};

/// One row of the list, as the page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRow {
    /// The user id (what the forms send back).
    pub user: String,
    /// The account name; `None` for a token's user, shown by id.
    pub name: Option<String>,
    /// `owner`, `moderator` or `member`.
    pub role: String,
}

/// The room's roster, if the reader manages it (`None`: not found, to them).
#[server]
pub async fn room_members(room: RoomName) -> Result<Option<Vec<MemberRow>>, ServerFnError> {
    let headers: axum::http::HeaderMap = leptos_axum::extract().await?;
    let roster = crate::ui::ssr::reads().roster(&headers, &room).await;
    Ok(roster.map(|entries| {
        entries
            .into_iter()
            .map(|e| MemberRow {
                user: e.user.to_string(),
                name: e.name.map(|n| n.to_string()),
                role: e.role.as_str().to_string(),
            })
            .collect()
    }))
}

/// The route component.
#[component]
pub fn MembersPage() -> impl IntoView {
    let params = use_params_map();
    let raw = move || params.read().get("room").unwrap_or_default();
    let roster = Resource::new(raw, |raw| async move {
        match RoomName::parse(&raw) {
            Ok(room) => room_members(room.clone())
                .await
                .ok()
                .flatten()
                .map(|rows| (room, rows)),
            Err(_) => None,
        }
    });
    view! {
        <Suspense fallback=|| view! { <main class="center"><p>"Loading…"</p></main> }>
            {move || Suspend::new(async move {
                match roster.await {
                    Some((room, rows)) => view! { <Manager room rows/> }.into_any(),
                    None => view! { <crate::ui::NotFound/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// What a form's `?error=` or `?done=` says.
fn outcome(error: Option<String>, done: Option<String>) -> Option<(bool, &'static str)> {
    if let Some(e) = error {
        return Some((
            true,
            match e.as_str() {
                "no_account" => "There is no account with that name. Check the spelling.",
                "owner" => "The owner's role does not change.",
                "full" => "The room has as many members as it may.",
                "unavailable" => "That did not work just now. Please try again.",
                _ => "That did not work.",
            },
        ));
    }
    done.map(|d| {
        (
            false,
            match d.as_str() {
                "add" => "Added.",
                "slow_mode" => "Slow mode saved.",
                "remove" => "Removed. They can no longer join the room.",
                _ => "Saved.",
            },
        )
    })
}

#[component]
fn Manager(room: RoomName, rows: Vec<MemberRow>) -> impl IntoView {
    let query = use_query_map();
    let said = move || outcome(query.read().get("error"), query.read().get("done"));
    let count = rows.len();
    let title = format!("Members of #{room} · Chorus");
    let room_s = room.to_string();
    view! {
        <Title text=title/>
        <main class="center">
            <section class="card members-card">
                <p class="back"><a href=format!("/r/{room}")>"← Back to #"{room_s.clone()}</a></p>
                <h1>"Members of #"{room_s.clone()}</h1>
                <p class="muted">{match count {
                    1 => "1 person".to_string(),
                    n => format!("{n} people"),
                }}</p>
                {move || said().map(|(bad, text)| view! {
                    <p class=if bad { "form-error" } else { "form-ok" } role="status">{text}</p>
                })}
                <ul class="roster" aria-label="Members">
                    {rows.into_iter().map(|row| view! { <Row room=room_s.clone() row/> }).collect_view()}
                </ul>
                <form class="add-member" method="post" action="/account/members">
                    <h2>"Add someone"</h2>
                    <input type="hidden" name="room" value=room_s.clone()/>
                    <input type="hidden" name="action" value="add"/>
                    <label class="grow">
                        <span>"Account name"</span>
                        <input name="name" maxlength="32" required autocomplete="off" placeholder="e.g. Bob"/>
                    </label>
                    <div class="field">
                        <label for="add-role">"Role"</label>
                        <select id="add-role" name="role">
                            <option value="member" selected>"Member"</option>
                            <option value="moderator">"Moderator"</option>
                        </select>
                    </div>
                    <button type="submit" class="primary">"Add"</button>
                </form>
                <p class="muted">"People you remove can no longer join; to let someone in without an account name, send an invite link from the room."</p>
                <crate::ui::room_log::RoomLog room=room_s.clone()/>
            </section>
        </main>
    }
}

/// One person: name (or id), role, and for all but the owner a role picker and Remove.
#[component]
fn Row(room: String, row: MemberRow) -> impl IntoView {
    let shown = row.name.clone().unwrap_or_else(|| row.user.clone());
    let initial = shown
        .chars()
        .next()
        .unwrap_or('?')
        .to_uppercase()
        .to_string();
    let label = match row.role.as_str() {
        "owner" => "Owner",
        "moderator" => "Moderator",
        _ => "Member",
    };
    let is_owner = row.role == "owner";
    view! {
        <li class="roster-row" data-user=row.user.clone()>
            <span class="avatar" aria-hidden="true">{initial}</span>
            <span class="who">
                <span class="name">{shown}</span>
                {row.name.is_none().then(|| view! { <span class="muted id">"app user"</span> })}
            </span>
            {if is_owner {
                view! { <span class="role-badge">{label}</span> }.into_any()
            } else {
                let role = row.role.clone();
                view! {
                    <form method="post" action="/account/members" class="row-form">
                        <input type="hidden" name="room" value=room.clone()/>
                        <input type="hidden" name="user" value=row.user.clone()/>
                        <input type="hidden" name="action" value="role"/>
                        <select name="role" aria-label=format!("Role of {}", row.name.clone().unwrap_or_else(|| row.user.clone()))>
                            <option value="member" selected=role == "member">"Member"</option>
                            <option value="moderator" selected=role == "moderator">"Moderator"</option>
                        </select>
                        <button type="submit" class="secondary">"Save"</button>
                    </form>
                    <form method="post" action="/account/members" class="row-form">
                        <input type="hidden" name="room" value=room.clone()/>
                        <input type="hidden" name="user" value=row.user.clone()/>
                        <input type="hidden" name="action" value="remove"/>
                        <button type="submit" class="danger">"Remove"</button>
                    </form>
                }.into_any()
            }}
        </li>
    }
}
