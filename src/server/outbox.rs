//! A connection's outbound queue: the hub pushes frames without ever waiting, the
//! connection's session takes them. Bounded: a push onto a full queue is dropped and
//! raises the overflow alarm (the session then closes with 4008, slow consumer), so a
//! client that stops reading costs the room nothing and the server a fixed amount.
//!
//! Written here rather than taken from tokio's `mpsc`: a connection's queue is empty most
//! of its life, and tokio's bounded channel allocates its first block of 32 slots, its
//! semaphore and its waiter lists up front, about 1 KiB per connection (a tenth of what
//! an idle connection cost). This one is a mutex around a `VecDeque` that allocates on
//! the first push and gives its memory back after a burst, plus two wakers: about 120
//! bytes. The lock is taken once per push and once per take, by two parties at most
//! (the hub's fan-out and the session), so it is rarely contended.

use crate::sync::lock;
use futures::task::AtomicWaker;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

/// A queue's capacity kept after it empties; a burst's larger buffer is given back.
const KEEP_CAPACITY: usize = 64;

/// Makes a queue that holds at most `capacity` items (at least 1).
pub fn channel<T>(capacity: usize) -> (Outbox<T>, Inbox<T>) {
    let shared = Arc::new(Shared {
        queue: Mutex::new(Queue {
            items: VecDeque::new(),
            closed: false,
        }),
        capacity: capacity.max(1),
        ready: AtomicWaker::new(),
        overflow: AtomicWaker::new(),
        overflowed: AtomicBool::new(false),
    });
    (Outbox(shared.clone()), Inbox(shared))
}

struct Shared<T> {
    queue: Mutex<Queue<T>>,
    capacity: usize,
    /// The session, waiting for an item.
    ready: AtomicWaker,
    /// The session's cut-off watch, waiting for an overflow.
    overflow: AtomicWaker,
    overflowed: AtomicBool,
}

struct Queue<T> {
    items: VecDeque<T>,
    /// The [`Inbox`] is gone: pushes are dropped.
    closed: bool,
}

/// The hub's end: pushes without waiting. Cloned into every room the connection is in.
pub struct Outbox<T>(Arc<Shared<T>>);

impl<T> Clone for Outbox<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> std::fmt::Debug for Outbox<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("capacity", &self.0.capacity)
            .finish_non_exhaustive()
    }
}

impl<T> Outbox<T> {
    /// Queues `item`; on a full queue drops it and raises the overflow alarm; on a closed
    /// one (the session has ended) drops it.
    pub fn push(&self, item: T) {
        let mut q = lock(&self.0.queue);
        if q.closed {
            return;
        }
        if q.items.len() >= self.0.capacity {
            drop(q);
            self.0.overflowed.store(true, Ordering::Release);
            self.0.overflow.wake();
            return;
        }
        let was_empty = q.items.is_empty();
        q.items.push_back(item);
        drop(q);
        // A session that saw the queue non-empty has not parked; only the first item
        // after it found the queue empty needs to wake it.
        if was_empty {
            self.0.ready.wake();
        }
    }

    /// Resolves once a push found the queue full: the connection fell too far behind.
    pub async fn overflowed(&self) {
        poll_fn(|cx| {
            self.0.overflow.register(cx.waker());
            if self.0.overflowed.load(Ordering::Acquire) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await
    }
}

/// The session's end: takes items in the order pushed. Dropping it closes the queue.
pub struct Inbox<T>(Arc<Shared<T>>);

impl<T> Inbox<T> {
    /// The oldest item, if any, without waiting.
    pub fn try_recv(&mut self) -> Option<T> {
        let mut q = lock(&self.0.queue);
        let item = q.items.pop_front();
        if q.items.is_empty() && q.items.capacity() > KEEP_CAPACITY {
            q.items.shrink_to(KEEP_CAPACITY);
        }
        item
    }

    /// Waits for the oldest item.
    pub async fn recv(&mut self) -> T {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<T> {
        // Registered before looking, so a push that lands after the look wakes us.
        self.0.ready.register(cx.waker());
        match self.try_recv() {
            Some(item) => Poll::Ready(item),
            None => Poll::Pending,
        }
    }
}

impl<T> Drop for Inbox<T> {
    fn drop(&mut self) {
        let mut q = lock(&self.0.queue);
        q.closed = true;
        q.items = VecDeque::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn items_come_out_in_order_and_a_waiting_taker_is_woken() {
        let (tx, mut rx) = channel(8);
        let taker = tokio::spawn(async move {
            let mut got = Vec::new();
            for _ in 0..3 {
                got.push(rx.recv().await);
            }
            got
        });
        tokio::time::sleep(Duration::from_millis(20)).await; // the taker parks first
        for i in 1..=3 {
            tx.push(i);
        }
        let got = tokio::time::timeout(Duration::from_secs(1), taker)
            .await
            .expect("woken")
            .unwrap();
        assert_eq!(got, [1, 2, 3]);
    }

    #[tokio::test]
    async fn a_full_queue_drops_the_push_and_raises_the_alarm() {
        let (tx, mut rx) = channel(2);
        tx.push(1);
        tx.push(2);
        let alarm = tokio::spawn({
            let tx = tx.clone();
            async move { tx.overflowed().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!alarm.is_finished(), "no alarm before the queue is full");
        tx.push(3);
        tokio::time::timeout(Duration::from_secs(1), alarm)
            .await
            .expect("alarm")
            .unwrap();
        assert_eq!(rx.try_recv(), Some(1));
        assert_eq!(rx.try_recv(), Some(2));
        assert_eq!(
            rx.try_recv(),
            None,
            "the push onto the full queue was dropped"
        );
    }

    #[test]
    fn pushes_after_the_session_ended_are_dropped_and_a_burst_is_given_back() {
        let (tx, mut rx) = channel(1000);
        for i in 0..1000 {
            tx.push(i);
        }
        while rx.try_recv().is_some() {}
        assert!(lock(&tx.0.queue).items.capacity() <= KEEP_CAPACITY);
        drop(rx);
        tx.push(1);
        assert!(lock(&tx.0.queue).items.is_empty());
    }
}
