//! A message body as people expect to read it: web addresses become links, `@name`
//! mentions stand out (a mention of the reader most), everything else stays plain text.
//!
//! Only `http://` and `https://` addresses are links, so no body can make a
//! `javascript:` or `data:` link; links open in a new tab with
//! `rel="noopener noreferrer nofollow"` (no access to this page, no referrer, no search
//! credit for spam). Nothing in a body is ever parsed as HTML: every piece is a text node
//! or an attribute value, which the renderer escapes.

use crate::protocol::UserName;
use leptos::prelude::*;

/// One piece of a body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// Plain text.
    Text(String),
    /// An `http`/`https` address, shown as itself.
    Link(String),
    /// `@name`; `mine` when it names the reader.
    Mention {
        /// The text, `@` included.
        text: String,
        /// It names the reader.
        mine: bool,
    },
}

/// Punctuation that ends a sentence rather than an address or a name.
fn trailing(c: char) -> bool {
    ".,;:!?'\")]}>".contains(c)
}

/// The length in bytes of an address starting at `rest`, if one does.
fn link_len(rest: &str) -> Option<usize> {
    let lower: String = rest
        .chars()
        .take(8)
        .collect::<String>()
        .to_ascii_lowercase();
    let scheme = if lower.starts_with("https://") {
        8
    } else if lower.starts_with("http://") {
        7
    } else {
        return None;
    };
    // An address ends at a space or at a character no address holds unescaped.
    let end = rest
        .find(|c: char| c.is_whitespace() || "\"<>`".contains(c))
        .unwrap_or(rest.len());
    let mut url = &rest[..end];
    // "(see https://x.example/a)" ends before the ")", "…/Foo_(bar)" keeps it.
    while let Some(c) = url.chars().last() {
        let unbalanced_paren = c == ')' && url.matches('(').count() < url.matches(')').count();
        if trailing(c) && (c != ')' || unbalanced_paren) {
            url = &url[..url.len() - c.len_utf8()];
        } else {
            break;
        }
    }
    (url.len() > scheme).then_some(url.len())
}

/// The length in bytes of a mention starting at `rest` (which starts with `@`): the
/// reader's whole name when it follows (names may hold spaces), else one word.
fn mention_len(rest: &str, me: Option<&UserName>) -> Option<(usize, bool)> {
    let after = &rest[1..];
    if let Some(me) = me {
        let name = me.as_str();
        if let Some(head) = after.get(..name.len()) {
            let boundary = after[name.len()..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_alphanumeric() && c != '_' && c != '-');
            if boundary && head.to_lowercase() == name.to_lowercase() {
                return Some((1 + name.len(), true));
            }
        }
    }
    let word: usize = after
        .char_indices()
        .take_while(|(_, c)| c.is_alphanumeric() || "_-.".contains(*c))
        .last()
        .map_or(0, |(i, c)| i + c.len_utf8());
    let word = after[..word].trim_end_matches('.').len();
    (word > 0).then_some((1 + word, false))
}

/// Splits a body into text, links and mentions. `me` is the reader's name, if any.
pub fn pieces(body: &str, me: Option<&UserName>) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut i = 0;
    let mut prev: Option<char> = None;
    while i < body.len() {
        let rest = &body[i..];
        let at_word_start = prev.is_none_or(|p| !p.is_alphanumeric() && p != '@');
        let found = if !at_word_start {
            None
        } else if rest.starts_with('@') {
            mention_len(rest, me).map(|(n, mine)| {
                (
                    n,
                    Piece::Mention {
                        text: rest[..n].to_owned(),
                        mine,
                    },
                )
            })
        } else {
            link_len(rest).map(|n| (n, Piece::Link(rest[..n].to_owned())))
        };
        if let Some((n, piece)) = found {
            if !text.is_empty() {
                out.push(Piece::Text(std::mem::take(&mut text)));
            }
            out.push(piece);
            prev = rest[..n].chars().last();
            i += n;
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            text.push(c);
            prev = Some(c);
            i += c.len_utf8();
        }
    }
    if !text.is_empty() {
        out.push(Piece::Text(text));
    }
    out
}

