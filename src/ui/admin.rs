//! `/admin`: the operator's view. Live numbers of every node (refreshed every 2 s), the
//! busiest rooms, one room's connections with Disconnect, and the actions that reach the
//! whole server: ban a user from every room, delete a room's history. Plain forms
//! posting to `/admin/action` (303 back), so it works without JavaScript. To anyone but
//! an operator (`--admins`) the page is "not found".

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

/// One node's row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeRow {
    /// Its id.
    pub node: String,
    /// Open connections.
    pub connections: u64,
    /// Rooms with members.
    pub rooms: u64,
    /// Messages stored per second.
    pub in_per_s: f64,
    /// Messages sent per second.
    pub out_per_s: f64,
    /// Mean commit time (ms).
    pub commit_ms: Option<f64>,
}

/// One connection of the room being looked at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnRow {
    /// The node it is on.
    pub node: String,
    /// Its id there.
    pub id: u64,
    /// How the room shows it.
    pub name: String,
    /// Its user, if any.
    pub user: Option<String>,
    /// The client's address.
    pub address: String,
    /// Since when (ms since the Unix epoch).
    pub since: u64,
}

/// What the page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdminPage {
    /// Every node.
    pub nodes: Vec<NodeRow>,
    /// Busiest rooms over all nodes.
    pub busiest: Vec<(String, u32)>,
    /// The room asked for and its connections on this node.
    pub room: Option<(String, Vec<ConnRow>)>,
}

/// The page's data, if the reader is an operator.
#[server]
pub async fn admin_view_data(room: Option<String>) -> Result<Option<AdminPage>, ServerFnError> {
    let headers: axum::http::HeaderMap = leptos_axum::extract().await?;
    Ok(crate::ui::ssr::reads().admin_page(&headers, room).await)
}

/// The route component.
#[component]
pub fn AdminView() -> impl IntoView {
    let query = use_query_map();
    let room = move || query.read().get("room").filter(|r| !r.is_empty());
    let data = Resource::new(room, admin_view_data);
    Effect::new(move |_| {
        if let Ok(h) =
            set_interval_with_handle(move || data.refetch(), std::time::Duration::from_secs(2))
        {
            on_cleanup(move || h.clear());
        }
    });
    view! {
        <Title text="Admin · Chorus"/>
        <Transition fallback=|| view! { <main class="center"><p>"Loading…"</p></main> }>
            {move || Suspend::new(async move {
                match data.await.ok().flatten() {
                    Some(page) => view! { <Dashboard page/> }.into_any(),
                    None => view! { <crate::ui::NotFound/> }.into_any(),
                }
            })}
        </Transition>
    }
}

