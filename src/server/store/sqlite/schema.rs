//! The database's schema, its version number, and the migrations between versions.
//!
//! The version lives in SQLite's own `PRAGMA user_version` (a header field, so it is read
//! without touching any table). [`migrate`] runs, in one transaction, every migration
//! above the file's version, so a data directory made by any earlier release is upgraded
//! in place, and one made by a newer release is refused rather than misread.

use rusqlite::Connection;

/// Each entry upgrades the schema from version `index` to `index + 1`. Append only:
/// a released migration is never edited, or existing data directories would diverge.
const MIGRATIONS: &[&str] = &[
    // 0 → 1: rooms, their messages, and the database's identity.
    r#"
    -- Settings of this database. `epoch` is made once, with the database: a room's
    -- epoch is the database's when the room is created, so an empty room (which has no
    -- row) already has the epoch it will keep.
    CREATE TABLE store_info (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE rooms (
        id              INTEGER PRIMARY KEY,
        name            TEXT NOT NULL UNIQUE,
        epoch           TEXT NOT NULL,
        -- The newest seq ever stored (0: none). Never decreases.
        last_seq        INTEGER NOT NULL DEFAULT 0,
        -- Every seq up to this one has been deleted by retention (0: none).
        dropped_through INTEGER NOT NULL DEFAULT 0
    );

    CREATE TABLE messages (
        room_id   INTEGER NOT NULL REFERENCES rooms(id),
        seq       INTEGER NOT NULL,
        sender    TEXT NOT NULL,
        body      TEXT NOT NULL,
        ts        INTEGER NOT NULL,
        client_id TEXT NOT NULL,
        PRIMARY KEY (room_id, seq)
    );

    -- Idempotency is the store's job, not the code's: a second row with the same
    -- (room, client_id) cannot exist, whatever the writer does.
    CREATE UNIQUE INDEX messages_by_client ON messages (room_id, client_id);
    "#,
    // 1 → 2: the time of each room's oldest kept message, indexed, so expiring old
    // messages visits only the rooms that have some (it visited every room each minute).
    r#"
    ALTER TABLE rooms ADD COLUMN oldest_ts INTEGER;
    UPDATE rooms SET oldest_ts =
        (SELECT ts FROM messages WHERE room_id = rooms.id ORDER BY seq LIMIT 1);
    CREATE INDEX rooms_by_oldest_ts ON rooms (oldest_ts) WHERE oldest_ts IS NOT NULL;
    "#,
    // 2 → 3: the bytes each room keeps (sender + body + client_id of its messages), for
    // retention by bytes, and an index of the rooms holding any, for the cap on rooms.
    r#"
    ALTER TABLE rooms ADD COLUMN kept_bytes INTEGER NOT NULL DEFAULT 0;
    UPDATE rooms SET kept_bytes = (
        SELECT coalesce(sum(octet_length(sender) + octet_length(body) + octet_length(client_id)), 0)
        FROM messages WHERE room_id = rooms.id);
    CREATE INDEX rooms_holding ON rooms (id) WHERE kept_bytes > 0;
    "#,
    // 3 → 4: the publisher's user id (v1.1 identity); NULL for guests and bots.
    r#"
    ALTER TABLE messages ADD COLUMN sender_user TEXT;
    "#,
    // 4 → 5: the site's accounts and their sign-in sessions (v1.1 "Accounts").
    r#"
    CREATE TABLE accounts (
        -- The user id ("acct:" and 16 hex digits), what messages carry as `user`.
        id            TEXT PRIMARY KEY,
        name          TEXT NOT NULL,
        -- The name in lower case: names are unique regardless of case.
        name_key      TEXT NOT NULL UNIQUE,
        -- Argon2id, PHC string format (salt and parameters inside).
        password_hash TEXT NOT NULL,
        created_ms    INTEGER NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE sessions (
        -- SHA-256 of the cookie's session id: a stolen database holds no usable cookie.
        id_hash    BLOB PRIMARY KEY,
        account    TEXT NOT NULL REFERENCES accounts(id),
        created_ms INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX sessions_by_account ON sessions (account, created_ms);
    CREATE INDEX sessions_by_expiry ON sessions (expires_ms);
    "#,
    // 5 → 6: rooms with owners (v1.1): settings, members, invites.
    r#"
    CREATE TABLE room_settings (
        room       TEXT PRIMARY KEY,
        visibility TEXT NOT NULL,
        owner      TEXT,
        created_ms INTEGER NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE room_members (
        room TEXT NOT NULL,
        user TEXT NOT NULL,
        role TEXT NOT NULL,
        PRIMARY KEY (room, user)
    ) WITHOUT ROWID;

    CREATE TABLE invites (
        -- SHA-256 of the code in the link.
        code_hash  BLOB PRIMARY KEY,
        room       TEXT NOT NULL,
        expires_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX invites_by_room ON invites (room, expires_ms);
    "#,
    // 6 → 7: moderation (v1.1): deleted and edited messages (a deleted one keeps its row
    // with an empty body), bans and mutes, the audit log, slow mode.
    r#"
    ALTER TABLE messages ADD COLUMN edited_ts INTEGER;
    ALTER TABLE messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;

    CREATE TABLE sanctions (
        room     TEXT NOT NULL,
        user     TEXT NOT NULL,
        -- 'ban' or 'mute'.
        kind     TEXT NOT NULL,
        -- When it ends (ms since the Unix epoch); NULL: for good.
        until_ms INTEGER,
        PRIMARY KEY (room, user, kind)
    ) WITHOUT ROWID;
    CREATE INDEX sanctions_by_end ON sanctions (until_ms) WHERE until_ms IS NOT NULL;

    CREATE TABLE audit (
        id     INTEGER PRIMARY KEY,
        room   TEXT NOT NULL,
        act    TEXT NOT NULL,
        actor  TEXT NOT NULL,
        target TEXT,
        seq    INTEGER,
        ts     INTEGER NOT NULL,
        -- The act's particulars as JSON (a duration, a role, a setting), or NULL.
        detail TEXT
    );
    CREATE INDEX audit_by_room ON audit (room, id);

    -- Rooms' moderation settings (any room may have them, with or without settings).
    CREATE TABLE room_policy (
        room        TEXT PRIMARY KEY,
        slow_mode_s INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    "#,
    // 7 → 8: replies and reactions (v1.1). A reaction row per (message, emoji, who);
    // triggers delete a message's reactions with it (retention, purge) and when it is
    // deleted, so no code path can leave them behind.
    r#"
    ALTER TABLE messages ADD COLUMN reply_to INTEGER;

    CREATE TABLE reactions (
        room_id INTEGER NOT NULL,
        seq     INTEGER NOT NULL,
        emoji   TEXT NOT NULL,
        -- 'u:' and the user id, or 'g:' and the guest's connection.
        who     TEXT NOT NULL,
        -- The name shown in "who reacted", as it was then.
        name    TEXT NOT NULL,
        ts      INTEGER NOT NULL,
        PRIMARY KEY (room_id, seq, emoji, who)
    ) WITHOUT ROWID;

    CREATE TRIGGER reactions_leave_with_their_message AFTER DELETE ON messages
    BEGIN
        DELETE FROM reactions WHERE room_id = old.room_id AND seq = old.seq;
    END;

    CREATE TRIGGER reactions_leave_a_deleted_message AFTER UPDATE OF deleted ON messages
    WHEN new.deleted
    BEGIN
        DELETE FROM reactions WHERE room_id = new.room_id AND seq = new.seq;
    END;
    "#,
    // 8 → 9: the rooms of a user (the sidebar's "your rooms"), by index.
    r#"
    CREATE INDEX room_members_by_user ON room_members (user);
    CREATE INDEX room_settings_by_owner ON room_settings (owner) WHERE owner IS NOT NULL;
    "#,
];

/// The migrations, for tests that build a database of an older version.
#[cfg(test)]
pub(crate) const MIGRATIONS_FOR_TESTS: &[&str] = MIGRATIONS;

/// The schema version this build writes.
pub const LATEST: u32 = MIGRATIONS.len() as u32;

/// Why a database's schema cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// Made by a newer Chorus: reading it could lose data.
    #[error("schema version {found} is newer than this build's {LATEST}; upgrade Chorus")]
    TooNew {
        /// The file's version.
        found: u32,
    },
    /// The file is a SQLite database, but not one of ours.
    #[error("it is a SQLite database, but not a Chorus one (it has tables and no version)")]
    Foreign,
    /// SQLite failed (the file is unreadable, corrupt, or not a database).
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// The file's schema version.
pub fn version(conn: &Connection) -> rusqlite::Result<u32> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
}

/// Brings the schema to [`LATEST`]; creates the database's epoch on first use. Returns
/// the version found before.
pub fn migrate(conn: &mut Connection, new_epoch: &str) -> Result<u32, SchemaError> {
    let found = version(conn)?;
    if found > LATEST {
        return Err(SchemaError::TooNew { found });
    }
    if found == 0 {
        let tables: i64 = conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )?;
        if tables > 0 {
            return Err(SchemaError::Foreign);
        }
    }
    if found == LATEST {
        return Ok(found);
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    for sql in &MIGRATIONS[found as usize..] {
        tx.execute_batch(sql)?;
    }
    tx.execute(
        "INSERT OR IGNORE INTO store_info (key, value) VALUES ('epoch', ?1)",
        [new_epoch],
    )?;
    tx.pragma_update(None, "user_version", LATEST)?;
    tx.commit()?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_a_new_file_once_and_keeps_its_epoch() {
        let mut c = Connection::open_in_memory().unwrap();
        assert_eq!(migrate(&mut c, "e1").unwrap(), 0);
        assert_eq!(version(&c).unwrap(), LATEST);
        assert_eq!(
            migrate(&mut c, "e2").unwrap(),
            LATEST,
            "second run is a no-op"
        );
        let epoch: String = c
            .query_row("SELECT value FROM store_info WHERE key='epoch'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(epoch, "e1");
    }

    #[test]
    fn refuses_newer_and_foreign_databases() {
        let mut c = Connection::open_in_memory().unwrap();
        c.pragma_update(None, "user_version", LATEST + 1).unwrap();
        assert!(matches!(
            migrate(&mut c, "e"),
            Err(SchemaError::TooNew { .. })
        ));
        let mut c = Connection::open_in_memory().unwrap();
        c.execute_batch("CREATE TABLE t (x)").unwrap();
        assert!(matches!(migrate(&mut c, "e"), Err(SchemaError::Foreign)));
    }

    #[test]
    fn one_client_id_per_room_is_enforced_by_the_schema() {
        let mut c = Connection::open_in_memory().unwrap();
        migrate(&mut c, "e").unwrap();
        c.execute_batch(
            "INSERT INTO rooms (id, name, epoch) VALUES (1, 'a', 'e');
             INSERT INTO messages (room_id, seq, sender, body, ts, client_id)
                 VALUES (1, 1, 'ann', 'x', 0, 'c1');",
        )
        .unwrap();
        let again = c.execute(
            "INSERT INTO messages (room_id, seq, sender, body, ts, client_id)
             VALUES (1, 2, 'ann', 'x', 0, 'c1')",
            [],
        );
        assert!(again.is_err());
    }
}
