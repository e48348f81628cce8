//! The driver's rules, natively: what it sends and schedules for each event.

use super::*;
use crate::protocol::{Body, ErrorCode, JoinName, Message};

fn room() -> RoomName {
    RoomName::parse("r").unwrap()
}
fn cid(s: &str) -> ClientId {
    ClientId::parse(s).unwrap()
}
fn body(s: &str) -> Body {
    Body::parse(s).unwrap()
}
fn msg(seq: u64, client_id: &str) -> Message {
    Message {
        room: room(),
        seq,
        from: UserName::parse("bob").unwrap(),
        content: crate::protocol::Content::text(body("hi")),
        ts: 0,
        client_id: cid(client_id),
        user: None,
        reply_to: None,
        reactions: Default::default(),
    }
}

/// A driver whose jitter is always `jitter`, and the list it drives.
struct Page {
    driver: Driver,
    timeline: Timeline,
}

impl Page {
    fn new(epoch: Option<&str>, timeline: Timeline, jitter: f64) -> Self {
        Self {
            driver: Driver::new(
                room(),
                Some(UserName::parse("ann").unwrap()),
                epoch.map(Epoch::new),
                Box::new(move || jitter),
            ),
            timeline,
        }
    }

    /// Applies the view's part of `effects`, as the browser side does, and returns them.
    fn run(&mut self, effects: Vec<Effect>) -> Vec<Effect> {
        for e in &effects {
            if let Effect::Timeline(edit) = e {
                self.timeline.apply(edit.clone());
            }
        }
        effects
    }

    fn open(&mut self) -> Vec<Effect> {
        let start = self.driver.start(true);
        assert!(start.contains(&Effect::Connect), "{start:?}");
        let e = self.driver.on_open(&self.timeline);
        self.run(e)
    }

    fn frame(&mut self, f: ServerFrame) -> Vec<Effect> {
        let e = self.driver.on_frame(f, &self.timeline);
        self.run(e)
    }

    fn timer(&mut self, t: Timer) -> Vec<Effect> {
        let e = self.driver.on_timer(t, true, &self.timeline);
        self.run(e)
    }

    fn joined(&mut self, recovered: bool) -> Vec<Effect> {
        self.frame(joined(recovered))
    }

    fn type_message(&mut self, c: &str, text: &str) -> Vec<Effect> {
        let e = self.driver.send_message(body(text), None, cid(c), 0);
        self.run(e)
    }
}

fn joined(recovered: bool) -> ServerFrame {
    ServerFrame::Joined {
        room: room(),
        epoch: Epoch::new("e1"),
        last_seq: 5,
        online: 1,
        members: vec![],
        members_total: 0,
        recovered,
    }
}

fn sent(effects: &[Effect]) -> Vec<&ClientFrame> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send(f) => Some(f),
            _ => None,
        })
        .collect()
}

fn published(effects: &[Effect]) -> Vec<String> {
    sent(effects)
        .into_iter()
        .filter_map(|f| match f {
            ClientFrame::Publish { client_id, .. } => Some(client_id.to_string()),
            _ => None,
        })
        .collect()
}

fn reconnect_delay(effects: &[Effect]) -> f64 {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::ReconnectIn(ms) => Some(*ms),
            _ => None,
        })
        .expect("a reconnect is scheduled")
}

fn refusal(code: ErrorCode, reference: &str, retry_after_ms: Option<u64>) -> ServerFrame {
    ServerFrame::Error {
        code,
        message: "not now".into(),
        reference: Some(reference.into()),
        retry_after_ms,
    }
}

#[test]
fn the_first_join_resumes_from_the_server_rendered_page() {
    let mut p = Page::new(Some("e1"), Timeline::starting_from(&[msg(4, "a")], 5), 0.0);
    let e = p.open();
    assert_eq!(
        sent(&e),
        vec![&ClientFrame::Join {
            room: room(),
            name: JoinName::Given(UserName::parse("ann").unwrap()),
            since: Some(5),
            epoch: Some(Epoch::new("e1")),
        }]
    );
}

