//! Room settings, members and invites in `chorus.db` (schema version 6).

use super::{
    DirectoryError, Role, RoomDirectory, RoomSettings, Visibility, MAX_INVITES, MAX_MEMBERS,
};
use crate::protocol::{RoomName, UserId};
use crate::server::store::sqlite::side::SideConnection;
use crate::server::store::StoreError;
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

/// [`RoomDirectory`] over the database, on a connection of its own.
pub struct SqliteRooms {
    conn: SideConnection,
}

impl SqliteRooms {
    /// On `conn` (a side connection of the store).
    pub fn new(conn: Connection) -> Self {
        Self {
            conn: SideConnection::new(conn, "rooms"),
        }
    }
}

fn bad(what: &'static str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, what.into())
}

#[async_trait]
impl RoomDirectory for SqliteRooms {
    async fn settings(&self, room: &RoomName) -> Result<Option<RoomSettings>, StoreError> {
        let room = room.to_string();
        self.conn
            .run(move |c| {
                c.prepare_cached("SELECT visibility, owner FROM room_settings WHERE room = ?1")?
                    .query_row([room], |r| {
                        let v: String = r.get(0)?;
                        let owner: Option<String> = r.get(1)?;
                        Ok(RoomSettings {
                            visibility: Visibility::parse(&v).ok_or_else(|| bad("visibility"))?,
                            owner: owner
                                .map(|o| UserId::parse(&o).map_err(|_| bad("owner")))
                                .transpose()?,
                        })
                    })
                    .optional()
            })
            .await
    }

    async fn create(&self, room: &RoomName, settings: &RoomSettings) -> Result<(), DirectoryError> {
        let (room, v, owner) = (
            room.to_string(),
            settings.visibility.as_str(),
            settings.owner.as_ref().map(|o| o.to_string()),
        );
        let made = self
            .conn
            .run(move |c| {
                c.execute(
                    "INSERT INTO room_settings (room, visibility, owner, created_ms) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (room) DO NOTHING",
                    params![room, v, owner, crate::server::store::now_ms() as i64],
                )
            })
            .await?;
        if made == 0 {
            return Err(DirectoryError::Exists);
        }
        Ok(())
    }

    async fn member(&self, room: &RoomName, user: &UserId) -> Result<Option<Role>, StoreError> {
        let (room, user) = (room.to_string(), user.to_string());
        self.conn
            .run(move |c| {
                c.prepare_cached("SELECT role FROM room_members WHERE room = ?1 AND user = ?2")?
                    .query_row([room, user], |r| {
                        let role: String = r.get(0)?;
                        Role::parse(&role).ok_or_else(|| bad("role"))
                    })
                    .optional()
            })
            .await
    }

    async fn set_member(
        &self,
        room: &RoomName,
        user: &UserId,
        role: Role,
    ) -> Result<(), DirectoryError> {
        let (room, user) = (room.to_string(), user.to_string());
        let done = self
            .conn
            .run(move |c| {
                let tx = c.transaction()?;
                let count: i64 = tx.query_row(
                    "SELECT count(*) FROM room_members WHERE room = ?1",
                    [&room],
                    |r| r.get(0),
                )?;
                let present: bool = tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM room_members WHERE room = ?1 AND user = ?2)",
                    [&room, &user],
                    |r| r.get(0),
                )?;
                if !present && count as usize >= MAX_MEMBERS {
                    return Ok(false);
                }
                tx.execute(
                    "INSERT INTO room_members (room, user, role) VALUES (?1, ?2, ?3)
                     ON CONFLICT (room, user) DO UPDATE SET role = excluded.role",
                    params![room, user, role.as_str()],
                )?;
                tx.commit()?;
                Ok(true)
            })
            .await?;
        if !done {
            return Err(DirectoryError::Full("members"));
        }
        Ok(())
    }

    async fn rooms_of(&self, user: &UserId, max: usize) -> Result<Vec<RoomName>, StoreError> {
        let user = user.to_string();
        self.conn
            .run(move |c| {
                c.prepare_cached(
                    "SELECT room FROM room_members WHERE user = ?1
                     UNION SELECT room FROM room_settings WHERE owner = ?1
                     ORDER BY room LIMIT ?2",
                )?
                .query_map(params![user, max as i64], |r| {
                    let room: String = r.get(0)?;
                    RoomName::parse(&room).map_err(|_| bad("room"))
                })?
                .collect()
            })
            .await
    }

    async fn members(&self, room: &RoomName) -> Result<Vec<(UserId, Role)>, StoreError> {
        let room = room.to_string();
        self.conn
            .run(move |c| {
                c.prepare_cached(
                    "SELECT user, role FROM room_members WHERE room = ?1 ORDER BY user LIMIT ?2",
                )?
                .query_map(params![room, MAX_MEMBERS as i64], |r| {
                    let (user, role): (String, String) = (r.get(0)?, r.get(1)?);
                    Ok((
                        UserId::parse(&user).map_err(|_| bad("member"))?,
                        Role::parse(&role).ok_or_else(|| bad("role"))?,
                    ))
                })?
                .collect()
            })
            .await
    }

    async fn remove_member(&self, room: &RoomName, user: &UserId) -> Result<(), StoreError> {
        let (room, user) = (room.to_string(), user.to_string());
        self.conn
            .run(move |c| {
                c.execute(
                    "DELETE FROM room_members WHERE room = ?1 AND user = ?2",
                    [room, user],
                )
                .map(|_| ())
            })
            .await
    }

    async fn add_invite(
        &self,
        hash: [u8; 32],
        room: &RoomName,
        expires_ms: u64,
    ) -> Result<(), DirectoryError> {
        let room = room.to_string();
        let done = self
            .conn
            .run(move |c| {
                let tx = c.transaction()?;
                let now = crate::server::store::now_ms() as i64;
                tx.execute("DELETE FROM invites WHERE expires_ms <= ?1", [now])?;
                let count: i64 = tx.query_row(
                    "SELECT count(*) FROM invites WHERE room = ?1",
                    [&room],
                    |r| r.get(0),
                )?;
                if count as usize >= MAX_INVITES {
                    return Ok(false);
                }
                tx.execute(
                    "INSERT INTO invites (code_hash, room, expires_ms) VALUES (?1, ?2, ?3)",
                    params![&hash[..], room, expires_ms as i64],
                )?;
                tx.commit()?;
                Ok(true)
            })
            .await?;
        if !done {
            return Err(DirectoryError::Full("invites"));
        }
        Ok(())
    }

    async fn invite(&self, hash: [u8; 32], now_ms: u64) -> Result<Option<RoomName>, StoreError> {
        self.conn
            .run(move |c| {
                c.prepare_cached(
                    "SELECT room FROM invites WHERE code_hash = ?1 AND expires_ms > ?2",
                )?
                .query_row(params![&hash[..], now_ms as i64], |r| {
                    let room: String = r.get(0)?;
                    RoomName::parse(&room).map_err(|_| bad("room"))
                })
                .optional()
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
        {
            let store = SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap();
            super::super::memory::conformance(&SqliteRooms::new(store.side_connection().unwrap()))
                .await;
        }
        let store = SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap();
        let rooms = SqliteRooms::new(store.side_connection().unwrap());
        let r = RoomName::parse("secret").unwrap();
        assert_eq!(
            rooms.settings(&r).await.unwrap().unwrap().visibility,
            Visibility::Private
        );
    }
}
