//! Reactions in SQLite on a real file: the contract, a restart, retention and the
//! triggers that keep no reaction without its message.

use super::*;
use crate::protocol::{Emoji, UserName};
use crate::server::store::conformance::{self as c, draft};
use crate::server::store::{Reacted, Reaction, Reactor};
use std::sync::Arc;

fn open(dir: &Path, max_messages: u64) -> Arc<dyn Store> {
    let options = SqliteOptions {
        retention: Retention {
            max_messages,
            ..Retention::default()
        },
        ..SqliteOptions::default()
    };
    Arc::new(SqliteStore::open(dir, options).unwrap())
}

fn up(who: &str) -> Reaction {
    Reaction {
        emoji: Emoji::parse("👍").unwrap(),
        who: Reactor::guest(who, UserName::parse(who).unwrap()),
        on: true,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn conforms() {
    let dir = tempfile::tempdir().unwrap();
    c::replies_and_reactions(open(dir.path(), 0)).await;
    let dir = tempfile::tempdir().unwrap();
    c::reactions_go_with_their_message(open(dir.path(), 0)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reactions_survive_a_restart_and_leave_with_retention() {
    let dir = tempfile::tempdir().unwrap();
    let r = RoomName::parse("keep").unwrap();
    {
        let s = open(dir.path(), 3);
        s.append(draft("keep", "k1")).await.unwrap();
        s.append(draft("keep", "k2")).await.unwrap();
        s.react(&r, 1, up("a")).await.unwrap();
        s.react(&r, 2, up("a")).await.unwrap();
        s.react(&r, 2, up("b")).await.unwrap();
        s.close().await.unwrap();
    }
    let s = open(dir.path(), 3);
    let m = s.message(&r, 2).await.unwrap().unwrap();
    assert_eq!(m.reactions.count(&Emoji::parse("👍").unwrap()), 2);
    for cid in ["k3", "k4"] {
        s.append(draft("keep", cid)).await.unwrap();
    }
    assert_eq!(
        s.message(&r, 1).await.unwrap(),
        None,
        "dropped by retention"
    );
    assert_eq!(s.react(&r, 1, up("c")).await.unwrap(), Reacted::NotFound);
    s.close().await.unwrap();
    drop(s);
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    let left: i64 = conn
        .query_row("SELECT count(*) FROM reactions WHERE seq = 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(left, 0, "the trigger took seq 1's reactions with it");
    let kept: i64 = conn
        .query_row("SELECT count(*) FROM reactions WHERE seq = 2", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(kept, 2);
}
