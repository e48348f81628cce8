//! The moderation part of a room's settings page (`/r/{room}/members`): slow mode, and
//! the audit log of what moderators (and authors) did, newest first.

use crate::protocol::RoomName;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One act of the log, as the page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRow {
    /// What was done, for people ("deleted a message").
    pub what: String,
    /// Who did it (an account's name, else the id; "the API" for the key).
    pub by: String,
    /// To whom or to which message, for people.
    pub target: Option<String>,
    /// When (ms since the Unix epoch).
    pub ts: u64,
}

/// The room's slow mode (seconds) and log, if the reader may moderate it.
#[server]
pub async fn room_log(room: RoomName) -> Result<Option<(u32, Vec<LogRow>)>, ServerFnError> {
    use crate::server::moderation::ActKind;
    let headers: axum::http::HeaderMap = leptos_axum::extract().await?;
    let Some((slow, acts, names)) = crate::ui::ssr::reads()
        .moderation_log(&headers, &room)
        .await
    else {
        return Ok(None);
    };
    let person = |id: &str| match crate::protocol::UserId::parse(id) {
        _ if id == "api" => "the API".to_string(),
        Ok(u) => names
            .get(&u)
            .map_or_else(|| id.to_string(), |n| n.to_string()),
        Err(_) => id.to_string(),
    };
    let rows = acts
        .iter()
        .rev()
        .map(|a| {
            let what = match a.act {
                ActKind::Delete => "deleted a message",
                ActKind::Edit => "edited a message",
                ActKind::Ban => "banned",
                ActKind::Unban => "lifted the ban of",
                ActKind::Mute => "muted",
                ActKind::Unmute => "unmuted",
                ActKind::SetRole => "set the role of",
                ActKind::RemoveMember => "removed",
                ActKind::SlowMode => "set slow mode",
                ActKind::Purge => "deleted the room's history",
            };
            let whom = a.target.as_ref().map(|t| person(t.as_str()));
            let target = match (a.act, a.seq, whom, &a.detail) {
                (ActKind::Delete | ActKind::Edit, Some(seq), Some(w), _) => {
                    Some(format!("#{seq} by {w}"))
                }
                (ActKind::Delete | ActKind::Edit, Some(seq), None, _) => Some(format!("#{seq}")),
                (_, _, Some(w), Some(d)) => Some(format!("{w} ({d})")),
                (_, _, Some(w), None) => Some(w),
                (_, _, None, Some(d)) => Some(format!("to {d}")),
                _ => None,
            };
            LogRow {
                what: what.into(),
                by: person(&a.by),
                target,
                ts: a.ts,
            }
        })
        .collect();
    Ok(Some((slow, rows)))
}

/// Slow mode's choices in the form.
const SLOW_CHOICES: &[(u32, &str)] = &[
    (0, "Off"),
    (5, "5 seconds"),
    (10, "10 seconds"),
    (30, "30 seconds"),
    (60, "1 minute"),
    (300, "5 minutes"),
    (900, "15 minutes"),
    (3600, "1 hour"),
];

/// Slow mode and the log, for the settings page.
#[component]
pub fn RoomLog(room: String) -> impl IntoView {
    let parsed = RoomName::parse(&room).ok();
    let log = Resource::new(
        move || parsed.clone(),
        |r| async move {
            match r {
                Some(r) => room_log(r).await.ok().flatten(),
                None => None,
            }
        },
    );
    view! {
        <Suspense fallback=|| ()>
            {
                let room = room.clone();
                move || {
                    let room = room.clone();
                    Suspend::new(async move {
                        log.await.map(|(slow, rows)| view! { <Log room slow rows/> })
                    })
                }
            }
        </Suspense>
    }
}

#[component]
fn Log(room: String, slow: u32, rows: Vec<LogRow>) -> impl IntoView {
    let now = crate::client::clock::now_ms();
    view! {
        <form class="add-member" method="post" action="/account/slow_mode">
            <h2>"Slow mode"</h2>
            <input type="hidden" name="room" value=room/>
            <div class="field grow">
                <label for="slow-mode">"One message per person every"</label>
                <select id="slow-mode" name="seconds">
                    {SLOW_CHOICES.iter().map(|(s, label)| view! {
                        <option value=s.to_string() selected=*s == slow>{*label}</option>
                    }).collect_view()}
                </select>
            </div>
            <button type="submit" class="primary">"Set slow mode"</button>
        </form>
        <h2 class="log-head">"Moderation log"</h2>
        {if rows.is_empty() {
            view! { <p class="muted">"Nothing yet: deletions, edits, bans, mutes and role changes show here."</p> }.into_any()
        } else {
            view! {
                <ol class="roster audit" aria-label="Moderation log">
                    {rows.into_iter().map(|r| view! {
                        <li class="roster-row">
                            <span class="who">
                                <span><strong>{r.by}</strong>" "{r.what}{r.target.map(|t| format!(" {t}"))}</span>
                                <span class="muted id">{crate::client::clock::clock_utc(r.ts, now)}</span>
                            </span>
                        </li>
                    }).collect_view()}
                </ol>
            }.into_any()
        }}
    }
}