#[test]
fn a_reader_joins_without_a_name_and_joins_again_under_the_one_it_picks() {
    let mut p = Page::new(Some("e1"), Timeline::starting_from(&[msg(4, "a")], 5), 0.0);
    p.driver = Driver::new(room(), None, Some(Epoch::new("e1")), Box::new(|| 0.0));
    let e = p.open();
    assert!(
        matches!(
            &sent(&e)[..],
            [ClientFrame::Join {
                name: JoinName::Absent,
                since: Some(5),
                ..
            }]
        ),
        "{e:?}"
    );
    p.joined(true);
    p.frame(ServerFrame::Message(msg(5, "b")));
    let ann = UserName::parse("ann").unwrap();
    let e = p.driver.set_name(ann.clone(), &p.timeline);
    assert_eq!(
        sent(&e),
        vec![&ClientFrame::Join {
            room: room(),
            name: JoinName::Given(ann.clone()),
            since: Some(5),
            epoch: Some(Epoch::new("e1")),
        }],
        "the same room again, under the name, resuming after what it has"
    );
    assert!(p.driver.set_name(ann, &p.timeline).is_empty(), "once");
    // Later joins carry the name.
    p.driver.on_close(None);
    p.timer(Timer::Reconnect);
    let e = p.driver.on_open(&p.timeline);
    assert!(
        matches!(&sent(&e)[..], [ClientFrame::Join { name: JoinName::Given(n), .. }] if n.as_str() == "ann"),
        "{e:?}"
    );
}

#[test]
fn a_reconnect_resumes_after_the_newest_message_received() {
    let mut p = Page::new(None, Timeline::default(), 0.0);
    let e = p.open();
    assert!(matches!(
        sent(&e)[..],
        [ClientFrame::Join {
            since: None,
            epoch: None,
            ..
        }]
    ));
    // Without a server-rendered page, the first join loads the newest history.
    let e = p.joined(true);
    assert!(
        matches!(sent(&e)[..], [ClientFrame::History { before: None, .. }]),
        "{e:?}"
    );
    p.frame(ServerFrame::History {
        room: room(),
        messages: vec![msg(5, "w")],
        has_more: false,
    });
    assert_eq!(p.timeline.lines().len(), 1);
    p.frame(ServerFrame::Message(msg(6, "x")));
    p.frame(ServerFrame::Message(msg(7, "y")));
    p.driver.on_close(None);
    p.timer(Timer::Reconnect);
    let e = p.driver.on_open(&p.timeline);
    assert!(
        matches!(&sent(&e)[..], [ClientFrame::Join { since: Some(7), epoch: Some(ep), .. }] if ep.as_str() == "e1"),
        "{e:?}"
    );
}

#[test]
fn not_recovered_reloads_from_history_and_a_reconnect_meanwhile_starts_over() {
    let mut p = Page::new(Some("old"), Timeline::starting_from(&[msg(1, "a")], 1), 0.0);
    p.open();
    p.type_message("mine", "still mine");
    let e = p.joined(false);
    assert!(
        e.contains(&Effect::Timeline(Edit::ForgetConfirmed)),
        "{e:?}"
    );
    assert!(
        matches!(sent(&e)[0], ClientFrame::History { before: None, .. }),
        "{e:?}"
    );
    assert_eq!(published(&e), vec!["mine"], "the unsent message goes again");
    assert_eq!(p.timeline.lines().len(), 1, "only the unsent row is left");
    // The socket drops before the history arrives: the next join starts over.
    p.driver.on_close(None);
    p.timer(Timer::Reconnect);
    let e = p.driver.on_open(&p.timeline);
    assert!(
        matches!(sent(&e)[..], [ClientFrame::Join { since: None, .. }]),
        "{e:?}"
    );
    p.joined(true);
    p.frame(ServerFrame::History {
        room: room(),
        messages: vec![msg(8, "b")],
        has_more: true,
    });
    p.driver.on_close(None);
    p.timer(Timer::Reconnect);
    let e = p.driver.on_open(&p.timeline);
    assert!(
        matches!(sent(&e)[..], [ClientFrame::Join { since: Some(8), .. }]),
        "{e:?}"
    );
}

