use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use chrono::{DateTime, Duration, Utc};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A fixed-window rate limit per key (an IP address, an email address), on the hub's clock.
pub struct Throttle {
    limit: u32,
    window: Duration,
    counts: Mutex<HashMap<String, (DateTime<Utc>, u32)>>,
}

impl Throttle {
    /// Allows `limit` hits per key in each `window`.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a hit; `Err(seconds)` says how long to wait when over the limit.
    pub fn hit(&self, key: &str, now: DateTime<Utc>) -> Result<(), u64> {
        let mut counts = self.counts.lock().expect("BUG: throttle mutex poisoned");
        if counts.len() > 100_000 {
            // Bound memory under a flood of distinct keys: forget finished windows.
            counts.retain(|_, (start, _)| now - *start < self.window);
        }
        let entry = counts.entry(key.to_owned()).or_insert((now, 0));
        if now - entry.0 >= self.window {
            *entry = (now, 0);
        }
        if entry.1 >= self.limit {
            let wait = (entry.0 + self.window - now).num_seconds().max(1);
            return Err(wait as u64);
        }
        entry.1 += 1;
        Ok(())
    }
}

/// Bounds password hashing: a few hashes at once, a short queue, and 429 past it. Each
/// Argon2id hash holds 19 MiB, so this is what keeps a sign-in flood from exhausting memory.
#[derive(Clone)]
pub struct HashGate {
    slots: Arc<Semaphore>,
    waiting: Arc<Semaphore>,
}

impl HashGate {
    /// `concurrency` hashes at once, `queue` more waiting.
    pub fn new(concurrency: usize, queue: usize) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            waiting: Arc::new(Semaphore::new(concurrency.max(1) + queue)),
        }
    }

    /// A slot to hash in, or `None` when the queue is full.
    pub async fn enter(&self) -> Option<HashSlot> {
        let place = self.waiting.clone().try_acquire_owned().ok()?;
        let slot = self.slots.clone().acquire_owned().await.ok()?;
        Some(HashSlot {
            _slot: slot,
            _place: place,
        })
    }
}

/// Held while hashing; dropping it frees the slot and the queue place.
pub struct HashSlot {
    _slot: OwnedSemaphorePermit,
    _place: OwnedSemaphorePermit,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_refuses_past_the_limit_until_the_window_ends() {
        let t = Throttle::new(2, Duration::minutes(1));
        let start = DateTime::<Utc>::from_timestamp(1_000_000, 0).unwrap();
        assert!(t.hit("ip", start).is_ok());
        assert!(t.hit("ip", start).is_ok());
        assert_eq!(t.hit("ip", start + Duration::seconds(20)), Err(40));
        assert!(t.hit("other", start).is_ok(), "keys are counted apart");
        assert!(t.hit("ip", start + Duration::seconds(60)).is_ok());
    }

    #[tokio::test]
    async fn gate_turns_away_callers_past_its_queue() {
        let gate = HashGate::new(1, 1);
        let first = gate.enter().await.expect("a free slot");
        let g2 = gate.clone();
        let second = tokio::spawn(async move { g2.enter().await.is_some() });
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(
            gate.enter().await.is_none(),
            "slot busy and queue full: refused at once"
        );
        drop(first);
        assert!(second.await.unwrap(), "the queued caller gets the slot");
    }
}
