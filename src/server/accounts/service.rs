//! Sign-up, sign-in, the current session, sign-out: the rules of the contract's
//! "Accounts", over an [`AccountStore`], for the HTTP handlers and the socket upgrade.

use super::passwords;
use super::throttle::SignInThrottle;
use super::{name_key, Account, AccountStore, CreateError, Password, SessionHash};
use crate::protocol::{UserId, UserName};
use crate::server::identity::revocations::Revocations;
use crate::server::rate_limit::TokenBucket;
use crate::server::store::{now_ms, StoreError};
use crate::sync::lock;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Sessions one account keeps at most (its newest).
pub const SESSIONS_PER_ACCOUNT: usize = 20;

/// Settings of the accounts.
#[derive(Clone, Copy, Debug)]
pub struct AccountOptions {
    /// How long a sign-in lasts.
    pub session_ttl: Duration,
    /// New accounts per client address per hour.
    pub signups_per_hour: u32,
}

/// The site's accounts on this node.
pub struct Accounts {
    store: Arc<dyn AccountStore>,
    throttle: SignInThrottle,
    signups: Mutex<HashMap<IpAddr, TokenBucket>>,
    options: AccountOptions,
    /// The sockets of each session on this node (the hub's), closed at sign-out.
    pub revocations: Arc<Revocations>,
}

/// A new session: the cookie's value (shown once, to the browser) and its end.
pub struct NewSession {
    /// 256 random bits in hex: the cookie's value. Never stored or logged.
    pub id: String,
    /// When it ends, ms since the Unix epoch.
    pub expires_ms: u64,
}

impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NewSession(<hidden>, expires {})", self.expires_ms)
    }
}

/// Why a sign-up was refused.
#[derive(Debug, thiserror::Error)]
pub enum SignUpError {
    /// The name breaks the rules for names.
    #[error(
        "name must be 1-32 characters after trimming, without control or invisible characters"
    )]
    BadName,
    /// The password is not 10–256 characters.
    #[error("a password must be 10 to 256 characters")]
    WeakPassword,
    /// The name, in any case, has an account.
    #[error("that name is taken")]
    NameTaken,
    /// Too many new accounts from this address.
    #[error("too many new accounts from this address; retry later")]
    RateLimited(Duration),
    /// The store or the hashing failed.
    #[error("accounts are unavailable now; retry")]
    Unavailable(String),
}

/// Why a sign-in was refused. A wrong name and a wrong password are one error.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// No account with that name and password.
    #[error("wrong name or password")]
    Wrong,
    /// Too many failures for this name or from this address.
    #[error("too many failed sign-ins; retry later")]
    RateLimited(Duration),
    /// The store or the hashing failed.
    #[error("accounts are unavailable now; retry")]
    Unavailable(String),
}

impl SignUpError {
    /// The protocol code (the forms put it in `?error=`; the API answers with it). A
    /// failure is logged here, once.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadName => "invalid_name",
            Self::WeakPassword => "weak_password",
            Self::NameTaken => "name_taken",
            Self::RateLimited(_) => "rate_limited",
            Self::Unavailable(cause) => {
                tracing::warn!(cause, "sign-up unavailable");
                "unavailable"
            }
        }
    }
}

impl SignInError {
    /// The protocol code (`wrong` on the pages is `unauthorized` in the API). A failure
    /// is logged here, once.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Wrong => "unauthorized",
            Self::RateLimited(_) => "rate_limited",
            Self::Unavailable(cause) => {
                tracing::warn!(cause, "sign-in unavailable");
                "unavailable"
            }
        }
    }
}

impl Accounts {
    /// Accounts over `store`.
    pub fn new(
        store: Arc<dyn AccountStore>,
        options: AccountOptions,
        revocations: Arc<Revocations>,
    ) -> Self {
        Self {
            store,
            throttle: SignInThrottle::default(),
            signups: Mutex::new(HashMap::new()),
            options,
            revocations,
        }
    }