fn rate(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// What a form's `?error=` or `?done=` says.
fn outcome(error: Option<String>, done: Option<String>) -> Option<(bool, &'static str)> {
    if let Some(e) = error {
        return Some((
            true,
            match e.as_str() {
                "no_connection" => "That connection is gone already.",
                "bad_user" => {
                    "That is not a user id (as the room's log and the connections list show them)."
                }
                "confirm" => "Type the room's name exactly to confirm. Nothing was deleted.",
                "unavailable" => "That did not work just now. Please try again.",
                _ => "That did not work.",
            },
        ));
    }
    done.map(|d| {
        (
            false,
            match d.as_str() {
                "disconnect" => "Disconnected. It will reconnect by itself, as the same user.",
                "ban" => "Banned from every room. Their connections were closed.",
                "unban" => "The server-wide ban is lifted.",
                "purge" => "The room's history is deleted. Its members reconnect to an empty room.",
                _ => "Done.",
            },
        )
    })
}

#[component]
fn Dashboard(page: AdminPage) -> impl IntoView {
    let query = use_query_map();
    let said = move || outcome(query.read().get("error"), query.read().get("done"));
    let now = crate::client::clock::now_ms();
    view! {
        <main class="admin">
            <header class="admin-head">
                <a class="home" href="/" aria-label="Chorus lobby">"◉"</a>
                <h1>"Server"</h1>
                <span class="muted">{format!("{} node{}", page.nodes.len(), if page.nodes.len() == 1 { "" } else { "s" })}</span>
            </header>
            {move || said().map(|(bad, text)| view! {
                <p class=if bad { "form-error" } else { "form-ok" } role="status">{text}</p>
            })}
            <section class="card admin-card" aria-labelledby="nodes-h">
                <h2 id="nodes-h">"Live numbers"</h2>
                <table class="admin-table" aria-label="Nodes">
                    <thead><tr>
                        <th scope="col">"Node"</th><th scope="col">"Connections"</th><th scope="col">"Rooms"</th>
                        <th scope="col">"In /s"</th><th scope="col">"Out /s"</th><th scope="col">"Commit"</th>
                    </tr></thead>
                    <tbody>
                        {page.nodes.into_iter().map(|n| view! {
                            <tr>
                                <th scope="row">{n.node}</th>
                                <td>{n.connections}</td>
                                <td>{n.rooms}</td>
                                <td>{rate(n.in_per_s)}</td>
                                <td>{rate(n.out_per_s)}</td>
                                <td>{n.commit_ms.map_or_else(|| "–".to_string(), |ms| format!("{ms:.1} ms"))}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </section>
            <section class="card admin-card" aria-labelledby="busy-h">
                <h2 id="busy-h">"Busiest rooms"</h2>
                {if page.busiest.is_empty() {
                    view! { <p class="muted">"Nobody is in a room right now."</p> }.into_any()
                } else {
                    view! {
                        <ul class="roster" aria-label="Busiest rooms">
                            {page.busiest.into_iter().map(|(room, n)| view! {
                                <li class="roster-row">
                                    <span class="who"><a href=format!("/admin?room={room}")>"#"{room.clone()}</a></span>
                                    <span class="muted">{format!("{n} connected")}</span>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </section>
            {page.room.map(|(room, conns)| view! {
                <section class="card admin-card" aria-labelledby="conns-h">
                    <h2 id="conns-h">"Connections in "<span class="room-ref">"#"{room.clone()}</span></h2>
                    <p class="muted">"On every node. Disconnecting closes the socket; the client reconnects by itself."</p>
                    <table class="admin-table" aria-label="Connections">
                        <thead><tr>
                            <th scope="col">"Name"</th><th scope="col">"User"</th><th scope="col">"Address"</th>
                            <th scope="col">"Node"</th><th scope="col">"Connected"</th><th scope="col"><span class="sr-only">"Actions"</span></th>
                        </tr></thead>
                        <tbody>
                            {conns.into_iter().map(|c| view! {
                                <tr>
                                    <th scope="row">{c.name.clone()}</th>
                                    <td>{c.user.clone().unwrap_or_else(|| "guest".into())}</td>
                                    <td>{c.address}</td>
                                    <td>{c.node.clone()}</td>
                                    <td>{crate::client::clock::clock_utc(c.since, now)}</td>
                                    <td>
                                        <form method="post" action="/admin/action" class="row-form">
                                            <input type="hidden" name="action" value="disconnect"/>
                                            <input type="hidden" name="room" value=room.clone()/>
                                            <input type="hidden" name="node" value=c.node/>
                                            <input type="hidden" name="id" value=c.id.to_string()/>
                                            <button type="submit" class="danger" aria-label=format!("Disconnect {}", c.name)>"Disconnect"</button>
                                        </form>
                                    </td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </section>
            })}
            <section class="card admin-card" aria-labelledby="ban-h">
                <h2 id="ban-h">"Ban a user from every room"</h2>
                <form method="post" action="/admin/action" class="add-member">
                    <input type="hidden" name="action" value="ban"/>
                    <label class="grow"><span>"User id"</span><input name="user" required autocomplete="off" placeholder="acct:… or a token's sub"/></label>
                    <div class="field">
                        <label for="ban-for">"For"</label>
                        <select id="ban-for" name="duration_s">
                            <option value="3600">"1 hour"</option>
                            <option value="86400">"1 day"</option>
                            <option value="604800">"1 week"</option>
                            <option value="" selected>"For good"</option>
                        </select>
                    </div>
                    <button type="submit" class="primary">"Ban"</button>
                </form>
                <form method="post" action="/admin/action" class="add-member">
                    <input type="hidden" name="action" value="unban"/>
                    <label class="grow"><span>"Lift a ban: user id"</span><input name="user" required autocomplete="off"/></label>
                    <button type="submit" class="secondary">"Lift"</button>
                </form>
            </section>
            <section class="card admin-card danger-zone" aria-labelledby="purge-h">
                <h2 id="purge-h">"Delete a room's history"</h2>
                <p class="muted">"Every message of the room is erased for good; people in it reconnect to an empty room."</p>
                <form method="post" action="/admin/action" class="add-member">
                    <input type="hidden" name="action" value="purge"/>
                    <label class="grow"><span>"Room"</span><input name="room" required autocomplete="off"/></label>
                    <label class="grow"><span>"Type the room's name again to confirm"</span><input name="confirm" required autocomplete="off"/></label>
                    <button type="submit" class="danger">"Delete history"</button>
                </form>
            </section>
        </main>
    }
}
