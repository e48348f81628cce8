//! The message list's rules: order, duplicates, pending rows, acks, amendments.

use super::*;
use crate::protocol::RoomName;

fn cid(s: &str) -> ClientId {
    ClientId::parse(s).unwrap()
}

fn pending(t: &mut Timeline, c: &str, body: &str) {
    t.add_pending(
        Outgoing {
            client_id: cid(c),
            body: Body::parse(body).unwrap(),
            reply_to: None,
        },
        UserName::parse("me").unwrap(),
        0,
    );
}

fn unsent(t: &Timeline) -> Vec<(String, String)> {
    t.unsent()
        .into_iter()
        .map(|o| (o.client_id.to_string(), o.body.to_string()))
        .collect()
}

fn msg(seq: u64, cid: &str) -> Message {
    Message {
        room: RoomName::parse("r").unwrap(),
        seq,
        from: UserName::parse("ann").unwrap(),
        content: Content::text(Body::parse("b").unwrap()),
        ts: 0,
        client_id: ClientId::parse(cid).unwrap(),
        user: None,
        reply_to: None,
        reactions: Default::default(),
    }
}

fn seqs(t: &Timeline) -> Vec<Option<u64>> {
    t.lines().iter().map(|l| l.seq).collect()
}

#[test]
fn a_server_rendered_page_sets_the_resume_point() {
    let t = Timeline::starting_from(&[msg(4, "a"), msg(5, "b")], 5);
    assert_eq!(seqs(&t), vec![Some(4), Some(5)]);
    assert_eq!(t.resume_seq(), Some(5));
    let empty = Timeline::starting_from(&[], 0);
    assert_eq!(empty.resume_seq(), Some(0), "an empty room resumes from 0");
    let expired = Timeline::starting_from(&[], 9);
    assert_eq!(expired.resume_seq(), Some(9));
}

#[test]
fn ordered_and_deduplicated() {
    let mut t = Timeline::default();
    t.insert(&msg(2, "b"));
    t.insert(&msg(1, "a"));
    t.insert(&msg(3, "c"));
    t.insert(&msg(2, "b"));
    assert_eq!(seqs(&t), vec![Some(1), Some(2), Some(3)]);
    assert_eq!(t.resume_seq(), Some(3));
    assert_eq!(t.first_seq(), Some(1));
}

#[test]
fn pending_then_ack_then_echo() {
    let mut t = Timeline::default();
    t.insert(&msg(1, "a"));
    pending(&mut t, "me1", "hello");
    assert_eq!(unsent(&t), vec![("me1".to_string(), "hello".to_string())]);
    t.insert(&msg(2, "x"));
    assert_eq!(seqs(&t), vec![Some(1), Some(2), None], "pending stays last");
    t.ack(&cid("me1"), 3);
    assert_eq!(seqs(&t), vec![Some(1), Some(2), Some(3)]);
    assert_eq!(t.resume_seq(), Some(2), "an ack is not a received message");
    let acked_key = t.lines()[2].key();
    let mut echo = msg(3, "me1");
    echo.user = Some(crate::protocol::UserId::parse("u-me").unwrap());
    echo.ts = 77;
    t.insert(&echo);
    assert_eq!(
        seqs(&t),
        vec![Some(1), Some(2), Some(3)],
        "echo after ack is not doubled"
    );
    assert!(t.unsent().is_empty());
    // The acked row learns its author from the echo: Edit / Delete depend on it.
    let mine = &t.lines()[2];
    assert_eq!(mine.user, echo.user);
    assert!(!mine.guest);
    assert_eq!(mine.ts, 77);
    assert_ne!(
        mine.key(),
        acked_key,
        "the row is drawn again, now with its actions"
    );

    // A guest's acked row learns it is a guest's (its "guest" badge) the same way.
    pending(&mut t, "me2", "again");
    t.ack(&cid("me2"), 4);
    let acked_key = t.lines()[3].key();
    t.insert(&msg(4, "me2"));
    assert!(t.lines()[3].guest);
    assert_ne!(t.lines()[3].key(), acked_key);
}

