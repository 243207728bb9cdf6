//! Push: signed-in clients hold `/events` open and hear each new mailbox state. One task
//! polls the states of watched mailboxes in the store, so changes made by another process
//! (a `sealpost-hub send` beside `serve`) are heard as quickly as the server's own.
//!
//! This module knows the store only; the hub holds one [`Notifier`] and answers
//! `Hub::watch` with it (`mailbox.rs`).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, Weak},
    time::Duration,
};

use tokio::sync::{broadcast, watch};

use crate::store::Store;

/// How often watched mailboxes are checked.
const POLL: Duration = Duration::from_millis(200);

/// Who is listening, and the last state each mailbox was heard at.
pub struct Notifier {
    watched: Mutex<HashMap<String, (broadcast::Sender<i64>, i64)>>,
    started: std::sync::OnceLock<()>,
    /// True while the server is stopping: open streams end, so that a graceful shutdown
    /// does not wait for clients that would listen for ever.
    closing: watch::Sender<bool>,
}

impl Default for Notifier {
    fn default() -> Self {
        Self {
            watched: Mutex::default(),
            started: std::sync::OnceLock::new(),
            closing: watch::channel(false).0,
        }
    }
}

/// What an open `/events` stream listens to.
pub struct Listener {
    /// The mailbox's state when listening began.
    pub current: i64,
    /// Each new state.
    pub states: broadcast::Receiver<i64>,
    /// Turns true when the server stops.
    pub closing: watch::Receiver<bool>,
}

impl Notifier {
    /// Listens for the new states of `account_id`'s mailbox, which is at `current` now.
    /// The first listener starts the task that polls `store` (within a tokio runtime).
    pub fn listen(self: &Arc<Self>, store: &Store, account_id: &str, current: i64) -> Listener {
        let receiver = {
            let mut watched = self.watched.lock().expect("BUG: notifier poisoned");
            let entry = watched
                .entry(account_id.to_owned())
                .or_insert_with(|| (broadcast::channel(16).0, current));
            entry.0.subscribe()
        };
        self.started.get_or_init(|| {
            tokio::spawn(poll(Arc::downgrade(self), store.clone()));
        });
        Listener {
            current,
            states: receiver,
            closing: self.closing.subscribe(),
        }
    }

    /// Ends every open stream, and any opened later, until [`Notifier::reopen`].
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Lets streams be opened again.
    pub fn reopen(&self) {
        self.closing.send_replace(false);
    }
}

async fn poll(notifier: Weak<Notifier>, store: Store) {
    loop {
        tokio::time::sleep(POLL).await;
        let Some(notifier) = notifier.upgrade() else {
            return;
        };
        let ids: Vec<String> = {
            let mut watched = notifier.watched.lock().expect("BUG: notifier poisoned");
            watched.retain(|_, (tx, _)| tx.receiver_count() > 0);
            watched.keys().cloned().collect()
        };
        if ids.is_empty() {
            continue;
        }
        let states = match store.read(move |tx| tx.states_of(&ids)).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "reading mailbox states for /events");
                continue;
            }
        };
        let mut watched = notifier.watched.lock().expect("BUG: notifier poisoned");
        for (id, state) in states {
            if let Some((tx, last)) = watched.get_mut(&id) {
                if *last != state {
                    *last = state;
                    let _ = tx.send(state);
                }
            }
        }
    }
}