#[test]
fn unacked_messages_are_sent_again_with_the_same_client_id_after_every_join() {
    let mut p = Page::new(None, Timeline::default(), 0.0);
    p.open();
    p.joined(true);
    let e = p.type_message("c1", "one");
    assert_eq!(published(&e), vec!["c1"]);
    p.type_message("c2", "two");
    p.frame(ServerFrame::Ack {
        room: room(),
        client_id: cid("c1"),
        seq: 6,
    });
    // The socket drops before c2's ack; while it is down the user types c3.
    p.driver.on_close(None);
    let e = p.type_message("c3", "three");
    assert!(published(&e).is_empty(), "nothing is sent without a socket");
    p.timer(Timer::Reconnect);
    p.driver.on_open(&p.timeline);
    let e = p.joined(true);
    assert_eq!(
        published(&e),
        vec!["c2", "c3"],
        "unacked ones, in order, same ids"
    );
}

#[test]
fn refused_messages_are_retried_one_at_a_time_paced_by_the_servers_hint() {
    let mut p = Page::new(None, Timeline::default(), 0.0);
    p.open();
    p.joined(true);
    p.type_message("a", "1");
    p.type_message("b", "2");
    let e = p.frame(refusal(ErrorCode::RateLimited, "a", Some(700)));
    assert_eq!(e, vec![Effect::RetryIn(700.0)]);
    let e = p.frame(refusal(ErrorCode::RateLimited, "b", Some(650)));
    assert!(e.is_empty(), "one retry timer at a time: {e:?}");
    let e = p.timer(Timer::Retry);
    assert_eq!(published(&e), vec!["a"]);
    assert!(e.contains(&Effect::RetryIn(RETRY_PACE_MS)), "{e:?}");
    let e = p.timer(Timer::Retry);
    assert_eq!(published(&e), vec!["b"]);
    assert!(!e.iter().any(|e| matches!(e, Effect::RetryIn(_))), "{e:?}");
    // Without a hint, the wait doubles per refusal in a row, and an ack resets it.
    let e = p.frame(refusal(ErrorCode::Unavailable, "a", None));
    assert_eq!(e, vec![Effect::RetryIn(4000.0)], "third refusal in a row");
    p.timer(Timer::Retry);
    p.frame(ServerFrame::Ack {
        room: room(),
        client_id: cid("a"),
        seq: 6,
    });
    let e = p.frame(refusal(ErrorCode::Unavailable, "b", None));
    assert_eq!(e, vec![Effect::RetryIn(1000.0)]);
}

#[test]
fn a_refusal_for_good_marks_the_message_and_others_become_a_notice() {
    let mut p = Page::new(None, Timeline::default(), 0.0);
    p.open();
    p.joined(true);
    p.type_message("a", "1");
    p.frame(refusal(ErrorCode::InvalidBody, "a", None));
    assert_eq!(
        p.timeline.lines()[0].state,
        crate::client::LineState::Failed("not now".into())
    );
    assert!(p.timeline.unsent().is_empty());
    let e = p.frame(refusal(ErrorCode::TooManyRooms, "r", None));
    assert_eq!(e, vec![Effect::Notice(Some("not now".into()))]);
    let e = p.frame(refusal(ErrorCode::NotJoined, "r", None));
    assert_eq!(
        e,
        vec![Effect::Notice(Some("not now".into())), Effect::CloseSocket],
        "not counted in the room: reconnect, which joins again"
    );
}

