//! Unwrapped mailbox keys, kept in memory for a bounded time.
//!
//! Unwrapping costs two X25519 agreements; a sync of 10,000 messages in pages of 500 would
//! pay it twenty times, and every `/changes` of an open app once. An entry lives at most
//! [`KEY_LIFETIME`] from when it was unwrapped (use does not extend it), and at most
//! [`KEY_CAPACITY`] mailboxes are held. Keys are zeroised when the last holder drops them
//! (the cipher state and age's identity both zeroise on drop).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use chrono::{DateTime, Duration, Utc};

use super::MailboxKeys;

/// How long an unwrapped key is kept: 10 minutes.
pub const KEY_LIFETIME: Duration = Duration::minutes(10);
/// How many mailboxes' keys are kept at most.
pub const KEY_CAPACITY: usize = 10_000;

/// Keys by mailbox, with when they were unwrapped.
type Entries = HashMap<String, (Arc<MailboxKeys>, DateTime<Utc>)>;

/// The cache; one per hub process.
pub struct KeyCache {
    entries: Mutex<Entries>,
    lifetime: Duration,
    capacity: usize,
}

impl Default for KeyCache {
    fn default() -> Self {
        Self::new(KEY_LIFETIME, KEY_CAPACITY)
    }
}

impl KeyCache {
    /// A cache keeping each entry for `lifetime`, at most `capacity` entries.
    pub fn new(lifetime: Duration, capacity: usize) -> Self {
        Self {
            entries: Mutex::default(),
            lifetime,
            capacity: capacity.max(1),
        }
    }

    /// The keys of `mailbox`, if unwrapped less than the lifetime before `now`.
    pub fn get(&self, mailbox: &str, now: DateTime<Utc>) -> Option<Arc<MailboxKeys>> {
        let mut entries = self.entries.lock().expect("BUG: key cache poisoned");
        match entries.get(mailbox) {
            Some((keys, at)) if now - *at < self.lifetime && now >= *at => Some(keys.clone()),
            Some(_) => {
                entries.remove(mailbox);
                None
            }
            None => None,
        }
    }

    /// Keeps `keys`, unwrapped at `now`; drops expired entries, and the oldest when full.
    pub fn insert(&self, mailbox: &str, keys: Arc<MailboxKeys>, now: DateTime<Utc>) {
        let mut entries = self.entries.lock().expect("BUG: key cache poisoned");
        if entries.len() >= self.capacity {
            entries.retain(|_, (_, at)| now - *at < self.lifetime && now >= *at);
        }
        if entries.len() >= self.capacity {
            if let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(id, _)| id.clone())
            {
                entries.remove(&oldest);
            }
        }
        entries.insert(mailbox.to_owned(), (keys, now));
    }

    /// Drops the keys whose lifetime is over (the background loop calls it, so that an
    /// idle hub does not keep them).
    pub fn sweep(&self, now: DateTime<Utc>) {
        let mut entries = self.entries.lock().expect("BUG: key cache poisoned");
        entries.retain(|_, (_, at)| now - *at < self.lifetime && now >= *at);
    }

    /// Drops every key (after the master key was rotated, say).
    pub fn clear(&self) {
        self.entries
            .lock()
            .expect("BUG: key cache poisoned")
            .clear();
    }

    /// How many mailboxes' keys are held.
    pub fn len(&self) -> usize {
        self.entries.lock().expect("BUG: key cache poisoned").len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::MasterKey;

    fn keys(master: &MasterKey) -> Arc<MailboxKeys> {
        let (_, wrapped) = master.new_mailbox_key().unwrap();
        let (data, _) = crate::crypto::DataKey::generate();
        Arc::new(MailboxKeys {
            data,
            files: master.unwrap_mailbox_key(&wrapped).unwrap(),
            legacy: false,
        })
    }

    #[test]
    fn keys_are_forgotten_after_their_lifetime_whatever_the_use() {
        let dir = tempfile::tempdir().unwrap();
        let master = MasterKey::create(&dir.path().join("master.key")).unwrap();
        let cache = KeyCache::new(Duration::minutes(10), 100);
        let t0: DateTime<Utc> = "2026-12-01T10:00:00Z".parse().unwrap();
        cache.insert("acc_a", keys(&master), t0);
        assert!(cache.get("acc_a", t0 + Duration::minutes(9)).is_some());
        assert!(
            cache.get("acc_a", t0 + Duration::minutes(10)).is_none(),
            "ten minutes after unwrapping, the key is gone, though it was used a minute ago"
        );
        assert!(cache.is_empty(), "the expired entry was dropped, not kept");
    }

    #[test]
    fn a_full_cache_drops_its_oldest_entry() {
        let dir = tempfile::tempdir().unwrap();
        let master = MasterKey::create(&dir.path().join("master.key")).unwrap();
        let cache = KeyCache::new(Duration::minutes(10), 2);
        let t0: DateTime<Utc> = "2026-12-01T10:00:00Z".parse().unwrap();
        cache.insert("acc_a", keys(&master), t0);
        cache.insert("acc_b", keys(&master), t0 + Duration::seconds(1));
        cache.insert("acc_c", keys(&master), t0 + Duration::seconds(2));
        assert_eq!(cache.len(), 2, "never more than the capacity");
        let now = t0 + Duration::seconds(3);
        assert!(cache.get("acc_a", now).is_none(), "the oldest went");
        assert!(cache.get("acc_c", now).is_some());
    }
}
