//! Locking that survives a panic elsewhere.
//!
//! Every mutex in Chorus guards plain data that stays valid between statements (a queue,
//! a room's members, a pool of connections), and none is held across an `.await`. A panic
//! in one task while holding one must not take every later caller down with it, so the
//! poison flag is ignored: the data is used as the panicking holder left it.

use std::sync::{Mutex, MutexGuard};

/// Locks `m`, ignoring poisoning (see the module doc for why that is sound here).
pub fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poisoned_lock_still_gives_its_data() {
        let m = std::sync::Arc::new(Mutex::new(1));
        let m2 = m.clone();
        let _ = std::thread::spawn(move || {
            let _g = m2.lock().unwrap();
            panic!("poison it");
        })
        .join();
        assert!(m.is_poisoned());
        *lock(&m) += 1;
        assert_eq!(*lock(&m), 2);
    }
}
