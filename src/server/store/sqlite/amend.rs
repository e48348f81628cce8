//! Deleting and editing stored messages (v1.1 "Moderation"), in the writer's thread.
//!
//! "Deleted" means the text is gone from the disk, not hidden:
//! - the row's `body` becomes `''` and `deleted` 1 in a transaction of its own; the
//!   seq, sender, time and `client_id` stay (replays stay gapless, retries stay
//!   idempotent);
//! - every connection runs with `secure_delete = ON`, so the cell (or overflow pages) the
//!   old text took is overwritten with zeros in the new page images;
//! - the old page images are still in the WAL, so the writer then checkpoints with
//!   `TRUNCATE`: the zeroed pages go into `chorus.db` and the WAL file is cut to
//!   nothing. A reader holding an old snapshot can make that checkpoint busy; the store
//!   then tries again (see `SqliteStore::amend`) until it goes through.
//!
//! An edit goes the same way, so an edited message's earlier text is erased too.

use super::messages;
use crate::protocol::{Message, RoomName};
use crate::server::store::{stored_size, Amendment};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

/// The columns [`super::messages`] reads, for one message.
pub(super) const ONE_MESSAGE: &str =
    "SELECT seq, sender, body, ts, client_id, sender_user, edited_ts, deleted, reply_to FROM messages
     WHERE room_id = ?1 AND seq = ?2";

/// Applies `change` to the stored message `seq` of `room`, durably; returns it as it now
/// is, or `None` when it is not stored.
pub(super) fn amend(
    conn: &mut Connection,
    room: &RoomName,
    seq: u64,
    change: &Amendment,
) -> rusqlite::Result<Option<Message>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let id: Option<i64> = tx
        .prepare_cached("SELECT id FROM rooms WHERE name = ?1")?
        .query_row([room.as_str()], |r| r.get(0))
        .optional()?;
    let Some(id) = id else { return Ok(None) };
    let seq_i = seq.min(i64::MAX as u64) as i64;
    let mut found = messages(&tx, room, ONE_MESSAGE, params![id, seq_i])?;
    super::reactions::attach(&tx, id, &mut found)?;
    let Some(mut msg) = found.pop() else {
        return Ok(None);
    };
    let size = |m: &Message| {
        let body = m.body().map_or("", |b| b.as_str());
        stored_size(m.from.as_str(), body, m.client_id.as_str()) as i64
    };
    let before = size(&msg);
    change.apply(&mut msg);
    let (body, edited_ts) = match msg.body() {
        Some(b) => (b.as_str(), msg.edited_ts().map(|t| t as i64)),
        None => ("", None),
    };
    tx.prepare_cached(
        "UPDATE messages SET body = ?3, edited_ts = ?4, deleted = ?5
         WHERE room_id = ?1 AND seq = ?2",
    )?
    .execute(params![id, seq_i, body, edited_ts, msg.is_deleted()])?;
    tx.prepare_cached("UPDATE rooms SET kept_bytes = max(kept_bytes + ?2, 0) WHERE id = ?1")?
        .execute(params![id, size(&msg) - before])?;
    tx.commit()?;
    Ok(Some(msg))
}

/// Folds the WAL into the database file and truncates it, so erased text is in neither.
/// `Ok(false)` when a reader kept it from completing (try again soon).
pub(super) fn erase_journal(conn: &Connection) -> rusqlite::Result<bool> {
    let (busy, _, _): (i64, i64, i64) =
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    Ok(busy == 0)
}

/// The one stored message, for [`crate::server::store::Store::message`].
pub(super) fn one(
    tx: &rusqlite::Transaction<'_>,
    room: &RoomName,
    seq: u64,
) -> rusqlite::Result<Option<Message>> {
    let id: Option<i64> = tx
        .prepare_cached("SELECT id FROM rooms WHERE name = ?1")?
        .query_row([room.as_str()], |r| r.get(0))
        .optional()?;
    let Some(id) = id else { return Ok(None) };
    let seq = seq.min(i64::MAX as u64) as i64;
    let mut found = messages(tx, room, ONE_MESSAGE, params![id, seq])?;
    super::reactions::attach(tx, id, &mut found)?;
    Ok(found.pop())
}
