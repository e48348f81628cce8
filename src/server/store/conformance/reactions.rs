//! The contract of replies and reactions (v1.1), for every store.

use super::{draft, room};
use crate::protocol::{Body, UserName};
use crate::server::store::{Appended, Draft, Store, StoreError};
use std::sync::Arc;

fn reaction(emoji: &str, who: &str, on: bool) -> crate::server::store::Reaction {
    crate::server::store::Reaction {
        emoji: crate::protocol::Emoji::parse(emoji).unwrap(),
        who: crate::server::store::Reactor::guest(who, UserName::parse(who).unwrap()),
        on,
    }
}

fn counts(r: crate::server::store::Reacted) -> Vec<(String, u32)> {
    match r {
        crate::server::store::Reacted::Counts { counts, .. } => counts
            .iter()
            .map(|(e, n)| (e.as_str().to_owned(), n))
            .collect(),
        other => panic!("expected counts, got {other:?}"),
    }
}

/// Replies are stored with their message; reactions count once per reactor, leave out
/// emoji at 0, are read back with every read, are capped per message, and an unknown or
/// deleted message has none to change.
pub async fn replies_and_reactions(s: Arc<dyn Store>) {
    use crate::server::store::Amendment;
    use crate::server::store::Reacted;
    let r = room("react");
    s.append(draft("react", "x1")).await.unwrap();
    let Appended::Stored(reply) = s
        .append(Draft {
            reply_to: Some(1),
            ..draft("react", "x2")
        })
        .await
        .unwrap()
    else {
        panic!("new message")
    };
    assert_eq!(reply.reply_to, Some(1));
    assert!(matches!(
        s.append(Draft {
            reply_to: Some(99),
            ..draft("react", "x3")
        })
        .await,
        Err(StoreError::NoSuchReply { seq: 99 })
    ));
    assert_eq!(
        s.meta(&r).await.unwrap().last_seq,
        2,
        "a refused reply takes no seq"
    );
    assert_eq!(s.message(&r, 2).await.unwrap().unwrap().reply_to, Some(1));
    assert_eq!(
        counts(s.react(&r, 1, reaction("👍", "a", true)).await.unwrap()),
        [("👍".to_owned(), 1)]
    );
    let again = s.react(&r, 1, reaction("👍", "a", true)).await.unwrap();
    assert!(
        matches!(again, Reacted::Counts { changed: false, .. }),
        "once per reactor"
    );
    s.react(&r, 1, reaction("👍", "b", true)).await.unwrap();
    let both = counts(s.react(&r, 1, reaction("🎉", "b", true)).await.unwrap());
    assert_eq!(both, [("🎉".to_owned(), 1), ("👍".to_owned(), 2)]);
    let m = s.message(&r, 1).await.unwrap().unwrap();
    assert_eq!(
        m.reactions
            .count(&crate::protocol::Emoji::parse("👍").unwrap()),
        2
    );
    let h = s.history(&r, None, 10).await.unwrap();
    assert_eq!(h.messages[0].reactions, m.reactions);
    assert!(h.messages[1].reactions.is_empty());
    assert_eq!(h.messages[1].reply_to, Some(1));
    let range = s.range(&r, 0, 10, 10, usize::MAX).await.unwrap();
    assert_eq!(range.messages, h.messages);
    let who = s.reactors(&r, 1, "g:b").await.unwrap().unwrap();
    assert_eq!(who.mine.len(), 2);
    let names: Vec<&str> = who
        .by
        .values()
        .next()
        .unwrap()
        .iter()
        .map(|n| n.as_str())
        .collect();
    assert_eq!(names, ["b"]);
    let up: Vec<&str> = who.by[&crate::protocol::Emoji::parse("👍").unwrap()]
        .iter()
        .map(|n| n.as_str())
        .collect();
    assert_eq!(up, ["a", "b"], "oldest first");
    let off = s.react(&r, 1, reaction("🎉", "b", false)).await.unwrap();
    assert!(matches!(off, Reacted::Counts { changed: true, .. }));
    assert_eq!(
        counts(off),
        [("👍".to_owned(), 2)],
        "an emoji at 0 is left out"
    );
    let none = s.react(&r, 1, reaction("🎉", "b", false)).await.unwrap();
    assert!(matches!(none, Reacted::Counts { changed: false, .. }));
    for i in 0..19 {
        s.react(&r, 2, reaction(&format!("e{i}"), "a", true))
            .await
            .unwrap();
    }
    s.react(&r, 2, reaction("last", "a", true)).await.unwrap();
    assert_eq!(
        s.react(&r, 2, reaction("more", "a", true)).await.unwrap(),
        Reacted::TooMany
    );
    assert_eq!(
        s.react(&r, 9, reaction("👍", "a", true)).await.unwrap(),
        Reacted::NotFound
    );
    assert_eq!(
        s.react(&room("nowhere"), 1, reaction("👍", "a", true))
            .await
            .unwrap(),
        Reacted::NotFound
    );
    assert_eq!(s.reactors(&r, 9, "g:a").await.unwrap(), None);
    let gone = s.amend(&r, 1, Amendment::Delete).await.unwrap().unwrap();
    assert!(
        gone.reactions.is_empty(),
        "a deleted message has no reactions"
    );
    assert!(s
        .message(&r, 1)
        .await
        .unwrap()
        .unwrap()
        .reactions
        .is_empty());
    assert!(s.history(&r, None, 10).await.unwrap().messages[0]
        .reactions
        .is_empty());
    assert_eq!(
        s.react(&r, 1, reaction("👍", "a", true)).await.unwrap(),
        Reacted::NotFound
    );
    assert_eq!(s.reactors(&r, 1, "g:a").await.unwrap(), None);
    let edited = s
        .amend(
            &r,
            2,
            Amendment::Edit {
                body: Body::parse("changed").unwrap(),
                ts: 5,
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(edited.reactions.len(), 20, "an edit keeps the reactions");
    assert_eq!(edited.reply_to, Some(1));
}

/// Reactions go when their message goes: retention and a purge leave none behind for a
/// later message with the same seq.
pub async fn reactions_go_with_their_message(s: Arc<dyn Store>) {
    let r = room("rgone");
    s.append(draft("rgone", "g1")).await.unwrap();
    s.react(&r, 1, reaction("👍", "a", true)).await.unwrap();
    s.purge(&r).await.unwrap();
    s.append(draft("rgone", "g2")).await.unwrap();
    let m = s.message(&r, 1).await.unwrap().unwrap();
    assert!(
        m.reactions.is_empty(),
        "a new history's seq 1 has no old reactions"
    );
    assert_eq!(
        s.reactors(&r, 1, "g:a").await.unwrap().unwrap().mine,
        vec![]
    );
}