    /// The account named `name` (in any case), for adding it to a room by name.
    pub async fn find(&self, name: &UserName) -> Result<Option<UserId>, StoreError> {
        let found = self.store.by_name(&super::name_key(name)).await?;
        Ok(found.map(|a| a.account.user))
    }

    /// The account names of those of `users` that have accounts.
    pub async fn names(&self, users: &[UserId]) -> Result<HashMap<UserId, UserName>, StoreError> {
        self.store.names(users).await
    }

    /// Makes an account and signs it in. The password is hashed before the name is
    /// tried, so a taken name answers no faster than a new one.
    pub async fn sign_up(
        &self,
        name: &str,
        password: &str,
        addr: IpAddr,
    ) -> Result<(Account, NewSession), SignUpError> {
        let name = UserName::parse(name).map_err(|_| SignUpError::BadName)?;
        let password = Password::parse(password).ok_or(SignUpError::WeakPassword)?;
        self.take_signup(addr)?;
        let hash = passwords::hash(password.expose().to_string())
            .await
            .map_err(|e| SignUpError::Unavailable(e.to_string()))?;
        let account = Account {
            user: new_user_id().map_err(SignUpError::Unavailable)?,
            name,
        };
        match self.store.create(&account, &hash).await {
            Ok(()) => {}
            Err(CreateError::NameTaken) => return Err(SignUpError::NameTaken),
            Err(CreateError::Store(e)) => {
                return Err(SignUpError::Unavailable(e.report().to_string()))
            }
        }
        let session = self
            .open_session(&account.user)
            .await
            .map_err(|e| SignUpError::Unavailable(e.report().to_string()))?;
        Ok((account, session))
    }

    fn take_signup(&self, addr: IpAddr) -> Result<(), SignUpError> {
        let now = Instant::now();
        let per_hour = self.options.signups_per_hour;
        let mut buckets = lock(&self.signups);
        if buckets.len() > 100_000 {
            buckets.retain(|_, b| !b.is_full(now));
        }
        buckets
            .entry(crate::server::client_addr::limit_key(addr))
            .or_insert_with(|| TokenBucket::new(f64::from(per_hour) / 3600.0, per_hour, now))
            .try_take(now)
            .map_err(SignUpError::RateLimited)
    }

    /// Checks a name and password and opens a new session (a new id every time: a
    /// session id planted before sign-in is worth nothing after it). Unknown names cost
    /// a hash check all the same.
    pub async fn sign_in(
        &self,
        name: &str,
        password: &str,
        addr: IpAddr,
    ) -> Result<(Account, NewSession), SignInError> {
        let key = UserName::parse(name)
            .map(|n| name_key(&n))
            .unwrap_or_default();
        let addr = crate::server::client_addr::limit_key(addr);
        if let Some(wait) = self.throttle.wait(&key, addr, Instant::now()) {
            return Err(SignInError::RateLimited(wait));
        }
        let stored = match key.is_empty() {
            true => None,
            false => self
                .store
                .by_name(&key)
                .await
                .map_err(|e| SignInError::Unavailable(e.report().to_string()))?,
        };
        let ok = passwords::verify(
            password.to_string(),
            stored.as_ref().map(|s| s.password_hash.clone()),
        )
        .await
        .map_err(|e| SignInError::Unavailable(e.to_string()))?;
        let Some(stored) = stored.filter(|_| ok) else {
            self.throttle.failed(&key, addr, Instant::now());
            return Err(SignInError::Wrong);
        };
        let session = self
            .open_session(&stored.account.user)
            .await
            .map_err(|e| SignInError::Unavailable(e.report().to_string()))?;
        Ok((stored.account, session))
    }

    async fn open_session(&self, user: &UserId) -> Result<NewSession, StoreError> {
        let id = random_token().map_err(|_| StoreError::Stopped("the OS random source"))?;
        let expires_ms = now_ms() + self.options.session_ttl.as_millis() as u64;
        self.store
            .create_session(SessionHash::of(&id), user, expires_ms, SESSIONS_PER_ACCOUNT)
            .await?;
        Ok(NewSession { id, expires_ms })
    }

