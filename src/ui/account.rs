//! `/signin` and `/signup`, and the bar that says who you are. The forms post to the
//! server as plain HTML forms (`/account/signin`, `/account/signup`), so they work the
//! same with JavaScript off; errors come back as `?error=<code>`.

use crate::protocol::{UserId, UserName};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

/// The signed-in account, as the pages show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    /// Its user id.
    pub user: UserId,
    /// Its name.
    pub name: UserName,
}

/// Who the session cookie says is signed in (`None`: a guest).
#[server]
pub async fn whoami() -> Result<Option<Me>, ServerFnError> {
    let headers: axum::http::HeaderMap = leptos_axum::extract().await?;
    Ok(crate::ui::ssr::reads()
        .who(&headers)
        .await
        .map(|(user, name)| Me { user, name }))
}

/// What an `?error=` code means, for people.
fn error_text(code: &str) -> &'static str {
    match code {
        "wrong" | "unauthorized" => "Wrong name or password.",
        "rate_limited" => "Too many attempts. Wait a few minutes, then try again.",
        "name_taken" => "That name is taken. Pick another one.",
        "weak_password" => "A password needs 10 to 256 characters.",
        "invalid_name" => "A name is 1 to 32 characters, without control or invisible characters.",
        _ => "That did not work. Please try again.",
    }
}

/// Which of the two forms.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    SignIn,
    SignUp,
}

#[component]
fn AccountForm(kind: Kind) -> impl IntoView {
    let query = use_query_map();
    let error = move || query.read().get("error").map(|c| error_text(&c));
    let name = move || query.read().get("name").unwrap_or_default();
    let next = move || query.read().get("next").unwrap_or_else(|| "/".into());
    let (title, action, button, password_hint, other) = match kind {
        Kind::SignIn => (
            "Sign in",
            "/account/signin",
            "Sign in",
            "current-password",
            view! { <p class="switch">"New here? "<a href="/signup">"Create an account"</a></p> },
        ),
        Kind::SignUp => (
            "Create an account",
            "/account/signup",
            "Create account",
            "new-password",
            view! { <p class="switch">"Have an account? "<a href="/signin">"Sign in"</a></p> },
        ),
    };
    view! {
        <Title text=format!("{title} · Chorus")/>
        <main class="center">
            <section class="card account">
                <div class="brand">
                    <a class="logo" href="/" aria-label="Chorus lobby">"◉"</a>
                    <h1>{title}</h1>
                </div>
                <form class="join-form" method="post" action=action>
                    <input type="hidden" name="next" value=next/>
                    <label>
                        <span>"Name"</span>
                        <input name="name" autocomplete="username" maxlength="32" required value=name/>
                    </label>
                    <label>
                        <span>"Password"</span>
                        <input name="password" type="password" autocomplete=password_hint minlength="10" maxlength="256" required/>
                        {(kind == Kind::SignUp).then(|| view! { <small class="hint">"At least 10 characters."</small> })}
                    </label>
                    <p class="form-error" role="alert">{error}</p>
                    <button type="submit" class="primary">{button}</button>
                </form>
                {other}
            </section>
        </main>
    }
}

/// `/signin`.
#[component]
pub fn SignIn() -> impl IntoView {
    view! { <AccountForm kind=Kind::SignIn/> }
}

/// `/signup`.
#[component]
pub fn SignUp() -> impl IntoView {
    view! { <AccountForm kind=Kind::SignUp/> }
}

/// Who you are, and the way to sign in or out; `next` is where signing in comes back to.
#[component]
pub fn UserBar(me: Option<Me>, next: String) -> impl IntoView {
    match me {
        Some(me) => view! {
            <form class="user-bar" method="post" action="/account/signout">
                <span class="me" title=me.user.to_string()>{me.name.to_string()}</span>
                <button type="submit" class="link">"Sign out"</button>
            </form>
        }
        .into_any(),
        None => {
            let q = next_query(&next);
            view! {
                <nav class="user-bar" aria-label="Account">
                    <a href=format!("/signin?{q}")>"Sign in"</a>
                    <a class="signup" href=format!("/signup?{q}")>"Sign up"</a>
                </nav>
            }
            .into_any()
        }
    }
}

/// `next=<path>`, percent-encoded (room names need none, but a path may).
fn next_query(next: &str) -> String {
    let encoded: String = next
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("next={encoded}")
}
