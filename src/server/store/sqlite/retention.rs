//! What the writer deletes to keep within the retention: by count and bytes with each
//! commit, by age once a minute, and the count of rooms holding messages that the cap
//! on rooms needs. Each costs the rows it removes, not the size of the database.

use rusqlite::{params, Transaction};

/// How many rooms hold messages: counted once (an index of those rooms), then kept up to
/// date by the writer, the only one who changes it.
pub(super) fn holding(known: &mut Option<u64>, tx: &Transaction<'_>) -> rusqlite::Result<u64> {
    if let Some(n) = *known {
        return Ok(n);
    }
    let n: i64 = tx
        .prepare_cached("SELECT count(*) FROM rooms WHERE kept_bytes > 0")?
        .query_row([], |r| r.get(0))?;
    let n = n.max(0) as u64;
    *known = Some(n);
    Ok(n)
}

/// The rooms with a message older than `?1`: found through `rooms_by_oldest_ts`, so the
/// minute's expiry costs the rooms that have something to expire, not every room.
pub(super) const EXPIRING_ROOMS: &str =
    "SELECT id, last_seq, dropped_through FROM rooms WHERE oldest_ts < ?1";

/// What [`drop_through`] did.
pub(super) struct Dropped {
    /// Rows deleted.
    pub(super) rows: u64,
    /// Their bytes (see [`stored_size`](crate::server::store::stored_size)).
    pub(super) bytes: u64,
    /// What the room keeps after it.
    pub(super) kept_bytes: u64,
}

/// Deletes a room's messages up to `seq` and records that they are gone, so replays
/// from before it answer `recovered: false`. The cost is the rows deleted.
pub(super) fn drop_through(tx: &Transaction<'_>, room: i64, seq: u64) -> rusqlite::Result<Dropped> {
    let seq = seq as i64;
    tx.prepare_cached(
        "UPDATE rooms SET dropped_through = ?2 WHERE id = ?1 AND dropped_through < ?2",
    )?
    .execute(params![room, seq])?;
    let (rows, bytes): (i64, i64) = tx
        .prepare_cached(&format!(
            "SELECT count(*), coalesce(sum({SIZE}), 0) FROM messages WHERE room_id = ?1 AND seq <= ?2"
        ))?
        .query_row(params![room, seq], |r| Ok((r.get(0)?, r.get(1)?)))?;
    tx.prepare_cached("DELETE FROM messages WHERE room_id = ?1 AND seq <= ?2")?
        .execute(params![room, seq])?;
    let kept_bytes: i64 = tx
        .prepare_cached(
            "UPDATE rooms SET kept_bytes = max(kept_bytes - ?2, 0), oldest_ts =
                 (SELECT ts FROM messages WHERE room_id = ?1 ORDER BY seq LIMIT 1)
             WHERE id = ?1 RETURNING kept_bytes",
        )?
        .query_row(params![room, bytes], |r| r.get(0))?;
    Ok(Dropped {
        rows: rows.max(0) as u64,
        bytes: bytes.max(0) as u64,
        kept_bytes: kept_bytes.max(0) as u64,
    })
}

/// A message's size in SQL, as [`stored_size`](crate::server::store::stored_size) counts it.
const SIZE: &str = "octet_length(sender) + octet_length(body) + octet_length(client_id)";

/// The seq through which a room's oldest messages add up to at least `excess` bytes
/// (never its newest, `last_seq`): dropping through it brings the room within its byte
/// cap. Walks from the oldest, so the cost is the messages that go.
pub(super) fn bytes_cut(
    tx: &Transaction<'_>,
    room: i64,
    excess: u64,
    last_seq: i64,
) -> rusqlite::Result<u64> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT seq, {SIZE} FROM messages WHERE room_id = ?1 AND seq < ?2 ORDER BY seq"
    ))?;
    let mut rows = stmt.query(params![room, last_seq])?;
    let mut freed = 0u64;
    let mut through = 0u64;
    while let Some(row) = rows.next()? {
        let (seq, size): (i64, i64) = (row.get(0)?, row.get(1)?);
        freed += size.max(0) as u64;
        through = seq.max(0) as u64;
        if freed >= excess {
            break;
        }
    }
    Ok(through)
}
