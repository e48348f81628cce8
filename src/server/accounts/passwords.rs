//! Argon2id password hashes (the `argon2` crate; its defaults are OWASP's: 19 MiB,
//! 2 passes, 1 lane), computed on the blocking pool, at most [`AT_ONCE`] at a time.
//!
//! A hash costs tens of milliseconds of one core by design; unbounded, a burst of
//! sign-ins would take every core from everyone else. Beyond [`AT_ONCE`] they wait their
//! turn (and failed ones are throttled before they get here).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::sync::OnceLock;
use tokio::sync::Semaphore;

/// Hashes computed at once at most.
pub const AT_ONCE: usize = 2;

fn turns() -> &'static Semaphore {
    static TURNS: OnceLock<Semaphore> = OnceLock::new();
    TURNS.get_or_init(|| Semaphore::new(AT_ONCE))
}

/// Why hashing failed (never the password's fault: the pool or the OS RNG).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

async fn on_pool<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, HashError> {
    let _turn = turns()
        .acquire()
        .await
        .map_err(|_| HashError("closed".into()))?;
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| HashError(e.to_string()))
}

/// A new hash of `password`, with a fresh random salt (PHC string).
pub async fn hash(password: String) -> Result<String, HashError> {
    on_pool(move || {
        let salt = new_salt()?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| HashError(e.to_string()))
    })
    .await?
}

/// Whether `password` matches `hash`. With `hash` `None` (an unknown name) a dummy hash
/// is checked all the same, so an unknown name takes as long as a wrong password and the
/// time says nothing about which names have accounts.
pub async fn verify(password: String, hash: Option<String>) -> Result<bool, HashError> {
    on_pool(move || {
        let stored = hash.unwrap_or_else(|| dummy().to_string());
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return false;
        };
        // The crate compares the hashes in constant time.
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
    .await
}

/// 16 bytes from the OS's random source, as a PHC salt.
fn new_salt() -> Result<SaltString, HashError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| HashError(e.to_string()))?;
    SaltString::encode_b64(&bytes).map_err(|e| HashError(e.to_string()))
}

/// A hash of a random password with the same parameters as real ones, made once.
fn dummy() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut random = [0u8; 32];
        // Should the OS's random source fail, a zero filler is still a password nobody
        // types, and the salt below is then fixed but unused by any account.
        let _ = getrandom::fill(&mut random);
        let salt = new_salt()
            .unwrap_or_else(|_| SaltString::from_b64("c2FsdHNhbHRzYWx0").expect("a valid salt"));
        Argon2::default()
            .hash_password(&random, &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only_and_salts_differ() {
        let a = hash("correct horse battery".into()).await.unwrap();
        let b = hash("correct horse battery".into()).await.unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "a fresh salt each time");
        assert!(verify("correct horse battery".into(), Some(a.clone()))
            .await
            .unwrap());
        assert!(!verify("correct horse batterz".into(), Some(a))
            .await
            .unwrap());
        assert!(!verify("anything at all".into(), None).await.unwrap());
        assert!(!verify("x".into(), Some("not a hash".into())).await.unwrap());
    }
}