/// Whether a body mentions the reader.
pub fn mentions(body: &str, me: &UserName) -> bool {
    pieces(body, Some(me))
        .iter()
        .any(|p| matches!(p, Piece::Mention { mine: true, .. }))
}

/// Renders a body's pieces.
pub fn render(body: &str, me: Option<&UserName>) -> impl IntoView {
    pieces(body, me)
        .into_iter()
        .map(|p| match p {
            Piece::Text(t) => t.into_any(),
            Piece::Link(url) => {
                let href = url.clone();
                view! { <a href=href target="_blank" rel="noopener noreferrer nofollow">{url}</a> }
                    .into_any()
            }
            Piece::Mention { text, mine } => view! {
                <span class=if mine { "mention me" } else { "mention" }>{text}</span>
            }
            .into_any(),
        })
        .collect_view()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Piece::*;

    fn t(s: &str) -> Piece {
        Text(s.to_owned())
    }

    #[test]
    fn addresses_become_links_without_their_punctuation() {
        assert_eq!(
            pieces("see https://a.example/x?y=1.", None),
            [t("see "), Link("https://a.example/x?y=1".into()), t(".")]
        );
        assert_eq!(
            pieces("(http://a.example/b)", None),
            [t("("), Link("http://a.example/b".into()), t(")")]
        );
        assert_eq!(
            pieces("https://en.example/Foo_(bar) ok", None),
            [Link("https://en.example/Foo_(bar)".into()), t(" ok")]
        );
        assert_eq!(
            pieces("HTTPS://A.EXAMPLE", None),
            [Link("HTTPS://A.EXAMPLE".into())]
        );
        assert_eq!(
            pieces("<a href=\"https://e.example\">x</a>", None),
            [
                t("<a href=\""),
                Link("https://e.example".into()),
                t("\">x</a>")
            ]
        );
    }

    #[test]
    fn nothing_but_http_is_a_link() {
        for body in [
            "javascript:alert(1)",
            "data:text/html,<script>x</script>",
            "https://",
            "xhttps://a.example",
            "ftp://a.example",
            "<a href=\"javascript:alert(1)\">x</a>",
        ] {
            assert_eq!(pieces(body, None), [t(body)], "{body}");
        }
    }

    #[test]
    fn mentions_stand_out_and_the_readers_most() {
        let me = UserName::parse("Ann Lee").unwrap();
        assert_eq!(
            pieces("hi @ann lee, and @bob.", Some(&me)),
            [
                t("hi "),
                Mention {
                    text: "@ann lee".into(),
                    mine: true
                },
                t(", and "),
                Mention {
                    text: "@bob".into(),
                    mine: false
                },
                t("."),
            ]
        );
        assert!(mentions("@Ann Lee look", &me));
        assert!(
            !mentions("@Ann Leek look", &me),
            "a longer name is someone else"
        );
        assert!(
            !mentions("mail ann@lee.example", &me),
            "an address is no mention"
        );
        assert_eq!(pieces("a@b", None), [t("a@b")]);
        assert_eq!(pieces("@ alone", None), [t("@ alone")]);
    }

    #[test]
    fn non_ascii_text_is_kept_whole() {
        let me = UserName::parse("Zoë").unwrap();
        assert_eq!(
            pieces("שלום @zoë ✨ https://ü.example/ä", Some(&me)),
            [
                t("שלום "),
                Mention {
                    text: "@zoë".into(),
                    mine: true
                },
                t(" ✨ "),
                Link("https://ü.example/ä".into()),
            ]
        );
    }
}
#[cfg(test)]
mod probe {
    #[test]
    fn probe() {
        let html = "see https://example.com and <a href=\"https://evil.example\">click</a> <img src=x onerror=alert(1)>";
        println!("{:?}", super::pieces(html, None));
    }
}
