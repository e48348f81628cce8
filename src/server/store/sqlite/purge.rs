//! Deleting a room's whole history (the operator's, `/admin`), in the writer's thread:
//! its messages go (their text zeroed on disk, as for a deletion: `amend`), and the room
//! gets a new epoch with seqs from 1 again, so a client resuming from before learns that
//! its history is gone (`recovered: false`).

use super::amend::erase_journal;
use crate::protocol::RoomName;
use crate::server::store::{new_epoch, RoomMeta};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

/// Deletes `room`'s messages and gives it a fresh epoch; returns its new meta (the
/// database's epoch for a room that never had a row stays: nothing was there).
pub(super) fn purge(
    conn: &mut Connection,
    room: &RoomName,
    db_epoch: &str,
) -> rusqlite::Result<RoomMeta> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let id: Option<i64> = tx
        .prepare_cached("SELECT id FROM rooms WHERE name = ?1")?
        .query_row([room.as_str()], |r| r.get(0))
        .optional()?;
    let Some(id) = id else {
        tx.commit()?;
        return Ok(RoomMeta {
            epoch: crate::protocol::Epoch::new(db_epoch),
            last_seq: 0,
        });
    };
    let epoch = new_epoch();
    tx.execute("DELETE FROM messages WHERE room_id = ?1", [id])?;
    tx.execute(
        "UPDATE rooms SET epoch = ?2, last_seq = 0, dropped_through = 0, kept_bytes = 0,
         oldest_ts = NULL WHERE id = ?1",
        params![id, epoch.as_str()],
    )?;
    tx.commit()?;
    let _ = erase_journal(conn);
    Ok(RoomMeta { epoch, last_seq: 0 })
}
