//! Accounts and sessions in the SQLite database (tables `accounts`, `sessions`; schema
//! version 5), through one connection of their own on the blocking pool.

use super::{Account, AccountStore, CreateError, SessionHash, StoredAccount};
use crate::protocol::{UserId, UserName};
use crate::server::store::sqlite::side::SideConnection;
use crate::server::store::StoreError;
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

/// [`AccountStore`] over `chorus.db`.
pub struct SqliteAccounts {
    conn: SideConnection,
}

impl SqliteAccounts {
    /// On `conn` (a side connection of the store).
    pub fn new(conn: Connection) -> Self {
        Self {
            conn: SideConnection::new(conn, "accounts"),
        }
    }
}

fn account(user: String, name: String) -> rusqlite::Result<Account> {
    let bad = |e: crate::protocol::ProtocolError| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
    };
    Ok(Account {
        user: UserId::parse(&user).map_err(bad)?,
        name: UserName::parse(&name).map_err(bad)?,
    })
}

#[async_trait]
impl AccountStore for SqliteAccounts {
    async fn create(&self, account: &Account, password_hash: &str) -> Result<(), CreateError> {
        let (id, name, key, hash) = (
            account.user.to_string(),
            account.name.to_string(),
            super::name_key(&account.name),
            password_hash.to_string(),
        );
        let inserted = self
            .conn
            .run(move |c| {
                c.execute(
                    "INSERT INTO accounts (id, name, name_key, password_hash, created_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (name_key) DO NOTHING",
                    params![id, name, key, hash, crate::server::store::now_ms() as i64],
                )
            })
            .await?;
        if inserted == 0 {
            return Err(CreateError::NameTaken);
        }
        Ok(())
    }

    async fn by_name(&self, name_key: &str) -> Result<Option<StoredAccount>, StoreError> {
        let key = name_key.to_string();
        self.conn
            .run(move |c| {
                c.prepare_cached(
                    "SELECT id, name, password_hash FROM accounts WHERE name_key = ?1",
                )?
                .query_row([key], |r| {
                    Ok(StoredAccount {
                        account: account(r.get(0)?, r.get(1)?)?,
                        password_hash: r.get(2)?,
                    })
                })
                .optional()
            })
            .await
    }

    async fn names(
        &self,
        users: &[UserId],
    ) -> Result<std::collections::HashMap<UserId, UserName>, StoreError> {
        let users: Vec<String> = users.iter().map(|u| u.to_string()).collect();
        self.conn
            .run(move |c| {
                let mut q = c.prepare_cached("SELECT id, name FROM accounts WHERE id = ?1")?;
                let mut out = std::collections::HashMap::new();
                for user in users {
                    if let Some(a) = q
                        .query_row([user], |r| account(r.get(0)?, r.get(1)?))
                        .optional()?
                    {
                        out.insert(a.user, a.name);
                    }
                }
                Ok(out)
            })
            .await
    }

    async fn create_session(
        &self,
        hash: SessionHash,
        user: &UserId,
        expires_ms: u64,
        keep: usize,
    ) -> Result<(), StoreError> {
        let user = user.to_string();
        self.conn.run(move |c| {
            let tx = c.transaction()?;
            let now = crate::server::store::now_ms() as i64;
            tx.execute(
                "INSERT INTO sessions (id_hash, account, created_ms, expires_ms) VALUES (?1, ?2, ?3, ?4)",
                params![&hash.0[..], user, now, expires_ms as i64],
            )?;
            // The account's oldest sessions beyond `keep`, and anyone's expired ones.
            tx.execute(
                "DELETE FROM sessions WHERE account = ?1 AND id_hash NOT IN
                   (SELECT id_hash FROM sessions WHERE account = ?1
                    ORDER BY created_ms DESC LIMIT ?2)",
                params![user, keep as i64],
            )?;
            tx.execute(
                "DELETE FROM sessions WHERE expires_ms <= ?1",
                params![now],
            )?;
            tx.commit()
        })
        .await
    }

    async fn session(
        &self,
        hash: SessionHash,
        now_ms: u64,
    ) -> Result<Option<(Account, u64)>, StoreError> {
        self.conn.run(move |c| {
            c.prepare_cached(
                "SELECT a.id, a.name, s.expires_ms FROM sessions s JOIN accounts a ON a.id = s.account
                 WHERE s.id_hash = ?1 AND s.expires_ms > ?2",
            )?
            .query_row(params![&hash.0[..], now_ms as i64], |r| {
                Ok((account(r.get(0)?, r.get(1)?)?, r.get::<_, i64>(2)?.max(0) as u64))
            })
            .optional()
        })
        .await
    }

    async fn delete_session(&self, hash: SessionHash) -> Result<(), StoreError> {
        self.conn
            .run(move |c| {
                c.execute(
                    "DELETE FROM sessions WHERE id_hash = ?1",
                    params![&hash.0[..]],
                )
                .map(|_| ())
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
            let accounts = SqliteAccounts::new(store.side_connection().unwrap());
            super::super::memory::conformance(&accounts).await;
        }
        let store = SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap();
        let accounts = SqliteAccounts::new(store.side_connection().unwrap());
        let found = accounts.by_name("ann").await.unwrap().expect("kept");
        assert_eq!(found.account.name.as_str(), "Ann");
    }
}
