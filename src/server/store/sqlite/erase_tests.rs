//! Deleted and edited messages on a real database file: what every read returns, and
//! that the erased text is gone from the bytes on disk.

use super::*;
use crate::protocol::Body;
use crate::server::store::conformance::{self as c, draft};
use std::sync::Arc;

fn room(s: &str) -> RoomName {
    RoomName::parse(s).unwrap()
}

/// Every file of the database (the file, its WAL, its shared-memory index) as bytes.
fn disk_bytes(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(DB_FILE))
        {
            all.extend(std::fs::read(&path).unwrap());
        }
    }
    all
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread")]
async fn conforms() {
    let dir = tempfile::tempdir().unwrap();
    let s: Arc<dyn Store> =
        Arc::new(SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap());
    c::amendments_change_what_every_read_returns(s).await;
    let dir = tempfile::tempdir().unwrap();
    let s: Arc<dyn Store> =
        Arc::new(SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap());
    c::a_purged_room_starts_again_under_a_new_epoch(s).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_or_edited_text_is_gone_from_the_files_and_the_rest_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "the-launch-code-is-7731";
    let draft_text = "first-draft-of-the-notice";
    let long_secret = format!("long-{}", "overflow-secret-".repeat(200));
    {
        let s = SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap();
        let mut bodies = vec![
            secret.to_owned(),
            draft_text.to_owned(),
            long_secret.clone(),
        ];
        bodies.push("stays".into());
        for (i, body) in bodies.iter().enumerate() {
            let mut d = draft("erase", &format!("c{i}"));
            d.body = Body::parse(body).unwrap();
            s.append(d).await.unwrap();
        }
        s.close().await.unwrap();
        let before = disk_bytes(dir.path());
        assert!(contains(&before, secret) && contains(&before, draft_text));
        assert!(contains(&before, "overflow-secret-overflow-secret-"));
        s.amend(&room("erase"), 1, Amendment::Delete)
            .await
            .unwrap()
            .unwrap();
        s.amend(&room("erase"), 3, Amendment::Delete)
            .await
            .unwrap()
            .unwrap();
        let edit = Amendment::Edit {
            body: Body::parse("final notice").unwrap(),
            ts: 5,
        };
        s.amend(&room("erase"), 2, edit).await.unwrap().unwrap();
        let after = disk_bytes(dir.path());
        assert!(
            !contains(&after, secret),
            "a deleted body is erased from the files"
        );
        assert!(
            !contains(&after, "overflow-secret-"),
            "so are its overflow pages"
        );
        assert!(
            !contains(&after, draft_text),
            "an edited message's old text too"
        );
        assert!(contains(&after, "final notice") || contains(&after, "stays"));
    }
    let s = SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap();
    let page = s.history(&room("erase"), None, 10).await.unwrap();
    let shown: Vec<_> = page
        .messages
        .iter()
        .map(|m| {
            (
                m.seq,
                m.body().map(|b| b.as_str().to_owned()),
                m.edited_ts(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            (1, None, None),
            (2, Some("final notice".into()), Some(5)),
            (3, None, None),
            (4, Some("stays".into()), None),
        ]
    );
    let retried = {
        let mut d = draft("erase", "c0");
        d.body = Body::parse("again").unwrap();
        s.append(d).await.unwrap()
    };
    assert_eq!(retried, Appended::Duplicate { seq: 1 });
}
