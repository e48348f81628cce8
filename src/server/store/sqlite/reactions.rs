//! Reactions in SQLite: one row per (message, emoji, reactor) in `reactions` (schema
//! version 8). Written by the writer thread, in one transaction per batch of reactions
//! (one fsync shared like publishes'); read beside messages with one grouped query per
//! page. The schema's triggers delete a message's rows when it is deleted or dropped.

use super::rows::{decode_err, get_u64};
use crate::protocol::reaction::{MAX_EMOJI_PER_MESSAGE, REACTORS_MAX_NAMES};
use crate::protocol::{Emoji, Message, Reactions, RoomName, UserName};
use crate::server::store::reactions::set_count;
use crate::server::store::{Reacted, Reaction, Reactors};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

/// One queued reaction: room, seq, the reaction.
pub(super) type ReactJob = (RoomName, u64, Reaction);

/// Applies each reaction, in order, in one transaction: all are stored or none.
pub(super) fn react_all(
    conn: &mut Connection,
    jobs: &[ReactJob],
    ts: u64,
) -> rusqlite::Result<Vec<Reacted>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut out = Vec::with_capacity(jobs.len());
    for (room, seq, r) in jobs {
        out.push(react_one(&tx, room, *seq, r, ts)?);
    }
    tx.commit()?;
    Ok(out)
}

fn react_one(
    tx: &Transaction<'_>,
    room: &RoomName,
    seq: u64,
    r: &Reaction,
    ts: u64,
) -> rusqlite::Result<Reacted> {
    let Some(id) = live_message(tx, room, seq)? else {
        return Ok(Reacted::NotFound);
    };
    let seq = seq as i64;
    let emoji = r.emoji.as_str();
    let changed = if r.on {
        let (distinct, has): (i64, bool) = tx
            .prepare_cached(
                "SELECT count(DISTINCT emoji), coalesce(max(emoji = ?3), 0) FROM reactions
                 WHERE room_id = ?1 AND seq = ?2",
            )?
            .query_row(params![id, seq, emoji], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })?;
        if !has && distinct as usize >= MAX_EMOJI_PER_MESSAGE {
            return Ok(Reacted::TooMany);
        }
        tx.prepare_cached(
            "INSERT INTO reactions (room_id, seq, emoji, who, name, ts)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            id,
            seq,
            emoji,
            r.who.key,
            r.who.name.as_str(),
            ts as i64
        ])? == 1
    } else {
        tx.prepare_cached(
            "DELETE FROM reactions WHERE room_id = ?1 AND seq = ?2 AND emoji = ?3 AND who = ?4",
        )?
        .execute(params![id, seq, emoji, r.who.key])?
            == 1
    };
    let mut counts = Reactions::new();
    let mut stmt = tx.prepare_cached(
        "SELECT emoji, count(*) FROM reactions WHERE room_id = ?1 AND seq = ?2 GROUP BY emoji",
    )?;
    let mut rows = stmt.query(params![id, seq])?;
    while let Some(row) = rows.next()? {
        let e: String = row.get(0)?;
        counts.set(decode_err(Emoji::parse(&e))?, get_u64(row, 1)? as u32);
    }
    Ok(Reacted::Counts { counts, changed })
}

/// The room's id when the message `seq` is stored and not deleted.
fn live_message(tx: &Transaction<'_>, room: &RoomName, seq: u64) -> rusqlite::Result<Option<i64>> {
    let seq = seq.min(i64::MAX as u64) as i64;
    tx.prepare_cached(
        "SELECT m.room_id FROM rooms r JOIN messages m ON m.room_id = r.id
         WHERE r.name = ?1 AND m.seq = ?2 AND NOT m.deleted",
    )?
    .query_row(params![room.as_str(), seq], |r| r.get(0))
    .optional()
}

/// Fills in the `reactions` of `msgs` (one room's, sorted by seq) with one grouped
/// query over their span of seqs.
pub(super) fn attach(
    tx: &Transaction<'_>,
    room_id: i64,
    msgs: &mut [Message],
) -> rusqlite::Result<()> {
    let (Some(first), Some(last)) = (msgs.first(), msgs.last()) else {
        return Ok(());
    };
    let (lo, hi) = (first.seq as i64, last.seq as i64);
    let mut stmt = tx.prepare_cached(
        "SELECT seq, emoji, count(*) FROM reactions
         WHERE room_id = ?1 AND seq >= ?2 AND seq <= ?3 GROUP BY seq, emoji",
    )?;
    let mut rows = stmt.query(params![room_id, lo, hi])?;
    while let Some(row) = rows.next()? {
        let seq = get_u64(row, 0)?;
        let e: String = row.get(1)?;
        let n = get_u64(row, 2)? as u32;
        set_count(msgs, seq, decode_err(Emoji::parse(&e))?, n);
    }
    Ok(())
}

/// Who reacted to `seq`, as the reactor `key` sees it; `None` when it is not stored or
/// is deleted. Reads at most [`REACTORS_MAX_NAMES`] names per emoji.
pub(super) fn reactors(
    tx: &Transaction<'_>,
    room: &RoomName,
    seq: u64,
    key: &str,
) -> rusqlite::Result<Option<Reactors>> {
    let Some(id) = live_message(tx, room, seq)? else {
        return Ok(None);
    };
    let seq = seq as i64;
    let mut out = Reactors::default();
    {
        let mut stmt = tx.prepare_cached(
            "SELECT emoji, name FROM (
                 SELECT emoji, name, ts, who,
                        row_number() OVER (PARTITION BY emoji ORDER BY ts, who) AS n
                 FROM reactions WHERE room_id = ?1 AND seq = ?2)
             WHERE n <= ?3 ORDER BY emoji, ts, who",
        )?;
        let mut rows = stmt.query(params![id, seq, REACTORS_MAX_NAMES as i64])?;
        while let Some(row) = rows.next()? {
            let (e, name): (String, String) = (row.get(0)?, row.get(1)?);
            out.by
                .entry(decode_err(Emoji::parse(&e))?)
                .or_default()
                .push(decode_err(UserName::parse(&name))?);
        }
    }
    let mut stmt = tx.prepare_cached(
        "SELECT emoji FROM reactions WHERE room_id = ?1 AND seq = ?2 AND who = ?3 ORDER BY emoji",
    )?;
    let mut rows = stmt.query(params![id, seq, key])?;
    while let Some(row) = rows.next()? {
        let e: String = row.get(0)?;
        out.mine.push(decode_err(Emoji::parse(&e))?);
    }
    Ok(Some(out))
}
