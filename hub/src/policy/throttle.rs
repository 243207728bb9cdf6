use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use chrono::{DateTime, Duration, Utc};

/// A fixed-window rate limit per key (an IP address, an email address), on the hub's clock.
///
/// Counted in memory, or, for hub processes sharing a PostgreSQL store, in the store, so
/// that a flood spread over several processes meets one limit.
pub struct Throttle {
    limit: u32,
    window: Duration,
    counts: Mutex<HashMap<String, (DateTime<Utc>, u32)>>,
    shared: Option<(crate::store::Store, &'static str)>,
}

impl Throttle {
    /// Allows `limit` hits per key in each `window`, counted in this process.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            counts: Mutex::new(HashMap::new()),
            shared: None,
        }
    }

    /// The same limit counted in `store` under `name` when the store is shared by several
    /// hub processes (PostgreSQL); in this process otherwise.
    pub fn shared(self, store: &crate::store::Store, name: &'static str) -> Self {
        Self {
            shared: store.is_shared().then(|| (store.clone(), name)),
            ..self
        }
    }

    /// Counts a hit; `Err(seconds)` says how long to wait when over the limit. Should the
    /// shared count fail (the database is away), this process's own count decides.
    pub async fn hit(&self, key: &str, now: DateTime<Utc>) -> Result<(), u64> {
        if let Some((store, name)) = &self.shared {
            let (key, window, name) = (key.to_owned(), self.window, *name);
            match store
                .write_atomic(move |tx| tx.count_hit(name, &key, now, window))
                .await
            {
                Ok((start, hits)) if hits > self.limit => {
                    return Err((start + self.window - now).num_seconds().max(1) as u64);
                }
                Ok(_) => return Ok(()),
                Err(e) => {
                    tracing::warn!(error = %e, "a shared rate limit could not be counted; counting here");
                }
            }
        }
        self.hit_here(key, now)
    }

    fn hit_here(&self, key: &str, now: DateTime<Utc>) -> Result<(), u64> {
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

/// Runs password hashing on a few dedicated threads with a short queue; past the queue,
/// work is refused at once (the caller answers 429). Each Argon2id hash holds 19 MiB, and
/// the C allocator keeps a freed block in the arena of the thread that used it: dedicated
/// threads bound that memory to `threads` × 19 MiB, where the runtime's blocking pool (up
/// to 512 threads) would let a sign-in flood grow the process by hundreds of MiB.
#[derive(Clone)]
pub struct HashPool {
    jobs: std::sync::mpsc::SyncSender<Job>,
}

type Job = Box<dyn FnOnce() + Send>;

impl HashPool {
    /// `threads` hashing at once, `queue` more waiting.
    pub fn new(threads: usize, queue: usize) -> Self {
        let (jobs, receiver) = std::sync::mpsc::sync_channel::<Job>(queue);
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..threads.max(1) {
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || loop {
                    let job = match receiver.lock() {
                        Ok(r) => r.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return, // the pool was dropped
                    }
                })
                .expect("BUG: a hashing thread can be started");
        }
        Self { jobs }
    }

    /// Runs `work` on a hashing thread; `None` when the queue is full.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(work());
        });
        self.jobs.try_send(job).ok()?;
        result.await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_refuses_past_the_limit_until_the_window_ends() {
        let t = Throttle::new(2, Duration::minutes(1));
        let start = DateTime::<Utc>::from_timestamp(1_000_000, 0).unwrap();
        assert!(t.hit_here("ip", start).is_ok());
        assert!(t.hit_here("ip", start).is_ok());
        assert_eq!(t.hit_here("ip", start + Duration::seconds(20)), Err(40));
        assert!(t.hit_here("other", start).is_ok(), "keys are counted apart");
        assert!(t.hit_here("ip", start + Duration::seconds(60)).is_ok());
    }

    #[tokio::test]
    async fn pool_turns_away_work_past_its_queue() {
        let pool = HashPool::new(1, 1);
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let busy = pool.clone();
        let first = tokio::spawn(async move { busy.run(move || hold.recv().is_ok()).await });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let queued = pool.clone();
        let second = tokio::spawn(async move { queued.run(|| 2).await });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(
            pool.run(|| 3).await,
            None,
            "thread busy and queue full: refused at once"
        );
        release.send(()).unwrap();
        assert_eq!(first.await.unwrap(), Some(true));
        assert_eq!(second.await.unwrap(), Some(2), "the queued work runs");
    }
}
