//! One publish inside the writer's batch transaction: the room's row (cached by the
//! writer), the check that a reply answers a stored message, and the insert that assigns
//! the next seq or finds the earlier copy by `client_id`.

use super::decode_err;
use super::writer::RoomRow;
use crate::protocol::{Message, RoomName};
use crate::server::store::{Appended, Draft, StoreError};
use rusqlite::{params, OptionalExtension, Transaction};

/// Reads a room's row, making it if the room has none.
pub(super) fn find_or_create_room(
    tx: &Transaction<'_>,
    room: &RoomName,
    epoch: &str,
) -> rusqlite::Result<RoomRow> {
    let found: Option<(i64, i64, i64)> = tx
        .prepare_cached("SELECT id, last_seq, kept_bytes FROM rooms WHERE name = ?1")?
        .query_row([room.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    Ok(match found {
        Some((id, last_seq, kept_bytes)) => RoomRow {
            id,
            last_seq,
            kept_bytes: kept_bytes.max(0) as u64,
        },
        None => {
            tx.prepare_cached("INSERT INTO rooms (name, epoch) VALUES (?1, ?2)")?
                .execute(params![room.as_str(), epoch])?;
            RoomRow {
                id: tx.last_insert_rowid(),
                last_seq: 0,
                kept_bytes: 0,
            }
        }
    })
}

/// A reply whose `reply_to` is not stored: its answer (the original, when this is a
/// retry of a stored publish; else the refusal). `None` when the message it answers is
/// there.
pub(super) fn reply_missing(
    tx: &Transaction<'_>,
    room: i64,
    to: u64,
    draft: &Draft,
) -> rusqlite::Result<Option<Result<Appended, StoreError>>> {
    let to_i = to.min(i64::MAX as u64) as i64;
    let there: bool = tx
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM messages WHERE room_id = ?1 AND seq = ?2)")?
        .query_row(params![room, to_i], |r| r.get(0))?;
    if there {
        return Ok(None);
    }
    let earlier: Option<i64> = tx
        .prepare_cached("SELECT seq FROM messages WHERE room_id = ?1 AND client_id = ?2")?
        .query_row(params![room, draft.client_id.as_str()], |r| r.get(0))
        .optional()?;
    Ok(Some(match earlier {
        Some(seq) => Ok(Appended::Duplicate {
            seq: decode_err(u64::try_from(seq))?,
        }),
        None => Err(StoreError::NoSuchReply { seq: to }),
    }))
}

/// Stores one message inside the batch's transaction as the room's next seq, or finds
/// its earlier copy: the unique index on (room, client_id) refuses the second row, so
/// the common case is one statement.
pub(super) fn append_one(
    tx: &Transaction<'_>,
    draft: Draft,
    room: &mut RoomRow,
    ts: u64,
) -> rusqlite::Result<Appended> {
    let seq = room.last_seq + 1;
    let inserted = tx
        .prepare_cached(
            "INSERT INTO messages (room_id, seq, sender, body, ts, client_id, sender_user, reply_to)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (room_id, client_id) DO NOTHING",
        )?
        .execute(params![
            room.id,
            seq,
            draft.from.as_str(),
            draft.body.as_str(),
            ts as i64,
            draft.client_id.as_str(),
            draft.user.as_ref().map(|u| u.as_str()),
            draft.reply_to.map(|s| s.min(i64::MAX as u64) as i64)
        ])?;
    if inserted == 0 {
        let earlier: i64 = tx
            .prepare_cached("SELECT seq FROM messages WHERE room_id = ?1 AND client_id = ?2")?
            .query_row(params![room.id, draft.client_id.as_str()], |r| r.get(0))?;
        return Ok(Appended::Duplicate {
            seq: decode_err(u64::try_from(earlier))?,
        });
    }
    room.last_seq = seq;
    Ok(Appended::Stored(Message {
        room: draft.room,
        seq: seq as u64,
        from: draft.from,
        content: crate::protocol::Content::text(draft.body),
        ts,
        client_id: draft.client_id,
        user: draft.user,
        reply_to: draft.reply_to,
        reactions: Default::default(),
    }))
}
