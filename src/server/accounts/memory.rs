//! Accounts and sessions in process memory, for `--store memory` (lost at exit, like
//! its history), and the [`AccountStore`] contract as a test every store runs.

use super::{Account, AccountStore, CreateError, SessionHash, StoredAccount};
use crate::protocol::UserId;
use crate::server::store::StoreError;
use crate::sync::lock;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;

/// [`AccountStore`] in memory.
#[derive(Default)]
pub struct MemoryAccounts {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    by_key: HashMap<String, StoredAccount>,
    /// Session → (user, created order, expires).
    sessions: HashMap<SessionHash, (UserId, u64, u64)>,
    made: u64,
}

#[async_trait]
impl AccountStore for MemoryAccounts {
    async fn create(&self, account: &Account, password_hash: &str) -> Result<(), CreateError> {
        let mut st = lock(&self.state);
        let key = super::name_key(&account.name);
        if st.by_key.contains_key(&key) {
            return Err(CreateError::NameTaken);
        }
        st.by_key.insert(
            key,
            StoredAccount {
                account: account.clone(),
                password_hash: password_hash.to_string(),
            },
        );
        Ok(())
    }

    async fn by_name(&self, name_key: &str) -> Result<Option<StoredAccount>, StoreError> {
        Ok(lock(&self.state).by_key.get(name_key).cloned())
    }

    async fn names(
        &self,
        users: &[UserId],
    ) -> Result<HashMap<UserId, crate::protocol::UserName>, StoreError> {
        let st = lock(&self.state);
        Ok(st
            .by_key
            .values()
            .filter(|a| users.contains(&a.account.user))
            .map(|a| (a.account.user.clone(), a.account.name.clone()))
            .collect())
    }

    async fn create_session(
        &self,
        hash: SessionHash,
        user: &UserId,
        expires_ms: u64,
        keep: usize,
    ) -> Result<(), StoreError> {
        let mut st = lock(&self.state);
        st.made += 1;
        let order = st.made;
        st.sessions.insert(hash, (user.clone(), order, expires_ms));
        let mut mine: Vec<(u64, SessionHash)> = st
            .sessions
            .iter()
            .filter(|(_, (u, _, _))| u == user)
            .map(|(h, (_, o, _))| (*o, *h))
            .collect();
        mine.sort_unstable_by_key(|(order, _)| std::cmp::Reverse(*order));
        for (_, old) in mine.into_iter().skip(keep) {
            st.sessions.remove(&old);
        }
        let now = crate::server::store::now_ms();
        st.sessions.retain(|_, (_, _, exp)| *exp > now);
        Ok(())
    }

    async fn session(
        &self,
        hash: SessionHash,
        now_ms: u64,
    ) -> Result<Option<(Account, u64)>, StoreError> {
        let st = lock(&self.state);
        let Some((user, _, exp)) = st.sessions.get(&hash).filter(|(_, _, e)| *e > now_ms) else {
            return Ok(None);
        };
        Ok(st
            .by_key
            .values()
            .find(|a| a.account.user == *user)
            .map(|a| (a.account.clone(), *exp)))
    }

    async fn delete_session(&self, hash: SessionHash) -> Result<(), StoreError> {
        lock(&self.state).sessions.remove(&hash);
        Ok(())
    }
}

/// The contract every [`AccountStore`] meets (test builds).
#[cfg(test)]
pub async fn conformance(s: &dyn AccountStore) {
    use crate::protocol::UserName;
    let ann = Account {
        user: UserId::parse("acct:0000000000000001").unwrap(),
        name: UserName::parse("Ann").unwrap(),
    };
    s.create(&ann, "$argon2id$hash").await.unwrap();
    let again = Account {
        user: UserId::parse("acct:0000000000000002").unwrap(),
        name: UserName::parse("ANN").unwrap(),
    };
    assert!(matches!(
        s.create(&again, "h").await,
        Err(CreateError::NameTaken)
    ));
    let found = s.by_name("ann").await.unwrap().unwrap();
    assert_eq!(
        (found.account, found.password_hash.as_str()),
        (ann.clone(), "$argon2id$hash")
    );
    assert!(s.by_name("bob").await.unwrap().is_none());
    let token_user = UserId::parse("app:u9").unwrap();
    let names = s.names(&[token_user, ann.user.clone()]).await.unwrap();
    assert_eq!(names.len(), 1, "only accounts have names here");
    assert_eq!(names[&ann.user], ann.name);
    assert!(s.names(&[]).await.unwrap().is_empty());
    let now = crate::server::store::now_ms();
    let h = |b: u8| SessionHash([b; 32]);
    s.create_session(h(1), &ann.user, now + 60_000, 2)
        .await
        .unwrap();
    assert_eq!(
        s.session(h(1), now).await.unwrap(),
        Some((ann.clone(), now + 60_000))
    );
    assert_eq!(
        s.session(h(1), now + 60_000).await.unwrap(),
        None,
        "expired"
    );
    s.create_session(h(2), &ann.user, now + 60_000, 2)
        .await
        .unwrap();
    s.create_session(h(3), &ann.user, now + 60_000, 2)
        .await
        .unwrap();
    assert_eq!(
        s.session(h(1), now).await.unwrap(),
        None,
        "the oldest past `keep` went"
    );
    assert!(s.session(h(3), now).await.unwrap().is_some());
    s.delete_session(h(3)).await.unwrap();
    assert_eq!(s.session(h(3), now).await.unwrap(), None);
    s.delete_session(h(9)).await.unwrap();
    assert!(s.session(h(2), now).await.unwrap().is_some());
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn conforms() {
        super::conformance(&super::MemoryAccounts::default()).await;
    }
}
