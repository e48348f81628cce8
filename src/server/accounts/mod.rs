//! The site's own accounts (v1.1 "Accounts"): sign up, sign in, sign out.
//!
//! - this file: the values (names, passwords, session ids) and the [`AccountStore`]
//!   trait the stores implement;
//! - [`passwords`]: Argon2id hashing off the async threads, a few at a time;
//! - [`throttle`]: failed sign-ins per name and per address;
//! - [`service`]: sign-up, sign-in, sessions: what the HTTP handlers call;
//! - [`http`]: `/api/accounts` and `/api/session`, the cookie, the `Origin` rule;
//! - [`forms`]: the pages' sign-in, sign-up and sign-out forms (no JavaScript needed);
//! - [`sqlite`], [`memory`], [`redis`]: where accounts and sessions live.

pub mod forms;
pub mod http;
pub mod memory;
pub mod passwords;
pub mod redis;
pub mod service;
pub mod sqlite;
pub mod throttle;

use crate::protocol::{UserId, UserName};
pub use crate::server::identity::SessionHash;
use crate::server::store::StoreError;
use async_trait::async_trait;

/// An account, as the site shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// Its user id (`acct:` + 16 hex digits): what its messages carry as `user`.
    pub user: UserId,
    /// Its display name, as signed up.
    pub name: UserName,
}

/// An account with what signing in checks.
#[derive(Clone)]
pub struct StoredAccount {
    /// The account.
    pub account: Account,
    /// Its Argon2id hash (PHC string).
    pub password_hash: String,
}

/// The key a name is unique under: its lower case, so "Ann" and "ann" are one account.
pub fn name_key(name: &UserName) -> String {
    name.as_str().to_lowercase()
}

/// A password as given: 10–256 characters. Never printed.
pub struct Password(String);

impl Password {
    /// Accepts 10–256 characters (`weak_password` otherwise).
    pub fn parse(s: &str) -> Option<Self> {
        let n = s.chars().count();
        (10..=256).contains(&n).then(|| Self(s.to_string()))
    }

    /// The text, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<hidden>)")
    }
}

/// Why an account was not created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// The name (in any case) has an account.
    #[error("that name is taken")]
    NameTaken,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where accounts and sessions live: SQLite on one node, memory for throwaway servers
/// (Redis on a cluster: the same trait).
#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// Stores a new account; [`CreateError::NameTaken`] if its name key has one.
    async fn create(&self, account: &Account, password_hash: &str) -> Result<(), CreateError>;

    /// The account with this name key.
    async fn by_name(&self, name_key: &str) -> Result<Option<StoredAccount>, StoreError>;

    /// The names of those of `users` that are accounts (a token's users are not), to
    /// show a room's members by name.
    async fn names(
        &self,
        users: &[UserId],
    ) -> Result<std::collections::HashMap<UserId, crate::protocol::UserName>, StoreError>;

    /// Stores a session for `user` until `expires_ms`, dropping the account's oldest
    /// sessions past `keep` (one person does not need unlimited devices, and a script
    /// with the password cannot fill the disk by signing in).
    async fn create_session(
        &self,
        hash: SessionHash,
        user: &UserId,
        expires_ms: u64,
        keep: usize,
    ) -> Result<(), StoreError>;

    /// The session's account and expiry, if it exists and has not expired at `now_ms`.
    async fn session(
        &self,
        hash: SessionHash,
        now_ms: u64,
    ) -> Result<Option<(Account, u64)>, StoreError>;

    /// Ends a session (no error if there was none).
    async fn delete_session(&self, hash: SessionHash) -> Result<(), StoreError>;
}