    /// The account a session cookie's value belongs to, and when it ends.
    pub async fn current(&self, session_id: &str) -> Result<Option<(Account, u64)>, StoreError> {
        if session_id.is_empty() || session_id.len() > 128 {
            return Ok(None);
        }
        self.store
            .session(SessionHash::of(session_id), now_ms())
            .await
    }

    /// The identity a session cookie's value gives (its account, until the session ends),
    /// for the socket upgrade, the HTTP API and the pages alike.
    pub async fn identity(
        &self,
        session_id: &str,
    ) -> Result<Option<crate::server::identity::Identity>, StoreError> {
        Ok(self
            .current(session_id)
            .await?
            .map(|(account, expires_at)| crate::server::identity::Identity {
                user: account.user,
                name: account.name,
                expires_at,
                rooms: Default::default(),
                session: Some(SessionHash::of(session_id)),
            }))
    }

    /// Ends a session on the server and closes the sockets it authenticated here.
    pub async fn sign_out(&self, session_id: &str) -> Result<(), StoreError> {
        let hash = SessionHash::of(session_id);
        self.store.delete_session(hash).await?;
        self.revocations.revoke(hash);
        Ok(())
    }
}

/// 256 bits from the OS's random source, in hex.
fn random_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A new account's user id: `acct:` and 64 random bits in hex (opaque, and apart from
/// the `sub`s of applications' tokens, which do not start with `acct:` by convention).
fn new_user_id() -> Result<UserId, String> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| e.to_string())?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    UserId::parse(&format!("acct:{hex}")).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::accounts::memory::MemoryAccounts;

    fn accounts() -> Accounts {
        Accounts::new(
            Arc::new(MemoryAccounts::default()),
            AccountOptions {
                session_ttl: Duration::from_secs(3600),
                signups_per_hour: 3,
            },
            Default::default(),
        )
    }

    const ADDR: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 7));

    #[tokio::test]
    async fn sign_up_sign_in_and_sign_out() {
        let a = accounts();
        let (ann, s1) = a.sign_up(" Ann ", "a long password", ADDR).await.unwrap();
        assert_eq!(ann.name.as_str(), "Ann");
        assert!(ann.user.as_str().starts_with("acct:"));
        assert_eq!(
            a.current(&s1.id).await.unwrap().map(|(a, _)| a),
            Some(ann.clone())
        );
        assert!(matches!(
            a.sign_up("ANN", "another password", ADDR).await,
            Err(SignUpError::NameTaken)
        ));
        assert!(matches!(
            a.sign_up("Bo", "short", ADDR).await,
            Err(SignUpError::WeakPassword)
        ));
        assert!(matches!(
            a.sign_up("", "a long password", ADDR).await,
            Err(SignUpError::BadName)
        ));
        let (again, s2) = a.sign_in("aNN", "a long password", ADDR).await.unwrap();
        assert_eq!(again, ann);
        assert_ne!(s1.id, s2.id, "a new session id at every sign-in");
        assert!(matches!(
            a.sign_in("ann", "wrong password", ADDR).await,
            Err(SignInError::Wrong)
        ));
        assert!(matches!(
            a.sign_in("nobody", "a long password", ADDR).await,
            Err(SignInError::Wrong)
        ));
        a.sign_out(&s2.id).await.unwrap();
        assert_eq!(a.current(&s2.id).await.unwrap(), None);
        assert!(
            a.current(&s1.id).await.unwrap().is_some(),
            "other sessions stay"
        );
        assert_eq!(a.current("made-up").await.unwrap(), None);
    }

    #[tokio::test]
    async fn sign_ups_are_limited_per_address() {
        let a = accounts();
        for i in 0..2 {
            a.sign_up(&format!("user{i}"), "a long password", ADDR)
                .await
                .unwrap();
        }
        assert!(matches!(
            a.sign_up("user2", "short", ADDR).await,
            Err(SignUpError::WeakPassword)
        ));
        a.sign_up("user3", "a long password", ADDR).await.unwrap();
        assert!(matches!(
            a.sign_up("user4", "a long password", ADDR).await,
            Err(SignUpError::RateLimited(_))
        ));
    }
}