#[test]
fn reconnects_back_off_with_jitter_up_to_the_cap_and_reset_after_a_join() {
    let mut p = Page::new(None, Timeline::default(), 1.0);
    p.driver.start(true);
    let delays: Vec<f64> = (0..8)
        .map(|_| {
            let e = p.driver.on_close(None);
            let d = reconnect_delay(&e);
            p.timer(Timer::Reconnect);
            d
        })
        .collect();
    assert_eq!(
        delays,
        vec![500.0, 1000.0, 2000.0, 4000.0, 5000.0, 5000.0, 5000.0, 5000.0]
    );
    p.driver.on_open(&p.timeline);
    p.joined(true);
    let e = p.driver.on_close(None);
    assert_eq!(
        reconnect_delay(&e),
        500.0,
        "a successful join resets the backoff"
    );
    assert!(e.contains(&Effect::Status(ConnStatus::Reconnecting { in_secs: 1 })));
    assert_eq!(backoff_ms(0, 0.0), 250.0, "jitter takes up to half off");
}

#[test]
fn offline_waits_for_the_network_and_online_reconnects_at_once() {
    let mut p = Page::new(None, Timeline::default(), 0.0);
    p.open();
    p.joined(true);
    let e = p.driver.went_offline();
    assert_eq!(
        e,
        vec![
            Effect::CancelReconnect,
            Effect::DropSocket,
            Effect::Status(ConnStatus::Offline)
        ]
    );
    assert!(p.driver.wake(false).is_empty(), "still no network");
    let e = p.driver.wake(true);
    assert!(e.contains(&Effect::Connect), "{e:?}");
    assert!(!e.iter().any(|e| matches!(e, Effect::ReconnectIn(_))));
}

#[test]
fn a_socket_that_does_not_answer_after_wake_up_is_replaced() {
    let mut p = Page::new(None, Timeline::default(), 0.0);
    p.open();
    p.joined(true);
    let e = p.driver.wake(true);
    assert_eq!(
        e,
        vec![
            Effect::Send(ClientFrame::Ping),
            Effect::PongDeadlineIn(PONG_DEADLINE_MS)
        ]
    );
    assert!(p.driver.wake(true).is_empty(), "one check at a time");
    let e = p.timer(Timer::PongDeadline);
    assert!(
        e.contains(&Effect::DropSocket) && e.contains(&Effect::Connect),
        "{e:?}"
    );
    // A socket that answers in time is kept.
    p.driver.on_open(&p.timeline);
    p.driver.wake(true);
    p.frame(ServerFrame::Pong);
    assert!(p.timer(Timer::PongDeadline).is_empty());
}

#[test]
fn a_closed_room_does_nothing_more() {
    let mut p = Page::new(None, Timeline::default(), 0.0);
    p.open();
    assert_eq!(
        p.driver.close(),
        vec![
            Effect::CancelReconnect,
            Effect::Send(ClientFrame::Leave { room: room() }),
            Effect::Detach
        ],
        "the socket may carry other rooms: leave this one, keep the socket"
    );
    assert!(p.driver.on_close(None).is_empty());
    assert!(p.timer(Timer::Reconnect).is_empty());
    assert!(p.driver.wake(true).is_empty());
}

#[test]
fn a_room_closed_while_connecting_only_lets_go_of_the_socket() {
    let mut p = Page::new(None, Timeline::default(), 0.0);
    assert!(p.driver.start(true).contains(&Effect::Connect));
    assert_eq!(
        p.driver.close(),
        vec![Effect::CancelReconnect, Effect::Detach]
    );
}

#[test]
fn a_4001_close_asks_for_a_fresh_identity_and_does_not_reconnect() {
    let mut p = Page::new(None, Timeline::default(), 0.5);
    p.open();
    let e = p.driver.on_close(Some(4001));
    assert_eq!(e, vec![Effect::Reauthenticate]);
    assert!(
        p.driver.on_close(None).is_empty(),
        "done: nothing more is tried"
    );
}