#[test]
fn echo_before_ack() {
    let mut t = Timeline::default();
    pending(&mut t, "me1", "hello");
    t.insert(&msg(1, "me1"));
    t.ack(&cid("me1"), 1);
    assert_eq!(seqs(&t), vec![Some(1)]);
    assert_eq!(t.lines()[0].state, LineState::Sent);
}

#[test]
fn failure_and_reset_keep_unsent() {
    let mut t = Timeline::default();
    t.insert(&msg(1, "a"));
    pending(&mut t, "p1", "x");
    pending(&mut t, "p2", "y");
    t.fail(&cid("p1"), "too long".into());
    assert_eq!(unsent(&t), vec![("p2".to_string(), "y".to_string())]);
    t.forget_confirmed();
    assert_eq!(seqs(&t), vec![None, None]);
    assert_eq!(t.resume_seq(), None);
}

#[test]
fn an_amendment_ends_on_the_newest_content_and_a_deletion_is_final() {
    let mut t = Timeline::default();
    t.insert(&msg(1, "a"));
    let text = |b: &str, at: u64| Content::Text {
        body: Body::parse(b).unwrap(),
        edited_ts: Some(at),
    };
    t.apply(Edit::Amend {
        seq: 1,
        content: text("v2", 20),
    });
    t.apply(Edit::Amend {
        seq: 1,
        content: text("v1", 10),
    });
    assert_eq!(
        t.lines()[0].body().map(|b| b.as_str()),
        Some("v2"),
        "older edit ignored"
    );
    let key = t.lines()[0].key();
    t.insert(&Message {
        content: text("v3", 30),
        ..msg(1, "a")
    });
    assert_eq!(
        t.lines()[0].body().map(|b| b.as_str()),
        Some("v3"),
        "a newer copy wins"
    );
    assert_ne!(t.lines()[0].key(), key, "the row is drawn again");
    t.apply(Edit::Amend {
        seq: 1,
        content: Content::deleted(),
    });
    t.insert(&msg(1, "a"));
    t.apply(Edit::Amend {
        seq: 1,
        content: text("v4", 40),
    });
    assert_eq!(t.lines()[0].body(), None, "nothing undeletes");
    t.apply(Edit::Amend {
        seq: 9,
        content: Content::deleted(),
    });
    assert_eq!(t.lines().len(), 1, "an unknown seq changes nothing");
}

#[test]
fn replies_are_kept_and_reactions_follow_the_newest_copy() {
    let mut t = Timeline::default();
    t.add_pending(
        Outgoing {
            client_id: cid("r1"),
            body: Body::parse("yes").unwrap(),
            reply_to: Some(1),
        },
        UserName::parse("me").unwrap(),
        0,
    );
    assert_eq!(t.unsent()[0].reply_to, Some(1), "a re-send still replies");
    t.insert(&msg(1, "a"));
    let up = crate::protocol::Emoji::parse("👍").unwrap();
    let counts: crate::protocol::Reactions = [(up.clone(), 2)].into_iter().collect();
    let key = t.line(1).unwrap().key();
    t.apply(Edit::React {
        seq: 1,
        counts: counts.clone(),
    });
    assert_eq!(t.line(1).unwrap().reactions, counts);
    assert_eq!(
        t.line(1).unwrap().key(),
        key,
        "a reaction does not redraw the row"
    );
    t.apply(Edit::React {
        seq: 9,
        counts: counts.clone(),
    });
    assert!(t.line(9).is_none(), "not loaded: nothing to change");
    t.amend(1, Content::deleted());
    assert!(
        t.line(1).unwrap().reactions.is_empty(),
        "a deleted message has none"
    );
    assert!(t.line(2).is_none());
}
