//! Bans, mutes, slow mode and the audit log in `chorus.db` (schema version 7).

use super::{Act, ActKind, ModerationStore, Sanctions, Until, MAX_ACTS};
use crate::protocol::{RoomName, SanctionKind, UserId};
use crate::server::store::sqlite::side::SideConnection;
use crate::server::store::StoreError;
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

/// [`ModerationStore`] over the database, on a connection of its own.
pub struct SqliteModeration {
    conn: SideConnection,
}

impl SqliteModeration {
    /// On `conn` (a side connection of the store).
    pub fn new(conn: Connection) -> Self {
        Self {
            conn: SideConnection::new(conn, "moderation"),
        }
    }
}

fn bad(what: &'static str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, what.into())
}

#[async_trait]
impl ModerationStore for SqliteModeration {
    async fn sanctions(
        &self,
        room: &RoomName,
        user: &UserId,
        now_ms: u64,
    ) -> Result<Sanctions, StoreError> {
        let (room, user) = (room.to_string(), user.to_string());
        self.conn
            .run(move |c| {
                let mut out = Sanctions::default();
                // The server-wide ban is stored under the room '' (no room's name).
                let mut stmt = c.prepare_cached(
                    "SELECT kind, until_ms, room = '' FROM sanctions WHERE room IN (?1, '')
                     AND user = ?2 AND (until_ms IS NULL OR until_ms > ?3)",
                )?;
                let rows = stmt.query_map(params![room, user, now_ms as i64], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Option<i64>>(1)?,
                        r.get::<_, bool>(2)?,
                    ))
                })?;
                for row in rows {
                    let (kind, until, everywhere) = row?;
                    out.everywhere |= everywhere;
                    let until = until.map_or(Until::Forever, |t| Until::At(t.max(0) as u64));
                    match SanctionKind::parse(&kind).ok_or_else(|| bad("sanction kind"))? {
                        // A ban for good (here or server-wide) outranks one with an end.
                        SanctionKind::Ban if out.ban != Some(Until::Forever) => {
                            out.ban = Some(until)
                        }
                        SanctionKind::Ban => {}
                        SanctionKind::Mute => out.mute = Some(until),
                    }
                }
                Ok(out)
            })
            .await
    }

    async fn sanction(
        &self,
        room: &RoomName,
        user: &UserId,
        kind: SanctionKind,
        until: Until,
    ) -> Result<(), StoreError> {
        let (room, user) = (room.to_string(), user.to_string());
        let now = crate::server::store::now_ms() as i64;
        self.conn
            .run(move |c| {
                let tx = c.transaction()?;
                // Ended ones go as new ones come (an index range): the table holds
                // those in force and few more.
                tx.execute("DELETE FROM sanctions WHERE until_ms <= ?1", [now])?;
                tx.execute(
                    "INSERT INTO sanctions (room, user, kind, until_ms) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (room, user, kind) DO UPDATE SET until_ms = excluded.until_ms",
                    params![room, user, kind.as_str(), until.as_ms().map(|t| t as i64)],
                )?;
                tx.commit()
            })
            .await
    }

    async fn lift(
        &self,
        room: &RoomName,
        user: &UserId,
        kind: SanctionKind,
    ) -> Result<(), StoreError> {
        let (room, user) = (room.to_string(), user.to_string());
        self.conn
            .run(move |c| {
                c.execute(
                    "DELETE FROM sanctions WHERE room = ?1 AND user = ?2 AND kind = ?3",
                    params![room, user, kind.as_str()],
                )
                .map(|_| ())
            })
            .await
    }

    async fn set_server_ban(&self, user: &UserId, until: Option<Until>) -> Result<(), StoreError> {
        let user = user.to_string();
        self.conn
            .run(move |c| {
                match until {
                    Some(u) => c.execute(
                        "INSERT INTO sanctions (room, user, kind, until_ms) VALUES ('', ?1, 'ban', ?2)
                         ON CONFLICT (room, user, kind) DO UPDATE SET until_ms = excluded.until_ms",
                        params![user, u.as_ms().map(|t| t as i64)],
                    )?,
                    None => c.execute(
                        "DELETE FROM sanctions WHERE room = '' AND user = ?1 AND kind = 'ban'",
                        [user],
                    )?,
                };
                Ok(())
            })
            .await
    }

    async fn slow_mode(&self, room: &RoomName) -> Result<u32, StoreError> {
        let room = room.to_string();
        self.conn
            .run(move |c| {
                c.prepare_cached("SELECT slow_mode_s FROM room_policy WHERE room = ?1")?
                    .query_row([room], |r| r.get::<_, i64>(0))
                    .optional()
                    .map(|s| s.map_or(0, |s| s.clamp(0, i64::from(u32::MAX)) as u32))
            })
            .await
    }

    async fn set_slow_mode(&self, room: &RoomName, seconds: u32) -> Result<(), StoreError> {
        let room = room.to_string();
        self.conn
            .run(move |c| {
                if seconds == 0 {
                    c.execute("DELETE FROM room_policy WHERE room = ?1", [room])?;
                } else {
                    c.execute(
                        "INSERT INTO room_policy (room, slow_mode_s) VALUES (?1, ?2)
                         ON CONFLICT (room) DO UPDATE SET slow_mode_s = excluded.slow_mode_s",
                        params![room, seconds],
                    )?;
                }
                Ok(())
            })
            .await
    }

    async fn record(&self, room: &RoomName, act: &Act) -> Result<(), StoreError> {
        let (room, act) = (room.to_string(), act.clone());
        self.conn
            .run(move |c| {
                let tx = c.transaction()?;
                tx.execute(
                    "INSERT INTO audit (room, act, actor, target, seq, ts, detail)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        room,
                        act.act.as_str(),
                        act.by,
                        act.target.as_ref().map(|t| t.as_str()),
                        act.seq.map(|s| s as i64),
                        act.ts as i64,
                        act.detail
                    ],
                )?;
                let id = tx.last_insert_rowid();
                // Keep the newest MAX_ACTS: one index range behind the new row.
                tx.execute(
                    "DELETE FROM audit WHERE room = ?1 AND id <= (
                         SELECT id FROM audit WHERE room = ?1 AND id < ?2
                         ORDER BY id DESC LIMIT 1 OFFSET ?3)",
                    params![room, id, (MAX_ACTS - 1) as i64],
                )?;
                tx.commit()
            })
            .await
    }

    async fn acts(&self, room: &RoomName) -> Result<Vec<Act>, StoreError> {
        let room = room.to_string();
        self.conn
            .run(move |c| {
                let mut stmt = c.prepare_cached(
                    "SELECT act, actor, target, seq, ts, detail FROM audit WHERE room = ?1
                     ORDER BY id",
                )?;
                let rows = stmt.query_map([room], |r| {
                    let act: String = r.get(0)?;
                    let target: Option<String> = r.get(2)?;
                    Ok(Act {
                        act: ActKind::parse(&act).ok_or_else(|| bad("act"))?,
                        by: r.get(1)?,
                        target: target
                            .map(|t| UserId::parse(&t).map_err(|_| bad("target")))
                            .transpose()?,
                        seq: r.get::<_, Option<i64>>(3)?.map(|s| s.max(0) as u64),
                        ts: r.get::<_, i64>(4)?.max(0) as u64,
                        detail: r.get(5)?,
                    })
                })?;
                rows.collect()
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::store::sqlite::{SqliteOptions, SqliteStore};

    #[tokio::test(flavor = "multi_thread")]
    async fn conforms_and_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let r = RoomName::parse("modroom").unwrap();
        {
            let store = SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap();
            let m = SqliteModeration::new(store.side_connection().unwrap());
            super::super::memory::conformance(&m).await;
            let u = UserId::parse("u-long").unwrap();
            m.sanction(&r, &u, SanctionKind::Ban, Until::Forever)
                .await
                .unwrap();
        }
        let store = SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap();
        let m = SqliteModeration::new(store.side_connection().unwrap());
        let u = UserId::parse("u-long").unwrap();
        let now = crate::server::store::now_ms();
        assert!(m.sanctions(&r, &u, now).await.unwrap().banned_at(now));
        assert_eq!(m.acts(&r).await.unwrap().len(), 2);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_audit_log_keeps_its_newest_acts() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap();
        let m = SqliteModeration::new(store.side_connection().unwrap());
        let r = RoomName::parse("busy").unwrap();
        for ts in 0..(MAX_ACTS as u64 + 5) {
            let act = Act {
                act: ActKind::Delete,
                by: "api".into(),
                target: None,
                seq: Some(ts + 1),
                ts,
                detail: None,
            };
            m.record(&r, &act).await.unwrap();
        }
        let acts = m.acts(&r).await.unwrap();
        assert_eq!(acts.len(), MAX_ACTS);
        assert_eq!(acts[0].ts, 5, "the oldest went");
        assert_eq!(acts.last().map(|a| a.ts), Some(MAX_ACTS as u64 + 4));
    }
}
