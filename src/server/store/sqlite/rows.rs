//! Reading stored rows back into protocol values: a room's row, and messages with their
//! content (text, edited, deleted); a value that does not parse is a read error.

use crate::protocol::{Body, ClientId, Content, Message, RoomName, UserId, UserName};
use rusqlite::OptionalExtension;

/// A stored value that does not parse back (the file was edited or damaged) is a read
/// error, not a panic.
pub(crate) fn decode_err<T, E: std::error::Error + Send + Sync + 'static>(
    r: Result<T, E>,
) -> rusqlite::Result<T> {
    r.map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
    })
}

/// Seqs and times are stored as SQLite integers (i64); a negative one is damage.
pub(crate) fn get_u64(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<u64> {
    let v: i64 = row.get(i)?;
    u64::try_from(v).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Integer, e.into())
    })
}

/// The room's row: (id, epoch, last_seq, dropped_through).
pub(super) fn room_row(
    tx: &rusqlite::Transaction<'_>,
    room: &RoomName,
) -> rusqlite::Result<Option<(i64, String, u64, u64)>> {
    tx.prepare_cached("SELECT id, epoch, last_seq, dropped_through FROM rooms WHERE name = ?1")?
        .query_row([room.as_str()], |r| {
            Ok((r.get(0)?, r.get(1)?, get_u64(r, 2)?, get_u64(r, 3)?))
        })
        .optional()
}

/// Reads messages of one room selected by `sql` (its columns: seq, sender, body, ts,
/// client_id, sender_user, edited_ts, deleted, reply_to; parameters: room id, then
/// `args`). Their `reactions` are left empty: [`super::reactions::attach`] adds them.
pub(super) fn messages(
    tx: &rusqlite::Transaction<'_>,
    room: &RoomName,
    sql: &str,
    args: impl rusqlite::Params,
) -> rusqlite::Result<Vec<Message>> {
    let mut stmt = tx.prepare_cached(sql)?;
    let rows = stmt.query_map(args, |r| {
        Ok((
            get_u64(r, 0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            get_u64(r, 3)?,
            r.get::<_, String>(4)?,
            r.get::<_, Option<String>>(5)?,
            r.get::<_, Option<i64>>(6)?,
            r.get::<_, bool>(7)?,
            r.get::<_, Option<i64>>(8)?,
        ))
    })?;
    rows.map(|row| {
        let (seq, from, body, ts, client_id, user, edited_ts, deleted, reply_to) = row?;
        let content = if deleted {
            Content::deleted()
        } else {
            Content::Text {
                body: decode_err(Body::parse(&body))?,
                edited_ts: edited_ts.map(|t| t.max(0) as u64),
            }
        };
        Ok(Message {
            room: room.clone(),
            seq,
            from: decode_err(UserName::parse(&from))?,
            content,
            ts,
            client_id: decode_err(ClientId::parse(&client_id))?,
            user: user.map(|u| decode_err(UserId::parse(&u))).transpose()?,
            reply_to: reply_to.and_then(|s| u64::try_from(s).ok()),
            reactions: Default::default(),
        })
    })
    .collect()
}