#[test]
fn taken_out_of_the_room_the_page_stops_and_says_why() {
    let mut p = Page::new(None, Timeline::default(), 0.0);
    p.open();
    p.joined(true);
    let e = p.frame(ServerFrame::Left {
        room: room(),
        reason: Some(crate::protocol::LeftReason::Removed),
    });
    assert!(e.contains(&Effect::Detach), "{e:?}");
    assert!(
        !e.iter().any(|e| matches!(e, Effect::Send(_))),
        "no leave: the room has let go already: {e:?}"
    );
    assert!(
        e.contains(&Effect::Status(ConnStatus::Ended { banned: false })),
        "{e:?}"
    );
    assert!(e.iter().any(|e| matches!(e, Effect::Notice(Some(_)))));
    // Nothing reconnects it.
    assert!(p.driver.on_close(None).is_empty());
    assert!(p.driver.wake(true).is_empty());
}

#[test]
fn a_reply_is_resent_as_a_reply_and_reactions_reach_the_list() {
    let mut p = Page::new(None, Timeline::default(), 0.5);
    p.open();
    p.joined(true);
    p.frame(ServerFrame::Message(msg(1, "c1")));
    // Typed while the socket is down: the re-send after the next join still replies.
    p.driver.on_close(None);
    let e = p.driver.send_message(body("yes"), Some(1), cid("r1"), 0);
    p.run(e);
    let e = p.driver.on_open(&p.timeline);
    p.run(e);
    let resent = p.joined(true);
    assert!(
        sent(&resent).iter().any(|f| matches!(f,
            ClientFrame::Publish { client_id, reply_to: Some(1), .. } if client_id.as_str() == "r1")),
        "{resent:?}"
    );
    let up = crate::protocol::Emoji::parse("👍").unwrap();
    p.frame(ServerFrame::Reactions {
        room: room(),
        seq: 1,
        counts: [(up.clone(), 3)].into_iter().collect(),
    });
    assert_eq!(p.timeline.line(1).unwrap().reactions.count(&up), 3);
}

#[test]
fn the_member_search_pages_through_the_list_and_stops_at_its_cap() {
    use crate::protocol::MembersLimit;
    let mut p = Page::new(None, Timeline::default(), 0.0);
    p.open();
    p.joined(true);
    let ask = |after: Option<&str>| ClientFrame::Members {
        room: room(),
        after: after.map(str::to_string),
        limit: MembersLimit::default(),
    };
    let page = |name: &str, has_more| ServerFrame::Members {
        room: room(),
        members: vec![UserName::parse(name).unwrap()],
        has_more,
    };
    assert!(
        p.frame(page("early", true)).is_empty(),
        "an answer nobody asked for is dropped"
    );
    let e = p.driver.list_members();
    assert_eq!(sent(&e), [&ask(None)]);
    let e = p.frame(page("ann", true));
    assert!(e.contains(&Effect::Roster {
        names: vec![UserName::parse("ann").unwrap()],
        first: true,
        complete: false
    }));
    assert_eq!(
        sent(&e),
        [&ask(Some("ann"))],
        "the next page starts after the last name"
    );
    for i in 1..ROSTER_MAX_PAGES - 1 {
        let e = p.frame(page(&format!("n{i:02}"), true));
        assert_eq!(sent(&e).len(), 1);
    }
    let e = p.frame(page("last", true));
    assert!(
        sent(&e).is_empty(),
        "at most {ROSTER_MAX_PAGES} pages: {e:?}"
    );
    assert!(e.contains(&Effect::Roster {
        names: vec![UserName::parse("last").unwrap()],
        first: false,
        complete: false
    }));
    // Asked again, it starts over; a short list ends with its only page.
    p.driver.list_members();
    let e = p.frame(page("solo", false));
    assert!(sent(&e).is_empty());
    assert!(e.contains(&Effect::Roster {
        names: vec![UserName::parse("solo").unwrap()],
        first: true,
        complete: true
    }));
}
