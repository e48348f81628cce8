//! SQLite store tests, each on a real database file in a fresh directory.

use super::*;
use crate::protocol::Body;
use crate::server::store::conformance::{self as c, draft, seq};
use rusqlite::Connection;
use std::sync::Arc;

fn options(max_messages: u64) -> SqliteOptions {
    with(Retention {
        max_messages,
        ..Retention::default()
    })
}

fn with(retention: Retention) -> SqliteOptions {
    SqliteOptions {
        retention,
        ..SqliteOptions::default()
    }
}

fn open_in(dir: &Path, max_messages: u64) -> SqliteStore {
    SqliteStore::open(dir, options(max_messages)).unwrap()
}

fn fresh(max_messages: u64) -> (tempfile::TempDir, Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let s = open_in(dir.path(), max_messages);
    (dir, Arc::new(s))
}

fn room(s: &str) -> RoomName {
    RoomName::parse(s).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn conforms_with_group_commit() {
    let (_d, s) = fresh(0);
    c::seqs_are_gapless_per_room_and_dedup_by_client_id(s).await;
    let (_d, s) = fresh(5);
    c::range_and_retention_by_count(s).await;
    let (_d, s) = fresh(0);
    c::history_pages_backwards(s).await;
    let (_d, s) = fresh(0);
    c::concurrent_appends_stay_gapless(s).await;
    let (_d, s) = fresh(0);
    c::empty_rooms_already_have_their_epoch(s).await;
    let (_d, s) = fresh(0);
    c::appends_take_their_place_on_the_first_poll(s).await;
    let (_d, s) = fresh(0);
    c::range_is_bounded_by_bytes(s).await;
    let (_d, s) = fresh(0);
    c::users_are_stored_with_their_messages(s).await;
    let dir = tempfile::tempdir().unwrap();
    c::retention_by_bytes(Arc::new(
        SqliteStore::open(
            dir.path(),
            with(Retention {
                max_bytes: 1000,
                ..Retention::default()
            }),
        )
        .unwrap(),
    ))
    .await;
    let dir = tempfile::tempdir().unwrap();
    c::rooms_are_capped(Arc::new(
        SqliteStore::open(
            dir.path(),
            with(Retention {
                max_rooms: 2,
                ..Retention::default()
            }),
        )
        .unwrap(),
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn conforms_with_one_commit_per_message() {
    let dir = tempfile::tempdir().unwrap();
    let s: Arc<dyn Store> = Arc::new(
        SqliteStore::open(
            dir.path(),
            SqliteOptions {
                commit: Commit::PerMessage,
                ..options(0)
            },
        )
        .unwrap(),
    );
    c::concurrent_appends_stay_gapless(s.clone()).await;
    c::appends_take_their_place_on_the_first_poll(s).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn history_epoch_and_idempotency_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (epoch, body) = {
        let s = open_in(dir.path(), 0);
        for i in 0..10 {
            s.append(draft("a", &format!("c{i}"))).await.unwrap();
        }
        let Appended::Stored(m) = s
            .append(Draft {
                body: Body::parse("<b>verbatim</b> ✓").unwrap(),
                ..draft("a", "special")
            })
            .await
            .unwrap()
        else {
            panic!("new message")
        };
        assert_eq!(m.seq, 11);
        (s.meta(&room("a")).await.unwrap().epoch, m.content)
    };
    let s = open_in(dir.path(), 0);
    let meta = s.meta(&room("a")).await.unwrap();
    assert_eq!(meta.epoch, epoch);
    assert_eq!(meta.last_seq, 11);
    assert_eq!(
        s.meta(&room("never-used")).await.unwrap().epoch,
        epoch,
        "the database's epoch is every empty room's"
    );
    assert_eq!(
        s.append(draft("a", "c3")).await.unwrap(),
        Appended::Duplicate { seq: 4 }
    );
    assert_eq!(seq(s.append(draft("a", "new")).await.unwrap()), 12);
    let h = s.history(&room("a"), Some(12), 1).await.unwrap();
    assert_eq!(h.messages[0].content, body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_store_on_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _first = open_in(dir.path(), 0);
    let second = SqliteStore::open(dir.path(), options(0));
    assert!(matches!(second, Err(OpenError::InUse { .. })));
}

#[tokio::test(flavor = "multi_thread")]
async fn untrustworthy_files_are_refused_not_replaced() {
    // Not a database at all.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(DB_FILE),
        b"this is not a database, just text",
    )
    .unwrap();
    let e = SqliteStore::open(dir.path(), options(0)).err().unwrap();
    assert!(matches!(e, OpenError::Unusable { .. }), "{e}");
    assert!(e.to_string().contains("chorus.db"), "{e}");
    assert_eq!(
        std::fs::read(dir.path().join(DB_FILE)).unwrap(),
        b"this is not a database, just text",
        "the file is left as it was"
    );

    // Someone else's SQLite database.
    let dir = tempfile::tempdir().unwrap();
    Connection::open(dir.path().join(DB_FILE))
        .unwrap()
        .execute_batch("CREATE TABLE invoices (id INTEGER)")
        .unwrap();
    let e = SqliteStore::open(dir.path(), options(0)).err().unwrap();
    assert!(e.to_string().contains("not a Chorus one"), "{e}");

    // A newer Chorus's database.
    let dir = tempfile::tempdir().unwrap();
    drop(open_in(dir.path(), 0));
    Connection::open(dir.path().join(DB_FILE))
        .unwrap()
        .pragma_update(None, "user_version", schema::LATEST + 1)
        .unwrap();
    let e = SqliteStore::open(dir.path(), options(0)).err().unwrap();
    assert!(e.to_string().contains("newer"), "{e}");

    // A journal whose database is gone.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("chorus.db-wal"), b"frames").unwrap();
    let e = SqliteStore::open(dir.path(), options(0)).err().unwrap();
    assert!(e.to_string().contains("journal"), "{e}");
    assert!(!dir.path().join(DB_FILE).exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_locked_database_is_unavailable_then_recovers_without_losing_a_seq() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(
        dir.path(),
        SqliteOptions {
            busy_timeout: Duration::from_millis(200),
            ..options(0)
        },
    )
    .unwrap();
    assert_eq!(seq(s.append(draft("a", "before")).await.unwrap()), 1);

    // Another process (here: another connection) takes the write lock and keeps it.
    let other = Connection::open(dir.path().join(DB_FILE)).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let refused = s.append(draft("a", "during")).await;
    assert!(matches!(refused, Err(StoreError::Sqlite(_))), "{refused:?}");
    // Reads keep working: WAL readers do not need the write lock.
    assert_eq!(s.meta(&room("a")).await.unwrap().last_seq, 1);

    other.execute_batch("ROLLBACK").unwrap();
    assert_eq!(
        seq(s.append(draft("a", "during")).await.unwrap()),
        2,
        "the refused publish consumed no seq"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transaction_that_fails_after_its_inserts_consumes_no_seq() {
    // The writer keeps each room's newest seq in memory; a rollback must not leave the
    // rolled-back seq there. Here the batch fails at its last statement (the room row's
    // update), after the message row went in.
    let dir = tempfile::tempdir().unwrap();
    let s = open_in(dir.path(), 0);
    assert_eq!(seq(s.append(draft("a", "one")).await.unwrap()), 1);
    let other = Connection::open(dir.path().join(DB_FILE)).unwrap();
    other
        .execute_batch(
            "CREATE TRIGGER refuse BEFORE UPDATE ON rooms WHEN NEW.last_seq = 2
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
        )
        .unwrap();
    let refused = s.append(draft("a", "two")).await;
    assert!(matches!(refused, Err(StoreError::Sqlite(_))), "{refused:?}");
    other.execute_batch("DROP TRIGGER refuse").unwrap();
    assert_eq!(seq(s.append(draft("a", "two")).await.unwrap()), 2);
    assert_eq!(seq(s.append(draft("a", "three")).await.unwrap()), 3);
    let page = s.history(&room("a"), None, 10).await.unwrap();
    let ids: Vec<_> = page.messages.iter().map(|m| m.client_id.as_str()).collect();
    assert_eq!(ids, ["one", "two", "three"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_past_the_max_age_expire_and_replays_from_before_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(
        dir.path(),
        SqliteOptions {
            retention: Retention {
                max_age: Some(Duration::from_millis(1500)),
                ..Retention::default()
            },
            expire_every: Duration::from_secs(3600),
            ..SqliteOptions::default()
        },
    )
    .unwrap();
    for i in 0..3 {
        s.append(draft("a", &format!("old{i}"))).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1600)).await;
    s.append(draft("a", "new")).await.unwrap();
    assert_eq!(s.expire().await.unwrap(), 3);
    let r = s.range(&room("a"), 0, 10, 10, usize::MAX).await.unwrap();
    assert!(!r.complete);
    assert_eq!(
        r.messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
        vec![4]
    );
    assert!(
        s.range(&room("a"), 3, 10, 10, usize::MAX)
            .await
            .unwrap()
            .complete
    );
    let h = s.history(&room("a"), None, 50).await.unwrap();
    assert_eq!(h.messages.len(), 1);
    assert!(!h.has_more);
    assert_eq!(s.expire().await.unwrap(), 0, "nothing twice");
}

#[tokio::test(flavor = "multi_thread")]
async fn expiry_visits_only_the_rooms_with_old_messages() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(
        dir.path(),
        SqliteOptions {
            retention: Retention {
                max_messages: 2,
                // Long enough that the appends below, even on a loaded CI
                // machine, finish well inside it.
                max_age: Some(Duration::from_secs(3)),
                ..Retention::default()
            },
            expire_every: Duration::from_secs(3600),
            ..SqliteOptions::default()
        },
    )
    .unwrap();
    s.append(draft("old", "o1")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(3100)).await;
    // Every room created from here on is younger than this instant.
    let cutoff = crate::server::store::now_ms() as i64;
    for i in 0..5 {
        s.append(draft(&format!("fresh{i}"), "f")).await.unwrap();
    }
    // The count cap trims a room's oldest; its oldest time moves with it.
    for i in 0..3 {
        s.append(draft("capped", &format!("c{i}"))).await.unwrap();
    }
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    let expiring: Vec<String> = conn
        .prepare("SELECT name FROM rooms WHERE oldest_ts < ?1")
        .unwrap()
        .query_map([cutoff], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        expiring,
        vec!["old".to_string()],
        "only the room with an old message"
    );
    let plan: String = conn
        .query_row(
            &format!("EXPLAIN QUERY PLAN {}", super::retention::EXPIRING_ROOMS),
            [0],
            |r| r.get(3),
        )
        .unwrap();
    assert!(
        plan.contains("rooms_by_oldest_ts"),
        "an index range, not a scan: {plan}"
    );
    assert_eq!(s.expire().await.unwrap(), 1);
    let oldest: Option<i64> = conn
        .query_row("SELECT oldest_ts FROM rooms WHERE name = 'old'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(oldest, None, "an emptied room has nothing to expire");
}

#[test]
fn a_version_1_database_gets_its_rooms_oldest_times() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE);
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(schema::MIGRATIONS_FOR_TESTS[0]).unwrap();
        c.execute_batch(
            "INSERT INTO store_info VALUES ('epoch', 'e1');
             INSERT INTO rooms (id, name, epoch, last_seq) VALUES (1, 'r', 'e1', 2);
             INSERT INTO messages VALUES (1, 1, 'ann', 'a', 1000, 'c1'), (1, 2, 'ann', 'b', 2000, 'c2');
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let mut c = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(schema::migrate(&mut c, "e2").unwrap(), 1);
    let oldest: i64 = c
        .query_row("SELECT oldest_ts FROM rooms WHERE id = 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(oldest, 1000);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_room_whose_messages_expired_frees_its_place_under_the_cap_and_the_count_survives_a_restart(
) {
    let dir = tempfile::tempdir().unwrap();
    let opts = SqliteOptions {
        retention: Retention {
            max_age: Some(Duration::from_millis(1500)),
            max_rooms: 1,
            ..Retention::default()
        },
        expire_every: Duration::from_secs(3600),
        ..SqliteOptions::default()
    };
    {
        let s = SqliteStore::open(dir.path(), opts.clone()).unwrap();
        s.append(draft("a", "1")).await.unwrap();
        assert!(matches!(
            s.append(draft("b", "1")).await,
            Err(StoreError::RoomsFull { max: 1 })
        ));
        tokio::time::sleep(Duration::from_millis(1600)).await;
        assert_eq!(s.expire().await.unwrap(), 1);
        assert_eq!(
            seq(s.append(draft("b", "1")).await.unwrap()),
            1,
            "a's place"
        );
        s.close().await.unwrap();
    }
    let s = SqliteStore::open(dir.path(), opts).unwrap();
    assert!(
        matches!(
            s.append(draft("a", "2")).await,
            Err(StoreError::RoomsFull { .. })
        ),
        "b still holds the one place after the restart"
    );
    assert_eq!(seq(s.append(draft("b", "2")).await.unwrap()), 2);
}

#[test]
fn a_version_2_database_gets_its_rooms_kept_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE);
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(schema::MIGRATIONS_FOR_TESTS[0]).unwrap();
        c.execute_batch(schema::MIGRATIONS_FOR_TESTS[1]).unwrap();
        c.execute_batch(
            "INSERT INTO store_info VALUES ('epoch', 'e1');
             INSERT INTO rooms (id, name, epoch, last_seq) VALUES (1, 'r', 'e1', 2), (2, 'empty', 'e1', 0);
             INSERT INTO messages VALUES (1, 1, 'ann', 'héllo', 1000, 'c1'), (1, 2, 'bo', 'b', 2000, 'c22');
             PRAGMA user_version = 2;",
        )
        .unwrap();
    }
    let mut c = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(schema::migrate(&mut c, "e2").unwrap(), 2);
    let kept: Vec<i64> = c
        .prepare("SELECT kept_bytes FROM rooms ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        kept,
        vec![(3 + 6 + 2) + (2 + 1 + 3), 0],
        "UTF-8 bytes, not characters"
    );
}
